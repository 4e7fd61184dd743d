import CaseStore
import Foundation
import Policy
import RepeatScan

/// `audit scans CASE`: every scan of one case with its calibrated probability, the pooled
/// probability, disagreement between scans, and the anytime-valid e-process against each class with
/// its claim — counting every scan the store holds for the case. Loads model, calibrator and the
/// repeat-scan fits through `ArtefactLoader`, as `audit run` does.
public struct ScansJob {
    public var store: CaseStore
    public var caseID: String
    /// Model id or unique prefix.
    public var modelId: String
    /// Default: the model's most recently fitted calibrator.
    public var calibratorId: Int64?
    /// Its repeat_scans section sets α, M and the claim construction.
    public var policy: AuditPolicy
    /// Overrides of the policy's claim_alpha and max_scans.
    public var alpha: Double?
    public var maxScans: Int?
    /// Name the next scanner configuration (needs calibration scans that name theirs).
    public var advise = false

    public init(store: CaseStore, caseID: String, modelId: String, policy: AuditPolicy) {
        self.store = store; self.caseID = caseID; self.modelId = modelId; self.policy = policy
    }

    public struct PolicyInfo: Encodable, Sendable {
        public var name: String
        public var sha256: String
        public var claimConstruction: String
        public var merge: String
        public var overridden: [String]
        enum CodingKeys: String, CodingKey {
            case name, sha256, claimConstruction = "claim_construction", merge, overridden
        }
    }

    public struct CalibratorInfo: Encodable, Sendable {
        public var id: Int64?
        public var method: String
        public var study: String
        public var calibrationSplit: String
        public var calibrationN: Int
        public var calibrationSha256: String
        enum CodingKeys: String, CodingKey {
            case id, method, study, calibrationSplit = "calibration_split", calibrationN = "calibration_n"
            case calibrationSha256 = "calibration_sha256"
        }
    }

    public struct Document: Encodable, Sendable {
        public var caseID: String
        public var study: String
        public var modelID: String
        public var calibrator: CalibratorInfo
        public var policy: PolicyInfo
        public var classes: [String]
        public var prevalences: [Double]
        public var prevalenceSource: String
        public var calibrationCasesWithRepeatScans: Int
        public var notes: [String]
        public var assessment: RepeatScanAssessment
        /// With `advise`: what each scanner configuration is worth, fitted on the calibration split.
        public var configurationEvidence: ScanConfigurationEvidence?
        enum CodingKeys: String, CodingKey {
            case caseID = "case_id", study, modelID = "model_id", calibrator, policy, classes, prevalences
            case prevalenceSource = "prevalence_source"
            case calibrationCasesWithRepeatScans = "calibration_cases_with_repeat_scans", notes, assessment
            case configurationEvidence = "configuration_evidence"
        }
    }


    public func run() throws -> Document {
        let loadedPolicy = policy
        let claimAlpha = alpha ?? loadedPolicy.repeatScans.claimAlpha
        let scanLimit = maxScans ?? loadedPolicy.repeatScans.maxScans
        var claimRules = loadedPolicy.repeatScans
        claimRules.claimAlpha = claimAlpha
        claimRules.maxScans = scanLimit
        var overridden: [String] = []
        if alpha != nil { overridden.append("claim_alpha") }
        if maxScans != nil { overridden.append("max_scans") }
        let calibratorID = calibratorId
        // The same loader as `audit run`: model, calibrator, prevalences and repeat-scan fits.
        var notes: [String] = []
        let (caseRecord, caseScans, loaded, calibration, fits) = try store.read { db in
            let loaded = try ArtefactLoader.model(db, id: modelId)
            guard let calibration = try ArtefactLoader.calibration(db, model: loaded, calibratorId: calibratorID) else {
                throw PipelineError.missing("model \(loaded.id) has no fitted calibrator; fit one first")
            }
            let fits = try ArtefactLoader.repeatScans(db, classifier: loaded.classifier, calibration: calibration,
                                                      claimsFor: claimRules, notes: &notes)
            return (try CaseStore.caseRecord(db, id: caseID), try CaseStore.scans(db, caseId: caseID), loaded, calibration, fits)
        }
        guard !caseScans.isEmpty else { throw PipelineError.missing("case '\(caseID)' has no scans") }
        let modelID = loaded.id   // full id, also when --model was a unique prefix
        let calRecord = calibration.record
        guard let fits else {
            throw PipelineError.missing("no verified calibration cases of study \(calRecord.study) in split \(calRecord.calibrationSplit); class prevalences are unknown")
        }
        let prevalences = fits.prevalences
        let (dependence, recalibrator) = (fits.dependence, fits.recalibrator)
        let classes = loaded.classifier.classes

        let perScan = try ArtefactLoader.calibratedProbabilities(caseScans, classifier: loaded.classifier,
                                                                 calibrator: calibration.calibrator)
        let observations = zip(caseScans, perScan).map { s, p in
            ScanObservation(scanID: "\(caseID)#\(s.scanIndex)", acquiredAt: s.acquiredAt,
                            acquisition: s.acquisition.isEmpty ? nil : s.acquisition, probabilities: p)
        }
        if advise && fits.configurations == nil {
            throw PipelineError.missing("no advice for case '\(caseID)': the calibration split's scans do not all name a scanner configuration (acquisition clause \"\(ScanObservation.configurationClause)NAME\")"
                + (notes.isEmpty ? "" : "; " + notes.joined(separator: "; ")))
        }
        let rsPolicy: RepeatScanPolicy
        let assessment: RepeatScanAssessment
        do {
            rsPolicy = try fits.scanPolicy(claimRules, reviewOnOutOfDistribution: true)
            assessment = try RepeatScanAssessment(caseID: caseID, scans: observations, prevalences: prevalences,
                                                  policy: rsPolicy, dependenceModel: dependence,
                                                  recalibrator: recalibrator, calibratedClaims: fits.calibratedClaims,
                                                  configurationEvidence: fits.configurations)
        } catch {
            throw PipelineError.badInput("case '\(caseID)': \(error)")
        }
        let doc = Document(
            caseID: caseID, study: caseRecord.study, modelID: modelID,
            calibrator: CalibratorInfo(id: calRecord.id, method: calRecord.method, study: calRecord.study,
                                       calibrationSplit: calRecord.calibrationSplit,
                                       calibrationN: calRecord.calibrationN,
                                       calibrationSha256: calRecord.calibrationSha256),
            policy: PolicyInfo(name: loadedPolicy.name, sha256: loadedPolicy.sha256,
                               claimConstruction: loadedPolicy.repeatScans.claimConstruction.rawValue,
                               merge: loadedPolicy.repeatScans.merge.rawValue, overridden: overridden),
            classes: classes, prevalences: prevalences,
            prevalenceSource: "verified labels of \(fits.calibrationCases) \(calRecord.calibrationSplit) cases of study \(calRecord.study), add-one smoothed",
            calibrationCasesWithRepeatScans: fits.calibrationLesions, notes: notes, assessment: assessment,
            configurationEvidence: advise ? fits.configurations : nil)
        return doc
    }
}
