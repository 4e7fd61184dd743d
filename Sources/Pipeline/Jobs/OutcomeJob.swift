import AuditLog
import CaseStore
import Foundation

/// `audit cases verify`: ground truth for assessed cases, arriving after the run (a biopsy result, a
/// follow-up). All entries or none: every entry is checked against the store first, then each is
/// stored with its `case.outcome` (or `case.outcome-corrected`) event in one transaction. An outcome is
/// never overwritten: a different label for a case that has one is a correction, which needs a
/// reason and supersedes the earlier row; the same label again changes nothing.
public struct OutcomeJob {
    /// How the truth was established. A site needing another names it `other` and says how in the note of its source system.
    public static let sources = ["biopsy", "histopathology", "dermoscopy-follow-up", "follow-up", "expert-consensus", "clinical", "other"]

    public var store: CaseStore
    public var actor: String

    public init(store: CaseStore, actor: String) { self.store = store; self.actor = actor }

    public struct Recorded: Encodable, Sendable, Equatable {
        public enum Kind: String, Encodable, Sendable { case recorded, corrected, unchanged }
        public var caseId: String
        public var kind: Kind
        public var label: String
        public var previousLabel: String?
        public var outcomeId: Int64?
        public var seq: Int?
        enum CodingKeys: String, CodingKey {
            case kind, label, seq
            case caseId = "case_id", previousLabel = "previous_label", outcomeId = "outcome_id"
        }
    }

    struct Payload: Encodable {
        var caseId: String, label: String, source: String, verifiedBy: String, verifiedAt: String
        var supersedes: Int64?, previousLabel: String?, reason: String?, file: String?, line: Int?
        enum CodingKeys: String, CodingKey {
            case label, source, supersedes, reason, file, line
            case caseId = "case_id", verifiedBy = "verified_by", verifiedAt = "verified_at", previousLabel = "previous_label"
        }
    }

    /// Stores the entries; `file` names where they came from (their `line`s refer to it).
    public func record(_ entries: [OutcomeEntry], file: String? = nil, now: Date = Date()) throws -> [Recorded] {
        let fileName = file.map { ($0 as NSString).lastPathComponent }
        let recordedAt = Timestamp.string(from: now)
        return try store.change { change in
            var planned: [(OutcomeRecord?, Recorded, Payload?)] = []
            var classes: [String: [String]] = [:]
            let current = try CaseStore.currentOutcomes(change)
            for e in entries {
                func bad(_ field: String, _ expected: String, _ found: String?) -> Error {
                    if let fileName {
                        return ImportError(.badValue, file: fileName, line: e.line, field: field, expected: expected, found: found)
                    }
                    return PipelineError.badInput("--\(field.replacingOccurrences(of: "_", with: "-")): expected \(expected)"
                                                  + (found.map { ", found '\($0)'" } ?? ""))
                }
                guard let c = try? CaseStore.caseRecord(change, id: e.caseId) else {
                    if fileName != nil { throw bad("case_id", "a case in the store", e.caseId) }
                    throw CaseStoreError.notFound(kind: "case", id: e.caseId)
                }
                guard try CaseStore.latestAssessment(change, caseId: e.caseId) != nil else {
                    throw bad("case_id", "a case some run has assessed (outcomes are ground truth for assessments)", e.caseId)
                }
                if classes[c.study] == nil { classes[c.study] = try CaseStore.study(change, named: c.study).classes }
                guard classes[c.study]!.contains(e.label) else {
                    throw bad("label", "one of study \(c.study)'s classes (\(classes[c.study]!.joined(separator: ", ")))", e.label)
                }
                guard Self.sources.contains(e.source) else { throw bad("source", "one of " + Self.sources.joined(separator: ", "), e.source) }
                guard !e.verifiedBy.trimmingCharacters(in: .whitespaces).isEmpty else { throw bad("verified_by", "who established the truth", "an empty value") }
                var verifiedAt = recordedAt
                if let text = e.verifiedAt {
                    guard let date = Timestamp.date(fromDateOrTime: text) else {
                        throw bad("verified_at", "an RFC 3339 time or a date (YYYY-MM-DD)", text)
                    }
                    guard date <= now.addingTimeInterval(300) else { throw bad("verified_at", "a time not in the future", text) }
                    verifiedAt = Timestamp.string(from: date)
                }
                let previous = current[e.caseId]
                if let previous, previous.label == e.label {
                    planned.append((nil, Recorded(caseId: e.caseId, kind: .unchanged, label: e.label, previousLabel: previous.label,
                                                  outcomeId: previous.id), nil))
                    continue
                }
                if previous != nil && (e.reason ?? "").trimmingCharacters(in: .whitespaces).isEmpty {
                    throw bad("reason", "a reason: case \(e.caseId) already has outcome '\(previous!.label)' (\(previous!.source), \(previous!.verifiedBy)) and a correction must say why", nil)
                }
                if previous == nil, e.reason != nil {
                    throw bad("reason", "no reason: case \(e.caseId) has no earlier outcome to correct", e.reason)
                }
                let record = OutcomeRecord(caseId: e.caseId, label: e.label, source: e.source, verifiedBy: e.verifiedBy,
                                           verifiedAt: verifiedAt, recordedAt: recordedAt, supersedes: previous?.id, reason: previous == nil ? nil : e.reason)
                planned.append((record, Recorded(caseId: e.caseId, kind: previous == nil ? .recorded : .corrected, label: e.label,
                                                 previousLabel: previous?.label),
                                Payload(caseId: e.caseId, label: e.label, source: e.source, verifiedBy: e.verifiedBy, verifiedAt: verifiedAt,
                                        supersedes: previous?.id, previousLabel: previous?.label, reason: record.reason,
                                        file: fileName, line: fileName == nil ? nil : e.line)))
            }
            var out: [Recorded] = []
            for (record, result, payload) in planned {
                guard let record, let payload else { out.append(result); continue }
                let stored = try CaseStore.insertOutcome(change, record)
                let event = try AuditLog.append(change, actor: actor, action: result.kind == .corrected ? "case.outcome-corrected" : "case.outcome",
                                                subject: AuditSubject(type: "case", id: record.caseId), payload: payload, time: now)
                var r = result
                r.outcomeId = stored.id; r.seq = event.seq
                out.append(r)
            }
            return out
        }
    }

    /// Reads an outcomes CSV (see `OutcomeFile`) and stores it, all or nothing.
    public func record(csv path: String, now: Date = Date()) throws -> [Recorded] {
        try record(try OutcomeFile.parse(path: path), file: path, now: now)
    }
}
