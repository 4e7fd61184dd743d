import Foundation
import XCTest
@testable import Policy

/// Starting from evidence that the default policy reports, each condition alone must move the
/// disposition exactly as Policies/README.md ("Decision procedure") documents.
final class DispositionTableTests: XCTestCase {
    static let classes = ["benign", "atypical", "malignant"]

    /// Evidence every default-policy condition passes.
    static let reportable = CaseEvidence(
        studyClasses: classes, predictedClass: "benign", calibratedConfidence: 0.99,
        conformalSet: ConformalSetEvidence(classes: ["benign"], alpha: 0.1, calibrationCount: 500, classConditional: true),
        credibility: 0.6, oodPercentile: 50, scanCount: 2,
        scanDisagreement: ScanDisagreementEvidence(disagree: false, detail: "both scans benign"),
        claims: [ClaimEvidence(againstClass: "atypical", established: true, eValue: 120, threshold: 80),
                 ClaimEvidence(againstClass: "malignant", established: true, eValue: 95, threshold: 80)],
        driftAlarm: false, calibratorPresent: true, calibratorFittedForModel: true, calibrationAgeDays: 30,
        logVerification: .verified,
        baseline: BaselineEvidence(modelBetter: true, measured: "accuracy 0.95 vs 0.88, NLL 0.15 vs 0.35 (n = 100)", detail: "better"))

    struct Row {
        let name: String
        let change: (inout CaseEvidence) -> Void
        let kind: Disposition.Kind
        /// Exactly the checks expected to decide it.
        let decidedBy: [CheckID]
        let reviewers: Int
    }

    static let rows: [Row] = [
        // Report-without-review conditions → review
        Row(name: "low confidence", change: { $0.calibratedConfidence = 0.9 }, kind: .review, decidedBy: [.confidence], reviewers: 1),
        Row(name: "two-class set without a second-review class", change: {
            $0.conformalSet?.classes = ["benign", "atypical"] }, kind: .review, decidedBy: [.singletonSet], reviewers: 1),
        Row(name: "empty set", change: { $0.conformalSet?.classes = [] }, kind: .review, decidedBy: [.singletonSet], reviewers: 1),
        Row(name: "set at another alpha", change: { $0.conformalSet?.alpha = 0.05 }, kind: .review,
            decidedBy: [.conformalSettings], reviewers: 1),
        Row(name: "marginal instead of class-conditional set", change: { $0.conformalSet?.classConditional = false },
            kind: .review, decidedBy: [.conformalSettings], reviewers: 1),
        Row(name: "too few calibration cases", change: { $0.conformalSet?.calibrationCount = 5 }, kind: .review,
            decidedBy: [.conformalSettings], reviewers: 1),
        Row(name: "low credibility", change: { $0.credibility = 0.05 }, kind: .review, decidedBy: [.credibility], reviewers: 1),
        Row(name: "moderately out of distribution", change: { $0.oodPercentile = 97 }, kind: .review,
            decidedBy: [.outOfDistribution], reviewers: 1),
        Row(name: "scans disagree", change: { $0.scanDisagreement = ScanDisagreementEvidence(disagree: true, detail: "scan 2 says atypical") },
            kind: .review, decidedBy: [.scanAgreement], reviewers: 1),
        Row(name: "non-dangerous rival not excluded", change: { $0.claims?[0].established = false }, kind: .review,
            decidedBy: [.establishedClaim], reviewers: 1),
        // Second reviewer
        Row(name: "set contains malignant", change: { $0.conformalSet?.classes = ["benign", "malignant"] }, kind: .secondReview,
            decidedBy: [.secondReviewerClass, .singletonSet], reviewers: 2),
        Row(name: "answer is malignant", change: {
            $0.predictedClass = "malignant"; $0.conformalSet?.classes = ["malignant"]
            $0.claims = [ClaimEvidence(againstClass: "benign", established: true), ClaimEvidence(againstClass: "atypical", established: true)]
        }, kind: .secondReview, decidedBy: [.secondReviewerClass, .dangerousAnswer], reviewers: 2),
        // Escalation
        Row(name: "more scans than allowed", change: { $0.scanCount = 5 }, kind: .escalate, decidedBy: [.scanLimit], reviewers: 1),
        Row(name: "malignant not excluded", change: { $0.claims?[1].established = false }, kind: .escalate,
            decidedBy: [.dangerousClassExcluded], reviewers: 1),
        // Abstention
        Row(name: "far out of distribution", change: { $0.oodPercentile = 99.7 }, kind: .abstain,
            decidedBy: [.farOutOfDistribution], reviewers: 0),
        Row(name: "drift alarm", change: { $0.driftAlarm = true }, kind: .abstain, decidedBy: [.driftAlarm], reviewers: 0),
        Row(name: "calibrator missing", change: { $0.calibratorPresent = false }, kind: .abstain,
            decidedBy: [.calibratorPresent], reviewers: 0),
        Row(name: "calibrator fitted for another model", change: { $0.calibratorFittedForModel = false }, kind: .abstain,
            decidedBy: [.calibratorFitted], reviewers: 0),
        Row(name: "calibration too old", change: { $0.calibrationAgeDays = 181 }, kind: .abstain,
            decidedBy: [.calibrationAge], reviewers: 0),
        Row(name: "audit log failed verification", change: { $0.logVerification = .failed }, kind: .abstain,
            decidedBy: [.logVerification], reviewers: 0),
        // Boundaries are inclusive as documented.
        Row(name: "confidence exactly at minimum", change: { $0.calibratedConfidence = 0.95 }, kind: .report,
            decidedBy: [], reviewers: 0),
        Row(name: "exactly max scans", change: { $0.scanCount = 4 }, kind: .report, decidedBy: [], reviewers: 0),
        Row(name: "OOD percentile exactly at review limit", change: { $0.oodPercentile = 95 }, kind: .report, decidedBy: [], reviewers: 0),
        Row(name: "calibration exactly at age limit", change: { $0.calibrationAgeDays = 180 }, kind: .report, decidedBy: [], reviewers: 0),
        Row(name: "study classes unknown", change: { $0.studyClasses = nil }, kind: .report, decidedBy: [], reviewers: 0),
        // Missing evidence: not evaluated → review (never report, never abstain or escalate by itself)
        Row(name: "no confidence", change: { $0.calibratedConfidence = nil }, kind: .review, decidedBy: [.confidence], reviewers: 1),
        Row(name: "no credibility", change: { $0.credibility = nil }, kind: .review, decidedBy: [.credibility], reviewers: 1),
        Row(name: "no OOD score", change: { $0.oodPercentile = nil }, kind: .review,
            decidedBy: [.farOutOfDistribution, .outOfDistribution], reviewers: 1),
        Row(name: "scans not counted", change: { $0.scanCount = nil }, kind: .review, decidedBy: [.scanLimit], reviewers: 1),
        Row(name: "disagreement not checked", change: { $0.scanDisagreement = nil }, kind: .review, decidedBy: [.scanAgreement], reviewers: 1),
        Row(name: "no e-process", change: { $0.claims = nil }, kind: .review,
            decidedBy: [.dangerousClassExcluded, .establishedClaim], reviewers: 1),
        Row(name: "no claim against malignant", change: { $0.claims = [ClaimEvidence(againstClass: "atypical", established: true)] },
            kind: .review, decidedBy: [.dangerousClassExcluded], reviewers: 1),
        Row(name: "drift not monitored", change: { $0.driftAlarm = nil }, kind: .review, decidedBy: [.driftAlarm], reviewers: 1),
        Row(name: "calibrator not checked", change: { $0.calibratorPresent = nil }, kind: .review,
            decidedBy: [.calibratorPresent], reviewers: 1),
        Row(name: "calibrator model not checked", change: { $0.calibratorFittedForModel = nil }, kind: .review,
            decidedBy: [.calibratorFitted], reviewers: 1),
        Row(name: "calibration age unknown", change: { $0.calibrationAgeDays = nil }, kind: .review,
            decidedBy: [.calibrationAge], reviewers: 1),
        Row(name: "log not verified", change: { $0.logVerification = nil }, kind: .review, decidedBy: [.logVerification], reviewers: 1),
        // Measurements outside their domain count as not evaluated, never as a pass.
        Row(name: "NaN OOD percentile", change: { $0.oodPercentile = .nan }, kind: .review,
            decidedBy: [.farOutOfDistribution, .outOfDistribution], reviewers: 1),
        Row(name: "confidence above 1", change: { $0.calibratedConfidence = 1.5 }, kind: .review, decidedBy: [.confidence], reviewers: 1),
        Row(name: "negative calibration age", change: { $0.calibrationAgeDays = -3 }, kind: .review,
            decidedBy: [.calibrationAge], reviewers: 1),
        Row(name: "infinite credibility", change: { $0.credibility = .infinity }, kind: .review, decidedBy: [.credibility], reviewers: 1),
        // Without a set, malignant cannot be ruled out of it: two reviewers.
        Row(name: "no conformal set", change: { $0.conformalSet = nil }, kind: .secondReview,
            decidedBy: [.secondReviewerClass, .conformalSettings, .singletonSet], reviewers: 2),
        Row(name: "no answer", change: { $0.predictedClass = nil }, kind: .secondReview,
            decidedBy: [.secondReviewerClass, .dangerousClassExcluded, .dangerousAnswer, .singletonSet], reviewers: 2),
    ]

    func testReportableEvidenceIsReported() throws {
        let policy = try AuditPolicy.shipped("default")
        let decision = policy.evaluate(Self.reportable)
        XCTAssertEqual(decision.disposition.kind, .report, decision.disposition.summary)
        XCTAssertEqual(decision.disposition.reviewersRequired, 0)
        XCTAssertTrue(decision.checks.allSatisfy { $0.status == .pass }, "\(decision.checks.filter { $0.status != .pass })")
        XCTAssertEqual(Set(decision.disposition.decidedBy), Set(decision.checks.map(\.id)))
        // Every check the default policy defines is exercised by the reportable case.
        XCTAssertEqual(Set(decision.checks.map(\.id)), Set(CheckID.allCases).subtracting([.intendedUse, .humanOversight]))
    }

    func testEachConditionAloneFlipsTheDispositionAsDocumented() throws {
        let policy = try AuditPolicy.shipped("default")
        for row in Self.rows {
            var evidence = Self.reportable
            row.change(&evidence)
            let decision = policy.evaluate(evidence)
            XCTAssertEqual(decision.disposition.kind, row.kind, "\(row.name): \(decision.disposition.summary)")
            XCTAssertEqual(decision.disposition.reviewersRequired, row.reviewers, row.name)
            if row.kind != .report {
                XCTAssertEqual(decision.disposition.decidedBy, row.decidedBy, row.name)
            }
            for id in decision.disposition.decidedBy where row.kind != .report {
                let check = try XCTUnwrap(decision.checks.first { $0.id == id })
                XCTAssertTrue(check.status == .fail || check.status == .notEvaluated, "\(row.name): \(id)")
                XCTAssertFalse(check.reason.isEmpty)
                XCTAssertFalse(check.reference.isEmpty)
            }
        }
    }

    func testPolicyVariantsChangeTheOutcomeAsDocumented() throws {
        let base = try AuditPolicy.shipped("default")

        var twoReviewers = base
        twoReviewers.review.reviewers = 2
        var lowConfidence = Self.reportable
        lowConfidence.calibratedConfidence = 0.5
        XCTAssertEqual(twoReviewers.evaluate(lowConfidence).disposition.kind, .secondReview)
        XCTAssertEqual(twoReviewers.evaluate(lowConfidence).disposition.reviewersRequired, 2)
        XCTAssertEqual(twoReviewers.evaluate(Self.reportable).disposition.kind, .report)

        var noEscalation = base
        noEscalation.escalate.onDangerousClassNotExcluded = false
        noEscalation.escalate.onScansOverLimit = false
        var open = Self.reportable
        open.claims?[1].established = false
        open.scanCount = 9
        let relaxed = noEscalation.evaluate(open)
        XCTAssertEqual(relaxed.disposition.kind, .review)
        XCTAssertEqual(relaxed.disposition.decidedBy, [.establishedClaim])
        XCTAssertEqual(relaxed.checks.first { $0.id == .scanLimit }?.status, .warn)
        XCTAssertEqual(relaxed.checks.first { $0.id == .dangerousClassExcluded }?.status, .warn)

        // A condition the policy does not require only warns, and warnings never block a report.
        var setsOptional = base
        setsOptional.reportWithoutReview.singletonSet = false
        setsOptional.reportWithoutReview.allowScanDisagreement = true
        var wide = Self.reportable
        wide.conformalSet?.classes = ["benign", "atypical"]
        wide.scanDisagreement = ScanDisagreementEvidence(disagree: true, detail: "flip")
        let warned = setsOptional.evaluate(wide)
        XCTAssertEqual(warned.disposition.kind, .report)
        XCTAssertEqual(warned.checks.filter { $0.status == .warn }.map(\.id), [.singletonSet, .scanAgreement])

        // Outside the intended classes → abstain.
        var narrow = base
        narrow.appliesTo.classes = ["atypical", "malignant"]
        let outside = narrow.evaluate(Self.reportable)
        XCTAssertEqual(outside.disposition.kind, .abstain)
        XCTAssertEqual(outside.disposition.decidedBy, [.intendedUse])

        // Dangerous classes the model cannot answer do not apply (e.g. an ECG study).
        var ecg = Self.reportable
        ecg.studyClasses = ["benign", "atypical"]
        ecg.claims = [ClaimEvidence(againstClass: "atypical", established: true)]
        let ecgDecision = base.evaluate(ecg)
        XCTAssertEqual(ecgDecision.disposition.kind, .report)
        XCTAssertFalse(ecgDecision.checks.contains { $0.id == .dangerousClassExcluded || $0.id == .secondReviewerClass })
    }

    func testAbstainOutranksEscalateOutranksSecondReviewOutranksReview() throws {
        let policy = try AuditPolicy.shipped("default")
        var evidence = Self.reportable
        evidence.calibratedConfidence = 0.5                     // review
        XCTAssertEqual(policy.evaluate(evidence).disposition.kind, .review)
        evidence.conformalSet?.classes = ["benign", "malignant"] // second-review
        XCTAssertEqual(policy.evaluate(evidence).disposition.kind, .secondReview)
        evidence.scanCount = 7                                  // escalate (two reviewers, malignant in set)
        XCTAssertEqual(policy.evaluate(evidence).disposition.kind, .escalate)
        XCTAssertEqual(policy.evaluate(evidence).disposition.reviewersRequired, 2)
        evidence.driftAlarm = true                              // abstain
        XCTAssertEqual(policy.evaluate(evidence).disposition.kind, .abstain)
        XCTAssertEqual(policy.evaluate(evidence).disposition.decidedBy, [.driftAlarm])
    }

    func testScreeningStrictNeedsTwoReviewersForAnyPositive() throws {
        let strict = try AuditPolicy.shipped("screening-strict")
        var evidence = Self.reportable
        evidence.studyClasses = ["benign", "malignant"]
        evidence.conformalSet = ConformalSetEvidence(classes: ["benign"], alpha: 0.05, calibrationCount: 400, classConditional: true)
        evidence.claims = [ClaimEvidence(againstClass: "malignant", established: true)]
        XCTAssertEqual(strict.evaluate(evidence).disposition.kind, .report)
        evidence.conformalSet?.classes = ["benign", "malignant"]
        XCTAssertEqual(strict.evaluate(evidence).disposition.kind, .secondReview)
        evidence.predictedClass = "malignant"
        evidence.conformalSet?.classes = ["malignant"]
        evidence.claims = [ClaimEvidence(againstClass: "benign", established: true)]
        let positive = strict.evaluate(evidence).disposition
        XCTAssertEqual(positive.kind, .secondReview)
        XCTAssertEqual(positive.reviewersRequired, 2)
    }
}
