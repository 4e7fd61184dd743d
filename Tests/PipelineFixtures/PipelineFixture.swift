@_spi(Storage) import CaseStore
import Crypto
import Digests
import Foundation
import GRDB
import XCTest

/// A small lesion store (cohort, GRU model with hidden 8, temperature calibrator, retrieval index)
/// built once per process with the `audit` executable, copied per test so each test starts from
/// identical bytes.
public enum PipelineFixture {
    public static let packageRoot: URL = {
        var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while url.path != "/" {
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
            url.deleteLastPathComponent()
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }()

    public static var auditBinary: URL { packageRoot.appendingPathComponent(".build/debug/audit") }

    /// Skips visibly when the executable is not built; fails under CI=true.
    public static func requireBinary() throws {
        guard FileManager.default.isExecutableFile(atPath: auditBinary.path) else {
            let message = "\(auditBinary.path) is not built (run `swift build` first)"
            if ProcessInfo.processInfo.environment["CI"] == "true" { XCTFail(message) }
            throw XCTSkip(message)
        }
    }

    public struct CommandFailed: Error, CustomStringConvertible {
        public var description: String
    }

    @discardableResult
    public static func audit(_ args: [String], in dir: URL) throws -> String {
        let p = Process()
        p.executableURL = auditBinary
        p.arguments = args
        p.currentDirectoryURL = dir
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw CommandFailed(description: "audit \(args.joined(separator: " ")) exited \(p.terminationStatus): \(String(decoding: e, as: UTF8.self))")
        }
        return String(decoding: o, as: UTF8.self)
    }

    private static let lock = NSLock()
    private static var built: Result<URL, Error>?

    /// The template store (built on first use). `cases` lesion cases, 30% incoming.
    public static func template() throws -> URL {
        try requireBinary()
        lock.lock(); defer { lock.unlock() }
        if let built { return try built.get() }
        let result = Result<URL, Error> { try build() }
        built = result
        return try result.get()
    }

    private static func build() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pipeline-fixture-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let common = ["--store", "fixture.sqlite", "--quiet", "--actor", "fixture"]
        try audit(["cohort", "generate", "lesion", "--study", "lesion", "--cases", "300", "--seed", "7", "--rho", "0.3",
                   "--separation", "3.5",
                   "--splits", "train=0.3,validation=0.05,calibration=0.25,reference=0.1,test=0.1,incoming=0.2"] + common, in: dir)
        try audit(["train", "--study", "lesion", "--split", "train", "--arch", "gru", "--hidden", "8", "--epochs", "3",
                   "--seed", "1"] + common, in: dir)
        let list = try audit(["model", "list", "--store", "fixture.sqlite", "--json"], in: dir)
        guard let models = try JSONSerialization.jsonObject(with: Data(list.utf8)) as? [[String: Any]],
              let model = models.first?["model_id"] as? String else {
            throw CommandFailed(description: "no model in `audit model list --json`: \(list)")
        }
        try audit(["calibrate", "--model", model, "--study", "lesion", "--split", "calibration", "--method", "temperature",
                   "--alpha", "0.1", "--mondrian", "--score", "aps"] + common, in: dir)
        try audit(["index", "build", "--model", model, "--study", "lesion"] + common, in: dir)
        return dir.appendingPathComponent("fixture.sqlite")
    }

    /// A fresh copy of the template store in a new folder; returns (folder, store path).
    public static func copy(_ name: String = "store.sqlite") throws -> (dir: URL, path: String) {
        let source = try template()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pipeline-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let target = dir.appendingPathComponent(name)
        try FileManager.default.copyItem(at: source, to: target)
        for suffix in ["-wal", "-shm"] where FileManager.default.fileExists(atPath: source.path + suffix) {
            try FileManager.default.copyItem(atPath: source.path + suffix, toPath: target.path + suffix)
        }
        return (dir, target.path)
    }

    /// Every row of every table (blobs as SHA-256), ordered by the first column — to show a refused
    /// step changed nothing.
    public static func dump(_ store: CaseStore) throws -> [String: [String]] {
        try store.read { db in
            let tables = try String.fetchAll(db.database, sql: "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            var result: [String: [String]] = [:]
            for t in tables {
                let rows = try Row.fetchAll(db.database, sql: "SELECT * FROM \"\(t)\" ORDER BY 1")
                result[t] = rows.map { row in
                    row.columnNames.map { name -> String in
                        let v: DatabaseValue = row[name]
                        if case .blob(let d) = v.storage { return "\(name)=blob:\(ContentHash.sha256Hex(d))" }
                        return "\(name)=\(v)"
                    }.joined(separator: "|")
                }
            }
            return result
        }
    }

    /// A fixed log-signing key, so two stores sign checkpoints with the same key.
    public static func logSignerKey() throws -> Curve25519.Signing.PrivateKey {
        try Curve25519.Signing.PrivateKey(rawRepresentation: Data(repeating: 7, count: 32))
    }
}
