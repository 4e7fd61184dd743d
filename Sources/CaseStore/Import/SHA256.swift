import Crypto
import Foundation

/// Streaming SHA-256 (swift-crypto) returning lower-case hex: content hashes of imported files,
/// calibration sets and model weights.
struct SHA256Hasher {
    private var hash = SHA256()

    mutating func update<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        hash.update(data: Data(bytes))
    }

    mutating func finalize() -> String {
        hash.finalize().map { String(format: "%02x", $0) }.joined()
    }

    static func hex<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        var hasher = SHA256Hasher(); hasher.update(bytes); return hasher.finalize()
    }
}

/// Content hashes for provenance (files imported, generated cohorts).
public enum ContentHash {
    /// SHA-256 of `data` as lower-case hex.
    public static func sha256Hex(_ data: Data) -> String { SHA256Hasher.hex(data) }
}
