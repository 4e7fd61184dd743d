import Foundation
import JSONText

/// Canonical JSON text written straight from a `JSONValue`: the bytes `Assessment.canonicalEncoder`
/// (`JSONEncoder`, sorted keys, slashes unescaped, non-finite numbers as strings) writes, without
/// its generic `Encodable` machinery — encoding every assessment that way was a tenth of a long run.
enum CanonicalJSONWriter {
    /// A whole number in the range where a `Double` cannot say whether `JSONEncoder` saw an integer or
    /// a float (they are spelled differently); the caller falls back to `JSONEncoder`.
    struct Ambiguous: Error {}

    static func bytes(_ value: JSONValue) throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(4096)
        try write(value, to: &out)
        return out
    }

    static func write(_ value: JSONValue, to out: inout [UInt8]) throws {
        switch value {
        case .null: out.append(contentsOf: JSONLiteral.null)
        case .bool(true): out.append(contentsOf: JSONLiteral.true)
        case .bool(false): out.append(contentsOf: JSONLiteral.false)
        case let .number(x): try number(x, to: &out)
        case let .string(s): string(s, to: &out)
        case let .array(items):
            out.append(0x5B)
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(0x2C) }
                try write(item, to: &out)
            }
            out.append(0x5D)
        case let .object(members):
            out.append(0x7B)
            // Sorted by UTF-8 bytes, as JSONEncoder's `.sortedKeys` does.
            let keys = members.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            for (i, key) in keys.enumerated() {
                if i > 0 { out.append(0x2C) }
                string(key, to: &out)
                out.append(0x3A)
                try write(members[key]!, to: &out)
            }
            out.append(0x7D)
        }
    }

    /// `JSONEncoder`'s spelling: the shortest round-trip decimal (`description`) without a trailing
    /// ".0"; non-finite values as the strings of `Assessment.nonConformingFloatsForEncoding`.
    static func number(_ x: Double, to out: inout [UInt8]) throws {
        guard x.isFinite else {
            string(x.isNaN ? "NaN" : x > 0 ? "Infinity" : "-Infinity", to: &out)
            return
        }
        // Beyond 2^53 a whole number may have been an integer (written in full) or a float (written
        // with an exponent from 1e16 on); beyond UInt64.max it can only have been a float.
        if x == x.rounded(), abs(x) >= 9_007_199_254_740_992, abs(x) < 18_446_744_073_709_551_616 { throw Ambiguous() }
        let text = x.description
        if text.hasSuffix(".0") {
            out.append(contentsOf: text.utf8.dropLast(2))
        } else {
            out.append(contentsOf: text.utf8)
        }
    }

    static func string(_ s: String, to out: inout [UInt8]) { JSONString.append(s, to: &out) }
}
