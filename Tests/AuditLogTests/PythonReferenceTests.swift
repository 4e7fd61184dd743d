@_spi(Storage) import CaseStore
import Crypto
import Foundation
import GRDB
import XCTest
@_spi(Storage) @testable import AuditLog

/// Byte-for-byte agreement with an independent Python implementation
/// (`scripts/auditlog_reference.py` → `LogFixture.swift`): canonical JSON, canonical
/// entries, leaf hashes, roots, proofs, verifier key and the signed checkpoint note.
final class PythonReferenceTests: XCTestCase {
    struct Fixture: Decodable {
        struct Event: Decodable {
            var seq: Int; var time: String; var actor: String; var action: String; var subject: AuditSubject
            var payload_json: String; var canonical_payload: String; var payload_sha256: String
            var canonical_entry: String; var leaf_hash: String
        }
        struct Proof: Decodable { var index: Int?; var size: Int?; var size1: Int?; var size2: Int?; var proof: [String] }
        struct Key: Decodable { var name: String; var private_key: String; var verifier_key: String }
        struct CP: Decodable { var time: String; var note: String }
        var events: [Event]; var roots: [String]; var inclusion: [Proof]; var consistency: [Proof]
        var key: Key; var checkpoint: CP
    }

    func loadFixture() throws -> Fixture {
        try JSONDecoder().decode(Fixture.self, from: Data(logFixtureJSON.utf8))
    }

    func testEntriesLeavesRootsProofsAndCheckpointMatchPython() throws {
        let fx = try loadFixture()
        let store = try CaseStore.inMemory()
        let events = try store.changeUnlogged { db in
            try fx.events.map { e -> AuditEvent in
                let payload = try CanonicalJSON.canonicalize(Array(e.payload_json.utf8))
                XCTAssertEqual(String(decoding: payload, as: UTF8.self), e.canonical_payload, "payload of \(e.seq)")
                return try AuditLog.appendCanonical(db.database, actor: e.actor, action: e.action, subject: e.subject,
                                                    canonicalPayload: payload, time: e.time)
            }
        }
        for (e, ref) in zip(events, fx.events) {
            XCTAssertEqual(e.seq, ref.seq)
            XCTAssertEqual(e.payloadSHA256, ref.payload_sha256, "payload hash of \(ref.seq)")
            XCTAssertEqual(e.canonicalEntry, ref.canonical_entry, "entry \(ref.seq)")
            XCTAssertEqual(Hex.string(e.leafHash), ref.leaf_hash, "leaf \(ref.seq)")
        }
        let leaves = events.map(\.leafHash)
        for n in 0...leaves.count {
            XCTAssertEqual(Hex.string(Merkle.root(leafHashes: leaves.prefix(n))), fx.roots[n], "root of \(n)")
        }
        for p in fx.inclusion {
            let (i, n) = (try XCTUnwrap(p.index), try XCTUnwrap(p.size))
            let proof = try Merkle.inclusionProof(index: i, leafHashes: Array(leaves.prefix(n)))
            XCTAssertEqual(proof.map { $0.base64EncodedString() }, p.proof, "inclusion \(i) in \(n)")
        }
        for p in fx.consistency {
            let (m, n) = (try XCTUnwrap(p.size1), try XCTUnwrap(p.size2))
            let proof = try Merkle.consistencyProof(oldSize: m, leafHashes: Array(leaves.prefix(n)))
            XCTAssertEqual(proof.map { $0.base64EncodedString() }, p.proof, "consistency \(m) → \(n)")
        }

        let signer = try LogSigner(privateKeyString: fx.key.private_key)
        XCTAssertEqual(signer.verifierKey.string, fx.key.verifier_key)
        XCTAssertEqual(signer.privateKeyString, fx.key.private_key)
        let rootHash = try store.read { db in try AuditLog.rootHash(db) }
        let cp = try Checkpoint.sign(origin: fx.key.name, treeSize: events.count, rootHash: rootHash, time: fx.checkpoint.time, signer: signer)
        XCTAssertEqual(cp.note, fx.checkpoint.note)
        let verified = try Checkpoint.parse(fx.checkpoint.note).verify(with: LogVerifierKey(string: fx.key.verifier_key))
        XCTAssertEqual(verified.treeSize, 23)

        // The whole store verifies against the Python-signed checkpoint as an earlier checkpoint.
        try store.changeUnlogged { db in try AuditLog.registerKey(db.database, signer.verifierKey, time: Date(timeIntervalSince1970: 1_800_000_000)) }
        let report = try store.read { db in
            try AuditLog.verify(db, trustedKey: signer.verifierKey, earlierCheckpoint: try Checkpoint.parse(fx.checkpoint.note))
        }
        XCTAssertTrue(report.ok, "\(report.failures)")
        XCTAssertEqual(report.earlierCheckpointConsistent, true)
        XCTAssertEqual(report.eventCount, 24)  // + the key registration event
    }
}
