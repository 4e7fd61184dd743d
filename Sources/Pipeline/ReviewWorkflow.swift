import AuditLog
// Storage SPI: these writes are still to move into record + event operations (issue 23).
import CaseStore
import Digests
import Foundation
import Policy
import Reports
import Review

/// The sign-off workflow over stored assessments: queue, open (blinded when the policy asks), blind
/// read, sign, verify, oversight figures. Every step is stored and logged in one transaction; a
/// refused step changes nothing.
public struct ReviewWorkflow: Sendable {
    public let store: CaseStore
    /// The waiting cases as last derived and checked (see `ReviewQueueCache`).
    let queueCache: ReviewQueueCache

    /// A workflow over `store`; one that serves many requests (the web app) keeps one `queueCache`.
    public init(store: CaseStore, queueCache: ReviewQueueCache = ReviewQueueCache()) {
        self.store = store
        self.queueCache = queueCache
    }

    /// One case waiting for a signature.
    public struct QueueItem: Codable, Sendable, Equatable {
        public var caseId: String
        public var runId: String
        public var disposition: String
        public var reviewersRequired: Int
        public var signatures: Int
        /// When the case started waiting: its run's finish time.
        public var waitingSince: String?
        enum CodingKeys: String, CodingKey {
            case caseId = "case_id", runId = "run_id", disposition, reviewersRequired = "reviewers_required", signatures
            case waitingSince = "waiting_since"
        }
    }

    static let awaiting: Set<String> = ["review", "second-review", "escalate"]

    /// Cases whose disposition needs people and that lack signatures; for a reviewer, without the cases
    /// they already signed or whose run they operated.
    public func queue(reviewer: String? = nil) throws -> [QueueItem] {
        var items: [QueueItem] = []
        for run in try waiting().runs where reviewer == nil || reviewer != run.operatorId {
            for w in run.cases where reviewer == nil || !w.signers.contains(reviewer!) { items.append(w.item) }
        }
        return items
    }

    /// The waiting cases, from the cache while its stamp holds; only this holds the store's connection,
    /// a reviewer's view of them is computed outside.
    func waiting() throws -> ReviewQueueCache.Entry {
        try store.read { db in try queueCache.waiting(db) { try Self.waitingCases(db) } }
    }

    /// A reviewer's worklist: the counts over every case waiting for them, and the first `limit` of
    /// those matching the filters, most urgent first.
    public struct Worklist: Sendable {
        public var total: Int
        public var counts: [String: Int]
        /// The runs that have cases waiting for this reviewer.
        public var runs: [String]
        /// Cases matching the filters (the items are the first `limit` of them).
        public var matching: Int
        public var items: [QueueItem]
    }

    /// The worklist of `reviewer` (the queue without the cases they signed or whose run they operated),
    /// most urgent first: escalate, second review, review; then the longest waiting; the queue's keyed
    /// order breaks ties, so a planted catch trial's place gives nothing away.
    public func worklist(reviewer: String, run: String? = nil, disposition: String? = nil, limit: Int) throws -> Worklist {
        let waiting = try waiting()
        let limit = max(limit, 0)
        var counts: [String: [String: Int]] = [:]
        for (runId, byDisposition) in waiting.counts where waiting.operators[runId] != reviewer { counts[runId] = byDisposition }
        for item in waiting.signedBy[reviewer] ?? [] where counts[item.runId] != nil { counts[item.runId]![item.disposition]! -= 1 }
        var list = Worklist(total: 0, counts: [:], runs: [], matching: 0, items: [])
        for (runId, byDisposition) in counts {
            for (d, n) in byDisposition where n > 0 {
                list.total += n
                list.counts[d, default: 0] += n
                if run == nil || runId == run, disposition == nil || d == disposition { list.matching += n }
            }
        }
        list.runs = counts.filter { $0.value.values.contains { $0 > 0 } }.keys.sorted()
        guard list.matching > 0, limit > 0 else { return list }
        for w in waiting.mostUrgentFirst where w.operatorId != reviewer && !w.signers.contains(reviewer) {
            guard run == nil || w.item.runId == run, disposition == nil || w.item.disposition == disposition else { continue }
            list.items.append(w.item)
            if list.items.count >= min(limit, list.matching) { break }
        }
        return list
    }

    static let urgency = ["escalate": 0, "second-review": 1, "review": 2]

    static func mostUrgentFirst(_ runs: [WaitingRun]) -> [ReviewQueueCache.Entry.Waiting] {
        let all = runs.flatMap { run in run.cases.map { (item: $0.item, signers: $0.signers, operatorId: run.operatorId) } }
        return all.enumerated().sorted { a, b in
            let ua = urgency[a.element.item.disposition] ?? 3, ub = urgency[b.element.item.disposition] ?? 3
            if ua != ub { return ua < ub }
            let wa = a.element.item.waitingSince ?? "", wb = b.element.item.waitingSince ?? ""
            if wa != wb { return wa < wb }
            return a.offset < b.offset
        }.map(\.element)
    }

    /// A completed run's cases that still lack signatures, in the queue's order.
    struct WaitingRun: Sendable {
        var operatorId: String
        var cases: [(item: QueueItem, signers: [String])]
    }

    /// Every waiting case of every completed run, checked against its attestation.
    static func waitingCases(_ db: StoreReader) throws -> [WaitingRun] {
        var runs: [WaitingRun] = []
        for run in try CaseStore.runs(db) where run.status == .completed {
            let signed = Dictionary(grouping: try CaseStore.signOffs(db, runId: run.id), by: \.caseId)
            var runItems: [(item: QueueItem, signers: [String])] = []
            let all = try CaseStore.assessments(db, runId: run.id)
            // Built from attested dispositions only — every one, so that a case rewritten out of the
            // queue is caught too: a rewritten assessment or sign-off stops the queue.
            try CaseStore.requireAttested(db, [.run(run.id)] + all.map { .assessment(runId: run.id, caseId: $0.caseId) }
                                              + (signed.values.joined().compactMap { $0.id.map(RecordRef.signoff) }))
            for a in all where Self.awaiting.contains(a.disposition) {
                let required = try AssessmentSummary.decode(a.assessment).disposition.reviewersRequired
                let signers = signed[a.caseId]?.map(\.reviewerId) ?? []
                guard signers.count < max(required, 1) else { continue }
                runItems.append((QueueItem(caseId: a.caseId, runId: run.id, disposition: a.disposition,
                                           reviewersRequired: max(required, 1), signatures: signers.count,
                                           waitingSince: run.finishedAt), signers))
            }
            // A keyed order rather than assessment order: planted catch trials are assessed last,
            // and their place in the queue must not give them away.
            let keyed = runItems.map { (key: (CatchTrials.uniform(runId: run.id, caseId: $0.item.caseId, salt: "queue"), $0.item.caseId), entry: $0) }
            runs.append(WaitingRun(operatorId: run.operatorId, cases: keyed.sorted { $0.key < $1.key }.map(\.entry)))
        }
        return runs
    }

    /// What `open` showed the reviewer.
    public struct Opened: Sendable {
        public var runId: String
        public var caseId: String
        public var blinded: Bool
        public var reportVersion: Int
        public var reportSHA256: String
        /// The full report (nil while blinded).
        public var report: CaseReportModel?
        /// Evidence without the model's answer (blinded first read).
        public var blindedEvidence: BlindedEvidence?
    }

    /// The evidence a blinded reviewer sees: the scans and the nearest verified cases without their
    /// labels — no model output, and nothing that gives the answer away.
    public struct BlindedEvidence: Codable, Sendable {
        public var caseId: String
        public var classes: [String]
        public var scans: [String]
        public var neighbours: [BlindedNeighbour]
    }

    /// A nearest verified case before the blind read: which case and how near, not its label.
    public struct BlindedNeighbour: Codable, Sendable {
        public var caseId: String
        public var distance: Double
        public var verifiedBy: String
    }

    public func open(caseId: String, runId: String?, reviewer: String, now: Date = Date()) throws -> Opened {
        try store.change { db in
            let (run, assessment, policy) = try Self.resolve(db, caseId: caseId, runId: runId)
            let who = try Self.activeReviewer(db, reviewer)
            guard who.id != run.operatorId else { throw ReviewError.operatorCannotReview(who.id) }
            guard let report = try CaseStore.latestReport(db, runId: run.id, caseId: caseId, format: .html) else {
                throw CaseStoreError.notFound(kind: "report of case", id: caseId)
            }
            let model = try Self.reportModel(assessment)
            let blinded = policy.review.blindFirstRead
            let shown: [String: String] = ["report_version": String(report.version), "report_sha256": report.sha256,
                                           "view": blinded ? "blinded evidence (scans, neighbours; no model answer)" : "full report"]
            let session = try CaseStore.insertReviewSession(db, ReviewSessionRecord(
                runId: run.id, caseId: caseId, reviewerId: who.id, openedAt: Timestamp.string(from: now), blinded: blinded,
                shown: String(decoding: try Assessment.canonicalEncoder.encode(shown), as: UTF8.self)))
            try AuditLog.append(db, actor: who.id, action: "review.open", subject: AuditSubject(type: "case", id: caseId),
                                payload: ["run_id": run.id, "case_id": caseId, "reviewer_id": who.id, "blinded": String(blinded),
                                          "report_version": String(report.version), "report_sha256": report.sha256,
                                          "session": String(session.id ?? -1)], time: now)
            let evidence = Self.blindedEvidence(caseId: caseId, model)
            return Opened(runId: run.id, caseId: caseId, blinded: blinded, reportVersion: report.version, reportSHA256: report.sha256,
                          report: blinded ? nil : model, blindedEvidence: blinded ? evidence : nil)
        }
    }

    /// Records the blind first read, then unblinds (returns the full report).
    public func blindRead(caseId: String, runId: String?, reviewer: String, className: String, now: Date = Date()) throws -> CaseReportModel {
        try store.change { db in
            let (run, assessment, _) = try Self.resolve(db, caseId: caseId, runId: runId)
            let who = try Self.activeReviewer(db, reviewer)
            guard let session = try CaseStore.latestSession(db, runId: run.id, caseId: caseId, reviewerId: who.id) else {
                throw ReviewError.notOpened(caseId: caseId, reviewer: who.id)
            }
            let model = try Self.reportModel(assessment)
            let classes = Self.classes(of: model)
            guard classes.contains(className) else { throw ReviewError.classUnknown(className) }
            guard session.blindReadClass == nil else {
                throw CaseStoreError.invalid("the blind read of case '\(caseId)' by '\(who.id)' is already recorded (\(session.blindReadClass!))")
            }
            try CaseStore.recordBlindRead(db, sessionId: session.id ?? -1, className: className, at: Timestamp.string(from: now))
            try AuditLog.append(db, actor: who.id, action: "review.blind-read", subject: AuditSubject(type: "case", id: caseId),
                                payload: ["run_id": run.id, "case_id": caseId, "reviewer_id": who.id, "class": className], time: now)
            return model
        }
    }

    /// What the reviewer asks to sign.
    public struct SignRequest {
        public var caseId: String
        public var runId: String?
        public var reviewer: String
        public var decision: Review.SignOff.Decision
        public var className: String?
        /// Required with override; nil (stored as "") with agree.
        public var reasonCode: String?
        public var meaning: Review.SignOff.Meaning
        public var note: String
        public var passphrase: String
        public var keyFile: URL?
        public var now: Date

        public init(caseId: String, runId: String?, reviewer: String, decision: Review.SignOff.Decision, className: String?,
                    reasonCode: String?, meaning: Review.SignOff.Meaning, note: String, passphrase: String, keyFile: URL?, now: Date = Date()) {
            self.caseId = caseId; self.runId = runId; self.reviewer = reviewer; self.decision = decision
            self.className = className; self.reasonCode = reasonCode; self.meaning = meaning; self.note = note
            self.passphrase = passphrase; self.keyFile = keyFile; self.now = now
        }
    }

    public struct Signed: Sendable {
        public var signOff: Review.SignOff
        public var newReportVersion: Int
        public var catchTrial: CatchTrialOutcome?
    }

    public struct CatchTrialOutcome: Codable, Sendable {
        public var presentedClass: String
        public var trueLabel: String
        public var detected: Bool

        /// What the reviewer is told once the trial is revealed.
        public var sentence: String {
            detected ? "This was a catch trial: the answer shown (\(presentedClass)) was deliberately wrong, and you caught it."
                     : "This was a catch trial: the answer shown (\(presentedClass)) was deliberately wrong (truth: \(trueLabel)). It is recorded."
        }
    }

    /// Checks the policy's rules, signs the canonical record with the reviewer's key, stores and logs it,
    /// reveals a catch trial, and issues the next report version carrying the manifestation.
    public func sign(_ r: SignRequest, storePath: String) throws -> Signed {
        try store.change { db in
            let (run, assessment, policy) = try Self.resolve(db, caseId: r.caseId, runId: r.runId)
            guard let who = try CaseStore.reviewer(db, id: r.reviewer) else { throw ReviewError.reviewerUnknown(r.reviewer) }
            let session = try CaseStore.latestSession(db, runId: run.id, caseId: r.caseId, reviewerId: who.id)
            var model = try Self.reportModel(assessment)
            let presented = model.prediction?.predictedClass ?? ""
            let classes = Self.classes(of: model)
            let earlier = try CaseStore.signOffs(db, runId: run.id, caseId: r.caseId)
            try CaseStore.requireAttested(db, [.reviewer(who.id)] + earlier.compactMap { $0.id.map(RecordRef.signoff) }
                                              + (session?.id.map { [RecordRef.reviewSession($0)] } ?? []))
            let rules = Self.rules(policy)
            let seconds = try SignOffGate.check(SignOffRequest(
                caseId: r.caseId, runId: run.id, disposition: assessment.disposition.kind.rawValue,
                requiredSignatures: max(assessment.disposition.reviewersRequired, 1), reviewerId: who.id, reviewerActive: who.active,
                runOperator: run.operatorId, earlierSigners: earlier.map(\.reviewerId),
                openedAt: session.flatMap { Timestamp.date(from: $0.openedAt) }, blindReadClass: session?.blindReadClass,
                decision: r.decision, decidedClass: r.decision == .agree ? (r.className ?? presented) : r.className,
                reasonCode: r.reasonCode, classes: classes, now: r.now), rules: rules)
            if r.decision == .agree, let c = r.className, c != presented {
                throw CaseStoreError.invalid("--class \(c) differs from the answer shown (\(presented)); use --decision override")
            }
            guard let keyRecord = try CaseStore.reviewerKeys(db, reviewerId: who.id).last(where: { $0.retiredAt == nil }) else {
                throw ReviewError.keyFileInvalid("reviewer '\(who.id)' has no current key")
            }
            let keyURL = r.keyFile ?? ReviewerRegistry.defaultKeyFile(storePath: storePath, reviewerId: who.id, version: keyRecord.version)
            let keyFile = try ReviewerKeyFile.read(from: keyURL)
            guard keyFile.reviewerId == who.id, keyFile.keyVersion == keyRecord.version, keyFile.publicKey == keyRecord.publicKey else {
                throw ReviewError.keyFileInvalid("\(keyURL.path) is not the current key of reviewer '\(who.id)'")
            }
            let key = try keyFile.unlock(passphrase: r.passphrase)
            let versionSeen = session.flatMap { Self.shownVersion($0) }
            guard let seen = try versionSeen.flatMap({ try CaseStore.report(db, runId: run.id, caseId: r.caseId, version: $0, format: .html) })
                ?? CaseStore.latestReport(db, runId: run.id, caseId: r.caseId, format: .html) else {
                throw CaseStoreError.notFound(kind: "report of case", id: r.caseId)
            }
            try CaseStore.requireAttested(db, [.report(runId: run.id, caseId: r.caseId, version: seen.version, format: "html"),
                                               .reviewerKey(reviewerId: who.id, version: keyRecord.version)])
            let record = Review.SignOff(caseId: r.caseId, runId: run.id, reportSha256: seen.sha256, reportVersion: seen.version,
                                 decision: r.decision, decidedClass: r.decision == .agree ? presented : (r.className ?? presented),
                                 modelClass: presented, meaning: r.meaning, reasonCode: r.reasonCode ?? "", note: r.note,
                                 reviewerId: who.id, printedName: who.name, keyVersion: keyRecord.version,
                                 signedAt: Timestamp.string(from: r.now), reviewSeconds: seconds, blindReadClass: session?.blindReadClass)
            let (bytes, signature) = try record.sign(with: key)
            try CaseStore.insertSignOff(db, SignOffRecord(runId: run.id, caseId: r.caseId, reviewerId: who.id, keyVersion: keyRecord.version,
                                                          record: String(decoding: bytes, as: UTF8.self), signature: signature,
                                                          reportSha256: seen.sha256, createdAt: Timestamp.string(from: r.now)))
            // The next report version carries every manifestation so far (21 CFR 11.50); earlier versions stay.
            let all = try CaseStore.signOffs(db, runId: run.id, caseId: r.caseId)
            model.signOffs = try all.map { s in
                let signed = try s.signed()
                return Reports.SignOff(reviewerId: signed.reviewerId, printedName: signed.printedName, signedAt: signed.signedAt,
                                       meaning: signed.meaning.rawValue, decision: signed.decision.rawValue,
                                       decidedClass: signed.decidedClass, reasonCode: signed.reasonCode.isEmpty ? nil : signed.reasonCode,
                                       note: signed.note.isEmpty ? nil : signed.note, signedReportSHA256: signed.reportSha256)
            }
            let latest = try CaseStore.latestReport(db, runId: run.id, caseId: r.caseId, format: .html)
            model.reportVersion = (latest?.version ?? 0) + 1
            model.supersedesReportSHA256 = latest?.sha256
            let renderer = try ReportRenderer()
            let (html, xml) = try CaseReportRendering.render(model, with: renderer)
            let newHTML = try CaseStore.addReportVersion(db, runId: run.id, caseId: r.caseId, format: .html, content: html, sha256: ContentHash.sha256Hex(html))
            let newXML = try CaseStore.addReportVersion(db, runId: run.id, caseId: r.caseId, format: .xml, content: xml, sha256: ContentHash.sha256Hex(xml))

            try AuditLog.append(db, actor: who.id, action: "review.sign", subject: AuditSubject(type: "case", id: r.caseId),
                                payload: ["run_id": run.id, "case_id": r.caseId, "reviewer_id": who.id,
                                          "record_sha256": ContentHash.sha256Hex(bytes), "signature": signature.base64EncodedString(),
                                          "report_sha256": seen.sha256, "report_version": String(seen.version),
                                          "decision": r.decision.rawValue, "meaning": r.meaning.rawValue,
                                          "new_report_version": String(newHTML.version), "new_report_html_sha256": newHTML.sha256,
                                          "new_report_xml_sha256": newXML.sha256], time: r.now)

            var outcome: CatchTrialOutcome?
            if let trial = try CaseStore.catchTrial(db, runId: run.id, caseId: r.caseId), trial.revealedAt == nil {
                let detected = r.decision == .override
                outcome = CatchTrialOutcome(presentedClass: trial.presentedClass, trueLabel: trial.trueLabel, detected: detected)
                try CaseStore.revealCatchTrial(db, runId: run.id, caseId: r.caseId, at: Timestamp.string(from: r.now))
                try AuditLog.append(db, actor: "system", action: "catch-trial.revealed", subject: AuditSubject(type: "case", id: r.caseId),
                                    payload: ["run_id": run.id, "case_id": r.caseId, "reviewer_id": who.id,
                                              "presented_class": trial.presentedClass, "true_label": trial.trueLabel,
                                              "detected": String(detected)], time: r.now)
            }

            return Signed(signOff: record, newReportVersion: model.reportVersion, catchTrial: outcome)
        }
    }

    /// One stored signature and what verification found.
    public struct Verification: Codable, Sendable {
        public var signoffId: Int64
        public var caseId: String
        public var runId: String
        public var reviewerId: String
        public var ok: Bool
        public var problems: [String]
        enum CodingKeys: String, CodingKey {
            case signoffId = "signoff_id", caseId = "case_id", runId = "run_id", reviewerId = "reviewer_id", ok, problems
        }
    }

    /// Checks every stored signature (of one case, or all) against the reviewer's key version and the
    /// stored report version it names.
    public func verify(caseId: String? = nil) throws -> [Verification] {
        try store.read { db in
            try CaseStore.signOffs(db, caseId: caseId).map { s in
                let key = try CaseStore.reviewerKey(db, reviewerId: s.reviewerId, version: s.keyVersion)
                let problems = SignOffVerifier.verify(
                    record: Data(s.record.utf8), signature: s.signature, storedCase: s.caseId, storedRun: s.runId,
                    storedReviewer: s.reviewerId, publicKey: key?.publicKey,
                    reportBytes: { signed in
                        (try? CaseStore.report(db, runId: s.runId, caseId: s.caseId, version: signed.reportVersion, format: .html))??.content
                    })
                return Verification(signoffId: s.id ?? -1, caseId: s.caseId, runId: s.runId, reviewerId: s.reviewerId,
                                    ok: problems.isEmpty, problems: problems.map(\.description))
            }
        }
    }

    /// Oversight figures per reviewer over every signature in the store.
    public func statistics(rules: ReviewRules = ReviewRules()) throws -> [Review.ReviewerOversight] {
        try store.read { db in OversightStatistics.figures(try Self.observations(db, runId: nil), rules: rules) }
    }

    /// Oversight figures of one run's reviews, in the run report's shape.
    func statisticsInTransaction(_ db: StoreReader, runId: String, rules: ReviewRules) throws -> [Reports.ReviewerOversight] {
        try OversightStatistics.figures(try Self.observations(db, runId: runId), rules: rules).map { f in
            Reports.ReviewerOversight(reviewerId: f.reviewerId, printedName: try CaseStore.reviewer(db, id: f.reviewerId)?.name ?? f.reviewerId,
                                      reviews: f.reviews, medianReviewSeconds: f.medianSeconds, agreementRate: f.agreementRate,
                                      lowConfidenceAgreementRate: f.lowConfidenceAgreementRate, overrideRate: f.overrideRate,
                                      blindReadAgreementRate: f.blindReadAgreementRate, catchTrials: f.catchTrials,
                                      catchTrialDetectionRate: f.catchTrialDetectionRate, flagged: f.flagged,
                                      flagReason: f.reasons.isEmpty ? nil : f.reasons.joined(separator: "; "))
        }
    }

    static func observations(_ db: StoreReader, runId: String?) throws -> [ReviewObservation] {
        try CaseStore.signOffs(db, runId: runId).map { s in
            let signed = try s.signed()
            let trial = try CaseStore.catchTrial(db, runId: s.runId, caseId: s.caseId)
            let confidence = try CaseStore.assessment(db, runId: s.runId, caseId: s.caseId)
                .flatMap { try AssessmentSummary.decode($0.assessment).evidence.calibratedConfidence }
            return ReviewObservation(reviewerId: s.reviewerId, seconds: signed.reviewSeconds, agreedWithModel: signed.decision == .agree,
                                     modelConfidence: confidence, blindReadAgreed: signed.blindReadClass.map { $0 == signed.modelClass },
                                     isCatchTrial: trial != nil)
        }
    }

    // MARK: helpers

    /// The run (given, or the newest completed run with an assessment of the case), the assessment
    /// and the run's policy as stored with the run.
    static func resolve(_ db: StoreReader, caseId: String, runId: String?) throws -> (RunRecord, Assessment, AuditPolicy) {
        let (run, record, policy) = try resolveRecord(db, caseId: caseId, runId: runId)
        return (run, try decodedAssessments.assessment(record), policy)
    }

    /// As `resolve`, with the report model the case's reports were rendered from.
    static func resolveWithModel(_ db: StoreReader, caseId: String, runId: String?) throws -> (RunRecord, Assessment, AuditPolicy, CaseReportModel) {
        let (run, record, policy) = try resolveRecord(db, caseId: caseId, runId: runId)
        let (assessment, model) = try decodedAssessments.withModel(record)
        return (run, assessment, policy, model)
    }

    /// The run, its attested assessment of the case, and the run's policy.
    static func resolveRecord(_ db: StoreReader, caseId: String, runId: String?) throws -> (RunRecord, AssessmentRecord, AuditPolicy) {
        let run: RunRecord
        if let runId {
            guard let r = try CaseStore.run(db, id: runId) else { throw CaseStoreError.notFound(kind: "run", id: runId) }
            run = r
        } else {
            guard let latest = try CaseStore.latestAssessment(db, caseId: caseId), let r = try CaseStore.run(db, id: latest.runId) else {
                throw CaseStoreError.notFound(kind: "assessment of case", id: caseId)
            }
            run = r
        }
        guard let record = try CaseStore.assessment(db, runId: run.id, caseId: caseId) else {
            throw ReviewError.notInRun(caseId: caseId, runId: run.id)
        }
        try CaseStore.requireAttested(db, [.run(run.id), .assessment(runId: run.id, caseId: caseId)])
        return (run, record, try runPolicies.policy(of: run))
    }

    /// Assessments as decoded, by run and case, reused only for the very bytes they were decoded from:
    /// a case page decodes its 20 KB assessment and report model once, not on every view.
    static let decodedAssessments = DecodedAssessments()

    final class DecodedAssessments: @unchecked Sendable {
        private struct Entry { var raw: String; var assessment: Assessment; var model: CaseReportModel? }
        private let lock = NSLock()
        private var entries: [String: Entry] = [:]

        func assessment(_ record: AssessmentRecord) throws -> Assessment {
            if let hit = lookup(record) { return hit.assessment }
            let a = try Assessment.decode(Data(record.assessment.utf8))
            store(record, Entry(raw: record.assessment, assessment: a, model: nil))
            return a
        }

        func withModel(_ record: AssessmentRecord) throws -> (Assessment, CaseReportModel) {
            if let hit = lookup(record), let model = hit.model { return (hit.assessment, model) }
            let a = try assessment(record)
            let model = try ReviewWorkflow.reportModel(a)
            store(record, Entry(raw: record.assessment, assessment: a, model: model))
            return (a, model)
        }

        private func key(_ r: AssessmentRecord) -> String { r.runId + "\u{1F}" + r.caseId }

        private func lookup(_ record: AssessmentRecord) -> Entry? {
            lock.lock(); defer { lock.unlock() }
            guard let e = entries[key(record)], e.raw == record.assessment else { return nil }
            return e
        }

        private func store(_ record: AssessmentRecord, _ entry: Entry) {
            lock.lock(); defer { lock.unlock() }
            if entries.count >= 4096 { entries = [:] }
            entries[key(record)] = entry
        }
    }

    /// Runs' policies as parsed, by run and exact text: a case page needs its run's policy on every request.
    static let runPolicies = RunPolicies()

    final class RunPolicies: @unchecked Sendable {
        private let lock = NSLock()
        private var parsed: [String: AuditPolicy] = [:]

        func policy(of run: RunRecord) throws -> AuditPolicy {
            lock.lock()
            let key = run.id + "\u{1F}" + run.policyText
            if let p = parsed[key] { lock.unlock(); return p }
            lock.unlock()
            let p = try AuditPolicy.parse(run.policyText, source: "policy of run \(run.id)")
            lock.lock()
            if parsed.count >= 32 { parsed = [:] }
            parsed[key] = p
            lock.unlock()
            return p
        }
    }

    static func activeReviewer(_ db: StoreReader, _ id: String) throws -> ReviewerRecord {
        guard let r = try CaseStore.reviewer(db, id: id) else { throw ReviewError.reviewerUnknown(id) }
        guard r.active else { throw ReviewError.reviewerInactive(id) }
        return r
    }

    /// The report model the case's reports were rendered from.
    static func reportModel(_ a: Assessment) throws -> CaseReportModel {
        guard let v = a.details["report_model"] else { throw CaseStoreError.invalid("assessment of case '\(a.caseId)' holds no report model") }
        return try JSONDecoder().decode(CaseReportModel.self, from: try JSONEncoder().encode(v))
    }

    /// The classes a reviewer may read or decide on: the study's, as the case report lists them.
    static func classes(of model: CaseReportModel) -> [String] {
        model.scans?.classLabels ?? model.prediction?.classProbabilities.map(\.label) ?? []
    }

    static func shownVersion(_ s: ReviewSessionRecord) -> Int? {
        guard let d = try? JSONSerialization.jsonObject(with: Data(s.shown.utf8)) as? [String: Any] else { return nil }
        return (d["report_version"] as? String).flatMap(Int.init)
    }

    public static func rules(_ p: AuditPolicy) -> ReviewRules {
        ReviewRules(reviewers: p.review.reviewers, secondReviewerForClasses: p.review.secondReviewerForClasses,
                    minSeconds: p.review.minSeconds, blindFirstRead: p.review.blindFirstRead, catchTrialRate: p.review.catchTrialRate,
                    overrideReasons: p.review.overrideReasons)
    }
}

extension SignOffRecord {
    /// The signed record as the reviewer signed it (the stored JSON of `Review.SignOff`).
    func signed() throws -> Review.SignOff { try JSONDecoder().decode(Review.SignOff.self, from: Data(record.utf8)) }
}
