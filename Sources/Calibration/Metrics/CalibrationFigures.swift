import Foundation

/// Every calibration figure for one probability matrix, each with its provenance: the top-label ECE
/// with its bins, bootstrap interval and noise floor; MCE; class-wise ECE; NLL, Brier and accuracy with
/// bootstrap intervals.
public struct CalibrationFigures: Codable, Equatable, Sendable {
    public struct Figure: Codable, Equatable, Sendable {
        public let value: Double
        public let interval: ConfidenceInterval
    }

    public let sampleCount: Int
    public let classCount: Int
    public let ece: CalibrationErrorEstimate
    public let eceInterval: ConfidenceInterval
    public let eceNoiseFloor: ECENoiseFloor
    public let mce: Double
    public let classwiseECE: Double
    public let nll: Figure
    public let brier: Figure
    public let accuracy: Figure

    public init(probabilities p: [[Double]], labels y: [Int], scheme: BinningScheme = .standard,
                bootstrapReplicates: Int = 1000, noiseSimulations: Int = 500, seed: UInt64 = 0) throws {
        let k = try InputValidation.probabilities(p)
        try InputValidation.labels(y, rowCount: p.count, classCount: k)
        sampleCount = p.count
        classCount = k
        ece = try CalibrationErrorEstimate.topLabel(probabilities: p, labels: y, scheme: scheme)
        mce = ece.mce
        classwiseECE = try ClasswiseCalibrationError(probabilities: p, labels: y, scheme: scheme).value
        let (conf, correct) = topLabelOutcomes(p, y)
        eceNoiseFloor = try ECENoiseFloor(confidences: conf, scheme: scheme, simulations: noiseSimulations, seed: seed)

        // Equal-width bins do not move under resampling, so reuse each case's bin.
        let fixed: [Int]? = { if case .equalWidth = scheme { return scheme.assign(conf) } else { return nil } }()
        eceInterval = try Bootstrap.percentileInterval(count: p.count, replicates: bootstrapReplicates, seed: seed &+ 1) { idx in
            let c = idx.map { conf[$0] }, o = idx.map { correct[$0] }
            let a = fixed.map { f in idx.map { f[$0] } } ?? scheme.assign(c)
            return CalibrationErrorEstimate(confidences: c, outcomes: o, assignment: a, scheme: scheme, target: .topLabel).ece
        }
        nll = Figure(value: ScoringRules.nll(p, y, indices: p.indices),
                     interval: try Bootstrap.percentileInterval(count: p.count, replicates: bootstrapReplicates, seed: seed &+ 2) {
                         ScoringRules.nll(p, y, indices: $0) })
        brier = Figure(value: ScoringRules.brier(p, y, indices: p.indices),
                       interval: try Bootstrap.percentileInterval(count: p.count, replicates: bootstrapReplicates, seed: seed &+ 3) {
                           ScoringRules.brier(p, y, indices: $0) })
        accuracy = Figure(value: ScoringRules.accuracy(p, y, indices: p.indices),
                          interval: try Bootstrap.percentileInterval(count: p.count, replicates: bootstrapReplicates, seed: seed &+ 4) {
                              ScoringRules.accuracy(p, y, indices: $0) })
    }
}
