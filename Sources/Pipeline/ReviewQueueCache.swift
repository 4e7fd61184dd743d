import CaseStore
import Foundation

/// The review queue as last derived from the stored runs, assessments and sign-offs and checked
/// against their attestations, kept while none of those tables can have changed (`ChangeStamp`: no
/// commit of this store touched them and no other connection committed anything). A worklist asked
/// for by many reviewers at once is then derived once per change, not once per request; any write
/// to those records, a tampering by another program included, makes the next request derive and
/// check everything again.
public final class ReviewQueueCache: @unchecked Sendable {
    private let lock = NSLock()
    private var stamp: ChangeStamp?
    private var entry = Entry(runs: [])

    /// The waiting cases by run (the queue's order), all of them most urgent first (the worklist's),
    /// the count per run and disposition, and for each reviewer the waiting cases they signed: what a
    /// reviewer's worklist leaves out is then found without visiting every case.
    struct Entry: Sendable {
        typealias Waiting = (item: ReviewWorkflow.QueueItem, signers: [String], operatorId: String)
        var runs: [ReviewWorkflow.WaitingRun]
        var mostUrgentFirst: [Waiting]
        var counts: [String: [String: Int]] = [:]
        var signedBy: [String: [ReviewWorkflow.QueueItem]] = [:]
        var operators: [String: String] = [:]

        init(runs: [ReviewWorkflow.WaitingRun]) {
            self.runs = runs
            mostUrgentFirst = ReviewWorkflow.mostUrgentFirst(runs)
            for w in mostUrgentFirst {
                counts[w.item.runId, default: [:]][w.item.disposition, default: 0] += 1
                operators[w.item.runId] = w.operatorId
                for s in w.signers { signedBy[s, default: []].append(w.item) }
            }
        }
    }

    public init() {}

    static let tables: [AttestedTable] = [.runs, .assessments, .signoffs]

    /// The cached waiting cases when the stamp still holds in `db`'s read, else `derive()`'s.
    func waiting(_ db: StoreReader, derive: () throws -> [ReviewWorkflow.WaitingRun]) throws -> Entry {
        let now = try CaseStore.changeStamp(db, tables: Self.tables)
        lock.lock()
        if stamp == now { defer { lock.unlock() }; return entry }
        lock.unlock()
        let runs = try derive()
        let fresh = Entry(runs: runs)
        lock.lock()
        stamp = now
        entry = fresh
        lock.unlock()
        return fresh
    }
}
