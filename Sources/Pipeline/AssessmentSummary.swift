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
        var predictedClass: String?
        enum CodingKeys: String, CodingKey {
            case conformalSet = "conformal_set", calibratedConfidence = "calibrated_confidence", predictedClass = "predicted_class"
        }
    }

    struct Details: Decodable {
        var drift: Drift?
        var conformal: Conformal?
        /// Each class's conformal p-value for the case's first scan (the martingale's input once the truth is known).
        struct Conformal: Decodable {
            var pValues: [String: Double]?
            enum CodingKeys: String, CodingKey { case pValues = "p_values" }
        }
        struct Drift: Decodable {
            var trueLabel: String?
            var trueLabelPValue: Double?
            enum CodingKeys: String, CodingKey { case trueLabel = "true_label", trueLabelPValue = "true_label_p_value" }
        }
    }

    var provenance: Provenance?
    struct Provenance: Decodable {
        var modelId: String?
        var calibrator: String?
        var calibrationCount: Int?
        enum CodingKeys: String, CodingKey { case modelId = "model_id", calibrator, calibrationCount = "calibration_count" }
    }

    enum CodingKeys: String, CodingKey { case caseId = "case_id", disposition, evidence, details, provenance }

    static func decode(_ json: String) throws -> AssessmentSummary {
        try JSONDecoder().decode(AssessmentSummary.self, from: Data(json.utf8))
    }
}
