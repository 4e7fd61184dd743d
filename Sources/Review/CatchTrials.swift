import Crypto
import Foundation

/// Catch trials: already-verified cases shown to reviewers with a deliberately wrong answer, at the
/// policy's rate. The choice is a keyed hash of (run, case), so it is reproducible, spread evenly,
/// and not guessable from the case alone; the wrong class is drawn the same way.
public enum CatchTrials {
    /// Whether `caseId` in `runId` becomes a catch trial at `rate`.
    public static func isSelected(runId: String, caseId: String, rate: Double) -> Bool {
        guard rate > 0 else { return false }
        return uniform(runId: runId, caseId: caseId, salt: "select") < rate
    }

    /// The wrong class to present: any class except the verified one.
    public static func wrongClass(runId: String, caseId: String, trueLabel: String, classes: [String]) -> String? {
        let others = classes.filter { $0 != trueLabel }
        guard !others.isEmpty else { return nil }
        let u = uniform(runId: runId, caseId: caseId, salt: "class")
        return others[min(Int(u * Double(others.count)), others.count - 1)]
    }

    /// A keyed uniform draw in [0, 1) for (run, case, purpose).
    public static func uniform(runId: String, caseId: String, salt: String) -> Double {
        let digest = SHA256.hash(data: Data("catch-trial\u{0}\(salt)\u{0}\(runId)\u{0}\(caseId)".utf8))
        let bits = digest.prefix(8).reduce(UInt64(0)) { ($0 << 8) | UInt64($1) }
        return Double(bits >> 11) / Double(1 << 53)
    }
}
