import GRDB

extension Schema {
    /// Embeddings of cases under a model, keyed by (model, case, scan); recomputed only when absent.
    static func createRetrieval(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE embeddings (
                model_id TEXT NOT NULL REFERENCES models(id),
                case_id TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
                scan_index INTEGER NOT NULL,
                dim INTEGER NOT NULL CHECK (dim > 0),
                vector BLOB NOT NULL CHECK (length(vector) = 4 * dim),
                PRIMARY KEY (model_id, case_id, scan_index),
                FOREIGN KEY (case_id, scan_index) REFERENCES scans(case_id, scan_index) ON DELETE CASCADE
            ) WITHOUT ROWID;
            """)
    }
}
