import Foundation
import Randomness
import XCTest
@testable import Policy

/// The direct canonical writer must give exactly `Assessment.canonicalEncoder`'s bytes (the reference:
/// `JSONEncoder`), for random documents with awkward keys, strings and numbers, and for assessments.
final class CanonicalJSONWriterTests: XCTestCase {
    static let awkwardStrings = [
        "", "plain", "a/b", "quote \" and \\ backslash", "line\nbreak\ttab\r\u{8}\u{c}", "\u{0}\u{1}\u{1f}\u{7f}",
        "é", "e\u{301}", "\u{FF21}", "😀", "\u{2028}\u{2029}", "<script>&amp;", "B", "a", "a1", "a10", "a2", "_x", "x_",
    ]
    static let awkwardNumbers: [Double] = [
        0, -0.0, 1, -1, 3, 0.1, 1.0 / 3, 1e-7, 5e-324, 1e300, -2.5e-10, 123.456, 2_500_000_000_000_000,
        9_007_199_254_740_991, 1e15 + 0.5, 1e20, -3e19, 1.7976931348623157e308, .nan, .infinity, -.infinity, 0.95, 99.5, 1e-300,
    ]

    static func randomValue(_ g: inout SplitMix64, depth: Int) -> JSONValue {
        switch Int.random(in: 0..<(depth > 3 ? 4 : 6), using: &g) {
        case 0: return Bool.random(using: &g) ? .null : .bool(Bool.random(using: &g))
        case 1: return .number(awkwardNumbers.randomElement(using: &g)!)
        case 2: return .number(Double.random(in: -1e6...1e6, using: &g) * (Bool.random(using: &g) ? 1 : 1e-9))
        case 3: return .string(awkwardStrings.randomElement(using: &g)! + awkwardStrings.randomElement(using: &g)!)
        case 4: return .array((0..<Int.random(in: 0..<5, using: &g)).map { _ in randomValue(&g, depth: depth + 1) })
        default:
            var members: [String: JSONValue] = [:]
            for _ in 0..<Int.random(in: 0..<7, using: &g) {
                members[awkwardStrings.randomElement(using: &g)! + awkwardStrings.randomElement(using: &g)!] = randomValue(&g, depth: depth + 1)
            }
            return .object(members)
        }
    }

    func testRandomDocumentsMatchJSONEncoder() throws {
        var g = SplitMix64(state: 11)
        for i in 0..<400 {
            let value = JSONValue.object(Dictionary((0..<8).map { k in
                ("k\(k)" + Self.awkwardStrings.randomElement(using: &g)!, Self.randomValue(&g, depth: 0))
            }, uniquingKeysWith: { a, _ in a }))
            let reference = try Assessment.canonicalEncoder.encode(value)
            XCTAssertEqual(String(decoding: try CanonicalJSONWriter.bytes(value), as: UTF8.self),
                           String(decoding: reference, as: UTF8.self), "document \(i)")
        }
    }

    func testWholeNumbersBeyondDoublePrecisionAreLeftToJSONEncoder() {
        XCTAssertThrowsError(try CanonicalJSONWriter.bytes(.number(1e16)))
        XCTAssertThrowsError(try CanonicalJSONWriter.bytes(.array([.number(-9_007_199_254_740_992)])))
        XCTAssertThrowsError(try CanonicalJSONWriter.bytes(.number(18_446_744_073_709_549_568)))
    }

    func testAssessmentsMatchJSONEncoder() throws {
        var g = SplitMix64(state: 12)
        for name in ["default", "screening-strict", "research"] {
            let policy = try AuditPolicy.shipped(name)
            for i in 0..<40 {
                var details: [String: JSONValue] = ["noise": Self.randomValue(&g, depth: 1)]
                if i % 3 == 0 { details["big"] = .number(1e20) }
                let assessment = Assessment(caseId: "case-\(i)/\(Self.awkwardStrings[i % Self.awkwardStrings.count])", runId: "run",
                                            study: "s", evidence: DispositionInvariantTests.randomEvidence(&g), policy: policy,
                                            provenance: AssessmentProvenance(modelId: "m", calibrator: "temperature #1",
                                                                             calibrationCount: i, alpha: 0.1, eceBins: 15),
                                            details: details)
                XCTAssertEqual(String(decoding: try assessment.canonicalJSON(), as: UTF8.self),
                               String(decoding: try Assessment.canonicalEncoder.encode(assessment), as: UTF8.self), "\(name) \(i)")
            }
        }
        // A typed whole number beyond 2^53 takes the JSONEncoder path and still matches it.
        var huge = Assessment(caseId: "c", runId: "r", study: "s", evidence: DispositionTableTests.reportable,
                              policy: try AuditPolicy.shipped("default"), provenance: AssessmentProvenance())
        huge.provenance.calibrationCount = Int.max
        XCTAssertEqual(try huge.canonicalJSON(), try Assessment.canonicalEncoder.encode(huge))
        XCTAssertTrue(String(decoding: try huge.canonicalJSON(), as: UTF8.self).contains("\(Int.max)"))
    }
}
