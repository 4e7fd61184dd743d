import AuditLog
@_spi(Storage) @testable import CaseStore
import Foundation
import PipelineFixtures
import GRDB
import Pipeline
import Policy
import Review
import XCTest

/// The sign-off workflow end to end on a real run: every refusal leaves the store byte-for-byte
/// unchanged, tampering is detected by `verify`, and catch trials are revealed by sign-off.
final class ReviewWorkflowTests: XCTestCase {
    static let cheapCost = (n: 1 << 10, r: 8, p: 1)
    let passphrase = "correct horse battery"

    struct Setup {
        var store: CaseStore
        var dir: URL
        var runId: String
    }

    func runSetup(policy: AuditPolicy, runId: String) throws -> Setup {
        let c = try PipelineFixture.copy()
        let store = try CaseStore(path: c.path)
        _ = try AuditRunJob(store: store, policy: policy, study: "lesion", selection: .split(.incoming), modelId: nil,
                            outDirectory: c.dir.appendingPathComponent("out"), runId: runId, operatorId: "operator-1").execute()
        return Setup(store: store, dir: c.dir, runId: runId)
    }

    func addReviewer(_ s: Setup, _ id: String, passphrase: String? = nil) throws -> URL {
        let key = s.dir.appendingPathComponent("\(id).key")
        _ = try ReviewerRegistry(store: s.store, actor: "admin").add(id: id, name: "Dr \(id.capitalized)", role: "dermatologist",
                                                                       passphrase: passphrase ?? self.passphrase, keyFile: key, cost: Self.cheapCost)
        return key
    }

    func request(_ s: Setup, _ caseId: String, _ reviewer: String, key: URL, at: Date, passphrase: String? = nil,
                 decision: Review.SignOff.Decision = .agree, className: String? = nil) -> ReviewWorkflow.SignRequest {
        ReviewWorkflow.SignRequest(caseId: caseId, runId: s.runId, reviewer: reviewer, decision: decision, className: className,
                                   reasonCode: decision == .override ? "disagree-morphology" : "none", meaning: .review,
                                   note: "", passphrase: passphrase ?? self.passphrase, keyFile: key, now: at)
    }

    /// Asserts that `body` throws `expected` and that no table changed.
    func assertRefused(_ s: Setup, _ expected: (Error) -> Bool, _ what: String, file: StaticString = #filePath, line: UInt = #line,
                       _ body: () throws -> Void) throws {
        let before = try PipelineFixture.dump(s.store)
        XCTAssertThrowsError(try body(), what, file: file, line: line) { error in
            XCTAssertTrue(expected(error), "\(what): unexpected error \(error)", file: file, line: line)
        }
        let after = try PipelineFixture.dump(s.store)
        for table in before.keys.sorted() where before[table] != after[table] {
            XCTFail("\(what): table \(table) changed", file: file, line: line)
        }
    }

    /// The worklist (counted from the cached queue without visiting every case) against the queue:
    /// same cases, counts and runs, most urgent first, filters and limits applied.
    func assertWorklistIsTheQueue(_ workflow: ReviewWorkflow, _ reviewer: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let queue = try workflow.queue(reviewer: reviewer)
        let urgency = ["escalate": 0, "second-review": 1, "review": 2]
        let ordered = queue.enumerated().sorted { (urgency[$0.element.disposition]!, $0.offset) < (urgency[$1.element.disposition]!, $1.offset) }.map(\.element)
        for (run, disposition, limit) in [(String?.none, String?.none, 100), (nil, "review", 3), (nil, "escalate", 1000), ("nope", nil, 10), (nil, nil, 0)] {
            let list = try workflow.worklist(reviewer: reviewer, run: run, disposition: disposition, limit: limit)
            let matching = ordered.filter { (run == nil || $0.runId == run) && (disposition == nil || $0.disposition == disposition) }
            XCTAssertEqual(list.total, queue.count, "\(reviewer) total", file: file, line: line)
            XCTAssertEqual(list.counts, Dictionary(grouping: queue, by: \.disposition).mapValues(\.count), "\(reviewer) counts", file: file, line: line)
            XCTAssertEqual(list.runs, Array(Set(queue.map(\.runId))).sorted(), "\(reviewer) runs", file: file, line: line)
            XCTAssertEqual(list.matching, matching.count, "\(reviewer) \(run ?? "-") \(disposition ?? "-") matching", file: file, line: line)
            XCTAssertEqual(list.items, Array(matching.prefix(limit)), "\(reviewer) \(run ?? "-") \(disposition ?? "-") items", file: file, line: line)
        }
    }

    func testSignOffRulesRefusalsAndTamperDetection() throws {
        let s = try runSetup(policy: try ShippedPolicy.screeningStrict.load(), runId: "review-run")
        let workflow = ReviewWorkflow(store: s.store)
        let alice = try addReviewer(s, "alice"), bob = try addReviewer(s, "bob"), carol = try addReviewer(s, "carol")
        let operatorKey = try addReviewer(s, "operator-1")

        let queue = try workflow.queue(reviewer: "alice")
        XCTAssertFalse(queue.isEmpty, "screening-strict leaves cases for review")
        XCTAssertTrue(queue.allSatisfy { $0.runId == s.runId && ["review", "second-review", "escalate"].contains($0.disposition) })
        XCTAssertEqual(try workflow.queue(reviewer: "operator-1"), [], "the operator of a run sees none of its cases")
        let item = try XCTUnwrap(queue.first { $0.reviewersRequired >= 2 }, "a case needing two reviewers: \(queue.prefix(3))")
        let caseId = item.caseId
        let stored = try s.store.read { db in try XCTUnwrap(try CaseStore.assessment(db, runId: s.runId, caseId: caseId)) }
        XCTAssertEqual(item.disposition, stored.disposition)

        let t0 = Date(timeIntervalSince1970: 1_900_000_000)
        try assertRefused(s, { ($0 as? ReviewError) == .operatorCannotReview("operator-1") }, "operator opens") {
            _ = try workflow.open(caseId: caseId, runId: s.runId, reviewer: "operator-1", now: t0)
        }
        try assertRefused(s, { if case .notOpened = $0 as? ReviewError { return true }; return false }, "sign before open") {
            _ = try workflow.sign(self.request(s, caseId, "alice", key: alice, at: t0), storePath: "")
        }
        let opened = try workflow.open(caseId: caseId, runId: s.runId, reviewer: "alice", now: t0)
        XCTAssertTrue(opened.blinded, "screening-strict asks for a blind first read")
        XCTAssertNil(opened.report, "the blinded view carries no model answer")
        XCTAssertNotNil(opened.blindedEvidence)
        try assertRefused(s, { ($0 as? ReviewError) == .blindReadMissing(caseId: caseId) }, "sign without the blind read") {
            _ = try workflow.sign(self.request(s, caseId, "alice", key: alice, at: t0.addingTimeInterval(120)), storePath: "")
        }
        let classes = try XCTUnwrap(opened.blindedEvidence?.classes)
        _ = try workflow.blindRead(caseId: caseId, runId: s.runId, reviewer: "alice", className: classes[0], now: t0.addingTimeInterval(5))
        try assertRefused(s, { if case .tooFast = $0 as? ReviewError { return true }; return false }, "sign after 10 s (min 60 s)") {
            _ = try workflow.sign(self.request(s, caseId, "alice", key: alice, at: t0.addingTimeInterval(10)), storePath: "")
        }
        try assertRefused(s, { ($0 as? ReviewError) == .wrongPassphrase("alice") }, "wrong passphrase") {
            _ = try workflow.sign(self.request(s, caseId, "alice", key: alice, at: t0.addingTimeInterval(90), passphrase: "not the passphrase"), storePath: "")
        }
        try assertRefused(s, { if case .keyFileInvalid = $0 as? ReviewError { return true }; return false }, "bob's key file for alice") {
            _ = try workflow.sign(self.request(s, caseId, "alice", key: bob, at: t0.addingTimeInterval(90)), storePath: "")
        }
        try assertRefused(s, { ($0 as? ReviewError) == .operatorCannotReview("operator-1") }, "operator signs") {
            _ = try workflow.sign(self.request(s, caseId, "operator-1", key: operatorKey, at: t0.addingTimeInterval(90)), storePath: "")
        }

        let first = try workflow.sign(self.request(s, caseId, "alice", key: alice, at: t0.addingTimeInterval(90)), storePath: "")
        XCTAssertEqual(first.newReportVersion, 2)
        XCTAssertEqual(first.signOff.blindReadClass, classes[0])
        XCTAssertEqual(try workflow.verify().map(\.ok), [true])
        try assertRefused(s, { if case .alreadySigned = $0 as? ReviewError { return true }; if case .secondReviewerMustDiffer = $0 as? ReviewError { return true }; return false },
                          "second signature by alice") {
            _ = try workflow.sign(self.request(s, caseId, "alice", key: alice, at: t0.addingTimeInterval(200)), storePath: "")
        }
        XCTAssertFalse(try workflow.queue(reviewer: "alice").contains { $0.caseId == caseId }, "alice's signed case left her queue")
        for who in ["alice", "bob", "operator-1"] { try assertWorklistIsTheQueue(workflow, who) }
        XCTAssertTrue(try workflow.queue(reviewer: "bob").contains { $0.caseId == caseId }, "bob still sees it (second reviewer)")

        // A deactivated reviewer is refused.
        _ = try workflow.open(caseId: caseId, runId: s.runId, reviewer: "carol", now: t0)
        _ = try workflow.blindRead(caseId: caseId, runId: s.runId, reviewer: "carol", className: classes[0], now: t0.addingTimeInterval(5))
        try ReviewerRegistry(store: s.store, actor: "admin").deactivate(id: "carol", reason: "left the clinic")
        try assertRefused(s, { ($0 as? ReviewError) == .reviewerInactive("carol") }, "deactivated reviewer signs") {
            _ = try workflow.sign(self.request(s, caseId, "carol", key: carol, at: t0.addingTimeInterval(300)), storePath: "")
        }
        try assertRefused(s, { ($0 as? ReviewError) == .reviewerInactive("carol") }, "deactivated reviewer opens") {
            _ = try workflow.open(caseId: caseId, runId: s.runId, reviewer: "carol", now: t0)
        }

        // The second reviewer is accepted; the report gains a version; earlier versions stay.
        _ = try workflow.open(caseId: caseId, runId: s.runId, reviewer: "bob", now: t0.addingTimeInterval(100))
        _ = try workflow.blindRead(caseId: caseId, runId: s.runId, reviewer: "bob", className: classes[0], now: t0.addingTimeInterval(110))
        let second = try workflow.sign(self.request(s, caseId, "bob", key: bob, at: t0.addingTimeInterval(200)), storePath: "")
        XCTAssertEqual(second.newReportVersion, 3)
        let versions = try s.store.read { db in
            try Int.fetchAll(db.database, sql: "SELECT version FROM reports WHERE run_id = ? AND case_id = ? AND format = 'html' ORDER BY version", arguments: [s.runId, caseId])
        }
        XCTAssertEqual(versions, [1, 2, 3])
        XCTAssertEqual(try workflow.verify().map(\.ok), [true, true])
        let events = try s.store.read { db in try String.fetchAll(db.database, sql: "SELECT action FROM audit_events WHERE subject_id = ? ORDER BY seq", arguments: [caseId]) }
        XCTAssertEqual(events.filter { $0 == "review.sign" }.count, 2)
        XCTAssertEqual(try s.store.read { db in try AuditLog.verify(db).ok }, true)

        // Tampering, each on a fresh copy of this store state, is detected by verify and names the record.
        func tampered(_ sql: String, _ what: String, expectFailing: Int = 1) throws {
            let copy = s.dir.appendingPathComponent("tamper-\(UUID().uuidString).sqlite")
            try s.store.writer.backup(to: try DatabaseQueue(path: copy.path))
            let t = try CaseStore(path: copy.path)
            try t.writeWithoutTransaction { db in try db.execute(sql: sql) }
            let results = try ReviewWorkflow(store: t).verify()
            XCTAssertEqual(results.filter { !$0.ok }.count, expectFailing, "\(what): \(results.map { "\($0.caseId) \($0.ok) \($0.problems)" })")
            for r in results where !r.ok { XCTAssertFalse(r.problems.isEmpty, "\(what): a failure without a reason") }
        }
        // A forged signature: 64 random bytes in place of bob's.
        try tampered("UPDATE signoffs SET signature = randomblob(64) WHERE reviewer_id = 'bob'", "forged signature")
        // The report edited after signing (the version alice signed).
        try tampered("""
            UPDATE reports SET content = CAST(replace(CAST(content AS TEXT), '</body>', '<p>edited</p></body>') AS BLOB)
            WHERE run_id = '\(s.runId)' AND case_id = '\(caseId)' AND version = 1 AND format = 'html'
            """, "report changed after signing (alice signed version 1; bob, who opened later, version 2)")
        // Alice's signature replayed onto another case of the run.
        let other = try XCTUnwrap(queue.first { $0.caseId != caseId }).caseId
        try tampered("""
            INSERT INTO signoffs (run_id, case_id, reviewer_id, key_version, record, signature, report_sha256, created_at)
            SELECT run_id, '\(other)', reviewer_id, key_version, record, signature, report_sha256, created_at FROM signoffs WHERE reviewer_id = 'alice'
            """, "signature replayed onto another case")
        // Bob's signature re-attributed to carol (checked against another reviewer's key).
        try tampered("UPDATE signoffs SET reviewer_id = 'carol' WHERE reviewer_id = 'bob'", "signature attributed to another reviewer")
    }

    /// Issue 10: catch trials "look like any other case to the reviewer". The queue shows each item's
    /// disposition, required signatures and order; none of them may single out the planted cases.
    /// One workflow's queue, asked for again and again (the web app's worklist), is reused only while
    /// nothing it was derived from can have changed: a rewrite by another program, or through this
    /// store, is caught by the next request exactly as by a fresh workflow.
    func testQueueCacheNeverHidesATampering() throws {
        let s = try runSetup(policy: try ShippedPolicy.screeningStrict.load(), runId: "cache-run")
        let workflow = ReviewWorkflow(store: s.store)
        let warm = try workflow.queue(reviewer: "alice")
        let victim = try XCTUnwrap(warm.first).caseId
        XCTAssertEqual(try workflow.queue(reviewer: "alice"), warm, "unchanged store, same queue")
        XCTAssertEqual(try workflow.queue(reviewer: "bob"), warm, "the same cases for another reviewer")

        func refused(_ what: String) {
            XCTAssertThrowsError(try workflow.queue(reviewer: "alice"), what) { error in
                XCTAssertTrue("\(error)".contains(victim), "\(what): the error names the rewritten record: \(error)")
            }
        }
        // Another program (its own connection) rewrites a disposition, then puts it back.
        let other = try DatabaseQueue(path: try XCTUnwrap(s.store.path))
        try other.write { db in try db.execute(sql: "UPDATE assessments SET disposition = 'report' WHERE run_id = ? AND case_id = ?", arguments: [s.runId, victim]) }
        refused("rewritten by another connection")
        try other.write { db in try db.execute(sql: "UPDATE assessments SET disposition = ? WHERE run_id = ? AND case_id = ?", arguments: [warm[0].disposition, s.runId, victim]) }
        XCTAssertEqual(try workflow.queue(reviewer: "alice"), warm, "put back, the queue is whole again")
        // The same rewrite through this store's own connection.
        try s.store.write { db in try db.execute(sql: "UPDATE assessments SET disposition = 'report' WHERE run_id = ? AND case_id = ?", arguments: [s.runId, victim]) }
        refused("rewritten through this store")
        // Put back; then a logged change to tables the queue does not read keeps the cache.
        try s.store.write { db in try db.execute(sql: "UPDATE assessments SET disposition = ? WHERE run_id = ? AND case_id = ?", arguments: [warm[0].disposition, s.runId, victim]) }
        XCTAssertEqual(try workflow.queue(reviewer: "alice"), warm)
        try ReviewerRegistry(store: s.store, actor: "admin").add(id: "dana", name: "Dr Dana", role: "dermatologist", passphrase: passphrase,
                                                                 keyFile: s.dir.appendingPathComponent("dana.key"), cost: Self.cheapCost)
        let stamp = { try s.store.read { db in try CaseStore.changeStamp(db, tables: [.runs, .assessments, .signoffs]) } }
        let before = try stamp()
        _ = try workflow.open(caseId: victim, runId: s.runId, reviewer: "dana")
        XCTAssertEqual(try stamp(), before, "opening a case touches neither runs, assessments nor sign-offs")
        XCTAssertEqual(try workflow.queue(reviewer: "alice"), warm)
    }

    func testCatchTrialsCannotBeToldApartInTheQueue() throws {
        let strict = try ShippedPolicy.screeningStrict.load()
        let policy = try AuditPolicy.parse(strict.text.replacingOccurrences(of: "catch_trial_rate: 0.05", with: "catch_trial_rate: 0.3"),
                                           source: "catch-trial policy")
        let s = try runSetup(policy: policy, runId: "run-q8")
        let trialIds = Set(try s.store.read { db in try CaseStore.catchTrials(db) }.map(\.caseId))
        XCTAssertGreaterThan(trialIds.count, 2)
        let queue = try ReviewWorkflow(store: s.store).queue(reviewer: "someone")
        let planted = queue.filter { trialIds.contains($0.caseId) }, regular = queue.filter { !trialIds.contains($0.caseId) }
        let regularShapes = Set(regular.map { "\($0.disposition)/\($0.reviewersRequired)" })
        let telling = planted.filter { !regularShapes.contains("\($0.disposition)/\($0.reviewersRequired)") }
        XCTAssertTrue(telling.isEmpty, "\(telling.count) of \(planted.count) catch trials show a disposition/reviewer count no regular item has: \(Set(telling.map { "\($0.disposition)/\($0.reviewersRequired)" }).sorted()) vs regular \(regularShapes.sorted())")
        // Not all planted items at the end of the queue.
        let positions = queue.enumerated().filter { trialIds.contains($0.element.caseId) }.map(\.offset)
        XCTAssertNotEqual(positions, Array((queue.count - planted.count)..<queue.count), "every catch trial sits at the end of the queue")
    }

    func testCatchTrialsLookLikeQueueItemsAndAreRevealedBySignOff() throws {
        let strict = try ShippedPolicy.screeningStrict.load()
        let text = strict.text.replacingOccurrences(of: "catch_trial_rate: 0.05", with: "catch_trial_rate: 0.3")
            .replacingOccurrences(of: "blind_first_read: true", with: "blind_first_read: false")
        XCTAssertNotEqual(text, strict.text, "the shipped screening-strict policy changed its review keys")
        let policy = try AuditPolicy.parse(text, source: "catch-trial policy")
        let s = try runSetup(policy: policy, runId: "run-q7")
        let workflow = ReviewWorkflow(store: s.store)
        let trials = try s.store.read { db in try CaseStore.catchTrials(db) }
        let awaiting = try s.store.read { db in
            try Int.fetchOne(db.database, sql: "SELECT count(*) FROM assessments WHERE run_id = ? AND disposition IN ('review','second-review','escalate') AND case_id NOT IN (SELECT case_id FROM catch_trials)", arguments: [s.runId]) ?? 0
        }
        XCTAssertGreaterThan(awaiting, 10)
        XCTAssertEqual(Double(trials.count), 0.3 * Double(awaiting), accuracy: 1.0, "catch trials at the policy's rate")
        let queue = try workflow.queue(reviewer: "dana")
        let trialIds = Set(trials.map(\.caseId))
        XCTAssertTrue(trialIds.isSubset(of: Set(queue.map(\.caseId))), "every catch trial is in the queue")
        // Nothing in a queue item or its report says "catch trial".
        for item in queue where trialIds.contains(item.caseId) {
            let report = try s.store.read { db in try CaseStore.latestReport(db, runId: s.runId, caseId: item.caseId, format: .html) }
            let html = String(decoding: try XCTUnwrap(report).content, as: UTF8.self).lowercased()
            XCTAssertFalse(html.contains("catch"), "report of \(item.caseId) reveals the catch trial")
        }

        let key = try addReviewer(s, "dana")
        let t0 = Date(timeIntervalSince1970: 1_900_000_000)
        let trial = try XCTUnwrap(trials.first)
        let opened = try workflow.open(caseId: trial.caseId, runId: s.runId, reviewer: "dana", now: t0)
        XCTAssertEqual(opened.report?.prediction?.predictedClass, trial.presentedClass, "the reviewer is shown the planted wrong answer")
        XCTAssertNotEqual(trial.presentedClass, trial.trueLabel)
        let signed = try workflow.sign(request(s, trial.caseId, "dana", key: key, at: t0.addingTimeInterval(70)), storePath: "")
        let outcome = try XCTUnwrap(signed.catchTrial)
        XCTAssertFalse(outcome.detected, "agreeing with a wrong answer is not a detection")
        XCTAssertEqual(outcome.trueLabel, trial.trueLabel)
        let revealed = try s.store.read { db in
            try Row.fetchAll(db.database, sql: "SELECT payload FROM audit_events WHERE action = 'catch-trial.revealed' AND subject_id = ?", arguments: [trial.caseId])
        }
        XCTAssertEqual(revealed.count, 1)

        // A second catch trial caught by an override.
        if trials.count > 1 {
            let t2 = trials[1]
            _ = try workflow.open(caseId: t2.caseId, runId: s.runId, reviewer: "dana", now: t0)
            let caught = try workflow.sign(request(s, t2.caseId, "dana", key: key, at: t0.addingTimeInterval(80), decision: .override,
                                                   className: t2.trueLabel), storePath: "")
            XCTAssertEqual(caught.catchTrial?.detected, true)
        }
        let figures = try XCTUnwrap(try workflow.statistics(rules: ReviewWorkflow.rules(policy)).first { $0.reviewerId == "dana" })
        XCTAssertEqual(figures.catchTrials, min(trials.count, 2))
        XCTAssertEqual(figures.catchTrialsDetected, trials.count > 1 ? 1 : 0)
        XCTAssertEqual(try s.store.read { db in try AuditLog.verify(db).ok }, true)
    }
}
