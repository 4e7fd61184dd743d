import Foundation

/// Why a job refused or failed. `badInput` and `missing` are what the CLI maps onto exit codes 65
/// and 66: the data is bad (the message names case, scan or field), or a record that must exist does not.
public enum PipelineError: Error, CustomStringConvertible, LocalizedError {
    case badInput(String)
    case missing(String)
    case inconsistent(String)
    case unreadableScan(caseId: String, scan: Int, reason: String)
    case noModel(study: String)
    case unreadableModel(id: String, reason: String)

    public var description: String {
        switch self {
        case let .badInput(m), let .missing(m), let .inconsistent(m): return m
        case let .unreadableScan(c, s, r): return "case '\(c)' scan \(s) cannot be assessed: \(r)"
        case let .noModel(study): return "no model is registered for study '\(study)'; train or import one first"
        case let .unreadableModel(id, reason): return "model \(id): \(reason)"
        }
    }
    public var errorDescription: String? { description }

    /// True when a record or file that must exist does not (exit 66).
    public var isMissing: Bool {
        switch self {
        case .missing, .noModel: return true
        default: return false
        }
    }
}

public enum RunError: Error, CustomStringConvertible, LocalizedError {
    case runIdReused(String, String)
    case noCases(String)

    public var description: String {
        switch self {
        case let .runIdReused(id, what):
            return "run id '\(id)' already names a run with different inputs (\(what)); choose another --run-id"
        case let .noCases(what): return "no cases to assess: \(what)"
        }
    }
    public var errorDescription: String? { description }
}
