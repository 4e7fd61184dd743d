import Foundation

/// One scan of a case as RepeatScan sees it: the calibrated per-scan class probabilities plus what a
/// report must show about the scan (when, under which acquisition) and, where retrieval ran, whether
/// the scan looked out of distribution (a motion-artefact scan should stand out).
public struct ScanObservation: Sendable, Equatable, Codable {
    public var scanID: String
    /// Acquisition time as stored (RFC 3339 text), if known.
    public var acquiredAt: String?
    /// Acquisition description (illumination, device, protocol), if known.
    public var acquisition: String?
    /// Calibrated class probabilities for this scan alone.
    public var probabilities: [Double]
    /// Out-of-distribution mark from retrieval; `nil` when retrieval did not run.
    public var outOfDistribution: Bool?

    public init(scanID: String, acquiredAt: String? = nil, acquisition: String? = nil,
                probabilities: [Double], outOfDistribution: Bool? = nil) {
        self.scanID = scanID
        self.acquiredAt = acquiredAt
        self.acquisition = acquisition
        self.probabilities = probabilities
        self.outOfDistribution = outOfDistribution
    }

    enum CodingKeys: String, CodingKey {
        case scanID = "scan_id", acquiredAt = "acquired_at", acquisition, probabilities
        case outOfDistribution = "out_of_distribution"
    }

    /// The scanner configuration the scan was acquired under, from its acquisition text.
    public var configuration: String? { acquisition.flatMap(Self.scannerConfiguration(inAcquisition:)) }

    /// The clause that names a scan's scanner configuration in its acquisition text: clauses are
    /// separated by "; ", and this one reads "scanner configuration: NAME".
    public static let configurationClause = "scanner configuration: "

    /// NAME from a "scanner configuration: NAME" clause of an acquisition text, if there is one.
    public static func scannerConfiguration(inAcquisition text: String) -> String? {
        for clause in text.components(separatedBy: ";") {
            let c = clause.trimmingCharacters(in: .whitespaces)
            if c.hasPrefix(configurationClause) {
                let name = c.dropFirst(configurationClause.count).trimmingCharacters(in: .whitespaces)
                return name.isEmpty ? nil : name
            }
        }
        return nil
    }

    /// Checks that the probabilities form a distribution over `classCount` classes.
    public func validate(classCount: Int) throws {
        guard probabilities.count == classCount else {
            throw RepeatScanError.classCountMismatch(scanID: scanID, expected: classCount,
                                                     found: probabilities.count)
        }
        try ScanObservation.validateDistribution(probabilities, scanID: scanID)
    }

    static func validateDistribution(_ p: [Double], scanID: String) throws {
        guard p.count >= 2 else {
            throw RepeatScanError.invalidProbabilities(scanID: scanID, field: "probabilities",
                                                       reason: "need at least 2 classes, found \(p.count)")
        }
        var sum = 0.0
        for (c, v) in p.enumerated() {
            guard v.isFinite, v >= 0, v <= 1 else {
                throw RepeatScanError.invalidProbabilities(
                    scanID: scanID, field: "probabilities[\(c)]", reason: "value \(v) is not in [0, 1]")
            }
            sum += v
        }
        guard abs(sum - 1) <= 1e-3 else {
            throw RepeatScanError.invalidProbabilities(scanID: scanID, field: "probabilities",
                                                       reason: "values sum to \(sum), not 1")
        }
    }
}

/// Numerical floor for probabilities entering logarithms: a calibrated probability of exactly 0 or 1
/// would make an e-value infinite, which no finite calibration set can justify.
public let repeatScanProbabilityFloor = 1e-9

@inline(__always)
func clampProbability(_ p: Double) -> Double {
    min(max(p, repeatScanProbabilityFloor), 1 - repeatScanProbabilityFloor)
}

/// Per-scan evidence against class `rival`: the log of the calibrated likelihood ratio
/// p(x | not rival) / p(x | rival) = [(1 − q_j)/(1 − π_j)] / [q_j / π_j]. With two classes this is
/// log[(q_k/π_k)/(q_j/π_j)]. Its exponential is an e-value under "the lesion is of class j" when the
/// per-scan probabilities are calibrated relative to prevalences π.
@inline(__always)
public func perScanLogEvidence(againstProbability qj: Double, prevalence pij: Double) -> Double {
    let q = clampProbability(qj)
    return log((1 - q) / (1 - pij)) - log(q / pij)
}
