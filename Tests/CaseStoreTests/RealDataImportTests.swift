import Foundation
import GRDB
import XCTest
@_spi(Storage) @testable import CaseStore

/// Imports the real UCR/UEA files and checks counts, shapes, classes and that every value reads back
/// bit-identical to the source text parsed directly as Float32 by an independent reader.
final class RealDataImportTests: XCTestCase {
    /// Independent UCR reader: tab-separated, label first.
    private func ucrRows(_ path: String) throws -> [(label: String, values: [Float])] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return text.split(separator: "\n").map { line in
            let f = line.split(separator: "\t")
            return (String(f[0]), f.dropFirst().map { Float(String($0))! })
        }
    }

    private func assertUCR(_ store: CaseStore, path: String, stem: String, cases: Int, length: Int,
                           classCounts: [String: Int], file: StaticString = #filePath, line: UInt = #line) throws {
        let rows = try ucrRows(path)
        XCTAssertEqual(rows.count, cases, file: file, line: line)
        var fromFile = [String: Int]()
        for r in rows { fromFile[r.label, default: 0] += 1 }
        XCTAssertEqual(fromFile, classCounts, "class counts computed from the file", file: file, line: line)
        try store.read { db in
            let stored = try CaseRecord.filter(Column("id").like("\(stem)-%")).fetchAll(db.database)
            XCTAssertEqual(stored.count, cases, file: file, line: line)
            var storedCounts = [String: Int]()
            for c in stored { storedCounts[c.label ?? "nil", default: 0] += 1 }
            XCTAssertEqual(storedCounts, classCounts, file: file, line: line)
            let byId = Dictionary(uniqueKeysWithValues: stored.map { ($0.id, $0) })
            let scans = try ScanRecord.filter(Column("case_id").like("\(stem)-%")).fetchAll(db.database)
            XCTAssertEqual(scans.count, cases, file: file, line: line)
            let scanById = Dictionary(grouping: scans, by: \.caseId)
            for (i, row) in rows.enumerated() {
                let id = "\(stem)-\(i + 1)"
                guard let c = byId[id], let s = scanById[id] else { XCTFail("\(id) missing", file: file, line: line); return }
                XCTAssertEqual(c.label, row.label, file: file, line: line)
                XCTAssertEqual(c.verifiedBy, (path as NSString).lastPathComponent, file: file, line: line)
                XCTAssertNotNil(c.verifiedAt, file: file, line: line)
                XCTAssertEqual(s.count, 1, file: file, line: line)
                XCTAssertEqual(s[0].scanIndex, 0, file: file, line: line)
                XCTAssertEqual(s[0].length, length, file: file, line: line)
                XCTAssertEqual(s[0].channels, 1, file: file, line: line)
                XCTAssertFalse(s[0].hasMissing, file: file, line: line)
                if s[0].values.map(\.bitPattern) != row.values.map(\.bitPattern) {
                    XCTFail("\(id): values differ from the source text parsed as Float32", file: file, line: line)
                    return
                }
            }
        }
    }

    /// Missing data: a visible skip on a user's clone, a failure in CI.
    func testMissingDataSkipsLocallyAndFailsInCI() throws {
        let scratch = try Scratch()
        let fakeRoot = scratch.url.appendingPathComponent("pkg")  // ../shared/data does not exist beside it
        let previous = ProcessInfo.processInfo.environment["CI"]
        defer { if let previous { setenv("CI", previous, 1) } else { unsetenv("CI") } }
        unsetenv("CI")
        XCTAssertThrowsError(try sharedDataDirectory(packageRoot: fakeRoot)) { XCTAssertTrue($0 is XCTSkip, "\($0)") }
        setenv("CI", "true", 1)
        XCTAssertThrowsError(try sharedDataDirectory(packageRoot: fakeRoot)) { XCTAssertTrue($0 is SharedDataMissing, "\($0)") }
    }

    func testECG200() throws {
        let data = try sharedDataDirectory()
        let store = try CaseStore.inMemory()
        let train = data.appendingPathComponent("ECG200/ECG200_TRAIN.tsv").path
        let test = data.appendingPathComponent("ECG200/ECG200_TEST.tsv").path
        let r1 = try store.importFile(train, study: "ECG200", split: .train)
        let r2 = try store.importFile(test, study: "ECG200", split: .test)
        XCTAssertTrue(r1.studyCreated); XCTAssertFalse(r2.studyCreated)
        XCTAssertEqual(r1.cases, 100); XCTAssertEqual(r2.cases, 100)
        XCTAssertEqual(r1.minLength, 96); XCTAssertEqual(r1.maxLength, 96)
        XCTAssertEqual(r1.format, .ucr)
        // Provenance hash: the data README lists the first 16 hex digits of each file's SHA-256.
        XCTAssertTrue(r1.sha256.hasPrefix("bd08b37147ebf205"), r1.sha256)
        XCTAssertTrue(r2.sha256.hasPrefix("c8ac02caf98be23c"), r2.sha256)
        XCTAssertEqual(r1.bytes, 106_739)
        let study = try store.read { try CaseStore.study($0, named: "ECG200") }
        XCTAssertEqual(study.classes, ["-1", "1"])
        XCTAssertEqual(study.channels, ["ch0"])
        try assertUCR(store, path: train, stem: "ECG200_TRAIN", cases: 100, length: 96, classCounts: ["-1": 31, "1": 69])
        try assertUCR(store, path: test, stem: "ECG200_TEST", cases: 100, length: 96,
                      classCounts: r2.classCounts)
        XCTAssertEqual(r2.classCounts.values.reduce(0, +), 100)
        let splits = try store.read { db in
            try (CaseStore.cases(db, study: "ECG200", split: .train).count, CaseStore.cases(db, study: "ECG200", split: .test).count)
        }
        XCTAssertEqual(splits.0, 100); XCTAssertEqual(splits.1, 100)
    }

    func testECG5000() throws {
        let data = try sharedDataDirectory()
        let store = try CaseStore.inMemory()
        let train = data.appendingPathComponent("ECG5000/ECG5000_TRAIN.tsv").path
        let test = data.appendingPathComponent("ECG5000/ECG5000_TEST.tsv").path
        let r1 = try store.importFile(train, study: "ECG5000", split: .train)
        let r2 = try store.importFile(test, study: "ECG5000", split: .test)
        XCTAssertEqual(r1.cases, 500); XCTAssertEqual(r2.cases, 4500)
        XCTAssertEqual(r2.minLength, 140); XCTAssertEqual(r2.maxLength, 140)
        XCTAssertTrue(r1.sha256.hasPrefix("df86ac15d7e283e7"), r1.sha256)
        XCTAssertTrue(r2.sha256.hasPrefix("0192997dd1793880"), r2.sha256)
        let study = try store.read { try CaseStore.study($0, named: "ECG5000") }
        XCTAssertEqual(study.classes, ["1", "2", "3", "4", "5"])
        // Counts as computed from the files (cut -f1 | sort | uniq -c); class 1 is ~58% overall.
        let trainCounts = ["1": 292, "2": 177, "3": 10, "4": 19, "5": 2]
        let testCounts = ["1": 2627, "2": 1590, "3": 86, "4": 175, "5": 22]
        XCTAssertEqual(r1.classCounts, trainCounts)
        XCTAssertEqual(r2.classCounts, testCounts)
        XCTAssertEqual(Double(292 + 2627) / 5000, 0.5838, accuracy: 1e-4)
        try assertUCR(store, path: train, stem: "ECG5000_TRAIN", cases: 500, length: 140, classCounts: trainCounts)
        try assertUCR(store, path: test, stem: "ECG5000_TEST", cases: 4500, length: 140, classCounts: testCounts)
    }

    func testEyesOpenShut() throws {
        let data = try sharedDataDirectory()
        let store = try CaseStore.inMemory()
        for (name, split, n, counts, hash) in [
            ("EyesOpenShut_TRAIN", Split.train, 56, ["0": 33, "1": 23], "c40b21a74e70b28f"),
            ("EyesOpenShut_TEST", Split.test, 42, ["0": 21, "1": 21], "dfa0d32ebcbef6eb"),
        ] {
            let path = data.appendingPathComponent("EyesOpenShut/\(name).ts").path
            let r = try store.importFile(path, study: "EyesOpenShut", split: split)
            XCTAssertEqual(r.format, .ts)
            XCTAssertEqual(r.problemName, "EyesOpenShut")
            XCTAssertEqual(r.cases, n)
            XCTAssertEqual(r.channels, 14)
            XCTAssertEqual(r.minLength, 128); XCTAssertEqual(r.maxLength, 128)
            XCTAssertEqual(r.classCounts, counts)
            XCTAssertTrue(r.sha256.hasPrefix(hash), r.sha256)
            // The file declares @seriesLength 127 but every series has 128 values: kept, and said.
            XCTAssertTrue(r.warnings.contains { $0.contains("@seriesLength 127") }, "\(r.warnings)")

            // Independent reader: lines after @data, 14 ':'-separated dimensions, label last.
            let text = try String(contentsOfFile: path, encoding: .utf8)
            let lines = text.split(separator: "\n").drop { !$0.hasPrefix("@data") }.dropFirst()
            XCTAssertEqual(lines.count, n)
            try store.read { db in
                for (i, line) in lines.enumerated() {
                    let parts = line.split(separator: ":")
                    XCTAssertEqual(parts.count, 15)
                    let id = "\(name)-\(i + 1)"
                    let c = try CaseStore.caseRecord(db, id: id)
                    XCTAssertEqual(c.label, String(parts[14]))
                    let scan = try CaseStore.scans(db, caseId: id)[0]
                    XCTAssertEqual(scan.length, 128); XCTAssertEqual(scan.channels, 14)
                    let values = scan.values
                    for d in 0..<14 {
                        let expected = parts[d].split(separator: ",").map { Float(String($0))!.bitPattern }
                        let got = (0..<128).map { values[$0 * 14 + d].bitPattern }
                        if expected != got { XCTFail("\(id) dimension \(d + 1) differs"); return }
                    }
                }
            }
        }
        let study = try store.read { try CaseStore.study($0, named: "EyesOpenShut") }
        XCTAssertEqual(study.classes, ["0", "1"])
        XCTAssertEqual(study.channels.count, 14)
        XCTAssertTrue(study.description.contains("EyesOpenShut"))
    }
}
