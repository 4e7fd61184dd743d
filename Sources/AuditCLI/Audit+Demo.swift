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
            let r = try Audit.Run.parse(["--study", plan.study, "--split", "incoming", "--run-id", "demo-\(plan.study)",
                                         "--out", "\(runsFolder)/demo-\(plan.study)", "--operator", "demo",
                                         "--store", storePath, "--json"] + (quiet || json ? ["--quiet"] : [])
                                        + (templates.map { ["--templates", $0] } ?? []) + (logKey.map { ["--log-key", $0] } ?? []))
            summaries.append(try r.execute(try r.makeJob()))
        }
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
                """)
        }
        let failures = summaries.flatMap(\.runLevelFailures)
        if !failures.isEmpty { throw CLIError.checkFailed("demo runs completed, but run-level checks failed: \(failures.joined(separator: "; "))") }
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
