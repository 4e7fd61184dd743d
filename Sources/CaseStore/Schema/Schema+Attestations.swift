import GRDB

extension Schema {
    /// What each log event vouches for: one row per record an event's change wrote, with the
    /// SHA-256 of the record as stored (`RecordDigest`). The event's payload carries the count and a
    /// digest over its rows, so the log vouches for this table and the table for every record.
    /// Append-only, like the log. `attestation_start` holds the log size when attestation began: a
    /// store created before it has records no event attests, and says so rather than failing them.
    static func createAttestations(_ db: Database) throws {
        let start = try Int.fetchOne(db, sql: "SELECT tree_size FROM audit_frontier WHERE id = 1") ?? 0
        try db.execute(sql: """
            CREATE TABLE record_attestations (
                seq INTEGER NOT NULL CHECK (seq >= 0),
                tbl TEXT NOT NULL,
                record_key TEXT NOT NULL,
                sha256 TEXT NOT NULL CHECK (length(sha256) = 64),
                PRIMARY KEY (tbl, record_key, seq)
            );
            CREATE INDEX record_attestations_by_seq ON record_attestations (seq);
            CREATE TRIGGER record_attestations_no_update BEFORE UPDATE ON record_attestations
            BEGIN SELECT RAISE(ABORT, 'record attestations are append-only'); END;
            CREATE TRIGGER record_attestations_no_delete BEFORE DELETE ON record_attestations
            BEGIN SELECT RAISE(ABORT, 'record attestations are append-only'); END;
            CREATE TABLE attestation_start (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                since_seq INTEGER NOT NULL
            );
            """)
        try db.execute(sql: "INSERT INTO attestation_start (id, since_seq) VALUES (1, ?)", arguments: [start])
    }
}
