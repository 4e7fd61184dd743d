import Foundation

/// One scan as read from a file: `length × channels` values, time-major, NaN = missing.
struct ParsedScan {
    var index: Int
    var length: Int
    var channels: Int
    var values: [Float]
    var hasMissing: Bool { values.contains { $0.isNaN } }
}

/// One case as read from a file, before ids, splits and verification are applied.
struct ParsedCase {
    /// Line where the case starts.
    var line: Int
    /// 1-based data row (UCR, UEA) — the `<stem>-<row>` of the default id.
    var row: Int
    /// Id given by the file (CSV `case_id`), nil for row-numbered formats.
    var id: String?
    var subject: String?
    var label: String?
    var scans: [ParsedScan]
    /// What the header declared so far (the class list of a `.ts` file, the CSV feature names):
    /// the importer creates a missing study from the first case it sees.
    var declaredClasses: [String]? = nil
    var channelNames: [String]? = nil
}

/// What a parser learned from the file besides its cases.
struct ParsedFileInfo {
    var problemName: String?
    /// Declared class list (`@classLabel true a b c`), if the file has one.
    var declaredClasses: [String]?
    var channelNames: [String]?
    var warnings: [String] = []
    var sha256 = ""
    var bytes = 0
}

/// A streaming parser: it calls `sink` once per case, in file order.
protocol SeriesParser {
    func parse(path: String, maxLineBytes: Int, sink: (ParsedCase) throws -> Void) throws -> ParsedFileInfo
}

/// Strict decimal numbers: digits, sign, point and exponent only (no hex floats, no `inf`/`nan`
/// words — formats that allow a missing marker handle it before calling this). The text is parsed
/// straight to Float32 (`Float(String)`, correctly rounded), never through Double, so a value reads
/// back exactly as the file wrote it.
enum DecimalText {
    enum Outcome { case value(Float), notANumber, overflow }

    static func parse<S: StringProtocol>(_ text: S) -> Outcome {
        guard !text.isEmpty else { return .notANumber }
        var sawDigit = false
        for u in text.utf8 {
            switch u {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): sawDigit = true
            case UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"): break
            default: return .notANumber
            }
        }
        guard sawDigit, let v = Float(String(text)) else { return .notANumber }
        return v.isFinite ? .value(v) : .overflow
    }

    /// The same rules on raw UTF-8 bytes (the importers' hot loop; this module is unoptimised in
    /// debug builds, so the loop avoids generic collection code). Small strings are built inline.
    static func parse(bytes: UnsafeBufferPointer<UInt8>) -> Outcome {
        guard !bytes.isEmpty else { return .notANumber }
        var sawDigit = false
        var i = 0
        let n = bytes.count
        while i < n {
            let u = bytes[i]
            if u >= 48 && u <= 57 { sawDigit = true } else if !(u == 43 || u == 45 || u == 46 || u == 101 || u == 69) {
                return .notANumber
            }
            i += 1
        }
        guard sawDigit, let v = Float(String(decoding: bytes, as: UTF8.self)) else { return .notANumber }
        return v.isFinite ? .value(v) : .overflow
    }

    /// `nan`, `NaN`, `inf`, `-Infinity`… — words some writers use for non-finite values.
    static func isNonFiniteWord<S: StringProtocol>(_ text: S) -> Bool {
        var t = text.lowercased()
        if t.hasPrefix("+") || t.hasPrefix("-") { t.removeFirst() }
        return t == "nan" || t == "inf" || t == "infinity"
    }
}

extension String {
    /// Trims spaces and tabs (not other characters: the formats are ASCII-delimited).
    func trimmedSpaces() -> Substring { Substring(self).trimmedSpaces() }
}

extension Substring {
    func trimmedSpaces() -> Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return s
    }
}

/// Orders class labels the way a reader expects: numerically when every label is a number
/// (`-1` < `1` < `2` < `10`), otherwise numbers first and then text in code-point order.
public enum ClassOrder {
    public static func sorted(_ labels: some Sequence<String>) -> [String] {
        Array(Set(labels)).sorted { a, b in
            switch (Double(a), Double(b)) {
            case let (x?, y?): return x != y ? x < y : a < b
            case (_?, nil): return true
            case (nil, _?): return false
            case (nil, nil): return a < b
            }
        }
    }
}
