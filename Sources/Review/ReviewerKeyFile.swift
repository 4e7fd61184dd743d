import Crypto
import Files
import _CryptoExtras
import Foundation

/// A reviewer's Ed25519 signing key, stored encrypted under a passphrase. Signing needs both the file
/// and the passphrase — the two distinct identification components of 21 CFR 11.200(a)(1).
/// The passphrase is stretched with scrypt (memory-hard, so guessing costs memory as well as time),
/// and the key is sealed with ChaCha20-Poly1305 bound to the reviewer id and key version.
public struct ReviewerKeyFile: Codable, Sendable, Equatable {
    public static let format = "countersign-reviewer-key-1"

    public var format: String
    public var reviewerId: String
    public var keyVersion: Int
    public var publicKey: Data
    public var kdf: KDFParameters
    public var sealed: Data

    public struct KDFParameters: Codable, Sendable, Equatable {
        public var name: String
        /// scrypt cost N (a power of two), block size r, parallelism p.
        public var n: Int
        public var r: Int
        public var p: Int
        public var salt: Data
    }

    /// Default scrypt cost: 2^15 · 128 · 8 bytes = 32 MiB of memory per guess.
    public static let defaultCost = (n: 1 << 15, r: 8, p: 1)

    /// Creates a new key pair and seals the private key under `passphrase`.
    public static func create(reviewerId: String, keyVersion: Int, passphrase: String,
                              cost: (n: Int, r: Int, p: Int) = defaultCost) throws -> (file: ReviewerKeyFile, publicKey: Data) {
        guard passphrase.count >= 8 else { throw ReviewError.weakPassphrase }
        let key = Curve25519.Signing.PrivateKey()
        var salt = Data(count: 16)
        for i in 0..<16 { salt[i] = UInt8.random(in: 0...255) }
        let kdf = KDFParameters(name: "scrypt", n: cost.n, r: cost.r, p: cost.p, salt: salt)
        let wrapping = try deriveKey(passphrase: passphrase, kdf: kdf)
        let box = try ChaChaPoly.seal(key.rawRepresentation, using: wrapping,
                                      authenticating: associatedData(reviewerId: reviewerId, keyVersion: keyVersion))
        let file = ReviewerKeyFile(format: format, reviewerId: reviewerId, keyVersion: keyVersion,
                                   publicKey: key.publicKey.rawRepresentation, kdf: kdf, sealed: box.combined)
        return (file, key.publicKey.rawRepresentation)
    }

    /// Unlocks the private key; a wrong passphrase (or an edited file) fails authentication.
    public func unlock(passphrase: String) throws -> Curve25519.Signing.PrivateKey {
        guard format == Self.format, kdf.name == "scrypt" else { throw ReviewError.keyFileInvalid("unknown key file format") }
        let wrapping = try Self.deriveKey(passphrase: passphrase, kdf: kdf)
        let raw: Data
        do {
            let box = try ChaChaPoly.SealedBox(combined: sealed)
            raw = try ChaChaPoly.open(box, using: wrapping,
                                      authenticating: Self.associatedData(reviewerId: reviewerId, keyVersion: keyVersion))
        } catch {
            throw ReviewError.wrongPassphrase(reviewerId)
        }
        let key = try Curve25519.Signing.PrivateKey(rawRepresentation: raw)
        guard key.publicKey.rawRepresentation == publicKey else { throw ReviewError.keyFileInvalid("public key does not match the sealed key") }
        return key
    }

    static func deriveKey(passphrase: String, kdf: KDFParameters) throws -> SymmetricKey {
        try KDF.Scrypt.deriveKey(from: Data(passphrase.utf8), salt: kdf.salt, outputByteCount: 32,
                                 rounds: kdf.n, blockSize: kdf.r, parallelism: kdf.p)
    }

    static func associatedData(reviewerId: String, keyVersion: Int) -> Data {
        Data("countersign-reviewer-key\u{0}\(reviewerId)\u{0}\(keyVersion)".utf8)
    }

    /// Writes the file with mode 0600 (never readable by others).
    public func write(to url: URL) throws {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        e.keyEncodingStrategy = .convertToSnakeCase
        let data = try e.encode(self)
        do { try AtomicFile.write(data, to: url, permissions: 0o600, replacing: false) } catch {
            throw ReviewError.keyFileInvalid("\(error)")
        }
    }

    public static func read(from url: URL) throws -> ReviewerKeyFile {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ReviewError.keyFileMissing(url.path)
        }
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        do { return try d.decode(ReviewerKeyFile.self, from: data) } catch {
            throw ReviewError.keyFileInvalid("\(url.path): \(error)")
        }
    }
}
