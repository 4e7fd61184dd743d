import Foundation
import XCTest
@testable import Review

final class SignOffGateTests: XCTestCase {
    let rules = ReviewRules(reviewers: 1, secondReviewerForClasses: ["malignant"], minSeconds: 30,
                            blindFirstRead: false, catchTrialRate: 0.02)
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    func request(_ change: (inout SignOffRequest) -> Void = { _ in }) -> SignOffRequest {
        var r = SignOffRequest(caseId: "c1", runId: "r1", disposition: "review", requiredSignatures: 1,
                               reviewerId: "dr-a", reviewerActive: true, runOperator: "op", earlierSigners: [],
                               openedAt: t0, blindReadClass: nil, decision: .agree, decidedClass: "benign",
                               reasonCode: "concordant", classes: ["benign", "malignant"], now: t0.addingTimeInterval(45))
        change(&r)
        return r
    }

    func testAcceptsAProperReview() throws {
        XCTAssertEqual(try SignOffGate.check(request(), rules: rules), 45, accuracy: 1e-9)
    }

    func testEachRuleRefuses() {
        let cases: [(String, SignOffRequest, ReviewRules, ReviewError)] = [
            ("deactivated", request { $0.reviewerActive = false }, rules, .reviewerInactive("dr-a")),
            ("operator", request { $0.runOperator = "dr-a" }, rules, .operatorCannotReview("dr-a")),
            ("second by first", request { $0.requiredSignatures = 2; $0.earlierSigners = ["dr-a"] }, rules,
             .secondReviewerMustDiffer("dr-a")),
            ("enough", request { $0.earlierSigners = ["dr-b"] }, rules, .enoughSignatures(caseId: "c1")),
            ("not opened", request { $0.openedAt = nil }, rules, .notOpened(caseId: "c1", reviewer: "dr-a")),
            ("too fast", request { $0.now = self.t0.addingTimeInterval(10) }, rules, .tooFast(seconds: 10, minimum: 30)),
            ("override without reason", request { $0.decision = .override; $0.reasonCode = " " }, rules, .overrideNeedsReason),
            ("override without class", request { $0.decision = .override; $0.decidedClass = nil }, rules, .overrideNeedsClass),
            ("unknown class", request { $0.decidedClass = "atypical" }, rules, .classUnknown("atypical")),
            ("blind read missing", request(), ReviewRules(blindFirstRead: true), .blindReadMissing(caseId: "c1")),
            ("nothing to review", request { $0.disposition = "report" }, rules, .noReviewNeeded(caseId: "c1", disposition: "report")),
        ]
        for (name, req, rules, expected) in cases {
            XCTAssertThrowsError(try SignOffGate.check(req, rules: rules), name) {
                XCTAssertEqual($0 as? ReviewError, expected, name)
            }
        }
    }

    func testSecondReviewerWhoDiffersIsAccepted() throws {
        XCTAssertNoThrow(try SignOffGate.check(request { $0.requiredSignatures = 2; $0.earlierSigners = ["dr-b"] }, rules: rules))
    }
}
