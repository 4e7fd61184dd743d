import Foundation

/// Failures of the store itself: a file that cannot be opened, a record that is not there, a change it refuses.
public enum CaseStoreError: Error, CustomStringConvertible, LocalizedError {
    case cannotOpen(path: String, reason: String)
    case notFound(kind: String, id: String)
    case invalid(String)
    /// A change wrote records without appending the log event that vouches for them (a programming error).
    case unlogged
    /// A record differs from what the log attests (`seq`: the newest attesting event), or no event
    /// attests it: it was rewritten or written around the log, and is not used.
    case notAttested(table: String, key: String, seq: Int?)

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason): return "cannot open case store \(path): \(reason)"
        case let .notFound(kind, id): return "no \(kind) with id '\(id)' in the case store"
        case let .invalid(message): return message
        case .unlogged: return "a change wrote records without a log event; it was rolled back"
        case let .notAttested(table, key, seq):
            return seq.map { "\(table) \(key) differs from what audit event \($0) attests: it was rewritten outside Countersign and is not used (run `audit store verify`)" }
                ?? "\(table) \(key) is attested by no audit event: it was written around the log and is not used (run `audit store verify`)"
        }
    }
    public var errorDescription: String? { description }
}

/// Why an import was refused. Every error names the file, the line and the field, and says what was
/// expected; the import it came from left the store unchanged.
public struct ImportError: Error, CustomStringConvertible, LocalizedError, Equatable, Sendable {
    public enum Kind: String, Sendable, Codable {
        case unreadable, unsupportedFormat, emptyFile, noData, invalidUTF8, lineTooLong
        case badHeader, unknownKey, unsupported, missingDataSection
        case raggedRow, lengthMismatch, notANumber, nonFinite, channelCount, badValue
        case duplicateCaseId, labelNotInClasses
    }

    public let kind: Kind
    /// File name (last path component) as the user knows it.
    public let file: String
    /// 1-based line, when the problem is on a line.
    public let line: Int?
    /// Column or field, e.g. "field 3", "dimension 2, value 17", "case_id".
    public let field: String?
    public let expected: String
    public let found: String?

    public init(_ kind: Kind, file: String, line: Int? = nil, field: String? = nil, expected: String,
                found: String? = nil) {
        self.kind = kind; self.file = file; self.line = line; self.field = field
        self.expected = expected
        self.found = found.map(ImportError.abbreviate)
    }

    public var description: String {
        var where_ = file
        if let line { where_ += ":\(line)" }
        var text = "\(where_): \(kind.rawValue)"
        if let field { text += " in \(field)" }
        text += ": expected \(expected)"
        if let found { text += ", found \(found)" }
        return text
    }

    public var errorDescription: String? { description }

    /// Keeps messages readable when the offending text is a 10 MB line; a bare token (no spaces) is
    /// quoted so that an empty or odd value is visible, a phrase ("3 values") is not.
    static func abbreviate(_ s: String) -> String {
        let short = s.count > 60 ? "\(s.prefix(60))… (\(s.utf8.count) bytes)" : s
        return s.contains(" ") ? short : "'\(short)'"
    }
}
