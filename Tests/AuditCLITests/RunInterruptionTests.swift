import Foundation
import XCTest

/// A real `audit run` process killed with SIGKILL at seeded-random moments, then resumed, ends with
/// the same assessments, reports and log as an uninterrupted run on an identical copy of the store.
final class RunInterruptionTests: XCTestCase {
    /// SplitMix64: a fixed seed gives the same kill schedule on every run of the test.
    struct SplitMix64 {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }
    }

    func runArgs(_ store: String, out: String) -> [String] {
        ["run", "--store", store, "--study", "lesion", "--split", "incoming", "--run-id", "kill-run", "--out", out,
         "--operator", "operator-1", "--json"]
    }

    /// Rows that must be equal between the two stores (run-report bytes and hashes hold the run's start time).
    func comparable(_ db: String, in dir: URL) throws -> [String: String] {
        var r: [String: String] = [:]
        r["assessments"] = try CLI.sqlite(db, "SELECT case_id, position, disposition, assessment_sha256, assessment FROM assessments ORDER BY run_id, position, case_id", in: dir)
        r["case reports"] = try CLI.sqlite(db, "SELECT case_id, version, format, sha256, hex(sha3(content)) FROM reports WHERE case_id IS NOT NULL ORDER BY run_id, case_id, version, format", in: dir)
        r["run reports"] = try CLI.sqlite(db, "SELECT version, format FROM reports WHERE case_id IS NULL ORDER BY run_id, version, format", in: dir)
        let events = try CLI.sqlite(db, "SELECT seq, actor, action, subject_type, subject_id, payload FROM audit_events ORDER BY seq", in: dir)
        // Run report hashes and attestation digests cover stored times; the records themselves are compared here.
        r["events"] = events.replacingOccurrences(of: #""report_(html|xml)_sha256":"[0-9a-f]{64}""#, with: "<run report hash>", options: .regularExpression)
            .replacingOccurrences(of: #""sha256":"[0-9a-f]{64}"\}"#, with: "<attested records>}", options: .regularExpression)
        r["catch trials"] = try CLI.sqlite(db, "SELECT run_id, case_id, true_label, presented_class FROM catch_trials ORDER BY 1, 2", in: dir)
        r["runs"] = try CLI.sqlite(db, "SELECT id, status, policy_sha256, model_id, parameters FROM runs ORDER BY id", in: dir)
        return r
    }

    func files(_ dir: URL) throws -> [String: String] {
        var result: [String: String] = [:]
        let e = FileManager.default.enumerator(at: dir, includingPropertiesForKeys: nil)
        while let url = e?.nextObject() as? URL {
            guard let data = try? Data(contentsOf: url) else { continue }
            var text = String(decoding: data, as: UTF8.self)
            if url.lastPathComponent.hasPrefix("run.") {
                text = text.replacingOccurrences(of: #"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z"#, with: "<time>", options: .regularExpression)
            }
            result[String(url.path.dropFirst(dir.path.count))] = text
        }
        return result
    }

    func testKilledRunResumesToTheSameResult() throws {
        try CLI.requireBinary()
        try CLI.require("/usr/bin/sqlite3", "sqlite3")
        let dir = try CLI.tempDir("kill")
        try CLI.buildStore("base.sqlite", in: dir, cases: 800, incoming: 0.3)
        // Register the log key before copying, so both stores sign with the same key.
        try CLI.ok(["log", "checkpoint", "--store", "base.sqlite"], in: dir)
        try CLI.copyStore("base.sqlite", to: "a.sqlite", in: dir)
        try CLI.copyStore("base.sqlite", to: "b.sqlite", in: dir)

        let started = Date()
        let a = try CLI.ok(runArgs("a.sqlite", out: "out-a"), in: dir)
        let duration = Date().timeIntervalSince(started)
        let summaryA = try XCTUnwrap(try CLI.json(a) as? [String: Any])
        let total = try XCTUnwrap(summaryA["cases"] as? Int)
        XCTAssertGreaterThanOrEqual(total, 200)

        var rng = SplitMix64(state: 20_261_128)
        var killed = 0, progressSeen: [Int] = []
        func assessed() throws -> Int {
            Int(try CLI.sqlite("b.sqlite", "SELECT count(*) FROM assessments WHERE run_id = 'kill-run'", in: dir)
                .trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
        }
        for attempt in 0..<4 {
            let before = try assessed()
            let p = Process()
            p.executableURL = CLI.binary
            p.arguments = runArgs("b.sqlite", out: "out-b")
            p.currentDirectoryURL = dir
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            if attempt == 0 {
                // During start-up (loading, log verification), before or around the first case.
                Thread.sleep(forTimeInterval: 0.05 + rng.uniform() * min(duration * 0.1, 1))
            } else {
                // Mid-run: once a seeded-random number of further cases is stored (a machine's speed does
                // not decide whether the kill lands inside the run). Bounded by a generous deadline.
                let target = before + 1 + Int(rng.uniform() * Double(max(1, (total - before) / 4)))
                let deadline = Date().addingTimeInterval(max(60, duration * 4))
                while p.isRunning, Date() < deadline, try assessed() < target { Thread.sleep(forTimeInterval: 0.005) }
            }
            if p.isRunning {
                kill(p.processIdentifier, SIGKILL)
                p.waitUntilExit()
                if p.terminationReason == .uncaughtSignal { killed += 1 }
            } else {
                p.waitUntilExit()
            }
            let n = try assessed()
            progressSeen.append(n)
            // Each stored case has exactly one case.assessed event: nothing half-written.
            let events = Int(try CLI.sqlite("b.sqlite", "SELECT count(*) FROM audit_events WHERE action = 'case.assessed'", in: dir)
                .trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
            XCTAssertEqual(events, n, "attempt \(attempt): \(n) assessments but \(events) case.assessed events")
        }
        XCTAssertGreaterThanOrEqual(killed, 3, "most attempts should be killed mid-run (assessments after each: \(progressSeen))")
        XCTAssertTrue(progressSeen.contains { $0 > 0 && $0 < total }, "no kill landed mid-run: \(progressSeen)")

        let b = try CLI.ok(runArgs("b.sqlite", out: "out-b"), in: dir)
        let summaryB = try XCTUnwrap(try CLI.json(b) as? [String: Any])
        XCTAssertEqual(summaryB["cases"] as? Int, total)
        XCTAssertEqual(summaryB["dispositions"] as? [String: Int], summaryA["dispositions"] as? [String: Int])

        let ca = try comparable("a.sqlite", in: dir), cb = try comparable("b.sqlite", in: dir)
        for key in ca.keys.sorted() {
            XCTAssertEqual(ca[key], cb[key], "\(key) differ between the uninterrupted and the killed-and-resumed run")
        }
        let fa = try files(dir.appendingPathComponent("out-a")), fb = try files(dir.appendingPathComponent("out-b"))
        XCTAssertEqual(Set(fa.keys), Set(fb.keys))
        XCTAssertGreaterThanOrEqual(fa.count, 2 * total + 2)
        for (name, text) in fa where fb[name] != text { XCTFail("report file \(name) differs"); break }

        let verify = try CLI.run(["log", "verify", "--store", "b.sqlite"], in: dir)
        XCTAssertEqual(verify.status, 0, "audit log verify after kills: \(verify.stdout)\(verify.stderr)")
        // Killed and resumed once more: a completed run is not repeated.
        let again = try CLI.ok(runArgs("b.sqlite", out: "out-b"), in: dir)
        XCTAssertEqual((try CLI.json(again) as? [String: Any])?["assessed_now"] as? Int, 0)
        XCTAssertEqual(try comparable("b.sqlite", in: dir)["events"], cb["events"])
    }
}
