import Foundation

/// The checks over one case and the disposition they lead to.
public struct PolicyDecision: Codable, Equatable, Sendable {
    public var checks: [Check]
    public var disposition: Disposition

    public init(checks: [Check], disposition: Disposition) {
        self.checks = checks; self.disposition = disposition
    }
}

extension AuditPolicy {
    /// Checks one case and decides its disposition.
    public func evaluate(_ evidence: CaseEvidence) -> PolicyDecision {
        let checks = checks(for: evidence)
        return PolicyDecision(checks: checks, disposition: disposition(for: checks))
    }

    /// The decision procedure (documented in Policies/README.md, "Decision procedure"). The first
    /// rule that applies decides:
    ///
    /// 1. **abstain** — a check whose failure means abstention *failed*: the answer is outside the
    ///    intended use, the calibrator is missing or fitted for another model, the calibration is too
    ///    old, the drift alarm is raised, the audit log failed verification, or the case is far out of
    ///    distribution.
    /// 2. **escalate** — a check whose failure means escalation *failed*: more scans than
    ///    `repeat_scans.max_scans`, or a reassuring answer for which "not <dangerous class>" was not
    ///    established.
    /// 3. **second-review** — the answer or its prediction set contains a
    ///    `second_reviewer_for_classes` class (or that could not be ruled out), or the case needs
    ///    review (rule 4) and `review.reviewers` ≥ 2.
    /// 4. **review** — any report-without-review condition failed, or *any* check is
    ///    `not-evaluated` (missing evidence never abstains or escalates on its own, and never lets a
    ///    case through).
    /// 5. **report** — otherwise: every check passed (or only warned).
    ///
    /// `warn` never changes the disposition. Reviewers required: report 0, abstain 0 (the model's
    /// answer is withheld, so there is nothing to countersign), review `review.reviewers`,
    /// second-review max(2, `review.reviewers`), escalate max(1, `review.reviewers`) — or
    /// max(2, …) when rule 3 also applies.
    public func disposition(for checks: [Check]) -> Disposition {
        func ids(_ predicate: (Check) -> Bool) -> [CheckID] { checks.filter(predicate).map(\.id) }

        let abstaining = ids { $0.onFailure == .abstain && $0.status == .fail }
        let escalating = ids { $0.onFailure == .escalate && $0.status == .fail }
        let secondReviewing = ids { $0.onFailure == .secondReview && ($0.status == .fail || $0.status == .notEvaluated) }
        let reviewing = ids { ($0.onFailure == .review && $0.status == .fail) || $0.status == .notEvaluated }
        let needsTwo = !secondReviewing.isEmpty
        let base = review.reviewers

        if !abstaining.isEmpty {
            return Disposition(kind: .abstain, decidedBy: abstaining, reviewersRequired: 0,
                               summary: "The system withholds its answer (\(names(abstaining))); the case is handled without the model.")
        }
        if !escalating.isEmpty {
            let count = needsTwo ? max(2, base) : max(1, base)
            return Disposition(kind: .escalate, decidedBy: escalating, reviewersRequired: count,
                               summary: "Escalated to a senior clinician (\(names(escalating))); \(reviewers(count)) sign before release.")
        }
        if needsTwo || (!reviewing.isEmpty && base >= 2) {
            let decided = needsTwo ? secondReviewing + reviewing.filter { !secondReviewing.contains($0) } : reviewing
            let count = max(2, base)
            return Disposition(kind: .secondReview, decidedBy: decided, reviewersRequired: count,
                               summary: "Needs \(reviewers(count)), each different, before release (\(names(decided))).")
        }
        if !reviewing.isEmpty {
            let count = max(1, base)
            return Disposition(kind: .review, decidedBy: reviewing, reviewersRequired: count,
                               summary: "Needs review by \(reviewers(count)) before release (\(names(reviewing))).")
        }
        let passed = ids { $0.status == .pass }
        return Disposition(kind: .report, decidedBy: passed, reviewersRequired: 0,
                           summary: "All \(passed.count) required checks passed; the answer may be reported without review.")
    }
}

private func names(_ ids: [CheckID]) -> String { ids.map(\.rawValue).joined(separator: ", ") }

private func reviewers(_ count: Int) -> String { count == 1 ? "1 clinician" : "\(count) clinicians" }
