@_spi(Storage) import CaseStore
import Crypto
import Foundation
import GRDB
import XCTest
@_spi(Storage) @testable import AuditLog

final class AuditLogAppendTests: XCTestCase {
    struct Payload: Encodable {
        var name: String
        var count: Int
        var score: Double
        var tags: [String]
    }

    func testCanonicalJSONSortsKeysAndStripsWhitespace() throws {
        let s = try CanonicalJSON.canonicalize(#"{ "b" : [1, 2.50, -0, 1e2, 0.1], "a": {"z": null, "y": true}, "é": "x/y\n\u00e9" }"#)
        XCTAssertEqual(s, #"{"a":{"y":true,"z":null},"b":[1,2.5,0,100,0.1],"é":"x/y\né"}"#)
    }

    func testCanonicalJSONEscapesOnlyWhatItMust() throws {
        let s = try CanonicalJSON.canonicalize(#"["\"\\\/\b\f\n\r\t\u0001\u001f", "\ud83d\ude00"]"#)
        XCTAssertEqual(s, "[\"\\\"\\\\/\\b\\f\\n\\r\\t\\u0001\\u001f\",\"😀\"]")
    }

    func testCanonicalJSONRefusesBadInput() {
        XCTAssertThrowsError(try CanonicalJSON.canonicalize(#"{"a":1,"a":2}"#))
        XCTAssertThrowsError(try CanonicalJSON.canonicalize(#"{"a":1,"b":2,"a":3}"#))
        XCTAssertThrowsError(try CanonicalJSON.canonicalize([0x22, 0xC3, 0x22]))  // truncated UTF-8
        XCTAssertThrowsError(try CanonicalJSON.canonicalize(#"["\ud800"]"#))
        XCTAssertThrowsError(try CanonicalJSON.canonicalize(#"[1e999]"#))
        XCTAssertThrowsError(try CanonicalJSON.canonicalize(#"[1,]"#))
        XCTAssertThrowsError(try CanonicalJSON.canonicalize(#"{"a":1} x"#))
        XCTAssertThrowsError(try CanonicalJSON.encode(Double.nan))
    }

    func testCanonicalNumbers() throws {
        XCTAssertEqual(try CanonicalJSON.canonicalize("[1.0, 1.5e300, 1e-7, 12345678901234567890, -3]"),
                       "[1,1.5e+300,1e-07,12345678901234567890,-3]")
    }

    func testRFC3339Milliseconds() {
        XCTAssertEqual(RFC3339.string(from: Date(timeIntervalSince1970: 0)), "1970-01-01T00:00:00.000Z")
        XCTAssertEqual(RFC3339.string(from: Date(timeIntervalSince1970: 1_796_528_261.1239)), "2026-12-06T03:37:41.123Z")
        XCTAssertEqual(RFC3339.string(from: Date(timeIntervalSince1970: 951_782_400.5)), "2000-02-29T00:00:00.500Z")
        XCTAssertEqual(RFC3339.string(from: Date(timeIntervalSince1970: -0.001)), "1969-12-31T23:59:59.999Z")
        XCTAssertEqual(RFC3339.string(from: Date(timeIntervalSince1970: 1_796_528_261.123)), "2026-12-06T03:37:41.123Z")
        XCTAssertEqual(RFC3339.milliseconds(from: "2026-12-06T03:37:41.123Z"), 1_796_528_261_123)
        XCTAssertEqual(RFC3339.milliseconds(from: "2026-12-06T05:37:41.123+02:00"), 1_796_528_261_123)
        XCTAssertNil(RFC3339.milliseconds(from: "2026-13-06T03:37:41.123Z"))
        XCTAssertNil(RFC3339.milliseconds(from: "not a time"))
        // The hand-read UTC form agrees with Foundation's ISO 8601 parser, to the millisecond.
        let iso = ISO8601DateFormatter()
        for i in 0..<2000 {
            let ms = -2_000_000_000_000 + Int64(i) * 4_500_000_017   // 1906 to 2191, every millisecond digit
            let text = RFC3339.string(millisecondsSince1970: ms)
            XCTAssertEqual(RFC3339.milliseconds(from: text), ms, text)
            let seconds = i % 2 == 0 ? String(text.dropLast(5)) + "Z" : text   // without a fraction, too
            iso.formatOptions = i % 2 == 0 ? [.withInternetDateTime] : [.withInternetDateTime, .withFractionalSeconds]
            let reference = iso.date(from: seconds).map { Int64(($0.timeIntervalSince1970 * 1000).rounded()) }
            XCTAssertEqual(RFC3339.milliseconds(from: seconds), reference, seconds)
        }
        XCTAssertEqual(Timestamp.date(from: "2000-02-29T00:00:00.5Z"), Date(timeIntervalSince1970: 951_782_400.5))
    }

    func testAppendStoresCanonicalEntryAndKeepsFrontier() throws {
        let store = try CaseStore.inMemory()
        let t = Date(timeIntervalSince1970: 1_796_000_000.25)
        var events: [AuditEvent] = []
        for i in 0..<37 {
            let e = try store.changeUnlogged { db in
                try AuditLog.append(db, actor: "tester", action: "case.import",
                                    subject: AuditSubject(type: "case", id: "c\(i)"),
                                    payload: Payload(name: "n\"\(i)", count: i, score: Double(i) / 4, tags: ["a", "b"]),
                                    time: t)
            }
            XCTAssertEqual(e.seq, i)
            events.append(e)
        }
        let first = events[1]
        XCTAssertEqual(first.payload, #"{"count":1,"name":"n\"1","score":0.25,"tags":["a","b"]}"#)
        XCTAssertEqual(first.payloadSHA256, Hex.string(SHA256.hash(data: Data(first.payload.utf8))))
        let entry = #"{"action":"case.import","actor":"tester","payload":{"count":1,"name":"n\"1","score":0.25,"tags":["a","b"]},"payload_sha256":"\#(first.payloadSHA256)","seq":1,"subject":{"id":"c1","type":"case"},"time":"2026-11-30T00:53:20.250Z"}"#
        XCTAssertEqual(first.canonicalEntry, entry)
        // The canonical entry is itself canonical JSON.
        XCTAssertEqual(try CanonicalJSON.canonicalize(entry), entry)
        XCTAssertEqual(first.leafHash, Merkle.leafHash(Array(entry.utf8)))

        let stored = try store.read { db in try AuditLog.events(db) }
        XCTAssertEqual(stored, events)
        let root = try store.read { db in try AuditLog.rootHash(db) }
        XCTAssertEqual(root, Merkle.root(leafHashes: events.map(\.leafHash)))
        XCTAssertEqual(try store.read { db in try AuditLog.treeSize(db) }, 37)
    }

    func testAppendRollsBackWithTheCallersTransaction() throws {
        let store = try CaseStore.inMemory()
        try store.changeUnlogged { db in _ = try AuditLog.append(db, actor: "a", action: "x", subject: .init(type: "t", id: "1"), payload: ["k": 1]) }
        struct Boom: Error {}
        XCTAssertThrowsError(try store.changeUnlogged { db in
            _ = try AuditLog.append(db, actor: "a", action: "y", subject: .init(type: "t", id: "2"), payload: ["k": 2])
            throw Boom()
        })
        XCTAssertEqual(try store.read { db in try AuditLog.treeSize(db) }, 1)
        XCTAssertEqual(try store.read { db in try AuditLog.events(db).map(\.action) }, ["x"])
    }

    /// Appends reuse the frontier their connection last wrote; whatever makes that copy stale — a
    /// rolled-back transaction or savepoint, another connection appending — must fall back to the
    /// stored frontier, leaving a gap-free log whose root equals the tree of its leaves.
    func testAppendsStayConsecutiveAcrossRollbacksSavepointsAndConnections() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("frontier-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("store.sqlite").path
        let a = try CaseStore(path: path), b = try CaseStore(path: path)
        func add(_ store: CaseStore, _ id: String) throws {
            try store.changeUnlogged { db in _ = try AuditLog.append(db, actor: "t", action: "x", subject: .init(type: "t", id: id), payload: ["k": id]) }
        }
        struct Boom: Error {}
        try add(a, "a0"); try add(a, "a1")
        XCTAssertThrowsError(try a.changeUnlogged { db in
            _ = try AuditLog.append(db, actor: "t", action: "x", subject: .init(type: "t", id: "lost"), payload: ["k": 0])
            throw Boom()
        })
        try add(a, "a2")
        try a.write { db in
            try? db.inSavepoint {
                _ = try AuditLog.append(db, actor: "t", action: "x", subject: .init(type: "t", id: "lost-savepoint"), payload: ["k": 0])
                return .rollback
            }
            _ = try AuditLog.append(db, actor: "t", action: "x", subject: .init(type: "t", id: "a3"), payload: ["k": 3])
        }
        try add(b, "b4"); try add(a, "a5"); try add(b, "b6"); try add(a, "a7")
        let events = try a.read { db in try AuditLog.events(db) }
        XCTAssertEqual(events.map(\.subject.id), ["a0", "a1", "a2", "a3", "b4", "a5", "b6", "a7"])
        XCTAssertEqual(events.map(\.seq), Array(0..<8))
        XCTAssertEqual(try a.read { db in try AuditLog.rootHash(db) }, Merkle.root(leafHashes: events.map(\.leafHash)))
        XCTAssertTrue(try a.read { db in try AuditLog.verify(db) }.ok)
    }

    func testTriggersRefuseUpdateAndDelete() throws {
        let store = try CaseStore.inMemory()
        try store.changeUnlogged { db in _ = try AuditLog.append(db, actor: "a", action: "x", subject: .init(type: "t", id: "1"), payload: ["k": 1]) }
        XCTAssertThrowsError(try store.changeUnlogged { db in try db.database.execute(sql: "UPDATE audit_events SET actor = 'b'") })
        XCTAssertThrowsError(try store.changeUnlogged { db in try db.database.execute(sql: "DELETE FROM audit_events") })
        let signer = try LogSigner.generate()
        try store.changeUnlogged { db in _ = try AuditLog.checkpoint(db, signer: signer) }
        for sql in ["UPDATE audit_checkpoints SET time = 'x'", "DELETE FROM audit_checkpoints",
                    "UPDATE audit_log_keys SET name = 'x'", "DELETE FROM audit_log_keys"] {
            XCTAssertThrowsError(try store.changeUnlogged { db in try db.database.execute(sql: sql) }, sql)
        }
    }
}
