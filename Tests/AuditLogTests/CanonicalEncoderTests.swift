import Foundation
import XCTest
@_spi(Storage) @testable import AuditLog

/// The direct canonical encoder must give exactly the bytes of `JSONEncoder` + canonicaliser.
final class CanonicalEncoderTests: XCTestCase {
    struct Inner: Codable { var z: Int?; var a: [Double]; var flag: Bool }
    enum Mode: String, Codable { case fast, slow }
    struct Outer: Encodable {
        var name = "quote \" slash / newline \n tab \t bell \u{07} é 😀"
        var count = -42
        var big: UInt64 = .max
        var small: Int8 = -128
        var lowest: Int64 = .min
        var zero = 0
        var ratio = 1.0 / 3.0
        var tiny = 1e-7
        var huge = 1.5e300
        var integral = 100.0
        var negativeZero = -0.0
        var float: Float = 0.1
        var when = Date(timeIntervalSince1970: 1_796_528_261.123)
        var blob = Data([0, 1, 2, 254, 255])
        var url = URL(string: "https://example.org/a?b=c")!
        var decimal = Decimal(string: "12.50")!
        var optionalNil: String? = nil
        var optionalSet: String? = "x"
        var inner = Inner(z: nil, a: [0.5, 2, -3.25], flag: true)
        var inners = [Inner(z: 3, a: [], flag: false)]
        var mode = Mode.fast
        var byName = ["b": 2, "a": 1, "é": 3, "Z": 4, "aa": 5]
        var byInt = [3: "c", 1: "a", 20: "t"]
        var nested: [[String: [Int]]] = [["k": [1, 2]], [:]]
        var empty: [String] = []
        var set = ["only"]

        enum CodingKeys: String, CodingKey {
            case name, count, big, small, lowest, zero, ratio, tiny, huge, integral, float, when, blob, url, decimal, inner, inners, mode, nested, empty, set
            case negativeZero = "negative_zero", optionalNil = "optional_nil", optionalSet = "optional_set"
            case byName = "by_name", byInt = "by_int"
        }
    }

    /// Writes keys out of order and uses nested and super encoders explicitly.
    struct Unusual: Encodable {
        enum K: String, CodingKey { case b, a }
        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: K.self)
            try c.encode(2, forKey: .a)
            var n = c.nestedUnkeyedContainer(forKey: .b)
            try n.encode("replaced")
            try n.encodeNil()
            var s = c.superEncoder().singleValueContainer()
            try s.encode(true)
        }
    }

    func assertSame<T: Encodable>(_ value: T, file: StaticString = #filePath, line: UInt = #line) throws {
        let direct = try CanonicalJSON.encode(value)
        let reference = try CanonicalJSON.encodeViaJSONEncoder(value)
        XCTAssertEqual(String(decoding: direct, as: UTF8.self), String(decoding: reference, as: UTF8.self), file: file, line: line)
    }

    func testDirectEncoderMatchesJSONEncoderPlusCanonicaliser() throws {
        try assertSame(Outer())
        try assertSame(Unusual())
        try assertSame([1.25, 2, 3e-9])
        try assertSame("bare")
        try assertSame(7)
        try assertSame(["k": Optional<Int>.none])
        XCTAssertEqual(try CanonicalJSON.string(Unusual()), #"{"a":2,"b":["replaced",null],"super":true}"#)
    }

    func testNonFiniteNumbersAreRefused() {
        XCTAssertThrowsError(try CanonicalJSON.encode([Double.infinity]))
        XCTAssertThrowsError(try CanonicalJSON.encode(["x": Float.nan]))
    }
}
