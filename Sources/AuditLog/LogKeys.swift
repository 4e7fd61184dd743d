@_spi(Storage) import CaseStore
import Crypto
import Files
import Foundation
import GRDB
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A C2SP signed-note verifier key for Ed25519: `<name>+<hex key id>+<base64(0x01 ‖ public key)>`,
/// key id = the first 4 bytes of SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key).
public struct LogVerifierKey: Sendable, Equatable, CustomStringConvertible {
    /// Signature algorithm byte of Ed25519 in signed notes.
    static let ed25519Algorithm: UInt8 = 0x01

    public let name: String
    /// 32-byte Ed25519 public key.
    public let publicKey: Data
    /// 4-byte key id.
    public let keyID: Data

    public init(name: String, publicKey: Data) throws {
        try Self.checkName(name)
        guard publicKey.count == 32, (try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey)) != nil else {
            throw AuditLogError.invalidKey("an Ed25519 public key has 32 bytes, got \(publicKey.count)")
        }
        self.name = name
        self.publicKey = publicKey
        self.keyID = Self.keyID(name: name, publicKey: publicKey)
    }

    /// Parses a verifier key string; the embedded key id must match the one computed from name and key.
    public init(string raw: String) throws {
        let s = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        // The base64 key may itself contain '+': split at the first two only (as Go's note package does).
        let parts = s.split(separator: "+", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3 else {
            throw AuditLogError.invalidKey("a verifier key is <name>+<hex key id>+<base64 key>; got \(parts.count) '+'-separated fields")
        }
        guard let id = Hex.data(String(parts[1])), id.count == 4 else {
            throw AuditLogError.invalidKey("key id '\(parts[1])' is not 8 hex digits")
        }
        guard let key = Data(base64Encoded: String(parts[2])), key.count == 33, key[key.startIndex] == Self.ed25519Algorithm else {
            throw AuditLogError.invalidKey("key field is not base64 of 0x01 ‖ 32-byte Ed25519 public key")
        }
        try self.init(name: String(parts[0]), publicKey: key.dropFirst())
        guard keyID == id else {
            throw AuditLogError.invalidKey("key id \(Hex.string(id)) does not match name and key (expected \(Hex.string(keyID)))")
        }
    }

    /// The verifier key string.
    public var string: String {
        "\(name)+\(Hex.string(keyID))+\((Data([Self.ed25519Algorithm]) + publicKey).base64EncodedString())"
    }

    public var description: String { string }

    public func isValidSignature(_ signature: Data, for message: Data) -> Bool {
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey) else { return false }
        return key.isValidSignature(signature, for: message)
    }

    static func keyID(name: String, publicKey: Data) -> Data {
        var h = SHA256()
        h.update(data: Array(name.utf8))
        h.update(data: [0x0A, ed25519Algorithm])
        h.update(data: publicKey)
        return Data(h.finalize().prefix(4))
    }

    /// Key names are non-empty and contain no whitespace and no '+' (signed-note rules).
    static func checkName(_ name: String) throws {
        guard !name.isEmpty, !name.unicodeScalars.contains(where: { $0 == "+" || $0.properties.isWhitespace }) else {
            throw AuditLogError.invalidKey("key name '\(name)' must be non-empty with no spaces and no '+'")
        }
    }
}

/// The log's Ed25519 signing key. Its file holds the signed-note private key string
/// `PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 ‖ 32-byte seed)>`, mode 0600.
public struct LogSigner: Sendable {
    public let name: String
    let privateKey: Curve25519.Signing.PrivateKey
    public let verifierKey: LogVerifierKey

    public init(name: String, privateKey: Curve25519.Signing.PrivateKey) throws {
        self.name = name
        self.privateKey = privateKey
        self.verifierKey = try LogVerifierKey(name: name, publicKey: privateKey.publicKey.rawRepresentation)
    }

    /// A fresh random key named `name` (default: `countersign-log/<16 random hex digits>`).
    public static func generate(name: String? = nil) throws -> LogSigner {
        var rng = SystemRandomNumberGenerator()
        let suffix = Hex.string((0..<8).map { _ in UInt8.random(in: 0...255, using: &rng) })
        return try LogSigner(name: name ?? "countersign-log/\(suffix)", privateKey: Curve25519.Signing.PrivateKey())
    }

    public var publicKey: Data { verifierKey.publicKey }
    public var keyID: Data { verifierKey.keyID }

    /// Ed25519 signature over `message`.
    public func sign(_ message: Data) throws -> Data {
        try privateKey.signature(for: message)
    }

    /// The private key string stored in the key file.
    public var privateKeyString: String {
        "PRIVATE+KEY+\(name)+\(Hex.string(keyID))+\((Data([LogVerifierKey.ed25519Algorithm]) + privateKey.rawRepresentation).base64EncodedString())"
    }

    public init(privateKeyString raw: String) throws {
        let s = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        let parts = s.split(separator: "+", maxSplits: 4, omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0] == "PRIVATE", parts[1] == "KEY" else {
            throw AuditLogError.invalidKey("a private key is PRIVATE+KEY+<name>+<hex key id>+<base64 key>")
        }
        guard let seed = Data(base64Encoded: String(parts[4])), seed.count == 33, seed[seed.startIndex] == LogVerifierKey.ed25519Algorithm,
              let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: seed.dropFirst()) else {
            throw AuditLogError.invalidKey("private key field is not base64 of 0x01 ‖ 32-byte Ed25519 seed")
        }
        try self.init(name: String(parts[2]), privateKey: key)
        guard Hex.string(keyID) == parts[3].lowercased() else {
            throw AuditLogError.invalidKey("private key id \(parts[3]) does not match name and key")
        }
    }

    /// Reads a key file, refusing one that others can read.
    public static func load(path: String) throws -> LogSigner {
        var st = stat()
        guard stat(path, &st) == 0 else { throw AuditLogError.keyFile(path: path, reason: "cannot read (\(String(cString: strerror(errno))))") }
        guard st.st_mode & 0o077 == 0 else {
            throw AuditLogError.keyFile(path: path, reason: String(format: "mode %o lets others read the private key; chmod 600 it", st.st_mode & 0o777))
        }
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw AuditLogError.keyFile(path: path, reason: "\(error)")
        }
        do { return try LogSigner(privateKeyString: text) } catch {
            throw AuditLogError.keyFile(path: path, reason: "line 1: \(error)")
        }
    }

    /// Writes the key file with mode 0600; never overwrites an existing file.
    public func write(path: String) throws {
        do {
            try AtomicFile.write(Data((privateKeyString + "\n").utf8), to: URL(fileURLWithPath: path), permissions: 0o600,
                                 replacing: false)
        } catch let e as AtomicFile.WriteFailed {
            throw AuditLogError.keyFile(path: path, reason: e.reason)
        }
    }

    /// Default key file for a store file: `<store>.logkey`.
    public static func defaultKeyPath(forStore storePath: String) -> String { storePath + ".logkey" }

    /// The store's log signer: loads `keyPath` (default `<store>.logkey`), or — when the store has
    /// no log key yet — generates one, writes the file (0600) and registers the public key in
    /// `audit_log_keys` with a `log.key.created` event. Refuses a key file that does not match
    /// the store's registered key, and a store whose key file is missing.
    public static func openOrCreate(for store: CaseStore, keyPath: String? = nil, actor: String = "system") throws -> LogSigner {
        guard let path = keyPath ?? store.path.map(defaultKeyPath(forStore:)) else {
            throw AuditLogError.invalidKey("an in-memory store needs an explicit key path")
        }
        let registered = try store.read { db in try AuditLog.registeredKeys(db) }
        if FileManager.default.fileExists(atPath: path) {
            let signer = try load(path: path)
            try store.write { db in try AuditLog.registerKey(db, signer.verifierKey, actor: actor) }
            return signer
        }
        if let key = registered.first {
            throw AuditLogError.keyFile(path: path, reason: "missing, but the store's log is signed by \(key.string); give its key file with --log-key")
        }
        let signer = try generate()
        try signer.write(path: path)
        try store.write { db in try AuditLog.registerKey(db, signer.verifierKey, actor: actor) }
        return signer
    }
}

extension AuditLog {
    /// Public keys registered in the store, oldest first.
    @_spi(Storage) public static func registeredKeys(_ db: Database) throws -> [LogVerifierKey] {
        try Row.fetchAll(db, sql: "SELECT name, public_key FROM audit_log_keys ORDER BY created_at, name").map { row in
            let name: String = row[0]
            let key: Data = row[1]
            do { return try LogVerifierKey(name: name, publicKey: key) } catch {
                throw AuditLogError.invalidKey("audit_log_keys row '\(name)': \(error)")
            }
        }
    }

    /// Registers `key` as the store's log key (idempotent), appending a `log.key.created` event in
    /// the same transaction. A store has one log key: a different key is refused.
    @_spi(Storage) public static func registerKey(_ db: Database, _ key: LogVerifierKey, actor: String = "system", time: Date = Date()) throws {
        let existing = try registeredKeys(db)
        if existing.contains(key) { return }
        if let other = existing.first {
            throw AuditLogError.invalidKey("the store's log key is \(other.string); refusing to register \(key.string)")
        }
        let created = RFC3339.string(from: time)
        try db.execute(sql: "INSERT INTO audit_log_keys (name, public_key, key_id, created_at) VALUES (?, ?, ?, ?)",
                       arguments: [key.name, key.publicKey, key.keyID, created])
        struct KeyCreated: Encodable { var name: String; var key_id: String; var verifier_key: String }
        try append(db, actor: actor, action: "log.key.created", subject: AuditSubject(type: "log_key", id: key.name),
                   payload: KeyCreated(name: key.name, key_id: Hex.string(key.keyID), verifier_key: key.string), time: time)
    }
}

/// The log key file of a store on disk, for commands that only know the store's path.
public enum LogKeyFile {
    /// The signer for the store at `storePath`: loads `keyPath` (default `<store>.logkey`), or
    /// creates and registers a key if the store has none (see `LogSigner.openOrCreate`).
    public static func signer(storePath: String, keyPath: String? = nil, actor: String = "system") throws -> LogSigner {
        let store = try CaseStore(path: storePath)
        return try LogSigner.openOrCreate(for: store, keyPath: keyPath ?? LogSigner.defaultKeyPath(forStore: storePath), actor: actor)
    }
}
