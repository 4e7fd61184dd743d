import AuditLog
@_spi(Storage) import CaseStore
import XCTest

/// A change is records and their events together: one that writes a record without an event is
/// refused and leaves nothing behind; with its event it commits both.
final class StoreChangeTests: XCTestCase {
    func study(_ name: String) -> (Study, [NewCase]) {
        let s = Study(name: name, classes: ["a", "b"], channels: ["x"])
        let record = CaseRecord(id: "\(name)-1", study: name, subject: "p1", label: "a", verifiedBy: "t", verifiedAt: "2026-01-01T00:00:00Z", split: .train)
        let scan = ScanRecord(caseId: "\(name)-1", scanIndex: 0, length: 3, channels: 1, values: [1, 2, 3])
        return (s, [NewCase(record: record, scans: [scan])])
    }

    func testARecordWithoutAnEventIsRolledBack() throws {
        let store = try CaseStore.inMemory()
        let (s, cases) = study("unlogged")
        XCTAssertThrowsError(try store.change { c in _ = try CaseStore.insertCases(c, study: s, cases: cases) }) { error in
            guard case CaseStoreError.unlogged? = error as? CaseStoreError else { return XCTFail("\(error)") }
        }
        XCTAssertNil(try store.read { try CaseStore.existingStudy($0, named: "unlogged") })
        XCTAssertEqual(try store.read { try CaseStore.cases($0) }.count, 0)
    }

    func testARecordWithItsEventCommitsBoth() throws {
        let store = try CaseStore.inMemory()
        let (s, cases) = study("logged")
        try store.change { c in
            _ = try CaseStore.insertCases(c, study: s, cases: cases)
            try AuditLog.append(c, actor: "t", action: "cases.insert", subject: AuditSubject(type: "study", id: "logged"),
                                payload: ["cases": 1])
        }
        XCTAssertEqual(try store.read { try CaseStore.cases($0, study: "logged") }.map(\.id), ["logged-1"])
        XCTAssertEqual(try store.read { try AuditLog.treeSize($0) }, 1)
    }

    func testAReadOnlyChangeNeedsNoEvent() throws {
        let store = try CaseStore.inMemory()
        XCTAssertEqual(try store.change { c in try CaseStore.cases(c).count }, 0)
    }
}
