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
            let fields: [Substring]
            switch sep {
            case .tab: fields = line.split(separator: "\t", omittingEmptySubsequences: false).map { $0.trimmedSpaces() }
            case .comma: fields = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmedSpaces() }
            case .whitespace: fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            }
            guard fields.count >= 2 else {
                throw ImportError(.raggedRow, file: file, line: lineNo, field: "field 2",
                                  expected: "a class label followed by at least one value",
                                  found: "\(fields.count) field")
            }
            if let n = expectedFields, n != fields.count {
                throw ImportError(.raggedRow, file: file, line: lineNo,
                                  expected: "\(n - 1) values after the label (as on line \(firstLine))",
                                  found: "\(fields.count - 1) values")
            }
            if expectedFields == nil { expectedFields = fields.count; firstLine = lineNo }
            let label = try Self.label(fields[0], file: file, line: lineNo)
            var values = [Float]()
            values.reserveCapacity(fields.count - 1)
            for (j, token) in fields.dropFirst().enumerated() {
                if token == "NaN" || token == "nan" { values.append(.nan); continue }
                switch DecimalText.parse(token) {
                case .value(let v): values.append(v)
                case .overflow:
                    throw ImportError(.nonFinite, file: file, line: lineNo, field: "field \(j + 2)",
                                      expected: "a finite Float32 value", found: String(token))
                case .notANumber:
                    throw ImportError(DecimalText.isNonFiniteWord(token) ? .nonFinite : .notANumber,
                                      file: file, line: lineNo, field: "field \(j + 2)",
                                      expected: "a decimal number (or NaN for missing)", found: String(token))
                }
            }
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
