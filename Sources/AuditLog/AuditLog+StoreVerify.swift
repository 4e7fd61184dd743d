@_spi(Storage) import CaseStore
import Foundation
import GRDB

/// One record the log does not vouch for as it stands.
public struct RecordProblem: Codable, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Codable, Sendable {
        /// The record's bytes differ from what its newest event attests: it was rewritten.
        case rewritten
        /// No event attests the record: it was written around the log.
        case unattested
        /// An event attests the record, but it is gone: it was deleted.
        case deleted
        /// The attestations stored under an event differ from the count or digest its payload carries,
        /// or name an event that does not exist or attests nothing: the attestation index was edited.
        case attestationMismatch = "attestation_mismatch"
    }

    public var kind: Kind
    public var table: String
    /// The record's key (JSON array of its key columns), or nil for an event-level problem.
    public var key: String?
    /// The attesting event (the newest one for the record), when there is one.
    public var seq: Int?
    public var message: String

    public var description: String {
        "\(kind.rawValue): \(table)\(key.map { " " + $0 } ?? "")\(seq.map { " (event \($0))" } ?? ""): \(message)"
    }
}

/// What `AuditLog.verifyRecords` checked and found.
public struct RecordVerificationReport: Encodable, Sendable {
    public var ok: Bool { problems.isEmpty }
    /// Records checked against their attestation, per table.
    public var recordsChecked: [String: Int] = [:]
    /// Events that attest records.
    public var attestingEvents = 0
    /// Log size when attestation began (0: every record of this store must be attested).
    public var attestedSince = 0
    /// Records no event attests because they were written before attestation began: not checkable.
    public var unattestedBeforeStart = 0
    public var problems: [RecordProblem] = []
    /// Problems beyond the first `limit` are counted, not listed.
    public var problemsNotListed = 0

    enum CodingKeys: String, CodingKey {
        case ok, recordsChecked = "records_checked", attestingEvents = "attesting_events", attestedSince = "attested_since"
        case unattestedBeforeStart = "unattested_before_start", problems, problemsNotListed = "problems_not_listed"
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(ok, forKey: .ok); try c.encode(recordsChecked, forKey: .recordsChecked)
        try c.encode(attestingEvents, forKey: .attestingEvents); try c.encode(attestedSince, forKey: .attestedSince)
        try c.encode(unattestedBeforeStart, forKey: .unattestedBeforeStart)
        try c.encode(problems, forKey: .problems); try c.encode(problemsNotListed, forKey: .problemsNotListed)
    }
}

extension AuditLog {
    /// Recomputes the SHA-256 of every record of every attested table and compares it with the
    /// newest event's attestation; finds records no event attests and attestations whose record is
    /// gone; and checks that each event's stored attestations match the count and digest its
    /// (hash-chained) payload carries. Run it with `verify`, which proves the events themselves.
    public static func verifyRecords(_ reader: StoreReader, limit: Int = 1000,
                                     progress: ((Int) -> Void)? = nil) throws -> RecordVerificationReport {
        let db = reader.database
        var report = RecordVerificationReport()
        func problem(_ p: RecordProblem) {
            if report.problems.count < limit { report.problems.append(p) } else { report.problemsNotListed += 1 }
        }
        report.attestedSince = try Int.fetchOne(db, sql: "SELECT since_seq FROM attestation_start WHERE id = 1") ?? 0

        // 1. The index against the log: per event, the stored attestations' count and digest.
        var byEvent: [Int: [RecordAttestation]] = [:]
        var newest: [String: [String: (seq: Int, sha256: String)]] = [:]
        let cursor = try Row.fetchCursor(db, sql: "SELECT seq, tbl, record_key, sha256 FROM record_attestations ORDER BY seq")
        while let row = try cursor.next() {
            let seq: Int = row[0], table: String = row[1], key: String = row[2], sha: String = row[3]
            byEvent[seq, default: []].append(RecordAttestation(table: table, key: key, sha256: sha))
            if let current = newest[table]?[key], current.seq > seq { continue }
            newest[table, default: [:]][key] = (seq, sha)
        }
        var summaries: [Int: AttestationSummary] = [:]
        let events = try Row.fetchCursor(db, sql: "SELECT seq, payload FROM audit_events WHERE payload LIKE '%\"attested\":{%' ORDER BY seq")
        while let row = try events.next() {
            let seq: Int = row[0], payload: String = row[1]
            guard let object = try? JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any],
                  let attested = object["attested"] as? [String: Any],
                  let records = attested["records"] as? Int, let sha = attested["sha256"] as? String else { continue }
            summaries[seq] = AttestationSummary(records: records, sha256: sha)
        }
        report.attestingEvents = summaries.count
        for (seq, summary) in summaries.sorted(by: { $0.key < $1.key }) {
            let stored = byEvent[seq] ?? []
            if stored.count != summary.records || RecordAttestation.setDigest(stored) != summary.sha256 {
                problem(RecordProblem(kind: .attestationMismatch, table: "record_attestations", key: nil, seq: seq,
                                      message: "event \(seq) attests \(summary.records) records; the stored attestations (\(stored.count)) do not match its digest"))
            }
        }
        for seq in byEvent.keys.sorted() where summaries[seq] == nil {
            problem(RecordProblem(kind: .attestationMismatch, table: "record_attestations", key: nil, seq: seq,
                                  message: "\(byEvent[seq]!.count) attestations name event \(seq), which attests no records"))
        }

        // 2. Every record against its newest attestation.
        var checked = 0
        for table in AttestedTable.allCases {
            var seen = Set<String>()
            var count = 0
            let rows = try Row.fetchCursor(db, sql: "SELECT * FROM \(table.rawValue)")
            while let row = try rows.next() {
                let key = RecordDigest.key(row, table: table)
                seen.insert(key)
                count += 1
                checked += 1
                if checked % 1000 == 0 { progress?(checked) }
                guard let attested = newest[table.rawValue]?[key] else {
                    if report.attestedSince > 0 { report.unattestedBeforeStart += 1; continue }
                    problem(RecordProblem(kind: .unattested, table: table.rawValue, key: key, seq: nil,
                                          message: "no log event attests this record: it was written around the log"))
                    continue
                }
                if RecordDigest.sha256(row) != attested.sha256 {
                    problem(RecordProblem(kind: .rewritten, table: table.rawValue, key: key, seq: attested.seq,
                                          message: "the record differs from what event \(attested.seq) attests: it was rewritten"))
                }
            }
            report.recordsChecked[table.rawValue] = count
            for (key, attested) in (newest[table.rawValue] ?? [:]).sorted(by: { $0.key < $1.key }) where !seen.contains(key) {
                problem(RecordProblem(kind: .deleted, table: table.rawValue, key: key, seq: attested.seq,
                                      message: "event \(attested.seq) attests this record, and it is gone: it was deleted"))
            }
        }
        progress?(checked)
        return report
    }
}
