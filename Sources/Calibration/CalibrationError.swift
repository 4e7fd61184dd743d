import Foundation

/// Errors raised on bad input to the calibration library. Each names the offending field and row so a
/// user can find the case in the store.
public enum CalibrationError: Error, Equatable, CustomStringConvertible, LocalizedError {
    /// No rows were given.
    case empty(field: String)
    /// A row has a different number of columns from the first row.
    case raggedRow(field: String, row: Int, expected: Int, found: Int)
    /// Rows and labels disagree in count.
    case countMismatch(field: String, expected: Int, found: Int)
    /// A label is outside `0..<classCount`.
    case labelOutOfRange(row: Int, label: Int, classCount: Int)
    /// A value is NaN or infinite.
    case nonFinite(field: String, row: Int, column: Int)
    /// A probability is outside [0, 1].
    case notAProbability(field: String, row: Int, column: Int, value: Double)
    /// A parameter is outside its allowed range.
    case invalidParameter(name: String, value: String, reason: String)
    /// The method needs a different number of classes (e.g. Platt scaling is binary).
    case unsupportedClassCount(method: String, classCount: Int, reason: String)
    /// Class-conditional conformal calibration refused: too few calibration cases for α in a class.
    case tooFewCalibrationCases(classLabel: Int, count: Int, alpha: Double, required: Int)
    /// A calibrator was applied to logits with a different number of classes than it was fitted on.
    case classCountMismatch(fitted: Int, given: Int)

    public var description: String {
        switch self {
        case .empty(let field):
            return "\(field): no rows given"
        case .raggedRow(let field, let row, let expected, let found):
            return "\(field), row \(row): expected \(expected) columns, found \(found)"
        case .countMismatch(let field, let expected, let found):
            return "\(field): expected \(expected) entries (one per row), found \(found)"
        case .labelOutOfRange(let row, let label, let classCount):
            return "labels, row \(row): label \(label) is outside 0..<\(classCount)"
        case .nonFinite(let field, let row, let column):
            return "\(field), row \(row), column \(column): value is NaN or infinite"
        case .notAProbability(let field, let row, let column, let value):
            return "\(field), row \(row), column \(column): \(value) is not a probability in [0, 1]"
        case .invalidParameter(let name, let value, let reason):
            return "parameter \(name) = \(value): \(reason)"
        case .unsupportedClassCount(let method, let classCount, let reason):
            return "\(method) cannot be used with \(classCount) classes: \(reason)"
        case .tooFewCalibrationCases(let classLabel, let count, let alpha, let required):
            return "class \(classLabel) has \(count) calibration cases; α = \(alpha) needs at least \(required) "
                + "(n ≥ 1/α − 1) for a class-conditional guarantee"
        case .classCountMismatch(let fitted, let given):
            return "calibrator was fitted on \(fitted) classes but was given \(given)"
        }
    }

    public var errorDescription: String? { description }
}

/// Shape and range checks shared by every entry point.
enum InputValidation {
    /// Checks a non-empty rectangular matrix of finite values; returns the column count.
    @discardableResult
    static func matrix(_ rows: [[Double]], field: String, minColumns: Int = 1) throws -> Int {
        guard let first = rows.first else { throw CalibrationError.empty(field: field) }
        let k = first.count
        if k < minColumns {
            throw CalibrationError.invalidParameter(name: "\(field) columns", value: "\(k)",
                                                    reason: "at least \(minColumns) needed")
        }
        for (i, row) in rows.enumerated() {
            if row.count != k { throw CalibrationError.raggedRow(field: field, row: i, expected: k, found: row.count) }
            for (j, v) in row.enumerated() where !v.isFinite {
                throw CalibrationError.nonFinite(field: field, row: i, column: j)
            }
        }
        return k
    }

    /// Checks a probability matrix (values in [0, 1]); returns the column count.
    @discardableResult
    static func probabilities(_ rows: [[Double]], field: String = "probabilities") throws -> Int {
        let k = try matrix(rows, field: field)
        for (i, row) in rows.enumerated() {
            for (j, v) in row.enumerated() where v < 0 || v > 1 {
                throw CalibrationError.notAProbability(field: field, row: i, column: j, value: v)
            }
        }
        return k
    }

    static func labels(_ labels: [Int], rowCount: Int, classCount: Int) throws {
        if labels.count != rowCount {
            throw CalibrationError.countMismatch(field: "labels", expected: rowCount, found: labels.count)
        }
        for (i, y) in labels.enumerated() where y < 0 || y >= classCount {
            throw CalibrationError.labelOutOfRange(row: i, label: y, classCount: classCount)
        }
    }

    static func alpha(_ alpha: Double) throws {
        if !(alpha > 0 && alpha < 1) {
            throw CalibrationError.invalidParameter(name: "alpha", value: "\(alpha)", reason: "must lie in (0, 1)")
        }
    }

    static func uniforms(_ u: [Double], count: Int, field: String) throws {
        if u.count != count { throw CalibrationError.countMismatch(field: field, expected: count, found: u.count) }
        for (i, v) in u.enumerated() where !(v >= 0 && v <= 1) {
            throw CalibrationError.notAProbability(field: field, row: i, column: 0, value: v)
        }
    }
}
