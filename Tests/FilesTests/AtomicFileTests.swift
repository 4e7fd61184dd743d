import Files
import Foundation
import XCTest

final class AtomicFileTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("cs-files-\(UUID().uuidString)")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    private func names(_ folder: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
    }

    func testWritesCreatesFoldersAndReplacesWholeFiles() throws {
        let url = dir.appendingPathComponent("a/b/report.html")
        try AtomicFile.write(Data("first version, longer".utf8), to: url)
        XCTAssertEqual(try String(contentsOf: url, encoding: .utf8), "first version, longer")
        try AtomicFile.write(Data("second".utf8), to: url, durable: false)
        XCTAssertEqual(try String(contentsOf: url, encoding: .utf8), "second")
        XCTAssertEqual(try names(url.deletingLastPathComponent()), ["report.html"], "no temporary file is left behind")
    }

    func testFailureLeavesNoFileAndNamesThePath() throws {
        // The destination is an existing non-empty folder: rename must fail, and the temp file must go.
        let target = dir.appendingPathComponent("taken")
        try FileManager.default.createDirectory(at: target.appendingPathComponent("inside"), withIntermediateDirectories: true)
        XCTAssertThrowsError(try AtomicFile.write(Data("x".utf8), to: target)) { error in
            XCTAssertTrue(String(describing: error).contains(target.path), "\(error)")
        }
        XCTAssertEqual(try names(dir), ["taken"])
    }

    func testNotReplacingRefusesAnExistingFileAndKeepsItsBytes() throws {
        let key = dir.appendingPathComponent("reviewer.key")
        try AtomicFile.write(Data("secret one".utf8), to: key, permissions: 0o600, replacing: false)
        let mode = try FileManager.default.attributesOfItem(atPath: key.path)[.posixPermissions] as? Int
        XCTAssertEqual(mode, 0o600)
        XCTAssertThrowsError(try AtomicFile.write(Data("secret two".utf8), to: key, replacing: false)) { error in
            XCTAssertTrue(String(describing: error).contains("already exists"), "\(error)")
        }
        XCTAssertEqual(try String(contentsOf: key, encoding: .utf8), "secret one")
        XCTAssertEqual(try names(dir), ["reviewer.key"])
    }

    func testLeftoversOfAKilledWriterAreRemoved() throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: dir.appendingPathComponent(".run.html.1234.tmp").path, contents: Data("part".utf8))
        try AtomicFile.write(Data("whole".utf8), to: dir.appendingPathComponent("run.html"))
        AtomicFile.removeLeftovers(in: dir)
        try AtomicFile.flush(dir)
        XCTAssertEqual(try names(dir), ["run.html"])
    }
}
