import Foundation

/// Everything that can go wrong when building, loading or running a recurrent model.
public enum RecurrentError: Error, CustomStringConvertible, LocalizedError, Equatable {
    case invalidConfiguration(String)
    case invalidInput(String)
    case malformedFile(file: String, reason: String)
    case training(String)

    public var description: String {
        switch self {
        case .invalidConfiguration(let why): return "invalid recurrent model configuration: \(why)"
        case .invalidInput(let why): return "invalid input sequence: \(why)"
        case .malformedFile(let file, let why): return "\(file): not a valid Countersign model file: \(why)"
        case .training(let why): return "training failed: \(why)"
        }
    }

    public var errorDescription: String? { description }
}
