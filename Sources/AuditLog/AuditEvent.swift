import Crypto
import Foundation

/// What an event is about: a case, a run, a model, a reviewer, a key…
public struct AuditSubject: Codable, Sendable, Equatable, Hashable {
    public var type: String
    public var id: String
    public init(type: String, id: String) {
        self.type = type
        self.id = id
    }
}

/// One stored event of the log.
///
/// Its **canonical entry** is the canonical JSON (see `CanonicalJSON`) of
/// `{"action", "actor", "payload", "payload_sha256", "seq", "subject": {"id", "type"}, "time"}` —
/// keys in exactly that (sorted) order, `payload` embedded as its canonical JSON value,
/// `payload_sha256` lower-case hex of SHA-256 over the payload's canonical bytes, `seq` an integer,
/// `time` RFC 3339 UTC with milliseconds. The leaf hash is SHA-256(0x00 ‖ canonical entry bytes).
/// Because `seq` is inside the entry, a leaf is bound to its position in the log.
public struct AuditEvent: Sendable, Equatable, Codable {
    public var seq: Int
    /// RFC 3339 UTC, milliseconds, e.g. `2026-11-28T03:37:41.123Z`.
    public var time: String
    public var actor: String
    public var action: String
    public var subject: AuditSubject
    /// Canonical JSON of the payload.
    public var payload: String
    /// Lower-case hex SHA-256 of `payload`'s UTF-8 bytes.
    public var payloadSHA256: String
    /// SHA-256(0x00 ‖ canonicalEntry).
    public var leafHash: Data

    public init(seq: Int, time: String, actor: String, action: String, subject: AuditSubject,
                payload: String, payloadSHA256: String, leafHash: Data) {
        self.seq = seq
        self.time = time
        self.actor = actor
        self.action = action
        self.subject = subject
        self.payload = payload
        self.payloadSHA256 = payloadSHA256
        self.leafHash = leafHash
    }

    /// The exact bytes the leaf hash covers.
    public var canonicalEntry: String {
        String(decoding: Self.canonicalEntryBytes(seq: seq, time: time, actor: actor, action: action,
                                                  subjectType: subject.type, subjectID: subject.id,
                                                  payload: payload, payloadSHA256: payloadSHA256),
               as: UTF8.self)
    }

    /// Recomputes the leaf hash from the other fields.
    public func computedLeafHash() -> Data {
        Merkle.leafHash(Self.canonicalEntryBytes(seq: seq, time: time, actor: actor, action: action,
                                                 subjectType: subject.type, subjectID: subject.id,
                                                 payload: payload, payloadSHA256: payloadSHA256))
    }

    /// Builds the canonical entry directly (keys already in sorted order; `payload` must already be
    /// canonical JSON and is embedded verbatim).
    static func canonicalEntryBytes(seq: Int, time: String, actor: String, action: String,
                                    subjectType: String, subjectID: String,
                                    payload: String, payloadSHA256: String) -> [UInt8] {
        var payload = payload
        return payload.withUTF8 { bytes in
            canonicalEntryBytes(seq: seq, time: time, actor: actor, action: action, subjectType: subjectType,
                                subjectID: subjectID, payloadBytes: bytes, payloadSHA256: payloadSHA256)
        }
    }

    static func canonicalEntryBytes<P: Collection>(seq: Int, time: String, actor: String, action: String,
                                                   subjectType: String, subjectID: String,
                                                   payloadBytes payload: P, payloadSHA256: String) -> [UInt8] where P.Element == UInt8 {
        var out = [UInt8]()
        out.reserveCapacity(160 + payload.count)
        out.append(contentsOf: #"{"action":"#.utf8)
        CanonicalJSON.appendString(action, to: &out)
        out.append(contentsOf: #","actor":"#.utf8)
        CanonicalJSON.appendString(actor, to: &out)
        out.append(contentsOf: #","payload":"#.utf8)
        out.append(contentsOf: payload)
        out.append(contentsOf: #","payload_sha256":"#.utf8)
        CanonicalJSON.appendString(payloadSHA256, to: &out)
        out.append(contentsOf: #","seq":"#.utf8)
        out.append(contentsOf: String(seq).utf8)
        out.append(contentsOf: #","subject":{"id":"#.utf8)
        CanonicalJSON.appendString(subjectID, to: &out)
        out.append(contentsOf: #","type":"#.utf8)
        CanonicalJSON.appendString(subjectType, to: &out)
        out.append(contentsOf: #"},"time":"#.utf8)
        CanonicalJSON.appendString(time, to: &out)
        out.append(0x7D)
        return out
    }

    enum CodingKeys: String, CodingKey {
        case seq, time, actor, action, subject, payload
        case payloadSHA256 = "payload_sha256"
        case leafHash = "leaf_hash"
    }
}

enum Hex {
    private static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    static func string<D: Sequence>(_ bytes: D) -> String where D.Element == UInt8 {
        var out = [UInt8]()
        out.reserveCapacity(64)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether `hex` is the lower-case hex spelling of `bytes` (no allocation).
    static func matches<D: Sequence>(_ bytes: D, _ hex: String) -> Bool where D.Element == UInt8 {
        var it = hex.utf8.makeIterator()
        for b in bytes {
            guard it.next() == digits[Int(b >> 4)], it.next() == digits[Int(b & 0xF)] else { return false }
        }
        return it.next() == nil
    }

    static func data(_ s: String) -> Data? {
        let u = Array(s.utf8)
        guard u.count % 2 == 0 else { return nil }
        var out = Data(capacity: u.count / 2)
        func v(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: return c - 0x30
            case 0x61...0x66: return c - 0x61 + 10
            case 0x41...0x46: return c - 0x41 + 10
            default: return nil
            }
        }
        var i = 0
        while i < u.count {
            guard let h = v(u[i]), let l = v(u[i + 1]) else { return nil }
            out.append(h << 4 | l)
            i += 2
        }
        return out
    }
}
