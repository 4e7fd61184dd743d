import Digests
import Foundation
import GRDB

extension CaseStore {
    /// Cases of a study (optionally one split), in id order.
    public static func cases(_ reader: StoreReader, study: String? = nil, split: Split? = nil) throws -> [CaseRecord] {
        let db = reader.database
        var request = CaseRecord.all()
        if let study { request = request.filter(Column("study") == study) }
        if let split { request = request.filter(Column("split") == split.rawValue) }
        return try request.order(Column("id")).fetchAll(db)
    }

    public static func study(_ reader: StoreReader, named name: String) throws -> Study {
        guard let s = try existingStudy(reader, named: name) else { throw CaseStoreError.notFound(kind: "study", id: name) }
        return s
    }

    /// The study, or nil when the store has none of that name.
    public static func existingStudy(_ reader: StoreReader, named name: String) throws -> Study? {
        try Study.fetchOne(reader.database, key: name)
    }

    public static func caseRecord(_ reader: StoreReader, id: String) throws -> CaseRecord {
        let db = reader.database
        guard let c = try CaseRecord.fetchOne(db, key: id) else { throw CaseStoreError.notFound(kind: "case", id: id) }
        return c
    }

    /// A case's scans in scan order.
    public static func scans(_ reader: StoreReader, caseId: String) throws -> [ScanRecord] {
        let db = reader.database
        return try ScanRecord.filter(Column("case_id") == caseId).order(Column("scan_index")).fetchAll(db)
    }
}

/// A case with its scans, ready to be written (generated cohorts, tests).
public struct NewCase: Sendable, Equatable {
    public var record: CaseRecord
    public var scans: [ScanRecord]
    public init(record: CaseRecord, scans: [ScanRecord]) { self.record = record; self.scans = scans }
}

/// What a bulk write stored.
public struct CasesWritten: Codable, Sendable, Equatable {
    public var study: String
    public var studyCreated: Bool
    public var cases: Int
    public var scans: Int
    public var splitCounts: [String: Int]
    public var classCounts: [String: Int]

    enum CodingKeys: String, CodingKey {
        case study, cases, scans
        case studyCreated = "study_created", splitCounts = "split_counts", classCounts = "class_counts"
    }
}

/// One row of `audit cases list`: the case plus the shape of its scans, without loading values.
public struct CaseSummary: Codable, Sendable, Equatable {
    public var caseId: String
    public var study: String
    public var subject: String
    public var split: Split
    public var label: String?
    public var verifiedBy: String?
    public var scans: Int
    /// Length of the first scan.
    public var length: Int?
    public var channels: Int?
    public var hasMissing: Bool

    enum CodingKeys: String, CodingKey {
        case study, subject, split, label, scans, length, channels
        case caseId = "case_id", verifiedBy = "verified_by", hasMissing = "has_missing"
    }

    /// Every key is always present (`null` when absent), so a consumer of `cases list --json` sees
    /// `"label": null` for an unlabelled case rather than a missing key.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(caseId, forKey: .caseId); try c.encode(study, forKey: .study)
        try c.encode(subject, forKey: .subject); try c.encode(split, forKey: .split)
        try c.encode(label, forKey: .label); try c.encode(verifiedBy, forKey: .verifiedBy)
        try c.encode(scans, forKey: .scans); try c.encode(length, forKey: .length)
        try c.encode(channels, forKey: .channels); try c.encode(hasMissing, forKey: .hasMissing)
    }
}

/// Per-study figures for `audit store info`.
public struct StudyOverview: Codable, Sendable, Equatable {
    public var name: String
    public var classes: [String]
    public var channels: [String]
    public var description: String
    public var cases: Int
    public var scans: Int
    public var splitCounts: [String: Int]
    public var classCounts: [String: Int]
    public var unlabelled: Int

    enum CodingKeys: String, CodingKey {
        case name, classes, channels, description, cases, scans, unlabelled
        case splitCounts = "split_counts", classCounts = "class_counts"
    }
}

extension CaseStore {
    /// Writes `cases` (and their scans) into `study` inside the caller's transaction: the study is
    /// created when missing and must otherwise have the same classes and channels; an id already in
    /// the store is refused. A thrown error rolls the caller's transaction back.
    public static func insertCases(_ change: StoreChange, study: Study, cases: [NewCase]) throws -> CasesWritten {
        let db = change.writing()
        var written: CasesWritten?
        try db.inSavepoint {
            written = try insertCasesUnprotected(db, study: study, cases: cases)
            return .commit
        }
        guard let written else { throw CaseStoreError.invalid("writing cases of \(study.name) produced no result") }
        return written
    }

    private static func insertCasesUnprotected(_ db: Database, study: Study, cases: [NewCase]) throws -> CasesWritten {
        var studyCreated = false
        if let existing = try Study.fetchOne(db, key: study.name) {
            guard existing.classes == study.classes, existing.channels == study.channels else {
                throw CaseStoreError.invalid(
                    "study '\(study.name)' exists with classes [\(existing.classes.joined(separator: ", "))] and "
                    + "channels [\(existing.channels.joined(separator: ", "))]; the new cases need classes "
                    + "[\(study.classes.joined(separator: ", "))] and channels [\(study.channels.joined(separator: ", "))]")
            }
        } else {
            try study.insert(db)
            studyCreated = true
        }
        var result = CasesWritten(study: study.name, studyCreated: studyCreated, cases: 0, scans: 0,
                                  splitCounts: [:], classCounts: [:])
        for c in cases {
            guard c.record.study == study.name else {
                throw CaseStoreError.invalid("case '\(c.record.id)' belongs to study '\(c.record.study)', not '\(study.name)'")
            }
            if try CaseRecord.exists(db, key: c.record.id) {
                throw CaseStoreError.invalid("case id '\(c.record.id)' already exists in the case store")
            }
            if let label = c.record.label, !study.classes.contains(label) {
                throw CaseStoreError.invalid("case '\(c.record.id)': label '\(label)' is not one of the study's classes")
            }
            try c.record.insert(db)
            for s in c.scans {
                guard s.caseId == c.record.id, s.channels == study.channels.count else {
                    throw CaseStoreError.invalid("case '\(c.record.id)' scan \(s.scanIndex): \(s.channels) channels, study has \(study.channels.count)")
                }
                try s.insert(db)
            }
            result.cases += 1
            result.scans += c.scans.count
            result.splitCounts[c.record.split.rawValue, default: 0] += 1
            if let l = c.record.label { result.classCounts[l, default: 0] += 1 }
        }
        return result
    }

    /// Case summaries (id order), optionally for one study and/or split.
    public static func caseSummaries(_ reader: StoreReader, study: String? = nil, split: Split? = nil) throws -> [CaseSummary] {
        let db = reader.database
        var conditions: [String] = []
        var arguments: StatementArguments = []
        if let study { conditions.append("c.study = ?"); _ = arguments.append(contentsOf: [study]) }
        if let split { conditions.append("c.split = ?"); _ = arguments.append(contentsOf: [split.rawValue]) }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let sql = """
            SELECT c.id, c.study, c.subject, c.split, c.label, c.verified_by,
                   (SELECT COUNT(*) FROM scans s WHERE s.case_id = c.id) AS scan_count,
                   (SELECT s.length FROM scans s WHERE s.case_id = c.id ORDER BY s.scan_index LIMIT 1) AS first_length,
                   (SELECT s.channels FROM scans s WHERE s.case_id = c.id ORDER BY s.scan_index LIMIT 1) AS first_channels,
                   (SELECT COALESCE(MAX(s.has_missing), 0) FROM scans s WHERE s.case_id = c.id) AS any_missing
            FROM cases c \(whereClause) ORDER BY c.id
            """
        return try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
            let splitText: String = row["split"]
            guard let split = Split(rawValue: splitText) else {
                throw CaseStoreError.invalid("case '\(row["id"] as String)' has an unknown split '\(splitText)'")
            }
            return CaseSummary(caseId: row["id"], study: row["study"], subject: row["subject"], split: split,
                               label: row["label"], verifiedBy: row["verified_by"], scans: row["scan_count"],
                               length: row["first_length"], channels: row["first_channels"],
                               hasMissing: (row["any_missing"] as Int) != 0)
        }
    }

    /// Every study with its case counts per split and class.
    public static func studyOverviews(_ reader: StoreReader) throws -> [StudyOverview] {
        let db = reader.database
        return try Study.order(Column("name")).fetchAll(db).map { s in
            var summary = StudyOverview(name: s.name, classes: s.classes, channels: s.channels, description: s.description,
                                       cases: 0, scans: 0, splitCounts: [:], classCounts: [:], unlabelled: 0)
            for row in try Row.fetchAll(db, sql: "SELECT split, label, COUNT(*) AS n FROM cases WHERE study = ? GROUP BY split, label",
                                        arguments: [s.name]) {
                let n: Int = row["n"]
                summary.cases += n
                summary.splitCounts[row["split"], default: 0] += n
                if let label: String = row["label"] { summary.classCounts[label, default: 0] += n } else { summary.unlabelled += n }
            }
            summary.scans = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM scans JOIN cases ON cases.id = scans.case_id WHERE cases.study = ?",
                                             arguments: [s.name]) ?? 0
            return summary
        }
    }
}

extension CaseStore {
    /// Moves a seeded share of a split's subjects (all their cases together, so no subject straddles two
    /// splits) to another split. The order is a keyed hash of (seed, subject): reproducible and blind to
    /// labels. Returns the moved case ids in id order; the caller logs them in the same transaction.
    public static func reassignSplit(_ change: StoreChange, study: String, from: Split, to: Split, fraction: Double,
                                     seed: UInt64) throws -> [String] {
        let db = change.writing()
        guard fraction > 0, fraction <= 1 else { throw CaseStoreError.invalid("fraction must lie in (0, 1], got \(fraction)") }
        guard from != to else { throw CaseStoreError.invalid("--from and --to name the same split") }
        _ = try Self.study(change, named: study)
        let cases = try Self.cases(change, study: study, split: from)
        let bySubject = Dictionary(grouping: cases, by: \.subject)
        let order = bySubject.keys.sorted {
            (ContentHash.sha256Hex(Data("\(seed)\u{0}\($0)".utf8)), $0) < (ContentHash.sha256Hex(Data("\(seed)\u{0}\($1)".utf8)), $1)
        }
        let target = Int((Double(cases.count) * fraction).rounded())
        var moved: [String] = []
        for subject in order where moved.count < target {
            moved += bySubject[subject, default: []].map(\.id)
        }
        for id in moved {
            try db.execute(sql: "UPDATE cases SET split = ? WHERE id = ?", arguments: [to.rawValue, id])
        }
        return moved.sorted()
    }
}
