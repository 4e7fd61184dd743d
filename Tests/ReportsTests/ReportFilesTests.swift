import Foundation
import XCTest
@testable import Reports

final class ReportFilesTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("cs-files-\(UUID().uuidString)")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    func testWritesCreatesFoldersAndReplacesWholeFiles() throws {
        let url = dir.appendingPathComponent("a/b/report.html")
        try ReportFiles.writeAtomically(Data("first version, longer".utf8), to: url)
        XCTAssertEqual(try String(contentsOf: url, encoding: .utf8), "first version, longer")
        try ReportFiles.writeAtomically(Data("second".utf8), to: url)
        XCTAssertEqual(try String(contentsOf: url, encoding: .utf8), "second")
        let names = try FileManager.default.contentsOfDirectory(atPath: url.deletingLastPathComponent().path)
        XCTAssertEqual(names, ["report.html"], "no temporary file is left behind")
    }

    func testFailureLeavesNoFileAndNamesThePath() throws {
        // The destination is an existing non-empty folder: rename must fail, and the temp file must go.
        let target = dir.appendingPathComponent("taken")
        try FileManager.default.createDirectory(at: target.appendingPathComponent("inside"), withIntermediateDirectories: true)
        XCTAssertThrowsError(try ReportFiles.writeAtomically(Data("x".utf8), to: target)) { error in
            XCTAssertTrue(String(describing: error).contains(target.path), "\(error)")
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        XCTAssertEqual(names, ["taken"])
    }

    func testSafeFileNamesStayInTheirFolderAndStayDistinct() {
        XCTAssertEqual(ReportFiles.safeFileName("lesion-0042_b"), "lesion-0042_b")
        XCTAssertEqual(ReportFiles.safeFileName("../../etc/passwd"), "%2E%2E%2F%2E%2E%2Fetc%2Fpasswd")
        XCTAssertEqual(ReportFiles.safeFileName(".hidden"), "%2Ehidden")
        XCTAssertEqual(ReportFiles.safeFileName("a\u{202E}b"), "a%E2%80%AEb")
        XCTAssertNotEqual(ReportFiles.safeFileName("a/b"), ReportFiles.safeFileName("a%2Fb"))
        XCTAssertEqual(ReportFiles.safeFileName(""), "%00empty")
        for p in ReportFixtures.payloads {
            let name = ReportFiles.safeFileName(p)
            XCTAssertFalse(name.contains("/") || name.contains("\\") || name.hasPrefix("."), name)
        }
    }
}
