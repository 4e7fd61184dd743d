import Foundation
import GRDB
import XCTest
@_spi(Storage) @testable import CaseStore

/// The format features the real files do not exercise: variable-length and missing `.ts` series,
/// string labels, unlabelled files, long CSV with several scans, and exact Float32 parsing.
final class FormatImportTests: XCTestCase {
    func testVariableLengthTSWithMissingValuesAndStringLabels() throws {
        let scratch = try Scratch()
        let path = try scratch.write("Gait_TRAIN.ts", """
            # a comment line
            @problemName Gait
            @timestamps false
            @missing true
            @univariate false
            @dimensions 2
            @equalLength false
            @classLabel true walk run
            @data
            1.0,2.0,3.0:4.0,5.0,6.0:walk
            1.5,?,2.5,3.5:0.1,0.2,0.3,?:run
            7:8:walk

            """)
        let store = try CaseStore.inMemory()
        let r = try store.importFile(path, study: "gait", split: .train)
        XCTAssertEqual(r.cases, 3)
        XCTAssertEqual(r.minLength, 1); XCTAssertEqual(r.maxLength, 4)
        XCTAssertEqual(r.scansWithMissing, 1)
        XCTAssertEqual(r.classCounts, ["walk": 2, "run": 1])
        try store.read { db in
            let study = try CaseStore.study(db, named: "gait")
            XCTAssertEqual(study.classes, ["walk", "run"], "declared @classLabel order is kept")
            XCTAssertEqual(study.channels, ["ch0", "ch1"])
            let s1 = try CaseStore.scans(db, caseId: "Gait_TRAIN-1")[0]
            XCTAssertEqual(s1.length, 3); XCTAssertEqual(s1.channels, 2)
            XCTAssertEqual(s1.values, [1, 4, 2, 5, 3, 6], "time-major [length][channels]")
            XCTAssertFalse(s1.hasMissing)
            let s2 = try CaseStore.scans(db, caseId: "Gait_TRAIN-2")[0]
            XCTAssertEqual(s2.length, 4)
            XCTAssertTrue(s2.hasMissing)
            let v = s2.values
            XCTAssertTrue(v[1 * 2 + 0].isNaN, "? stays missing, never zero")
            XCTAssertTrue(v[3 * 2 + 1].isNaN)
            XCTAssertEqual(v.filter { $0.isNaN }.count, 2)
            XCTAssertEqual(v[2 * 2 + 0], 2.5)
            let s3 = try CaseStore.scans(db, caseId: "Gait_TRAIN-3")[0]
            XCTAssertEqual(s3.length, 1); XCTAssertEqual(s3.values, [7, 8])
            XCTAssertEqual(try CaseStore.caseRecord(db, id: "Gait_TRAIN-2").label, "run")
            // The flag is stored in the schema column too.
            XCTAssertEqual(try Int.fetchOne(db.database, sql: "SELECT SUM(has_missing) FROM scans"), 1)
        }
    }

    func testUnlabelledTSIntoExistingStudyIsUnverified() throws {
        let scratch = try Scratch()
        let labelled = try scratch.write("uni_TRAIN.ts", """
            @problemName uni
            @univariate true
            @equalLength true
            @seriesLength 3
            @classLabel true a b
            @data
            1,2,3:a
            4,5,6:b
            """)
        let unlabelled = try scratch.write("uni_NEW.ts", """
            @problemName uni
            @univariate true
            @classLabel false
            @data
            1,?,3
            """)
        let store = try CaseStore.inMemory()
        _ = try store.importFile(labelled, study: "uni", split: .train, verifiedBy: "dr-lee")
        let r = try store.importFile(unlabelled, study: "uni", split: .incoming, idPrefix: "new")
        XCTAssertEqual(r.unlabelled, 1); XCTAssertEqual(r.labelled, 0); XCTAssertNil(r.verifiedBy)
        try store.read { db in
            let c = try CaseStore.caseRecord(db, id: "new-1")
            XCTAssertNil(c.label); XCTAssertNil(c.verifiedBy); XCTAssertNil(c.verifiedAt)
            XCTAssertEqual(c.split, .incoming)
            XCTAssertEqual(try CaseStore.caseRecord(db, id: "uni_TRAIN-2").verifiedBy, "dr-lee")
        }
    }

    func testLongCSVWithScansSubjectsAndMissing() throws {
        let scratch = try Scratch()
        let path = try scratch.write("lesions.csv", """
            case_id,subject,scan,t,reflectance,contrast,label
            L1,P1,0,0,0.5,1.25,benign
            L1,P1,0,1,0.25,,benign
            L1,P1,1,0,0.75,1.5,benign
            L1,P1,1,1,0.125,2,benign
            L2,P2,0,0,1e-3,-2.5,
            """)
        let store = try CaseStore.inMemory()
        try store.changeUnlogged { db in
            try Study(name: "skin", classes: ["benign", "malignant"], channels: ["reflectance", "contrast"]).insert(db.database)
        }
        let r = try store.importFile(path, study: "skin", split: .calibration)
        XCTAssertEqual(r.cases, 2); XCTAssertEqual(r.scans, 3)
        XCTAssertEqual(r.labelled, 1); XCTAssertEqual(r.unlabelled, 1)
        XCTAssertEqual(r.scansWithMissing, 1)
        try store.read { db in
            let l1 = try CaseStore.caseRecord(db, id: "L1")
            XCTAssertEqual(l1.subject, "P1"); XCTAssertEqual(l1.label, "benign"); XCTAssertEqual(l1.verifiedBy, "lesions.csv")
            let scans = try CaseStore.scans(db, caseId: "L1")
            XCTAssertEqual(scans.map(\.scanIndex), [0, 1])
            XCTAssertEqual(scans[0].length, 2); XCTAssertEqual(scans[0].channels, 2)
            XCTAssertEqual(scans[0].values[0], 0.5); XCTAssertTrue(scans[0].values[3].isNaN)
            XCTAssertEqual(scans[1].values, [0.75, 1.5, 0.125, 2])
            let l2 = try CaseStore.caseRecord(db, id: "L2")
            XCTAssertNil(l2.label); XCTAssertNil(l2.verifiedBy)
            XCTAssertEqual(try CaseStore.scans(db, caseId: "L2")[0].values, [Float("1e-3")!, -2.5])
        }
    }

    func testCSVCreatesStudyWithHeaderChannelNamesAndNumericAwareClassOrder() throws {
        let scratch = try Scratch()
        var text = "case_id,t,speed,area,label\n"
        for (i, label) in ["10", "2", "-1", "1", "2"].enumerated() { text += "c\(i),0,1,2,\(label)\n" }
        let path = try scratch.write("cells.csv", text)
        let store = try CaseStore.inMemory()
        _ = try store.importFile(path, study: "cells", split: .train)
        let study = try store.read { try CaseStore.study($0, named: "cells") }
        XCTAssertEqual(study.classes, ["-1", "1", "2", "10"])
        XCTAssertEqual(study.channels, ["speed", "area"])
        XCTAssertEqual(ClassOrder.sorted(["b", "10", "a", "9"]), ["9", "10", "a", "b"])
    }

    func testUCRSeparatorsAndOldStyleLabels() throws {
        let scratch = try Scratch()
        let spaces = try scratch.write("old.txt", "  1.0000000e+00  -1.5  2.25\n -1.0000000e+00   3  4\n")
        let commas = try scratch.write("commas.txt", "1,0.5,0.25\n2,1,2\n")
        let store = try CaseStore.inMemory()
        let r = try store.importFile(spaces, study: "old")
        XCTAssertEqual(r.classCounts, ["1": 1, "-1": 1])
        XCTAssertEqual(try store.read { try CaseStore.scans($0, caseId: "old-1")[0].values }, [-1.5, 2.25])
        let r2 = try store.importFile(commas, study: "commas")
        XCTAssertEqual(r2.cases, 2)
        XCTAssertEqual(try store.read { try CaseStore.study($0, named: "commas").classes }, ["1", "2"])
    }

    /// `Float(String)` rounds the decimal text once, to Float32. Going through Double rounds twice and
    /// can land on a different float: this value is just above the midpoint between 1 and the next
    /// float, so via Double it first rounds to the midpoint and then (ties-to-even) down to 1.0.
    func testValuesAreParsedStraightToFloat32() throws {
        let text = "1.00000005960464478"
        let direct = Float(text)!
        let viaDouble = Float(Double(text)!)
        XCTAssertEqual(direct.bitPattern, 0x3F80_0001)
        XCTAssertEqual(viaDouble.bitPattern, 0x3F80_0000, "the test value must discriminate the two paths")
        let scratch = try Scratch()
        let path = try scratch.write("exact.tsv", "1\t\(text)\t0.1\t3.4028235e38\t1e-45\n")
        let store = try CaseStore.inMemory()
        _ = try store.importFile(path, study: "exact")
        let v = try store.read { try CaseStore.scans($0, caseId: "exact-1")[0].values }
        XCTAssertEqual(v.map(\.bitPattern), [0x3F80_0001, Float("0.1")!.bitPattern, Float.greatestFiniteMagnitude.bitPattern, 0x0000_0001])
    }
}
