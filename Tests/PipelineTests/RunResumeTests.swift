import AuditLog
@_spi(Storage) import CaseStore
import Digests
import Foundation
import PipelineFixtures
import GRDB
@testable import Pipeline
import Policy
import Reports
import XCTest

/// Wraps the real assessor and throws after `limit` cases — an interruption at a case boundary
/// (the runner's per-case transaction is rolled back for the case that failed).
final class InterruptingAssessor: CaseAssessor {
    struct Interrupted: Error {}
    let inner: EvidenceAssessor
    let limit: Int
    var assessed = 0
    init(inner: EvidenceAssessor, limit: Int) { self.inner = inner; self.limit = limit }
    func resume(from stored: [AssessmentRecord]) throws { try inner.resume(from: stored) }
    func assess(_ db: StoreReader, caseRecord: CaseRecord, position: Int, runId: String) throws -> CaseOutcome {
        guard assessed < limit else { throw Interrupted() }
        let outcome = try inner.assess(db, caseRecord: caseRecord, position: position, runId: runId)
        assessed += 1
        return outcome
    }
    func prepare(_ db: StoreReader, caseRecord: CaseRecord, position: Int, runId: String, logSequence: Int) throws -> PreparedOutcome {
        guard assessed < limit else { throw Interrupted() }
        let prepared = try inner.prepare(db, caseRecord: caseRecord, position: position, runId: runId, logSequence: logSequence)
        assessed += 1
        return prepared
    }
}

final class RunResumeTests: XCTestCase {
    let runId = "resume-run"

    func job(_ store: CaseStore, out: URL, policy: AuditPolicy, selection: AuditRunJob.Selection = .split(.incoming)) throws -> AuditRunJob {
        AuditRunJob(store: store, policy: policy, study: "lesion", selection: selection, modelId: nil, outDirectory: out,
                    runId: runId, operatorId: "operator-1",
                    logSigner: { try LogSigner(name: "countersign-test", privateKey: PipelineFixture.logSignerKey()) })
    }

    /// The same wiring as `AuditRunJob.execute`, with an assessor that stops after `limit` cases.
    func interruptedRun(_ store: CaseStore, out: URL, policy: AuditPolicy, limit: Int) throws {
        let (ids, model, context) = try store.read { db -> ([String], String?, RunContext) in
            let ids = try CaseStore.cases(db, study: "lesion", split: .incoming).map(\.id)
            let model = try CaseStore.newestModel(db, study: "lesion")?.id
            var context = try RunContext.load(db, study: "lesion", policy: policy, modelId: model)
            context.logVerified = try AuditLog.verify(db).ok
            return (ids, model, context)
        }
        let renderer = try ReportRenderer()
        let assessor = try EvidenceAssessor(context: context, renderer: renderer)
        let request = RunRequest(runId: runId, study: "lesion", caseIds: ids, modelId: model,
                                 calibratorId: context.calibration?.record.id, policyName: policy.name,
                                 policySha256: policy.sha256, policyText: policy.text, operatorId: "operator-1",
                                 parameters: ["k": "10", "metric": "euclidean", "study": "lesion", "split": "incoming"])
        let runner = AuditRunner(store: store, logSigner: nil)
        XCTAssertThrowsError(try runner.execute(request, assessor: InterruptingAssessor(inner: assessor, limit: limit),
                                                outDirectory: out, runReport: { _, _, _ in XCTFail("run report before all cases"); return (Data(), Data()) },
                                                catchTrials: { db, regular in
                                                    try CatchTrialPlanter(assessor: assessor, renderer: renderer, policy: policy)
                                                        .plant(db, runId: self.runId, study: "lesion", regular: regular)
                                                })) { error in
            XCTAssertTrue(error is InterruptingAssessor.Interrupted, "unexpected error \(error)")
        }
    }

    struct Snapshot: Equatable {
        var assessments: [String]
        var reports: [String]
        var events: [String]
        var catchTrials: [String]
        var runStatus: String
    }

    func snapshot(_ store: CaseStore) throws -> Snapshot {
        try store.read { db in
            Snapshot(
                assessments: try Row.fetchAll(db.database, sql: "SELECT case_id, position, disposition, assessment, assessment_sha256 FROM assessments WHERE run_id = ? ORDER BY position, case_id", arguments: [runId])
                    .map { "\($0["case_id"] as String)|\($0["position"] as Int)|\($0["disposition"] as String)|\($0["assessment_sha256"] as String)|\($0["assessment"] as String)" },
                reports: try Row.fetchAll(db.database, sql: "SELECT case_id, version, format, sha256, content FROM reports WHERE run_id = ? ORDER BY case_id, version, format", arguments: [runId])
                    .map { row in
                        let content: Data = row["content"]
                        guard let caseId = row["case_id"] as String? else {
                            // The run report prints when the run started: a timestamp stored as such.
                            XCTAssertEqual(row["sha256"] as String, ContentHash.sha256Hex(content))
                            return "<run>|\(row["version"] as Int)|\(row["format"] as String)|\(ContentHash.sha256Hex(Self.withoutTimes(content)))"
                        }
                        return "\(caseId)|\(row["version"] as Int)|\(row["format"] as String)|\(row["sha256"] as String)|\(ContentHash.sha256Hex(content))"
                    },
                events: try Row.fetchAll(db.database, sql: "SELECT actor, action, subject_type, subject_id, payload FROM audit_events ORDER BY seq")
                    .map { row in
                        var payload: String = row["payload"]
                        // The attestation digest covers the records' stored times; the records are compared above.
                        payload = payload.replacingOccurrences(of: #""sha256":"[0-9a-f]{64}"\}"#, with: "<attested records>}",
                                                               options: .regularExpression)
                        if row["action"] as String == "run.end" {
                            // Its report hashes cover the run report's start time; the reports are compared above.
                            payload = payload.replacingOccurrences(of: #""report_(html|xml)_sha256":"[0-9a-f]{64}""#, with: "<run report hash>",
                                                                   options: .regularExpression)
                        }
                        return "\(row["actor"] as String)|\(row["action"] as String)|\(row["subject_type"] as String)|\(row["subject_id"] as String)|\(payload)"
                    },
                catchTrials: try Row.fetchAll(db.database, sql: "SELECT case_id, true_label, presented_class FROM catch_trials WHERE run_id = ? ORDER BY case_id", arguments: [runId])
                    .map { "\($0["case_id"] as String)|\($0["true_label"] as String)|\($0["presented_class"] as String)" },
                runStatus: try String.fetchOne(db.database, sql: "SELECT status FROM runs WHERE id = ?", arguments: [runId]) ?? "missing")
        }
    }

    /// Content with RFC 3339 UTC timestamps masked by a fixed marker.
    static func withoutTimes(_ data: Data) -> Data {
        Data(String(decoding: data, as: UTF8.self)
            .replacingOccurrences(of: #"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z"#, with: "<time>", options: .regularExpression).utf8)
    }

    /// The neighbourhood of the first differing character.
    static func firstDifference(_ x: String, _ y: String) -> String {
        let a = Array(x), b = Array(y)
        var i = 0
        while i < min(a.count, b.count) && a[i] == b[i] { i += 1 }
        let from = max(0, i - 120)
        return "at \(i):\nA: …\(String(a[from..<min(a.count, i + 80)]))\nB: …\(String(b[from..<min(b.count, i + 80)]))"
    }

    func files(under dir: URL) throws -> [String: Data] {
        var result: [String: Data] = [:]
        let e = FileManager.default.enumerator(at: dir, includingPropertiesForKeys: [.isRegularFileKey])
        while let url = e?.nextObject() as? URL {
            guard (try url.resourceValues(forKeys: [.isRegularFileKey])).isRegularFile == true else { continue }
            result[String(url.path.dropFirst(dir.path.count))] = try Data(contentsOf: url)
        }
        return result
    }

    func testInterruptedAndResumedRunEqualsUninterruptedRun() throws {
        let policy = try ShippedPolicy.default.load()
        let a = try PipelineFixture.copy(), b = try PipelineFixture.copy()
        let storeA = try CaseStore(path: a.path), storeB = try CaseStore(path: b.path)
        let outA = a.dir.appendingPathComponent("out"), outB = b.dir.appendingPathComponent("out")

        let summaryA = try job(storeA, out: outA, policy: policy).execute()
        XCTAssertFalse(summaryA.resumed)
        XCTAssertGreaterThan(summaryA.cases, 40)
        let n = summaryA.cases

        // Two interruptions at different points, then a resume through the real job.
        try interruptedRun(storeB, out: outB, policy: policy, limit: 7)
        XCTAssertEqual(try storeB.read { db in try CaseStore.assessments(db, runId: self.runId).count }, 7)
        try interruptedRun(storeB, out: outB, policy: policy, limit: 20)
        XCTAssertEqual(try storeB.read { db in try CaseStore.assessments(db, runId: self.runId).count }, 27)
        XCTAssertEqual(try snapshot(storeB).runStatus, "running")
        let summaryB = try job(storeB, out: outB, policy: policy).execute()
        XCTAssertTrue(summaryB.resumed)
        XCTAssertEqual(summaryB.assessedNow, n - 27)
        XCTAssertEqual(summaryB.cases, n)
        XCTAssertEqual(summaryB.dispositions, summaryA.dispositions)

        let sA = try snapshot(storeA), sB = try snapshot(storeB)
        XCTAssertEqual(sA.runStatus, "completed")
        XCTAssertEqual(sB.runStatus, "completed")
        XCTAssertEqual(sA.assessments.count, sB.assessments.count)
        for (x, y) in zip(sA.assessments, sB.assessments) where x != y {
            XCTFail("assessment differs: \(Self.firstDifference(String(x.split(separator: "|", maxSplits: 4)[4]), String(y.split(separator: "|", maxSplits: 4)[4])))"); break
        }
        XCTAssertEqual(sA.reports.count, sB.reports.count, "report version count differs")
        XCTAssertEqual(sA.reports.filter { !sB.reports.contains($0) }.count, 0, "report versions or bytes differ")
        XCTAssertEqual(sA.catchTrials, sB.catchTrials)
        XCTAssertEqual(sA.events.count, sB.events.count, "event count differs")
        for (i, (x, y)) in zip(sA.events, sB.events).enumerated() where x != y {
            XCTFail("event \(i) differs: \(Self.firstDifference(x, y))"); break
        }
        // Nothing duplicated: one case.assessed event per stored assessment, one run.start, one run.end.
        let actions = sB.events.map { $0.split(separator: "|")[1] }
        XCTAssertEqual(actions.filter { $0 == "case.assessed" }.count, sB.assessments.count)
        XCTAssertEqual(actions.filter { $0 == "run.start" }.count, 1)
        XCTAssertEqual(actions.filter { $0 == "run.end" }.count, 1)
        XCTAssertEqual(Set(sB.assessments.map { $0.split(separator: "|")[0] }).count, sB.assessments.count)

        let filesA = try files(under: outA), filesB = try files(under: outB)
        XCTAssertEqual(Set(filesA.keys), Set(filesB.keys))
        XCTAssertGreaterThanOrEqual(filesA.count, 2 * n + 2)
        for (name, data) in filesA {
            let isRunReport = name == "/run.html" || name == "/run.xml"
            let same = isRunReport ? filesB[name].map(Self.withoutTimes) == Self.withoutTimes(data) : filesB[name] == data
            if !same { XCTFail("report file \(name) differs"); break }
        }

        // A third execution of a completed run changes nothing.
        let before = try PipelineFixture.dump(storeB)
        let again = try job(storeB, out: outB, policy: policy).execute()
        XCTAssertEqual(again.assessedNow, 0)
        XCTAssertEqual(try PipelineFixture.dump(storeB), before)
    }

    /// Batches rendered on both cores while the next is prepared store exactly what one case at a time,
    /// fully in order on one thread, stores: assessments, report bytes, log events and files.
    func testBatchingAndOverlapDoNotChangeTheRun() throws {
        let policy = try ShippedPolicy.default.load()
        let a = try PipelineFixture.copy(), b = try PipelineFixture.copy()
        let storeA = try CaseStore(path: a.path), storeB = try CaseStore(path: b.path)
        let outA = a.dir.appendingPathComponent("out"), outB = b.dir.appendingPathComponent("out")
        var sequential = try job(storeA, out: outA, policy: policy)
        sequential.batching = AuditRunner.Batching(size: 1, overlaps: false)
        var batched = try job(storeB, out: outB, policy: policy)
        batched.batching = AuditRunner.Batching(size: 5, overlaps: true)
        let summaryA = try sequential.execute(), summaryB = try batched.execute()
        XCTAssertGreaterThan(summaryA.cases, 3 * 5, "too few cases to span several batches")
        XCTAssertEqual(summaryA.dispositions, summaryB.dispositions)
        XCTAssertEqual(summaryA.checksFired, summaryB.checksFired)
        let sA = try snapshot(storeA), sB = try snapshot(storeB)
        XCTAssertEqual(sA.assessments.count, summaryA.cases + sA.catchTrials.count)
        for (x, y) in zip(sA.assessments, sB.assessments) where x != y {
            XCTFail("assessment differs: \(Self.firstDifference(x, y))"); break
        }
        XCTAssertEqual(sA, sB)
        // Stored assessments are exactly what JSONEncoder (the canonical encoder) writes for them.
        let stored = try storeB.read { db in try CaseStore.assessments(db, runId: self.runId) }
        for record in stored {
            let reference = try Assessment.canonicalEncoder.encode(try Assessment.decode(Data(record.assessment.utf8)))
            if reference != Data(record.assessment.utf8) {
                XCTFail("assessment of \(record.caseId) is not JSONEncoder's canonical form: \(Self.firstDifference(record.assessment, String(decoding: reference, as: UTF8.self)))")
                break
            }
        }
        let filesA = try files(under: outA), filesB = try files(under: outB)
        XCTAssertEqual(Set(filesA.keys), Set(filesB.keys))
        for (name, data) in filesA where name != "/run.html" && name != "/run.xml" && filesB[name] != data {
            XCTFail("report file \(name) differs"); break
        }
    }

    func testSameRunIdWithOtherInputsIsRefusedAndChangesNothing() throws {
        let policy = try ShippedPolicy.default.load()
        let strict = try ShippedPolicy.screeningStrict.load()
        let c = try PipelineFixture.copy()
        let store = try CaseStore(path: c.path)
        let out = c.dir.appendingPathComponent("out")
        // An interrupted run, then attempts to resume it with other inputs.
        try interruptedRun(store, out: out, policy: policy, limit: 5)
        let incoming = try store.read { db in try CaseStore.cases(db, study: "lesion", split: .incoming).map(\.id) }
        let before = try PipelineFixture.dump(store)
        for (label, attempt) in [("policy", try job(store, out: out, policy: strict)),
                                 ("selection", try job(store, out: out, policy: policy, selection: .cases(Array(incoming.prefix(10))))),
                                 ("split", try job(store, out: out, policy: policy, selection: .split(.test)))] {
            XCTAssertThrowsError(try attempt.execute(), "other \(label) under the same run id") { error in
                guard case RunError.runIdReused(let id, _) = error else { return XCTFail("\(label): unexpected error \(error)") }
                XCTAssertEqual(id, self.runId)
            }
            XCTAssertEqual(try PipelineFixture.dump(store), before, "a refused \(label) change altered the store")
        }
        // The same inputs still resume.
        let done = try job(store, out: out, policy: policy).execute()
        XCTAssertTrue(done.resumed)
        XCTAssertEqual(done.cases, incoming.count)
        // And a completed run refuses too.
        let completed = try PipelineFixture.dump(store)
        XCTAssertThrowsError(try job(store, out: out, policy: strict).execute())
        XCTAssertEqual(try PipelineFixture.dump(store), completed)
    }
}
