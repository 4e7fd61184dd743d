import Crypto
import CaseStore
import Foundation
import GRDB

/// The tamper-evident audit log: an RFC 9162 Merkle tree over every event, kept in the case store.
///
/// Every state change appends its event in the same write transaction as the change, so the two can
/// never disagree. Appends are O(log n): the compact range (frontier) of the tree is stored in
/// `audit_frontier` and updated in place.
public enum AuditLog {
    /// Appends one event inside the caller's write transaction and returns it as stored.
    ///
    /// `payload` is encoded with `JSONEncoder` and re-serialised as canonical JSON (`CanonicalJSON`).
    /// `time` is stored as RFC 3339 UTC with milliseconds (truncated).
    @discardableResult
    @_spi(Storage) public static func append<P: Encodable>(_ db: Database, actor: String, action: String, subject: AuditSubject,
                                            payload: P, time: Date = Date()) throws -> AuditEvent {
        let payloadBytes = try CanonicalJSON.encode(payload)
        return try appendCanonical(db, actor: actor, action: action, subject: subject,
                                   canonicalPayload: payloadBytes, time: RFC3339.string(from: time))
    }

    /// Appends with an already-canonical payload and a formatted time (the hot path).
    static func appendCanonical(_ db: Database, actor: String, action: String, subject: AuditSubject,
                                canonicalPayload: [UInt8], time: String) throws -> AuditEvent {
        let payload = String(decoding: canonicalPayload, as: UTF8.self)
        let payloadSHA = Hex.string(SHA256.hash(data: canonicalPayload))
        func leaf(at seq: Int) -> Data {
            Merkle.leafHash(AuditEvent.canonicalEntryBytes(
                seq: seq, time: time, actor: actor, action: action, subjectType: subject.type,
                subjectID: subject.id, payloadBytes: canonicalPayload, payloadSHA256: payloadSHA))
        }
        // The frontier this connection's last append wrote, if the stored row still equals it: the
        // UPDATE below only matches the row it expects (size and nodes), so a stale copy — another
        // connection appended, a savepoint or transaction rolled back — falls back to reading.
        var seq = -1, leafHash = Data(), range = CompactRange()
        if let cached = FrontierCache.shared.range(for: db) {
            seq = Int(cached.size)
            leafHash = leaf(at: seq)
            range = cached
            range.append(leafHash)
            try db.cachedStatement(sql: """
                UPDATE audit_frontier SET tree_size = ?, nodes = ? WHERE id = 1 AND tree_size = ? AND nodes = ?
                """).execute(arguments: [Int64(range.size), range.packedNodes, Int64(cached.size), cached.packedNodes])
            if db.changesCount != 1 { seq = -1 }
        }
        if seq < 0 {
            range = try frontier(db)
            seq = Int(range.size)
            leafHash = leaf(at: seq)
            range.append(leafHash)
            try db.cachedStatement(sql: """
                INSERT INTO audit_frontier (id, tree_size, nodes) VALUES (1, ?, ?)
                ON CONFLICT(id) DO UPDATE SET tree_size = excluded.tree_size, nodes = excluded.nodes
                """).execute(arguments: [Int64(range.size), range.packedNodes])
        }
        try db.cachedStatement(sql: """
            INSERT INTO audit_events (seq, time, actor, action, subject_type, subject_id, payload, payload_sha256, leaf_hash)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [seq, time, actor, action, subject.type, subject.id, payload, payloadSHA, leafHash])
        FrontierCache.shared.store(range, for: db)
        return AuditEvent(seq: seq, time: time, actor: actor, action: action, subject: subject,
                          payload: payload, payloadSHA256: payloadSHA, leafHash: leafHash)
    }

    /// The stored compact range of the whole log (empty for a new log).
    @_spi(Storage) public static func frontier(_ db: Database) throws -> CompactRange {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT tree_size, nodes FROM audit_frontier WHERE id = 1")) else {
            return CompactRange()
        }
        guard let size = Int64.fromDatabaseValue(row[0]), size >= 0 else {
            throw AuditLogError.corruptFrontier("tree size is not a non-negative integer")
        }
        let nodes = Data.fromDatabaseValue(row[1]) ?? Data()
        return try CompactRange(size: UInt64(size), packedNodes: nodes)
    }

    /// Number of events in the log (from the frontier).
    @_spi(Storage) public static func treeSize(_ db: Database) throws -> Int { Int(try frontier(db).size) }

    /// The current tree head (from the frontier).
    @_spi(Storage) public static func rootHash(_ db: Database) throws -> Data { try frontier(db).root() }

    /// Stored events with `seq >= since`, in order, at most `limit` of them.
    @_spi(Storage) public static func events(_ db: Database, since: Int = 0, limit: Int? = nil) throws -> [AuditEvent] {
        var sql = "SELECT seq, time, actor, action, subject_type, subject_id, payload, payload_sha256, leaf_hash FROM audit_events WHERE seq >= ? ORDER BY seq"
        var args: [any DatabaseValueConvertible] = [since]
        if let limit { sql += " LIMIT ?"; args.append(limit) }
        return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(args)).map(event(from:))
    }

    /// The stored event `seq`, or nil.
    @_spi(Storage) public static func event(_ db: Database, seq: Int) throws -> AuditEvent? {
        try Row.fetchOne(db, sql: "SELECT seq, time, actor, action, subject_type, subject_id, payload, payload_sha256, leaf_hash FROM audit_events WHERE seq = ?",
                         arguments: [seq]).map(event(from:))
    }

    static func event(from row: Row) -> AuditEvent {
        AuditEvent(seq: row[0], time: row[1], actor: row[2], action: row[3],
                   subject: AuditSubject(type: row[4], id: row[5]),
                   payload: row[6], payloadSHA256: row[7], leafHash: row[8] ?? Data())
    }
}

/// One connection's last written frontier (see `AuditLog.appendCanonical`). A single entry: a
/// process appends through one store connection; any other connection simply misses.
final class FrontierCache: @unchecked Sendable {
    static let shared = FrontierCache()
    private let lock = NSLock()
    private var connection: ObjectIdentifier?
    private var range: CompactRange?

    func range(for db: Database) -> CompactRange? {
        lock.lock(); defer { lock.unlock() }
        return connection == ObjectIdentifier(db) ? range : nil
    }

    func store(_ range: CompactRange, for db: Database) {
        lock.lock(); defer { lock.unlock() }
        connection = ObjectIdentifier(db)
        self.range = range
    }
}
