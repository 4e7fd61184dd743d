import Foundation
import XCTest

/// Runs the built `audit` executable (AuditCLITests has no target dependencies; the binary is the interface).
enum CLI {
    static let packageRoot: URL = {
        var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while url.path != "/" {
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
            url.deleteLastPathComponent()
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }()

    static var binary: URL { packageRoot.appendingPathComponent(".build/debug/audit") }

    /// Skips visibly when a tool is missing; fails under CI=true.
    static func require(_ path: String, _ what: String) throws {
        guard FileManager.default.isExecutableFile(atPath: path) else {
            let message = "\(what) not found at \(path)"
            if ProcessInfo.processInfo.environment["CI"] == "true" { XCTFail(message) }
            throw XCTSkip(message)
        }
    }

    static func requireBinary() throws { try require(binary.path, "the audit executable (run `swift build`)") }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var signalled: Bool
    }

    /// Runs `audit args` in `dir`; `passphrase` (if any) is written, with a newline, to its standard input
    /// (read with `--passphrase-fd 0`).
    @discardableResult
    static func run(_ args: [String], in dir: URL, passphrase: String? = nil) throws -> Result {
        try exec(binary.path, args, in: dir, passphrase: passphrase)
    }

    static func exec(_ path: String, _ args: [String], in dir: URL, passphrase: String? = nil) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        p.currentDirectoryURL = dir
        let out = Pipe(), err = Pipe(), input = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = input
        try p.run()
        if let passphrase { input.fileHandleForWriting.write(Data((passphrase + "\n").utf8)) }
        try? input.fileHandleForWriting.close()
        // Read both pipes concurrently so neither fills up.
        var errData = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async { errData = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self), signalled: p.terminationReason == .uncaughtSignal)
    }

    /// Runs and requires exit 0.
    @discardableResult
    static func ok(_ args: [String], in dir: URL, passphrase: String? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> Result {
        let r = try run(args, in: dir, passphrase: passphrase)
        XCTAssertEqual(r.status, 0, "audit \(args.joined(separator: " ")) failed: \(r.stderr)", file: file, line: line)
        return r
    }

    /// Parses stdout as exactly one JSON document.
    static func json(_ r: Result, file: StaticString = #filePath, line: UInt = #line) throws -> Any {
        let data = Data(r.stdout.utf8)
        do { return try JSONSerialization.jsonObject(with: data) } catch {
            XCTFail("stdout is not one JSON document: \(error)\n\(r.stdout.prefix(500))", file: file, line: line)
            throw error
        }
    }

    static func sqlite(_ db: String, _ sql: String, in dir: URL) throws -> String {
        try require("/usr/bin/sqlite3", "sqlite3")
        let r = try exec("/usr/bin/sqlite3", [db, sql], in: dir)
        guard r.status == 0 else { throw NSError(domain: "sqlite3", code: Int(r.status), userInfo: [NSLocalizedDescriptionKey: r.stderr]) }
        return r.stdout
    }

    /// Every row of every table, ordered by the first column (blobs hashed) — in one sqlite3 call.
    static func dump(_ db: String, in dir: URL) throws -> String {
        let columns = try sqlite(db, "SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p WHERE m.type = 'table' ORDER BY m.name, p.cid", in: dir)
        var byTable: [(String, [String])] = []
        for line in columns.split(separator: "\n") {
            let parts = line.split(separator: "|", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { continue }
            if byTable.last?.0 == parts[0] { byTable[byTable.count - 1].1.append(parts[1]) } else { byTable.append((parts[0], [parts[1]])) }
        }
        let script = byTable.map { table, cols in
            let exprs = cols.map { "CASE WHEN typeof(\"\($0)\") = 'blob' THEN hex(sha3(\"\($0)\")) ELSE quote(\"\($0)\") END" }
            return "SELECT '## \(table)'; SELECT \(exprs.joined(separator: ", ")) FROM \"\(table)\" ORDER BY 1;"
        }.joined(separator: "\n")
        return try sqlite(db, script, in: dir)
    }

    static func tempDir(_ label: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("audit-cli-\(label)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// A lesion store: cohort, GRU (hidden 8, 3 epochs), temperature calibrator, retrieval index.
    /// `incoming` is the share of incoming cases. Returns the model id.
    @discardableResult
    static func buildStore(_ store: String, in dir: URL, cases: Int, incoming: Double = 0.2) throws -> String {
        let common = ["--store", store, "--quiet", "--actor", "fixture"]
        let test = String(format: "%.2f", 0.3 - incoming)
        try ok(["cohort", "generate", "lesion", "--study", "lesion", "--cases", String(cases), "--seed", "7", "--rho", "0.3",
                "--separation", "3.5",
                "--splits", "train=0.3,validation=0.05,calibration=0.25,reference=0.1,test=\(test),incoming=\(String(format: "%.2f", incoming))"] + common,
               in: dir)
        try ok(["train", "--study", "lesion", "--split", "train", "--arch", "gru", "--hidden", "8", "--epochs", "3", "--seed", "1"] + common, in: dir)
        let list = try ok(["model", "list", "--store", store, "--json"], in: dir)
        guard let models = try json(list) as? [[String: Any]], let model = models.first?["model_id"] as? String else {
            XCTFail("no model listed: \(list.stdout.prefix(300))")
            return ""
        }
        try ok(["calibrate", "--model", model, "--study", "lesion", "--split", "calibration", "--method", "temperature",
                "--alpha", "0.1", "--mondrian", "--score", "aps"] + common, in: dir)
        try ok(["index", "build", "--model", model, "--study", "lesion"] + common, in: dir)
        return model
    }

    static func copyStore(_ from: String, to: String, in dir: URL) throws {
        let fm = FileManager.default
        let src = dir.appendingPathComponent(from).path, dst = dir.appendingPathComponent(to).path
        try fm.copyItem(atPath: src, toPath: dst)
        for s in ["-wal", "-shm"] where fm.fileExists(atPath: src + s) { try fm.copyItem(atPath: src + s, toPath: dst + s) }
        if fm.fileExists(atPath: src + ".logkey") { try fm.copyItem(atPath: src + ".logkey", toPath: dst + ".logkey") }
    }
}
