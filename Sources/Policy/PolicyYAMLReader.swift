import Foundation
import Yams

/// An allowed numeric interval, with open or closed ends, that can describe itself in an error.
struct NumberRange: Sendable {
    var lower: Double
    var upper: Double
    var lowerOpen = false
    var upperOpen = false

    func contains(_ x: Double) -> Bool {
        (lowerOpen ? x > lower : x >= lower) && (upperOpen ? x < upper : x <= upper)
    }

    var description: String {
        "\(lowerOpen ? "(" : "[")\(formatNumber(lower)), \(formatNumber(upper))\(upperOpen ? ")" : "]")"
    }
}

/// Reads one YAML mapping of a policy file against a fixed set of keys. Built on Yams' node API
/// (`Yams.compose`) rather than `Decodable` so that every refusal can name the line and column of
/// the offending key or value.
struct PolicyYAMLReader {
    let file: String
    /// Dotted path of this mapping ("" for the document root).
    let path: String
    /// Where the mapping starts (for "missing key" errors).
    let mark: Mark?
    private var entries: [String: (key: Node, value: Node)] = [:]

    init(_ node: Node, path: String, file: String, allowedKeys: [String]) throws {
        self.file = file
        self.path = path
        self.mark = node.mark
        guard let mapping = node.mapping else {
            throw PolicyError(kind: .wrongType, file: file, line: node.mark?.line, column: node.mark?.column,
                              keyPath: path.isEmpty ? nil : path,
                              message: "expected a mapping of keys (\(allowedKeys.joined(separator: ", "))), found \(describeType(node))")
        }
        for (key, value) in mapping {
            guard let name = key.scalar?.string, key.tagName == .str else {
                throw PolicyError(kind: .wrongType, file: file, line: key.mark?.line, column: key.mark?.column,
                                  keyPath: path.isEmpty ? nil : path,
                                  message: "keys must be plain words, found \(describeType(key))")
            }
            guard allowedKeys.contains(name) else {
                var message = "unknown key '\(name)'"
                if let suggestion = closestKey(to: name, among: allowedKeys) {
                    message += " (did you mean '\(suggestion)'?)"
                } else {
                    message += "; allowed here: \(allowedKeys.joined(separator: ", "))"
                }
                throw PolicyError(kind: .unknownKey, file: file, line: key.mark?.line, column: key.mark?.column,
                                  keyPath: join(path, name), message: message)
            }
            entries[name] = (key, value)
        }
    }

    /// Reader over an absent section, so its keys all take their defaults.
    init(absentAt mark: Mark?, path: String, file: String) {
        self.file = file; self.path = path; self.mark = mark
    }

    func has(_ key: String) -> Bool { entries[key] != nil }

    func keyPath(_ key: String) -> String { join(path, key) }

    func error(_ kind: PolicyError.Kind, _ key: String, _ message: String) -> PolicyError {
        let position = entries[key]?.value.mark ?? entries[key]?.key.mark ?? mark
        return PolicyError(kind: kind, file: file, line: position?.line, column: position?.column,
                           keyPath: keyPath(key), message: message)
    }

    private func missing(_ key: String) -> PolicyError {
        PolicyError(kind: .missingKey, file: file, line: mark?.line, column: mark?.column,
                    keyPath: keyPath(key), message: "required key '\(key)' is missing")
    }

    // MARK: Sections

    func section(_ key: String, allowedKeys: [String]) throws -> PolicyYAMLReader {
        guard let value = entries[key]?.value else {
            return PolicyYAMLReader(absentAt: mark, path: keyPath(key), file: file)
        }
        return try PolicyYAMLReader(value, path: keyPath(key), file: file, allowedKeys: allowedKeys)
    }

    // MARK: Scalars

    func string(_ key: String, default defaultValue: String? = nil, nonEmpty: Bool = true) throws -> String {
        guard let value = entries[key]?.value else {
            if let defaultValue { return defaultValue }
            throw missing(key)
        }
        guard let scalar = value.scalar, value.tagName == .str else {
            throw error(.wrongType, key, "expected a string, found \(describeType(value))")
        }
        if nonEmpty && scalar.string.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw error(.invalidValue, key, "must not be empty")
        }
        return scalar.string
    }

    func bool(_ key: String, default defaultValue: Bool? = nil) throws -> Bool {
        guard let value = entries[key]?.value else {
            if let defaultValue { return defaultValue }
            throw missing(key)
        }
        guard value.tagName == .bool, let flag = value.bool else {
            throw error(.wrongType, key, "expected true or false, found \(describeType(value))")
        }
        return flag
    }

    func int(_ key: String, default defaultValue: Int? = nil, range: ClosedRange<Int>) throws -> Int {
        guard let value = entries[key]?.value else {
            if let defaultValue { return defaultValue }
            throw missing(key)
        }
        guard value.tagName == .int else {
            throw error(.wrongType, key, "expected a whole number, found \(describeType(value))")
        }
        guard let number = value.int else {
            throw error(.outOfRange, key, "\(value.scalar?.string ?? "value") is too large; allowed [\(range.lowerBound), \(range.upperBound)]")
        }
        guard range.contains(number) else {
            throw error(.outOfRange, key, "\(number) is out of range; allowed [\(range.lowerBound), \(range.upperBound)]")
        }
        return number
    }

    /// A number (integer or decimal). With `nullable`, an explicit `null` yields nil ("no limit").
    func double(_ key: String, default defaultValue: Double?, range: NumberRange,
                nullable: Bool = false) throws -> Double? {
        guard let value = entries[key]?.value else {
            if let defaultValue { return defaultValue }
            if nullable { return nil }
            throw missing(key)
        }
        if nullable && value.tagName == .null { return nil }
        guard value.tagName == .float || value.tagName == .int, let number = value.float else {
            throw error(.wrongType, key, "expected a number\(nullable ? " or null" : ""), found \(describeType(value))")
        }
        guard number.isFinite else {
            throw error(.outOfRange, key, "\(value.scalar?.string ?? "value") is not a finite number; allowed \(range.description)")
        }
        guard range.contains(number) else {
            throw error(.outOfRange, key, "\(formatNumber(number)) is out of range; allowed \(range.description)")
        }
        return number
    }

    func requiredDouble(_ key: String, default defaultValue: Double? = nil, range: NumberRange) throws -> Double {
        guard let number = try double(key, default: defaultValue, range: range) else { throw missing(key) }
        return number
    }

    func choice<E: RawRepresentable & CaseIterable>(_ key: String, default defaultValue: E? = nil) throws -> E
    where E.RawValue == String {
        let allowed = E.allCases.map(\.rawValue)
        guard let value = entries[key]?.value else {
            if let defaultValue { return defaultValue }
            throw missing(key)
        }
        guard let scalar = value.scalar, value.tagName == .str else {
            throw error(.wrongType, key, "expected one of \(allowed.joined(separator: ", ")), found \(describeType(value))")
        }
        guard let chosen = E(rawValue: scalar.string) else {
            throw error(.invalidValue, key, "'\(scalar.string)' is not allowed; use one of \(allowed.joined(separator: ", "))")
        }
        return chosen
    }

    /// A list of distinct non-empty strings (block or flow style).
    func stringList(_ key: String, default defaultValue: [String]? = nil) throws -> [String] {
        guard let value = entries[key]?.value else {
            if let defaultValue { return defaultValue }
            throw missing(key)
        }
        guard let sequence = value.sequence else {
            throw error(.wrongType, key, "expected a list of strings, found \(describeType(value))")
        }
        var items: [String] = []
        for (index, item) in sequence.enumerated() {
            guard let scalar = item.scalar, item.tagName == .str,
                  !scalar.string.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw PolicyError(kind: .wrongType, file: file, line: item.mark?.line, column: item.mark?.column,
                                  keyPath: "\(keyPath(key))[\(index)]",
                                  message: "expected a non-empty string, found \(describeType(item))")
            }
            guard !items.contains(scalar.string) else {
                throw PolicyError(kind: .invalidValue, file: file, line: item.mark?.line, column: item.mark?.column,
                                  keyPath: "\(keyPath(key))[\(index)]",
                                  message: "'\(scalar.string)' is listed twice")
            }
            items.append(scalar.string)
        }
        return items
    }
}

private func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

/// How a node reads to a policy author: "a string ('abc')", "a list", "null", …
func describeType(_ node: Node) -> String {
    switch node {
    case .mapping: return "a mapping"
    case .sequence: return "a list"
    case .alias: return "an alias"
    case let .scalar(scalar):
        switch node.tagName {
        case .null: return "null"
        case .bool: return "a boolean (\(scalar.string))"
        case .int: return "a whole number (\(scalar.string))"
        case .float: return "a number (\(scalar.string))"
        case .str: return "a string ('\(scalar.string)')"
        default: return "'\(scalar.string)'"
        }
    }
}

/// The allowed key nearest to a typo (Levenshtein distance ≤ 3), if any.
func closestKey(to name: String, among keys: [String]) -> String? {
    func distance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1,
                                 previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
    let lowered = Array(name.lowercased())
    let scored = keys.map { ($0, distance(lowered, Array($0))) }.filter { $0.1 <= 3 }
    return scored.min { $0.1 < $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }?.0
}

/// Deterministic, locale-independent rendering of a number: integers without a decimal point,
/// others with up to 6 significant digits ("0.95", "99.5", "1e-06").
func formatNumber(_ x: Double) -> String {
    if x.isNaN { return "NaN" }
    if x.isInfinite { return x > 0 ? "∞" : "-∞" }
    if x == x.rounded(), abs(x) < 1e15 { return String(Int64(x)) }
    return String(format: "%.6g", x)
}

extension Node {
    /// The resolved tag name (`Tag.name` itself is internal to Yams).
    var tagName: Tag.Name { Tag.Name(rawValue: tag.rawValue) }
}
