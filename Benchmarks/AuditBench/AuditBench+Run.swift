import ArgumentParser
import AuditLog
import CaseStore
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Pipeline
import Policy

/// `audit run` at scale: a synthetic lesion store (every lesion scanned `--scans` times), a small GRU,
/// a temperature calibrator and the retrieval index are built with the sibling `audit` executable
/// (not timed); then `AuditRunJob.execute` — assessments, case and run reports in the store and on
/// disk, audit events and a signed checkpoint — is timed in process over the incoming cases.
struct RunBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "audit run over N incoming synthetic lesion cases (reports included): seconds, cases/s, peak RSS.")

    @Option(help: "Incoming cases to assess.") var cases = 10_000
    @Option(help: "Scans per lesion.") var scans = 3
    @Option(help: "Cohort seed.") var seed: UInt64 = 7
    @Option(help: "Hidden units of the GRU.") var hidden = 16
    @Option(help: "Training epochs.") var epochs = 3
    @Option(help: "Working folder (default: a new temporary folder, removed afterwards).") var dir: String?
    @Option(help: "The audit executable (default: beside audit-bench).") var audit: String?
    @Option(help: "Also time `audit store verify` over the finished store (off: skip).") var storeVerify = true
    @Flag(help: "Print one JSON document.") var json = false

    func validate() throws {
        guard cases >= 10, scans >= 1, hidden >= 1, epochs >= 1 else {
            throw ValidationError("--cases must be at least 10; --scans, --hidden and --epochs positive")
        }
    }

    func run() throws {
        let fm = FileManager.default
        let work = URL(fileURLWithPath: dir ?? fm.temporaryDirectory.appendingPathComponent("audit-bench-run-\(UUID().uuidString)").path)
        try fm.createDirectory(at: work, withIntermediateDirectories: true)
        defer { if dir == nil { try? fm.removeItem(at: work) } }
        let tool = audit ?? Bundle.main.executableURL!.deletingLastPathComponent().appendingPathComponent("audit").path
        guard fm.isExecutableFile(atPath: tool) else {
            throw ValidationError("the audit executable is not at \(tool); build it (`swift build -c release --product audit`) or give --audit")
        }
        let storePath = work.appendingPathComponent("bench.sqlite").path

        let setupStart = Date()
        let model = try Self.buildStore(tool: tool, storePath: storePath, cases: cases, scans: scans, seed: seed, hidden: hidden, epochs: epochs)
        let setupSeconds = Date().timeIntervalSince(setupStart)
        let store = try CaseStore(path: storePath)

        let signer = try LogSigner.openOrCreate(for: store, actor: "audit-bench")
        let job = AuditRunJob(store: store, policy: try ShippedPolicy.default.load(), study: "lesion", selection: .split(.incoming),
                              modelId: model, outDirectory: work.appendingPathComponent("out"), runId: "bench-run",
                              operatorId: "audit-bench", logSigner: { signer })
        let start = Date(), cpuStart = ProcessFigures.cpuSeconds()
        let summary = try job.execute()
        let seconds = Date().timeIntervalSince(start), cpuSeconds = ProcessFigures.cpuSeconds() - cpuStart
        let reportFiles = (fm.enumerator(atPath: work.appendingPathComponent("out").path)?.allObjects.count) ?? 0
        // `audit store verify` over the finished store: the log, then every record against its attestation.
        var verify: [String: Any] = [:]
        if storeVerify {
            let verifyStart = Date(), verifyCPU = ProcessFigures.cpuSeconds()
            let report = try StoreVerifyJob(store: store).run()
            verify = ["store_verify_seconds": Date().timeIntervalSince(verifyStart),
                      "store_verify_cpu_seconds": ProcessFigures.cpuSeconds() - verifyCPU,
                      "store_verify_ok": report.ok, "store_verify_records": report.records.recordsChecked.values.reduce(0, +),
                      "store_verify_events": report.log.eventCount]
        }

        var result: [String: Any] = [
            "cases": summary.cases, "seconds": seconds, "cpu_seconds": cpuSeconds, "cases_per_s": Double(summary.cases) / seconds,
            "max_rss_mb": ProcessFigures.peakResidentMegabytes() as Any, "scans_per_case": scans, "setup_seconds": setupSeconds,
            "dispositions": summary.dispositions, "report_files": reportFiles, "model_id": model,
            "policy_sha256": summary.policySha256, "checkpoint_size": summary.checkpointSize as Any,
            "note": "max_rss_mb is VmHWM of the audit-bench process (the setup runs in child processes); cpu_seconds is its user + system CPU time during the timed run (all threads), steadier than wall time on a shared machine",
        ]
        result.merge(verify) { a, _ in a }
        if json {
            let data = try JSONSerialization.data(withJSONObject: result, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(String(format: "audit run: %d cases × %d scans in %.1f s (%.0f cases/s, %.1f CPU s), peak RSS %@ MB; setup %.1f s",
                         summary.cases, scans, seconds, Double(summary.cases) / seconds, cpuSeconds,
                         ProcessFigures.peakResidentMegabytes().map { String(format: "%.0f", $0) } ?? "?", setupSeconds))
            if let s = verify["store_verify_seconds"] as? Double {
                print(String(format: "audit store verify: %d records, %d events in %.1f s (%@)", verify["store_verify_records"] as? Int ?? 0,
                             verify["store_verify_events"] as? Int ?? 0, s, (verify["store_verify_ok"] as? Bool ?? false) ? "OK" : "FAILED"))
            }
        }
    }


    /// The bench store: a synthetic lesion cohort (80% incoming; the rest trains, calibrates and fills
    /// the index), a small GRU, a temperature calibrator and the retrieval index, built with the
    /// `audit` executable. Returns the model id.
    static func buildStore(tool: String, storePath: String, cases: Int, scans: Int, seed: UInt64, hidden: Int, epochs: Int) throws -> String {
        let total = cases * 5 / 4
        let common = ["--store", storePath, "--quiet", "--actor", "audit-bench"]
        try shell(tool, ["cohort", "generate", "lesion", "--study", "lesion", "--cases", String(total), "--seed", String(seed),
                              "--rho", "0.3", "--separation", "3.5", "--min-scans", String(scans), "--max-scans", String(scans),
                              "--splits", "train=0.06,validation=0.01,calibration=0.08,reference=0.04,test=0.01,incoming=0.8"] + common)
        try shell(tool, ["train", "--study", "lesion", "--split", "train", "--validation-split", "validation", "--arch", "gru",
                              "--hidden", String(hidden), "--epochs", String(epochs), "--seed", "1"] + common)
        let store = try CaseStore(path: storePath)
        guard let model = try store.read({ db in try CaseStore.newestModel(db, study: "lesion")?.id }) else {
            throw ValidationError("training registered no model")
        }
        try shell(tool, ["calibrate", "--model", model, "--study", "lesion", "--split", "calibration", "--method", "temperature",
                              "--alpha", "0.1", "--mondrian", "--score", "aps"] + common)
        try shell(tool, ["index", "build", "--model", model, "--study", "lesion"] + common)
        return model
    }

    struct SetupFailed: Error, CustomStringConvertible { var description: String }

    static func shell(_ tool: String, _ args: [String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = args
        p.standardOutput = FileHandle.nullDevice
        let err = Pipe()
        p.standardError = err
        try p.run()
        let message = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw SetupFailed(description: "audit \(args.joined(separator: " ")) exited \(p.terminationStatus): \(String(decoding: message, as: UTF8.self))")
        }
    }
}
