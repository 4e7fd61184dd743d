import Foundation

/// Why a policy file was refused. Every error names the file and, when the problem is inside the
/// document, the line, column and key path, so the author can fix it without guessing.
public struct PolicyError: Error, Equatable, Sendable, CustomStringConvertible, LocalizedError {
    public enum Kind: String, Sendable, Codable {
        /// The file could not be read or is not UTF-8.
        case unreadableFile = "unreadable-file"
        /// The text is not well-formed YAML (scanner, parser or composer error, duplicate key).
        case invalidYAML = "invalid-yaml"
        /// A key the schema does not know (often a typo).
        case unknownKey = "unknown-key"
        /// A required key is absent.
        case missingKey = "missing-key"
        /// A value of the wrong YAML type (e.g. a string where a number belongs).
        case wrongType = "wrong-type"
        /// A number outside its allowed range.
        case outOfRange = "out-of-range"
        /// A value of the right type that the schema still refuses (unknown enum word,
        /// inconsistent keys, unsupported version).
        case invalidValue = "invalid-value"
        /// No shipped policy of that name.
        case unknownShippedPolicy = "unknown-shipped-policy"
    }

    public let kind: Kind
    /// Path or label of the policy file (e.g. `Policies/default.yaml`).
    public let file: String
    /// 1-based line, when the problem has a position.
    public let line: Int?
    /// 1-based column, when the problem has a position.
    public let column: Int?
    /// Dotted key path inside the document, e.g. `report_without_review.min_confidence`.
    public let keyPath: String?
    /// What is wrong, in one sentence.
    public let message: String

    public init(kind: Kind, file: String, line: Int?, column: Int?, keyPath: String?, message: String) {
        self.kind = kind; self.file = file; self.line = line; self.column = column
        self.keyPath = keyPath; self.message = message
    }

    /// `file:line:column: key.path: message` — the format compilers use, so editors can jump to it.
    public var description: String {
        var location = file
        if let line {
            location += ":\(line)"
            if let column { location += ":\(column)" }
        }
        if let keyPath, !keyPath.isEmpty {
            return "\(location): \(keyPath): \(message)"
        }
        return "\(location): \(message)"
    }

    public var errorDescription: String? { description }
}
