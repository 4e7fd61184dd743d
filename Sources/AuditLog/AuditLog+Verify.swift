import Crypto
import CaseStore
import Foundation
import GRDB

/// One problem found by `AuditLog.verify`.
public struct LogVerificationFailure: Codable, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Codable, Sendable {
        /// A row is missing, extra or out of place (seq must be 0…n-1 with no gaps).
        case sequenceGap = "sequence_gap"
        /// A column has the wrong SQL type or is NULL.
        case unreadableRow = "unreadable_row"
        /// SHA-256 of the stored payload differs from the stored payload_sha256.
        case payloadHashMismatch = "payload_hash_mismatch"
        /// The leaf hash recomputed from the row's columns differs from the stored one.
        case leafHashMismatch = "leaf_hash_mismatch"
        /// The stored frontier (compact range) differs from the one recomputed from the rows.
        case frontierMismatch = "frontier_mismatch"
        /// A checkpoint could not be parsed, or its columns differ from its note.
        case checkpointMalformed = "checkpoint_malformed"
        /// A checkpoint's signature does not verify under the key in use.
        case checkpointSignature = "checkpoint_signature"
        /// A checkpoint's root differs from the root recomputed over its first tree_size events.
        case checkpointRootMismatch = "checkpoint_root_mismatch"
        /// A checkpoint signs more events than the log holds: the log was truncated.
        case truncated
        /// Checkpoint times do not strictly increase.
        case checkpointTimeOrder = "checkpoint_time_order"
        /// The store's log key differs from the trusted key, is malformed, or is missing.
        case keyMismatch = "key_mismatch"
        /// The earlier (exported) checkpoint is not from this log.
        case originMismatch = "origin_mismatch"
    }

    public var kind: Kind
    /// The first sequence number this failure implicates (nil when no event is implicated).
    public var seq: Int?
    /// The checkpoint's tree size, for checkpoint failures.
    public var checkpointSize: Int?
    public var message: String

    public var description: String {
        var s = kind.rawValue
        if let seq { s += " at seq \(seq)" }
        return s + ": " + message
    }

    enum CodingKeys: String, CodingKey {
        case kind, seq, message
        case checkpointSize = "checkpoint_size"
    }
}

/// The outcome of `AuditLog.verify`.
public struct LogVerificationReport: Codable, Sendable {
    public var ok: Bool { failures.isEmpty }
    /// Events read from the store.
    public var eventCount: Int
    /// Root recomputed over all events (hex).
    public var rootHash: String
    /// The first bad sequence number: exact when a row is inconsistent in itself; when a rewrite
    /// kept every row self-consistent (leaf hashes recomputed) it is the first event not vouched
    /// for by a matching signed checkpoint.
    public var firstBadSeq: Int?
    public var failures: [LogVerificationFailure]
    /// More failures were found than are listed.
    public var failuresTruncated: Bool
    /// Stored checkpoints whose signature verified and whose root matched.
    public var checkpointsVerified: Int
    public var checkpointsTotal: Int
    /// Largest tree size vouched for by a good stored checkpoint.
    public var latestCheckpointSize: Int?
    /// Events after the latest good checkpoint: intact as far as the rows go, not yet signed.
    public var unsignedEvents: Int
    /// The key signatures were checked with, as a verifier key string.
    public var verifierKey: String?
    /// "trusted key" (given by the caller) or "store key" (read from the store itself: weaker).
    public var keySource: String
    /// Size of the earlier exported checkpoint checked, if one was given, and whether it held.
    public var earlierCheckpointSize: Int?
    public var earlierCheckpointConsistent: Bool?

    enum CodingKeys: String, CodingKey {
        case ok
        case eventCount = "event_count"
        case rootHash = "root_hash"
        case firstBadSeq = "first_bad_seq"
        case failures
        case failuresTruncated = "failures_truncated"
        case checkpointsVerified = "checkpoints_verified"
        case checkpointsTotal = "checkpoints_total"
        case latestCheckpointSize = "latest_checkpoint_size"
        case unsignedEvents = "unsigned_events"
        case verifierKey = "verifier_key"
        case keySource = "key_source"
        case earlierCheckpointSize = "earlier_checkpoint_size"
        case earlierCheckpointConsistent = "earlier_checkpoint_consistent"
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(ok, forKey: .ok)
        try c.encode(eventCount, forKey: .eventCount)
        try c.encode(rootHash, forKey: .rootHash)
        try c.encode(firstBadSeq, forKey: .firstBadSeq)
        try c.encode(failures, forKey: .failures)
        try c.encode(failuresTruncated, forKey: .failuresTruncated)
        try c.encode(checkpointsVerified, forKey: .checkpointsVerified)
        try c.encode(checkpointsTotal, forKey: .checkpointsTotal)
        try c.encode(latestCheckpointSize, forKey: .latestCheckpointSize)
        try c.encode(unsignedEvents, forKey: .unsignedEvents)
        try c.encode(verifierKey, forKey: .verifierKey)
        try c.encode(keySource, forKey: .keySource)
        try c.encode(earlierCheckpointSize, forKey: .earlierCheckpointSize)
        try c.encode(earlierCheckpointConsistent, forKey: .earlierCheckpointConsistent)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        eventCount = try c.decode(Int.self, forKey: .eventCount)
        rootHash = try c.decode(String.self, forKey: .rootHash)
        firstBadSeq = try c.decodeIfPresent(Int.self, forKey: .firstBadSeq)
        failures = try c.decode([LogVerificationFailure].self, forKey: .failures)
        failuresTruncated = try c.decode(Bool.self, forKey: .failuresTruncated)
        checkpointsVerified = try c.decode(Int.self, forKey: .checkpointsVerified)
        checkpointsTotal = try c.decode(Int.self, forKey: .checkpointsTotal)
        latestCheckpointSize = try c.decodeIfPresent(Int.self, forKey: .latestCheckpointSize)
        unsignedEvents = try c.decode(Int.self, forKey: .unsignedEvents)
        verifierKey = try c.decodeIfPresent(String.self, forKey: .verifierKey)
        keySource = try c.decode(String.self, forKey: .keySource)
        earlierCheckpointSize = try c.decodeIfPresent(Int.self, forKey: .earlierCheckpointSize)
        earlierCheckpointConsistent = try c.decodeIfPresent(Bool.self, forKey: .earlierCheckpointConsistent)
    }

    init() {
        eventCount = 0; rootHash = ""; failures = []; failuresTruncated = false
        checkpointsVerified = 0; checkpointsTotal = 0; unsignedEvents = 0; keySource = "store key"
    }
}

extension AuditLog {
    /// Most failures listed in a report (after a deleted row every later row is out of place).
    static let maxReportedFailures = 100

    /// Verifies the whole log from the stored rows, streaming them (constant memory):
    ///
    /// 1. every row's seq equals its position (0…n-1, no gaps), its payload hashes to its
    ///    payload_sha256, and its leaf hash recomputed from the columns equals the stored one;
    /// 2. the root over the recomputed leaves; the stored frontier equals the recomputed one;
    /// 3. every stored checkpoint parses, matches its columns, is signed by the key in use, has a
    ///    root equal to the recomputed root over its first tree_size events (so the current tree is
    ///    consistent with it), and checkpoint times strictly increase;
    /// 4. `earlierCheckpoint` (exported before, kept outside the store) verifies and the current
    ///    tree is consistent with it — this catches a truncated tail whose checkpoints were removed;
    /// 5. `trustedKey`, when given, is the store's key and signs the checkpoints; otherwise the key
    ///    stored in the log is used (which an attacker with the file could have replaced).
    ///
    /// Data problems become failures in the report; only database errors throw.
    @_spi(Storage) public static func verify(_ db: Database, trustedKey: LogVerifierKey? = nil, earlierCheckpoint: Checkpoint? = nil,
                              progress: ((Int) -> Void)? = nil) throws -> LogVerificationReport {
        var report = LogVerificationReport()
        func fail(_ kind: LogVerificationFailure.Kind, seq: Int?, checkpointSize: Int? = nil, _ message: String) {
            if report.failures.count < maxReportedFailures {
                report.failures.append(LogVerificationFailure(kind: kind, seq: seq, checkpointSize: checkpointSize, message: message))
            } else {
                report.failuresTruncated = true
            }
            if let seq { report.firstBadSeq = min(report.firstBadSeq ?? seq, seq) }
        }
        // The first row that is inconsistent in itself; a checkpoint or frontier mismatch over a
        // range that contains it is explained by it, so it names that row rather than the range.
        var firstRowFailure: Int?
        func failRow(_ kind: LogVerificationFailure.Kind, seq: Int, _ message: String) {
            firstRowFailure = min(firstRowFailure ?? seq, seq)
            fail(kind, seq: seq, message)
        }
        func firstBad(from lower: Int, below upper: Int) -> Int {
            if let r = firstRowFailure, r >= lower, r < upper { return r }
            return lower
        }

        // Keys.
        var storeKeys: [LogVerifierKey] = []
        do { storeKeys = try registeredKeys(db) } catch {
            fail(.keyMismatch, seq: nil, "\(error)")
        }
        let key: LogVerifierKey?
        if let trustedKey {
            key = trustedKey
            report.keySource = "trusted key"
            if !storeKeys.contains(trustedKey) {
                let stored = storeKeys.map(\.string).joined(separator: ", ")
                fail(.keyMismatch, seq: nil, "the store's log key (\(stored.isEmpty ? "none" : stored)) is not the trusted key \(trustedKey.string)")
            }
        } else {
            key = storeKeys.first
            report.keySource = "store key"
        }
        report.verifierKey = key?.string

        // Stored checkpoints (parsed up front: there are few).
        struct StoredCheckpoint { var size: Int; var checkpoint: Checkpoint? }
        var stored: [StoredCheckpoint] = []
        let cpRows = try Row.fetchAll(db, sql: "SELECT tree_size, root_hash, time, note FROM audit_checkpoints ORDER BY tree_size")
        for row in cpRows {
            guard let size = Int.fromDatabaseValue(row[0]) else {
                fail(.checkpointMalformed, seq: nil, "a checkpoint row has a non-integer tree_size"); continue
            }
            guard let note = String.fromDatabaseValue(row[3]) else {
                fail(.checkpointMalformed, seq: nil, checkpointSize: size, "checkpoint \(size): note is not text")
                stored.append(StoredCheckpoint(size: size, checkpoint: nil)); continue
            }
            do {
                let cp = try Checkpoint.parse(note)
                let rootColumn = Data.fromDatabaseValue(row[1])
                let timeColumn = String.fromDatabaseValue(row[2])
                if cp.treeSize != size || cp.rootHash != rootColumn || cp.time != timeColumn {
                    fail(.checkpointMalformed, seq: nil, checkpointSize: size, "checkpoint \(size): tree_size, root_hash or time column differs from the signed note")
                }
                stored.append(StoredCheckpoint(size: size, checkpoint: cp))
            } catch {
                fail(.checkpointMalformed, seq: nil, checkpointSize: size, "checkpoint \(size): \(error)")
                stored.append(StoredCheckpoint(size: size, checkpoint: nil))
            }
        }
        report.checkpointsTotal = stored.count

        // Stream the events, recording the recomputed root at every size a checkpoint names.
        var wanted = Set(stored.map(\.size))
        if let earlierCheckpoint { wanted.insert(earlierCheckpoint.treeSize) }
        var rootsAt: [Int: Data] = [:]
        if wanted.contains(0) { rootsAt[0] = Merkle.emptyRoot }
        var tree = FastTree()
        var position = 0
        var offset = 0  // seq - position of the previous row; a change is reported once
        let rows = try Row.fetchCursor(db.cachedStatement(sql: """
            SELECT seq, time, actor, action, subject_type, subject_id, payload, payload_sha256, leaf_hash
            FROM audit_events ORDER BY seq
            """))
        while let row = try rows.next() {
            let seqValue = Int.fromDatabaseValue(row[0])
            if let seq = seqValue, seq - position != offset {
                offset = seq - position
                failRow(.sequenceGap, seq: min(seq, position),
                     seq > position ? "expected event \(position), found \(seq): events \(position)…\(seq - 1) are missing"
                                    : "event \(seq) appears again at position \(position)")
            }
            guard let seq = seqValue,
                  let time = String.fromDatabaseValue(row[1]), let actor = String.fromDatabaseValue(row[2]),
                  let action = String.fromDatabaseValue(row[3]), let subjectType = String.fromDatabaseValue(row[4]),
                  let subjectID = String.fromDatabaseValue(row[5]), let payload = String.fromDatabaseValue(row[6]),
                  let payloadSHA = String.fromDatabaseValue(row[7]), let storedLeaf = Data.fromDatabaseValue(row[8]) else {
                failRow(.unreadableRow, seq: min(seqValue ?? position, position), "event at position \(position) has a NULL or wrongly typed column")
                // Keep the tree shape: an unreadable row still occupies its leaf.
                tree.append(FastTree.leafHash([UInt8]()))
                position += 1
                if wanted.contains(position) { rootsAt[position] = tree.root() }
                continue
            }
            var payloadCopy = payload
            let payloadDigest = payloadCopy.withUTF8 { SHA256.hash(data: UnsafeRawBufferPointer($0)) }
            if !Hex.matches(payloadDigest, payloadSHA) {
                failRow(.payloadHashMismatch, seq: min(seq, position),
                        "event \(seq): payload hashes to \(Hex.string(payloadDigest)), stored \(payloadSHA)")
            }
            // Bind the leaf to its position: a moved row does not hash as it did.
            let entry = AuditEvent.canonicalEntryBytes(seq: position, time: time, actor: actor, action: action,
                                                       subjectType: subjectType, subjectID: subjectID,
                                                       payload: payload, payloadSHA256: payloadSHA)
            let leaf = FastTree.leafHash(entry)
            if !storedLeaf.elementsEqual(leaf) {
                failRow(.leafHashMismatch, seq: min(seq, position),
                     "event \(seq): leaf hash recomputed from its columns differs from the stored leaf hash")
            }
            tree.append(leaf)
            position += 1
            if wanted.contains(position) { rootsAt[position] = tree.root() }
            if position & 0xFFFF == 0 { progress?(position) }
        }
        progress?(position)
        report.eventCount = position
        report.rootHash = Hex.string(tree.root())
        let range = try tree.compactRange()

        // Stored checkpoints: signature, root, time order.
        var lastGood = 0          // largest size vouched for so far
        var goodSizes: Set<Int> = []
        var previousTime: Int64?
        for s in stored {
            guard let cp = s.checkpoint else { continue }
            var good = true
            if let key {
                do { _ = try cp.verify(with: key) } catch {
                    good = false
                    fail(.checkpointSignature, seq: s.size > lastGood ? lastGood : nil, checkpointSize: s.size, "\(error)")
                }
            } else {
                good = false
                fail(.keyMismatch, seq: s.size > lastGood ? lastGood : nil, checkpointSize: s.size,
                     "checkpoint \(s.size) cannot be checked: the store has no log key and none was given")
            }
            if let t = cp.time.flatMap(RFC3339.milliseconds(from:)) {
                if let p = previousTime, t <= p {
                    good = false
                    fail(.checkpointTimeOrder, seq: s.size > lastGood ? lastGood : nil, checkpointSize: s.size,
                         "checkpoint \(s.size) has time \(cp.time ?? "") not after the previous checkpoint's")
                }
                previousTime = t
            } else {
                good = false
                fail(.checkpointMalformed, seq: nil, checkpointSize: s.size, "checkpoint \(s.size) has no time line")
            }
            if s.size > position {
                good = false
                fail(.truncated, seq: position, checkpointSize: s.size,
                     "checkpoint \(s.size) signs \(s.size) events but the log holds \(position): events \(position)…\(s.size - 1) were removed")
            } else if let root = rootsAt[s.size], root != cp.rootHash {
                good = false
                fail(.checkpointRootMismatch, seq: firstBad(from: lastGood, below: s.size), checkpointSize: s.size,
                     "the root over events 0…\(s.size - 1) differs from the root checkpoint \(s.size) signed: an event in \(lastGood)…\(s.size - 1) was rewritten")
            }
            if good {
                report.checkpointsVerified += 1
                lastGood = max(lastGood, s.size)
                goodSizes.insert(s.size)
            }
        }
        report.latestCheckpointSize = report.checkpointsVerified > 0 ? lastGood : nil
        report.unsignedEvents = max(0, position - lastGood)

        // The stored frontier must be the recomputed one.
        do {
            let f = try frontier(db)
            if f != range {
                let at = f.size != range.size ? min(Int(f.size), position) : firstBad(from: lastGood, below: position)
                fail(.frontierMismatch, seq: at, "the stored frontier (size \(f.size)) differs from the one recomputed over \(position) events")
            }
        } catch {
            fail(.frontierMismatch, seq: lastGood, "\(error)")
        }

        // An earlier exported checkpoint: the current tree must extend it.
        if let earlier = earlierCheckpoint {
            report.earlierCheckpointSize = earlier.treeSize
            var consistent = true
            if let key {
                do { _ = try earlier.verify(with: key) } catch {
                    consistent = false
                    fail(.checkpointSignature, seq: nil, checkpointSize: earlier.treeSize, "earlier checkpoint: \(error)")
                }
            } else {
                consistent = false
                fail(.keyMismatch, seq: nil, checkpointSize: earlier.treeSize,
                     "the earlier checkpoint cannot be checked: the store has no log key and none was given")
            }
            if let origin = stored.compactMap(\.checkpoint).first?.origin, origin != earlier.origin {
                consistent = false
                fail(.originMismatch, seq: nil, checkpointSize: earlier.treeSize,
                     "earlier checkpoint is for log '\(earlier.origin)', this store's log is '\(origin)'")
            }
            if earlier.treeSize > position {
                consistent = false
                fail(.truncated, seq: position, checkpointSize: earlier.treeSize,
                     "the earlier checkpoint signs \(earlier.treeSize) events but the log holds \(position): events \(position)…\(earlier.treeSize - 1) were removed")
            } else if let root = rootsAt[earlier.treeSize], root != earlier.rootHash {
                consistent = false
                // Only checkpoints signed by a trusted key narrow down where the rewrite is.
                let below = trustedKey == nil ? 0 : (goodSizes.filter { $0 < earlier.treeSize }.max() ?? 0)
                fail(.checkpointRootMismatch, seq: firstBad(from: below, below: earlier.treeSize), checkpointSize: earlier.treeSize,
                     "the current tree is not consistent with the earlier checkpoint of size \(earlier.treeSize): an event before \(earlier.treeSize) was rewritten")
            }
            report.earlierCheckpointConsistent = consistent
        }
        return report
    }
}

/// The compact range of `verify`, kept as fixed-size digests (no heap allocation per hash): the
/// verifier hashes every leaf of the log, so this is its inner loop. Same tree as `CompactRange`.
struct FastTree {
    private(set) var size: UInt64 = 0
    private var stack: [SHA256Digest] = []

    static func leafHash(_ entry: [UInt8]) -> SHA256Digest {
        var h = SHA256()
        h.update(data: [0x00] as [UInt8])
        h.update(data: entry)
        return h.finalize()
    }

    static func nodeHash(_ left: SHA256Digest, _ right: SHA256Digest) -> SHA256Digest {
        var h = SHA256()
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 65) { buf in
            buf[0] = 0x01
            left.withUnsafeBytes { l in for i in 0..<32 { buf[1 + i] = l[i] } }
            right.withUnsafeBytes { r in for i in 0..<32 { buf[33 + i] = r[i] } }
            h.update(bufferPointer: UnsafeRawBufferPointer(buf))
        }
        return h.finalize()
    }

    mutating func append(_ leaf: SHA256Digest) {
        var h = leaf
        var s = size
        while s & 1 == 1 {
            h = Self.nodeHash(stack.removeLast(), h)
            s >>= 1
        }
        stack.append(h)
        size += 1
    }

    func root() -> Data {
        guard var r = stack.last else { return Merkle.emptyRoot }
        for i in stride(from: stack.count - 2, through: 0, by: -1) { r = Self.nodeHash(stack[i], r) }
        return Data(r)
    }

    func compactRange() throws -> CompactRange {
        try CompactRange(size: size, packedNodes: stack.reduce(into: Data()) { $0.append(contentsOf: $1) })
    }
}
