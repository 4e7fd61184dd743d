import AuditLog
import CaseStore
import Cohorts
import Digests
import Foundation

/// `audit cohort generate`'s store half: writes a generated cohort into its study (labelled cases
/// verified by the generator and its seed) and logs `cohort.generate` with the cohort's parameters
/// and the SHA-256 of its canonical bytes, so anyone can regenerate it and compare.
public struct CohortJob {
    public var store: CaseStore
    public var cohort: Cohort
    public var actor: String

    public init(store: CaseStore, cohort: Cohort, actor: String) {
        self.store = store; self.cohort = cohort; self.actor = actor
    }

    /// The `cohort.generate` event's payload (with what was written).
    public struct Payload: Encodable, Sendable {
        public let generator: String
        public let seed: UInt64
        /// The generator parameters (key-sorted JSON text).
        public let parameters: String
        /// SHA-256 of the cohort's canonical bytes: regenerate with the same seed and parameters to check.
        public let cohortSHA256: String
        public var written: CasesWritten?
        enum CodingKeys: String, CodingKey {
            case generator, seed, parameters, written
            case cohortSHA256 = "cohort_sha256"
        }
    }

    public func run() throws -> (payload: Payload, study: Study, logSeq: Int) {
        let now = Timestamp.now()
        let study = Study(name: cohort.study.name, classes: cohort.study.classes, channels: cohort.study.channels,
                          description: cohort.study.description, createdAt: now)
        let generator = "cohort generate \(cohort.generator) --seed \(cohort.seed)"
        let newCases = try cohort.cases.map { c -> NewCase in
            guard let split = Split(rawValue: c.split.rawValue) else { throw PipelineError.badInput("unknown split \(c.split)") }
            let record = CaseRecord(id: c.id, study: study.name, subject: c.subject, label: c.label,
                                    verifiedBy: c.label == nil ? nil : generator,
                                    verifiedAt: c.label == nil ? nil : now, split: split, notes: c.notes, createdAt: now)
            let scans = c.scans.map { s in
                ScanRecord(caseId: c.id, scanIndex: s.index, acquiredAt: s.acquiredAt, acquisition: s.acquisition,
                           length: s.length, channels: s.channels, values: s.values)
            }
            return NewCase(record: record, scans: scans)
        }
        let canonical = try cohort.canonicalBytes()
        let payload = Payload(generator: cohort.generator, seed: cohort.seed, parameters: cohort.parametersJSON,
                              cohortSHA256: ContentHash.sha256Hex(canonical), written: nil)
        let (written, event) = try store.insertGeneratedCohort(study: study, cases: newCases, actor: actor) { w in
            var p = payload
            p.written = w
            return p
        }
        var result = payload
        result.written = written
        return (result, study, event.seq)
    }
}
