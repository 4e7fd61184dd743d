import Files
import XCTest

final class FileNameTests: XCTestCase {
    func testSafeIdsAreKeptAsTheyAre() {
        XCTAssertEqual(FileName.slug("lesion-0042_b"), "lesion-0042_b")
        XCTAssertEqual(FileName.slug("EyesOpenShut_TEST-8.v2"), "EyesOpenShut_TEST-8.v2")
    }

    func testNamesStayInTheirFolderNeverHideAndStayDistinct() {
        let hostile = ["../../etc/passwd", ".hidden", "a/b", "a_b", "a\\b", "", "a\u{202E}b", "x'; DROP TABLE cases;--",
                       "con", "\u{0}", String(repeating: "z", count: 300), String(repeating: "z", count: 301)]
        var seen: [String: String] = [:]
        for id in hostile {
            let name = FileName.slug(id)
            XCTAssertFalse(name.isEmpty || name.contains("/") || name.contains("\\") || name.hasPrefix("."), "\(id) → \(name)")
            XCTAssertLessThanOrEqual(name.count, 89, name)
            if let other = seen[name] { XCTFail("\(id) and \(other) share the file name \(name)") }
            seen[name] = id
        }
        // A changed id carries the first 8 hex digits of its SHA-256 (Python: hashlib.sha256(b"a/b")).
        XCTAssertEqual(FileName.slug("a/b"), "a_b-c14cddc0")
    }
}
