import Foundation
import GRDB
import XCTest
@_spi(Storage) @testable import CaseStore

/// The real data folder is missing while `CI=true`: thrown (not a skip), so the test fails.
struct SharedDataMissing: Error, CustomStringConvertible {
    let path: String
    var description: String { "CI=true but the real data folder \(path) is missing" }
}

/// Locates `../shared/data` from this file: up to the package root (the folder holding
/// Package.swift), then `../shared/data`. Absent: skip visibly, except in CI where it is a failure.
func sharedDataDirectory() throws -> URL {
    var dir = URL(fileURLWithPath: "\(#filePath)").deletingLastPathComponent()
    while dir.path != "/" && !FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) {
        dir = dir.deletingLastPathComponent()
    }
    return try sharedDataDirectory(packageRoot: dir)
}

func sharedDataDirectory(packageRoot: URL) throws -> URL {
    let data = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/data")
    if !FileManager.default.fileExists(atPath: data.path) {
        if ProcessInfo.processInfo.environment["CI"] == "true" { throw SharedDataMissing(path: data.path) }
        throw XCTSkip("real data not present at \(data.path) (../shared/data); skipping")
    }
    return data
}

/// A scratch directory removed at the end of the test.
final class Scratch {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("casestore-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        try write(name, Data(text.utf8))
    }

    @discardableResult
    func write(_ name: String, _ data: Data) throws -> String {
        let path = url.appendingPathComponent(name).path
        try data.write(to: URL(fileURLWithPath: path))
        return path
    }
}

extension CaseStore {
    /// Checkpoints the WAL into the main file and returns the main file's bytes, so two snapshots
    /// compare the store byte for byte.
    func fileBytes() throws -> Data {
        guard let path else { throw CaseStoreError.invalid("in-memory store has no file") }
        try writer.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
        return try Data(contentsOf: URL(fileURLWithPath: path))
    }

    /// Every row of every table, as text, in a fixed order: a logical dump for comparisons.
    func dump() throws -> String {
        try readDatabase { db in
            var out = ""
            let tables = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            for t in tables {
                out += "## \(t)\n"
                let rows = try Row.fetchAll(db, sql: "SELECT * FROM \"\(t)\"").map(\.description).sorted()
                for r in rows { out += r + "\n" }
            }
            return out
        }
    }

    func importFile(_ path: String, study: String, split: Split = .train, format: ImportFormat? = nil,
                    idPrefix: String? = nil, verifiedBy: String? = nil, maxLineBytes: Int = 8 << 20) throws -> ImportResult {
        try changeUnlogged { db in
            try Importer.run(db, file: path, options: ImportOptions(study: study, split: split, format: format,
                                                                    idPrefix: idPrefix, verifiedBy: verifiedBy,
                                                                    maxLineBytes: maxLineBytes))
        }
    }
}

/// Asserts `body` throws an `ImportError` of `kind` (and returns it for further checks).
@discardableResult
func assertImportError(_ kind: ImportError.Kind, line expectedLine: Int? = nil, file: StaticString = #filePath,
                       line: UInt = #line, _ body: () throws -> Void) -> ImportError? {
    do {
        try body()
        XCTFail("expected ImportError.\(kind), but the import succeeded", file: file, line: line)
        return nil
    } catch let e as ImportError {
        XCTAssertEqual(e.kind, kind, "wrong error: \(e)", file: file, line: line)
        if let expectedLine { XCTAssertEqual(e.line, expectedLine, "wrong line in \(e)", file: file, line: line) }
        XCTAssertFalse(e.file.isEmpty, file: file, line: line)
        XCTAssertTrue(e.description.contains("expected"), file: file, line: line)
        return e
    } catch {
        XCTFail("expected ImportError.\(kind), got \(type(of: error)): \(error)", file: file, line: line)
        return nil
    }
}
