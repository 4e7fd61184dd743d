import Foundation
import GRDB

/// Input formats the importer reads.
public enum ImportFormat: String, Codable, Sendable, CaseIterable {
    case ucr, ts, csv

    /// `.tsv`/`.txt` → UCR, `.ts` → UEA/sktime, `.csv` → long CSV.
    public static func infer(fromPath path: String) -> ImportFormat? {
        switch (path as NSString).pathExtension.lowercased() {
        case "tsv", "txt": return .ucr
        case "ts": return .ts
        case "csv": return .csv
        default: return nil
        }
    }
}

public struct ImportOptions: Sendable {
    public var study: String
    public var split: Split
    /// nil: inferred from the file extension.
    public var format: ImportFormat?
    /// Ids become `<prefix>-<row>` (UCR, UEA) or `<prefix>-<case_id>` (CSV); default: the file stem for
    /// UCR/UEA and the file's own ids for CSV.
    public var idPrefix: String?
    /// Who verified the labels; default: the source file name.
    public var verifiedBy: String?
    /// Description for a study the import creates.
    public var studyDescription: String?
    /// Longest accepted line; a longer one is refused (memory stays bounded on hostile files).
    public var maxLineBytes: Int

    public init(study: String, split: Split, format: ImportFormat? = nil, idPrefix: String? = nil,
                verifiedBy: String? = nil, studyDescription: String? = nil, maxLineBytes: Int = 8 << 20) {
        self.study = study; self.split = split; self.format = format; self.idPrefix = idPrefix
        self.verifiedBy = verifiedBy; self.studyDescription = studyDescription; self.maxLineBytes = maxLineBytes
    }
}

/// What an import stored; the CLI logs it as the audit event's payload.
public struct ImportResult: Codable, Sendable, Equatable {
    public var file: String
    public var format: ImportFormat
    /// SHA-256 of the file's bytes (hex), as `sha256sum` prints it.
    public var sha256: String
    public var bytes: Int
    public var study: String
    public var studyCreated: Bool
    public var split: Split
    public var cases: Int
    public var scans: Int
    public var labelled: Int
    public var unlabelled: Int
    public var classCounts: [String: Int]
    public var channels: Int
    public var minLength: Int
    public var maxLength: Int
    public var scansWithMissing: Int
    public var verifiedBy: String?
    public var firstCaseId: String?
    public var lastCaseId: String?
    /// `@problemName` of a `.ts` file.
    public var problemName: String?
    public var warnings: [String]

    enum CodingKeys: String, CodingKey {
        case file, format, sha256, bytes, study, split, cases, scans, labelled, unlabelled, channels, warnings
        case studyCreated = "study_created", classCounts = "class_counts", minLength = "min_length"
        case maxLength = "max_length", scansWithMissing = "scans_with_missing", verifiedBy = "verified_by"
        case firstCaseId = "first_case_id", lastCaseId = "last_case_id", problemName = "problem_name"
    }
}

/// Imports a UCR, UEA/sktime or long-CSV file into the case store. It runs inside the caller's
/// write transaction and never commits by itself: a thrown error makes the caller's transaction roll
/// back, so the store is exactly as before. (The caller appends the audit event in the same
/// transaction.) Files are read line by line; a study the file names is created when missing, its
/// classes taken from the file's declared list or, failing that, from the labels seen (which needs
/// a first validating pass over the file).
public enum Importer {
    public static func run(_ change: StoreChange, file path: String, options: ImportOptions) throws -> ImportResult {
        let db = change.writing()
        // A savepoint inside the caller's transaction: even a caller that catches the error and goes
        // on is left without a partial import.
        var result: ImportResult?
        try db.inSavepoint {
            result = try runUnprotected(db, file: path, options: options)
            return .commit
        }
        guard let result else { throw CaseStoreError.invalid("import of \(path) produced no result") }
        return result
    }

    private static func runUnprotected(_ db: Database, file path: String, options: ImportOptions) throws -> ImportResult {
        let fileName = (path as NSString).lastPathComponent
        guard let format = options.format ?? ImportFormat.infer(fromPath: path) else {
            throw ImportError(.unsupportedFormat, file: fileName,
                              expected: "a .tsv/.txt (UCR), .ts (UEA) or .csv file, or --format",
                              found: "extension '\((path as NSString).pathExtension)'")
        }
        let parser: any SeriesParser
        switch format {
        case .ucr: parser = UCRParser()
        case .ts: parser = TSParser()
        case .csv: parser = CSVParser()
        }
        let stem = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        let now = Timestamp.now()
        let verifiedBy = options.verifiedBy ?? fileName

        // The study: existing, or created from the first case (classes declared by the file, or
        // collected as labels appear and put in order at the end — all inside this transaction).
        var study = try Study.fetchOne(db, key: options.study)
        let studyCreated = study == nil
        var collectClasses = false
        var result = ImportResult(file: fileName, format: format, sha256: "", bytes: 0, study: options.study,
                                  studyCreated: studyCreated, split: options.split, cases: 0, scans: 0,
                                  labelled: 0, unlabelled: 0, classCounts: [:], channels: study?.channels.count ?? 0,
                                  minLength: Int.max, maxLength: 0, scansWithMissing: 0, verifiedBy: nil,
                                  firstCaseId: nil, lastCaseId: nil, problemName: nil, warnings: [])
        var classSet = Set(study?.classes ?? [])
        var idsInFile = [String: Int]()
        let existsStatement = try db.cachedStatement(sql: "SELECT 1 FROM cases WHERE id = ?")
        let insertCase = try db.cachedStatement(sql: """
            INSERT INTO cases (id, study, subject, label, verified_by, verified_at, split, notes, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        let insertScan = try db.cachedStatement(sql: """
            INSERT INTO scans (case_id, scan_index, acquired_at, acquisition, length, channels, "values", has_missing)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """)
        let info = try parser.parse(path: path, maxLineBytes: options.maxLineBytes) { parsed in
            if study == nil {
                let channels = parsed.scans.first?.channels ?? 1
                let description = options.studyDescription ?? "Imported from \(fileName)"
                let s = Study(name: options.study, classes: parsed.declaredClasses ?? [],
                              channels: parsed.channelNames ?? (0..<channels).map { "ch\($0)" },
                              description: description, createdAt: now)
                try s.insert(db)
                study = s
                classSet = Set(s.classes)
                collectClasses = parsed.declaredClasses == nil
                result.channels = s.channels.count
            }
            if collectClasses, let label = parsed.label, !classSet.contains(label), var grown = study {
                classSet.insert(label)
                grown.classes.append(label)
                try grown.update(db)
                study = grown
            }
            guard let study else { throw CaseStoreError.notFound(kind: "study", id: options.study) }
            let id: String
            if let given = parsed.id {
                id = options.idPrefix.map { "\($0)-\(given)" } ?? given
            } else {
                id = "\(options.idPrefix ?? stem)-\(parsed.row)"
            }
            if let first = idsInFile[id] {
                throw ImportError(.duplicateCaseId, file: fileName, line: parsed.line, field: "case id",
                                  expected: "each case id once in the file", found: "'\(id)' again (first on line \(first))")
            }
            idsInFile[id] = parsed.line
            if try Int.fetchOne(existsStatement, arguments: [id]) != nil {
                throw ImportError(.duplicateCaseId, file: fileName, line: parsed.line, field: "case id",
                                  expected: "a case id not already in the store", found: "'\(id)', which exists")
            }
            if let label = parsed.label, !classSet.contains(label) {
                throw ImportError(.labelNotInClasses, file: fileName, line: parsed.line, field: "label",
                                  expected: "one of study '\(study.name)' classes " + study.classes.joined(separator: " "),
                                  found: label)
            }
            for scan in parsed.scans where scan.channels != study.channels.count {
                throw ImportError(.channelCount, file: fileName, line: parsed.line,
                                  expected: "\(study.channels.count) channels (study '\(study.name)')",
                                  found: "\(scan.channels)")
            }
            // Prepared statements with bound parameters: fast, and no id or label is ever spliced into SQL.
            let label = parsed.label
            try insertCase.execute(arguments: [id, study.name, parsed.subject ?? id, label,
                                               label == nil ? nil : verifiedBy, label == nil ? nil : now,
                                               options.split.rawValue, "imported from \(fileName) line \(parsed.line)", now])
            for scan in parsed.scans {
                let missing = scan.hasMissing
                try insertScan.execute(arguments: [id, scan.index, nil, "imported from \(fileName)", scan.length,
                                                   scan.channels, ScanRecord.encode(scan.values), missing])
                result.scans += 1
                if missing { result.scansWithMissing += 1 }
                result.minLength = min(result.minLength, scan.length)
                result.maxLength = max(result.maxLength, scan.length)
            }
            result.cases += 1
            if let label = parsed.label {
                result.labelled += 1
                result.classCounts[label, default: 0] += 1
            } else {
                result.unlabelled += 1
            }
            if result.firstCaseId == nil { result.firstCaseId = id }
            result.lastCaseId = id
        }
        if collectClasses, var study {
            study.classes = ClassOrder.sorted(study.classes)
            guard !study.classes.isEmpty else {
                throw ImportError(.noData, file: fileName,
                                  expected: "class labels in the file, or an existing study --study \(options.study) that lists its classes",
                                  found: "no labels")
            }
            try study.update(db)
        }
        result.sha256 = info.sha256
        result.bytes = info.bytes
        result.warnings = info.warnings
        result.problemName = info.problemName
        result.verifiedBy = result.labelled > 0 ? verifiedBy : nil
        if result.minLength == Int.max { result.minLength = 0 }
        return result
    }
}
