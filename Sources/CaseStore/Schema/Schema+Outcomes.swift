import GRDB

extension Schema {
    /// Ground truth that arrives after a case was assessed (a biopsy result, a follow-up). Append-only:
    /// a correction is a new row naming the row it supersedes and why, so no outcome is overwritten.
    static func createOutcomes(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE outcomes (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                case_id TEXT NOT NULL REFERENCES cases(id),
                label TEXT NOT NULL CHECK (length(label) > 0),
                source TEXT NOT NULL CHECK (length(source) > 0),
                verified_by TEXT NOT NULL CHECK (length(verified_by) > 0),
                verified_at TEXT NOT NULL,
                recorded_at TEXT NOT NULL,
                supersedes INTEGER REFERENCES outcomes(id) UNIQUE,
                reason TEXT,
                CHECK ((supersedes IS NULL) = (reason IS NULL))
            );
            CREATE INDEX outcomes_case ON outcomes(case_id, id);
            """)
    }
}
