import CaseStore
import Foundation
import JSONText

/// Canonical JSON as the audit log hashes it. Deterministic bytes for one meaning:
///
/// - objects: members sorted by key, compared as raw UTF-8 bytes; duplicate keys are refused;
/// - no whitespace outside strings; UTF-8 output;
/// - strings: only `"` and `\` and the control characters U+0000…U+001F are escaped — as `\"`,
///   `\\`, `\b`, `\f`, `\n`, `\r`, `\t`, otherwise `\u00xx` (lower-case hex); everything else,
///   `/` and non-ASCII included, is written as raw UTF-8; lone surrogates are refused;
/// - numbers: an integer literal (`-?(0|[1-9][0-9]*)`) is kept digit for digit (`-0` becomes `0`);
///   any other number is read as a binary64 double, refused if not finite, written as an integer if
///   it is integral with magnitude below 2^53, else in the shortest form that round-trips (Swift's
///   `Double.description`, e.g. `0.1`, `1e-07`, `1.5e+300`);
/// - `true`, `false`, `null` as is.
///
/// `Encodable` values are written by `CanonicalNodeEncoder` (dates as RFC 3339 UTC strings with
/// milliseconds, data as base64, `Float` through its shortest decimal spelling), giving the same
/// bytes as `JSONEncoder` output passed through `canonicalize`.
public enum CanonicalJSON {
    /// Canonical JSON bytes of an `Encodable` value, written directly by `CanonicalNodeEncoder`.
    public static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let root = CanonicalNode(arena: ByteArena())
        do { try CanonicalNodeEncoder.encode(value, into: root, path: []) } catch let e as AuditLogError {
            throw e
        } catch {
            throw AuditLogError.canonicalJSON("cannot encode \(T.self): \(error)")
        }
        guard root.kind != .unset else { throw AuditLogError.canonicalJSON("\(T.self) encoded no value") }
        var out = [UInt8]()
        out.reserveCapacity(256)
        root.write(to: &out)
        return out
    }

    /// The reference path: `JSONEncoder` output re-serialised by the canonicaliser. Same bytes as
    /// `encode` (tests hold them to it); kept as the independent check of the direct encoder.
    static func encodeViaJSONEncoder<T: Encodable>(_ value: T) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, enc in
            var c = enc.singleValueContainer()
            try c.encode(RFC3339.string(from: date))
        }
        encoder.dataEncodingStrategy = .base64
        let data: Data
        do { data = try encoder.encode(value) } catch {
            throw AuditLogError.canonicalJSON("cannot encode \(T.self): \(error)")
        }
        return try canonicalize(Array(data))
    }

    /// Canonical JSON string of an `Encodable` value.
    public static func string<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try encode(value), as: UTF8.self)
    }

    /// Re-serialises any JSON text canonically.
    public static func canonicalize(_ json: [UInt8]) throws -> [UInt8] {
        try json.withUnsafeBufferPointer { try canonicalize($0, validateUTF8: true) }
    }

    /// Re-serialises a JSON string canonically.
    public static func canonicalize(_ json: String) throws -> String {
        String(decoding: try canonicalize(Array(json.utf8)), as: UTF8.self)
    }

    static func canonicalize(_ json: UnsafeBufferPointer<UInt8>, validateUTF8: Bool) throws -> [UInt8] {
        if validateUTF8, String(validating: json, as: UTF8.self) == nil {
            throw AuditLogError.canonicalJSON("input is not valid UTF-8")
        }
        var parser = Parser(bytes: json)
        var out = [UInt8]()
        out.reserveCapacity(json.count)
        parser.skipWhitespace()
        try parser.value(into: &out, depth: 0)
        parser.skipWhitespace()
        guard parser.index == json.count else { throw parser.error("trailing characters") }
        return out
    }

    /// Appends `s` as a canonical JSON string literal.
    static func appendString(_ s: String, to out: inout [UInt8]) { JSONString.append(s, to: &out) }

    /// A single-pass parser that writes canonical output as it reads. Strings without escapes are
    /// copied verbatim (their bytes need no escaping); object members are written in input order
    /// and reordered only if their keys are not already sorted.
    private struct Parser {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0

        init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

        func error(_ message: String) -> AuditLogError {
            .canonicalJSON("\(message) at byte \(index)")
        }

        mutating func skipWhitespace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x09, 0x0A, 0x0D: index += 1
                default: return
                }
            }
        }

        mutating func value(into out: inout [UInt8], depth: Int) throws {
            guard depth < 512 else { throw error("nesting deeper than 512") }
            guard index < bytes.count else { throw error("unexpected end of JSON") }
            switch bytes[index] {
            case 0x7B: try object(into: &out, depth: depth)
            case 0x5B: try array(into: &out, depth: depth)
            case 0x22: _ = try string(into: &out)
            case 0x74: try literal(JSONLiteral.true, into: &out)
            case 0x66: try literal(JSONLiteral.false, into: &out)
            case 0x6E: try literal(JSONLiteral.null, into: &out)
            case 0x2D, 0x30...0x39: try number(into: &out)
            default: throw error("unexpected character '\(Character(Unicode.Scalar(bytes[index])))'")
            }
        }

        mutating func literal(_ w: [UInt8], into out: inout [UInt8]) throws {
            guard index + w.count <= bytes.count else { throw error("invalid literal") }
            for (i, b) in w.enumerated() where bytes[index + i] != b { throw error("invalid literal") }
            index += w.count
            out.append(contentsOf: w)
        }

        /// A member's key (decoded UTF-8) and where the member sits in the output.
        struct Member {
            var key: [UInt8]
            var start: Int
            var end: Int
        }

        mutating func object(into out: inout [UInt8], depth: Int) throws {
            index += 1
            out.append(0x7B)
            let regionStart = out.count
            var members: [Member] = []
            skipWhitespace()
            if index < bytes.count, bytes[index] == 0x7D {
                index += 1
                out.append(0x7D)
                return
            }
            var sorted = true
            while true {
                skipWhitespace()
                guard index < bytes.count, bytes[index] == 0x22 else { throw error("expected object key") }
                if !members.isEmpty { out.append(0x2C) }
                let start = out.count
                let key = try string(into: &out)
                skipWhitespace()
                guard index < bytes.count, bytes[index] == 0x3A else { throw error("expected ':'") }
                index += 1
                out.append(0x3A)
                skipWhitespace()
                try value(into: &out, depth: depth + 1)
                if let last = members.last {
                    if key == last.key { throw error("duplicate key \"\(String(decoding: key, as: UTF8.self))\"") }
                    if !last.key.lexicographicallyPrecedes(key) { sorted = false }
                }
                // A member's bytes start after the separating comma.
                members.append(Member(key: key, start: start, end: out.count))
                skipWhitespace()
                guard index < bytes.count else { throw error("unterminated object") }
                if bytes[index] == 0x2C { index += 1; continue }
                if bytes[index] == 0x7D { index += 1; break }
                throw error("expected ',' or '}'")
            }
            if !sorted {
                let region = Array(out[regionStart...])
                let order = members.sorted { $0.key.lexicographicallyPrecedes($1.key) }
                for i in 1..<order.count where order[i].key == order[i - 1].key {
                    throw error("duplicate key \"\(String(decoding: order[i].key, as: UTF8.self))\"")
                }
                out.removeSubrange(regionStart...)
                for (i, m) in order.enumerated() {
                    if i > 0 { out.append(0x2C) }
                    out.append(contentsOf: region[(m.start - regionStart)..<(m.end - regionStart)])
                }
            }
            out.append(0x7D)
        }

        mutating func array(into out: inout [UInt8], depth: Int) throws {
            index += 1
            out.append(0x5B)
            skipWhitespace()
            if index < bytes.count, bytes[index] == 0x5D { index += 1; out.append(0x5D); return }
            var first = true
            while true {
                skipWhitespace()
                if !first { out.append(0x2C) }
                first = false
                try value(into: &out, depth: depth + 1)
                skipWhitespace()
                guard index < bytes.count else { throw error("unterminated array") }
                if bytes[index] == 0x2C { index += 1; continue }
                if bytes[index] == 0x5D { index += 1; break }
                throw error("expected ',' or ']'")
            }
            out.append(0x5D)
        }

        /// Parses the string literal at `index`, writes it canonically to `out` and returns its
        /// decoded UTF-8 content.
        mutating func string(into out: inout [UInt8]) throws -> [UInt8] {
            index += 1
            let start = index
            // Fast path: no escapes — the raw bytes are already canonical.
            while index < bytes.count {
                let b = bytes[index]
                if b == 0x22 {
                    let content = Array(bytes[start..<index])
                    index += 1
                    out.append(0x22)
                    out.append(contentsOf: content)
                    out.append(0x22)
                    return content
                }
                if b == 0x5C { break }
                if b < 0x20 { throw error("unescaped control character in string") }
                index += 1
            }
            // Slow path: decode escapes, then re-escape canonically.
            var s = Array(bytes[start..<index])
            while true {
                guard index < bytes.count else { throw error("unterminated string") }
                let b = bytes[index]
                if b == 0x22 { index += 1; break }
                if b < 0x20 { throw error("unescaped control character in string") }
                if b != 0x5C { s.append(b); index += 1; continue }
                index += 1
                guard index < bytes.count else { throw error("unterminated escape") }
                let e = bytes[index]
                index += 1
                switch e {
                case 0x22: s.append(0x22)
                case 0x5C: s.append(0x5C)
                case 0x2F: s.append(0x2F)
                case 0x62: s.append(0x08)
                case 0x66: s.append(0x0C)
                case 0x6E: s.append(0x0A)
                case 0x72: s.append(0x0D)
                case 0x74: s.append(0x09)
                case 0x75:
                    var scalar = try hex4()
                    if (0xD800...0xDBFF).contains(scalar) {
                        guard index + 1 < bytes.count, bytes[index] == 0x5C, bytes[index + 1] == 0x75 else {
                            throw error("lone high surrogate")
                        }
                        index += 2
                        let low = try hex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw error("invalid low surrogate") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(scalar) {
                        throw error("lone low surrogate")
                    }
                    guard let u = Unicode.Scalar(scalar) else { throw error("invalid code point") }
                    s.append(contentsOf: Array(String(Character(u)).utf8))
                default: throw error("invalid escape")
                }
            }
            out.append(0x22)
            for b in s { JSONString.appendEscaped(b, to: &out) }
            out.append(0x22)
            return s
        }

        mutating func hex4() throws -> UInt32 {
            guard index + 4 <= bytes.count else { throw error("truncated \\u escape") }
            var v: UInt32 = 0
            for _ in 0..<4 {
                let c = bytes[index]
                index += 1
                v <<= 4
                switch c {
                case 0x30...0x39: v |= UInt32(c - 0x30)
                case 0x41...0x46: v |= UInt32(c - 0x41 + 10)
                case 0x61...0x66: v |= UInt32(c - 0x61 + 10)
                default: throw error("invalid hex digit in \\u escape")
                }
            }
            return v
        }

        mutating func number(into out: inout [UInt8]) throws {
            let start = index
            if bytes[index] == 0x2D { index += 1 }
            guard index < bytes.count, (0x30...0x39).contains(bytes[index]) else { throw error("invalid number") }
            if bytes[index] == 0x30 {
                index += 1
            } else {
                while index < bytes.count, (0x30...0x39).contains(bytes[index]) { index += 1 }
            }
            var isInteger = true
            if index < bytes.count, bytes[index] == 0x2E {
                isInteger = false
                index += 1
                let d = index
                while index < bytes.count, (0x30...0x39).contains(bytes[index]) { index += 1 }
                guard index > d else { throw error("invalid number fraction") }
            }
            if index < bytes.count, bytes[index] == 0x65 || bytes[index] == 0x45 {
                isInteger = false
                index += 1
                if index < bytes.count, bytes[index] == 0x2B || bytes[index] == 0x2D { index += 1 }
                let d = index
                while index < bytes.count, (0x30...0x39).contains(bytes[index]) { index += 1 }
                guard index > d else { throw error("invalid number exponent") }
            }
            let literal = UnsafeBufferPointer(rebasing: bytes[start..<index])
            if isInteger {
                if literal.count == 2, literal[0] == 0x2D, literal[1] == 0x30 { out.append(0x30) } else { out.append(contentsOf: literal) }
                return
            }
            guard let v = Double(String(decoding: literal, as: UTF8.self)), v.isFinite else {
                throw error("number out of range")
            }
            if v == v.rounded(), abs(v) < 9_007_199_254_740_992 {
                out.append(contentsOf: String(Int64(v)).utf8)
            } else {
                out.append(contentsOf: v.description.utf8)
            }
        }
    }
}
