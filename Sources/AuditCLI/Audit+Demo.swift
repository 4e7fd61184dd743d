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

    func run() async throws {
        let common = ["--store", storePath, "--quiet", "--actor", "demo"]
        var summaries: [AuditRunJob.Summary] = []
        for plan in Self.plans {
            let store = try CaseStore(path: storePath)
            let (hasStudy, model) = try store.read { db in
                (try Study.fetchOne(db, key: plan.study) != nil, try CaseStore.newestModel(db, study: plan.study)?.id)
            }
            if !hasStudy {
                step("generate the \(plan.study) cohort")
                var c = try Audit.Cohort.Generate.parse(["--study", plan.study] + plan.generate + common)
                try await c.run()
            }
            var modelId = model
            if modelId == nil {
                step("train a model for \(plan.study)")
                var t = try Audit.Train.parse(["--study", plan.study, "--split", "train", "--validation-split", "validation"] + plan.train + common)
                try await t.run()
                modelId = try store.read { db in try CaseStore.newestModel(db, study: plan.study)?.id }
                guard let id = modelId else { throw CLIError.missing("training registered no model for \(plan.study)") }
                step("calibrate it")
                var k = try Audit.Calibrate.parse(["--model", id, "--study", plan.study, "--split", "calibration"] + plan.calibrate + common)
                try await k.run()
                step("build the retrieval index")
                var i = try Audit.Index.Build.parse(["--model", id, "--study", plan.study] + common)
                try await i.run()
            }
            step("audit run over the incoming \(plan.study) cases (default policy)")
            var r = try Audit.Run.parse(["--study", plan.study, "--split", "incoming", "--run-id", "demo-\(plan.study)",
                                         "--out", "\(runsFolder)/demo-\(plan.study)", "--operator", "demo",
                                         "--store", storePath, "--json"] + (quiet ? ["--quiet"] : [])
                                        + (templates.map { ["--templates", $0] } ?? []) + (logKey.map { ["--log-key", $0] } ?? []))
            summaries.append(try r.execute(try r.makeJob()))
        }
        if json {
            try Console.json(["runs": summaries])
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

    func step(_ text: String) {
        if !quiet && !json { Console.err("demo: \(text)…") }
    }
}
