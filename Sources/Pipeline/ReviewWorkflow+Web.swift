import AuditLog
import CaseStore
import Foundation
import Policy
import Reports
import Review

/// What a reviewer at a workstation may see and do with one case, and the access events a web
/// front end must log. The rules stay here (blinding, who may sign); `ReviewServer` only renders.
extension ReviewWorkflow {
    /// One case as a reviewer may see it now. While the run's policy asks for a blind first read and
    /// this reviewer has not recorded one, the model's answer, probabilities, prediction set and the
    /// neighbours' labels are absent (not hidden: absent).
    public struct CaseView: Sendable {
        public var runId: String
        public var caseId: String
        public var disposition: String
        public var reviewersRequired: Int
        /// The answer is withheld until the blind read is recorded.
        public var blinded: Bool
        /// The evidence without any model output (only while blinded).
        public var blindedEvidence: BlindedEvidence?
        /// The full report model (nil while blinded).
        public var report: CaseReportModel?
        /// The newest report version (HTML).
        public var reportVersion: Int
        public var openedAt: Date
        public var blindReadClass: String?
        public var classes: [String]
        public var minSeconds: Double
        /// The policy's override reason codes (empty: free text).
        public var overrideReasons: [String]
        /// Who signed so far (reviewer id, meaning, decision).
        public var signatures: [Signature]
        /// Why this reviewer may not sign now (nil: they may, once the minimum time has passed).
        public var cannotSign: String?

        public struct Signature: Sendable {
            public var reviewerId: String
            public var printedName: String
            public var meaning: String
            public var decision: String
            public var signedAt: String
        }
    }

    /// The case page: opens the evidence the first time this reviewer looks (a review session and a
    /// `review.open` event, as `audit review open`), and logs every later look as `review.view`.
    public func caseView(caseId: String, runId: String, reviewer: String, address: String, now: Date = Date()) throws -> CaseView {
        if try store.read({ db in try CaseStore.latestSession(db, runId: runId, caseId: caseId, reviewerId: reviewer) }) == nil {
            _ = try open(caseId: caseId, runId: runId, reviewer: reviewer, now: now)
        }
        return try store.change { db in
            let (run, assessment, policy, model) = try Self.resolveWithModel(db, caseId: caseId, runId: runId)
            let who = try Self.activeReviewer(db, reviewer)
            guard let session = try CaseStore.latestSession(db, runId: run.id, caseId: caseId, reviewerId: who.id),
                  let opened = Timestamp.date(from: session.openedAt) else {
                throw ReviewError.notOpened(caseId: caseId, reviewer: who.id)
            }
            guard let latestVersion = try CaseStore.latestReportVersion(db, runId: run.id, caseId: caseId, format: .html) else {
                throw CaseStoreError.notFound(kind: "report of case", id: caseId)
            }
            let blinded = policy.review.blindFirstRead && session.blindReadClass == nil
            let signOffs = try CaseStore.signOffs(db, runId: run.id, caseId: caseId)
            if let id = session.id { try CaseStore.requireAttested(db, [.reviewSession(id)] + signOffs.compactMap { $0.id.map(RecordRef.signoff) }) }
            let signatures = try signOffs.map { s -> CaseView.Signature in
                let signed = try s.signed()
                return CaseView.Signature(reviewerId: signed.reviewerId, printedName: signed.printedName, meaning: signed.meaning.rawValue,
                                          decision: signed.decision.rawValue, signedAt: signed.signedAt)
            }
            let required = max(assessment.disposition.reviewersRequired, 1)
            var cannotSign: String?
            if !Self.awaiting.contains(assessment.disposition.kind.rawValue) {
                cannotSign = "this case's disposition (\(assessment.disposition.kind.rawValue)) needs no signature"
            } else if who.id == run.operatorId {
                cannotSign = "you operated this run and may not review it"
            } else if signatures.contains(where: { $0.reviewerId == who.id }) {
                cannotSign = "you have signed this case"
            } else if signatures.count >= required {
                cannotSign = "this case has the signatures it needs"
            }
            try AuditLog.append(db, actor: who.id, action: "review.view", subject: AuditSubject(type: "case", id: caseId),
                                payload: ["run_id": run.id, "case_id": caseId, "reviewer_id": who.id, "address": address,
                                          "blinded": String(blinded), "report_version": String(latestVersion)], time: now)
            return CaseView(
                runId: run.id, caseId: caseId, disposition: assessment.disposition.kind.rawValue, reviewersRequired: required,
                blinded: blinded, blindedEvidence: blinded ? Self.blindedEvidence(caseId: caseId, model) : nil,
                report: blinded ? nil : model, reportVersion: latestVersion, openedAt: opened,
                blindReadClass: session.blindReadClass,
                classes: Self.classes(of: model),
                minSeconds: policy.review.minSeconds, overrideReasons: policy.review.overrideReasons,
                signatures: signatures, cannotSign: cannotSign)
        }
    }

    /// The stored case report (newest version, or `version`) for a reviewer who opened the case —
    /// refused while their blind read is outstanding. Logged as `review.view-report`.
    public func reportDocument(caseId: String, runId: String, reviewer: String, version: Int?, address: String,
                               now: Date = Date()) throws -> (version: Int, html: Data) {
        try store.change { db in
            let (run, _, policy) = try Self.resolve(db, caseId: caseId, runId: runId)
            let who = try Self.activeReviewer(db, reviewer)
            guard let session = try CaseStore.latestSession(db, runId: run.id, caseId: caseId, reviewerId: who.id) else {
                throw ReviewError.notOpened(caseId: caseId, reviewer: who.id)
            }
            if policy.review.blindFirstRead && session.blindReadClass == nil { throw ReviewError.blindReadMissing(caseId: caseId) }
            let found = try version.map { try CaseStore.report(db, runId: run.id, caseId: caseId, version: $0, format: .html) }
                ?? CaseStore.latestReport(db, runId: run.id, caseId: caseId, format: .html)
            guard let report = found else { throw CaseStoreError.notFound(kind: "report version of case", id: caseId) }
            try CaseStore.requireAttested(db, [.report(runId: run.id, caseId: caseId, version: report.version, format: "html")])
            try AuditLog.append(db, actor: who.id, action: "review.view-report", subject: AuditSubject(type: "case", id: caseId),
                                payload: ["run_id": run.id, "case_id": caseId, "reviewer_id": who.id, "address": address,
                                          "report_version": String(report.version), "report_sha256": report.sha256], time: now)
            return (report.version, report.content)
        }
    }

    /// The newest HTML run report of a run, for the oversight page's governance and auditors; logged
    /// as `review.view-run-report` (who, which bytes, from where). Only a report the log vouches for is served.
    public func runReportDocument(runId: String, viewer: String, address: String, now: Date = Date()) throws -> (version: Int, html: Data) {
        try store.change { db in
            guard let run = try CaseStore.run(db, id: runId) else { throw CaseStoreError.notFound(kind: "run", id: runId) }
            try CaseStore.requireAttested(db, [.run(run.id)])
            let who = try Self.activeReviewer(db, viewer)
            guard let report = try CaseStore.latestReport(db, runId: run.id, caseId: nil, format: .html) else {
                throw CaseStoreError.notFound(kind: "run report of run", id: run.id)
            }
            try CaseStore.requireAttested(db, [.report(runId: run.id, caseId: nil, version: report.version, format: "html")])
            try AuditLog.append(db, actor: who.id, action: "review.view-run-report", subject: AuditSubject(type: "run", id: run.id),
                                payload: ["run_id": run.id, "viewer_id": who.id, "address": address,
                                          "report_version": String(report.version), "report_sha256": report.sha256], time: now)
            return (report.version, report.content)
        }
    }

    /// A reviewer expanded part of the evidence (the scans or the neighbours): a `review.evidence-opened` event.
    public func evidenceOpened(caseId: String, runId: String, reviewer: String, part: String, address: String, now: Date = Date()) throws {
        try store.change { db in
            let (run, _, _) = try Self.resolve(db, caseId: caseId, runId: runId)
            let who = try Self.activeReviewer(db, reviewer)
            try AuditLog.append(db, actor: who.id, action: "review.evidence-opened", subject: AuditSubject(type: "case", id: caseId),
                                payload: ["run_id": run.id, "case_id": caseId, "reviewer_id": who.id, "part": part, "address": address],
                                time: now)
        }
    }

    /// Sign-in, failed sign-in, lock-out and sign-out of a web session: who, what, when, from where.
    public func logAccess(action: String, reviewer: String, address: String, details: [String: String] = [:], now: Date = Date()) throws {
        try store.change { db in
            var payload = details
            payload["reviewer_id"] = reviewer
            payload["address"] = address
            try AuditLog.append(db, actor: reviewer, action: action, subject: AuditSubject(type: "reviewer", id: reviewer),
                                payload: payload, time: now)
        }
    }

    /// The evidence without the model's answer or the neighbours' labels.
    static func blindedEvidence(caseId: String, _ model: CaseReportModel) -> BlindedEvidence {
        BlindedEvidence(caseId: caseId, classes: Self.classes(of: model),
                        scans: model.scans?.scans.map { "scan \($0.index): \($0.takenAt) — \($0.acquisition)" } ?? [],
                        neighbours: (model.neighbours?.neighbours ?? []).map {
                            BlindedNeighbour(caseId: $0.caseId, distance: $0.distance, verifiedBy: $0.verifiedBy)
                        })
    }
}

extension ReviewerRegistry {
    /// Checks a reviewer's passphrase by unsealing their current key (the key file beside the store):
    /// the same secret that signs, so a web sign-in proves what a signature proves.
    public func authenticate(id: String, passphrase: String, storePath: String) throws -> ReviewerRecord {
        let (reviewer, keyRecord) = try store.read { db -> (ReviewerRecord, ReviewerKeyRecord) in
            guard let r = try CaseStore.reviewer(db, id: id) else { throw ReviewError.reviewerUnknown(id) }
            guard r.active else { throw ReviewError.reviewerInactive(id) }
            guard let key = try CaseStore.reviewerKeys(db, reviewerId: id).last(where: { $0.retiredAt == nil }) else {
                throw ReviewError.keyFileInvalid("reviewer '\(id)' has no current key")
            }
            try CaseStore.requireAttested(db, [.reviewer(id), .reviewerKey(reviewerId: id, version: key.version)])
            return (r, key)
        }
        let url = Self.defaultKeyFile(storePath: storePath, reviewerId: id, version: keyRecord.version)
        let file = try ReviewerKeyFile.read(from: url)
        guard file.reviewerId == id, file.keyVersion == keyRecord.version, file.publicKey == keyRecord.publicKey else {
            throw ReviewError.keyFileInvalid("\(url.path) is not the current key of reviewer '\(id)'")
        }
        _ = try file.unlock(passphrase: passphrase)
        return reviewer
    }
}

extension ReviewWorkflow {
    /// Review times in seconds per reviewer, for the oversight page's distributions.
    public func reviewTimes() throws -> [String: [Double]] {
        try store.read { db in Dictionary(grouping: try Self.observations(db, runId: nil), by: \.reviewerId).mapValues { $0.map(\.seconds) } }
    }

    /// One run as governance sees it.
    public struct RunOverview: Sendable {
        public var id: String
        public var study: String
        public var status: String
        public var finishedAt: String?
        public var cases: Int
        public var dispositions: [String: Int]
    }

    public func runsOverview() throws -> [RunOverview] {
        try store.read { db in
            try CaseStore.runs(db).map { run in
                let all = try CaseStore.assessments(db, runId: run.id)
                return RunOverview(id: run.id, study: run.study, status: run.status.rawValue, finishedAt: run.finishedAt,
                                   cases: all.count, dispositions: Dictionary(grouping: all, by: \.disposition).mapValues(\.count))
            }
        }
    }

    /// The log's verification and its newest checkpoint (size, root hash hex).
    public func logStatus() throws -> (report: LogVerificationReport, checkpoint: (size: Int, root: String)?) {
        let report = try LogJob(store: store).verify(publicKeyFile: nil, checkpointFile: nil)
        let cp = try store.read { db in try AuditLog.latestCheckpoint(db) }
        return (report, cp.map { ($0.treeSize, $0.rootHash.map { String(format: "%02x", $0) }.joined()) })
    }
}

extension ReviewWorkflow {
    /// How much of the evidence each reviewer looked at, counted from the log's events: cases opened
    /// (`review.open`), later looks at a case (`review.view`), report views, expansions of the scans or
    /// neighbours (`review.evidence-opened`) and signatures — beside the review times, what tells a
    /// governance team whether signatures follow reading.
    public struct EvidenceUse: Codable, Sendable, Equatable {
        public var reviewerId: String
        public var casesOpened: Int
        public var caseViews: Int
        public var reportViews: Int
        public var evidenceExpanded: Int
        public var signatures: Int
        enum CodingKeys: String, CodingKey {
            case reviewerId = "reviewer_id", casesOpened = "cases_opened", caseViews = "case_views", reportViews = "report_views"
            case evidenceExpanded = "evidence_expanded", signatures
        }
    }

    public func evidenceUse() throws -> [EvidenceUse] {
        let counted: [String: WritableKeyPath<EvidenceUse, Int>] = [
            "review.open": \.casesOpened, "review.view": \.caseViews, "review.view-report": \.reportViews,
            "review.evidence-opened": \.evidenceExpanded, "review.sign": \.signatures,
        ]
        var byReviewer: [String: EvidenceUse] = [:]
        for event in try store.read({ db in try AuditLog.events(db) }) {
            guard let path = counted[event.action] else { continue }
            byReviewer[event.actor, default: EvidenceUse(reviewerId: event.actor, casesOpened: 0, caseViews: 0, reportViews: 0,
                                                          evidenceExpanded: 0, signatures: 0)][keyPath: path] += 1
        }
        return byReviewer.values.sorted { $0.reviewerId < $1.reviewerId }
    }
}
