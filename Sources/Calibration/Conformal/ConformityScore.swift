import Foundation

/// Nonconformity scores for split conformal classification (larger = stranger).
///
/// With labels ordered by decreasing probability (ties: lower index first), C_before(y) the sum of the
/// probabilities ranked above y, o(y) its 1-based rank and u ∈ [0, 1] one uniform draw per case:
/// - LAC (Sadinle et al. 2019): s = 1 − p_y.
/// - APS (Romano et al. 2020): s = C_before(y) + u·p_y; the non-randomised form takes u = 1 (the
///   cumulative mass up to and including y).
/// - RAPS (Angelopoulos et al. 2021): the APS score + λ·max(0, o(y) − k_reg).
/// The prediction set is {y : s(x, y, u) ≤ q̂}, so a case's true label is covered exactly when its
/// score is at most the threshold — the event the guarantee is about.
public enum ConformityScore: Codable, Hashable, Sendable, CustomStringConvertible {
    case lac
    case aps(randomized: Bool)
    case raps(lambda: Double, kReg: Int, randomized: Bool)

    /// Short stored name: "lac", "aps", "raps".
    public var name: String {
        switch self {
        case .lac: return "lac"
        case .aps: return "aps"
        case .raps: return "raps"
        }
    }

    public var isRandomized: Bool {
        switch self {
        case .lac: return false
        case .aps(let r), .raps(_, _, let r): return r
        }
    }

    public var description: String {
        switch self {
        case .lac: return "LAC"
        case .aps(let r): return r ? "APS (randomised)" : "APS"
        case .raps(let l, let k, let r): return "RAPS (λ = \(l), k_reg = \(k)\(r ? ", randomised" : ""))"
        }
    }

    func validate() throws {
        if case .raps(let lambda, let kReg, _) = self {
            if !(lambda >= 0 && lambda.isFinite) {
                throw CalibrationError.invalidParameter(name: "lambda", value: "\(lambda)", reason: "must be finite and ≥ 0")
            }
            if kReg < 0 {
                throw CalibrationError.invalidParameter(name: "kReg", value: "\(kReg)", reason: "must be ≥ 0")
            }
        }
    }

    /// Scores of every label for one case. `u` is ignored unless the score is randomised.
    public func scores(probabilities p: [Double], u: Double) -> [Double] {
        switch self {
        case .lac:
            return p.map { 1 - $0 }
        case .aps(let randomized):
            return cumulativeScores(p, u: randomized ? u : 1, lambda: 0, kReg: 0)
        case .raps(let lambda, let kReg, let randomized):
            return cumulativeScores(p, u: randomized ? u : 1, lambda: lambda, kReg: kReg)
        }
    }

    /// Score of one label.
    public func score(probabilities p: [Double], label: Int, u: Double) -> Double {
        scores(probabilities: p, u: u)[label]
    }

    private func cumulativeScores(_ p: [Double], u: Double, lambda: Double, kReg: Int) -> [Double] {
        let order = p.indices.sorted { p[$0] > p[$1] || (p[$0] == p[$1] && $0 < $1) }
        var out = Array(repeating: 0.0, count: p.count)
        var before = 0.0
        for (rank0, j) in order.enumerated() {
            let penalty = lambda * Double(max(0, rank0 + 1 - kReg))
            out[j] = (u == 1 ? before + p[j] : before + u * p[j]) + penalty
            before += p[j]
        }
        return out
    }
}
