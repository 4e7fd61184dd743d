import CaseStore
import Foundation
import GRDB
import Policy
import Reports
import Review

/// Plants catch trials at the policy's rate: already-verified cases of the study, assessed like any
/// other case but presented with a deliberately wrong answer. They are marked only in `catch_trials`;
/// the reviewer's queue and report cannot tell them apart, and sign-off reveals them.
struct CatchTrialPlanter {
    let assessor: EvidenceAssessor
    let renderer: ReportRenderer
    let rate: Double

    /// Expected count rate × (cases awaiting review), rounded by a keyed draw so the rate holds on average.
    func plant(_ db: Database, runId: String, study: String, regular: [AssessmentRecord]) throws -> [CaseOutcome] {
        guard rate > 0, let classes = assessor.context.model?.classifier.classes, classes.count > 1 else { return [] }
        let awaiting = regular.filter { ["review", "second-review", "escalate"].contains($0.disposition) }.count
        let expected = rate * Double(awaiting)
        let count = Int(expected) + (CatchTrials.uniform(runId: runId, caseId: "", salt: "count") < expected - Double(Int(expected)) ? 1 : 0)
        guard count > 0 else { return [] }
        let inRun = Set(regular.map(\.caseId))
        let candidates = try CaseStore.cases(db, study: study).filter {
            $0.isVerified && !inRun.contains($0.id) && ($0.split == .test || $0.split == .reference)
        }.sorted {
            (CatchTrials.uniform(runId: runId, caseId: $0.id, salt: "order"), $0.id) < (CatchTrials.uniform(runId: runId, caseId: $1.id, salt: "order"), $1.id)
        }
        var outcomes: [CaseOutcome] = []
        for c in candidates.prefix(count) {
            guard let truth = c.label,
                  let wrong = CatchTrials.wrongClass(runId: runId, caseId: c.id, trueLabel: truth, classes: classes) else { continue }
            let real = try assessor.assess(db, caseRecord: c, position: -1, runId: runId, feedsDriftMonitor: false)
            var assessment = try Assessment.decode(real.assessmentJSON)
            guard let shown = assessment.details["report_model"] else { continue }
            var model = try JSONDecoder().decode(CaseReportModel.self, from: try JSONEncoder().encode(shown))
            guard let prediction = model.prediction else { continue }
            model.prediction = Self.present(wrong, instead: prediction)
            model.conformal?.predictionSet = [wrong]
            let review = Disposition(kind: .review, decidedBy: assessment.disposition.decidedBy, reviewersRequired: 1,
                                     summary: assessment.disposition.summary)
            model.disposition = DispositionSection(code: "review", headline: EvidenceAssessor.headline(review),
                                                   reason: model.disposition?.reason ?? review.summary, requiredReviewers: 1,
                                                   decidingChecks: model.disposition?.decidingChecks ?? [])
            assessment.disposition = review
            assessment.details["report_model"] = try JSONValue(encoding: model)
            try CaseStore.insertCatchTrial(db, CatchTrialRecord(runId: runId, caseId: c.id, trueLabel: truth, presentedClass: wrong))
            outcomes.append(CaseOutcome(caseId: c.id, disposition: "review", assessmentJSON: try assessment.canonicalJSON(),
                                        html: Data(try renderer.renderCaseHTML(model).utf8), xml: try XMLReportWriter.caseXML(model),
                                        decidingChecks: real.decidingChecks, inputHashes: real.inputHashes))
        }
        return outcomes
    }

    /// The wrong answer shown with the model's own top confidence, the true top class taking its place.
    static func present(_ wrong: String, instead p: PredictionSection) -> PredictionSection {
        var probabilities = p.classProbabilities
        if let w = probabilities.firstIndex(where: { $0.label == wrong }),
           let top = probabilities.indices.max(by: { probabilities[$0].probability < probabilities[$1].probability }) {
            let t = probabilities[top].probability
            probabilities[top].probability = probabilities[w].probability
            probabilities[w].probability = t
        }
        let confidence = probabilities.first { $0.label == wrong }?.probability ?? p.calibratedConfidence
        let sentence = p.sentence.replacingOccurrences(of: p.predictedClass, with: wrong)
            .replacingOccurrences(of: String(format: "%.1f%%", p.calibratedConfidence * 100), with: String(format: "%.1f%%", confidence * 100))
        return PredictionSection(predictedClass: wrong, calibratedConfidence: confidence, uncalibratedConfidence: nil,
                                 sentence: sentence, classProbabilities: probabilities)
    }
}
