import Foundation
import GRDB

/// Proofs served from the store, built over the stored leaf hashes. A verifier checks them against
/// a `VerifiedCheckpoint`; a proof built from tampered leaves will not verify.
extension AuditLog {
    /// Stored leaf hashes of entries 0..<size, in order. Throws if a row is missing.
    @_spi(Storage) public static func leafHashes(_ db: Database, size: Int) throws -> [Data] {
        var out: [Data] = []
        out.reserveCapacity(size)
        let rows = try Row.fetchCursor(db, sql: "SELECT seq, leaf_hash FROM audit_events WHERE seq < ? ORDER BY seq", arguments: [size])
        while let row = try rows.next() {
            let seq: Int = row[0]
            guard seq == out.count else { throw AuditLogError.outOfRange("event \(out.count) is missing from the log") }
            out.append(row[1])
        }
        guard out.count == size else { throw AuditLogError.outOfRange("the log has \(out.count) events, fewer than \(size)") }
        return out
    }

    /// Inclusion proof of event `seq` in the tree of the first `treeSize` events.
    @_spi(Storage) public static func inclusionProof(_ db: Database, seq: Int, treeSize: Int) throws -> [Data] {
        guard seq >= 0, seq < treeSize else { throw AuditLogError.outOfRange("event \(seq) is not in a tree of size \(treeSize)") }
        return try Merkle.inclusionProof(index: seq, leafHashes: leafHashes(db, size: treeSize))
    }

    /// Consistency proof between the trees of the first `oldSize` and `newSize` events.
    @_spi(Storage) public static func consistencyProof(_ db: Database, oldSize: Int, newSize: Int) throws -> [Data] {
        guard oldSize > 0, oldSize <= newSize else {
            throw AuditLogError.outOfRange("no consistency proof from size \(oldSize) to size \(newSize) (need 0 < M ≤ N)")
        }
        return try Merkle.consistencyProof(oldSize: oldSize, leafHashes: leafHashes(db, size: newSize))
    }

    /// The stored checkpoint of exactly `treeSize`, or nil.
    @_spi(Storage) public static func checkpoint(_ db: Database, treeSize: Int) throws -> Checkpoint? {
        try String.fetchOne(db, sql: "SELECT note FROM audit_checkpoints WHERE tree_size = ?", arguments: [treeSize]).map(Checkpoint.parse)
    }
}
