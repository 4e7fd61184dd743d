import AuditLog
import CaseStore
import Foundation
import Policy
import Reports
import Retrieval

/// `audit run` as a library call: resolve the cases, the model and the policy, load the run context,
/// drive the runner, and return the closing summary.
public struct AuditRunJob {
    public typealias Metric = DistanceMetric

    /// Opens the store's log signing key (default `<store>.logkey`), creating and registering one
    /// for a store that has none; what `logSigner` is given by the CLI.
    public static func logSigner(for store: CaseStore, keyPath: String?, actor: String) -> () throws -> LogSigner {
        { try LogSigner.openOrCreate(for: store, keyPath: keyPath, actor: actor) }
    }

    public enum Selection: Sendable, Equatable {
        case split(Split)
        case cases([String])
    }

    public var store: CaseStore
    public var policy: AuditPolicy
    public var study: String
    public var selection: Selection
    public var modelId: String?
    public var outDirectory: URL
    public var runId: String
    public var operatorId: String
    public var k: Int
    public var metric: DistanceMetric
    /// Folder of report templates to prefer over the built-in ones.
    public var templatesDirectory: URL?
    /// Opens (or creates and registers) the log signing key; called only once the run's inputs have
    /// resolved, so a refused run writes nothing.
    public var logSigner: (() throws -> LogSigner)?
    /// How the runner groups and overlaps cases (tests compare settings; the outcome never depends on it).
    var batching = AuditRunner.Batching()

    public init(store: CaseStore, policy: AuditPolicy, study: String, selection: Selection, modelId: String?,
                outDirectory: URL, runId: String, operatorId: String, k: Int = 10, metric: DistanceMetric = .euclidean,
                templatesDirectory: URL? = nil, logSigner: (() throws -> LogSigner)? = nil) {
        self.store = store; self.policy = policy; self.study = study; self.selection = selection
        self.modelId = modelId; self.outDirectory = outDirectory; self.runId = runId; self.operatorId = operatorId
        self.k = k; self.metric = metric; self.templatesDirectory = templatesDirectory; self.logSigner = logSigner
    }

    /// The closing summary of a run.
    public struct Summary: Sendable, Encodable {
        public var runId: String
        public var study: String
        public var cases: Int
        public var assessedNow: Int
        public var resumed: Bool
        public var dispositions: [String: Int]
        public var checksFired: [String: Int]
        public var out: String
        public var runReport: String
        public var policyName: String
        public var policySha256: String
        public var modelId: String?
        public var calibrator: String?
        public var driftAlarm: Bool
        public var driftValue: Double?
        public var logVerified: Bool?
        public var checkpointSize: Int?
        public var notes: [String]
        /// Run-level checks that failed (exit status 1).
        public var runLevelFailures: [String]

        enum CodingKeys: String, CodingKey {
            case runId = "run_id", study, cases, assessedNow = "assessed_now", resumed, dispositions
            case checksFired = "checks_fired", out, runReport = "run_report", policyName = "policy_name"
            case policySha256 = "policy_sha256", modelId = "model_id", calibrator, driftAlarm = "drift_alarm"
            case driftValue = "drift_value", logVerified = "log_verified", checkpointSize = "checkpoint_size"
            case notes, runLevelFailures = "run_level_failures"
        }
    }

    public func execute(progress: (Int, Int) -> Void = { _, _ in }) throws -> Summary {
        let (caseIds, model, context) = try store.read { db -> ([String], String?, RunContext) in
            _ = try CaseStore.study(db, named: study)
            let ids: [String]
            switch selection {
            case .split(let s): ids = try CaseStore.cases(db, study: study, split: s).map(\.id)
            case .cases(let list):
                for id in list {
                    let c = try CaseStore.caseRecord(db, id: id)
                    guard c.study == study else { throw CaseStoreError.invalid("case '\(id)' belongs to study \(c.study), not \(study)") }
                }
                ids = list
            }
            let model = try modelId.map { try CaseStore.resolveModelId(db, $0) } ?? CaseStore.newestModel(db, study: study)?.id
            // A resumed run measures ages against its own start, not the time of the resume.
            let reference = try CaseStore.run(db, id: runId).flatMap { Timestamp.date(from: $0.startedAt) } ?? Date()
            var context = try RunContext.load(db, study: study, policy: policy, modelId: model, k: k, metric: metric, now: reference)
            context.logVerified = try AuditLog.verify(db).ok
            return (ids, model, context)
        }
        let renderer = try templatesDirectory.map { try ReportRenderer.preferringFolder($0) } ?? ReportRenderer()
        let assessor = try EvidenceAssessor(context: context, renderer: renderer)
        var parameters = ["k": String(k), "metric": metric.rawValue, "study": study]
        switch selection {
        case .split(let s): parameters["split"] = s.rawValue
        case .cases: parameters["selection"] = "cases"
        }
        let request = RunRequest(runId: runId, study: study, caseIds: caseIds, modelId: model,
                                 calibratorId: context.calibration?.record.id, policyName: policy.name,
                                 policySha256: policy.sha256, policyText: policy.text, operatorId: operatorId,
                                 parameters: parameters)
        let runner = AuditRunner(store: store, logSigner: try logSigner?())
        runner.batching = batching
        let outcome = try runner.execute(request, assessor: assessor, outDirectory: outDirectory, runReport: { db, run, assessments in
            let model = try RunReportBuilder.model(db, run: run, assessments: assessments, context: context,
                                                   driftPath: assessor.driftPath, driftAlarm: assessor.driftAlarm)
            return (Data(try renderer.renderRunHTML(model).utf8), try XMLReportWriter.runXML(model))
        }, catchTrials: { db, regular in
            try CatchTrialPlanter(assessor: assessor, renderer: renderer, policy: policy)
                .plant(db, runId: runId, study: study, regular: regular)
        }, progress: progress)

        // The closing checkpoint goes to the policy's witness folder once the run is committed (a
        // witness must never hold a checkpoint the store does not).
        var notes = context.notes
        if let folder = policy.auditLog.witnessFolder {
            if let size = outcome.checkpointSize,
               let checkpoint = try store.read({ db in try AuditLog.checkpoint(db, treeSize: size) }) {
                try WitnessFolder(folder).append(checkpoint)
                notes.append("closing checkpoint (size \(size)) appended to the witness folder \(folder)")
            } else {
                notes.append("the policy names the witness folder \(folder), but this run signed no checkpoint, so nothing was witnessed")
            }
        }
        var failures: [String] = []
        if assessor.driftAlarm { failures.append("drift alarm: exchangeability martingale crossed \(Int(1 / EvidenceAssessor.driftDelta))") }
        if context.logVerified == false { failures.append("audit log verification failed before the run") }
        if let cal = context.calibration, cal.record.modelId != model { failures.append("calibrator \(cal.label) was fitted for another model") }
        return Summary(runId: runId, study: study, cases: outcome.cases, assessedNow: outcome.assessedNow, resumed: outcome.resumed,
                       dispositions: outcome.dispositions, checksFired: outcome.checksFired, out: outDirectory.path,
                       runReport: outcome.runReportHTML.path, policyName: policy.name, policySha256: policy.sha256,
                       modelId: model, calibrator: context.calibration?.label, driftAlarm: assessor.driftAlarm,
                       driftValue: assessor.driftPath.last, logVerified: context.logVerified,
                       checkpointSize: outcome.checkpointSize, notes: notes, runLevelFailures: failures)
    }
}
