import Foundation

/// What happens to a case's answer.
public struct Disposition: Codable, Equatable, Sendable {
    /// Ordered from least to most restrictive; the decision procedure takes the most restrictive
    /// level any check asks for.
    public enum Kind: String, Codable, Sendable, CaseIterable, Comparable {
        /// Released without a reviewer.
        case report
        /// One reviewer (or `review.reviewers`) signs before release.
        case review
        /// Two different reviewers sign before release.
        case secondReview = "second-review"
        /// Leaves the routine path: a senior clinician decides (possible outcome shopping, a dangerous
        /// class that could not be excluded).
        case escalate
        /// The system gives no answer; the case is handled without the model.
        case abstain

        var rank: Int {
            switch self {
            case .report: return 0
            case .review: return 1
            case .secondReview: return 2
            case .escalate: return 3
            case .abstain: return 4
            }
        }

        public static func < (lhs: Kind, rhs: Kind) -> Bool { lhs.rank < rhs.rank }
    }

    public var kind: Kind
    /// Ids of the checks that decided it (for `report`: every check that had to pass).
    public var decidedBy: [CheckID]
    /// Sign-offs required before the answer is released (0 for `report` and `abstain`).
    public var reviewersRequired: Int
    /// One sentence for the report header.
    public var summary: String

    /// Whether the case waits in the review queue for sign-off (review, second-review, escalate).
    public var needsSignOff: Bool { reviewersRequired > 0 }

    public init(kind: Kind, decidedBy: [CheckID], reviewersRequired: Int, summary: String) {
        self.kind = kind; self.decidedBy = decidedBy
        self.reviewersRequired = reviewersRequired; self.summary = summary
    }

    enum CodingKeys: String, CodingKey {
        case kind, decidedBy = "decided_by", reviewersRequired = "reviewers_required", summary
    }
}
