import Foundation

/// Long CSV: a header `case_id,scan,t,<feature columns…>,label`, one row per time step. `case_id`
/// and `t` are required; `scan` (default 0), `label` (empty = unlabelled) and `subject` (default the
/// case id) are optional; every other column is a feature (channel), in header order. A case's rows
/// are contiguous, `t` strictly increases within a scan. An empty feature field is a missing value;
/// `NaN`/`Inf` words are refused, because a writer that prints them usually hid a bug.
/// Fields may be double-quoted (`""` inside quotes is a quote).
struct CSVParser: SeriesParser {
    func parse(path: String, maxLineBytes: Int, sink: (ParsedCase) throws -> Void) throws -> ParsedFileInfo {
        var reader = try LineReader(path: path, maxLineBytes: maxLineBytes)
        let file = reader.fileName
        var info = ParsedFileInfo()

        // Header.
        var headerLine: String?
        while let raw = try reader.next() {
            if !raw.trimmedSpaces().isEmpty { headerLine = raw; break }
        }
        guard let headerLine else {
            throw ImportError(.emptyFile, file: file, expected: "a header line case_id,scan,t,<features…>,label",
                              found: "an empty file")
        }
        let headerNo = reader.lineNumber
        let header = try Self.fields(headerLine, file: file, line: headerNo).map { $0.lowercased() }
        var seen = Set<String>()
        for (i, name) in header.enumerated() {
            guard !name.isEmpty else {
                throw ImportError(.badHeader, file: file, line: headerNo, field: "column \(i + 1)",
                                  expected: "a column name", found: "an empty name")
            }
            guard seen.insert(name).inserted else {
                throw ImportError(.badHeader, file: file, line: headerNo, field: "column \(i + 1)",
                                  expected: "distinct column names", found: "'\(name)' twice")
            }
        }
        guard let idCol = header.firstIndex(of: "case_id") else {
            throw ImportError(.badHeader, file: file, line: headerNo, field: "case_id",
                              expected: "a case_id column", found: header.joined(separator: ","))
        }
        guard let tCol = header.firstIndex(of: "t") else {
            throw ImportError(.badHeader, file: file, line: headerNo, field: "t",
                              expected: "a t column (time step)", found: header.joined(separator: ","))
        }
        let scanCol = header.firstIndex(of: "scan")
        let labelCol = header.firstIndex(of: "label")
        let subjectCol = header.firstIndex(of: "subject")
        let reserved = Set([idCol, tCol, scanCol, labelCol, subjectCol].compactMap { $0 })
        let featureCols = header.indices.filter { !reserved.contains($0) }
        guard !featureCols.isEmpty else {
            throw ImportError(.badHeader, file: file, line: headerNo,
                              expected: "at least one feature column besides case_id, scan, t, label, subject",
                              found: header.joined(separator: ","))
        }
        info.channelNames = featureCols.map { header[$0] }
        let channels = featureCols.count

        // Rows, grouped into cases and scans.
        var current: ParsedCase?
        var currentScanValues: [Float] = []
        var currentScanIndex = -1
        var lastT = -Double.infinity
        var finished = [String: Int]()  // case id → first line, for cases already emitted
        var row = 0

        func closeScan() {
            guard current != nil, currentScanIndex >= 0 else { return }
            current!.scans.append(ParsedScan(index: currentScanIndex, length: currentScanValues.count / channels,
                                             channels: channels, values: currentScanValues))
            currentScanValues = []
        }
        func closeCase() throws {
            closeScan()
            if let c = current {
                finished[c.id!] = c.line
                try sink(c)
            }
            current = nil; currentScanIndex = -1
        }

        while let raw = try reader.next() {
            let lineNo = reader.lineNumber
            if raw.trimmedSpaces().isEmpty { continue }
            let f = try Self.fields(raw, file: file, line: lineNo)
            guard f.count == header.count else {
                throw ImportError(.raggedRow, file: file, line: lineNo,
                                  expected: "\(header.count) fields (as the header)", found: "\(f.count) fields")
            }
            let id = String(f[idCol])
            guard !id.isEmpty else {
                throw ImportError(.badValue, file: file, line: lineNo, field: "case_id", expected: "a case id",
                                  found: "an empty field")
            }
            var scanIndex = 0
            if let scanCol {
                guard let s = Int(f[scanCol].trimmedSpaces()), s >= 0 else {
                    throw ImportError(.badValue, file: file, line: lineNo, field: "scan",
                                      expected: "a scan index (integer ≥ 0)", found: String(f[scanCol]))
                }
                scanIndex = s
            }
            guard let t = Double(f[tCol].trimmedSpaces()), t.isFinite else {
                throw ImportError(.badValue, file: file, line: lineNo, field: "t", expected: "a finite number",
                                  found: String(f[tCol]))
            }
            let labelText = labelCol.map { String(f[$0].trimmedSpaces()) }
            let label = (labelText?.isEmpty ?? true) ? nil : labelText
            let subjectText = subjectCol.map { String(f[$0].trimmedSpaces()) }
            let subject = (subjectText?.isEmpty ?? true) ? nil : subjectText

            if current?.id != id {
                try closeCase()
                if let first = finished[id] {
                    throw ImportError(.duplicateCaseId, file: file, line: lineNo, field: "case_id",
                                      expected: "the rows of a case to be contiguous and each case id once in the file",
                                      found: "'\(id)' again (first seen on line \(first))")
                }
                row += 1
                current = ParsedCase(line: lineNo, row: row, id: id, subject: subject, label: label, scans: [],
                                     channelNames: info.channelNames)
            } else {
                if current!.label != label {
                    throw ImportError(.badValue, file: file, line: lineNo, field: "label",
                                      expected: "the same label on every row of case '\(id)' (\(current!.label ?? "empty"))",
                                      found: label ?? "empty")
                }
                if current!.subject != subject {
                    throw ImportError(.badValue, file: file, line: lineNo, field: "subject",
                                      expected: "the same subject on every row of case '\(id)'", found: subject ?? "empty")
                }
            }
            if scanIndex != currentScanIndex {
                if scanIndex < currentScanIndex {
                    throw ImportError(.badValue, file: file, line: lineNo, field: "scan",
                                      expected: "scan indices increasing within case '\(id)' (after \(currentScanIndex))",
                                      found: "\(scanIndex)")
                }
                closeScan()
                currentScanIndex = scanIndex
                lastT = -Double.infinity
            }
            guard t > lastT else {
                throw ImportError(.badValue, file: file, line: lineNo, field: "t",
                                  expected: "t increasing within a scan (after \(lastT))", found: String(f[tCol]))
            }
            lastT = t
            for c in featureCols {
                let token = f[c].trimmedSpaces()
                if token.isEmpty { currentScanValues.append(.nan); continue }
                switch DecimalText.parse(token) {
                case .value(let v): currentScanValues.append(v)
                case .overflow:
                    throw ImportError(.nonFinite, file: file, line: lineNo, field: header[c],
                                      expected: "a finite Float32 value", found: String(token))
                case .notANumber:
                    if DecimalText.isNonFiniteWord(token) {
                        throw ImportError(.nonFinite, file: file, line: lineNo, field: header[c],
                                          expected: "a finite number (leave the field empty for a missing value)",
                                          found: String(token))
                    }
                    throw ImportError(.notANumber, file: file, line: lineNo, field: header[c],
                                      expected: "a decimal number", found: String(token))
                }
            }
        }
        try closeCase()
        (info.sha256, info.bytes) = reader.finish()
        guard row > 0 else {
            throw ImportError(.noData, file: file, line: headerNo, expected: "data rows after the header",
                              found: "only the header")
        }
        return info
    }

    /// Splits one CSV line; quoted fields may contain commas and doubled quotes.
    static func fields(_ line: String, file: String, line lineNo: Int) throws -> [Substring] {
        guard line.contains("\"") else {
            return line.split(separator: ",", omittingEmptySubsequences: false)
        }
        var out: [Substring] = []
        var field = ""
        var inQuotes = false
        var wasQuoted = false
        var i = line.startIndex
        while i < line.endIndex {
            let ch = line[i]
            if inQuotes {
                if ch == "\"" {
                    let n = line.index(after: i)
                    if n < line.endIndex && line[n] == "\"" { field.append("\""); i = n } else { inQuotes = false }
                } else { field.append(ch) }
            } else if ch == "," {
                out.append(Substring(field)); field = ""; wasQuoted = false
            } else if ch == "\"" && field.trimmingCharacters(in: .whitespaces).isEmpty && !wasQuoted {
                inQuotes = true; wasQuoted = true; field = ""
            } else { field.append(ch) }
            i = line.index(after: i)
        }
        if inQuotes {
            throw ImportError(.badValue, file: file, line: lineNo, expected: "a closing quote on the same line",
                              found: "an unterminated quoted field")
        }
        out.append(Substring(field))
        return out
    }
}
