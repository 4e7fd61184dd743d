import Foundation

/// One line of an outcomes CSV (or one `audit cases verify` call): the truth for one case.
public struct OutcomeEntry: Sendable, Equatable {
    public var caseId: String
    public var label: String
    public var source: String
    public var verifiedBy: String
    /// RFC 3339 or a plain date; nil means "now".
    public var verifiedAt: String?
    /// Required for a correction of an earlier outcome, refused otherwise.
    public var reason: String?
    /// 1-based line in its file (nil for a single command-line entry).
    public var line: Int?

    public init(caseId: String, label: String, source: String, verifiedBy: String, verifiedAt: String? = nil,
                reason: String? = nil, line: Int? = nil) {
        self.caseId = caseId; self.label = label; self.source = source; self.verifiedBy = verifiedBy
        self.verifiedAt = verifiedAt; self.reason = reason; self.line = line
    }
}

/// Reads an outcomes CSV: a header naming `case_id,label,verified_by,source` and optionally
/// `verified_at` and `reason` (any order), then one case per line. Every error names file, line and
/// field; nothing is returned unless the whole file parses.
public enum OutcomeFile {
    public static let requiredColumns = ["case_id", "label", "verified_by", "source"]
    public static let optionalColumns = ["verified_at", "reason"]

    public static func parse(path: String, maxLineBytes: Int = 1 << 16) throws -> [OutcomeEntry] {
        var reader = try LineReader(path: path, maxLineBytes: maxLineBytes)
        let file = reader.fileName
        var headerLine: String?
        while let raw = try reader.next() {
            if !raw.trimmedSpaces().isEmpty { headerLine = raw; break }
        }
        guard let headerLine else {
            throw ImportError(.emptyFile, file: file, expected: "a header line " + (requiredColumns + optionalColumns).joined(separator: ","),
                              found: "an empty file")
        }
        let headerNo = reader.lineNumber
        let header = try CSVParser.fields(headerLine, file: file, line: headerNo).map { $0.trimmedSpaces().lowercased() }
        var column: [String: Int] = [:]
        for (i, name) in header.enumerated() {
            guard (requiredColumns + optionalColumns).contains(name) else {
                throw ImportError(.badHeader, file: file, line: headerNo, field: "column \(i + 1)",
                                  expected: "one of " + (requiredColumns + optionalColumns).joined(separator: ", "), found: name)
            }
            guard column.updateValue(i, forKey: name) == nil else {
                throw ImportError(.badHeader, file: file, line: headerNo, field: "column \(i + 1)",
                                  expected: "distinct column names", found: "'\(name)' twice")
            }
        }
        for name in requiredColumns where column[name] == nil {
            throw ImportError(.badHeader, file: file, line: headerNo, field: name,
                              expected: "a \(name) column", found: header.joined(separator: ","))
        }
        var entries: [OutcomeEntry] = [], seen: [String: Int] = [:]
        while let raw = try reader.next() {
            let lineNo = reader.lineNumber
            if raw.trimmedSpaces().isEmpty { continue }
            let fields = try CSVParser.fields(raw, file: file, line: lineNo)
            guard fields.count == header.count else {
                throw ImportError(.raggedRow, file: file, line: lineNo, expected: "\(header.count) fields", found: "\(fields.count) fields")
            }
            func value(_ name: String) throws -> String? {
                guard let i = column[name] else { return nil }
                let v = String(fields[i].trimmedSpaces())
                if v.isEmpty && requiredColumns.contains(name) {
                    throw ImportError(.badValue, file: file, line: lineNo, field: name, expected: "a value", found: "an empty field")
                }
                return v.isEmpty ? nil : v
            }
            let entry = OutcomeEntry(caseId: try value("case_id")!, label: try value("label")!, source: try value("source")!,
                                     verifiedBy: try value("verified_by")!, verifiedAt: try value("verified_at"),
                                     reason: try value("reason"), line: lineNo)
            if let first = seen.updateValue(lineNo, forKey: entry.caseId) {
                throw ImportError(.duplicateCaseId, file: file, line: lineNo, field: "case_id",
                                  expected: "each case once per file (first on line \(first))", found: entry.caseId)
            }
            entries.append(entry)
        }
        guard !entries.isEmpty else {
            throw ImportError(.noData, file: file, expected: "at least one outcome line", found: "only the header")
        }
        return entries
    }
}
