import ArgumentParser
import CaseStore
import Files
import Foundation
import Pipeline
import Policy

extension Audit {
    /// `audit run`: the main job.
    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Assess cases through model, calibration, retrieval and repeat scans; apply a policy; log; write reports.",
            discussion: """
                Re-running with the same --run-id resumes an interrupted run (also after kill -9): the remaining \
                cases are assessed and nothing is repeated. Exit status 0 when the run completed, 1 when it \
                completed but a run-level check failed (drift alarm, calibrator mismatch, log verification), \
                other codes for errors. `audit run --demo` builds and runs the embedded demo.
                """)

        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var output: OutputOptions
        @Option(help: "Policy file (default: Policies/default.yaml, or the built-in copy when that file is absent).")
        var policy: String?
        @Option(help: "Study to assess (required unless --demo).") var study: String?
        @Option(help: "Split to assess (e.g. incoming); give it or --cases.") var split: String?
        @Option(help: "Comma-separated case ids to assess (instead of --split).") var cases: String?
        @Option(help: "Model id (default: the newest model registered for the study).") var model: String?
        @Option(help: "Output folder for the reports (default: runs/<run id>; with --demo, the folder holding the demo's runs, default countersign-demo/runs).") var out: String?
        @Option(help: "Run id; re-use it to resume (default: run-<UTC time>).") var runId: String?
        @Option(name: .customLong("operator"), help: "Who runs this (recorded; default: the system user).")
        var operatorArgument: String?
        var operatorId: String { operatorArgument ?? ProcessInfo.processInfo.environment["USER"] ?? NSUserName() }
        @Option(help: "Neighbours shown per case.") var k: Int = 10
        @Option(help: "Retrieval metric: euclidean or cosine.") var metric: String = "euclidean"
        @Option(help: "Report templates folder (default: Reports/templates when present, else built-in).") var templates: String?
        @Option(help: "Log signing key file (default: <store>.logkey).") var logKey: String?
        @Flag(help: "Create (if missing) and run the embedded demo (store countersign-demo/demo.sqlite unless --store; see README).") var demo = false

        func validate() throws {
            guard k >= 1 else { throw ValidationError("--k must be at least 1") }
            guard AuditRunJob.Metric(rawValue: metric) != nil else { throw ValidationError("--metric must be euclidean or cosine") }
            if demo {
                // The demo's runs are fixed (ids demo-<study>, the default policy, the models it trains), so
                // options that would change them are refused rather than silently ignored.
                let fixed: [(String, Bool)] = [("--study", study != nil), ("--split", split != nil), ("--cases", cases != nil),
                                               ("--model", model != nil), ("--run-id", runId != nil), ("--policy", policy != nil),
                                               ("--operator", operatorArgument != nil), ("--k", k != 10),
                                               ("--metric", metric != "euclidean")]
                let given = fixed.filter(\.1).map(\.0)
                if !given.isEmpty {
                    throw ValidationError("--demo runs fixed runs (demo-lesion, demo-lineage with the default policy); it takes --store, --out, --json, --quiet, --templates and --log-key, not \(given.joined(separator: ", "))")
                }
                return
            }
            guard study != nil else { throw ValidationError("--study is required (or --demo)") }
            guard (split == nil) != (cases == nil) else { throw ValidationError("give exactly one of --split and --cases") }
            if let s = split, Split(rawValue: s) == nil { throw ValidationError("--split: unknown split '\(s)'") }
        }

        func run() async throws {
            if demo {
                try await DemoScript(storePath: storeOptions.storeArgument ?? DemoScript.defaultStorePath,
                                     runsFolder: out ?? DemoScript.defaultRunsFolder, templates: templates, logKey: logKey,
                                     quiet: output.quiet, json: output.json).run()
                return
            }
            try finish(try execute(try makeJob()))
        }

        func makeJob() throws -> AuditRunJob {
            let store = try storeOptions.openExisting()
            let loadedPolicy = try Self.loadPolicy(policy)
            let runId = self.runId ?? Self.defaultRunId()
            let outURL = URL(fileURLWithPath: out ?? "runs/\(FileName.slug(runId))")
            let selection: AuditRunJob.Selection = split.map { .split(Split(rawValue: $0)!) }
                ?? .cases(cases!.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
            let (keyPath, actor) = (logKey, operatorId)
            let signer = AuditRunJob.logSigner(for: store, keyPath: keyPath, actor: actor)
            return AuditRunJob(store: store, policy: loadedPolicy, study: study!, selection: selection, modelId: model,
                               outDirectory: outURL, runId: runId, operatorId: operatorId, k: k,
                               metric: AuditRunJob.Metric(rawValue: metric)!, templatesDirectory: Self.templatesFolder(templates),
                               logSigner: signer)
        }

        func execute(_ job: AuditRunJob) throws -> AuditRunJob.Summary {
            let bar = ProgressBar(total: 1, label: "run \(job.runId)", enabled: output.showsProgress && !output.json)
            var total = 1
            let summary = try job.execute { done, all in
                if all != total { total = all }
                bar.update(done, total: all)
            }
            bar.finish()
            return summary
        }

        /// Prints the closing summary and maps run-level failures onto exit status 1.
        func finish(_ s: AuditRunJob.Summary) throws {
            if output.json {
                try Console.json(s)
            } else {
                Console.out(RunSummaryText.render(s))
            }
            if !s.runLevelFailures.isEmpty {
                throw CLIError.checkFailed("run \(s.runId) completed, but run-level checks failed: \(s.runLevelFailures.joined(separator: "; "))")
            }
        }

        static func loadPolicy(_ path: String?) throws -> AuditPolicy {
            do {
                if let path {
                    guard FileManager.default.fileExists(atPath: path) else { throw CLIError.missing("policy file \(path) does not exist") }
                    return try AuditPolicy.load(path: path)
                }
                let conventional = "Policies/default.yaml"
                if FileManager.default.fileExists(atPath: conventional) { return try AuditPolicy.load(path: conventional) }
                return try ShippedPolicy.default.load()
            } catch let e as PolicyError {
                throw CLIError.badInput("\(e)")
            }
        }

        static func templatesFolder(_ path: String?) -> URL? {
            if let path { return URL(fileURLWithPath: path) }
            let conventional = URL(fileURLWithPath: "Reports/templates")
            return FileManager.default.fileExists(atPath: conventional.path) ? conventional : nil
        }

        static func defaultRunId() -> String {
            let f = DateFormatter()
            f.locale = Locale(identifier: "en_US_POSIX")
            f.timeZone = TimeZone(identifier: "UTC")
            f.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
            return "run-" + f.string(from: Date())
        }
    }
}

/// The human-readable closing summary of a run.
enum RunSummaryText {
    static func render(_ s: AuditRunJob.Summary) -> String {
        var lines = ["run \(s.runId) — study \(s.study): \(s.cases) cases assessed\(s.resumed ? " (resumed; \(s.assessedNow) this time)" : "")"]
        lines.append("  policy \(s.policyName) (sha256 \(s.policySha256.prefix(16))…)")
        lines.append("  model \(s.modelId.map { String($0.prefix(16)) + "…" } ?? "none (model stages not evaluated)"), calibrator \(s.calibrator ?? "none")")
        let order = ["report", "review", "second-review", "escalate", "abstain"]
        lines.append("  dispositions: " + order.compactMap { d in s.dispositions[d].map { "\(d) \($0)" } }.joined(separator: ", "))
        let fired = s.checksFired.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.prefix(5)
        if !fired.isEmpty { lines.append("  checks that decided most often: " + fired.map { "\($0.key) (\($0.value))" }.joined(separator: ", ")) }
        lines.append("  drift: " + (s.driftAlarm ? "ALARM" : s.driftValue.map { String(format: "martingale %.3g, no alarm", $0) } ?? "not monitored (no verified cases in this run)"))
        lines.append("  audit log: " + (s.logVerified == true ? "verified before the run" : s.logVerified == false ? "VERIFICATION FAILED" : "not checked")
                     + (s.checkpointSize.map { "; signed checkpoint at size \($0)" } ?? ""))
        for n in s.notes { lines.append("  note: \(n)") }
        lines.append("  reports: \(s.out) (run report: \(s.runReport))")
        return lines.joined(separator: "\n")
    }
}
