import AuditLog
// Storage SPI: these writes are still to move into record + event operations (issue 23).
import CaseStore
import Digests
import Foundation
import Policy
import Reports
import Review

/// Re-renders a completed run's report with the reviewer oversight figures that exist now. A changed
/// report becomes a new version (logged); an unchanged one is not stored twice.
public enum RunReportReissue {
    public static func reissue(store: CaseStore, runId: String, actor: String, templatesDirectory: URL? = nil) throws -> ReportRecord {
        let renderer = try templatesDirectory.map { try ReportRenderer.preferringFolder($0) } ?? ReportRenderer()
        return try store.change { db in
            guard let run = try CaseStore.run(db, id: runId) else { throw CaseStoreError.notFound(kind: "run", id: runId) }
            guard run.status == .completed else { throw CaseStoreError.invalid("run '\(runId)' has not completed; resume it with `audit run --run-id \(runId)` first") }
            let policy = try AuditPolicy.parse(run.policyText, source: "policy of run \(run.id)")
            let context = try RunContext.load(db, study: run.study, policy: policy, modelId: run.modelId)
            let regular = try regularAssessments(db, run: run)
            try CaseStore.requireAttested(db, [.run(run.id)] + regular.map { .assessment(runId: run.id, caseId: $0.caseId) })
            let replay = try EvidenceAssessor(context: context, renderer: renderer)
            try replay.resume(from: regular)
            let oversight = try ReviewWorkflow(store: store).statisticsInTransaction(db, runId: runId, rules: ReviewWorkflow.rules(policy))
            let model = try RunReportBuilder.model(db, run: run, assessments: regular, context: context,
                                                   driftPath: replay.driftPath, driftAlarm: replay.driftAlarm,
                                                   oversight: oversight.isEmpty ? nil : oversight)
            let html = Data(try renderer.renderRunHTML(model).utf8), xml = try XMLReportWriter.runXML(model)
            let latest = try CaseStore.latestReport(db, runId: runId, caseId: nil, format: .html)
            if let latest, latest.content == html { return latest }
            let record = try CaseStore.addReportVersion(db, runId: runId, caseId: nil, format: .html, content: html, sha256: ContentHash.sha256Hex(html))
            try CaseStore.addReportVersion(db, runId: runId, caseId: nil, format: .xml, content: xml, sha256: ContentHash.sha256Hex(xml))
            try AuditLog.append(db, actor: actor, action: "report.run.reissued", subject: AuditSubject(type: "run", id: runId),
                                payload: ["run_id": runId, "version": String(record.version), "report_html_sha256": record.sha256,
                                          "reason": "reviewer oversight figures"])
            return record
        }
    }

    /// The run's assessments without its catch trials (they belong to the review queue, not the run's figures).
    static func regularAssessments(_ db: StoreReader, run: RunRecord) throws -> [AssessmentRecord] {
        let planted = Set(try CaseStore.catchTrials(db).filter { $0.runId == run.id }.map(\.caseId))
        return try CaseStore.assessments(db, runId: run.id).filter { !planted.contains($0.caseId) }
    }
}
