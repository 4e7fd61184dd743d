import ArgumentParser
import CaseStore
import Foundation
import Pipeline

/// `audit run --demo`: the embedded default. It is exactly the documented commands, run in order on a
/// demo store in ./countersign-demo — generate two synthetic cohorts, train a small model per study,
/// calibrate, build the retrieval index — then `audit run` over each study's incoming cases with the
/// default policy. Steps already done (the store exists, a model is registered, a run completed) are
/// not repeated, so running it again only prints where to look.
struct DemoScript {
    static let defaultStorePath = "countersign-demo/demo.sqlite"
    static let defaultRunsFolder = "countersign-demo/runs"

    struct StudyPlan {
        var study: String
        var generate: [String]
        var train: [String]
        var calibrate: [String]
    }

    static let plans: [StudyPlan] = [
        StudyPlan(study: "lesion",
                  generate: ["lesion", "--cases", "1500", "--seed", "7", "--rho", "0.3", "--separation", "3.5",
                             "--splits", "train=0.4,validation=0.1,calibration=0.3,reference=0.1,test=0.05,incoming=0.05"],
                  train: ["--arch", "gru", "--hidden", "32", "--epochs", "20", "--seed", "1"],
                  calibrate: ["--method", "temperature", "--alpha", "0.1", "--mondrian", "--score", "aps", "--randomized",
                              "--evaluate-split", "test"]),
        StudyPlan(study: "lineage",
                  generate: ["lineage", "--cases", "600", "--seed", "11"],
                  train: ["--arch", "lstm", "--hidden", "32", "--epochs", "20", "--seed", "1"],
                  calibrate: ["--method", "temperature", "--alpha", "0.1", "--mondrian", "--score", "aps", "--randomized",
                              "--evaluate-split", "test"]),
    ]

    /// The monitoring continuation: outcomes for the first lesion run, then a second lesion batch that
    /// drifts by design — referrals from another clinic, where malignant lesions are three times as
    /// common (10% → 30%) and lesions are less distinct (separation 3.5 → 1.5: earlier, subtler lesions,
    /// scanned with more measurement noise) — assessed by the same model and calibrator, outcomes
    /// for 60% of it, and `audit monitor --by run` over both (docs/cohorts.md).
    static let driftBatch = ["lesion", "--batch", "referral", "--cases", "200", "--seed", "8", "--rho", "0.3", "--separation", "1.2",
                             "--prevalence", "0.4", "--noise", "0.3", "--splits", "incoming=1"]
    static let driftRunId = "demo-lesion-2"
    static let driftCasePrefix = "lesion-referral-"
    static let driftOutcomeShare = 0.6

    /// The demo store (created when missing) and the folder that holds its runs' reports.
    let storePath: String
    let runsFolder: String
    let templates: String?
    let logKey: String?
    let quiet: Bool
    let json: Bool

    /// One step the demo ran now (steps already done are not repeated and not listed).
    struct StepRecord {
        var study: String
        var step: String
        var output: Any
    }

    func run() async throws {
        let common = ["--store", storePath, "--quiet", "--actor", "demo"] + (json ? ["--json"] : [])
        var summaries: [AuditRunJob.Summary] = []
        var steps: [StepRecord] = []
        func perform(_ study: String, _ name: String, _ body: () async throws -> Void) async throws {
            step(name)
            guard json else { return try await body() }
            let capture = OutputCapture()
            try await Console.$capture.withValue(capture) { try await body() }
            steps.append(StepRecord(study: study, step: name, output: ModelJSON.parse(capture.text)))
        }
        for plan in Self.plans {
            let store = try CaseStore(path: storePath)
            let (hasStudy, model) = try store.read { db in
                (try CaseStore.existingStudy(db, named: plan.study) != nil, try CaseStore.newestModel(db, study: plan.study)?.id)
            }
            if !hasStudy {
                try await perform(plan.study, "generate the \(plan.study) cohort") {
                    let c = try Audit.Cohort.Generate.parse(["--study", plan.study] + plan.generate + common)
                    try c.run()
                }
            }
            var modelId = model
            if modelId == nil {
                try await perform(plan.study, "train a model for \(plan.study)") {
                    let t = try Audit.Train.parse(["--study", plan.study, "--split", "train", "--validation-split", "validation"] + plan.train + common)
                    try await t.run()
                }
                modelId = try store.read { db in try CaseStore.newestModel(db, study: plan.study)?.id }
                guard let id = modelId else { throw CLIError.missing("training registered no model for \(plan.study)") }
                try await perform(plan.study, "calibrate it") {
                    let k = try Audit.Calibrate.parse(["--model", id, "--study", plan.study, "--split", "calibration"] + plan.calibrate + common)
                    try await k.run()
                }
                try await perform(plan.study, "build the retrieval index") {
                    let i = try Audit.Index.Build.parse(["--model", id, "--study", plan.study] + common)
                    try await i.run()
                }
            }
            step("audit run over the incoming \(plan.study) cases (default policy)")
            // The cohort's own incoming cases, named: the drifted batch joins the incoming split later, and a
            // resumed run must select exactly what it first selected.
            let selection: [String]
            if plan.study == "lesion" {
                let ids = try store.read { db in try CaseStore.cases(db, study: plan.study, split: .incoming).map(\.id) }
                selection = ["--cases", ids.filter { !$0.hasPrefix(Self.driftCasePrefix) }.joined(separator: ",")]
            } else {
                selection = ["--split", "incoming"]
            }
            let r = try Audit.Run.parse(["--study", plan.study] + selection + ["--run-id", "demo-\(plan.study)",
                                         "--out", "\(runsFolder)/demo-\(plan.study)", "--operator", "demo",
                                         "--store", storePath, "--json"] + (quiet || json ? ["--quiet"] : [])
                                        + (templates.map { ["--templates", $0] } ?? []) + (logKey.map { ["--log-key", $0] } ?? []))
            summaries.append(try r.execute(try r.makeJob()))
        }
        let monitoring = try await monitoringContinuation(common: common, summaries: &summaries, perform: perform)
        if json {
            var runs = try JSONSerialization.jsonObject(with: JSONEncoder().encode(summaries)) as? [[String: Any]] ?? []
            for i in runs.indices { runs[i]["case_reports"] = try caseReports(summaries[i]) }
            let document: [String: Any] = [
                "store": storePath, "runs_folder": runsFolder, "runs": runs,
                "steps": steps.map { ["study": $0.study, "step": $0.step, "output": $0.output] },
            ]
            try ModelJSON.printObject(document)
        } else {
            for s in summaries { Console.out(RunSummaryText.render(s)) }
            Console.out("""

                Where to look:
                  open \(runsFolder)/demo-lesion/run.html    (run report: calibration, dispositions, flagged cases)
                  open \(runsFolder)/demo-lesion/cases/       (one HTML and one XML report per case)
                  audit log verify --store \(storePath)         (the tamper-evident log)
                  audit review queue --store \(storePath)       (cases waiting for a clinician)
                  open \(monitoringFolder)/monitor-lesion.html   (monitoring across both lesion runs: the drift and its alerts)
                  audit monitor --study lesion --by run --store \(storePath)
                """)
        }
        if let monitoring, !json { Console.out(monitoring) }
        let failures = summaries.flatMap(\.runLevelFailures)
        if !failures.isEmpty { throw CLIError.checkFailed("demo runs completed, but run-level checks failed: \(failures.joined(separator: "; "))") }
    }

    var monitoringFolder: String { (runsFolder as NSString).deletingLastPathComponent.isEmpty ? "monitoring"
        : (runsFolder as NSString).deletingLastPathComponent + "/monitoring" }

    /// After the lesion run: its outcomes, the drifted batch, its run, part of its outcomes, then
    /// `audit monitor`. Done once (when the second run is missing); returns a line on the alert.
    func monitoringContinuation(common: [String], summaries: inout [AuditRunJob.Summary],
                                perform: (String, String, () async throws -> Void) async throws -> Void) async throws -> String? {
        let store = try CaseStore(path: storePath)
        // Done before: only the second run's summary (a resumed, complete run repeats nothing).
        let done = try store.read({ db in try CaseStore.run(db, id: Self.driftRunId) })?.status == .completed
        guard let plan = Self.plans.first(where: { $0.study == "lesion" }) else { return nil }
        let outcomesFolder = ((runsFolder as NSString).deletingLastPathComponent as NSString).appendingPathComponent("outcomes")
        try FileManager.default.createDirectory(atPath: outcomesFolder, withIntermediateDirectories: true)
        /// The synthetic truth of a cohort's incoming cases, as an outcomes CSV (the stand-in for biopsy results).
        func writeOutcomes(_ generate: [String], share: Double, name: String) throws -> String {
            let cohort = try Audit.Cohort.Generate.parse(["--study", "lesion"] + generate).makeCohort()
            let incoming = cohort.cases.filter { $0.split == .incoming }.sorted { $0.id < $1.id }
            let chosen = incoming.prefix(Int((Double(incoming.count) * share).rounded()))
            var csv = "case_id,label,verified_by,source\n"
            for c in chosen { csv += "\(c.id),\(c.trueLabel),demo pathology (synthetic truth),biopsy\n" }
            let path = (outcomesFolder as NSString).appendingPathComponent(name)
            try csv.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        if !done { try await perform("lesion", "record the biopsy outcomes of the demo-lesion cases") {
            let path = try writeOutcomes(plan.generate, share: 1, name: "demo-lesion.csv")
            try Audit.Cases.Verify.parse(["--csv", path] + common).run()
        } }
        let batchExists = try store.read { db in try CaseStore.cases(db, study: "lesion", split: .incoming).contains { $0.id.hasPrefix(Self.driftCasePrefix) } }
        if !batchExists {
            try await perform("lesion", "generate a second lesion batch that drifts (referral clinic)") {
                try Audit.Cohort.Generate.parse(["--study", "lesion"] + Self.driftBatch + common).run()
            }
        }
        let ids = try store.read { db in try CaseStore.cases(db, study: "lesion", split: .incoming).map(\.id).filter { $0.hasPrefix(Self.driftCasePrefix) } }
        if !done { step("audit run over the second lesion batch (same model, calibrator and policy)") }
        let r = try Audit.Run.parse(["--study", "lesion", "--cases", ids.joined(separator: ","), "--run-id", Self.driftRunId,
                                     "--out", "\(runsFolder)/\(Self.driftRunId)", "--operator", "demo", "--store", storePath, "--json"]
                                    + (quiet || json ? ["--quiet"] : []) + (templates.map { ["--templates", $0] } ?? []) + (logKey.map { ["--log-key", $0] } ?? []))
        summaries.append(try r.execute(try r.makeJob()))
        if done { return nil }
        try await perform("lesion", "record the outcomes that have arrived for \(Int(Self.driftOutcomeShare * 100))% of the second batch") {
            let path = try writeOutcomes(Self.driftBatch, share: Self.driftOutcomeShare, name: "\(Self.driftRunId).csv")
            try Audit.Cases.Verify.parse(["--csv", path] + common).run()
        }
        var alert: String?
        try await perform("lesion", "audit monitor --study lesion --by run") {
            do {
                try Audit.Monitor.parse(["--study", "lesion", "--by", "run", "--out", monitoringFolder, "--store", storePath, "--actor", "demo"]
                                        + (json ? ["--json"] : [])).run()
            } catch CLIError.checkFailed(let message) {
                alert = "monitoring: \(message) — expected: the second batch drifts by design (see README, \"Monitoring after deployment\")"
            }
        }
        return alert
    }

    /// Per case of a run (catch trials aside): its disposition and the paths of its newest HTML and XML report.
    func caseReports(_ summary: AuditRunJob.Summary) throws -> [[String: Any]] {
        try CaseStore(path: storePath).read { db in
            // Catch trials stay unmarked outside `catch_trials`, and the run's counts leave them out.
            try CaseStore.assessments(db, runId: summary.runId).filter {
                try CaseStore.catchTrial(db, runId: summary.runId, caseId: $0.caseId) == nil
            }.map { a in
                var entry: [String: Any] = ["case_id": a.caseId, "disposition": a.disposition]
                for format in [ReportRecord.Format.html, .xml] {
                    if let r = try CaseStore.latestReport(db, runId: summary.runId, caseId: a.caseId, format: format) {
                        entry[format.rawValue] = summary.out + "/" + ReportFileName.relativePath(caseId: a.caseId, version: r.version,
                                                                                               format: format.rawValue)
                    }
                }
                return entry
            }
        }
    }

    func step(_ text: String) {
        if !quiet && !json { Console.err("demo: \(text)…") }
    }
}
