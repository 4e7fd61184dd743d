import AuditLog
import CaseStore
import Foundation
import Policy
import Reports
import Review

/// Plants catch trials at the policy's rate: already-verified cases of the study, assessed like any
/// other case but presented with a deliberately wrong answer. They are marked only in `catch_trials`.
/// To look like any other item, the wrong answer is presented consistently — the model's class and the
/// wrong class swap places in every probability, set and claim shown — and the policy then decides the
/// disposition from that presented evidence, as it would for a real case. The neighbours stay real:
/// they are the evidence a diligent reviewer catches the wrong answer with.
struct CatchTrialPlanter {
    let assessor: EvidenceAssessor
    let renderer: ReportRenderer
    let policy: AuditPolicy

    /// Expected count rate × (cases awaiting review), rounded by a keyed draw so the rate holds on average.
    func plant(_ db: StoreChange, runId: String, study: String, regular: [AssessmentRecord]) throws -> [CaseOutcome] {
        let rate = policy.review.catchTrialRate
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
        // A planted item must look like the run's real queue items, down to disposition and reviewer count.
        let shapes = Set(try regular.filter { ReviewWorkflow.awaiting.contains($0.disposition) }.map { r -> String in
            let d = try AssessmentSummary.decode(r.assessment).disposition
            return "\(d.kind.rawValue)/\(d.reviewersRequired)"
        })
        // Chosen in order here; rendered and encoded afterwards on all cores (pure work).
        var chosen: [EvidenceAssessor.PreparedCase] = []
        for c in candidates where chosen.count < count {
            guard let truth = c.label else { continue }
            let real = try assessor.prepareCase(db, caseRecord: c, position: -1, runId: runId, feedsDriftMonitor: false,
                                                logSequence: try AuditLog.treeSize(db))
            // Read back from its stored form, exactly as the planted item's starting point always was.
            let original = try Assessment.decode(try real.storedAssessment().canonicalJSON())
            guard let shown = original.details["report_model"], let modelClass = original.evidence.predictedClass else { continue }
            // Wrong answers in a keyed order; the first whose presented evidence gets a queue shape the run has.
            let wrongs = classes.filter { $0 != truth }.sorted {
                (CatchTrials.uniform(runId: runId, caseId: c.id + "\u{0}" + $0, salt: "class"), $0)
                    < (CatchTrials.uniform(runId: runId, caseId: c.id + "\u{0}" + $1, salt: "class"), $1)
            }
            for wrong in wrongs {
                let swap = LabelSwap(modelClass, wrong)
                var assessment = original
                assessment.evidence = swap.apply(to: original.evidence)
                let decision = policy.evaluate(assessment.evidence)
                guard shapes.contains("\(decision.disposition.kind.rawValue)/\(decision.disposition.reviewersRequired)") else { continue }
                assessment.checks = decision.checks
                assessment.disposition = decision.disposition
                var model = try JSONDecoder().decode(CaseReportModel.self, from: try JSONEncoder().encode(shown))
                swap.apply(to: &model, classes: classes)
                model.disposition = DispositionSection(code: decision.disposition.kind.rawValue,
                                                       headline: EvidenceAssessor.headline(decision.disposition),
                                                       reason: decision.disposition.summary,
                                                       requiredReviewers: decision.disposition.reviewersRequired,
                                                       decidingChecks: decision.disposition.decidedBy.map(\.rawValue))
                model.checks = decision.checks.map(EvidenceAssessor.row)
                assessment.details.removeValue(forKey: "drift")
                try CaseStore.insertCatchTrial(db, CatchTrialRecord(runId: runId, caseId: c.id, trueLabel: truth, presentedClass: wrong))
                // Stored with `model` as its report model (`storedAssessment`), like every case.
                chosen.append(EvidenceAssessor.PreparedCase(caseId: c.id, assessment: assessment, report: model, inputs: real.inputs))
                break
            }
        }
        let renderer = self.renderer
        let outcomes = PreparedOutcome.finishAll(chosen.map { item in PreparedOutcome { try item.finish(with: renderer) } })
        return try outcomes.map { try $0.get() }
    }
}

/// Exchanges two class labels everywhere an answer is shown (a permutation, so everything stays consistent).
struct LabelSwap {
    let a: String, b: String

    init(_ a: String, _ b: String) { self.a = a; self.b = b }

    func callAsFunction(_ label: String) -> String { label == a ? b : label == b ? a : label }

    func apply(to e: CaseEvidence) -> CaseEvidence {
        var e = e
        e.predictedClass = e.predictedClass.map(callAsFunction)
        if var set = e.conformalSet {
            set.classes = (e.studyClasses ?? set.classes).filter { Set(set.classes.map(callAsFunction)).contains($0) }
            e.conformalSet = set
        }
        e.claims = e.claims?.map { var c = $0; c.againstClass = callAsFunction(c.againstClass); return c }
        return e
    }

    func apply(to m: inout CaseReportModel, classes: [String]) {
        guard let i = classes.firstIndex(of: a), let j = classes.firstIndex(of: b), i != j else { return }
        if var p = m.prediction {
            p.predictedClass = callAsFunction(p.predictedClass)
            let byLabel = Dictionary(uniqueKeysWithValues: p.classProbabilities.map { ($0.label, $0.probability) })
            p.classProbabilities = p.classProbabilities.map { ClassProbability(label: $0.label, probability: byLabel[callAsFunction($0.label)] ?? $0.probability) }
            p.calibratedConfidence = p.classProbabilities.first { $0.label == p.predictedClass }?.probability ?? p.calibratedConfidence
            p.uncalibratedConfidence = nil
            m.prediction = p
        }
        if var c = m.conformal {
            let swapped = Set(c.predictionSet.map(callAsFunction))
            c.predictionSet = classes.filter { swapped.contains($0) }
            m.conformal = c
        }
        if var s = m.scans {
            s.scans = s.scans.map { row in var r = row; if r.probabilities.count > max(i, j) { r.probabilities.swapAt(i, j) }; return r }
            if s.pooledProbabilities.count > max(i, j) { s.pooledProbabilities.swapAt(i, j) }
            s.claim = swapNames(in: s.claim)
            m.scans = s
        }
    }

    /// Swaps whole-word occurrences of the two labels in a sentence.
    func swapNames(in text: String) -> String {
        let marker = "\u{0}swap\u{0}"
        return text.replacingOccurrences(of: a, with: marker).replacingOccurrences(of: b, with: a).replacingOccurrences(of: marker, with: b)
    }
}
