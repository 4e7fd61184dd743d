@_spi(Storage) import CaseStore
import Crypto
import Foundation
import GRDB
import XCTest
@_spi(Storage) @testable import AuditLog

final class CheckpointTests: XCTestCase {
    // The example key and note of Go's golang.org/x/mod/sumdb/note documentation (independently
    // re-checked with Python `cryptography`: key id, public key from the seed, and signature).
    static let goVerifierKey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
    static let goPrivateKey = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
    static let goText = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
    static let goSignature = "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="

    func testVerifierKeyMatchesGoSignedNoteExample() throws {
        let key = try LogVerifierKey(string: Self.goVerifierKey)
        XCTAssertEqual(key.name, "PeterNeumann")
        XCTAssertEqual(Hex.string(key.keyID), "c74f20a3")
        XCTAssertEqual(key.string, Self.goVerifierKey)
        let signer = try LogSigner(privateKeyString: Self.goPrivateKey)
        XCTAssertEqual(signer.verifierKey, key)
        XCTAssertEqual(signer.privateKeyString, Self.goPrivateKey)
        // Ed25519 is deterministic: our signature over the text is Go's, byte for byte.
        let sig = try signer.sign(Data(Self.goText.utf8))
        XCTAssertEqual((signer.keyID + sig).base64EncodedString(), Self.goSignature)
        let blob = try XCTUnwrap(Data(base64Encoded: Self.goSignature))
        XCTAssertTrue(key.isValidSignature(blob.dropFirst(4), for: Data(Self.goText.utf8)))
    }

    func testVerifierKeyRejectsMalformedStrings() {
        XCTAssertThrowsError(try LogVerifierKey(string: "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"))
        XCTAssertThrowsError(try LogVerifierKey(string: "PeterNeumann+c74f20a3+AhpcdQcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"))
        XCTAssertThrowsError(try LogVerifierKey(string: "PeterNeumann+c74f20a3"))
        XCTAssertThrowsError(try LogVerifierKey(string: "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"))
    }

    func testCheckpointNoteFormatAndVerification() throws {
        let signer = try LogSigner(privateKeyString: Self.goPrivateKey)
        let root = Data(repeating: 0xAB, count: 32)
        let cp = try Checkpoint.sign(origin: "example.com/log", treeSize: 42, rootHash: root,
                                     time: "2026-11-28T03:00:00.000Z", signer: signer)
        XCTAssertEqual(cp.body, "example.com/log\n42\n\(root.base64EncodedString())\ntime 2026-11-28T03:00:00.000Z\n")
        XCTAssertTrue(cp.note.hasPrefix(cp.body + "\n— PeterNeumann "))
        XCTAssertTrue(cp.note.hasSuffix("\n"))
        let blob = try XCTUnwrap(Data(base64Encoded: String(cp.note.split(separator: "\n").last!.split(separator: " ").last!)))
        XCTAssertEqual(blob.count, 68)
        XCTAssertEqual(Hex.string(blob.prefix(4)), "c74f20a3")

        let parsed = try Checkpoint.parse(cp.note)
        XCTAssertEqual(parsed, cp)
        XCTAssertEqual(parsed.treeSize, 42)
        XCTAssertEqual(parsed.time, "2026-11-28T03:00:00.000Z")
        XCTAssertNoThrow(try parsed.verify(with: signer.verifierKey))

        // Another key, an edited body, a malformed note: refused.
        let other = try LogSigner.generate(name: "PeterNeumann")
        XCTAssertThrowsError(try parsed.verify(with: other.verifierKey))
        let edited = cp.note.replacingOccurrences(of: "\n42\n", with: "\n43\n")
        XCTAssertThrowsError(try Checkpoint.parse(edited).verify(with: signer.verifierKey))
        XCTAssertThrowsError(try Checkpoint.parse("example.com/log\n42\n"))
        XCTAssertThrowsError(try Checkpoint.parse("example.com/log\n042\n\(root.base64EncodedString())\n\n— a AAAAAAA=\n"))
    }

    func testInclusionAndConsistencyAgainstVerifiedCheckpoints() throws {
        let store = try CaseStore.inMemory()
        let signer = try LogSigner.generate()
        var checkpoints: [Checkpoint] = []
        for i in 0..<45 {
            try store.changeUnlogged { db in
                try AuditLog.append(db, actor: "t", action: "step", subject: .init(type: "n", id: "\(i)"), payload: ["i": i])
                if i % 11 == 10 { checkpoints.append(try AuditLog.checkpoint(db, signer: signer)) }
            }
        }
        // Key registration appended event 0, so sizes are 12, 23, 34, 45.
        XCTAssertEqual(checkpoints.map(\.treeSize), [12, 23, 34, 45])
        let verified = try checkpoints.map { try $0.verify(with: signer.verifierKey) }
        try store.read { db in
            let events = try AuditLog.events(db)
            for cp in verified {
                for seq in [0, cp.treeSize / 2, cp.treeSize - 1] {
                    let proof = try AuditLog.inclusionProof(db, seq: seq, treeSize: cp.treeSize)
                    XCTAssertNoThrow(try cp.verifyInclusion(index: seq, leafHash: events[seq].computedLeafHash(), proof: proof))
                    XCTAssertThrowsError(try cp.verifyInclusion(index: seq, leafHash: events[(seq + 1) % 45].leafHash, proof: proof))
                }
            }
            for a in verified { for b in verified where a.treeSize <= b.treeSize {
                let proof = try AuditLog.consistencyProof(db, oldSize: a.treeSize, newSize: b.treeSize)
                XCTAssertNoThrow(try a.verifyConsistency(to: b, proof: proof))
            } }
            XCTAssertThrowsError(try AuditLog.inclusionProof(db, seq: 45, treeSize: 45))
        }
    }

    func testCheckpointTimesStrictlyIncreaseAndRepeatReturnsLatest() throws {
        let store = try CaseStore.inMemory()
        let signer = try LogSigner.generate()
        let t = Date(timeIntervalSince1970: 1_800_000_000)
        let (a, b, c) = try store.changeUnlogged { db -> (Checkpoint, Checkpoint, Checkpoint) in
            try AuditLog.append(db, actor: "t", action: "a", subject: .init(type: "x", id: "1"), payload: [1])
            let a = try AuditLog.checkpoint(db, signer: signer, time: t)
            try AuditLog.append(db, actor: "t", action: "b", subject: .init(type: "x", id: "2"), payload: [2])
            let b = try AuditLog.checkpoint(db, signer: signer, time: t)  // clock did not move
            let c = try AuditLog.checkpoint(db, signer: signer, time: t)  // nothing new
            return (a, b, c)
        }
        XCTAssertEqual(a.time, "2027-01-15T08:00:00.000Z")
        XCTAssertEqual(b.time, "2027-01-15T08:00:00.001Z")
        XCTAssertEqual(c, b)
        // Another key is refused for this store.
        let other = try LogSigner.generate()
        XCTAssertThrowsError(try store.changeUnlogged { db in try AuditLog.checkpoint(db, signer: other) })
    }

    func testKeyFileIsCreatedBesideTheStoreWithMode0600AndReused() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("auditlog-key-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("store.sqlite").path
        let first: LogVerifierKey
        do {
            let store = try CaseStore(path: path)
            let signer = try LogSigner.openOrCreate(for: store)
            first = signer.verifierKey
            let attrs = try FileManager.default.attributesOfItem(atPath: path + ".logkey")
            XCTAssertEqual((attrs[.posixPermissions] as? NSNumber)?.intValue, 0o600)
            XCTAssertEqual(try store.read { db in try AuditLog.registeredKeys(db) }, [first])
            let event = try XCTUnwrap(try store.read { db in try AuditLog.event(db, seq: 0) })
            XCTAssertEqual(event.action, "log.key.created")
        }
        let store = try CaseStore(path: path)
        XCTAssertEqual(try LogSigner.openOrCreate(for: store).verifierKey, first)
        XCTAssertEqual(try store.read { db in try AuditLog.treeSize(db) }, 1)
        // A missing key file for a store that has a key is an error, not a silent new key.
        try FileManager.default.removeItem(atPath: path + ".logkey")
        XCTAssertThrowsError(try LogSigner.openOrCreate(for: store))
        // A world-readable key file is refused.
        let loose = dir.appendingPathComponent("loose.logkey").path
        try LogSigner.generate().write(path: loose)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: loose)
        XCTAssertThrowsError(try LogSigner.load(path: loose))
    }
}
