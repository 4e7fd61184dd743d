import Foundation

/// The UEA/sktime `.ts` format: `@` header lines, then `@data`, then one case per line with
/// dimensions (channels) separated by `:`, values by `,`, and the class label last when
/// `@classLabel true`. `?` (or `NaN`) marks a missing value. Series may have different lengths
/// between cases (`@equalLength false`), but a case's dimensions must have the same length,
/// since a scan is stored as `[length][channels]`. `#` lines are comments.
struct TSParser: SeriesParser {
    static let knownKeys: Set<String> = ["@problemname", "@timestamps", "@univariate", "@dimensions",
                                         "@equallength", "@serieslength", "@classlabel", "@targetlabel",
                                         "@missing", "@data"]

    func parse(path: String, maxLineBytes: Int, sink: (ParsedCase) throws -> Void) throws -> ParsedFileInfo {
        var reader = try LineReader(path: path, maxLineBytes: maxLineBytes)
        let file = reader.fileName
        var info = ParsedFileInfo()
        var inData = false
        var hasClassLabel: Bool?
        var univariate: Bool?
        var dimensions: Int?
        var equalLength: Bool?
        var seriesLength: Int?
        var missingDeclared: Bool?
        var firstLength: (length: Int, line: Int)?
        var seriesLengthMismatches = 0
        var missingUndeclared = 0
        var row = 0
        var sawAnyLine = false

        func bool(_ key: String, _ rest: [Substring], line: Int) throws -> Bool {
            guard let v = rest.first?.lowercased(), v == "true" || v == "false" else {
                throw ImportError(.badHeader, file: file, line: line, field: key, expected: "true or false",
                                  found: rest.first.map(String.init) ?? "nothing")
            }
            return v == "true"
        }
        func int(_ key: String, _ rest: [Substring], line: Int) throws -> Int {
            guard let t = rest.first, let v = Int(t), v > 0 else {
                throw ImportError(.badHeader, file: file, line: line, field: key, expected: "a positive integer",
                                  found: rest.first.map(String.init) ?? "nothing")
            }
            return v
        }

        while let raw = try reader.next() {
            sawAnyLine = true
            let line = raw.trimmedSpaces()
            let lineNo = reader.lineNumber
            if line.isEmpty || line.hasPrefix("#") { continue }
            if !inData {
                guard line.hasPrefix("@") else {
                    throw ImportError(.missingDataSection, file: file, line: lineNo,
                                      expected: "an @ header line or @data before the first series",
                                      found: String(line))
                }
                let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
                let key = words[0].lowercased()
                let rest = Array(words.dropFirst())
                guard Self.knownKeys.contains(key) else {
                    throw ImportError(.unknownKey, file: file, line: lineNo, field: String(words[0]),
                                      expected: "one of " + Self.knownKeys.sorted().joined(separator: " "),
                                      found: String(words[0]))
                }
                switch key {
                case "@problemname": info.problemName = rest.map(String.init).joined(separator: " ")
                case "@timestamps":
                    if try bool(key, rest, line: lineNo) {
                        throw ImportError(.unsupported, file: file, line: lineNo, field: key,
                                          expected: "@timestamps false (timestamped (t,value) series are not supported)",
                                          found: "true")
                    }
                case "@univariate": univariate = try bool(key, rest, line: lineNo)
                case "@dimensions": dimensions = try int(key, rest, line: lineNo)
                case "@equallength": equalLength = try bool(key, rest, line: lineNo)
                case "@serieslength": seriesLength = try int(key, rest, line: lineNo)
                case "@missing": missingDeclared = try bool(key, rest, line: lineNo)
                case "@targetlabel":
                    if try bool(key, rest, line: lineNo) {
                        throw ImportError(.unsupported, file: file, line: lineNo, field: key,
                                          expected: "a classification file (@targetlabel regression targets are not supported)",
                                          found: "true")
                    }
                case "@classlabel":
                    let has = try bool(key, rest, line: lineNo)
                    hasClassLabel = has
                    if has {
                        let classes = rest.dropFirst().map(String.init)
                        guard !classes.isEmpty else {
                            throw ImportError(.badHeader, file: file, line: lineNo, field: key,
                                              expected: "@classLabel true followed by the class labels",
                                              found: "no labels")
                        }
                        guard Set(classes).count == classes.count else {
                            throw ImportError(.badHeader, file: file, line: lineNo, field: key,
                                              expected: "distinct class labels", found: classes.joined(separator: " "))
                        }
                        info.declaredClasses = classes
                    }
                case "@data":
                    inData = true
                    if univariate == true, let d = dimensions, d != 1 {
                        throw ImportError(.badHeader, file: file, line: lineNo, field: "@dimensions",
                                          expected: "1 for a univariate file", found: "\(d)")
                    }
                    if dimensions == nil, univariate == true { dimensions = 1 }
                default: break
                }
                continue
            }
            if line.hasPrefix("@") {
                throw ImportError(.badHeader, file: file, line: lineNo, expected: "series after @data, not header lines",
                                  found: String(line))
            }
            // A series.
            var parts = line.split(separator: ":", omittingEmptySubsequences: false)
            var label: String?
            if hasClassLabel == true {
                guard parts.count >= 2 else {
                    throw ImportError(.channelCount, file: file, line: lineNo,
                                      expected: "dimensions separated by ':' and then the class label",
                                      found: "\(parts.count) ':'-separated part")
                }
                let l = String(parts.removeLast().trimmedSpaces())
                guard !l.isEmpty else {
                    throw ImportError(.badValue, file: file, line: lineNo, field: "class label",
                                      expected: "a class label after the last ':'", found: "nothing")
                }
                if let classes = info.declaredClasses, !classes.contains(l) {
                    throw ImportError(.labelNotInClasses, file: file, line: lineNo, field: "class label",
                                      expected: "one of " + classes.joined(separator: " "), found: l)
                }
                label = l
            }
            if let d = dimensions, parts.count != d {
                throw ImportError(.channelCount, file: file, line: lineNo,
                                  expected: "\(d) dimensions" + (row > 0 ? " (as the earlier series)" : " (@dimensions)"),
                                  found: "\(parts.count)")
            }
            dimensions = parts.count
            var channelValues: [[Float]] = []
            channelValues.reserveCapacity(parts.count)
            for (d, part) in parts.enumerated() {
                let tokens = part.split(separator: ",", omittingEmptySubsequences: false)
                var values = [Float]()
                values.reserveCapacity(tokens.count)
                for (j, rawToken) in tokens.enumerated() {
                    let token = rawToken.trimmedSpaces()
                    if token == "?" || token == "NaN" || token == "nan" {
                        values.append(.nan); continue
                    }
                    let field = "dimension \(d + 1), value \(j + 1)"
                    switch DecimalText.parse(token) {
                    case .value(let v): values.append(v)
                    case .overflow:
                        throw ImportError(.nonFinite, file: file, line: lineNo, field: field,
                                          expected: "a finite Float32 value", found: String(token))
                    case .notANumber:
                        throw ImportError(DecimalText.isNonFiniteWord(token) ? .nonFinite : .notANumber,
                                          file: file, line: lineNo, field: field,
                                          expected: "a decimal number or ? for missing",
                                          found: token.isEmpty ? "an empty value" : String(token))
                    }
                }
                if let first = channelValues.first, first.count != values.count {
                    throw ImportError(.raggedRow, file: file, line: lineNo, field: "dimension \(d + 1)",
                                      expected: "\(first.count) values (as dimension 1 of this series)",
                                      found: "\(values.count) values")
                }
                channelValues.append(values)
            }
            let length = channelValues[0].count
            if let first = firstLength, equalLength == true, first.length != length {
                throw ImportError(.lengthMismatch, file: file, line: lineNo,
                                  expected: "\(first.length) values per dimension (@equalLength true, as line \(first.line))",
                                  found: "\(length)")
            }
            if firstLength == nil { firstLength = (length, lineNo) }
            if let s = seriesLength, s != length { seriesLengthMismatches += 1 }
            let channels = channelValues.count
            var values = [Float](repeating: 0, count: length * channels)
            for c in 0..<channels {
                let src = channelValues[c]
                for t in 0..<length { values[t * channels + c] = src[t] }
            }
            let scan = ParsedScan(index: 0, length: length, channels: channels, values: values)
            if missingDeclared == false && scan.hasMissing { missingUndeclared += 1 }
            row += 1
            try sink(ParsedCase(line: lineNo, row: row, id: nil, subject: nil, label: label, scans: [scan],
                                declaredClasses: info.declaredClasses))
        }
        (info.sha256, info.bytes) = reader.finish()
        guard sawAnyLine else {
            throw ImportError(.emptyFile, file: file, expected: "a .ts file (@ header lines, @data, series)",
                              found: "an empty file")
        }
        guard inData else {
            throw ImportError(.missingDataSection, file: file, line: reader.lineNumber,
                              expected: "an @data line after the header", found: "end of file")
        }
        guard row > 0 else {
            throw ImportError(.noData, file: file, line: reader.lineNumber, expected: "at least one series after @data",
                              found: "end of file")
        }
        if seriesLengthMismatches > 0, let s = seriesLength {
            info.warnings.append("@seriesLength \(s) disagrees with the data in \(seriesLengthMismatches) series; the data were kept as written")
        }
        if missingUndeclared > 0 {
            info.warnings.append("\(missingUndeclared) series have missing values although @missing is false")
        }
        return info
    }
}
