import Foundation

/// Every refusal of the sign-off workflow, phrased for the reviewer at the terminal.
public enum ReviewError: Error, Equatable, CustomStringConvertible, LocalizedError {
    case weakPassphrase
    case wrongPassphrase(String)
    case keyFileMissing(String)
    case keyFileInvalid(String)
    case reviewerUnknown(String)
    case reviewerInactive(String)
    case reviewerExists(String)
    case notOpened(caseId: String, reviewer: String)
    case blindReadMissing(caseId: String)
    case tooFast(seconds: Double, minimum: Double)
    case overrideNeedsReason
    case overrideNeedsClass
    case reasonUnknown(String, allowed: [String])
    case classUnknown(String)
    case operatorCannotReview(String)
    case secondReviewerMustDiffer(String)
    case alreadySigned(caseId: String, reviewer: String)
    case noReviewNeeded(caseId: String, disposition: String)
    case enoughSignatures(caseId: String)
    case notInRun(caseId: String, runId: String)

    public var description: String {
        switch self {
        case .weakPassphrase: return "the passphrase must have at least 8 characters"
        case let .wrongPassphrase(id): return "wrong passphrase for reviewer '\(id)'"
        case let .keyFileMissing(path): return "reviewer key file \(path) does not exist"
        case let .keyFileInvalid(why): return "reviewer key file is invalid: \(why)"
        case let .reviewerUnknown(id): return "no reviewer with id '\(id)'"
        case let .reviewerInactive(id): return "reviewer '\(id)' is deactivated and cannot sign"
        case let .reviewerExists(id): return "a reviewer with id '\(id)' already exists"
        case let .notOpened(c, r): return "reviewer '\(r)' has not opened the evidence of case '\(c)' (run `audit review open` first)"
        case let .blindReadMissing(c): return "the policy requires a blind first read of case '\(c)' before signing (run `audit review read`)"
        case let .tooFast(s, m): return String(format: "review took %.0f s; the policy requires at least %.0f s with the evidence open", s, m)
        case .overrideNeedsReason: return "an override needs a reason code"
        case let .reasonUnknown(code, allowed): return "reason code '\(code)' is not in the policy's list (\(allowed.joined(separator: ", ")))"
        case .overrideNeedsClass: return "an override needs the class the reviewer decided on (--class)"
        case let .classUnknown(c): return "class '\(c)' is not one of the study's classes"
        case let .operatorCannotReview(id): return "reviewer '\(id)' operated this run and cannot review it (separation of duties)"
        case let .secondReviewerMustDiffer(id): return "reviewer '\(id)' already signed this case; a second signature must come from another reviewer"
        case let .alreadySigned(c, r): return "reviewer '\(r)' already signed case '\(c)'"
        case let .noReviewNeeded(c, d): return "case '\(c)' has disposition '\(d)' and is not waiting for review"
        case let .enoughSignatures(c): return "case '\(c)' already has the signatures its policy requires"
        case let .notInRun(c, r): return "case '\(c)' was not assessed in run '\(r)'"
        }
    }
    public var errorDescription: String? { description }
}
