import XCTest
@testable import Reports

/// `xmlEscaped` returns printable ASCII unchanged without walking scalars; it must agree with the
/// scalar-by-scalar escaping for every ASCII character and for mixed text.
final class XMLEscapingTests: XCTestCase {
    func testFastPathAgreesWithScalarEscaping() {
        var samples = (0..<0x80).map { String(UnicodeScalar(UInt8($0))) }
        samples += ["", "lesion-0001", "0.95", "a & b", "<x>", "say \"hi\"", "tab\there", "é", "\u{FFFE}", "abc\u{202E}gpj.exe"]
        samples += ReportFixtures.payloads
        for s in samples {
            XCTAssertEqual(ReportText.xmlEscaped(s), ReportText.xmlEscapedByScalar(s), "\(s.unicodeScalars.map { $0.value })")
        }
        XCTAssertEqual(ReportText.xmlEscaped("a<b"), "a&lt;b")
    }
}
