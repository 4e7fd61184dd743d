import Foundation

public enum CohortError: Error, CustomStringConvertible, LocalizedError, Equatable {
    case invalidParameter(name: String, value: String, reason: String)

    public var description: String {
        switch self {
        case let .invalidParameter(name, value, reason): return "invalid cohort parameter \(name) = \(value): \(reason)"
        }
    }
    public var errorDescription: String? { description }
}
