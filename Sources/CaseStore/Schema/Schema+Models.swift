import GRDB

extension Schema {
    /// Registered models. The id is the SHA-256 of the safetensors bytes, which are kept, so a model
    /// can always be re-exported and re-hashed.
    static func createModels(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE models (
                id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 64),
                study TEXT REFERENCES studies(name),
                arch TEXT NOT NULL CHECK (arch IN ('lstm', 'gru')),
                classes TEXT NOT NULL CHECK (json_valid(classes)),
                config TEXT NOT NULL CHECK (json_valid(config)),
                training TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(training)),
                metrics TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metrics)),
                weights BLOB NOT NULL,
                created_at TEXT NOT NULL
            );
            CREATE INDEX models_study ON models(study, created_at);
            """)
    }

    /// v4: models may also be LSTM-FCN. SQLite cannot change a CHECK, so the table is rebuilt
    /// (the migrator defers foreign-key checks to the end; rows, and hence their attestations, are copied unchanged).
    static func allowLSTMFCNModels(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE models_v4 (
                id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 64),
                study TEXT REFERENCES studies(name),
                arch TEXT NOT NULL CHECK (arch IN ('lstm', 'gru', 'lstm-fcn')),
                classes TEXT NOT NULL CHECK (json_valid(classes)),
                config TEXT NOT NULL CHECK (json_valid(config)),
                training TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(training)),
                metrics TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metrics)),
                weights BLOB NOT NULL,
                created_at TEXT NOT NULL
            );
            INSERT INTO models_v4 (id, study, arch, classes, config, training, metrics, weights, created_at)
                SELECT id, study, arch, classes, config, training, metrics, weights, created_at FROM models;
            DROP TABLE models;
            ALTER TABLE models_v4 RENAME TO models;
            CREATE INDEX models_study ON models(study, created_at);
            """)
    }
}
