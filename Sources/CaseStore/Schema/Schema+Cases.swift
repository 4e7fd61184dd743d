import GRDB

extension Schema {
    /// Studies, cases and scans. Integrity rules live in the schema (CHECK, foreign keys, triggers),
    /// not only in Swift, so that no writer can store a case the model could never have seen.
    static func createCases(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE studies (
                name TEXT PRIMARY KEY NOT NULL CHECK (length(name) > 0),
                classes TEXT NOT NULL CHECK (json_valid(classes) AND json_type(classes) = 'array'),
                channels TEXT NOT NULL CHECK (json_valid(channels) AND json_type(channels) = 'array'),
                description TEXT NOT NULL DEFAULT '',
                created_at TEXT NOT NULL
            );
            CREATE TABLE cases (
                id TEXT PRIMARY KEY NOT NULL CHECK (length(id) > 0),
                study TEXT NOT NULL REFERENCES studies(name) ON DELETE RESTRICT,
                subject TEXT NOT NULL CHECK (length(subject) > 0),
                label TEXT,
                verified_by TEXT,
                verified_at TEXT,
                split TEXT NOT NULL CHECK (split IN
                    ('train', 'validation', 'calibration', 'reference', 'test', 'incoming')),
                notes TEXT NOT NULL DEFAULT '',
                created_at TEXT NOT NULL,
                CHECK (verified_by IS NULL OR label IS NOT NULL),
                CHECK ((verified_by IS NULL) = (verified_at IS NULL))
            );
            CREATE INDEX cases_study_split ON cases(study, split);
            CREATE INDEX cases_subject ON cases(subject);
            CREATE TRIGGER cases_label_in_study_classes_insert
            BEFORE INSERT ON cases
            WHEN NEW.label IS NOT NULL AND NOT EXISTS (
                SELECT 1 FROM studies s, json_each(s.classes) c
                WHERE s.name = NEW.study AND c.value = NEW.label)
            BEGIN SELECT RAISE(ABORT, 'label is not one of the study''s classes'); END;
            CREATE TRIGGER cases_label_in_study_classes_update
            BEFORE UPDATE OF label, study ON cases
            WHEN NEW.label IS NOT NULL AND NOT EXISTS (
                SELECT 1 FROM studies s, json_each(s.classes) c
                WHERE s.name = NEW.study AND c.value = NEW.label)
            BEGIN SELECT RAISE(ABORT, 'label is not one of the study''s classes'); END;
            CREATE TABLE scans (
                case_id TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
                scan_index INTEGER NOT NULL CHECK (scan_index >= 0),
                acquired_at TEXT,
                acquisition TEXT NOT NULL DEFAULT '',
                length INTEGER NOT NULL CHECK (length > 0),
                channels INTEGER NOT NULL CHECK (channels > 0),
                "values" BLOB NOT NULL CHECK (length("values") = 4 * length * channels),
                has_missing INTEGER NOT NULL CHECK (has_missing IN (0, 1)),
                PRIMARY KEY (case_id, scan_index)
            ) WITHOUT ROWID;
            """)
    }
}
