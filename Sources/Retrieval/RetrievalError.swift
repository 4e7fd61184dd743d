import Foundation

/// Why a retrieval request was refused. Every case names what was wrong and with which value.
public enum RetrievalError: Error, CustomStringConvertible, LocalizedError, Equatable {
    case dimensionMismatch(expected: Int, got: Int, context: String)
    case duplicateRow(caseID: String, scanIndex: Int)
    case nonFiniteValue(caseID: String, scanIndex: Int, position: Int)
    case invalidParameter(String)
    case emptyIndex
    case emptyCalibration(String)

    public var description: String {
        switch self {
        case let .dimensionMismatch(expected, got, context):
            return "\(context): vector has \(got) values, the index has dimension \(expected)"
        case let .duplicateRow(caseID, scanIndex):
            return "case '\(caseID)' scan \(scanIndex) is already in the index"
        case let .nonFiniteValue(caseID, scanIndex, position):
            return "case '\(caseID)' scan \(scanIndex): value \(position) is NaN or infinite; embeddings must be finite"
        case let .invalidParameter(message):
            return message
        case .emptyIndex:
            return "the index holds no rows that pass the filters"
        case let .emptyCalibration(message):
            return "calibration impossible: \(message)"
        }
    }

    public var errorDescription: String? { description }
}
