import Crypto
import Foundation

/// SHA-256 helpers (swift-crypto), lower-case hex, for policy files and assessments.
public enum PolicyDigest {
    public static func sha256Hex(_ data: Data) -> String {
        SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }

    public static func sha256Hex(_ text: String) -> String { sha256Hex(Data(text.utf8)) }
}
