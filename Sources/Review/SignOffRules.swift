import Foundation

/// The review rules a policy sets (its `review` section), as plain values so this module needs no
/// policy parser.
public struct ReviewRules: Sendable, Equatable, Codable {
    public var reviewers: Int
    public var secondReviewerForClasses: [String]
    public var minSeconds: Double
    public var blindFirstRead: Bool
    public var catchTrialRate: Double
    /// The reason codes an override may give; empty: any non-empty code.
    public var overrideReasons: [String]

    public init(reviewers: Int = 1, secondReviewerForClasses: [String] = [], minSeconds: Double = 30,
                blindFirstRead: Bool = false, catchTrialRate: Double = 0, overrideReasons: [String] = []) {
        self.reviewers = reviewers; self.secondReviewerForClasses = secondReviewerForClasses
        self.minSeconds = minSeconds; self.blindFirstRead = blindFirstRead; self.catchTrialRate = catchTrialRate
        self.overrideReasons = overrideReasons
    }
}

/// Everything the gate needs to decide whether a signature may be made.
public struct SignOffRequest: Sendable {
    public var caseId: String
    public var runId: String
    public var disposition: String
    public var requiredSignatures: Int
    public var reviewerId: String
    public var reviewerActive: Bool
    public var runOperator: String
    /// Reviewers who already signed this case in this run.
    public var earlierSigners: [String]
    /// When this reviewer opened the evidence (nil: never opened).
    public var openedAt: Date?
    public var blindReadClass: String?
    public var decision: SignOff.Decision
    public var decidedClass: String?
    public var reasonCode: String?
    public var classes: [String]
    public var now: Date

    public init(caseId: String, runId: String, disposition: String, requiredSignatures: Int, reviewerId: String,
                reviewerActive: Bool, runOperator: String, earlierSigners: [String], openedAt: Date?,
                blindReadClass: String?, decision: SignOff.Decision, decidedClass: String?, reasonCode: String?,
                classes: [String], now: Date) {
        self.caseId = caseId; self.runId = runId; self.disposition = disposition
        self.requiredSignatures = requiredSignatures; self.reviewerId = reviewerId; self.reviewerActive = reviewerActive
        self.runOperator = runOperator; self.earlierSigners = earlierSigners; self.openedAt = openedAt
        self.blindReadClass = blindReadClass; self.decision = decision; self.decidedClass = decidedClass
        self.reasonCode = reasonCode; self.classes = classes; self.now = now
    }
}

/// The gate in front of a signature: separation of duties, evidence actually opened for long enough,
/// blind read first when asked, an override explained. Returns the review time on success.
public enum SignOffGate {
    public static func check(_ r: SignOffRequest, rules: ReviewRules) throws -> Double {
        guard r.disposition == "review" || r.disposition == "second-review" || r.disposition == "escalate" else {
            throw ReviewError.noReviewNeeded(caseId: r.caseId, disposition: r.disposition)
        }
        guard r.reviewerActive else { throw ReviewError.reviewerInactive(r.reviewerId) }
        guard r.reviewerId != r.runOperator else { throw ReviewError.operatorCannotReview(r.reviewerId) }
        guard !r.earlierSigners.contains(r.reviewerId) else {
            throw r.earlierSigners.isEmpty ? ReviewError.alreadySigned(caseId: r.caseId, reviewer: r.reviewerId)
                                           : ReviewError.secondReviewerMustDiffer(r.reviewerId)
        }
        guard r.earlierSigners.count < r.requiredSignatures else { throw ReviewError.enoughSignatures(caseId: r.caseId) }
        guard let opened = r.openedAt else { throw ReviewError.notOpened(caseId: r.caseId, reviewer: r.reviewerId) }
        if rules.blindFirstRead && r.blindReadClass == nil { throw ReviewError.blindReadMissing(caseId: r.caseId) }
        let seconds = r.now.timeIntervalSince(opened)
        guard seconds >= rules.minSeconds else { throw ReviewError.tooFast(seconds: seconds, minimum: rules.minSeconds) }
        if r.decision == .override {
            guard let reason = r.reasonCode, !reason.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw ReviewError.overrideNeedsReason
            }
            if !rules.overrideReasons.isEmpty, !rules.overrideReasons.contains(reason) {
                throw ReviewError.reasonUnknown(reason, allowed: rules.overrideReasons)
            }
            guard r.decidedClass != nil else { throw ReviewError.overrideNeedsClass }
        }
        if let c = r.decidedClass, !r.classes.contains(c) { throw ReviewError.classUnknown(c) }
        if let c = r.blindReadClass, !r.classes.contains(c) { throw ReviewError.classUnknown(c) }
        return seconds
    }
}
