@_spi(Storage) import CaseStore
import Crypto
import Foundation
import GRDB
import XCTest
@_spi(Storage) @testable import AuditLog

/// Tampering with a real store file through plain SQL (triggers dropped, as anyone holding the
/// file could): every edit is detected and the first bad sequence number named.
final class TamperTests: XCTestCase {
    struct Payload: Encodable { var index: Int; var note: String }

    var dir: URL!
    var signer: LogSigner!
    /// The latest checkpoint exported before tampering (kept outside the store).
    var exported: Checkpoint!
    let eventCount = 50

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("auditlog-tamper-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("pristine.sqlite").path
        let store = try CaseStore(path: path)
        signer = try LogSigner.openOrCreate(for: store)  // event 0: log.key.created
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        for i in 1..<eventCount {
            try store.changeUnlogged { db in
                try AuditLog.append(db, actor: "operator-\(i % 3)", action: i % 2 == 0 ? "case.assessed" : "case.imported",
                                    subject: AuditSubject(type: "case", id: "c\(i)"), payload: Payload(index: i, note: "é \(i)"),
                                    time: t0.addingTimeInterval(Double(i)))
                if [9, 19, 29, 39, 49].contains(i) { exported = try AuditLog.checkpoint(db, signer: signer) }
            }
        }
        XCTAssertEqual(exported.treeSize, 50)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    /// A copy of the pristine store, edited with raw SQL after dropping the triggers.
    func tampered(_ name: String, _ sql: (Database) throws -> Void) throws -> CaseStore {
        let src = dir.appendingPathComponent("pristine.sqlite").path
        let dst = dir.appendingPathComponent("\(name).sqlite").path
        // Copy through SQLite's backup so the WAL content is included.
        let source = try DatabaseQueue(path: src)
        let target = try DatabaseQueue(path: dst)
        try source.backup(to: target)
        try target.writeWithoutTransaction { db in
            for trigger in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'audit_%'") {
                try db.execute(sql: "DROP TRIGGER \(trigger)")
            }
            try db.inTransaction { try sql(db); return .commit }
        }
        try target.close()
        return try CaseStore(path: dst)
    }

    func verify(_ store: CaseStore, trusted: Bool = true, earlier: Checkpoint? = nil) throws -> LogVerificationReport {
        try store.read { db in try AuditLog.verify(db, trustedKey: trusted ? signer.verifierKey : nil, earlierCheckpoint: earlier) }
    }

    func testPristineStoreVerifies() throws {
        let store = try tampered("pristine-copy") { _ in }
        let report = try verify(store, earlier: exported)
        XCTAssertTrue(report.ok, "\(report.failures)")
        XCTAssertNil(report.firstBadSeq)
        XCTAssertEqual(report.eventCount, 50)
        XCTAssertEqual(report.checkpointsVerified, 5)
        XCTAssertEqual(report.latestCheckpointSize, 50)
        XCTAssertEqual(report.earlierCheckpointConsistent, true)
        XCTAssertEqual(report.rootHash, Hex.string(exported.rootHash))
    }

    func testChangingAnyColumnOfAnyEventIsDetected() throws {
        let edits: [(column: String, value: String)] = [
            ("time", "'2020-01-01T00:00:00.000Z'"), ("actor", "'mallory'"), ("action", "'case.deleted'"),
            ("subject_type", "'run'"), ("subject_id", "'c999'"), ("payload", "'{\"index\":1,\"note\":\"x\"}'"),
            ("payload_sha256", "'00'"), ("leaf_hash", "zeroblob(32)"),
        ]
        for seq in [0, 17, 49] {
            for edit in edits {
                let store = try tampered("edit-\(edit.column)-\(seq)") { db in
                    try db.execute(sql: "UPDATE audit_events SET \(edit.column) = \(edit.value) WHERE seq = \(seq)")
                }
                let report = try verify(store)
                XCTAssertFalse(report.ok, "\(edit.column) of \(seq)")
                XCTAssertEqual(report.firstBadSeq, seq, "\(edit.column) of \(seq): \(report.failures)")
            }
        }
        // Changing seq itself (moving an event) leaves a gap at its old place.
        let store = try tampered("edit-seq") { db in try db.execute(sql: "UPDATE audit_events SET seq = 1000 WHERE seq = 23") }
        let report = try verify(store)
        XCTAssertEqual(report.firstBadSeq, 23)
        XCTAssertTrue(report.failures.contains { $0.kind == .sequenceGap && $0.seq == 23 })
    }

    func testWrongColumnTypeIsReportedNotCrashed() throws {
        let store = try tampered("blob-actor") { db in
            try db.execute(sql: "UPDATE audit_events SET actor = x'00ff' WHERE seq = 31")
            try db.execute(sql: "UPDATE audit_events SET payload = x'c328' WHERE seq = 32")  // not UTF-8
        }
        let report = try verify(store)
        XCTAssertEqual(report.firstBadSeq, 31)
        XCTAssertTrue(report.failures.contains { $0.kind == .unreadableRow && $0.seq == 32 })
    }

    func testDeletingARowIsDetected() throws {
        let store = try tampered("delete") { db in try db.execute(sql: "DELETE FROM audit_events WHERE seq = 12") }
        let report = try verify(store)
        XCTAssertFalse(report.ok)
        XCTAssertEqual(report.firstBadSeq, 12)
        XCTAssertEqual(report.failures.first { $0.kind == .sequenceGap }?.seq, 12)
    }

    /// A well-formed event appended behind the log's back: the frontier no longer matches.
    func testInsertingARowAtTheEndIsDetected() throws {
        let store = try tampered("insert-end") { db in
            let e = AuditEvent(seq: 50, time: "2027-01-15T08:01:00.000Z", actor: "mallory", action: "case.imported",
                               subject: .init(type: "case", id: "forged"), payload: "{}",
                               payloadSHA256: Hex.string(SHA256.hash(data: Data("{}".utf8))), leafHash: Data())
            try db.execute(sql: "INSERT INTO audit_events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           arguments: [e.seq, e.time, e.actor, e.action, e.subject.type, e.subject.id, e.payload, e.payloadSHA256, e.computedLeafHash()])
        }
        let report = try verify(store)
        XCTAssertFalse(report.ok)
        XCTAssertEqual(report.firstBadSeq, 50)
        XCTAssertTrue(report.failures.contains { $0.kind == .frontierMismatch })
    }

    /// A self-consistent forged event slipped in at 20 (later events renumbered): the renumbered
    /// events no longer hash as stored (the first is 21), and the checkpoint at 30 no longer
    /// matches while the one at 20 still does: the forged row itself is self-consistent, so the
    /// report names 21, the first row that is wrong in itself, within the unvouched range 20…29.
    func testInsertingARowInTheMiddleIsDetected() throws {
        let store = try tampered("insert-middle") { db in
            try db.execute(sql: "UPDATE audit_events SET seq = seq + 1000000 WHERE seq >= 20")
            try db.execute(sql: "UPDATE audit_events SET seq = seq - 999999 WHERE seq >= 1000000")
            let e = AuditEvent(seq: 20, time: "2027-01-15T08:00:20.500Z", actor: "mallory", action: "case.imported",
                               subject: .init(type: "case", id: "forged"), payload: "{}",
                               payloadSHA256: Hex.string(SHA256.hash(data: Data("{}".utf8))), leafHash: Data())
            try db.execute(sql: "INSERT INTO audit_events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           arguments: [e.seq, e.time, e.actor, e.action, e.subject.type, e.subject.id, e.payload, e.payloadSHA256, e.computedLeafHash()])
        }
        let report = try verify(store)
        XCTAssertFalse(report.ok)
        XCTAssertEqual(report.firstBadSeq, 21)
        XCTAssertTrue(report.failures.contains { $0.kind == .leafHashMismatch && $0.seq == 21 })
        let root = try XCTUnwrap(report.failures.first { $0.kind == .checkpointRootMismatch && $0.checkpointSize == 30 })
        XCTAssertTrue(root.message.contains("20…29"), root.message)
        XCTAssertEqual(report.checkpointsVerified, 2)
    }

    func testSwappingTwoRowsIsDetected() throws {
        let store = try tampered("swap") { db in
            try db.execute(sql: "UPDATE audit_events SET seq = 1000 WHERE seq = 14")
            try db.execute(sql: "UPDATE audit_events SET seq = 14 WHERE seq = 33")
            try db.execute(sql: "UPDATE audit_events SET seq = 33 WHERE seq = 1000")
        }
        let report = try verify(store)
        XCTAssertFalse(report.ok)
        XCTAssertEqual(report.firstBadSeq, 14)
        XCTAssertTrue(report.failures.contains { $0.kind == .leafHashMismatch && $0.seq == 33 })
    }

    /// The attacker rewrites event 25 and recomputes its hashes and the frontier: every row is
    /// self-consistent, but the signed root at 30 no longer matches; 20 is vouched for.
    func testConsistentRewriteIsCaughtByTheSignedCheckpoint() throws {
        let store = try tampered("rewrite") { db in
            let payload = #"{"index":25,"note":"nothing happened"}"#
            let sha = Hex.string(SHA256.hash(data: Data(payload.utf8)))
            let row = try XCTUnwrap(try AuditLog.event(db, seq: 25))
            var e = row
            e.payload = payload; e.payloadSHA256 = sha
            try db.execute(sql: "UPDATE audit_events SET payload = ?, payload_sha256 = ?, leaf_hash = ? WHERE seq = 25",
                           arguments: [payload, sha, e.computedLeafHash()])
            var range = CompactRange()
            for leaf in try AuditLog.leafHashes(db, size: 50) { range.append(leaf) }
            try db.execute(sql: "UPDATE audit_frontier SET nodes = ? WHERE id = 1", arguments: [range.packedNodes])
        }
        let report = try verify(store)
        XCTAssertFalse(report.ok)
        XCTAssertEqual(report.firstBadSeq, 20)
        XCTAssertFalse(report.failures.contains { $0.kind == .leafHashMismatch })
        XCTAssertTrue(report.failures.contains { $0.kind == .checkpointRootMismatch && $0.checkpointSize == 30 })
    }

    /// Tail removed along with its checkpoints and the frontier rewound: the store alone looks
    /// fine; the checkpoint exported earlier catches it.
    func testTruncatedTailIsCaughtAgainstAnEarlierExportedCheckpoint() throws {
        let store = try tampered("truncate") { db in
            try db.execute(sql: "DELETE FROM audit_events WHERE seq >= 44")
            try db.execute(sql: "DELETE FROM audit_checkpoints WHERE tree_size > 44")
            var range = CompactRange()
            for leaf in try AuditLog.leafHashes(db, size: 44) { range.append(leaf) }
            try db.execute(sql: "UPDATE audit_frontier SET tree_size = 44, nodes = ? WHERE id = 1", arguments: [range.packedNodes])
        }
        let alone = try verify(store)
        XCTAssertTrue(alone.ok, "\(alone.failures)")
        XCTAssertEqual(alone.unsignedEvents, 4)
        let report = try verify(store, earlier: exported)
        XCTAssertFalse(report.ok)
        XCTAssertEqual(report.firstBadSeq, 44)
        XCTAssertEqual(report.earlierCheckpointConsistent, false)
        XCTAssertTrue(report.failures.contains { $0.kind == .truncated })
    }

    func testCheckpointSignedByAnotherKeyIsDetected() throws {
        let forger = try LogSigner.generate(name: signer.name)
        let store = try tampered("forged-checkpoint") { db in
            let row = try XCTUnwrap(try Row.fetchOne(db, sql: "SELECT root_hash, time FROM audit_checkpoints WHERE tree_size = 30"))
            let cp = try Checkpoint.sign(origin: signer.name, treeSize: 30, rootHash: row[0], time: row[1], signer: forger)
            try db.execute(sql: "UPDATE audit_checkpoints SET note = ? WHERE tree_size = 30", arguments: [cp.note])
        }
        for trusted in [true, false] {
            let report = try verify(store, trusted: trusted)
            XCTAssertFalse(report.ok)
            XCTAssertEqual(report.firstBadSeq, 20)
            XCTAssertTrue(report.failures.contains { $0.kind == .checkpointSignature && $0.checkpointSize == 30 })
        }
    }

    /// The attacker replaces the store's public key and re-signs every checkpoint: self-consistent,
    /// so only the trusted key given by the verifier catches it.
    func testReplacedPublicKeyIsCaughtByTheTrustedKey() throws {
        let forger = try LogSigner.generate(name: signer.name)
        let store = try tampered("replaced-key") { db in
            try db.execute(sql: "UPDATE audit_log_keys SET public_key = ?, key_id = ?", arguments: [forger.publicKey, forger.keyID])
            for row in try Row.fetchAll(db, sql: "SELECT tree_size, root_hash, time FROM audit_checkpoints") {
                let cp = try Checkpoint.sign(origin: signer.name, treeSize: row[0], rootHash: row[1], time: row[2], signer: forger)
                try db.execute(sql: "UPDATE audit_checkpoints SET note = ? WHERE tree_size = ?", arguments: [cp.note, cp.treeSize])
            }
        }
        let untrusted = try verify(store, trusted: false)
        XCTAssertTrue(untrusted.ok, "against its own key the forged store is self-consistent")
        XCTAssertEqual(untrusted.keySource, "store key")
        let report = try verify(store, trusted: true)
        XCTAssertFalse(report.ok)
        XCTAssertEqual(report.firstBadSeq, 0)
        XCTAssertTrue(report.failures.contains { $0.kind == .keyMismatch })
        XCTAssertEqual(report.failures.filter { $0.kind == .checkpointSignature }.count, 5)
    }
}
