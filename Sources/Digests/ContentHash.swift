import Crypto
import Foundation

/// SHA-256 content hashes as lower-case hex — the one spelling of a hash in the store, the audit log,
/// the reports and model ids, so the same bytes always read the same everywhere.
public enum ContentHash {
    /// SHA-256 of `data` as lower-case hex.
    public static func sha256Hex<D: DataProtocol>(_ data: D) -> String { hex(SHA256.hash(data: data)) }

    /// SHA-256 of the UTF-8 bytes of `text`, as lower-case hex.
    public static func sha256Hex(_ text: String) -> String { sha256Hex(Data(text.utf8)) }

    /// Lower-case hex of any bytes (digests, Merkle roots).
    public static func hex<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 0x0f)]) }
        return String(decoding: out, as: UTF8.self)
    }

    /// Streaming SHA-256 for content read in pieces (imported files, calibration sets).
    public struct Hasher {
        private var hash = SHA256()

        public init() {}

        public mutating func update<D: DataProtocol>(_ bytes: D) { hash.update(data: bytes) }

        /// The digest of everything fed so far, as lower-case hex.
        public mutating func finalize() -> String { ContentHash.hex(hash.finalize()) }
    }
}
