import Foundation
import Randomness

/// How a conformal test martingale bets on each new p-value.
public enum BettingFunction: Codable, Equatable, Sendable {
    /// Power martingale (Vovk et al. 2003): multiply by ε·p^(ε−1), ε ∈ (0, 1).
    case power(epsilon: Double)
    /// Simple mixture: the average of power martingales over ε on a uniform grid of `gridSize` points
    /// in (0, 1) — itself a martingale, and it needs no choice of ε.
    case mixture(gridSize: Int)

    public static let standardMixture = BettingFunction.mixture(gridSize: 100)

    var epsilons: [Double] {
        switch self {
        case .power(let e): return [e]
        case .mixture(let m): return (0..<m).map { (Double($0) + 0.5) / Double(m) }
        }
    }
}

/// A conformal test martingale over p-values that are i.i.d. uniform under exchangeability. By
/// Ville's inequality, P(sup_t M_t ≥ 1/δ) ≤ δ under exchangeability, so crossing 1/δ is an alarm: the
/// coverage guarantee can no longer be claimed. The martingale starts at 1.
public struct ConformalTestMartingale: Codable, Equatable, Sendable {
    public let betting: BettingFunction
    public let delta: Double
    /// log of each component power martingale.
    private var logComponents: [Double]
    public private(set) var logValue: Double = 0
    /// M_t after each observation.
    public private(set) var path: [Double] = []
    /// 0-based index of the observation at which M first reached 1/δ.
    public private(set) var firstAlarmIndex: Int?

    public init(betting: BettingFunction = .standardMixture, delta: Double = 0.01) throws {
        if !(delta > 0 && delta < 1) {
            throw CalibrationError.invalidParameter(name: "delta", value: "\(delta)", reason: "must lie in (0, 1)")
        }
        switch betting {
        case .power(let e) where !(e > 0 && e < 1):
            throw CalibrationError.invalidParameter(name: "epsilon", value: "\(e)", reason: "must lie in (0, 1)")
        case .mixture(let m) where m < 1:
            throw CalibrationError.invalidParameter(name: "gridSize", value: "\(m)", reason: "must be at least 1")
        default: break
        }
        self.betting = betting
        self.delta = delta
        self.logComponents = Array(repeating: 0, count: betting.epsilons.count)
    }

    /// 1/δ.
    public var alarmLevel: Double { 1 / delta }
    public var value: Double { exp(logValue) }
    public var alarmRaised: Bool { firstAlarmIndex != nil }
    public var observationCount: Int { path.count }

    /// Updates with the next p-value (clamped to [1e-300, 1]).
    public mutating func observe(pValue: Double) throws {
        guard pValue.isFinite && pValue >= 0 && pValue <= 1 else {
            throw CalibrationError.notAProbability(field: "p-value", row: path.count, column: 0, value: pValue)
        }
        let lp = log(max(pValue, 1e-300))
        let eps = betting.epsilons
        for j in eps.indices { logComponents[j] += log(eps[j]) + (eps[j] - 1) * lp }
        logValue = Softmax.logSumExp(logComponents) - log(Double(eps.count))
        path.append(exp(logValue))
        if firstAlarmIndex == nil && logValue >= log(alarmLevel) { firstAlarmIndex = path.count - 1 }
    }
}

/// Watches verified labels as they arrive after calibration. Each new case's true-label score gets
/// an online smoothed conformal p-value — its rank among the calibration scores and all earlier
/// verified scores (of its class when class-conditional), ties broken by a seeded θ — and is then
/// added to that bag. Under exchangeability these p-values are independent and uniform, so the
/// martingale over them tests exchangeability; an alarm means the conformal guarantee is void.
public struct ExchangeabilityMonitor: Codable, Equatable, Sendable {
    public let score: ConformityScore
    public let classConditional: Bool
    private var bags: [[Double]]
    private var rng: SeededGenerator
    public private(set) var martingale: ConformalTestMartingale
    public private(set) var pValues: [Double] = []

    public init(predictor: SplitConformalPredictor, betting: BettingFunction = .standardMixture,
                delta: Double = 0.01, seed: UInt64 = 0) throws {
        score = predictor.score
        classConditional = predictor.classConditional
        bags = predictor.sortedCalibrationScores
        rng = SeededGenerator(seed: seed)
        martingale = try ConformalTestMartingale(betting: betting, delta: delta)
    }

    public var value: Double { martingale.value }
    public var path: [Double] { martingale.path }
    public var alarmLevel: Double { martingale.alarmLevel }
    public var alarmRaised: Bool { martingale.alarmRaised }
    public var firstAlarmIndex: Int? { martingale.firstAlarmIndex }

    /// Records one verified case; returns its p-value.
    @discardableResult
    public mutating func observe(probabilities p: [Double], trueLabel y: Int) throws -> Double {
        let k = classConditional ? bags.count : p.count
        if p.count != k && classConditional {
            throw CalibrationError.classCountMismatch(fitted: bags.count, given: p.count)
        }
        guard y >= 0 && y < p.count else { throw CalibrationError.labelOutOfRange(row: pValues.count, label: y, classCount: p.count) }
        for (j, v) in p.enumerated() where !(v >= 0 && v <= 1) {
            throw CalibrationError.notAProbability(field: "probabilities", row: pValues.count, column: j, value: v)
        }
        let u = score.isRandomized ? rng.nextUniform() : 1
        return try observe(score: score.score(probabilities: p, label: y, u: u), trueLabel: y)
    }

    /// Records the nonconformity score of a verified case's true label; returns its p-value.
    @discardableResult
    public mutating func observe(score s: Double, trueLabel y: Int) throws -> Double {
        guard s.isFinite else { throw CalibrationError.nonFinite(field: "score", row: pValues.count, column: 0) }
        let b = classConditional ? y : 0
        guard b >= 0 && b < bags.count else {
            throw CalibrationError.labelOutOfRange(row: pValues.count, label: y, classCount: bags.count)
        }
        let p = ConformalPValue.value(score: s, sortedCalibrationScores: bags[b], theta: rng.nextUniform())
        try martingale.observe(pValue: p)
        bags[b].insert(s, at: ConformalPValue.upperBound(bags[b], s))
        pValues.append(p)
        return p
    }
}
