import Foundation

/// Which anytime-valid construction an e-process uses.
public enum EProcessConstruction: String, Sendable, Codable, CaseIterable {
    /// Running likelihood ratio under a shared random-effect model of within-lesion dependence,
    /// fitted on calibration cases with repeat scans; threshold 1/α (Ville's inequality).
    case modelBased = "model-based"
    /// Running maximum of per-scan e-values; threshold M/α for the policy's maximum M scans
    /// (Markov's inequality and a union bound; valid under any dependence).
    case modelFree = "model-free"
    /// The standardised mean evidence against a boundary calibrated by simulation under the fitted
    /// null so the chance of ever crossing within the policy's M scans is ≤ α (`CalibratedBoundary`).
    case calibratedBoundary = "calibrated-boundary"

    /// One-line description for reports.
    public var explanation: String {
        switch self {
        case .modelBased:
            return "running likelihood ratio with the shared lesion effect integrated out, fitted on calibration cases with repeat scans; claim when it reaches 1/α"
        case .modelFree:
            return "running maximum of per-scan e-values; claim when it reaches M/α for at most M scans (valid under any dependence between scans)"
        case .calibratedBoundary:
            return "standardised mean evidence under the dependence model fitted on calibration cases with repeat scans; claim when it reaches a boundary set by simulation so the chance of ever crossing within the policy's M scans is at most α"
        }
    }
}

/// The outcome of an e-process: a claim is made only once the threshold has been reached.
public enum RepeatScanClaim: Sendable, Equatable, Codable {
    /// "Not class `rival`, at level `alpha`", first established after `atScan` scans.
    case notClass(rival: Int, alpha: Double, atScan: Int)
    /// The threshold has not been reached: nothing is claimed about `rival`.
    case notEstablished(rival: Int, alpha: Double)

    public var isEstablished: Bool {
        if case .notClass = self { return true }
        return false
    }

    /// Plain-language statement, with class names if given.
    public func statement(classNames: [String]? = nil) -> String {
        func name(_ j: Int) -> String {
            if let names = classNames, j < names.count { return names[j] }
            return "class \(j)"
        }
        switch self {
        case let .notClass(j, a, t):
            return "not \(name(j)), at level α = \(a) (established at scan \(t))"
        case let .notEstablished(j, _):
            return "not \(name(j)): not established"
        }
    }
}

/// An anytime-valid e-process against one rival class j for one case. It starts at 1, is tied to
/// the case id, is never reset, and counts every scan offered to it exactly once (there is no way to
/// remove a scan). Under "the lesion is of class j" it is a test supermartingale over the scans as
/// they arrive, so the chance that it *ever* reaches its threshold is at most α however the user
/// decides when to stop.
///
/// Assumptions, stated so a report can carry them: the model-based construction is exact when the
/// fitted null model describes class-j lesions (its lesion variance is taken at an upper confidence
/// limit to absorb estimation error) and the stopping decision depends on the scans through the
/// per-scan evidence against j — always so with two classes, where that evidence determines the
/// shown probability. The model-free construction needs neither: only per-scan calibration and at
/// most M counted scans.
public struct CaseEProcess: Sendable, Equatable, Codable {
    public let caseID: String
    public let rival: Int
    public let construction: EProcessConstruction
    public let alpha: Double
    /// Policy maximum number of scans M (the model-free threshold depends on it).
    public let maxScans: Int
    /// Prevalence π_j the per-scan probabilities are calibrated against.
    public let prevalence: Double
    /// Scan ids counted, in order.
    public private(set) var scanIDs: [String] = []
    /// Per-scan log e-value log[(1 − q_j)/(1 − π_j)] − log[q_j/π_j], in order.
    public private(set) var perScanLogEValues: [Double] = []
    /// Log of the e-process after each scan (the value before any scan is 1, log 0).
    public private(set) var logPath: [Double] = []
    /// Number of scans after which the threshold was first reached, if it was.
    public private(set) var firstCrossing: Int?
    /// The fitted dependence model (model-based and calibrated-boundary), for provenance.
    public let dependenceModel: RivalDependenceModel?
    /// The calibrated boundary (calibrated-boundary only).
    public let boundary: CalibratedBoundary?
    /// Calibrated boundary over scans taken under several scanner configurations: each scan's
    /// evidence is standardised by its configuration's null mean and SD before it is pooled.
    public let standardisation: ConfigurationStandardisation?
    /// Index into `standardisation.names` of each counted scan (with a standardisation only).
    public private(set) var scanConfigurations: [Int] = []
    private var standardisedSum = 0.0

    private var likelihoodRatio: RandomEffectLikelihoodRatio?
    private var runningMaximum = RunningMaximumEValue()

    enum CodingKeys: String, CodingKey {
        case caseID = "case_id", rival, construction, alpha, maxScans = "max_scans", prevalence
        case scanIDs = "scan_ids", perScanLogEValues = "per_scan_log_e_values", logPath = "log_path"
        case firstCrossing = "first_crossing", dependenceModel = "dependence_model"
        case threshold, boundary, standardisation, scanConfigurations = "scan_configurations"
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(caseID, forKey: .caseID)
        try c.encode(rival, forKey: .rival)
        try c.encode(construction, forKey: .construction)
        try c.encode(alpha, forKey: .alpha)
        try c.encode(maxScans, forKey: .maxScans)
        try c.encode(prevalence, forKey: .prevalence)
        try c.encode(threshold, forKey: .threshold)
        try c.encode(scanIDs, forKey: .scanIDs)
        try c.encode(perScanLogEValues, forKey: .perScanLogEValues)
        try c.encode(logPath, forKey: .logPath)
        try c.encodeIfPresent(firstCrossing, forKey: .firstCrossing)
        try c.encodeIfPresent(dependenceModel, forKey: .dependenceModel)
        try c.encodeIfPresent(boundary, forKey: .boundary)
        if let standardisation {
            try c.encode(standardisation, forKey: .standardisation)
            try c.encode(scanConfigurations, forKey: .scanConfigurations)
        }
    }

    /// Decoding rebuilds the running state by replaying the stored per-scan e-values, so a decoded
    /// e-process continues exactly where the stored one stopped.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        caseID = try c.decode(String.self, forKey: .caseID)
        rival = try c.decode(Int.self, forKey: .rival)
        construction = try c.decode(EProcessConstruction.self, forKey: .construction)
        alpha = try c.decode(Double.self, forKey: .alpha)
        maxScans = try c.decode(Int.self, forKey: .maxScans)
        prevalence = try c.decode(Double.self, forKey: .prevalence)
        dependenceModel = try c.decodeIfPresent(RivalDependenceModel.self, forKey: .dependenceModel)
        boundary = try c.decodeIfPresent(CalibratedBoundary.self, forKey: .boundary)
        standardisation = try c.decodeIfPresent(ConfigurationStandardisation.self, forKey: .standardisation)
        try CaseEProcess.validate(alpha: alpha, maxScans: maxScans, prevalence: prevalence)
        if construction == .calibratedBoundary && (boundary == nil || dependenceModel == nil) {
            throw DecodingError.dataCorruptedError(forKey: .boundary, in: c,
                debugDescription: "a calibrated-boundary claim needs its boundary and dependence model")
        }
        if construction == .modelBased {
            guard let m = dependenceModel else {
                throw DecodingError.dataCorruptedError(forKey: .dependenceModel, in: c,
                    debugDescription: "a model-based e-process needs its dependence model")
            }
            likelihoodRatio = RandomEffectLikelihoodRatio(null: m.null, alternative: m.alternative)
        } else {
            likelihoodRatio = nil
        }
        let ids = try c.decode([String].self, forKey: .scanIDs)
        let logE = try c.decode([Double].self, forKey: .perScanLogEValues)
        guard ids.count == logE.count else {
            throw DecodingError.dataCorruptedError(forKey: .perScanLogEValues, in: c,
                debugDescription: "\(ids.count) scan ids but \(logE.count) per-scan e-values")
        }
        var configurations: [Int?] = [Int?](repeating: nil, count: ids.count)
        if let standardisation {
            let stored = try c.decode([Int].self, forKey: .scanConfigurations)
            guard stored.count == ids.count, stored.allSatisfy({ standardisation.names.indices.contains($0) }) else {
                throw DecodingError.dataCorruptedError(forKey: .scanConfigurations, in: c,
                    debugDescription: "\(stored.count) scan configurations for \(ids.count) scans, or one outside the \(standardisation.names.count) named")
            }
            configurations = stored
        }
        for i in ids.indices { try append(scanID: ids[i], logEValue: logE[i], configuration: configurations[i]) }
    }

    /// Model-based e-process: needs the dependence model fitted for this rival.
    public init(caseID: String, model: RivalDependenceModel, prevalence: Double,
                alpha: Double, maxScans: Int) throws {
        try CaseEProcess.validate(alpha: alpha, maxScans: maxScans, prevalence: prevalence)
        self.caseID = caseID
        self.rival = model.rival
        self.construction = .modelBased
        self.alpha = alpha
        self.maxScans = maxScans
        self.prevalence = prevalence
        self.dependenceModel = model
        self.boundary = nil
        self.standardisation = nil
        self.likelihoodRatio = RandomEffectLikelihoodRatio(null: model.null, alternative: model.alternative)
    }

    /// Calibrated-boundary claim: the dependence model and the boundary fitted on it for this
    /// policy's α and M.
    public init(caseID: String, model: RivalDependenceModel, boundary: CalibratedBoundary, prevalence: Double,
                alpha: Double, maxScans: Int, standardisation: ConfigurationStandardisation? = nil) throws {
        try CaseEProcess.validate(alpha: alpha, maxScans: maxScans, prevalence: prevalence)
        guard boundary.maxScans == maxScans, boundary.alpha == alpha else {
            throw RepeatScanError.invalidParameter(name: "boundary", value: "M = \(boundary.maxScans), α = \(boundary.alpha)",
                                                   reason: "was set for other limits than M = \(maxScans), α = \(alpha)")
        }
        self.caseID = caseID
        self.rival = model.rival
        self.construction = .calibratedBoundary
        self.alpha = alpha
        self.maxScans = maxScans
        self.prevalence = prevalence
        self.dependenceModel = model
        self.boundary = boundary
        self.standardisation = standardisation
        self.likelihoodRatio = nil
    }

    /// Model-free e-process (no dependence model needed).
    public init(caseID: String, rival: Int, prevalence: Double, alpha: Double, maxScans: Int) throws {
        try CaseEProcess.validate(alpha: alpha, maxScans: maxScans, prevalence: prevalence)
        self.caseID = caseID
        self.rival = rival
        self.construction = .modelFree
        self.alpha = alpha
        self.maxScans = maxScans
        self.prevalence = prevalence
        self.dependenceModel = nil
        self.boundary = nil
        self.standardisation = nil
        self.likelihoodRatio = nil
    }

    static func validate(alpha: Double, maxScans: Int, prevalence: Double) throws {
        guard alpha > 0, alpha < 1 else {
            throw RepeatScanError.invalidParameter(name: "alpha", value: "\(alpha)", reason: "must be in (0, 1)")
        }
        guard maxScans >= 1 else {
            throw RepeatScanError.invalidParameter(name: "maxScans", value: "\(maxScans)", reason: "must be ≥ 1")
        }
        guard prevalence > 0, prevalence < 1 else {
            throw RepeatScanError.invalidParameter(name: "prevalence", value: "\(prevalence)",
                                                   reason: "must be in (0, 1)")
        }
    }

    /// Threshold the e-process must reach: 1/α (model-based) or M/α (model-free); for the
    /// calibrated boundary, the boundary at the current scan (it falls as scans accumulate).
    public var threshold: Double {
        switch construction {
        case .modelBased: return 1 / alpha
        case .modelFree: return Double(maxScans) / alpha
        case .calibratedBoundary: return boundary?.boundary(atScan: min(max(scanCount, 1), maxScans)) ?? .infinity
        }
    }

    public var logThreshold: Double { log(threshold) }

    /// Number of scans counted.
    public var scanCount: Int { scanIDs.count }

    /// Current value of the e-process (1 before any scan; for the model-free construction the
    /// running maximum of per-scan e-values, 0 before any scan is shown as 1).
    /// For the calibrated boundary: the standardised evidence Z after the last scan (0 before any).
    public var value: Double {
        construction == .calibratedBoundary ? (logPath.last ?? 0) : (logPath.last.map(exp) ?? 1)
    }

    /// The e-process path over scans (value after each scan; Z for the calibrated boundary).
    public var path: [Double] { construction == .calibratedBoundary ? logPath : logPath.map(exp) }

    public var claim: RepeatScanClaim {
        if let t = firstCrossing { return .notClass(rival: rival, alpha: alpha, atScan: t) }
        return .notEstablished(rival: rival, alpha: alpha)
    }

    /// Counts one more scan. `probabilityOfRival` is the scan's calibrated probability q_j;
    /// `configuration` its scanner configuration (required when the claim standardises by configuration).
    public mutating func record(scanID: String, probabilityOfRival qj: Double, configuration: String? = nil) throws {
        guard qj.isFinite, qj >= 0, qj <= 1 else {
            throw RepeatScanError.invalidProbabilities(scanID: scanID, field: "probabilities[\(rival)]",
                                                       reason: "value \(qj) is not in [0, 1]")
        }
        guard !scanIDs.contains(scanID) else {
            throw RepeatScanError.duplicateScan(caseID: caseID, scanID: scanID)
        }
        var k: Int?
        if let standardisation {
            guard let name = configuration, let index = standardisation.names.firstIndex(of: name) else {
                throw RepeatScanError.unknownConfiguration(scanID: scanID, configuration: configuration, known: standardisation.names)
            }
            k = index
        }
        try append(scanID: scanID, logEValue: perScanLogEvidence(againstProbability: qj, prevalence: prevalence), configuration: k)
    }

    private mutating func append(scanID: String, logEValue logE: Double, configuration k: Int? = nil) throws {
        guard !scanIDs.contains(scanID) else {
            throw RepeatScanError.duplicateScan(caseID: caseID, scanID: scanID)
        }
        if let standardisation {
            guard let k else {
                throw RepeatScanError.unknownConfiguration(scanID: scanID, configuration: nil, known: standardisation.names)
            }
            scanConfigurations.append(k)
            standardisedSum += standardisation.standardised(logE, configuration: k)
        }
        scanIDs.append(scanID)
        perScanLogEValues.append(logE)
        let logValue: Double
        switch construction {
        case .modelBased:
            guard var lr = likelihoodRatio else {
                throw RepeatScanError.invalidParameter(name: "dependenceModel", value: "nil",
                                                       reason: "model-based e-process has no model")
            }
            logValue = lr.add(logE)
            likelihoodRatio = lr
        case .modelFree:
            logValue = runningMaximum.add(logE)
        case .calibratedBoundary:
            guard let null = dependenceModel?.null else {
                throw RepeatScanError.invalidParameter(name: "dependenceModel", value: "nil", reason: "calibrated-boundary claim has no model")
            }
            let sum = standardisation == nil ? perScanLogEValues.reduce(0, +) : standardisedSum
            logValue = CalibratedBoundary.standardizedMean(sum: sum, count: scanIDs.count, null: null)
        }
        logPath.append(logValue)
        if firstCrossing == nil {
            switch construction {
            case .modelBased: if logValue >= logThreshold { firstCrossing = scanIDs.count }
            // The model-free union bound covers only the first M scans.
            case .modelFree: if scanIDs.count <= maxScans, logValue >= logThreshold { firstCrossing = scanIDs.count }
            // The boundary was set for the first M scans; a later scan cannot earn a claim.
            case .calibratedBoundary:
                // logValue is already Z_t for this construction.
                if let b = boundary, b.crosses(statistic: logValue, count: scanIDs.count) { firstCrossing = scanIDs.count }
            }
        }
    }

    /// Counts one more scan given its full calibrated probability vector.
    public mutating func record(_ scan: ScanObservation) throws {
        guard rival < scan.probabilities.count else {
            throw RepeatScanError.classCountMismatch(scanID: scan.scanID, expected: rival + 1,
                                                     found: scan.probabilities.count)
        }
        try ScanObservation.validateDistribution(scan.probabilities, scanID: scan.scanID)
        try record(scanID: scan.scanID, probabilityOfRival: scan.probabilities[rival], configuration: scan.configuration)
    }
}

/// The sentence every repeat-scan report carries.
public func scansAccountedSentence(_ n: Int) -> String {
    n == 1
        ? "1 scan was taken; the stated confidence accounts for it."
        : "\(n) scans were taken; the stated confidence accounts for all \(n)."
}
