import Foundation
import Policy

/// The few fields of a stored assessment that run-level figures and the review queue need, decoded
/// without materialising the (large) detail blobs — decoding whole assessments dominated long runs.
struct AssessmentSummary: Decodable {
    var caseId: String
    var disposition: Disposition
    var evidence: Evidence
    var details: Details

    struct Evidence: Decodable {
        var conformalSet: ConformalSetEvidence?
        var calibratedConfidence: Double?
        enum CodingKeys: String, CodingKey { case conformalSet = "conformal_set", calibratedConfidence = "calibrated_confidence" }
    }

    struct Details: Decodable {
        var drift: Drift?
        struct Drift: Decodable {
            var trueLabel: String?
            var trueLabelPValue: Double?
            enum CodingKeys: String, CodingKey { case trueLabel = "true_label", trueLabelPValue = "true_label_p_value" }
        }
    }

    enum CodingKeys: String, CodingKey { case caseId = "case_id", disposition, evidence, details }

    static func decode(_ json: String) throws -> AssessmentSummary {
        try JSONDecoder().decode(AssessmentSummary.self, from: Data(json.utf8))
    }
}
