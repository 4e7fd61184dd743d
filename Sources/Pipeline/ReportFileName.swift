import Crypto
import Foundation

/// File names for reports. Case ids are user data (they may hold `/`, quotes or SQL); a file name
/// keeps the safe characters and adds a short hash whenever anything had to change, so two ids can
/// never collide on disk.
public enum ReportFileName {
    /// Path of a report version inside a run folder: `run.html`, `cases/<case>.html`, `cases/<case>.v2.html`.
    public static func relativePath(caseId: String?, version: Int, format: String) -> String {
        let suffix = version > 1 ? ".v\(version)" : ""
        guard let caseId else { return "run\(suffix).\(format)" }
        return "cases/\(slug(caseId))\(suffix).\(format)"
    }

    public static func slug(_ text: String) -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
        var safe = String(text.map { allowed.contains($0) ? $0 : "_" }.prefix(80))
        if safe.hasPrefix(".") { safe = "_" + safe.dropFirst() }
        if safe == text && !safe.isEmpty { return safe }
        let digest = SHA256.hash(data: Data(text.utf8)).prefix(4).map { String(format: "%02x", $0) }.joined()
        return (safe.isEmpty ? "case" : safe) + "-" + digest
    }
}
