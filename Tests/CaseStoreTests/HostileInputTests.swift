import AuditLog
import Foundation
import GRDB
import XCTest
@_spi(Storage) @testable import CaseStore

/// Hostile and broken input: each gives its specific `ImportError`, and the store file is byte for
/// byte what it was before (WAL checkpointed on both sides), as is its logical dump.
final class HostileInputTests: XCTestCase {
    private var scratch: Scratch!
    private var store: CaseStore!

    override func setUpWithError() throws {
        scratch = try Scratch()
        store = try CaseStore(path: scratch.url.appendingPathComponent("store.sqlite").path)
        let base = try scratch.write("base.tsv", "-1\t0.5\t0.25\t1\n1\t1.5\t2.5\t3\n1\t0\t0\t0\n")
        _ = try store.importFile(base, study: "ecg", split: .train)
    }

    override func tearDown() { store = nil; scratch = nil }

    /// Runs a failing import (with the audit event appended in the same transaction, as the CLI does)
    /// and checks the error kind and that nothing changed.
    private func assertRefused(_ kind: ImportError.Kind, line: Int? = nil, name: String, _ contents: Data,
                               study: String = "ecg", format: ImportFormat? = nil, idPrefix: String? = nil,
                               file: StaticString = #filePath, testLine: UInt = #line) throws {
        let path = try scratch.write(name, contents)
        let before = try store.fileBytes()
        let dumpBefore = try store.dump()
        assertImportError(kind, line: line, file: file, line: testLine) {
            _ = try store.changeUnlogged { db in
                let r = try Importer.run(db, file: path, options: ImportOptions(study: study, split: .test, format: format,
                                                                                idPrefix: idPrefix))
                _ = try AuditLog.append(db, actor: "test", action: "cases.import",
                                        subject: AuditSubject(type: "study", id: study), payload: r)
                return r
            }
        }
        XCTAssertEqual(try store.dump(), dumpBefore, "logical content changed", file: file, line: testLine)
        XCTAssertEqual(try store.fileBytes(), before, "store file changed", file: file, line: testLine)
    }

    private func assertRefused(_ kind: ImportError.Kind, line: Int? = nil, name: String, _ text: String,
                               study: String = "ecg", format: ImportFormat? = nil, idPrefix: String? = nil,
                               file: StaticString = #filePath, testLine: UInt = #line) throws {
        try assertRefused(kind, line: line, name: name, Data(text.utf8), study: study, format: format,
                          idPrefix: idPrefix, file: file, testLine: testLine)
    }

    func testRaggedRowsAfterRowsWereInserted() throws {
        try assertRefused(.raggedRow, line: 3, name: "ragged.tsv", "1\t1\t2\t3\n-1\t4\t5\t6\n1\t7\t8\n")
        // And for a new study, whose creation must be undone as well.
        try assertRefused(.raggedRow, line: 2, name: "ragged2.tsv", "1\t1\t2\t3\n-1\t4\t5\n", study: "fresh")
        try assertRefused(.raggedRow, line: 3, name: "ragged.csv", "case_id,t,a,b\nx,0,1,2\nx,1,3\n", study: "fresh")
        try assertRefused(.raggedRow, line: 3, name: "ragged.ts", "@classLabel true a\n@data\n1,2:3:a\n", study: "fresh")
    }

    func testNonNumericValues() throws {
        try assertRefused(.notANumber, line: 2, name: "abc.tsv", "1\t1\t2\t3\n1\t0.5\tabc\t3\n")
        try assertRefused(.notANumber, line: 1, name: "hex.tsv", "1\t0x1p3\t2\t3\n", study: "x")  // hex floats are not decimal
        try assertRefused(.notANumber, line: 3, name: "bad.ts", "@classLabel true a\n@data\n1,two,3:a\n", study: "fresh")
        try assertRefused(.notANumber, line: 2, name: "bad.csv", "case_id,t,a\nc,0,1.2.3\n", study: "fresh")
        try assertRefused(.nonFinite, line: 1, name: "huge.tsv", "1\t1e39\t1\t1\n", study: "fresh")
    }

    func testErrorNamesFileLineAndField() throws {
        let path = try scratch.write("named.tsv", "1\t1\t2\t3\n1\t0.5\tabc\t3\n")
        let e = assertImportError(.notANumber) { _ = try store.importFile(path, study: "ecg") }
        XCTAssertEqual(e?.file, "named.tsv"); XCTAssertEqual(e?.line, 2); XCTAssertEqual(e?.field, "field 3")
        XCTAssertEqual(e?.found, "'abc'")
        XCTAssertTrue(e?.description.hasPrefix("named.tsv:2: notANumber in field 3: expected a decimal number") ?? false,
                      e?.description ?? "")
    }

    func testNaNAndInfInCSV() throws {
        for word in ["NaN", "nan", "Inf", "-inf", "Infinity"] {
            try assertRefused(.nonFinite, line: 3, name: "nan.csv", "case_id,t,a,label\nc,0,1,1\nc,1,\(word),1\n")
        }
    }

    func testEmptyFileAndHeaderOnly() throws {
        try assertRefused(.emptyFile, name: "empty.tsv", "")
        try assertRefused(.emptyFile, name: "empty.csv", "")
        try assertRefused(.emptyFile, name: "empty.ts", "")
        try assertRefused(.noData, name: "blank.tsv", "\n\n  \n")
        try assertRefused(.noData, name: "header.csv", "case_id,scan,t,a,b,label\n")
        try assertRefused(.noData, name: "header.ts", "@problemName x\n@classLabel true a b\n@data\n")
    }

    func testWrongChannelCountMidFile() throws {
        let text = """
            @problemName eeg
            @dimensions 2
            @classLabel true 0 1
            @data
            1,2:3,4:0
            1,2:3,4:1
            1,2:3,4:5,6:1

            """
        try assertRefused(.channelCount, line: 7, name: "chan.ts", text, study: "fresh")
        // Without @dimensions the first series sets the count.
        try assertRefused(.channelCount, line: 4, name: "chan2.ts", "@classLabel true 0 1\n@data\n1:2:0\n1:2:3:1\n", study: "fresh")
        // Against an existing study with one channel.
        try assertRefused(.channelCount, line: 3, name: "chan3.ts", "@classLabel true 1\n@data\n1:2:1\n")
    }

    func testUnknownHeaderKeyAndMissingData() throws {
        try assertRefused(.unknownKey, line: 2, name: "key.ts", "@problemName x\n@colour blue\n@data\n1,2:a\n", study: "fresh")
        try assertRefused(.missingDataSection, line: 3, name: "nodata.ts", "@problemName x\n@classLabel true a\n1,2:a\n", study: "fresh")
        try assertRefused(.missingDataSection, name: "nodata2.ts", "@problemName x\n@classLabel true a\n", study: "fresh")
        try assertRefused(.unsupported, line: 1, name: "stamps.ts", "@timestamps true\n@data\n(1,2):a\n", study: "fresh")
        try assertRefused(.badHeader, line: 1, name: "bool.ts", "@equalLength maybe\n@data\n", study: "fresh")
        try assertRefused(.labelNotInClasses, line: 3, name: "undeclared.ts", "@classLabel true a b\n@data\n1,2:c\n", study: "fresh")
        try assertRefused(.lengthMismatch, line: 5, name: "eq.ts", "@equalLength true\n@classLabel true a\n@data\n1,2:a\n1,2,3:a\n", study: "fresh")
    }

    func testDuplicateCaseIds() throws {
        // Within the file.
        try assertRefused(.duplicateCaseId, line: 4, name: "dup.csv", "case_id,t,a\nx,0,1\ny,0,1\nx,1,1\n", study: "fresh")
        // Against the store: base.tsv's ids already exist.
        try assertRefused(.duplicateCaseId, line: 1, name: "base.tsv", "1\t1\t2\t3\n")
        // Against the store through --id-prefix: other.tsv row 1 becomes base-1, which exists.
        try assertRefused(.duplicateCaseId, line: 1, name: "other.tsv", "1\t1\t2\t3\n", idPrefix: "base")
    }

    func testInvalidUTF8() throws {
        var data = Data("1\t1\t2\t3\n1\t0.5\t".utf8)
        data.append(contentsOf: [0xC3, 0x28])
        data.append(Data("\t3\n".utf8))
        try assertRefused(.invalidUTF8, line: 2, name: "latin.tsv", data)
        var csv = Data("case_id,t,a\n".utf8)
        csv.append(contentsOf: [0xFF, 0xFE])
        csv.append(Data(",0,1\n".utf8))
        try assertRefused(.invalidUTF8, line: 2, name: "bad.csv", csv, study: "fresh")
    }

    func testTenMegabyteSingleLine() throws {
        var data = Data(capacity: 10_500_000)
        data.append(Data("1".utf8))
        let chunk = Data(String(repeating: "\t0.125", count: 1000).utf8)
        while data.count < 10_000_000 { data.append(chunk) }
        try assertRefused(.lineTooLong, line: 1, name: "long.tsv", data)
        try assertRefused(.lineTooLong, line: 3, name: "long.ts", Data("@classLabel true 1\n@data\n".utf8) + data, study: "fresh")
    }

    func testLabelNotInStudyClasses() throws {
        try assertRefused(.labelNotInClasses, line: 2, name: "labels.tsv", "1\t1\t2\t3\n2\t1\t2\t3\n")
        try assertRefused(.labelNotInClasses, line: 2, name: "labels.csv", "case_id,t,a,label\nq,0,1,maybe\n")
    }

    func testUnsupportedExtension() throws {
        try assertRefused(.unsupportedFormat, name: "data.xlsx", "1\t2\n")
    }

    func testSQLLookingIdIsJustData() throws {
        let hostile = "x'); DROP TABLE cases;--"
        let path = try scratch.write("sql.csv", "case_id,t,a,label\n\(hostile),0,1,1\n\"\(hostile)\"\"2\",0,2,-1\n")
        let r = try store.importFile(path, study: "ecg", split: .test)
        XCTAssertEqual(r.cases, 2)
        try store.read { db in
            XCTAssertTrue(try db.database.tableExists("cases")); XCTAssertTrue(try db.database.tableExists("scans"))
            XCTAssertEqual(try CaseRecord.fetchCount(db.database), 5)
            XCTAssertEqual(try CaseStore.caseRecord(db, id: hostile).label, "1")
            XCTAssertEqual(try CaseStore.caseRecord(db, id: hostile + "\"2").label, "-1")
            XCTAssertEqual(try CaseStore.scans(db, caseId: hostile)[0].values, [1])
        }
    }

    func testCallerThatSwallowsTheErrorKeepsNoPartialImport() throws {
        let path = try scratch.write("late.tsv", "1\t1\t2\t3\n-1\t4\t5\t6\n1\t7\tx\t9\n")
        let dumpBefore = try store.dump()
        try store.changeUnlogged { db in
            XCTAssertThrowsError(try Importer.run(db, file: path, options: ImportOptions(study: "ecg", split: .test)))
        }
        XCTAssertEqual(try store.dump(), dumpBefore)
    }

    func testSuccessfulImportCommitsWithItsAuditEvent() throws {
        let path = try scratch.write("ok.tsv", "1\t1\t2\t3\n")
        let event = try store.changeUnlogged { db in
            let r = try Importer.run(db, file: path, options: ImportOptions(study: "ecg", split: .test))
            return try AuditLog.append(db, actor: "test", action: "cases.import",
                                       subject: AuditSubject(type: "study", id: "ecg"), payload: r)
        }
        XCTAssertEqual(event.action, "cases.import")
        XCTAssertEqual(try store.readDatabase { try CaseRecord.fetchCount($0) }, 4)
    }
}
