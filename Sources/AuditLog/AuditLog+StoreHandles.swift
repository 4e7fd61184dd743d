@_spi(Storage) import CaseStore
import Foundation

/// The log's operations on the store handles everyone outside `CaseStore` and `AuditLog` holds:
/// reads take a `StoreReader`, appends and checkpoints a `StoreChange` (so an event is always written
/// in the transaction of the records it vouches for). Each forwards to the connection-level
/// operation of the same name.
extension AuditLog {
    /// Appends one event in the change's transaction (see the connection-level `append`). The event
    /// attests every record the change wrote since its previous event: its payload gains
    /// `"attested": {"records": n, "sha256": …}` (the digest over the records' attestations), and the
    /// attestations themselves go to `record_attestations` under the event's seq.
    @discardableResult
    public static func append<P: Encodable>(_ change: StoreChange, actor: String, action: String, subject: AuditSubject,
                                            payload: P, time: Date = Date()) throws -> AuditEvent {
        let attestations = try change.takeAttestations()
        guard !attestations.isEmpty else {
            return try append(change.database, actor: actor, action: action, subject: subject, payload: payload, time: time)
        }
        let summary = AttestationSummary(records: attestations.count, sha256: RecordAttestation.setDigest(attestations))
        let event = try append(change.database, actor: actor, action: action, subject: subject,
                               payload: AttestedPayload(payload: payload, attested: summary), time: time)
        try CaseStore.insertAttestations(change, seq: event.seq, attestations)
        return event
    }

    /// Signs and stores a checkpoint of the log as it stands in the change's transaction.
    public static func checkpoint(_ change: StoreChange, signer: LogSigner, time: Date = Date()) throws -> Checkpoint {
        try checkpoint(change.database, signer: signer, time: time)
    }

    public static func verify(_ reader: StoreReader, trustedKey: LogVerifierKey? = nil, earlierCheckpoint: Checkpoint? = nil,
                              progress: ((Int) -> Void)? = nil) throws -> LogVerificationReport {
        try verify(reader.database, trustedKey: trustedKey, earlierCheckpoint: earlierCheckpoint, progress: progress)
    }

    public static func treeSize(_ reader: StoreReader) throws -> Int { try treeSize(reader.database) }
    public static func rootHash(_ reader: StoreReader) throws -> Data { try rootHash(reader.database) }
    public static func events(_ reader: StoreReader, since: Int = 0, limit: Int? = nil) throws -> [AuditEvent] {
        try events(reader.database, since: since, limit: limit)
    }
    public static func event(_ reader: StoreReader, seq: Int) throws -> AuditEvent? { try event(reader.database, seq: seq) }
    public static func leafHashes(_ reader: StoreReader, size: Int) throws -> [Data] { try leafHashes(reader.database, size: size) }
    public static func inclusionProof(_ reader: StoreReader, seq: Int, treeSize: Int) throws -> [Data] {
        try inclusionProof(reader.database, seq: seq, treeSize: treeSize)
    }
    public static func consistencyProof(_ reader: StoreReader, oldSize: Int, newSize: Int) throws -> [Data] {
        try consistencyProof(reader.database, oldSize: oldSize, newSize: newSize)
    }
    public static func checkpoint(_ reader: StoreReader, treeSize: Int) throws -> Checkpoint? {
        try checkpoint(reader.database, treeSize: treeSize)
    }
    public static func latestCheckpoint(_ reader: StoreReader) throws -> Checkpoint? { try latestCheckpoint(reader.database) }
    public static func checkpoints(_ reader: StoreReader) throws -> [Checkpoint] { try checkpoints(reader.database) }
    public static func registeredKeys(_ reader: StoreReader) throws -> [LogVerifierKey] { try registeredKeys(reader.database) }
}

/// What an event says about the records it attests: how many, and the digest over their
/// attestations (`RecordAttestation.setDigest`).
public struct AttestationSummary: Codable, Sendable, Equatable {
    public var records: Int
    public var sha256: String
}

/// A payload with the event's attestation summary beside its own keys.
struct AttestedPayload<P: Encodable>: Encodable {
    let payload: P
    let attested: AttestationSummary

    func encode(to encoder: Encoder) throws {
        try payload.encode(to: encoder)
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(attested, forKey: .attested)
    }
    enum Key: String, CodingKey { case attested }
}
