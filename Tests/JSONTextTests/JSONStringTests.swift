import XCTest
import JSONText

final class JSONStringTests: XCTestCase {
    func bytes(_ s: String) -> String {
        var out: [UInt8] = []
        JSONString.append(s, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    func testEscapesOnlyQuoteBackslashAndControlCharacters() {
        XCTAssertEqual(bytes("plain / é 😀"), "\"plain / é 😀\"")
        XCTAssertEqual(bytes("q\"b\\"), #""q\"b\\""#)
        XCTAssertEqual(bytes("\u{08}\u{0C}\n\r\t"), #""\b\f\n\r\t""#)
        XCTAssertEqual(bytes("\u{00}\u{01}\u{1F}\u{7F}"), "\"\\u0000\\u0001\\u001f\u{7F}\"")
        XCTAssertEqual(bytes(""), "\"\"")
        // Every other ASCII byte passes through unchanged.
        for b in UInt8(0x20)..<0x80 where b != 0x22 && b != 0x5C {
            let s = String(decoding: [b], as: UTF8.self)
            XCTAssertEqual(bytes(s), "\"\(s)\"")
        }
    }
}
