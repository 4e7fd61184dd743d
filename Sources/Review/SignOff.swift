import Crypto
import Digests
import Foundation

/// What a reviewer signs: the case, the run, the exact report bytes (by hash), the decision and its
/// meaning, who signed (id and printed name — 21 CFR 11.50), when, how long the evidence was open,
/// and the blind read. The signature covers the canonical bytes of this record, which are stored as
/// signed; verification re-checks the bytes, then the fields.
public struct SignOff: Codable, Sendable, Equatable {
    public enum Decision: String, Codable, Sendable, CaseIterable { case agree, override }
    /// 21 CFR 11.50(a)(3): the meaning of the signature.
    public enum Meaning: String, Codable, Sendable, CaseIterable { case review, approval }

    public var caseId: String
    public var runId: String
    public var reportSha256: String
    /// The version of the case's HTML report the reviewer saw.
    public var reportVersion: Int
    public var decision: Decision
    /// The class the reviewer stands behind (the model's class on agree, their own on override).
    public var decidedClass: String
    public var modelClass: String
    public var meaning: Meaning
    public var reasonCode: String
    public var note: String
    public var reviewerId: String
    public var printedName: String
    public var keyVersion: Int
    /// RFC 3339 UTC time of signing.
    public var signedAt: String
    public var reviewSeconds: Double
    /// The reviewer's class before unblinding, when the policy asked for a blind first read.
    public var blindReadClass: String?

    public init(caseId: String, runId: String, reportSha256: String, reportVersion: Int, decision: Decision, decidedClass: String,
                modelClass: String, meaning: Meaning, reasonCode: String, note: String, reviewerId: String,
                printedName: String, keyVersion: Int, signedAt: String, reviewSeconds: Double, blindReadClass: String?) {
        self.caseId = caseId; self.runId = runId; self.reportSha256 = reportSha256; self.reportVersion = reportVersion; self.decision = decision
        self.decidedClass = decidedClass; self.modelClass = modelClass; self.meaning = meaning
        self.reasonCode = reasonCode; self.note = note; self.reviewerId = reviewerId; self.printedName = printedName
        self.keyVersion = keyVersion; self.signedAt = signedAt; self.reviewSeconds = reviewSeconds
        self.blindReadClass = blindReadClass
    }

    enum CodingKeys: String, CodingKey {
        case caseId = "case_id", runId = "run_id", reportSha256 = "report_sha256", reportVersion = "report_version", decision
        case decidedClass = "class", modelClass = "model_class", meaning, reasonCode = "reason_code", note
        case reviewerId = "reviewer_id", printedName = "printed_name", keyVersion = "key_version"
        case signedAt = "signed_at", reviewSeconds = "review_seconds", blindReadClass = "blind_read_class"
    }

    /// Canonical bytes: sorted keys, no insignificant whitespace, UTF-8; review time rounded to ms so the
    /// number prints the same everywhere.
    public func canonicalBytes() throws -> Data {
        var copy = self
        copy.reviewSeconds = (reviewSeconds * 1000).rounded() / 1000
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try e.encode(copy)
    }

    /// Signs the canonical record; returns the bytes that were signed and the signature.
    public func sign(with key: Curve25519.Signing.PrivateKey) throws -> (record: Data, signature: Data) {
        let bytes = try canonicalBytes()
        return (bytes, try key.signature(for: bytes))
    }
}

/// Why a stored sign-off fails verification.
public enum SignOffProblem: Equatable, Sendable, CustomStringConvertible {
    case badSignature
    case recordUnreadable
    case wrongCase(expected: String, found: String)
    case wrongRun(expected: String, found: String)
    case wrongReviewer(expected: String, found: String)
    case reportMissing
    case reportChanged(signed: String, stored: String)
    case keyUnknown(reviewer: String, version: Int)

    public var description: String {
        switch self {
        case .badSignature: return "the signature does not verify under the reviewer's key"
        case .recordUnreadable: return "the signed record cannot be read"
        case let .wrongCase(e, f): return "the signed record names case '\(f)' but is stored for case '\(e)'"
        case let .wrongRun(e, f): return "the signed record names run '\(f)' but is stored for run '\(e)'"
        case let .wrongReviewer(e, f): return "the signed record names reviewer '\(f)' but is stored for '\(e)'"
        case .reportMissing: return "the signed report is not in the store"
        case let .reportChanged(s, st): return "the report was changed after signing (signed \(s.prefix(12))…, stored \(st.prefix(12))…)"
        case let .keyUnknown(r, v): return "reviewer '\(r)' has no key version \(v)"
        }
    }
}

public enum SignOffVerifier {
    /// Checks one stored sign-off: the signature over the stored bytes, that the bytes name the case,
    /// run and reviewer they are stored under, and that the report version the reviewer saw still hashes
    /// to the signed value (`reportBytes` returns that version's stored bytes).
    public static func verify(record: Data, signature: Data, storedCase: String, storedRun: String,
                              storedReviewer: String, publicKey: Data?,
                              reportBytes: (SignOff) -> Data?) -> [SignOffProblem] {
        guard let publicKey, let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey) else {
            let version = (try? JSONDecoder().decode(SignOff.self, from: record))?.keyVersion ?? 0
            return [.keyUnknown(reviewer: storedReviewer, version: version)]
        }
        var problems: [SignOffProblem] = []
        if !key.isValidSignature(signature, for: record) { problems.append(.badSignature) }
        guard let signed = try? JSONDecoder().decode(SignOff.self, from: record) else {
            return problems + [.recordUnreadable]
        }
        if signed.caseId != storedCase { problems.append(.wrongCase(expected: storedCase, found: signed.caseId)) }
        if signed.runId != storedRun { problems.append(.wrongRun(expected: storedRun, found: signed.runId)) }
        if signed.reviewerId != storedReviewer { problems.append(.wrongReviewer(expected: storedReviewer, found: signed.reviewerId)) }
        if let bytes = reportBytes(signed) {
            let actual = ContentHash.sha256Hex(bytes)
            if actual != signed.reportSha256 { problems.append(.reportChanged(signed: signed.reportSha256, stored: actual)) }
        } else {
            problems.append(.reportMissing)
        }
        return problems
    }
}
