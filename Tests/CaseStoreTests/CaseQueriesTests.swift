import Foundation
import GRDB
import XCTest
@_spi(Storage) @testable import CaseStore

/// Bulk writes (generated cohorts) and the summaries the CLI lists.
final class CaseQueriesTests: XCTestCase {
    private func newCase(_ id: String, label: String?, split: Split, scans: [(Int, Int)], study: String = "demo") -> NewCase {
        let record = CaseRecord(id: id, study: study, subject: "s-\(id)", label: label,
                                verifiedBy: label == nil ? nil : "generator", verifiedAt: label == nil ? nil : Timestamp.now(),
                                split: split)
        let recs = scans.enumerated().map { i, shape in
            ScanRecord(caseId: id, scanIndex: i, acquisition: "cfg", length: shape.0, channels: shape.1,
                       values: (0..<(shape.0 * shape.1)).map { $0 == 1 && i == 1 ? .nan : Float($0) })
        }
        return NewCase(record: record, scans: recs)
    }

    func testInsertCasesSummariesAndOverview() throws {
        let store = try CaseStore.inMemory()
        let study = Study(name: "demo", classes: ["benign", "malignant"], channels: ["a", "b"])
        let written = try store.changeUnlogged { db in
            try CaseStore.insertCases(db, study: study, cases: [
                newCase("d-1", label: "benign", split: .train, scans: [(8, 2), (8, 2)]),
                newCase("d-2", label: "malignant", split: .calibration, scans: [(5, 2)]),
                newCase("d-3", label: nil, split: .incoming, scans: [(3, 2), (4, 2), (8, 2)]),
            ])
        }
        XCTAssertTrue(written.studyCreated)
        XCTAssertEqual(written.cases, 3); XCTAssertEqual(written.scans, 6)
        XCTAssertEqual(written.splitCounts, ["train": 1, "calibration": 1, "incoming": 1])
        XCTAssertEqual(written.classCounts, ["benign": 1, "malignant": 1])

        let all = try store.read { try CaseStore.caseSummaries($0) }
        XCTAssertEqual(all.map(\.caseId), ["d-1", "d-2", "d-3"])
        XCTAssertEqual(all.map(\.scans), [2, 1, 3])
        XCTAssertEqual(all.map(\.length), [8, 5, 3], "length of the first scan")
        XCTAssertEqual(all.map(\.channels), [2, 2, 2])
        XCTAssertEqual(all.map(\.hasMissing), [true, false, true])
        XCTAssertNil(all[2].label)
        let incoming = try store.read { try CaseStore.caseSummaries($0, study: "demo", split: .incoming) }
        XCTAssertEqual(incoming.map(\.caseId), ["d-3"])
        XCTAssertEqual(try store.read { try CaseStore.caseSummaries($0, study: "other") }.count, 0)

        let overview = try store.read { try CaseStore.studyOverviews($0) }
        XCTAssertEqual(overview.count, 1)
        XCTAssertEqual(overview[0].cases, 3); XCTAssertEqual(overview[0].scans, 6); XCTAssertEqual(overview[0].unlabelled, 1)
        XCTAssertEqual(overview[0].classCounts, ["benign": 1, "malignant": 1])

        // An unlabelled case still carries the key, as null.
        let incomingJSON = String(decoding: try JSONEncoder().encode(all[2]), as: UTF8.self)
        XCTAssertTrue(incomingJSON.contains("\"label\":null"), incomingJSON)
        // JSON field names the CLI promises.
        let json = String(decoding: try JSONEncoder().encode(all[0]), as: UTF8.self)
        for key in ["\"case_id\"", "\"study\"", "\"split\"", "\"label\"", "\"scans\"", "\"length\"", "\"channels\""] {
            XCTAssertTrue(json.contains(key), "\(key) missing in \(json)")
        }
    }

    func testInsertCasesIsRefusedWholesale() throws {
        let store = try CaseStore.inMemory()
        let study = Study(name: "demo", classes: ["benign", "malignant"], channels: ["a", "b"])
        try store.changeUnlogged { db in _ = try CaseStore.insertCases(db, study: study, cases: [newCase("d-1", label: "benign", split: .train, scans: [(2, 2)])]) }
        // A duplicate id late in the batch: nothing of the batch stays.
        XCTAssertThrowsError(try store.changeUnlogged { db in
            try CaseStore.insertCases(db, study: study, cases: [
                newCase("d-2", label: "benign", split: .train, scans: [(2, 2)]),
                newCase("d-1", label: "benign", split: .train, scans: [(2, 2)]),
            ])
        })
        XCTAssertEqual(try store.readDatabase { try CaseRecord.fetchCount($0) }, 1)
        // Same name, different classes or channels.
        let other = Study(name: "demo", classes: ["benign", "atypical", "malignant"], channels: ["a", "b"])
        XCTAssertThrowsError(try store.changeUnlogged { db in
            try CaseStore.insertCases(db, study: other, cases: [newCase("d-9", label: "atypical", split: .train, scans: [(2, 2)])])
        })
        // Wrong channel count.
        XCTAssertThrowsError(try store.changeUnlogged { db in
            try CaseStore.insertCases(db, study: study, cases: [newCase("d-8", label: "benign", split: .train, scans: [(2, 3)])])
        })
        XCTAssertEqual(try store.readDatabase { try CaseRecord.fetchCount($0) }, 1)
        XCTAssertEqual(try store.readDatabase { try ScanRecord.fetchCount($0) }, 1)
    }

    func testScanBlobIsLittleEndianFloat32() {
        let values: [Float] = [1, -2.5, .nan, Float(bitPattern: 0x0000_0001)]
        let blob = ScanRecord.encode(values)
        XCTAssertEqual(Array(blob.prefix(8)), [0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x20, 0xC0])
        XCTAssertEqual(ScanRecord.decode(blob).map(\.bitPattern), values.map(\.bitPattern))
    }
}
