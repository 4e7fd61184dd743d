import Foundation

/// UCR archive text: one series per line, the class label first, then the values, separated by
/// tabs (2018 `.tsv`), commas, or runs of spaces (older `.txt`). The separator is taken from the
/// first data line. `NaN` marks a missing value; trailing `NaN`s are the archive's padding of
/// variable-length series and are removed (the series is shorter), interior ones stay missing.
struct UCRParser: SeriesParser {
    enum Separator { case tab, comma, whitespace }

    func parse(path: String, maxLineBytes: Int, sink: (ParsedCase) throws -> Void) throws -> ParsedFileInfo {
        var reader = try LineReader(path: path, maxLineBytes: maxLineBytes)
        let file = reader.fileName
        var info = ParsedFileInfo()
        var separator: Separator?
        var expectedFields: Int?
        var firstLine = 0
        var row = 0
        var paddedRows = 0
        var sawAnyLine = false
        while let raw = try reader.next() {
            sawAnyLine = true
            let line = raw.trimmedSpaces()
            if line.isEmpty { continue }
            let lineNo = reader.lineNumber
            let sep = separator ?? (line.contains("\t") ? .tab : line.contains(",") ? .comma : .whitespace)
            separator = sep
            var text = String(line)
            var expected = expectedFields
            let (label, parsedValues) = try text.withUTF8 { buf -> (String, [Float]) in
                try Self.fields(buf, separator: sep, expectedFields: &expected, file: file, line: lineNo,
                                firstLine: firstLine)
            }
            if expectedFields == nil { expectedFields = expected; firstLine = lineNo }
            var values = parsedValues
            var length = values.count
            while length > 0 && values[length - 1].isNaN { length -= 1 }
            guard length > 0 else {
                throw ImportError(.badValue, file: file, line: lineNo, field: "field 2",
                                  expected: "at least one non-missing value", found: "only NaN")
            }
            if length < values.count { paddedRows += 1; values.removeLast(values.count - length) }
            row += 1
            try sink(ParsedCase(line: lineNo, row: row, id: nil, subject: nil, label: label,
                                scans: [ParsedScan(index: 0, length: length, channels: 1, values: values)]))
        }
        (info.sha256, info.bytes) = reader.finish()
        if row == 0 {
            throw ImportError(sawAnyLine ? .noData : .emptyFile, file: file, line: nil,
                              expected: "at least one series (label, then values)",
                              found: sawAnyLine ? "only blank lines" : "an empty file")
        }
        if paddedRows > 0 {
            info.warnings.append("\(paddedRows) series had trailing NaN padding removed (variable length)")
        }
        return info
    }

    /// Splits one line into its label and values, working on the UTF-8 bytes.
    static func fields(_ buf: UnsafeBufferPointer<UInt8>, separator: Separator, expectedFields: inout Int?,
                       file: String, line lineNo: Int, firstLine: Int) throws -> (String, [Float]) {
        // Token boundaries.
        var starts: [Int] = [], ends: [Int] = []
        let n = buf.count
        @inline(__always) func isSpace(_ u: UInt8) -> Bool { u == 32 || u == 9 }
        switch separator {
        case .whitespace:
            var i = 0
            while i < n {
                while i < n && isSpace(buf[i]) { i += 1 }
                if i >= n { break }
                let s = i
                while i < n && !isSpace(buf[i]) { i += 1 }
                starts.append(s); ends.append(i)
            }
        case .tab, .comma:
            let sepByte: UInt8 = separator == .tab ? 9 : 44
            var s = 0
            var i = 0
            while i <= n {
                if i == n || buf[i] == sepByte {
                    var a = s, b = i
                    while a < b && isSpace(buf[a]) { a += 1 }
                    while b > a && isSpace(buf[b - 1]) { b -= 1 }
                    starts.append(a); ends.append(b)
                    s = i + 1
                }
                i += 1
            }
        }
        let count = starts.count
        guard count >= 2 else {
            throw ImportError(.raggedRow, file: file, line: lineNo, field: "field 2",
                              expected: "a class label followed by at least one value", found: "\(count) field")
        }
        if let e = expectedFields, e != count {
            throw ImportError(.raggedRow, file: file, line: lineNo,
                              expected: "\(e - 1) values after the label (as on line \(firstLine))",
                              found: "\(count - 1) values")
        }
        expectedFields = count
        let label = try Self.label(Substring(String(decoding: UnsafeBufferPointer(rebasing: buf[starts[0]..<ends[0]]), as: UTF8.self)),
                                   file: file, line: lineNo)
        var values = [Float]()
        values.reserveCapacity(count - 1)
        for j in 1..<count {
            let token = UnsafeBufferPointer(rebasing: buf[starts[j]..<ends[j]])
            if token.count == 3 && (token[0] == 78 || token[0] == 110) && (token[1] == 97) && (token[2] == 78 || token[2] == 110) {
                values.append(.nan); continue  // NaN / nan
            }
            switch DecimalText.parse(bytes: token) {
            case .value(let v): values.append(v)
            case .overflow:
                throw ImportError(.nonFinite, file: file, line: lineNo, field: "field \(j + 1)",
                                  expected: "a finite Float32 value", found: String(decoding: token, as: UTF8.self))
            case .notANumber:
                let text = String(decoding: token, as: UTF8.self)
                throw ImportError(DecimalText.isNonFiniteWord(text) ? .nonFinite : .notANumber,
                                  file: file, line: lineNo, field: "field \(j + 1)",
                                  expected: "a decimal number (or NaN for missing)", found: text)
            }
        }
        return (label, values)
    }

    /// Labels are kept as written, except the old archive's `1.0000000e+00` style, which becomes `1`.
    static func label(_ token: Substring, file: String, line: Int) throws -> String {
        guard !token.isEmpty else {
            throw ImportError(.badValue, file: file, line: line, field: "field 1", expected: "a class label",
                              found: "an empty field")
        }
        if token.contains(where: { $0 == "e" || $0 == "E" || $0 == "." }), let d = Double(token),
           d.isFinite, d == d.rounded(), abs(d) < 1e9 {
            return String(Int(d))
        }
        return String(token)
    }
}
