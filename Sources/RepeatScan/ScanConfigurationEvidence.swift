import Foundation
import Calibration

/// A calibration lesion whose scans were each acquired under a known scanner configuration
/// (an illumination setting), in acquisition order.
public struct ConfiguredCalibrationLesion: Sendable, Equatable {
    public var label: Int
    public var scanProbabilities: [[Double]]
    /// Index into `ScanConfigurationEvidence.names` for each scan.
    public var configurations: [Int]
    public init(label: Int, scanProbabilities: [[Double]], configurations: [Int]) {
        self.label = label
        self.scanProbabilities = scanProbabilities
        self.configurations = configurations
    }
}

/// What each scanner configuration is worth as evidence, fitted on calibration lesions scanned under
/// known configurations.
///
/// Configurations differ in how much a scan says: the per-scan log e-value against class j,
/// u_j = log[(1 − q_j)/(1 − π_j)] − log[q_j/π_j], has its own mean and spread under each
/// configuration. Claims therefore pool the *standardised* evidence w_j = (u_j − m_kj)/s_kj, where
/// m_kj and s_kj are u_j's mean and SD over class-j calibration scans under configuration k. Under
/// "the lesion is of class j" every w_j then has mean 0 and variance 1 whichever configuration
/// produced it, so a configuration chosen from the scans already taken (a predictable choice) leaves
/// the null distribution of the claim's statistic as it is, and the claim keeps its level. A choice
/// that looks at the scan being counted does not: it selects the scans that look best.
///
/// The advisor's figure per configuration and class c is the expected growth, per scan, of the
/// standardised evidence toward c's claims (against every other class), averaged over those claims.
public struct ScanConfigurationEvidence: Sendable, Equatable, Codable {
    public struct Profile: Sendable, Equatable, Codable {
        public var name: String
        /// Calibration scans per class under this configuration.
        public var scanCounts: [Int]
        /// Mean per-scan log e-value toward class c's claims over class-c scans (E log e, per class).
        public var logEValueGrowth: [Double]
        /// Mean standardised evidence toward class c's claims over class-c scans.
        public var standardisedGrowth: [Double]
        /// m_kj and s_kj: mean and SD of u_j over class-j scans under this configuration. m_kj is
        /// taken at its upper confidence limit (`nullMeanConfidence`, standard error over lesions), so
        /// that an advisor which keeps choosing one configuration does not inherit that
        /// configuration's estimation error as extra evidence.
        public var nullMeans: [Double]
        public var nullSDs: [Double]
        /// What was added to each point estimate of m_kj.
        public var nullMeanMargins: [Double]

        enum CodingKeys: String, CodingKey {
            case name, scanCounts = "scan_counts", logEValueGrowth = "log_e_value_growth"
            case standardisedGrowth = "standardised_growth", nullMeans = "null_means", nullSDs = "null_sds"
            case nullMeanMargins = "null_mean_margins"
        }
    }

    public var prevalences: [Double]
    public var profiles: [Profile]
    /// The dependence model of the standardised evidence (null lesion variance at its upper limit):
    /// what a calibrated boundary over configured scans is fitted on.
    public var standardisedDependence: ScanDependenceModel

    enum CodingKeys: String, CodingKey {
        case prevalences, profiles, standardisedDependence = "standardised_dependence"
    }

    public var names: [String] { profiles.map(\.name) }

    /// Fewest class-j calibration scans a configuration needs for its standardisation.
    public static let minimumScansPerClass = 10
    /// Confidence of the upper limit on each configuration's null mean.
    public static let nullMeanConfidence = 0.9

    public static func fit(calibration: [ConfiguredCalibrationLesion], names: [String], prevalences: [Double],
                           nullLesionVarianceConfidence: Double? = CalibratedBoundary.nullLesionVarianceConfidence) throws
        -> ScanConfigurationEvidence {
        try ScanDependenceModel.validatePrevalences(prevalences)
        let c = prevalences.count, k = names.count
        guard k >= 1 else {
            throw RepeatScanError.insufficientCalibrationData(what: "scan configurations", reason: "no configurations named")
        }
        for (i, lesion) in calibration.enumerated() {
            guard lesion.label >= 0, lesion.label < c else {
                throw RepeatScanError.invalidParameter(name: "calibration[\(i)].label", value: "\(lesion.label)", reason: "must be in 0..<\(c)")
            }
            guard lesion.configurations.count == lesion.scanProbabilities.count else {
                throw RepeatScanError.invalidParameter(name: "calibration[\(i)].configurations", value: "\(lesion.configurations.count)",
                                                       reason: "one configuration per scan (\(lesion.scanProbabilities.count) scans)")
            }
            for (t, p) in lesion.scanProbabilities.enumerated() {
                guard p.count == c else {
                    throw RepeatScanError.classCountMismatch(scanID: "calibration[\(i)].scan[\(t)]", expected: c, found: p.count)
                }
                try ScanObservation.validateDistribution(p, scanID: "calibration[\(i)].scan[\(t)]")
                guard (0..<k).contains(lesion.configurations[t]) else {
                    throw RepeatScanError.invalidParameter(name: "calibration[\(i)].configurations[\(t)]",
                                                           value: "\(lesion.configurations[t])", reason: "must be in 0..<\(k)")
                }
            }
        }
        // u[j][k][class]: per-scan log e-values against j under configuration k, by true class.
        var sums = [[[Double]]](repeating: [[Double]](repeating: [Double](repeating: 0, count: c), count: k), count: c)
        var squares = sums
        var counts = [[Int]](repeating: [Int](repeating: 0, count: c), count: k)
        // Per configuration, the lesion means of u_j over class-j lesions (for the null means' standard errors).
        var lesionMeans = [[[Double]]](repeating: [[Double]](repeating: [], count: c), count: k)
        for lesion in calibration {
            var own = [Double](repeating: 0, count: k), ownCount = [Int](repeating: 0, count: k)
            for (t, p) in lesion.scanProbabilities.enumerated() {
                let cfg = lesion.configurations[t]
                counts[cfg][lesion.label] += 1
                for j in 0..<c {
                    let u = perScanLogEvidence(againstProbability: p[j], prevalence: prevalences[j])
                    sums[j][cfg][lesion.label] += u
                    squares[j][cfg][lesion.label] += u * u
                    if j == lesion.label { own[cfg] += u; ownCount[cfg] += 1 }
                }
            }
            for cfg in 0..<k where ownCount[cfg] > 0 { lesionMeans[cfg][lesion.label].append(own[cfg] / Double(ownCount[cfg])) }
        }
        let z = normalQuantile(nullMeanConfidence)
        var profiles: [Profile] = []
        for cfg in 0..<k {
            var means = [Double](), sds = [Double](), margins = [Double]()
            for j in 0..<c {
                let n = counts[cfg][j]
                guard n >= minimumScansPerClass else {
                    throw RepeatScanError.insufficientCalibrationData(
                        what: "scan configuration \"\(names[cfg])\"",
                        reason: "\(n) calibration scans of class \(j), need at least \(minimumScansPerClass)")
                }
                let m = sums[j][cfg][j] / Double(n)
                let v = (squares[j][cfg][j] - Double(n) * m * m) / Double(n - 1)
                guard v > 0, v.isFinite else {
                    throw RepeatScanError.insufficientCalibrationData(what: "scan configuration \"\(names[cfg])\"",
                                                                      reason: "class-\(j) evidence does not vary")
                }
                let groups = lesionMeans[cfg][j]
                var margin = 0.0
                if groups.count >= 2 {
                    let gm = groups.reduce(0, +) / Double(groups.count)
                    let gv = groups.map { ($0 - gm) * ($0 - gm) }.reduce(0, +) / Double(groups.count - 1)
                    margin = z * (gv / Double(groups.count)).squareRoot()
                }
                means.append(m + margin); sds.append(v.squareRoot()); margins.append(margin)
            }
            var raw = [Double](), standard = [Double]()
            for cls in 0..<c {
                let n = Double(counts[cfg][cls])
                var r = 0.0, s = 0.0
                for j in 0..<c where j != cls {
                    let mean = sums[j][cfg][cls] / n
                    r += mean
                    s += (mean - means[j]) / sds[j]
                }
                let rivals = Double(max(1, c - 1))
                raw.append(r / rivals); standard.append(s / rivals)
            }
            profiles.append(Profile(name: names[cfg], scanCounts: counts[cfg], logEValueGrowth: raw, standardisedGrowth: standard,
                                    nullMeans: means, nullSDs: sds, nullMeanMargins: margins))
        }
        let partial = ScanConfigurationEvidence(prevalences: prevalences, profiles: profiles,
                                                standardisedDependence: try ScanDependenceModel(prevalences: prevalences, rivals: []))
        var rivals: [RivalDependenceModel] = []
        for j in 0..<c {
            var nullGroups: [[Double]] = [], altGroups: [[Double]] = []
            for lesion in calibration {
                let w = zip(lesion.scanProbabilities, lesion.configurations).map { p, cfg in
                    partial.standardised(perScanLogEvidence(againstProbability: p[j], prevalence: prevalences[j]),
                                         configuration: cfg, rival: j)
                }
                if lesion.label == j { nullGroups.append(w) } else { altGroups.append(w) }
            }
            // The null mean stays 0: each configuration's standardised null mean is ≤ 0 at the
            // upper limits of m_kj, and refitting it over the pooled scans would hand back the margins.
            var null = try RandomEffectParameters.fit(lesions: nullGroups, what: "standardised dependence model for class \(j)",
                                                      lesionVarianceConfidence: nullLesionVarianceConfidence)
            null.mean = 0
            rivals.append(RivalDependenceModel(
                rival: j,
                null: null,
                alternative: try RandomEffectParameters.fit(lesions: altGroups,
                                                            what: "standardised dependence model for classes other than \(j)")))
        }
        return ScanConfigurationEvidence(prevalences: prevalences, profiles: profiles,
                                         standardisedDependence: try ScanDependenceModel(prevalences: prevalences, rivals: rivals))
    }

    /// w_j = (u_j − m_kj) / s_kj for a scan under configuration k.
    public func standardised(_ u: Double, configuration k: Int, rival j: Int) -> Double {
        ConfigurationStandardisation.standardise(u, mean: profiles[k].nullMeans[j], sd: profiles[k].nullSDs[j])
    }

    /// Standardised evidence against `rival` of a scan with calibrated probabilities `p`.
    public func standardisedEvidence(probabilities p: [Double], configuration k: Int, rival j: Int) -> Double {
        standardised(perScanLogEvidence(againstProbability: p[j], prevalence: prevalences[j]), configuration: k, rival: j)
    }

    /// What a claim against `rival` standardises each configuration's evidence with.
    public func standardisation(rival j: Int) -> ConfigurationStandardisation {
        ConfigurationStandardisation(names: names, means: profiles.map { $0.nullMeans[j] }, sds: profiles.map { $0.nullSDs[j] })
    }

    /// Index of a configuration by name.
    public func index(of name: String) -> Int? { profiles.firstIndex { $0.name == name } }
}

/// One rival's per-configuration null means and SDs (`ScanConfigurationEvidence.standardisation(rival:)`).
public struct ConfigurationStandardisation: Sendable, Equatable, Codable {
    public var names: [String]
    public var means: [Double]
    public var sds: [Double]

    public func standardised(_ u: Double, configuration k: Int) -> Double { Self.standardise(u, mean: means[k], sd: sds[k]) }

    @inline(__always)
    public static func standardise(_ u: Double, mean: Double, sd: Double) -> Double { (u - mean) / sd }
}

/// The configuration to scan under next, and why.
public struct NextScanAdvice: Sendable, Equatable, Codable {
    /// Index and name of the advised configuration.
    public var configuration: Int
    public var name: String
    /// Class weights the growths were averaged with: the mean calibrated probabilities of the scans
    /// so far (the prevalences before any scan).
    public var classWeights: [Double]
    /// Expected standardised evidence growth of one more scan, per configuration.
    public var expectedGrowth: [Double]
    public var scansSoFar: Int

    enum CodingKeys: String, CodingKey {
        case configuration, name, classWeights = "class_weights", expectedGrowth = "expected_growth"
        case scansSoFar = "scans_so_far"
    }
}

/// Chooses the configuration with the largest expected growth of evidence toward the class the
/// scans so far point to: Σ_c w_c · g_kc with w the mean calibrated probabilities of those scans.
/// It reads only scans already counted, so the claims stay valid (see `ScanConfigurationEvidence`).
public struct NextScanAdvisor: Sendable, Equatable {
    public let evidence: ScanConfigurationEvidence

    public init(evidence: ScanConfigurationEvidence) { self.evidence = evidence }

    /// Advice after the scans so far (calibrated probability vectors, in order).
    public func advise(after scans: [[Double]]) -> NextScanAdvice {
        let c = evidence.prevalences.count
        var weights = evidence.prevalences
        if !scans.isEmpty {
            weights = [Double](repeating: 0, count: c)
            for p in scans { for i in 0..<min(c, p.count) { weights[i] += p[i] / Double(scans.count) } }
        }
        return advise(classWeights: weights, scansSoFar: scans.count)
    }

    public func advise(classWeights weights: [Double], scansSoFar: Int) -> NextScanAdvice {
        let growth = evidence.profiles.map { profile in
            zip(weights, profile.standardisedGrowth).reduce(0) { $0 + $1.0 * $1.1 }
        }
        var best = 0
        for k in growth.indices where growth[k] > growth[best] { best = k }
        return NextScanAdvice(configuration: best, name: evidence.profiles[best].name, classWeights: weights,
                              expectedGrowth: growth, scansSoFar: scansSoFar)
    }
}
