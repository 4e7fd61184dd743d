import Foundation
import Randomness
import XCTest
@testable import Policy

/// Properties that must hold for any evidence: missing evidence never yields `report`, the research
/// policy never reports, and `report` means every check passed or only warned.
final class DispositionInvariantTests: XCTestCase {
    /// Random evidence around the thresholds, each field nil with probability 1/6 (seeded
    /// `Randomness.SplitMix64`: the fuzz cases are the same on every run).
    static func randomEvidence(_ g: inout SplitMix64) -> CaseEvidence {
        let classes = ["benign", "atypical", "malignant"]
        func maybe<T>(_ value: T) -> T? { Int.random(in: 0..<6, using: &g) == 0 ? nil : value }
        let answer = Int.random(in: 0..<10, using: &g) < 7 ? "benign" : classes.randomElement(using: &g) ?? "benign"
        var setClasses = [answer]
        if Bool.random(using: &g) { setClasses.append(classes.randomElement(using: &g) ?? "benign") }
        setClasses = classes.filter { setClasses.contains($0) }
        let claims = classes.filter { $0 != answer }.map {
            ClaimEvidence(againstClass: $0, established: Int.random(in: 0..<4, using: &g) > 0)
        }
        return CaseEvidence(
            studyClasses: maybe(classes), predictedClass: maybe(answer),
            calibratedConfidence: maybe(Double.random(in: 0.85...1, using: &g)),
            conformalSet: maybe(ConformalSetEvidence(classes: setClasses, alpha: [0.1, 0.05].randomElement(using: &g) ?? 0.1,
                                                     calibrationCount: Int.random(in: 5...500, using: &g),
                                                     classConditional: Int.random(in: 0..<5, using: &g) > 0)),
            credibility: maybe(Double.random(in: 0...1, using: &g)),
            oodPercentile: maybe(Double.random(in: 0...100, using: &g)),
            scanCount: maybe(Int.random(in: 1...6, using: &g)),
            scanDisagreement: maybe(ScanDisagreementEvidence(disagree: Int.random(in: 0..<5, using: &g) == 0, detail: "")),
            claims: maybe(claims), driftAlarm: maybe(Int.random(in: 0..<8, using: &g) == 0),
            calibratorPresent: maybe(Int.random(in: 0..<10, using: &g) > 0),
            calibratorFittedForModel: maybe(Int.random(in: 0..<10, using: &g) > 0),
            calibrationAgeDays: maybe(Double.random(in: 0...400, using: &g)),
            logVerification: maybe(Int.random(in: 0..<10, using: &g) > 0 ? .verified : .failed))
    }

    func testNotEvaluatedNeverReportsAndReportMeansAllPassed() throws {
        var generator = SplitMix64(state: 8)
        var counts: [Disposition.Kind: Int] = [:]
        let policies = try ShippedPolicy.allCases.map { try $0.load() }
        for _ in 0..<3000 {
            let evidence = Self.randomEvidence(&generator)
            for policy in policies {
                let decision = policy.evaluate(evidence)
                counts[decision.disposition.kind, default: 0] += 1
                if decision.checks.contains(where: { $0.status == .notEvaluated }) {
                    XCTAssertNotEqual(decision.disposition.kind, .report, "\(policy.name): \(evidence)")
                }
                if decision.disposition.kind == .report {
                    XCTAssertTrue(decision.checks.allSatisfy { $0.status == .pass || $0.status == .warn })
                    XCTAssertEqual(decision.disposition.reviewersRequired, 0)
                } else if decision.disposition.kind != .abstain {
                    XCTAssertGreaterThanOrEqual(decision.disposition.reviewersRequired, 1)
                    XCTAssertFalse(decision.disposition.decidedBy.isEmpty)
                }
                XCTAssertEqual(decision.disposition.needsSignOff,
                               [.review, .secondReview, .escalate].contains(decision.disposition.kind))
                if decision.disposition.kind == .secondReview {
                    XCTAssertGreaterThanOrEqual(decision.disposition.reviewersRequired, 2)
                }
            }
        }
        // The fuzz reaches every disposition, so the invariants above were exercised.
        for kind in Disposition.Kind.allCases {
            XCTAssertGreaterThan(counts[kind, default: 0], 0, "\(kind) never reached")
        }
    }

    func testEveryFieldMissingAloneNeverReports() throws {
        let policy = try AuditPolicy.shipped("default")
        let paths: [(String, (inout CaseEvidence) -> Void)] = [
            ("predictedClass", { $0.predictedClass = nil }), ("calibratedConfidence", { $0.calibratedConfidence = nil }),
            ("conformalSet", { $0.conformalSet = nil }), ("credibility", { $0.credibility = nil }),
            ("oodPercentile", { $0.oodPercentile = nil }), ("scanCount", { $0.scanCount = nil }),
            ("scanDisagreement", { $0.scanDisagreement = nil }), ("claims", { $0.claims = nil }),
            ("claims empty", { $0.claims = [] }), ("driftAlarm", { $0.driftAlarm = nil }),
            ("calibratorPresent", { $0.calibratorPresent = nil }),
            ("calibratorFittedForModel", { $0.calibratorFittedForModel = nil }),
            ("calibrationAgeDays", { $0.calibrationAgeDays = nil }), ("logVerification", { $0.logVerification = nil }),
        ]
        for (name, clear) in paths {
            var evidence = DispositionTableTests.reportable
            clear(&evidence)
            let decision = policy.evaluate(evidence)
            XCTAssertNotEqual(decision.disposition.kind, .report, name)
            XCTAssertTrue(decision.checks.contains { $0.status == .notEvaluated }, name)
        }
        let nothing = policy.evaluate(CaseEvidence())
        XCTAssertNotEqual(nothing.disposition.kind, .report)
        XCTAssertTrue(nothing.checks.allSatisfy { $0.status == .notEvaluated }, "\(nothing.checks.map { ($0.id, $0.status) })")
    }

    func testResearchPolicyNeverReports() throws {
        let research = try AuditPolicy.shipped("research")
        var matching = DispositionTableTests.reportable
        matching.conformalSet?.classConditional = false   // research.yaml asks for marginal sets
        let verdict = research.evaluate(matching)
        XCTAssertEqual(verdict.disposition.kind, .review)
        XCTAssertEqual(verdict.disposition.decidedBy, [.humanOversight])
        var generator = SplitMix64(state: 2026)
        for _ in 0..<5000 {
            XCTAssertNotEqual(research.evaluate(Self.randomEvidence(&generator)).disposition.kind, .report)
        }
    }
}
