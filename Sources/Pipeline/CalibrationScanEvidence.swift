import Calibration
import CaseStore
import Foundation
import RepeatScan

/// The verified cases of a calibrator's calibration split, counted per class, with the calibrated
/// per-scan probabilities of those that have repeat scans: what `audit run` (`RunContext`) and
/// `audit scans` fit the class prevalences, the scan dependence model and the pooled recalibration on.
public struct CalibrationScanEvidence {
    /// Verified cases per class (index = class of `classes`).
    public var counts: [Int]
    /// Verified cases whose label the model does not know (not counted).
    public var unknownLabels: Int
    /// Cases with two or more scans whose probabilities could be computed.
    public var lesions: [CalibrationLesion]
    /// Those of `lesions` whose every scan names its scanner configuration, and the configurations
    /// in the order the calibration scans were taken (by the earliest scan number that used each).
    public var configuredLesions: [ConfiguredCalibrationLesion] = []
    public var configurationNames: [String] = []

    /// The configured lesions when every lesion names its configurations (else nil: the
    /// configurations are not evidence a claim can be standardised with).
    public var configured: (lesions: [ConfiguredCalibrationLesion], names: [String])? {
        !lesions.isEmpty && configuredLesions.count == lesions.count ? (configuredLesions, configurationNames) : nil
    }

    public var total: Int { counts.reduce(0, +) }

    /// Add-one smoothed class prevalences; nil when no verified case has a label the model knows.
    public var prevalences: [Double]? {
        let total = total
        guard total > 0 else { return nil }
        return counts.map { (Double($0) + 1) / Double(total + counts.count) }
    }

    /// Collects the evidence. `probabilities` gives a case's calibrated per-scan probabilities; it is
    /// called only for cases with a known label and repeat scans, may throw (the caller stops) or
    /// return nil (the case counts for prevalences but not as a lesion).
    public static func collect(_ db: StoreReader, study: String, split: Split, classes: [String],
                               probabilities: (CaseRecord, [ScanRecord]) throws -> [[Double]]?) throws
        -> CalibrationScanEvidence {
        var evidence = CalibrationScanEvidence(counts: [Int](repeating: 0, count: classes.count),
                                               unknownLabels: 0, lesions: [])
        var configured: [(Int, [[Double]], [String])] = []
        var firstUse: [String: Int] = [:]
        for c in try CaseStore.cases(db, study: study, split: split) where c.isVerified {
            // Prevalences and the repeat-scan fits rest on these labels: they must be what the log attests.
            try CaseStore.requireAttested(db, [.case(c.id)])
            guard let label = c.label, let y = classes.firstIndex(of: label) else {
                evidence.unknownLabels += 1
                continue
            }
            evidence.counts[y] += 1
            let scans = try CaseStore.scans(db, caseId: c.id)
            if scans.count >= 2 { try CaseStore.requireAttested(db, scans.map { .scan(caseId: c.id, index: $0.scanIndex) }) }
            if scans.count >= 2, let p = try probabilities(c, scans) {
                evidence.lesions.append(CalibrationLesion(label: y, scanProbabilities: p))
                let names = scans.map { ScanObservation.scannerConfiguration(inAcquisition: $0.acquisition) }
                if names.allSatisfy({ $0 != nil }) {
                    configured.append((y, p, names.compactMap { $0 }))
                    for (t, n) in names.compactMap({ $0 }).enumerated() { firstUse[n] = min(firstUse[n] ?? t, t) }
                }
            }
        }
        let order = firstUse.keys.sorted { (firstUse[$0]!, $0) < (firstUse[$1]!, $1) }
        evidence.configurationNames = order
        evidence.configuredLesions = configured.map { y, p, names in
            ConfiguredCalibrationLesion(label: y, scanProbabilities: p, configurations: names.map { order.firstIndex(of: $0)! })
        }
        return evidence
    }
}
