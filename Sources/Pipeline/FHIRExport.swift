import AuditLog
import CaseStore
import Digests
import Foundation
import Interop
import Policy
import Review

/// A completed run as a FHIR R4 `Bundle` for the hospital's record: every record it is built from
/// is checked against its attestation first, and only cases signed as often as their disposition asks
/// go out as `final` (the rest are left out, or sent as `preliminary` when asked for).
public struct FHIRExport {
    public enum ExportError: Error, CustomStringConvertible, Equatable {
        case runNotCompleted(String)
        case noModel(String)
        case caseNotInRun(caseId: String, runId: String)
        case unsigned(caseId: String, signatures: Int, required: Int)

        public var description: String {
            switch self {
            case .runNotCompleted(let r): "run \(r) has not completed; only a completed run can be exported"
            case .noModel(let r): "run \(r) names no model; a FHIR Device needs one"
            case .caseNotInRun(let c, let r): "case \(c) has no assessment in run \(r)"
            case .unsigned(let c, let n, let k):
                "case \(c) awaits sign-off (\(n) of \(k) signatures): its report is not final; pass --preliminary to send it as preliminary"
            }
        }
    }

    public struct Result {
        public var bundle: FHIR.Bundle
        public var exported: [String]
        /// Cases left out because they await sign-off (empty with `preliminary`).
        public var awaitingSignOff: [String]
    }

    /// Log actions that are a look at or a sign-off of a case (IHE BALP `AuditEvent`s).
    static let caseActions: Set<String> = ["review.open", "review.view", "review.view-report", "review.evidence-opened",
                                           "review.blind-read", "review.sign"]

    let store: CaseStore
    public init(store: CaseStore) { self.store = store }

    public func export(runId: String, caseId: String? = nil, preliminary: Bool = false) throws -> Result {
        try store.read { db in
            guard let run = try CaseStore.run(db, id: runId) else { throw CaseStoreError.notFound(kind: "run", id: runId) }
            try CaseStore.requireAttested(db, [.run(run.id)])
            guard run.status == .completed, let finished = run.finishedAt else { throw ExportError.runNotCompleted(runId) }
            guard let modelId = run.modelId else { throw ExportError.noModel(runId) }
            let model = try CaseStore.model(db, id: modelId)

            var records = try CaseStore.assessments(db, runId: run.id)
            if let caseId {
                records = records.filter { $0.caseId == caseId }
                guard !records.isEmpty else { throw ExportError.caseNotInRun(caseId: caseId, runId: runId) }
            }
            let signOffs = Dictionary(grouping: try CaseStore.signOffs(db, runId: run.id), by: \.caseId)
            let events = try Self.caseEvents(db, runId: run.id)

            var cases: [FHIRRunExport.Case] = [], left: [String] = []
            for record in records {
                try CaseStore.requireAttested(db, [.assessment(runId: run.id, caseId: record.caseId)])
                let a = try ReviewWorkflow.decodedAssessments.assessment(record)
                let signed = signOffs[record.caseId] ?? []
                try CaseStore.requireAttested(db, signed.compactMap { $0.id.map(RecordRef.signoff) })
                let signatures = try signed.map { s -> FHIRRunExport.Signature in
                    let o = try s.signed()
                    return FHIRRunExport.Signature(
                        reviewerId: o.reviewerId, printedName: o.printedName, meaning: o.meaning.rawValue, decision: o.decision.rawValue,
                        decidedClass: o.decidedClass, reasonCode: o.reasonCode, signedAt: o.signedAt, reportVersion: o.reportVersion,
                        reportSHA256: o.reportSha256, keyVersion: o.keyVersion, record: s.record, signature: s.signature)
                }
                guard let report = try CaseStore.latestReport(db, runId: run.id, caseId: record.caseId, format: .html) else {
                    throw CaseStoreError.notFound(kind: "report of case", id: record.caseId)
                }
                try CaseStore.requireAttested(db, [.report(runId: run.id, caseId: record.caseId, version: report.version, format: "html")])
                let subject = try CaseStore.caseRecord(db, id: record.caseId).subject
                // An abstention withholds the model's answer from the report; it is withheld from the record too.
                let withheld = a.disposition.kind == .abstain
                let e = withheld ? CaseEvidence() : a.evidence, p = a.provenance
                let c = FHIRRunExport.Case(
                    caseId: record.caseId, subject: subject, predictedClass: e.predictedClass, calibratedProbability: e.calibratedConfidence,
                    calibrator: p.calibrator, calibrationCount: e.conformalSet?.calibrationCount ?? p.calibrationCount,
                    predictionSet: e.conformalSet?.classes, alpha: e.conformalSet?.alpha ?? p.alpha,
                    claims: (e.claims ?? []).map { .init(againstClass: $0.againstClass, established: $0.established, eValue: $0.eValue, threshold: $0.threshold) },
                    disposition: a.disposition.kind.rawValue, dispositionSummary: a.disposition.summary,
                    reviewersRequired: a.disposition.reviewersRequired,
                    report: .init(version: report.version, sha256: report.sha256, createdAt: report.createdAt, html: report.content),
                    signatures: signatures, events: events[record.caseId] ?? [])
                if !c.isFinal && !preliminary {
                    if caseId != nil {
                        throw ExportError.unsigned(caseId: c.caseId, signatures: Set(signatures.map(\.reviewerId)).count, required: c.reviewersRequired)
                    }
                    left.append(c.caseId)
                    continue
                }
                cases.append(c)
            }
            let export = FHIRRunExport(
                run: .init(id: run.id, study: run.study, finishedAt: finished, modelId: modelId, modelArch: model.arch,
                           policyName: run.policyName, policySHA256: run.policySha256),
                cases: cases)
            return Result(bundle: export.bundle(), exported: cases.map(\.caseId), awaitingSignOff: left)
        }
    }

    /// An `export.fhir` event: what left for the hospital's record, by whom, as which bytes.
    public func logExport(_ result: Result, runId: String, file: String, bundleSHA256: String, actor: String, now: Date = Date()) throws {
        try store.change { db in
            try AuditLog.append(db, actor: actor, action: "export.fhir", subject: AuditSubject(type: "run", id: runId),
                                payload: ["run_id": runId, "file": file, "bundle_sha256": bundleSHA256,
                                          "cases": String(result.exported.count), "resources": String(result.bundle.entry.count),
                                          "awaiting_sign_off": String(result.awaitingSignOff.count)], time: now)
        }
    }

    /// The run's case events from the log, by case, in log order.
    static func caseEvents(_ db: StoreReader, runId: String) throws -> [String: [FHIRRunExport.Event]] {
        var byCase: [String: [FHIRRunExport.Event]] = [:]
        for event in try AuditLog.events(db) where caseActions.contains(event.action) && event.subject.type == "case" {
            guard let payload = try? JSONSerialization.jsonObject(with: Data(event.payload.utf8)) as? [String: Any],
                  payload["run_id"] as? String == runId else { continue }
            byCase[event.subject.id, default: []].append(FHIRRunExport.Event(
                seq: event.seq, time: event.time, actor: event.actor, action: event.action,
                address: payload["address"] as? String, leafHashHex: ContentHash.hex(event.leafHash)))
        }
        return byCase
    }
}
