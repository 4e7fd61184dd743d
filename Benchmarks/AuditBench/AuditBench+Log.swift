import ArgumentParser
import AuditLog
import CaseStore
import Foundation

/// Audit-log speed: appends per second (events in the same transactions as their changes would
/// be, batched as a bulk import batches them, and one transaction per event as `audit run` does),
/// and a full `AuditLog.verify` over a large log (what `audit log verify` runs).
struct LogBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "Audit log: append rate (target ≥ 50,000 events/s) and verification of 1,000,000 events (target ≤ 10 s).")

    @Option(help: "Events to append for the append-rate measurement.") var events = 100_000
    @Option(help: "Events per write transaction in the append-rate measurement.") var batch = 1_000
    @Option(help: "Events appended one transaction each (the per-case path of `audit run`).") var singleEvents = 5_000
    @Option(help: "Events in the log that is verified.") var verifyEvents = 1_000_000
    @Option(help: "Sign a checkpoint every this many events in the verified log.") var checkpointEvery = 100_000
    @Option(help: "Directory for the benchmark stores (default: a temporary directory, removed afterwards).") var dir: String?
    @Flag(help: "Keep the stores (with --dir) for `audit log verify` runs.") var keep = false
    @Option(help: "Override PRAGMA synchronous for the append measurements (off, normal, full); default: the store's own.")
    var synchronous: String?
    @Flag(help: "Print one JSON document (always on; accepted for uniformity).") var json = false

    func validate() throws {
        guard events > 0, batch > 0, singleEvents >= 0, verifyEvents > 0, checkpointEvery > 0 else {
            throw ValidationError("counts must be positive")
        }
        if let synchronous, !["off", "normal", "full"].contains(synchronous) {
            throw ValidationError("--synchronous must be off, normal or full")
        }
    }

    /// Shaped like a `case.assessed` payload: hashes, a disposition, probabilities.
    struct Payload: Encodable {
        var case_id: String
        var run_id: String
        var model_sha256: String
        var calibrator_sha256: String
        var policy_sha256: String
        var report_html_sha256: String
        var disposition: String
        var probabilities: [Double]
        var prediction_set: [Int]
        var checks_failed: [String]
    }

    static func payload(_ i: Int) -> Payload {
        let h = String(repeating: String(format: "%016llx", UInt64(i) &* 0x9E37_79B9_7F4A_7C15), count: 4)
        return Payload(case_id: "case-\(i)", run_id: "bench", model_sha256: h, calibrator_sha256: h, policy_sha256: h,
                       report_html_sha256: h, disposition: i % 7 == 0 ? "review" : "report",
                       probabilities: [0.91, 0.05, 0.02, 0.015, 0.005], prediction_set: [0],
                       checks_failed: i % 7 == 0 ? ["ood-distance"] : [])
    }

    struct Output: Encodable {
        var benchmark = "log"
        var append_events: Int
        var append_batch: Int
        var append_seconds: Double
        var append_events_per_second: Double
        /// Process CPU time of the append loop: on a shared machine wall time also counts waiting.
        var append_cpu_seconds: Double
        var single_transaction_events: Int
        var single_transaction_seconds: Double
        var single_transaction_events_per_second: Double
        var verify_events: Int
        var verify_checkpoints: Int
        var verify_seconds: Double
        var verify_events_per_second: Double
        var verify_ok: Bool
        var build_seconds: Double
        var store_bytes: Int64
        var peak_rss_mb: Double?
        var payload_bytes: Int
        /// SQLite settings of the store the appends ran on (each commit's fsync cost depends on them).
        var journal_mode: String
        var synchronous: Int
        var cpu_cores: Int
        var stores_kept_in: String?
    }

    func run() throws {
        let base = URL(fileURLWithPath: dir ?? NSTemporaryDirectory()).appendingPathComponent("audit-bench-log-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        defer { if !keep { try? FileManager.default.removeItem(at: base) } }
        let clock = ContinuousClock()
        func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18 }

        // 1. Append rate, batched.
        let appendStore = try CaseStore(path: base.appendingPathComponent("append.sqlite").path)
        if let synchronous {
            // Outside a transaction: the setting belongs to the store's one connection.
            try appendStore.setSynchronous(synchronous)
        }
        let payloads = (0..<min(events, 10_000)).map(Self.payload)
        let cpuBefore = ProcessFigures.cpuSeconds()
        let appendTime = try clock.measure {
            var done = 0
            while done < events {
                let n = min(batch, events - done)
                try appendStore.change { db in
                    for i in done..<done + n {
                        try AuditLog.append(db, actor: "bench", action: "case.assessed",
                                            subject: AuditSubject(type: "case", id: "case-\(i)"), payload: payloads[i % payloads.count])
                    }
                }
                done += n
            }
        }
        let appendCPU = ProcessFigures.cpuSeconds() - cpuBefore
        // 2. One transaction per event.
        let singleTime = try clock.measure {
            for i in 0..<singleEvents {
                try appendStore.change { db in
                    try AuditLog.append(db, actor: "bench", action: "case.assessed",
                                        subject: AuditSubject(type: "case", id: "single-\(i)"), payload: payloads[i % payloads.count])
                }
            }
        }

        // 3. Verify a large log.
        let verifyPath = base.appendingPathComponent("verify.sqlite").path
        let verifyStore = try CaseStore(path: verifyPath)
        let signer = try LogSigner.openOrCreate(for: verifyStore)
        var checkpoints = 0
        let buildTime = try clock.measure {
            var done = try verifyStore.read { db in try AuditLog.treeSize(db) }
            while done < verifyEvents {
                let nextCheckpoint = (done / checkpointEvery + 1) * checkpointEvery
                let n = min(10_000, nextCheckpoint - done, verifyEvents - done)
                try verifyStore.change { db in
                    for i in done..<done + n {
                        try AuditLog.append(db, actor: "bench", action: "case.assessed",
                                            subject: AuditSubject(type: "case", id: "case-\(i)"), payload: payloads[i % payloads.count])
                    }
                    if (done + n) % checkpointEvery == 0 || done + n == verifyEvents {
                        try AuditLog.checkpoint(db, signer: signer)
                        checkpoints += 1
                    }
                }
                done += n
            }
        }
        var report: LogVerificationReport?
        let verifyTime = try clock.measure {
            report = try verifyStore.read { db in try AuditLog.verify(db, trustedKey: signer.verifierKey) }
        }
        guard let report else { throw ValidationError("verification produced no report") }
        let size = (try? FileManager.default.attributesOfItem(atPath: verifyPath)[.size] as? NSNumber)?.int64Value ?? 0
        let payloadBytes = (try? CanonicalJSON.encode(payloads[0]).count) ?? 0
        let (journal, sync) = try appendStore.journalSettings()

        let out = Output(
            append_events: events, append_batch: batch, append_seconds: seconds(appendTime),
            append_events_per_second: Double(events) / seconds(appendTime), append_cpu_seconds: appendCPU,
            single_transaction_events: singleEvents, single_transaction_seconds: seconds(singleTime),
            single_transaction_events_per_second: singleEvents == 0 ? 0 : Double(singleEvents) / seconds(singleTime),
            verify_events: report.eventCount, verify_checkpoints: report.checkpointsVerified,
            verify_seconds: seconds(verifyTime), verify_events_per_second: Double(report.eventCount) / seconds(verifyTime),
            verify_ok: report.ok, build_seconds: seconds(buildTime), store_bytes: size, peak_rss_mb: ProcessFigures.peakResidentMegabytes(),
            payload_bytes: payloadBytes, journal_mode: journal, synchronous: sync,
            cpu_cores: ProcessInfo.processInfo.activeProcessorCount, stores_kept_in: keep ? base.path : nil)
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        print(String(decoding: try e.encode(out), as: UTF8.self))
        if !report.ok { throw ExitCode(1) }
    }
}
