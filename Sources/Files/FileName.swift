import Digests
import Foundation

/// File names made from user data (case, run and reviewer ids may hold `/`, quotes or SQL): the safe
/// characters are kept, and a short hash of the id is added whenever anything had to change, so a
/// name never leaves its folder, never hides, and two ids never collide on disk.
public enum FileName {
    public static func slug(_ text: String) -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
        var safe = String(text.map { allowed.contains($0) ? $0 : "_" }.prefix(80))
        if safe.hasPrefix(".") { safe = "_" + safe.dropFirst() }
        if safe == text && !safe.isEmpty { return safe }
        let digest = String(ContentHash.sha256Hex(text).prefix(8))
        return (safe.isEmpty ? "case" : safe) + "-" + digest
    }
}
