import GRDB

extension Schema {
    /// Reviewers, their key history (old signatures stay verifiable after rotation), review sessions,
    /// sign-offs and catch trials.
    static func createReview(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE reviewers (
                id TEXT PRIMARY KEY NOT NULL CHECK (length(id) > 0),
                name TEXT NOT NULL CHECK (length(name) > 0),
                role TEXT NOT NULL,
                active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
                created_at TEXT NOT NULL,
                deactivated_at TEXT
            );
            CREATE TABLE reviewer_keys (
                reviewer_id TEXT NOT NULL REFERENCES reviewers(id),
                version INTEGER NOT NULL CHECK (version >= 1),
                public_key BLOB NOT NULL CHECK (length(public_key) = 32),
                created_at TEXT NOT NULL,
                retired_at TEXT,
                PRIMARY KEY (reviewer_id, version)
            );
            CREATE TABLE review_sessions (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                run_id TEXT NOT NULL REFERENCES runs(id),
                case_id TEXT NOT NULL REFERENCES cases(id),
                reviewer_id TEXT NOT NULL REFERENCES reviewers(id),
                opened_at TEXT NOT NULL,
                blinded INTEGER NOT NULL CHECK (blinded IN (0, 1)),
                shown TEXT NOT NULL CHECK (json_valid(shown)),
                blind_read_class TEXT,
                blind_read_at TEXT
            );
            CREATE TABLE signoffs (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                run_id TEXT NOT NULL REFERENCES runs(id),
                case_id TEXT NOT NULL REFERENCES cases(id),
                reviewer_id TEXT NOT NULL REFERENCES reviewers(id),
                key_version INTEGER NOT NULL,
                record TEXT NOT NULL,
                signature BLOB NOT NULL CHECK (length(signature) = 64),
                report_sha256 TEXT NOT NULL,
                created_at TEXT NOT NULL,
                UNIQUE (run_id, case_id, reviewer_id)
            );
            CREATE TABLE catch_trials (
                run_id TEXT NOT NULL REFERENCES runs(id),
                case_id TEXT NOT NULL REFERENCES cases(id),
                true_label TEXT NOT NULL,
                presented_class TEXT NOT NULL,
                revealed_at TEXT,
                PRIMARY KEY (run_id, case_id)
            );
            """)
    }
}
