import GRDB

extension Schema {
    /// Runs of `audit run`, one assessment per (run, case), and every report version written.
    static func createRuns(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE runs (
                id TEXT PRIMARY KEY NOT NULL CHECK (length(id) > 0),
                study TEXT NOT NULL REFERENCES studies(name),
                model_id TEXT REFERENCES models(id),
                calibrator_id INTEGER REFERENCES calibrators(id),
                policy_name TEXT NOT NULL,
                policy_sha256 TEXT NOT NULL CHECK (length(policy_sha256) = 64),
                policy_text TEXT NOT NULL,
                operator TEXT NOT NULL,
                parameters TEXT NOT NULL CHECK (json_valid(parameters)),
                status TEXT NOT NULL CHECK (status IN ('running', 'completed')),
                out_dir TEXT,
                started_at TEXT NOT NULL,
                finished_at TEXT
            );
            CREATE TABLE assessments (
                run_id TEXT NOT NULL REFERENCES runs(id),
                case_id TEXT NOT NULL REFERENCES cases(id),
                position INTEGER NOT NULL,
                disposition TEXT NOT NULL CHECK (disposition IN
                    ('report', 'review', 'second-review', 'escalate', 'abstain')),
                assessment TEXT NOT NULL CHECK (json_valid(assessment)),
                assessment_sha256 TEXT NOT NULL,
                created_at TEXT NOT NULL,
                PRIMARY KEY (run_id, case_id)
            );
            CREATE TABLE reports (
                run_id TEXT NOT NULL REFERENCES runs(id),
                case_id TEXT,
                version INTEGER NOT NULL CHECK (version >= 1),
                format TEXT NOT NULL CHECK (format IN ('html', 'xml')),
                sha256 TEXT NOT NULL CHECK (length(sha256) = 64),
                content BLOB NOT NULL,
                created_at TEXT NOT NULL,
                UNIQUE (run_id, case_id, version, format)
            );
            """)
    }
}
