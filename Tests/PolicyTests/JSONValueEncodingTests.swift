import Foundation
import XCTest
@testable import Policy

/// The direct Encodable → JSONValue path must give exactly what encoding to JSON text and parsing it
/// back gives (the reference), for every shape the pipeline stores.
final class JSONValueEncodingTests: XCTestCase {
    struct Inner: Codable { var x: Double; var tags: [String]; var maybe: Int? }
    enum Kind: String, Codable { case a, b }
    struct Sample: Codable {
        var id: String
        var count: Int
        var big: UInt64
        var ratio: Float
        var flag: Bool
        var none: String?
        var some: String?
        var kind: Kind
        var nested: [Inner]
        var map: [String: [Double]]
        var matrix: [[Int]]
        var blob: Data
        var empty: [Inner]
        var optionalArray: [Double?]
    }

    func reference<T: Encodable>(_ v: T) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(v))
    }

    func testMatchesTheTextRoundTrip() throws {
        var rng = SystemRandomNumberGenerator()
        for i in 0..<50 {
            let s = Sample(id: "case-\(i) <\u{202E}>", count: i - 25, big: UInt64(i) * 1_000_003, ratio: Float(i) / 7, flag: i % 2 == 0,
                           none: nil, some: i % 3 == 0 ? "x" : nil, kind: i % 2 == 0 ? .a : .b,
                           nested: (0..<(i % 4)).map { Inner(x: Double($0) / 3, tags: ["t\($0)"], maybe: $0 % 2 == 0 ? $0 : nil) },
                           map: ["p": [0.1, 1e-300, Double(i)], "q": []], matrix: [[1, 2], [], [i]],
                           blob: Data((0..<(i % 5)).map { _ in UInt8.random(in: 0...255, using: &rng) }), empty: [],
                           optionalArray: [nil, 1.5, nil])
            XCTAssertEqual(try JSONValue(encoding: s), try reference(s), "sample \(i)")
        }
        XCTAssertEqual(try JSONValue(encoding: [1, 2, 3]), try reference([1, 2, 3]))
        XCTAssertEqual(try JSONValue(encoding: "text"), try reference("text"))
    }

    func testNonFiniteNumbersAreRefusedLikeJSONEncoder() {
        XCTAssertThrowsError(try JSONEncoder().encode([Double.nan]))
        XCTAssertThrowsError(try JSONValue(encoding: [Double.nan]))
        XCTAssertThrowsError(try JSONValue(encoding: Inner(x: .infinity, tags: [], maybe: nil)))
    }
}
