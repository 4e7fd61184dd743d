import Digests
import Foundation

/// Everything decided about one case in one run: the evidence, the checks, the disposition and
/// where every number came from. Shared by Pipeline (writes it), Reports (renders it) and Review
/// (signs against it). Its canonical JSON (sorted keys, no wall-clock time) is byte-stable, so a
/// resumed run reproduces it exactly and its SHA-256 can be signed.
public struct Assessment: Codable, Equatable, Sendable {
    /// Assessment format version.
    public static let formatVersion = 1

    public var formatVersion: Int
    public var caseId: String
    public var runId: String
    public var study: String
    /// What the stages found (nil fields: stage did not run).
    public var evidence: CaseEvidence
    public var checks: [Check]
    public var disposition: Disposition
    public var provenance: AssessmentProvenance
    /// Richer detail blobs the Pipeline attaches (e.g. "neighbours", "scans", "calibration").
    public var details: [String: JSONValue]

    public init(caseId: String, runId: String, study: String, evidence: CaseEvidence, checks: [Check],
                disposition: Disposition, provenance: AssessmentProvenance, details: [String: JSONValue] = [:]) {
        self.formatVersion = Self.formatVersion
        self.caseId = caseId; self.runId = runId; self.study = study; self.evidence = evidence
        self.checks = checks; self.disposition = disposition; self.provenance = provenance; self.details = details
    }

    /// Evaluates `policy` on `evidence` and records the policy's name and hash in the provenance.
    public init(caseId: String, runId: String, study: String, evidence: CaseEvidence, policy: AuditPolicy,
                provenance: AssessmentProvenance, details: [String: JSONValue] = [:]) {
        // Stored as evaluated: measurements outside their domain were not evaluated, so they are not kept.
        let evidence = evidence.validMeasurements
        let decision = policy.evaluate(evidence)
        var provenance = provenance
        provenance.policyName = policy.name
        provenance.policySHA256 = policy.sha256
        provenance.runId = runId
        self.init(caseId: caseId, runId: runId, study: study, evidence: evidence, checks: decision.checks,
                  disposition: decision.disposition, provenance: provenance, details: details)
    }

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version", caseId = "case_id", runId = "run_id", study, evidence, checks
        case disposition, provenance, details
    }

    /// Canonical JSON: sorted keys, no insignificant whitespace, slashes unescaped. Exactly the bytes
    /// of `canonicalEncoder`, written directly (tested equal); a value the direct path cannot spell
    /// with certainty (a whole number beyond 2^53, a non-finite typed field) takes `canonicalEncoder`.
    public func canonicalJSON() throws -> Data {
        if let value = try? JSONValueEncoding.encode(self), let bytes = try? CanonicalJSONWriter.bytes(value) {
            return Data(bytes)
        }
        return try Self.canonicalEncoder.encode(self)
    }

    /// Lower-case hex SHA-256 of `canonicalJSON()`.
    public func sha256() throws -> String {
        ContentHash.sha256Hex(try canonicalJSON())
    }

    /// Decodes an assessment from its JSON.
    public static func decode(_ data: Data) throws -> Assessment {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = nonConformingFloats
        return try decoder.decode(Assessment.self, from: data)
    }

    /// The encoder behind `canonicalJSON()`, for other values that must hash the same way.
    ///
    /// Why not the audit log's `CanonicalJSON`: an assessment's bytes are what `assessment_sha256`,
    /// its reports and every reviewer's signature are computed over, and they keep non-finite numbers
    /// (as "NaN"/"Infinity" strings), which the log's canonical form refuses. The two spellings are
    /// each fixed by what was already signed with them, so they stay two; each is one place.
    public static var canonicalEncoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = nonConformingFloatsForEncoding
        return encoder
    }

    /// Non-finite numbers in detail blobs are written as the strings "NaN", "Infinity", "-Infinity"
    /// instead of making encoding fail.
    static let nonConformingFloats = JSONDecoder.NonConformingFloatDecodingStrategy
        .convertFromString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
    static let nonConformingFloatsForEncoding = JSONEncoder.NonConformingFloatEncodingStrategy
        .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
}

/// Where an assessment's numbers come from, so a reader can recompute them from the case store.
public struct AssessmentProvenance: Codable, Equatable, Sendable {
    /// SHA-256 of the model's weights.
    public var modelId: String?
    /// Calibrator kind and id (e.g. "temperature:3f2a…").
    public var calibrator: String?
    /// Size of the calibration set the calibrator and conformal sets were fitted on.
    public var calibrationCount: Int?
    /// α of the conformal sets.
    public var alpha: Double?
    /// Number of bins of the ECE figures shown.
    public var eceBins: Int?
    public var policyName: String
    public var policySHA256: String
    public var runId: String

    public init(modelId: String? = nil, calibrator: String? = nil, calibrationCount: Int? = nil, alpha: Double? = nil,
                eceBins: Int? = nil, policyName: String = "", policySHA256: String = "", runId: String = "") {
        self.modelId = modelId; self.calibrator = calibrator; self.calibrationCount = calibrationCount
        self.alpha = alpha; self.eceBins = eceBins; self.policyName = policyName
        self.policySHA256 = policySHA256; self.runId = runId
    }

    enum CodingKeys: String, CodingKey {
        case modelId = "model_id", calibrator, calibrationCount = "calibration_count", alpha, eceBins = "ece_bins"
        case policyName = "policy_name", policySHA256 = "policy_sha256", runId = "run_id"
    }
}
