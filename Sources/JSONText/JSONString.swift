/// A JSON string literal as both of the project's byte-exact JSON writers spell it — the audit log's
/// canonical JSON and the assessment's `JSONEncoder`-compatible bytes: only `"`, `\` and the control
/// characters U+0000…U+001F are escaped (`\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`, otherwise `\u00xx`
/// in lower-case hex); everything else, `/` and non-ASCII included, is written as raw UTF-8.
public enum JSONString {
    @inlinable  // on the audit log's append path: lets the caller's optimiser see through it
    public static func append(_ s: String, to out: inout [UInt8]) {
        var s = s
        // Through the contiguous UTF-8 buffer: iterating `String.UTF8View` byte by byte was the
        // audit log encoder's largest single cost.
        s.withUTF8 { bytes in
            out.append(0x22)
            if bytes.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }) {
                for b in bytes { appendEscaped(b, to: &out) }
            } else {
                out.append(contentsOf: bytes)
            }
            out.append(0x22)
        }
    }

    /// One byte of a string's UTF-8, escaped if it must be.
    @inlinable @inline(__always)
    public static func appendEscaped(_ b: UInt8, to out: inout [UInt8]) {
        switch b {
        case 0x22: out.append(0x5C); out.append(0x22)
        case 0x5C: out.append(0x5C); out.append(0x5C)
        case 0x08: out.append(0x5C); out.append(0x62)
        case 0x0C: out.append(0x5C); out.append(0x66)
        case 0x0A: out.append(0x5C); out.append(0x6E)
        case 0x0D: out.append(0x5C); out.append(0x72)
        case 0x09: out.append(0x5C); out.append(0x74)
        case 0x00..<0x20:
            out.append(contentsOf: [0x5C, 0x75, 0x30, 0x30, hexDigits[Int(b >> 4)], hexDigits[Int(b & 0xF)]])
        default: out.append(b)
        }
    }

    @usableFromInline static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
}

/// The bytes of JSON's three literal words.
public enum JSONLiteral {
    public static let null: [UInt8] = Array("null".utf8)
    public static let `true`: [UInt8] = Array("true".utf8)
    public static let `false`: [UInt8] = Array("false".utf8)
}
