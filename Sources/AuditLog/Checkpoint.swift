import Crypto
import CaseStore
import Foundation
import GRDB

/// One signature line of a signed note: `— <name> <base64(key id ‖ signature)>`.
public struct NoteSignature: Sendable, Equatable {
    public let name: String
    public let keyID: Data
    public let signature: Data
}

/// A signed checkpoint in the C2SP `tlog-checkpoint` format wrapped in a C2SP `signed-note`:
///
///     <origin>\n
///     <tree size, decimal>\n
///     <base64 root hash>\n
///     time <RFC 3339 UTC, milliseconds>\n      ← Countersign's extension line
///     \n
///     — <key name> <base64(4-byte key id ‖ 64-byte Ed25519 signature)>\n
///
/// The signature covers the body (the first four lines, final newline included). Countersign
/// puts the checkpoint time in the `time` extension line; a log's checkpoint times strictly increase.
public struct Checkpoint: Sendable, Equatable {
    public let origin: String
    public let treeSize: Int
    public let rootHash: Data
    /// The `time` extension line's value, if present.
    public let time: String?
    /// All extension lines (after the root hash), `time …` included.
    public let extensionLines: [String]
    /// The signed text.
    public let body: String
    public let signatures: [NoteSignature]
    /// The whole signed note, exactly as stored and exported.
    public let note: String

    /// Builds and signs a checkpoint.
    public static func sign(origin: String, treeSize: Int, rootHash: Data, time: String, signer: LogSigner) throws -> Checkpoint {
        guard rootHash.count == Merkle.hashSize else { throw AuditLogError.invalidCheckpoint("root hash must have 32 bytes") }
        let body = "\(origin)\n\(treeSize)\n\(rootHash.base64EncodedString())\ntime \(time)\n"
        let sig = try signer.sign(Data(body.utf8))
        let note = body + "\n— \(signer.name) \((signer.keyID + sig).base64EncodedString())\n"
        return try parse(note)
    }

    /// Parses a signed checkpoint note (signatures are not checked here; see `verify`).
    public static func parse(_ note: String) throws -> Checkpoint {
        func bad(_ line: Int, _ m: String) -> AuditLogError { .invalidCheckpoint("line \(line): \(m)") }
        guard note.hasSuffix("\n") else { throw AuditLogError.invalidCheckpoint("a signed note ends with a newline") }
        guard let split = note.range(of: "\n\n", options: .backwards) else {
            throw AuditLogError.invalidCheckpoint("no blank line between the checkpoint and its signatures")
        }
        let body = String(note[..<split.lowerBound]) + "\n"
        let bodyLines = body.dropLast().split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard bodyLines.count >= 3 else { throw AuditLogError.invalidCheckpoint("a checkpoint has at least origin, size and root lines") }
        guard !bodyLines[0].isEmpty else { throw bad(1, "empty origin") }
        let sizeText = bodyLines[1]
        guard let size = Int(sizeText), size >= 0, String(size) == sizeText else {
            throw bad(2, "tree size '\(sizeText)' is not a decimal number without leading zeros")
        }
        guard let root = Data(base64Encoded: bodyLines[2]), root.count == Merkle.hashSize else {
            throw bad(3, "root hash is not base64 of 32 bytes")
        }
        let extensions = Array(bodyLines.dropFirst(3))
        for (i, line) in extensions.enumerated() where line.isEmpty { throw bad(4 + i, "empty extension line") }
        var time: String?
        if let line = extensions.first(where: { $0.hasPrefix("time ") }) {
            let t = String(line.dropFirst(5))
            guard RFC3339.milliseconds(from: t) != nil else { throw bad(4, "time '\(t)' is not RFC 3339") }
            time = t
        }
        var signatures: [NoteSignature] = []
        let sigLines = note[split.upperBound...].dropLast().split(separator: "\n", omittingEmptySubsequences: false)
        let firstSigLine = bodyLines.count + 2
        for (i, line) in sigLines.enumerated() {
            guard line.hasPrefix("— ") else { throw bad(firstSigLine + i, "signature lines start with '— '") }
            let fields = line.dropFirst(2).split(separator: " ", omittingEmptySubsequences: false)
            guard fields.count == 2, !fields[0].isEmpty else { throw bad(firstSigLine + i, "signature line is '— <name> <signature>'") }
            guard let blob = Data(base64Encoded: String(fields[1])), blob.count > 4 else {
                throw bad(firstSigLine + i, "signature is not base64 of key id ‖ signature")
            }
            signatures.append(NoteSignature(name: String(fields[0]), keyID: Data(blob.prefix(4)), signature: Data(blob.dropFirst(4))))
        }
        guard !signatures.isEmpty else { throw AuditLogError.invalidCheckpoint("the note has no signature lines") }
        return Checkpoint(origin: bodyLines[0], treeSize: size, rootHash: root, time: time, extensionLines: extensions,
                          body: body, signatures: signatures, note: note)
    }

    /// Checks the signature by `key`; only a verified checkpoint can vouch for a root.
    public func verify(with key: LogVerifierKey) throws -> VerifiedCheckpoint {
        let candidates = signatures.filter { $0.name == key.name && $0.keyID == key.keyID }
        guard !candidates.isEmpty else {
            let names = signatures.map { "\($0.name) (key id \(Hex.string($0.keyID)))" }.joined(separator: ", ")
            throw AuditLogError.invalidCheckpoint("checkpoint of size \(treeSize) is not signed by \(key.name) (key id \(Hex.string(key.keyID))); signed by \(names)")
        }
        guard candidates.contains(where: { key.isValidSignature($0.signature, for: Data(body.utf8)) }) else {
            throw AuditLogError.invalidCheckpoint("checkpoint of size \(treeSize): signature by \(key.name) does not verify")
        }
        return VerifiedCheckpoint(checkpoint: self, key: key)
    }
}

/// A checkpoint whose signature has been checked against a known key. Proof verifiers take this,
/// never a bare root.
public struct VerifiedCheckpoint: Sendable, Equatable {
    public let checkpoint: Checkpoint
    public let key: LogVerifierKey

    public var treeSize: Int { checkpoint.treeSize }
    public var rootHash: Data { checkpoint.rootHash }

    /// Checks that `leafHash` is entry `index` of the tree this checkpoint signs.
    public func verifyInclusion(index: Int, leafHash: Data, proof: [Data]) throws {
        guard index >= 0 else { throw AuditLogError.invalidProof("negative index") }
        try Merkle.verifyInclusion(index: UInt64(index), size: UInt64(treeSize), leafHash: leafHash, proof: proof, root: rootHash)
    }

    /// Checks that the tree this checkpoint signs is a prefix of the one `newer` signs.
    public func verifyConsistency(to newer: VerifiedCheckpoint, proof: [Data]) throws {
        try Merkle.verifyConsistency(size1: UInt64(treeSize), size2: UInt64(newer.treeSize),
                                     root1: rootHash, root2: newer.rootHash, proof: proof)
    }
}

extension AuditLog {
    /// Signs a checkpoint of the current tree and stores it, inside the caller's write transaction.
    /// If the latest stored checkpoint already covers the current size, that one is returned.
    /// The time is now, or 1 ms after the previous checkpoint if the clock has not moved past it,
    /// so checkpoint times strictly increase. Registers the signer's key if the store has none and
    /// refuses a signer whose key is not the store's.
    @discardableResult
    @_spi(Storage) public static func checkpoint(_ db: Database, signer: LogSigner, time: Date = Date()) throws -> Checkpoint {
        try registerKey(db, signer.verifierKey)
        let range = try frontier(db)
        let latest = try latestCheckpoint(db)
        if let latest, latest.treeSize == Int(range.size) { return latest }
        if let latest, latest.treeSize > Int(range.size) {
            throw AuditLogError.invalidCheckpoint("the latest checkpoint has size \(latest.treeSize) but the log has \(range.size) events")
        }
        var ms = RFC3339.milliseconds(of: time)
        if let previous = latest?.time.flatMap(RFC3339.milliseconds(from:)), ms <= previous { ms = previous + 1 }
        let cp = try Checkpoint.sign(origin: signer.name, treeSize: Int(range.size), rootHash: range.root(),
                                     time: RFC3339.string(millisecondsSince1970: ms), signer: signer)
        try db.execute(sql: "INSERT INTO audit_checkpoints (tree_size, root_hash, time, note) VALUES (?, ?, ?, ?)",
                       arguments: [cp.treeSize, cp.rootHash, cp.time, cp.note])
        return cp
    }

    /// The stored checkpoint with the largest tree size, or nil.
    @_spi(Storage) public static func latestCheckpoint(_ db: Database) throws -> Checkpoint? {
        guard let note = try String.fetchOne(db, sql: "SELECT note FROM audit_checkpoints ORDER BY tree_size DESC LIMIT 1") else { return nil }
        return try Checkpoint.parse(note)
    }

    /// All stored checkpoints by tree size (parsed, not verified).
    @_spi(Storage) public static func checkpoints(_ db: Database) throws -> [Checkpoint] {
        try String.fetchAll(db, sql: "SELECT note FROM audit_checkpoints ORDER BY tree_size").map(Checkpoint.parse)
    }
}
