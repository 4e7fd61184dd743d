import CaseStore
import Foundation

/// What assessing one case produced: the assessment document and the reports rendered from it.
/// The runner stores all of it, with its audit event, in one transaction.
public struct CaseOutcome: Sendable {
    public var caseId: String
    public var disposition: String
    /// Canonical JSON (sorted keys) of the assessment; contains no wall-clock time, so a resumed run
    /// produces the same bytes as an uninterrupted one.
    public var assessmentJSON: Data
    public var html: Data
    public var xml: Data
    /// Ids of the checks that decided the disposition (for the closing summary).
    public var decidingChecks: [String]
    /// Hashes of what went in (scans, model, calibrator, policy), for the audit event.
    public var inputHashes: [String: String]

    public init(caseId: String, disposition: String, assessmentJSON: Data, html: Data, xml: Data,
                decidingChecks: [String], inputHashes: [String: String]) {
        self.caseId = caseId; self.disposition = disposition; self.assessmentJSON = assessmentJSON
        self.html = html; self.xml = xml; self.decidingChecks = decidingChecks; self.inputHashes = inputHashes
    }
}

/// Assesses one case of a run. Implementations must be deterministic given the store's contents and
/// the assessments already stored for the run (the runner resumes from those).
public protocol CaseAssessor {
    /// Restores state carried from case to case (e.g. the drift monitor) from the run's stored assessments.
    func resume(from stored: [AssessmentRecord]) throws
    func assess(_ db: StoreReader, caseRecord: CaseRecord, position: Int, runId: String) throws -> CaseOutcome
    /// The sequential part of assessing a case (everything that depends on the cases before it);
    /// `logSequence` is the log position its event will take. The returned `finish` (rendering,
    /// encoding) depends on nothing else and may run on another thread.
    func prepare(_ db: StoreReader, caseRecord: CaseRecord, position: Int, runId: String, logSequence: Int) throws -> PreparedOutcome
}

/// A case whose remaining work is pure.
public struct PreparedOutcome {
    public let finish: () throws -> CaseOutcome
    public init(finish: @escaping () throws -> CaseOutcome) { self.finish = finish }

    /// Finishes every item on all cores; results in the items' order.
    static func finishAll(_ items: [PreparedOutcome]) -> [Result<CaseOutcome, Error>] {
        var results = [Result<CaseOutcome, Error>](repeating: .failure(CancellationError()), count: items.count)
        results.withUnsafeMutableBufferPointer { slots in
            DispatchQueue.concurrentPerform(iterations: items.count) { i in slots[i] = Result { try items[i].finish() } }
        }
        return results
    }
}

extension CaseAssessor {
    /// Assessors without a split do all the work up front.
    public func prepare(_ db: StoreReader, caseRecord: CaseRecord, position: Int, runId: String, logSequence: Int) throws -> PreparedOutcome {
        let outcome = try assess(db, caseRecord: caseRecord, position: position, runId: runId)
        return PreparedOutcome { outcome }
    }
}
