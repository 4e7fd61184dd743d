import Foundation

/// Running log likelihood ratio log p(u₁…u_t | not j) − log p(u₁…u_t | j) with the lesion effect
/// integrated out under both hypotheses. Under the null model it is the log of a test martingale
/// (a ratio of joint densities of the data seen so far), so by Ville's inequality the chance it
/// ever reaches log(1/α) is at most α whatever the stopping rule based on these scans.
/// O(1) per scan: keeps only Σu, Σu² and the count.
public struct RandomEffectLikelihoodRatio: Sendable, Equatable, Codable {
    public let null: RandomEffectParameters
    public let alternative: RandomEffectParameters
    public private(set) var count = 0
    public private(set) var sum = 0.0
    public private(set) var sumOfSquares = 0.0
    /// Current log e-process value (0 before any scan).
    public private(set) var logValue = 0.0

    public init(null: RandomEffectParameters, alternative: RandomEffectParameters) {
        self.null = null
        self.alternative = alternative
    }

    /// Adds one scan's statistic and returns the new log value.
    @discardableResult
    public mutating func add(_ u: Double) -> Double {
        count += 1
        sum += u
        sumOfSquares += u * u
        logValue = alternative.logMarginalLikelihood(sum: sum, sumOfSquares: sumOfSquares, count: count)
            - null.logMarginalLikelihood(sum: sum, sumOfSquares: sumOfSquares, count: count)
        return logValue
    }
}

/// Running maximum of per-scan log e-values, compared with log(M/α) for a policy maximum of M
/// scans. Each per-scan e-value has expectation ≤ 1 under the null on its own, so by Markov and a
/// union bound over the M scans the chance that any of them reaches M/α is at most α, under any
/// dependence between scans and any stopping rule — provided no more than M scans are ever counted.
public struct RunningMaximumEValue: Sendable, Equatable, Codable {
    public private(set) var count = 0
    public private(set) var logValue = -Double.infinity

    public init() {}

    @discardableResult
    public mutating func add(_ logE: Double) -> Double {
        count += 1
        logValue = max(logValue, logE)
        return logValue
    }
}

/// The plain product of per-scan ratios Π (q_k/π_k)/(q_j/π_j). A test martingale only when scans
/// are conditionally independent given the class; with a shared lesion effect it is not, and
/// shopping with it inflates false claims. Kept for comparison in simulations, never for claims.
public struct IndependentProductEValue: Sendable, Equatable, Codable {
    public private(set) var count = 0
    public private(set) var logValue = 0.0

    public init() {}

    @discardableResult
    public mutating func add(_ logE: Double) -> Double {
        count += 1
        logValue += logE
        return logValue
    }
}
