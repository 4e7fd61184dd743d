import Digests
import Foundation
import GRDB
import JSONText

/// The tables whose every record a log event vouches for, each with the columns that name a record.
public enum AttestedTable: String, CaseIterable, Sendable {
    case studies, cases, scans, models, calibrators, embeddings, runs, assessments, reports
    case reviewers, reviewerKeys = "reviewer_keys", reviewSessions = "review_sessions", signoffs
    case catchTrials = "catch_trials"
    case outcomes

    public var keyColumns: [String] {
        switch self {
        case .studies: return ["name"]
        case .cases, .models, .calibrators, .runs, .reviewers, .reviewSessions, .signoffs, .outcomes: return ["id"]
        case .scans: return ["case_id", "scan_index"]
        case .embeddings: return ["model_id", "case_id", "scan_index"]
        case .assessments, .catchTrials: return ["run_id", "case_id"]
        case .reports: return ["run_id", "case_id", "version", "format"]
        case .reviewerKeys: return ["reviewer_id", "version"]
        }
    }
}

/// One record as an event attests it: table, key and the SHA-256 of the stored row.
public struct RecordAttestation: Sendable, Equatable, Hashable {
    public var table: String
    /// The record's key columns as a JSON array of their values (`["run-1","case-7"]`).
    public var key: String
    public var sha256: String

    public init(table: String, key: String, sha256: String) {
        self.table = table; self.key = key; self.sha256 = sha256
    }

    /// The digest an event's payload carries over its attestations (sorted by table, then key).
    public static func setDigest(_ attestations: [RecordAttestation]) -> String {
        var h = ContentHash.Hasher()
        for a in attestations.sorted(by: { ($0.table, $0.key) < ($1.table, $1.key) }) {
            h.update(Data("\(a.table)\t\(a.key)\t\(a.sha256)\n".utf8))
        }
        return h.finalize()
    }
}

/// The SHA-256 of a record exactly as stored: every column, by name, with its storage class and
/// bytes, in the table's column order. Any edit of any column — a label, a disposition, a report's
/// bytes, a key — changes it.
public enum RecordDigest {
    public static func sha256(_ row: Row) -> String {
        var h = ContentHash.Hasher()
        for (name, value) in row {
            h.update(Data(name.utf8)); h.update([0])
            switch value.storage {
            case .null: h.update([UInt8(ascii: "N")])
            case .int64(let i): h.update([UInt8(ascii: "I")]); h.update(withUnsafeBytes(of: i.littleEndian) { Data($0) })
            case .double(let d): h.update([UInt8(ascii: "D")]); h.update(withUnsafeBytes(of: d.bitPattern.littleEndian) { Data($0) })
            case .string(let s):
                let bytes = Data(s.utf8)
                h.update([UInt8(ascii: "S")]); h.update(withUnsafeBytes(of: UInt64(bytes.count).littleEndian) { Data($0) }); h.update(bytes)
            case .blob(let b):
                h.update([UInt8(ascii: "B")]); h.update(withUnsafeBytes(of: UInt64(b.count).littleEndian) { Data($0) }); h.update(b)
            }
        }
        return h.finalize()
    }

    /// The record's key: its key columns' values as a JSON array (numbers as numbers, NULL as null).
    public static func key(_ row: Row, table: AttestedTable) -> String {
        "[" + table.keyColumns.map { column -> String in
            switch (row[column] as DatabaseValue).storage {
            case .null: return "null"
            case .int64(let i): return String(i)
            case .double(let d): return String(d)
            case .string(let s): return jsonString(s)
            case .blob(let b): return jsonString(ContentHash.hex(b))
            }
        }.joined(separator: ",") + "]"
    }

    static func jsonString(_ s: String) -> String {
        var out: [UInt8] = []
        JSONString.append(s, to: &out)
        return String(decoding: out, as: UTF8.self)
    }
}

/// Collects the records each write transaction touches (SQLite's change notifications, through
/// GRDB), so the event appended for a change attests exactly what it wrote — including rows written
/// by raw statements — and a change that touches a record without an event can be refused.
///
/// SQLite reports no changes for tables WITHOUT ROWID: scans are attested with the case they are
/// written with (every write of scans writes their case), embeddings by the keys `saveEmbeddings`
/// names (`touch`).
final class TouchedRecords: TransactionObserver, @unchecked Sendable {
    private(set) var rows: [(table: AttestedTable, rowID: Int64)] = []
    private(set) var keyed: [(table: AttestedTable, key: [DatabaseValue])] = []
    private(set) var deletions: [(table: AttestedTable, rowID: Int64)] = []

    func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool {
        AttestedTable(rawValue: eventKind.tableName) != nil
    }

    func databaseDidChange(with event: DatabaseEvent) {
        guard let table = AttestedTable(rawValue: event.tableName) else { return }
        if event.kind == .delete { deletions.append((table, event.rowID)) } else { rows.append((table, event.rowID)) }
    }

    /// A record of a WITHOUT ROWID table written by key.
    func touch(_ table: AttestedTable, key: [DatabaseValue]) { keyed.append((table, key)) }

    var isEmpty: Bool { rows.isEmpty && deletions.isEmpty && keyed.isEmpty }
    func reset() { rows = []; deletions = []; keyed = [] }
    func databaseDidCommit(_ db: Database) { reset() }
    func databaseDidRollback(_ db: Database) { reset() }

    /// The touched records' attestations (each record once, as it stands now), and forget them.
    func take(_ db: Database) throws -> [RecordAttestation] {
        guard deletions.isEmpty else {
            throw CaseStoreError.invalid("a change deleted \(deletions.count) attested record(s); records are never deleted")
        }
        var seen = Set<String>(), out: [RecordAttestation] = []
        func attest(_ row: Row, _ table: AttestedTable) {
            let key = RecordDigest.key(row, table: table)
            guard seen.insert(table.rawValue + "\u{1F}" + key).inserted else { return }
            out.append(RecordAttestation(table: table.rawValue, key: key, sha256: RecordDigest.sha256(row)))
        }
        var cases: [String] = []
        for (table, rowID) in rows {
            let statement = try db.cachedStatement(sql: "SELECT * FROM \(table.rawValue) WHERE rowid = ?")
            guard let row = try Row.fetchOne(statement, arguments: [rowID]) else { continue }
            attest(row, table)
            if table == .cases { cases.append(row["id"]) }
        }
        let scans = try db.cachedStatement(sql: "SELECT * FROM scans WHERE case_id = ? ORDER BY scan_index")
        for id in cases {
            for row in try Row.fetchAll(scans, arguments: [id]) { attest(row, .scans) }
        }
        for (table, key) in keyed {
            let condition = table.keyColumns.map { "\"\($0)\" = ?" }.joined(separator: " AND ")
            guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM \(table.rawValue) WHERE \(condition)"),
                                             arguments: StatementArguments(key)) else { continue }
            attest(row, table)
        }
        reset()
        return out.sorted { ($0.table, $0.key) < ($1.table, $1.key) }
    }
}

extension CaseStore {
    /// Stores the attestations of event `seq` (the log's append calls this; nothing else may).
    @_spi(Storage) public static func insertAttestations(_ change: StoreChange, seq: Int, _ attestations: [RecordAttestation]) throws {
        let statement = try change.database.cachedStatement(
            sql: "INSERT INTO record_attestations (seq, tbl, record_key, sha256) VALUES (?, ?, ?, ?)")
        for a in attestations { try statement.execute(arguments: [seq, a.table, a.key, a.sha256]) }
    }
}

/// A record by its key, for checking it against its attestation before it is used.
public enum RecordRef: Sendable, Equatable {
    case study(String)
    case `case`(String)
    case scan(caseId: String, index: Int)
    case model(String)
    case calibrator(Int64)
    case embedding(modelId: String, caseId: String, scan: Int)
    case run(String)
    case assessment(runId: String, caseId: String)
    case report(runId: String, caseId: String?, version: Int, format: String)
    case reviewer(String)
    case reviewerKey(reviewerId: String, version: Int)
    case reviewSession(Int64)
    case signoff(Int64)
    case catchTrial(runId: String, caseId: String)
    case outcome(Int64)

    var table: AttestedTable {
        switch self {
        case .study: return .studies
        case .case: return .cases
        case .scan: return .scans
        case .model: return .models
        case .calibrator: return .calibrators
        case .embedding: return .embeddings
        case .run: return .runs
        case .assessment: return .assessments
        case .report: return .reports
        case .reviewer: return .reviewers
        case .reviewerKey: return .reviewerKeys
        case .reviewSession: return .reviewSessions
        case .signoff: return .signoffs
        case .catchTrial: return .catchTrials
        case .outcome: return .outcomes
        }
    }

    var keyValues: [DatabaseValueConvertible?] {
        switch self {
        case .study(let s), .case(let s), .model(let s), .run(let s), .reviewer(let s): return [s]
        case .scan(let c, let i): return [c, i]
        case .calibrator(let i), .reviewSession(let i), .signoff(let i), .outcome(let i): return [i]
        case .embedding(let m, let c, let s): return [m, c, s]
        case .assessment(let r, let c), .catchTrial(let r, let c): return [r, c]
        case .report(let r, let c, let v, let f): return [r, c, v, f]
        case .reviewerKey(let r, let v): return [r, v]
        }
    }
}

extension CaseStore {
    /// Refuses a record that differs from what its newest attesting event says, or that no event
    /// attests in a store attested from its start: the read paths (review queue and sign-off,
    /// reports, a run's resume, the model, calibrator and reference cases a run loads) call this
    /// before using what they read. Uses the attestation index (newest attestation per record).
    public static func requireAttested(_ reader: StoreReader, _ records: [RecordRef]) throws {
        let db = reader.database
        let since = try Int.fetchOne(db.cachedStatement(sql: "SELECT since_seq FROM attestation_start WHERE id = 1")) ?? 0
        let newest = try db.cachedStatement(sql: "SELECT seq, sha256 FROM record_attestations WHERE tbl = ? AND record_key = ? ORDER BY seq DESC LIMIT 1")
        for record in records {
            let table = record.table
            let condition = table.keyColumns.map { "\"\($0)\" IS ?" }.joined(separator: " AND ")
            guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM \(table.rawValue) WHERE \(condition)"),
                                             arguments: StatementArguments(record.keyValues)) else { continue }
            let key = RecordDigest.key(row, table: table)
            guard let attested = try Row.fetchOne(newest, arguments: [table.rawValue, key]) else {
                if since > 0 { continue }   // written before attestation began: cannot be checked
                throw CaseStoreError.notAttested(table: table.rawValue, key: key, seq: nil)
            }
            if RecordDigest.sha256(row) != (attested["sha256"] as String) {
                throw CaseStoreError.notAttested(table: table.rawValue, key: key, seq: attested["seq"])
            }
        }
    }
}
