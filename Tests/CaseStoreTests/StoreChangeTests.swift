import AuditLog
@_spi(Storage) import CaseStore
import XCTest

/// A change is records and their events together: one that writes a record without an event is
/// refused and leaves nothing behind; with its event it commits both.
final class StoreChangeTests: XCTestCase {
    static func study(_ name: String) -> (Study, [NewCase]) {
        let s = Study(name: name, classes: ["a", "b"], channels: ["x"])
        let record = CaseRecord(id: "\(name)-1", study: name, subject: "p1", label: "a", verifiedBy: "t", verifiedAt: "2026-01-01T00:00:00Z", split: .train)
        let scan = ScanRecord(caseId: "\(name)-1", scanIndex: 0, length: 3, channels: 1, values: [1, 2, 3])
        return (s, [NewCase(record: record, scans: [scan])])
    }

    func testARecordWithoutAnEventIsRolledBack() throws {
        let store = try CaseStore.inMemory()
        let (s, cases) = Self.study("unlogged")
        XCTAssertThrowsError(try store.change { c in _ = try CaseStore.insertCases(c, study: s, cases: cases) }) { error in
            guard case CaseStoreError.unlogged? = error as? CaseStoreError else { return XCTFail("\(error)") }
        }
        XCTAssertNil(try store.read { try CaseStore.existingStudy($0, named: "unlogged") })
        XCTAssertEqual(try store.read { try CaseStore.cases($0) }.count, 0)
    }

    func testARecordWithItsEventCommitsBoth() throws {
        let store = try CaseStore.inMemory()
        let (s, cases) = Self.study("logged")
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

/// Records and the events that attest them.
final class AttestationTests: XCTestCase {
    func testAnEventAttestsWhatItsChangeWroteAndVerifyChecksIt() throws {
        let store = try CaseStore.inMemory()
        let (s, cases) = StoreChangeTests.study("attested")
        let event = try store.change { c -> AuditEvent in
            _ = try CaseStore.insertCases(c, study: s, cases: cases)
            return try AuditLog.append(c, actor: "t", action: "cases.insert", subject: AuditSubject(type: "study", id: "attested"),
                                       payload: ["cases": 1])
        }
        // study, case and its scan
        XCTAssertTrue(event.payload.contains(#""attested":{"records":3,"#), event.payload)
        let report = try store.read { try AuditLog.verifyRecords($0) }
        XCTAssertTrue(report.ok, "\(report.problems)")
        XCTAssertEqual(report.recordsChecked["scans"], 1)
        try store.write { db in try db.execute(sql: "UPDATE cases SET label = 'b'") }
        let after = try store.read { try AuditLog.verifyRecords($0) }
        XCTAssertEqual(after.problems.map(\.kind), [.rewritten])
        XCTAssertEqual(after.problems.first?.key, #"["attested-1"]"#)
        XCTAssertEqual(after.problems.first?.seq, event.seq)
        XCTAssertThrowsError(try store.read { try CaseStore.requireAttested($0, [.case("attested-1")]) }) { error in
            XCTAssertTrue("\(error)".contains("cases [\"attested-1\"] differs from what audit event \(event.seq) attests"), "\(error)")
        }
    }

    func testAStoreFromBeforeAttestationSaysWhatItCannotCheck() throws {
        let store = try CaseStore.inMemory()
        try store.write { db in try db.execute(sql: "UPDATE attestation_start SET since_seq = 3") }
        let (s, cases) = StoreChangeTests.study("old")
        try store.changeUnlogged { c in _ = try CaseStore.insertCases(c, study: s, cases: cases) }
        let report = try store.read { try AuditLog.verifyRecords($0) }
        XCTAssertTrue(report.ok)
        XCTAssertEqual(report.attestedSince, 3)
        XCTAssertEqual(report.unattestedBeforeStart, 3)
        XCTAssertNoThrow(try store.read { try CaseStore.requireAttested($0, [.case("old-1")]) })
    }
}
