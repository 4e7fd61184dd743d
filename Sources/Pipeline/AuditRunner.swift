import AuditLog
import Digests
import Dispatch
// Storage SPI: these writes are still to move into record + event operations (issue 23).
import CaseStore
import Files
import Foundation

/// What a run is asked to do. The same id with the same request resumes; the same id with a
/// different request is refused (a run id names one set of inputs forever).
public struct RunRequest: Sendable {
    public var runId: String
    public var study: String
    /// Cases in run order.
    public var caseIds: [String]
    public var modelId: String?
    public var calibratorId: Int64?
    public var policyName: String
    public var policySha256: String
    public var policyText: String
    public var operatorId: String
    /// Everything else that determines the outcome (split, k, metric…).
    public var parameters: [String: String]

    public init(runId: String, study: String, caseIds: [String], modelId: String?, calibratorId: Int64?,
                policyName: String, policySha256: String, policyText: String, operatorId: String,
                parameters: [String: String]) {
        self.runId = runId; self.study = study; self.caseIds = caseIds; self.modelId = modelId
        self.calibratorId = calibratorId; self.policyName = policyName; self.policySha256 = policySha256
        self.policyText = policyText; self.operatorId = operatorId; self.parameters = parameters
    }

    /// Canonical parameter document stored with the run and compared on resume.
    var parameterDocument: String {
        var all = parameters
        all["cases_sha256"] = ContentHash.sha256Hex(Data(caseIds.joined(separator: "\n").utf8))
        all["case_count"] = String(caseIds.count)
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? e.encode(all)) ?? Data("{}".utf8), as: UTF8.self)
    }
}

/// The result of a run, for the closing summary.
public struct RunOutcome: Sendable {
    public var runId: String
    public var cases: Int
    public var assessedNow: Int
    public var resumed: Bool
    public var dispositions: [String: Int]
    public var checksFired: [String: Int]
    public var outDirectory: URL
    public var runReportHTML: URL
    public var checkpointSize: Int?
}

/// Drives a run: one transaction per case (assessment, reports and audit event together), then the
/// run report, the run-end event and a signed checkpoint. Killed at any moment, it resumes from the
/// store and produces the same assessments, reports and log as an uninterrupted run.
public final class AuditRunner {
    public let store: CaseStore
    public let logSigner: LogSigner?

    public init(store: CaseStore, logSigner: LogSigner?) {
        self.store = store
        self.logSigner = logSigner
    }

    public func execute(
        _ request: RunRequest,
        assessor: CaseAssessor,
        outDirectory: URL,
        runReport: (StoreReader, RunRecord, [AssessmentRecord]) throws -> (html: Data, xml: Data),
        catchTrials: ((StoreChange, [AssessmentRecord]) throws -> [CaseOutcome])? = nil,
        progress: (Int, Int) -> Void = { _, _ in }
    ) throws -> RunOutcome {
        guard !request.caseIds.isEmpty else { throw RunError.noCases("the selection is empty") }
        let resumed = try store.change { db -> Bool in try self.startOrResume(db, request, outDirectory: outDirectory) }

        // A resumed run continues from what the log attests: a rewritten stored case stops it.
        let stored = try store.read { db -> [AssessmentRecord] in
            let stored = try CaseStore.assessments(db, runId: request.runId)
            try CaseStore.requireAttested(db, [.run(request.runId)] + stored.map { .assessment(runId: request.runId, caseId: $0.caseId) })
            return stored
        }
        try assessor.resume(from: stored)
        let done = Set(stored.map(\.caseId))
        var assessedNow = 0
        progress(done.count, request.caseIds.count)
        // Cases go in batches: the sequential part of each (reads, drift monitor) in order, the pure part
        // (rendering, encoding) on both cores, then one transaction per case in order, so an interruption
        // still leaves a prefix of whole cases. Each stored case appends exactly one event, so case j of a
        // batch will sit at log position base + j, and the next batch starts where this one ends. While
        // one batch is being rendered, the next is prepared and then the previous one stored: nothing a
        // case's outcome depends on is written by storing the cases before it.
        let pending = request.caseIds.enumerated().filter { !done.contains($0.element) }
        var base = try store.read { db in try AuditLog.treeSize(db) }
        var inFlight: FinishingBatch?
        defer { inFlight?.wait() }
        var start = 0
        while true {
            var next: FinishingBatch?
            if start < pending.count && inFlight?.prepareFailure == nil {
                let batch = pending[start..<min(start + batching.size, pending.count)]
                start = batch.endIndex
                var prepared: [(position: Int, outcome: PreparedOutcome)] = []
                var failure: Error?
                let first = base + (inFlight?.prepared.count ?? 0)
                try store.read { db in
                    for (j, item) in batch.enumerated() {
                        do {
                            let record = try CaseStore.caseRecord(db, id: item.element)
                            prepared.append((item.offset, try assessor.prepare(db, caseRecord: record, position: item.offset,
                                                                               runId: request.runId, logSequence: first + j)))
                        } catch {
                            failure = error
                            break
                        }
                    }
                }
                next = FinishingBatch(prepared: prepared, base: first, prepareFailure: failure, inBackground: batching.overlaps)
            }
            if let batch = inFlight {
                try storeBatch(batch, request: request) { assessedNow += 1; progress(done.count + assessedNow, request.caseIds.count) }
                if let failure = batch.prepareFailure { throw failure }
            }
            guard let next else { break }
            base = next.base
            inFlight = next
        }

        let checkpointSize = try store.change { db -> Int? in
            guard let run = try CaseStore.run(db, id: request.runId) else { throw CaseStoreError.notFound(kind: "run", id: request.runId) }
            guard run.status == .running else { return nil }
            let assessments = try CaseStore.assessments(db, runId: request.runId)
            // Catch trials join the review queue in the same transaction that completes the run.
            if let catchTrials {
                for (i, outcome) in try catchTrials(db, assessments).enumerated() {
                    try self.storeOutcome(db, outcome, position: request.caseIds.count + i, request: request)
                }
            }
            let report = try runReport(db, run, assessments)
            let htmlHash = ContentHash.sha256Hex(report.html), xmlHash = ContentHash.sha256Hex(report.xml)
            try CaseStore.addReportVersion(db, runId: run.id, caseId: nil, format: .html, content: report.html, sha256: htmlHash)
            try CaseStore.addReportVersion(db, runId: run.id, caseId: nil, format: .xml, content: report.xml, sha256: xmlHash)
            try CaseStore.completeRun(db, id: run.id, at: Timestamp.now())
            try AuditLog.append(db, actor: request.operatorId, action: "run.end",
                                subject: AuditSubject(type: "run", id: run.id),
                                payload: RunEndPayload(run_id: run.id, cases: assessments.count,
                                                       dispositions: Self.counts(assessments.map(\.disposition)),
                                                       report_html_sha256: htmlHash, report_xml_sha256: xmlHash,
                                                       policy_sha256: request.policySha256))
            if let signer = self.logSigner {
                return try AuditLog.checkpoint(db, signer: signer).treeSize
            }
            return nil
        }

        try materialiseReports(runId: request.runId, into: outDirectory)
        // The run's own cases (catch trials follow them), streamed: only their summaries are needed.
        var fired: [String: Int] = [:], dispositions: [String] = []
        try store.read { db in
            try CaseStore.forEachAssessment(db, runId: request.runId) { a in
                guard dispositions.count < request.caseIds.count else { return false }
                dispositions.append(a.disposition)
                for id in (try? AssessmentSummary.decode(a.assessment))?.disposition.decidedBy ?? [] { fired[id.rawValue, default: 0] += 1 }
                return true
            }
        }
        return RunOutcome(runId: request.runId, cases: dispositions.count, assessedNow: assessedNow, resumed: resumed,
                          dispositions: Self.counts(dispositions), checksFired: fired,
                          outDirectory: outDirectory,
                          runReportHTML: outDirectory.appendingPathComponent("run.html"),
                          checkpointSize: checkpointSize)
    }

    /// Stores a finished batch, one transaction per case in order, checking each case's log position.
    private func storeBatch(_ batch: FinishingBatch, request: RunRequest, stored: () -> Void) throws {
        batch.wait()
        for (k, result) in batch.results.enumerated() {
            let outcome = try result.get()
            try store.change { db in
                guard try AuditLog.treeSize(db) == batch.base + k else {
                    throw PipelineError.inconsistent("the audit log grew during the run; case '\(outcome.caseId)' would cite the wrong log position")
                }
                try self.storeOutcome(db, outcome, position: batch.prepared[k].position, request: request)
            }
            stored()
        }
    }

    /// Creates the run (logging `run.start`) or checks that an existing one has the same inputs.
    private func startOrResume(_ db: StoreChange, _ request: RunRequest, outDirectory: URL) throws -> Bool {
        let parameters = request.parameterDocument
        if let existing = try CaseStore.run(db, id: request.runId) {
            if existing.policySha256 != request.policySha256 { throw RunError.runIdReused(request.runId, "policy differs") }
            if existing.modelId != request.modelId { throw RunError.runIdReused(request.runId, "model differs") }
            if existing.study != request.study { throw RunError.runIdReused(request.runId, "study differs") }
            if existing.parameters != parameters { throw RunError.runIdReused(request.runId, "case selection or parameters differ") }
            return true
        }
        let run = RunRecord(id: request.runId, study: request.study, modelId: request.modelId,
                            calibratorId: request.calibratorId, policyName: request.policyName,
                            policySha256: request.policySha256, policyText: request.policyText,
                            operatorId: request.operatorId, parameters: parameters,
                            outDir: outDirectory.standardizedFileURL.path)
        try CaseStore.insertRun(db, run)
        try AuditLog.append(db, actor: request.operatorId, action: "run.start",
                            subject: AuditSubject(type: "run", id: request.runId),
                            payload: RunStartPayload(run_id: request.runId, study: request.study,
                                                     model_id: request.modelId, calibrator_id: request.calibratorId,
                                                     policy_name: request.policyName, policy_sha256: request.policySha256,
                                                     operator: request.operatorId, parameters: parameters))
        return false
    }

    private func storeOutcome(_ db: StoreChange, _ outcome: CaseOutcome, position: Int, request: RunRequest) throws {
        let assessmentHash = ContentHash.sha256Hex(outcome.assessmentJSON)
        let record = AssessmentRecord(runId: request.runId, caseId: outcome.caseId, position: position,
                                      disposition: outcome.disposition,
                                      assessment: String(decoding: outcome.assessmentJSON, as: UTF8.self),
                                      assessmentSha256: assessmentHash)
        try CaseStore.insertAssessment(db, record)
        let htmlHash = ContentHash.sha256Hex(outcome.html), xmlHash = ContentHash.sha256Hex(outcome.xml)
        try CaseStore.addReportVersion(db, runId: request.runId, caseId: outcome.caseId, format: .html,
                                       content: outcome.html, sha256: htmlHash)
        try CaseStore.addReportVersion(db, runId: request.runId, caseId: outcome.caseId, format: .xml,
                                       content: outcome.xml, sha256: xmlHash)
        try AuditLog.append(db, actor: request.operatorId, action: "case.assessed",
                            subject: AuditSubject(type: "case", id: outcome.caseId),
                            payload: CaseAssessedPayload(run_id: request.runId, case_id: outcome.caseId,
                                                         position: position, disposition: outcome.disposition,
                                                         assessment_sha256: assessmentHash,
                                                         report_html_sha256: htmlHash, report_xml_sha256: xmlHash,
                                                         policy_sha256: request.policySha256, inputs: outcome.inputHashes))
    }

    /// Writes every version of every report of the run into `dir` — case reports under `cases/`,
    /// version 1 as `<case>.html`, later (signed) versions as `<case>.v<N>.html`, so no version ever
    /// overwrites another — atomically, skipping files that already hold the right bytes. The store is
    /// the source of truth, so a run killed between commit and file write loses nothing.
    ///
    /// Reports are read one at a time (a large run's reports are hundreds of MB) and files are
    /// replaced by rename without a flush each; one flush of the folder's file system at the end makes
    /// them durable (a flush per file made this the slowest part of a 10,000-case run).
    public static func materialiseReports(_ store: CaseStore, runId: String, into dir: URL) throws {
        let fm = FileManager.default
        try fm.createDirectory(at: dir.appendingPathComponent("cases"), withIntermediateDirectories: true)
        AtomicFile.removeLeftovers(in: dir)
        AtomicFile.removeLeftovers(in: dir.appendingPathComponent("cases"))
        try store.read { db in
            try CaseStore.forEachReport(db, runId: runId) { r in
                let url = dir.appendingPathComponent(ReportFileName.relativePath(caseId: r.caseId, version: r.version, format: r.format.rawValue))
                if let existing = try? Data(contentsOf: url), existing == r.content { return }
                try AtomicFile.write(r.content, to: url, durable: false)
            }
        }
        try AtomicFile.flush(dir)
    }

    public func materialiseReports(runId: String, into dir: URL) throws {
        try Self.materialiseReports(store, runId: runId, into: dir)
    }

    /// How cases are grouped: `size` cases are prepared before their rendering is spread over the
    /// cores; with `overlaps`, a batch renders while the next is prepared and the previous stored.
    /// Neither changes what is stored (tested), only how long it takes.
    struct Batching {
        var size = 16
        var overlaps = true
    }
    var batching = Batching()

    static func counts(_ values: [String]) -> [String: Int] {
        values.reduce(into: [:]) { $0[$1, default: 0] += 1 }
    }
}

struct RunStartPayload: Encodable {
    var run_id: String, study: String, model_id: String?, calibrator_id: Int64?
    var policy_name: String, policy_sha256: String, `operator`: String, parameters: String
}

struct CaseAssessedPayload: Encodable {
    var run_id: String, case_id: String, position: Int, disposition: String
    var assessment_sha256: String, report_html_sha256: String, report_xml_sha256: String
    var policy_sha256: String, inputs: [String: String]
}

struct RunEndPayload: Encodable {
    var run_id: String, cases: Int, dispositions: [String: Int]
    var report_html_sha256: String, report_xml_sha256: String, policy_sha256: String
}

/// A prepared batch whose cases are being finished (rendered, encoded) on other threads.
final class FinishingBatch {
    let prepared: [(position: Int, outcome: PreparedOutcome)]
    /// Log position of the batch's first case.
    let base: Int
    /// Why preparing stopped before the end of the batch (the prepared prefix is still stored).
    let prepareFailure: Error?
    private var finished: [Result<CaseOutcome, Error>] = []
    private let group = DispatchGroup()

    init(prepared: [(position: Int, outcome: PreparedOutcome)], base: Int, prepareFailure: Error?, inBackground: Bool) {
        self.prepared = prepared; self.base = base; self.prepareFailure = prepareFailure
        let outcomes = prepared.map(\.outcome)
        if inBackground {
            DispatchQueue.global().async(group: group) { self.finished = PreparedOutcome.finishAll(outcomes) }
        } else {
            finished = PreparedOutcome.finishAll(outcomes)
        }
    }

    /// Waits until every case is finished.
    func wait() { group.wait() }

    /// The outcomes in batch order (waits for them).
    var results: [Result<CaseOutcome, Error>] {
        wait()
        return finished
    }
}
