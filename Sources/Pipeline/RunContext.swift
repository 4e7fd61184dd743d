import Calibration
import CaseStore
import Foundation
import Policy
import Recurrent
import RepeatScan
import Retrieval

/// Everything `audit run` loads once before assessing cases: the model, its calibrator and conformal
/// predictor, the prevalences and repeat-scan dependence model fitted on calibration cases, and the
/// retrieval index with its deep-kNN calibration. A part that is absent stays nil and every check that
/// needs it reports "not evaluated" — nothing is filled in.
public struct RunContext {
    public var study: Study
    public var policy: AuditPolicy
    public var model: LoadedModel?
    public var calibration: LoadedCalibration?
    public var repeatScans: RepeatScanContext?
    public var retrieval: RetrievalContext?
    /// Why a stage is missing (shown in reports and the run summary).
    public var notes: [String]
    /// Result of verifying the audit log before the run (nil when not checked).
    public var logVerified: Bool?

    public struct LoadedModel {
        public var id: String
        public var classifier: SequenceClassifier
        /// The study the model was trained or registered for (nil: none named).
        public var study: String?
    }

    public struct LoadedCalibration {
        public var record: CalibratorRecord
        public var calibrator: AnyCalibrator
        public var predictor: SplitConformalPredictor
        /// Days between fitting and the run's reference time.
        public var ageDays: Double?
        /// The model against the model-free baseline at fitting time (nil: not compared).
        public var baseline: BaselineComparison?
        public var label: String { "\(record.method) #\(record.id.map(String.init) ?? "?")" }
    }

    public struct RepeatScanContext {
        public var prevalences: [Double]
        public var dependence: ScanDependenceModel?
        /// Fitted only when the policy's claim construction is calibrated-boundary.
        public var calibratedClaims: CalibratedClaimModel?
        public var recalibrator: PooledRecalibrator?
        /// Per-configuration evidence, when every calibration scan names its scanner configuration.
        public var configurations: ScanConfigurationEvidence?
        public var calibrationLesions: Int
        /// Verified calibration cases whose labels the model knows (the prevalences' denominator).
        public var calibrationCases: Int

        /// The construction a policy's claims are made with here: the one it names when its fits
        /// exist, else the model-free one with a note saying why.
        public func construction(for rules: AuditPolicy.RepeatScanRules) -> (EProcessConstruction, note: String?) {
            switch rules.claimConstruction {
            case .modelBased where dependence != nil: return (.modelBased, nil)
            case .calibratedBoundary where calibratedClaims != nil: return (.calibratedBoundary, nil)
            case .modelFree: return (.modelFree, nil)
            default:
                return (.modelFree, "the \(rules.claimConstruction.rawValue) claim needs calibration cases with repeat scans; the model-free construction (threshold M/α) is used")
            }
        }

        /// The repeat-scan policy for one case under `rules`: α, M, and — when the calibration scans
        /// name scanner configurations — the configuration rule, stopping rule and deciding construction.
        public func scanPolicy(_ rules: AuditPolicy.RepeatScanRules, reviewOnOutOfDistribution: Bool) throws -> RepeatScanPolicy {
            var p = try RepeatScanPolicy(alpha: rules.claimAlpha, maxScans: rules.maxScans, reviewOnOutOfDistribution: reviewOnOutOfDistribution)
            if configurations != nil {
                p.nextConfiguration = NextConfigurationRule(rawValue: rules.nextConfiguration.rawValue)
                p.stoppingRule = StoppingRule(rawValue: rules.stoppingRule.rawValue)
                p.claimConstruction = construction(for: rules).0
            }
            return p
        }
    }

    public struct RetrievalContext {
        public var index: EmbeddingIndex
        public var calibration: DeepKNNCalibration
        public var options: SearchOptions
    }

    /// Loads the context for `study` under `modelId` (nil: no model — every model stage "not evaluated").
    public static func load(_ db: StoreReader, study name: String, policy: AuditPolicy, modelId: String?,
                            k: Int = 10, metric: DistanceMetric = .euclidean, referenceSplits: [Split] = [.reference, .train],
                            now: Date = Date()) throws -> RunContext {
        let study = try CaseStore.study(db, named: name)
        var context = RunContext(study: study, policy: policy, model: nil, calibration: nil, repeatScans: nil,
                                 retrieval: nil, notes: [], logVerified: nil)
        guard let modelId else {
            context.notes.append("no model is registered for study \(name): prediction, calibration, retrieval and repeat-scan stages were not evaluated")
            return context
        }
        let model = try ArtefactLoader.model(db, id: modelId)
        let classifier = model.classifier
        context.model = model

        if let calibration = try ArtefactLoader.calibration(db, model: model, now: now) {
            context.calibration = calibration
            context.repeatScans = try ArtefactLoader.repeatScans(db, classifier: classifier, calibration: calibration,
                                                                 claimsFor: policy.repeatScans, notes: &context.notes)
        } else {
            context.notes.append("model \(modelId.prefix(12))… has no fitted calibrator: calibrated confidence, conformal sets and repeat-scan claims were not evaluated")
        }

        context.retrieval = try ArtefactLoader.retrieval(db, study: study, modelId: modelId, classifier: classifier,
                                              calibration: context.calibration, k: k, metric: metric,
                                              referenceSplits: referenceSplits, notes: &context.notes)
        return context
    }
}
