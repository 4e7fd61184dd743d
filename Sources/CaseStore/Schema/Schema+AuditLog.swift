import GRDB

extension Schema {
    /// The append-only event log, its stored frontier (compact range), signed checkpoints and the
    /// log's public key. Triggers refuse UPDATE and DELETE on events, checkpoints and keys (defence
    /// in depth: verification recomputes every leaf and checks every signature anyway, and catches
    /// edits made to the file by other means). The frontier alone is updated in place, by appends.
    static func createAuditLog(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE audit_events (
                seq INTEGER PRIMARY KEY NOT NULL CHECK (seq >= 0),
                time TEXT NOT NULL,
                actor TEXT NOT NULL,
                action TEXT NOT NULL,
                subject_type TEXT NOT NULL,
                subject_id TEXT NOT NULL,
                payload TEXT NOT NULL,
                payload_sha256 TEXT NOT NULL,
                leaf_hash BLOB NOT NULL CHECK (length(leaf_hash) = 32)
            );
            CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
            BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
            CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
            BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
            CREATE TABLE audit_frontier (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                tree_size INTEGER NOT NULL,
                nodes BLOB NOT NULL
            );
            CREATE TABLE audit_checkpoints (
                tree_size INTEGER PRIMARY KEY NOT NULL,
                root_hash BLOB NOT NULL CHECK (length(root_hash) = 32),
                time TEXT NOT NULL,
                note TEXT NOT NULL
            );
            CREATE TABLE audit_log_keys (
                name TEXT PRIMARY KEY NOT NULL,
                public_key BLOB NOT NULL CHECK (length(public_key) = 32),
                key_id BLOB NOT NULL CHECK (length(key_id) = 4),
                created_at TEXT NOT NULL
            );
            CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
            BEGIN SELECT RAISE(ABORT, 'signed checkpoints are append-only'); END;
            CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
            BEGIN SELECT RAISE(ABORT, 'signed checkpoints are append-only'); END;
            CREATE TRIGGER audit_log_keys_no_update BEFORE UPDATE ON audit_log_keys
            BEGIN SELECT RAISE(ABORT, 'log keys are append-only'); END;
            CREATE TRIGGER audit_log_keys_no_delete BEFORE DELETE ON audit_log_keys
            BEGIN SELECT RAISE(ABORT, 'log keys are append-only'); END;
            """)
    }
}
