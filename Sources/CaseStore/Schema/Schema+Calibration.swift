import GRDB

extension Schema {
    /// Fitted calibrators, tied to the model and to the content hash of the calibration set.
    static func createCalibration(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE calibrators (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                model_id TEXT NOT NULL REFERENCES models(id),
                study TEXT NOT NULL REFERENCES studies(name),
                method TEXT NOT NULL,
                parameters TEXT NOT NULL CHECK (json_valid(parameters)),
                calibration_split TEXT NOT NULL,
                calibration_n INTEGER NOT NULL CHECK (calibration_n >= 0),
                calibration_sha256 TEXT NOT NULL,
                conformal TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(conformal)),
                metrics TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metrics)),
                fitted_at TEXT NOT NULL
            );
            CREATE INDEX calibrators_model ON calibrators(model_id, fitted_at);
            """)
    }
}
