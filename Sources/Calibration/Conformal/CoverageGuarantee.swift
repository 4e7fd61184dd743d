import Foundation

/// What split conformal prediction guarantees, stated with its numbers and its condition.
///
/// With n calibration scores and k = ⌈(n+1)(1−α)⌉ ≤ n, the set built from the k-th smallest score
/// covers a new case's true label with probability ≥ 1 − α, and — when scores have no ties (continuous
/// or randomised scores) — ≤ 1 − α + 1/(n+1). The probability is over calibration and test cases
/// together, and holds only if they are exchangeable (for the class-conditional form: exchangeable
/// within the true class). When k > n the threshold is infinite and the label is always included.
public struct CoverageGuarantee: Codable, Equatable, Sendable, CustomStringConvertible {
    public enum Scope: Codable, Equatable, Sendable {
        case marginal
        /// Coverage conditional on the true class being this label.
        case classConditional(label: Int)
    }

    public let scope: Scope
    public let alpha: Double
    public let calibrationCount: Int
    /// k = ⌈(n+1)(1−α)⌉; nil when k > n (the threshold is infinite).
    public let rank: Int?
    public let lowerBound: Double
    /// 1 − α + 1/(n+1), capped at 1; valid without ties in the scores.
    public let upperBound: Double
    /// Whether the upper bound applies to the score used (no ties: randomised scores always; LAC/APS
    /// when the model's probabilities have no ties).
    public let upperBoundAssumesNoTies: Bool
    public let condition: String

    init(scope: Scope, alpha: Double, calibrationCount n: Int, rank: Int?) {
        self.scope = scope
        self.alpha = alpha
        self.calibrationCount = n
        self.rank = rank
        if rank != nil {
            // The exact coverage without ties is k/(n+1), between 1−α and 1−α+1/(n+1).
            lowerBound = 1 - alpha
            upperBound = min(1, 1 - alpha + 1 / Double(n + 1))
        } else {
            lowerBound = 1
            upperBound = 1
        }
        upperBoundAssumesNoTies = true
        switch scope {
        case .marginal:
            condition = "calibration and test cases are exchangeable"
        case .classConditional(let label):
            condition = "calibration and test cases whose true class is \(label) are exchangeable"
        }
    }

    public var description: String { description(classNames: nil) }

    /// The guarantee with its numbers, naming the class where `classNames` has it (a report reads
    /// "true class = benign", not "true class = 0").
    public func description(classNames: [String]?) -> String {
        let what: String
        switch scope {
        case .marginal: what = "P(true label ∈ set)"
        case .classConditional(let label): what = "P(true label ∈ set | true class = \(Self.name(label, classNames)))"
        }
        if rank == nil {
            return "\(what) = 1: only \(calibrationCount) calibration cases for α = \(alpha), so the label is always included"
        }
        return String(format: "%.4f ≤ %@ ≤ %.4f (α = %g, n = %d), provided %@", lowerBound, what, upperBound,
                      alpha, calibrationCount, condition(classNames: classNames))
    }

    /// The exchangeability this guarantee rests on, naming the class where `classNames` has it.
    public func condition(classNames: [String]?) -> String {
        switch scope {
        case .marginal: return "calibration and test cases are exchangeable"
        case .classConditional(let label):
            return "calibration and test cases whose true class is \(Self.name(label, classNames)) are exchangeable"
        }
    }

    /// The condition of a whole set of guarantees: the class-conditional (Mondrian) form rests on
    /// exchangeability within every class, which is what a report of one prediction set must state.
    public static func condition(of guarantees: [CoverageGuarantee], classNames: [String]) -> String {
        let perClass = guarantees.contains { if case .classConditional = $0.scope { return true } else { return false } }
        guard perClass else { return "calibration and test cases are exchangeable" }
        let names = classNames.isEmpty ? "" : " (" + classNames.joined(separator: ", ") + ")"
        return "within each true class\(names), calibration and test cases of that class are exchangeable"
    }

    static func name(_ label: Int, _ classNames: [String]?) -> String {
        if let classNames, label >= 0, label < classNames.count { return classNames[label] }
        return "\(label)"
    }
}

/// A note attached to a calibrated predictor.
public struct ConformalWarning: Codable, Equatable, Sendable, CustomStringConvertible {
    public let classLabel: Int?
    public let calibrationCount: Int
    public let requiredCount: Int
    public let alpha: Double

    public var description: String { description(classNames: nil) }

    /// The warning, naming the class where `classNames` has it.
    public func description(classNames: [String]?) -> String {
        let who = classLabel.map { "class " + CoverageGuarantee.name($0, classNames) } ?? "the calibration set"
        return "\(who) has \(calibrationCount) calibration cases; α = \(alpha) needs at least \(requiredCount) "
            + "(n ≥ 1/α − 1), so its threshold is infinite and the label is always in the set"
    }
}

public enum SplitConformal {
    /// k = ⌈(n+1)(1−α)⌉, computed as the same floating-point expression MAPIE uses.
    public static func rank(calibrationCount n: Int, alpha: Double) -> Int {
        Int(((Double(n) + 1) * (1 - alpha)).rounded(.up))
    }

    /// Smallest n with k ≤ n, i.e. n ≥ 1/α − 1.
    public static func minimumCalibrationCount(alpha: Double) -> Int {
        var n = max(0, Int((1 / alpha - 1).rounded(.down)) - 1)
        while rank(calibrationCount: n, alpha: alpha) > n { n += 1 }
        return n
    }

    /// The k-th smallest score (k = ⌈(n+1)(1−α)⌉), or +∞ when k > n.
    public static func threshold(scores: [Double], alpha: Double) -> Double {
        let k = rank(calibrationCount: scores.count, alpha: alpha)
        if k > scores.count { return .infinity }
        return scores.sorted()[k - 1]
    }
}
