import Foundation

/// Errors of the audit log. Each names what was wrong and where, so a CLI can print it as is.
public enum AuditLogError: Error, CustomStringConvertible, LocalizedError {
    /// The payload could not be turned into canonical JSON (non-finite number, bad UTF-8, …).
    case canonicalJSON(String)
    /// The stored frontier (compact range) is malformed.
    case corruptFrontier(String)
    /// A hash had the wrong length or a proof had the wrong shape.
    case invalidProof(String)
    /// A checkpoint or signed note could not be parsed or verified.
    case invalidCheckpoint(String)
    /// A key (file, verifier string, stored public key) is malformed or does not match.
    case invalidKey(String)
    /// A sequence number or tree size outside the log.
    case outOfRange(String)
    /// A key file could not be read or written.
    case keyFile(path: String, reason: String)

    public var description: String {
        switch self {
        case let .canonicalJSON(m): return "canonical JSON: \(m)"
        case let .corruptFrontier(m): return "audit log frontier: \(m)"
        case let .invalidProof(m): return "Merkle proof: \(m)"
        case let .invalidCheckpoint(m): return "checkpoint: \(m)"
        case let .invalidKey(m): return "log key: \(m)"
        case let .outOfRange(m): return m
        case let .keyFile(path, reason): return "log key file \(path): \(reason)"
        }
    }

    public var errorDescription: String? { description }
}
