import Foundation
import XCTest
@testable import Reports

/// The case view's hand-built Mustache tree must be exactly the tree reflection builds (same keys,
/// same value types, same values), for full, hostile, signed and empty reports.
final class MustacheTreeTests: XCTestCase {
    func assertSameTree(_ fast: Any, _ reflected: Any, path: String = "", file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertTrue(type(of: fast) == type(of: reflected), "\(path): \(type(of: fast)) vs \(type(of: reflected))", file: file, line: line)
        switch (fast, reflected) {
        case let (a as [String: Any], b as [String: Any]):
            XCTAssertEqual(Set(a.keys), Set(b.keys), "\(path): keys", file: file, line: line)
            for (k, v) in a { if let w = b[k] { assertSameTree(v, w, path: path + "." + k, file: file, line: line) } }
        case let (a as [Any], b as [Any]):
            XCTAssertEqual(a.count, b.count, "\(path): count", file: file, line: line)
            for (i, (v, w)) in zip(a, b).enumerated() { assertSameTree(v, w, path: path + "[\(i)]", file: file, line: line) }
        case let (a as String, b as String): XCTAssertEqual(a, b, path, file: file, line: line)
        case let (a as Bool, b as Bool): XCTAssertEqual(a, b, path, file: file, line: line)
        case let (a as Int, b as Int): XCTAssertEqual(a, b, path, file: file, line: line)
        case let (a as SVGMarkup, b as SVGMarkup): XCTAssertEqual(a, b, path, file: file, line: line)
        default: XCTFail("\(path): unexpected \(type(of: fast))", file: file, line: line)
        }
    }

    func testCaseViewTreeEqualsReflection() throws {
        var models = [try ReportFixtures.sampleCase()]
        models += try ReportFixtures.payloads.map(ReportFixtures.hostileCase)
        var signed = try ReportFixtures.sampleCase()
        signed.signOffs = [SignOff(reviewerId: "rev-1", printedName: "Dr One", signedAt: "2026-11-20T10:02:11Z", meaning: "review",
                                   decision: "agree", decidedClass: nil, reasonCode: nil, note: "fine", signedReportSHA256: nil)]
        signed.supersedesReportSHA256 = String(repeating: "ab", count: 32)
        models.append(signed)
        models.append(CaseReportModel(caseId: "empty", provenance: try ReportFixtures.sampleCase().provenance))
        for (i, m) in models.enumerated() {
            let view = CaseReportView(m)
            let fast = MustacheTree.convert(view)
            XCTAssertTrue(fast is [String: Any])
            assertSameTree(fast, MustacheTree.reflect(view), path: "model \(i)")
        }
    }
}
