import AuditLog
import CaseStore
import Digests
import Foundation

/// `audit log …` as library calls: verification of the whole log, its events, checkpoints, the
/// verifier key, and inclusion and consistency proofs checked against the stored signed checkpoints.
/// Bad files and keys are `PipelineError.badInput`, absent records `.missing`; a proof or
/// verification that fails is a result (`ok`/`verified` false), not an error.
public struct LogJob {
    public var store: CaseStore

    public init(store: CaseStore) { self.store = store }

    /// Verifies every leaf, the root, every checkpoint's signature and consistency; with a trusted
    /// key file (`<name>+<key id>+<key>`) instead of the key stored in the log, and with an earlier
    /// exported checkpoint the log must extend. `progress(events)` while it runs.
    public func verify(publicKeyFile: String?, checkpointFile: String?,
                       progress: @escaping (Int) -> Void = { _ in }) throws -> LogVerificationReport {
        let trusted = try publicKeyFile.map { path in
            try Self.mapped { do { return try LogVerifierKey(string: try Self.readFile(path, what: "public key file")) } catch let e as AuditLogError {
                throw AuditLogError.invalidKey("\(path) line 1: \(e)")
            } }
        }
        let earlier = try checkpointFile.map { path in
            try Self.mapped { do { return try Checkpoint.parse(try Self.readFile(path, what: "checkpoint file")) } catch let e as AuditLogError {
                throw AuditLogError.invalidCheckpoint("\(path): \(e)")
            } }
        }
        return try store.read { db in try AuditLog.verify(db, trustedKey: trusted, earlierCheckpoint: earlier, progress: progress) }
    }

    /// Events in the log (the frontier's size; counting rows would cost a full scan).
    public func treeSize() throws -> Int { try store.read { db in try AuditLog.treeSize(db) } }

    /// One event as `audit log show --json` prints it: with its canonical entry, so anyone can
    /// recompute the tree.
    public struct Entry: Encodable, Sendable {
        public var seq: Int
        public var time: String
        public var actor: String
        public var action: String
        public var subjectType: String
        public var subjectId: String
        public var payload: String
        public var payloadSha256: String
        public var leafHash: String
        public var canonical: String

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: Key.self)
            try c.encode(seq, forKey: .seq); try c.encode(time, forKey: .time); try c.encode(actor, forKey: .actor)
            try c.encode(action, forKey: .action)
            try c.encode(["type": subjectType, "id": subjectId], forKey: .subject)
            try c.encode(payload, forKey: .payload); try c.encode(payloadSha256, forKey: .payloadSha256)
            try c.encode(leafHash, forKey: .leafHash); try c.encode(canonical, forKey: .canonical)
        }
        enum Key: String, CodingKey {
            case seq, time, actor, action, subject, payload, payloadSha256 = "payload_sha256", leafHash = "leaf_hash", canonical
        }
    }

    public struct Events: Encodable, Sendable {
        public var treeSize: Int
        public var rootHash: String
        public var events: [Entry]
        enum CodingKeys: String, CodingKey { case treeSize = "tree_size", rootHash = "root_hash", events }
    }

    public func events(since: Int, limit: Int?) throws -> Events {
        let (events, size, root) = try store.read { db in
            (try AuditLog.events(db, since: since, limit: limit), try AuditLog.treeSize(db), try AuditLog.rootHash(db))
        }
        return Events(treeSize: size, rootHash: ContentHash.hex(root), events: events.map {
            Entry(seq: $0.seq, time: $0.time, actor: $0.actor, action: $0.action, subjectType: $0.subject.type,
                  subjectId: $0.subject.id, payload: $0.payload, payloadSha256: $0.payloadSHA256,
                  leafHash: ContentHash.hex($0.leafHash), canonical: $0.canonicalEntry)
        })
    }

    /// A signed checkpoint as it is handed to an outside witness.
    public struct CheckpointNote: Sendable {
        public var origin: String
        public var treeSize: Int
        public var rootHash: String
        public var time: String?
        /// The signed note itself (C2SP tlog-checkpoint).
        public var note: String
    }

    /// Signs a checkpoint of the current tree (if it grew; else returns the latest), or with
    /// `latest` only returns the latest stored one; with `witness`, also appends it to that folder's
    /// witness file.
    public func checkpoint(latest: Bool, keyPath: String?, witness: String? = nil) throws -> CheckpointNote {
        let cp: Checkpoint
        if latest {
            guard let stored = try Self.mapped({ try store.read { db in try AuditLog.latestCheckpoint(db) } }) else {
                throw PipelineError.missing("the store has no checkpoint yet")
            }
            cp = stored
        } else {
            let signer = try Self.mapped { try LogSigner.openOrCreate(for: store, keyPath: keyPath) }
            cp = try Self.mapped { try store.signCheckpoint(signer: signer) }
        }
        if let witness { try Self.mapped { try WitnessFolder(witness).append(cp) } }
        return CheckpointNote(origin: cp.origin, treeSize: cp.treeSize, rootHash: ContentHash.hex(cp.rootHash), time: cp.time, note: cp.note)
    }

    /// The log's public key (C2SP signed-note verifier key).
    public struct Key: Sendable {
        public var name: String
        public var keyId: String
        public var publicKeyBase64: String
        /// `<name>+<key id>+<key>`.
        public var verifierKey: String
    }

    public func key() throws -> Key {
        let key = try storeKey()
        return Key(name: key.name, keyId: ContentHash.hex(key.keyID), publicKeyBase64: key.publicKey.base64EncodedString(),
                   verifierKey: key.string)
    }

    public struct InclusionProof: Encodable, Sendable {
        public var seq: Int
        public var treeSize: Int
        public var rootHash: String
        public var leafHash: String
        public var canonical: String
        /// Base64 node hashes.
        public var proof: [String]
        public var checkpoint: String
        public var verified: Bool
        enum CodingKeys: String, CodingKey {
            case seq, treeSize = "tree_size", leafHash = "leaf_hash", canonical, proof, checkpoint, verified
        }
    }

    /// Proves that event `seq` is in the tree of the signed checkpoint of `size` (default: latest).
    public func inclusion(seq: Int, size: Int?) throws -> InclusionProof {
        let cp = try verifiedCheckpoint(size: size)
        guard seq < cp.treeSize else { throw PipelineError.missing("event \(seq) is not covered by the checkpoint of size \(cp.treeSize)") }
        let (event, proof) = try Self.mapped { try store.read { db in
            (try AuditLog.event(db, seq: seq), try AuditLog.inclusionProof(db, seq: seq, treeSize: cp.treeSize))
        } }
        guard let event else { throw PipelineError.missing("event \(seq) is not in the log") }
        let leaf = event.computedLeafHash()
        var verified = true
        do { try cp.verifyInclusion(index: seq, leafHash: leaf, proof: proof) } catch { verified = false }
        return InclusionProof(seq: seq, treeSize: cp.treeSize, rootHash: ContentHash.hex(cp.rootHash), leafHash: ContentHash.hex(leaf),
                              canonical: event.canonicalEntry, proof: proof.map { $0.base64EncodedString() },
                              checkpoint: cp.checkpoint.note, verified: verified)
    }

    public struct ConsistencyProof: Encodable, Sendable {
        public var size1: Int
        public var size2: Int
        public var root1: String
        public var root2: String
        public var proof: [String]
        public var verified: Bool
    }

    /// Proves that the tree of size `m` is a prefix of the tree of size `n` (both signed checkpoints).
    public func consistency(from m: Int, to n: Int) throws -> ConsistencyProof {
        let old = try verifiedCheckpoint(size: m)
        let new = try verifiedCheckpoint(size: n)
        let proof = try Self.mapped { try store.read { db in try AuditLog.consistencyProof(db, oldSize: m, newSize: n) } }
        var verified = true
        do { try old.verifyConsistency(to: new, proof: proof) } catch { verified = false }
        return ConsistencyProof(size1: m, size2: n, root1: ContentHash.hex(old.rootHash), root2: ContentHash.hex(new.rootHash),
                                proof: proof.map { $0.base64EncodedString() }, verified: verified)
    }

    /// A stored checkpoint whose signature does not verify with the store's key: the proofs cannot stand on it.
    public struct UnverifiedCheckpoint: Error, CustomStringConvertible {
        public var description: String
    }

    /// The stored checkpoint of `size` (or the latest if nil), verified with the store's key.
    func verifiedCheckpoint(size: Int?) throws -> VerifiedCheckpoint {
        let key = try storeKey()
        let cp = try Self.mapped { try store.read { db in
            try size.map { try AuditLog.checkpoint(db, treeSize: $0) } ?? AuditLog.latestCheckpoint(db)
        } }
        guard let cp else {
            throw PipelineError.missing(size.map { "no stored checkpoint of size \($0) (sign one with `audit log checkpoint`)" }
                                        ?? "the store has no checkpoint yet (sign one with `audit log checkpoint`)")
        }
        do { return try cp.verify(with: key) } catch {
            throw UnverifiedCheckpoint(description: "stored checkpoint of size \(cp.treeSize) does not verify: \(error)")
        }
    }

    /// The store's single log key as a verifier.
    func storeKey() throws -> LogVerifierKey {
        let keys = try Self.mapped { try store.read { db in try AuditLog.registeredKeys(db) } }
        guard let key = keys.first else {
            throw PipelineError.missing("the store has no log key yet (it is created with the first checkpoint: `audit log checkpoint`)")
        }
        return key
    }

    static func readFile(_ path: String, what: String) throws -> String {
        guard FileManager.default.fileExists(atPath: path) else { throw PipelineError.missing("\(what) \(path) does not exist") }
        do { return try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw PipelineError.badInput("\(what) \(path): \(error.localizedDescription)")
        }
    }

    /// The log's errors as the job's: a range outside the log is a missing record, anything else bad input.
    static func mapped<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as AuditLogError {
            switch e {
            case .outOfRange: throw PipelineError.missing(e.description)
            default: throw PipelineError.badInput(e.description)
            }
        }
    }
}
