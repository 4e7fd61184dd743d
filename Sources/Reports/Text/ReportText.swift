/// Text neutralisation shared by the HTML, SVG and XML writers.
///
/// HTML and SVG: every value is escaped (`& < > " '`), and characters that could make text
/// misleading or unparsable — C0/C1 controls other than tab and newline, DEL, the bidirectional
/// embedding/override/isolate controls (U+202A–U+202E, U+2066–U+2069) and U+FFFE/U+FFFF — are
/// shown as the visible text `[U+XXXX]`, so a right-to-left override cannot reorder a case id.
///
/// XML: characters XML 1.0 forbids (C0 controls other than tab, LF and CR; U+FFFE; U+FFFF) are
/// replaced by the same visible `[U+XXXX]` text; everything else, bidi controls included, is kept
/// exactly (escaped), so machine readers get the original value. CR and tab are written as
/// character references so that parsers' end-of-line and attribute normalisation do not alter them.
public enum ReportText {
    /// `[U+XXXX]` for a scalar, upper-case hex, at least four digits.
    static func visibleCodePoint(_ scalar: Unicode.Scalar) -> String {
        var hex = String(scalar.value, radix: 16, uppercase: true)
        while hex.count < 4 { hex = "0" + hex }
        return "[U+" + hex + "]"
    }

    /// Characters that XML 1.0 does not allow at all.
    public static func isXMLForbidden(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x09, 0x0A, 0x0D: return false
        case 0x00...0x1F: return true
        case 0xFFFE, 0xFFFF: return true
        default: return false
        }
    }

    /// Characters shown as `[U+XXXX]` in human-readable output.
    static func isHiddenInDisplay(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x09, 0x0A: return false
        case 0x00...0x1F, 0x7F...0x9F: return true
        case 0x202A...0x202E, 0x2066...0x2069: return true
        case 0x200E, 0x200F, 0x061C: return true // direction marks
        case 0xFFFE, 0xFFFF: return true
        default: return false
        }
    }

    /// Text for people: hidden/control characters made visible, nothing escaped yet.
    public static func displayable(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isHiddenInDisplay) else { return text }
        var out = ""
        out.unicodeScalars.reserveCapacity(text.unicodeScalars.count)
        for s in text.unicodeScalars {
            if isHiddenInDisplay(s) { out += visibleCodePoint(s) } else { out.unicodeScalars.append(s) }
        }
        return out
    }

    /// Displayable text escaped for HTML/SVG element content and quoted attribute values.
    public static func htmlEscaped(_ text: String) -> String {
        // Most ids and times are printable ASCII with nothing to escape: returned as they are.
        if text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != 0x26 && $0 != 0x3C && $0 != 0x3E && $0 != 0x22 && $0 != 0x27 }) {
            return text
        }
        var out = ""
        for s in displayable(text).unicodeScalars {
            switch s {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(s)
            }
        }
        return out
    }

    /// Text escaped for XML element content or a double-quoted attribute value, with forbidden
    /// characters replaced by `[U+XXXX]`.
    public static func xmlEscaped(_ text: String) -> String {
        // Printable ASCII other than & < > " is kept as is (most values: numbers, ids, labels).
        if text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != 0x26 && $0 != 0x3C && $0 != 0x3E && $0 != 0x22 }) {
            return text
        }
        return xmlEscapedByScalar(text)
    }

    /// `xmlEscaped` scalar by scalar (the reference its fast path is tested against).
    static func xmlEscapedByScalar(_ text: String) -> String {
        var out = ""
        for s in text.unicodeScalars {
            if isXMLForbidden(s) { out += visibleCodePoint(s); continue }
            switch s {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "\r": out += "&#13;"
            case "\t": out += "&#9;"
            case "\n": out += "&#10;"
            default: out.unicodeScalars.append(s)
            }
        }
        return out
    }

    /// The value an XML reader gets back for `text` (what round-tripping through `xmlEscaped` yields).
    public static func xmlReadBack(_ text: String) -> String {
        var out = ""
        for s in text.unicodeScalars {
            if isXMLForbidden(s) { out += visibleCodePoint(s) } else { out.unicodeScalars.append(s) }
        }
        return out
    }

    /// A safe relative `href` for a report file name: percent-encodes everything except unreserved
    /// characters and `/`, so no scheme (`javascript:`) survives. Returns `nil` — no link — for
    /// absolute paths, network paths and empty names.
    public static func relativeHref(_ file: String) -> String? {
        guard !file.isEmpty, !file.hasPrefix("/"), !file.hasPrefix("\\") else { return nil }
        return percentEncoded(file, keepingSlashes: true)
    }

    /// RFC 3986 percent-encoding: every byte but the unreserved ASCII ones (letters, digits, `-._~`,
    /// and `/` when `keepingSlashes`) as `%XX` of its UTF-8. Bytewise: the worklist writes 100 links
    /// per page (Foundation's `CharacterSet` way was 12% of the server's CPU under load).
    public static func percentEncoded(_ text: String, keepingSlashes: Bool) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out = [UInt8]()
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                 UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(byte)
            case UInt8(ascii: "/") where keepingSlashes:
                out.append(byte)
            default:
                out.append(UInt8(ascii: "%")); out.append(hex[Int(byte >> 4)]); out.append(hex[Int(byte & 0xF)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
