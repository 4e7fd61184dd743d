import Foundation

/// Errors raised on bad repeat-scan input. Each names the case, scan and field it is about, so a
/// caller can point a user at the offending record rather than at a stack trace.
public enum RepeatScanError: Error, Equatable, CustomStringConvertible, LocalizedError {
    /// A scan's calibrated probability vector is malformed.
    case invalidProbabilities(scanID: String, field: String, reason: String)
    /// A scan was offered twice to the same case's e-process (a scan counts exactly once).
    case duplicateScan(caseID: String, scanID: String)
    /// Scans disagree about the number of classes.
    case classCountMismatch(scanID: String, expected: Int, found: Int)
    /// A configuration value is out of range.
    case invalidParameter(name: String, value: String, reason: String)
    /// A model cannot be fitted from the calibration data supplied.
    case insufficientCalibrationData(what: String, reason: String)
    /// A case has no scans.
    case noScans(caseID: String)
    /// A scan's scanner configuration is missing or has no calibration evidence.
    case unknownConfiguration(scanID: String, configuration: String?, known: [String])

    public var description: String {
        switch self {
        case let .invalidProbabilities(scanID, field, reason):
            return "scan \(scanID): field \(field): \(reason)"
        case let .duplicateScan(caseID, scanID):
            return "case \(caseID): scan \(scanID) was already counted; a scan is counted exactly once"
        case let .classCountMismatch(scanID, expected, found):
            return "scan \(scanID): field probabilities: expected \(expected) classes, found \(found)"
        case let .invalidParameter(name, value, reason):
            return "parameter \(name) = \(value): \(reason)"
        case let .insufficientCalibrationData(what, reason):
            return "cannot fit \(what): \(reason)"
        case let .noScans(caseID):
            return "case \(caseID): no scans"
        case let .unknownConfiguration(scanID, configuration, known):
            let what = configuration.map { "was taken under scanner configuration \"\($0)\", which the calibration split has no evidence for" }
                ?? "names no scanner configuration (acquisition clause \"\(ScanObservation.configurationClause)NAME\")"
            return "scan \(scanID): field acquisition: \(what); calibrated configurations: \(known.joined(separator: ", "))"
        }
    }

    public var errorDescription: String? { description }
}
