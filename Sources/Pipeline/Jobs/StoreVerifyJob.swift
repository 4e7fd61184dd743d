import AuditLog
import CaseStore
import Foundation

/// `audit store verify`: the log proves itself (every leaf, root, checkpoint signature, and that it
/// extends an earlier exported or witnessed checkpoint), and then vouches for every record: each
/// is compared with the newest event that attests it (`AuditLog.verifyRecords`).
public struct StoreVerifyJob {
    public var store: CaseStore
    /// A trusted verifier key file, instead of the key stored in the log.
    public var publicKeyFile: String?
    /// An exported checkpoint the log must extend.
    public var checkpointFile: String?
    /// A witness folder whose newest checkpoint the log must extend.
    public var witness: String?

    public init(store: CaseStore, publicKeyFile: String? = nil, checkpointFile: String? = nil, witness: String? = nil) {
        self.store = store; self.publicKeyFile = publicKeyFile; self.checkpointFile = checkpointFile; self.witness = witness
    }

    public struct Report: Encodable, Sendable {
        public var ok: Bool
        /// The first problem found, in words (log problems first: the records' proof rests on the log).
        public var firstProblem: String?
        public var log: LogVerificationReport
        public var records: RecordVerificationReport
        /// The witness folder and the size of its newest checkpoint (nil: it holds none yet).
        public var witness: String?
        public var witnessedSize: Int?
        /// What this verification could not check, and why.
        public var notes: [String]

        enum CodingKeys: String, CodingKey {
            case ok, firstProblem = "first_problem", log, records, witness, witnessedSize = "witnessed_size", notes
        }
    }

    /// `progress(done)` over events, then over records.
    public func run(progress: @escaping (String, Int) -> Void = { _, _ in }) throws -> Report {
        var notes: [String] = []
        var earlierFile = checkpointFile
        var witnessedSize: Int?
        var temporary: URL?
        defer { if let temporary { try? FileManager.default.removeItem(at: temporary) } }
        if let witness {
            let newest: Checkpoint?
            do { newest = try WitnessFolder(witness).newest() } catch { throw PipelineError.badInput("\(error)") }
            if let newest {
                witnessedSize = newest.treeSize
                let file = FileManager.default.temporaryDirectory.appendingPathComponent("witnessed-\(UUID().uuidString).checkpoint")
                try Data(newest.note.utf8).write(to: file)
                temporary = file
                earlierFile = file.path
            } else {
                notes.append("the witness folder \(witness) holds no checkpoint yet: a rollback of this store cannot be detected until one is witnessed (`audit log checkpoint --witness`)")
            }
        }
        let log = try LogJob(store: store).verify(publicKeyFile: publicKeyFile, checkpointFile: earlierFile) { progress("events", $0) }
        let records = try store.read { db in try AuditLog.verifyRecords(db) { progress("records", $0) } }
        if publicKeyFile == nil {
            notes.append("checkpoint signatures were checked with the key stored in the log; give --public-key with a key kept elsewhere to rule out a replaced key")
        }
        if records.attestedSince > 0 {
            notes.append("records were attested from log event \(records.attestedSince) on; \(records.unattestedBeforeStart) records written before that are not checked")
        }
        let first = log.failures.first.map { "log: \($0)" } ?? records.problems.first.map(\.description)
        return Report(ok: log.ok && records.ok, firstProblem: first, log: log, records: records, witness: witness,
                      witnessedSize: witnessedSize, notes: notes)
    }
}
