import Digests
import Foundation
import XCTest
@testable import Policy

final class PolicyLoadingTests: XCTestCase {
    /// A minimal valid policy; each test breaks exactly one line of it.
    static let minimal = """
    policy: test
    version: 1
    intended_use: "unit tests"
    conformal:
      alpha: 0.1
      class_conditional: true
    report_without_review:
      min_confidence: 0.9
    review:
      reviewers: 1
      second_reviewer_for_classes: [malignant]
    """

    func testMinimalPolicyLoadsWithDocumentedDefaults() throws {
        let policy = try AuditPolicy.parse(Self.minimal, source: "minimal.yaml")
        XCTAssertEqual(policy.name, "test")
        XCTAssertEqual(policy.conformal.alpha, 0.1)
        XCTAssertEqual(policy.conformal.score, .aps)
        XCTAssertEqual(policy.reportWithoutReview.minConfidence, 0.9)
        XCTAssertEqual(policy.reportWithoutReview.maxOODPercentile, 95)
        XCTAssertTrue(policy.reportWithoutReview.allowed)
        XCTAssertEqual(policy.abstain.maxCalibrationAgeDays, 180)
        XCTAssertEqual(policy.review.secondReviewerForClasses, ["malignant"])
        XCTAssertEqual(policy.review.minSeconds, 30)
        XCTAssertEqual(policy.repeatScans.maxScans, 4)
        XCTAssertEqual(policy.repeatScans.claimConstruction, .modelFree)
        XCTAssertEqual(policy.source, "minimal.yaml")
    }

    /// `monitoring`: documented defaults, `null` switches a threshold off, a bad value names its key.
    func testMonitoringThresholds() throws {
        let defaults = try AuditPolicy.parse(Self.minimal, source: "minimal.yaml").monitoring
        XCTAssertEqual(defaults, AuditPolicy.MonitoringRules())
        XCTAssertEqual(defaults.minAccuracy, 0.85)
        XCTAssertEqual(defaults.minCases, 20)
        let set = try AuditPolicy.parse(Self.minimal + "\nmonitoring:\n  min_accuracy: null\n  max_ece: 0.05\n  min_cases: 50\n  on_martingale_alarm: false\n",
                                        source: "m.yaml").monitoring
        XCTAssertNil(set.minAccuracy)
        XCTAssertEqual(set.maxECE, 0.05)
        XCTAssertEqual(set.minCases, 50)
        XCTAssertFalse(set.onMartingaleAlarm)
        let error = try XCTUnwrap(policyError(Self.minimal + "\nmonitoring:\n  max_ece: 1.5\n"))
        XCTAssertEqual(error.kind, .outOfRange)
        XCTAssertEqual(error.keyPath, "monitoring.max_ece")
        XCTAssertEqual(try XCTUnwrap(policyError(Self.minimal + "\nmonitoring:\n  min_acuracy: 0.9\n")).kind, .unknownKey)
    }

    /// `repeat_scans.next_configuration` and `stopping_rule`: defaults, set values, a bad word named.
    func testConfigurationAndStoppingRules() throws {
        let defaults = try AuditPolicy.parse(Self.minimal, source: "minimal.yaml").repeatScans
        XCTAssertEqual(defaults.nextConfiguration, .fixed)
        XCTAssertEqual(defaults.stoppingRule, .firstClaim)
        let set = try AuditPolicy.parse(Self.minimal + "\nrepeat_scans:\n  next_configuration: advised\n  stopping_rule: max-scans\n",
                                        source: "s.yaml").repeatScans
        XCTAssertEqual(set.nextConfiguration, .advised)
        XCTAssertEqual(set.stoppingRule, .maxScans)
        let error = try XCTUnwrap(policyError(Self.minimal + "\nrepeat_scans:\n  next_configuration: random\n"))
        XCTAssertEqual(error.kind, .invalidValue)
        XCTAssertEqual(error.keyPath, "repeat_scans.next_configuration")
        XCTAssertTrue(error.description.contains("advised, fixed"), error.description)
    }

    /// `baseline.on_model_not_better`: default warn (noted only); review and escalate act on a model
    /// that does not beat the baseline; without a comparison the enforced check is not evaluated.
    func testBaselineAction() throws {
        let worse = BaselineEvidence(modelBetter: false, measured: "accuracy 0.7 vs 0.88", detail: "worse")
        var evidence = CaseEvidence(baseline: worse)
        let noted = try AuditPolicy.parse(Self.minimal, source: "m.yaml")
        XCTAssertEqual(noted.baseline.onModelNotBetter, .warn)
        XCTAssertEqual(noted.checks(for: evidence).first { $0.id == .modelBeatsBaseline }?.status, .warn)
        let escalating = try AuditPolicy.parse(Self.minimal + "\nbaseline:\n  on_model_not_better: escalate\n", source: "e.yaml")
        let failed = try XCTUnwrap(escalating.checks(for: evidence).first { $0.id == .modelBeatsBaseline })
        XCTAssertEqual(failed.status, .fail)
        XCTAssertEqual(failed.onFailure, .escalate)
        evidence.baseline?.modelBetter = true
        XCTAssertEqual(escalating.checks(for: evidence).first { $0.id == .modelBeatsBaseline }?.status, .pass)
        evidence.baseline = nil
        XCTAssertEqual(escalating.checks(for: evidence).first { $0.id == .modelBeatsBaseline }?.status, .notEvaluated)
        XCTAssertNil(noted.checks(for: evidence).first { $0.id == .modelBeatsBaseline }, "noted only and not measured: not shown")
        let error = try XCTUnwrap(policyError(Self.minimal + "\nbaseline:\n  on_model_not_better: ignore\n"))
        XCTAssertEqual(error.keyPath, "baseline.on_model_not_better")
        XCTAssertTrue(error.description.contains("warn, review, escalate"), error.description)
    }

    func testUnknownKeyNamesLineColumnKeyPathAndSuggestion() throws {
        let text = Self.minimal.replacingOccurrences(of: "  min_confidence: 0.9", with: "  min_confidense: 0.9")
        let error = try XCTUnwrap(policyError(text, source: "Policies/typo.yaml"))
        XCTAssertEqual(error.kind, .unknownKey)
        XCTAssertEqual(error.line, 8)
        XCTAssertEqual(error.column, 3)
        XCTAssertEqual(error.keyPath, "report_without_review.min_confidense")
        XCTAssertTrue(error.description.hasPrefix("Policies/typo.yaml:8:3: report_without_review.min_confidense: unknown key"),
                      error.description)
        XCTAssertTrue(error.description.contains("did you mean 'min_confidence'"), error.description)
    }

    func testUnknownTopLevelKey() throws {
        let error = try XCTUnwrap(policyError(Self.minimal + "\nreviewrs: 2\n"))
        XCTAssertEqual(error.kind, .unknownKey)
        XCTAssertEqual(error.line, 12)
        XCTAssertEqual(error.keyPath, "reviewrs")
        XCTAssertTrue(error.description.hasPrefix("test.yaml:12:1:"), error.description)
    }

    func testWrongTypeStringForNumber() throws {
        let text = Self.minimal.replacingOccurrences(of: "alpha: 0.1", with: "alpha: \"0.1\"")
        let error = try XCTUnwrap(policyError(text))
        XCTAssertEqual(error.kind, .wrongType)
        XCTAssertEqual(error.line, 5)
        XCTAssertEqual(error.column, 10)
        XCTAssertEqual(error.keyPath, "conformal.alpha")
        XCTAssertTrue(error.description.hasPrefix("test.yaml:5:10: conformal.alpha: expected a number"), error.description)
    }

    func testWrongTypeNumberForBoolAndListForString() throws {
        let boolError = try XCTUnwrap(policyError(
            Self.minimal.replacingOccurrences(of: "class_conditional: true", with: "class_conditional: 1")))
        XCTAssertEqual(boolError.kind, .wrongType)
        XCTAssertEqual(boolError.line, 6)
        XCTAssertEqual(boolError.keyPath, "conformal.class_conditional")

        let listError = try XCTUnwrap(policyError(
            Self.minimal.replacingOccurrences(of: "policy: test", with: "policy: [a, b]")))
        XCTAssertEqual(listError.kind, .wrongType)
        XCTAssertEqual(listError.line, 1)
        XCTAssertEqual(listError.keyPath, "policy")

        let reviewersError = try XCTUnwrap(policyError(
            Self.minimal.replacingOccurrences(of: "reviewers: 1", with: "reviewers: 1.5")))
        XCTAssertEqual(reviewersError.kind, .wrongType)
        XCTAssertEqual(reviewersError.line, 10)
        XCTAssertEqual(reviewersError.keyPath, "review.reviewers")

        let sectionError = try XCTUnwrap(policyError(
            Self.minimal.replacingOccurrences(of: "review:\n  reviewers: 1\n  second_reviewer_for_classes: [malignant]",
                                              with: "review: yes")))
        XCTAssertEqual(sectionError.kind, .wrongType)
        XCTAssertEqual(sectionError.line, 9)
        XCTAssertEqual(sectionError.keyPath, "review")

        let itemError = try XCTUnwrap(policyError(
            Self.minimal.replacingOccurrences(of: "[malignant]", with: "[malignant, 3]")))
        XCTAssertEqual(itemError.kind, .wrongType)
        XCTAssertEqual(itemError.line, 11)
        XCTAssertEqual(itemError.keyPath, "review.second_reviewer_for_classes[1]")
    }

    func testOutOfRangeValues() throws {
        let cases: [(String, String, Int, String)] = [
            ("alpha: 0.1", "alpha: 0.7", 5, "conformal.alpha"),
            ("alpha: 0.1", "alpha: 0", 5, "conformal.alpha"),
            ("min_confidence: 0.9", "min_confidence: 1.2", 8, "report_without_review.min_confidence"),
            ("reviewers: 1", "reviewers: 0", 10, "review.reviewers"),
            ("alpha: 0.1", "alpha: .nan", 5, "conformal.alpha"),
            ("reviewers: 1", "reviewers: 99999999999999999999999", 10, "review.reviewers"),
        ]
        for (old, new, line, keyPath) in cases {
            let error = try XCTUnwrap(policyError(Self.minimal.replacingOccurrences(of: old, with: new)), new)
            XCTAssertEqual(error.kind, .outOfRange, new)
            XCTAssertEqual(error.line, line, new)
            XCTAssertEqual(error.keyPath, keyPath, new)
            XCTAssertTrue(error.description.hasPrefix("test.yaml:\(line):"), error.description)
            XCTAssertTrue(error.description.contains("allowed"), error.description)
        }
    }

    func testInvalidEnumWordAndUnsupportedVersion() throws {
        let merge = try XCTUnwrap(policyError(Self.minimal + "\nrepeat_scans:\n  merge: median\n"))
        XCTAssertEqual(merge.kind, .invalidValue)
        XCTAssertEqual(merge.line, 13)
        XCTAssertEqual(merge.keyPath, "repeat_scans.merge")
        XCTAssertTrue(merge.description.contains("average, pooled-recalibration"), merge.description)

        let version = try XCTUnwrap(policyError(Self.minimal.replacingOccurrences(of: "version: 1", with: "version: 2")))
        XCTAssertEqual(version.kind, .invalidValue)
        XCTAssertEqual(version.line, 2)
    }

    func testMissingRequiredKey() throws {
        let error = try XCTUnwrap(policyError(Self.minimal.replacingOccurrences(of: "intended_use: \"unit tests\"\n", with: "")))
        XCTAssertEqual(error.kind, .missingKey)
        XCTAssertEqual(error.keyPath, "intended_use")
        XCTAssertEqual(error.line, 1)
    }

    func testBadYAMLNamesLine() throws {
        // An unclosed flow sequence on line 11.
        let text = Self.minimal.replacingOccurrences(of: "[malignant]", with: "[malignant")
        let error = try XCTUnwrap(policyError(text, source: "Policies/broken.yaml"))
        XCTAssertEqual(error.kind, .invalidYAML)
        XCTAssertNotNil(error.line)
        XCTAssertGreaterThanOrEqual(error.line ?? 0, 11)
        XCTAssertTrue(error.description.hasPrefix("Policies/broken.yaml:\(error.line ?? -1):"), error.description)

        let tab = try XCTUnwrap(policyError("policy: x\nversion: 1\n\tintended_use: y\n"))
        XCTAssertEqual(tab.kind, .invalidYAML)
        XCTAssertEqual(tab.line, 3)
    }

    func testRootMustBeOneMapping() throws {
        let list = try XCTUnwrap(policyError("- policy: x\n- version: 1\n"))
        XCTAssertEqual(list.kind, .wrongType)
        XCTAssertEqual(list.line, 1)
        let twoDocuments = try XCTUnwrap(policyError(Self.minimal + "\n---\npolicy: other\n"))
        XCTAssertEqual(twoDocuments.kind, .invalidYAML)
        XCTAssertEqual(twoDocuments.line, 12)
    }

    func testDuplicateKeyIsRefused() throws {
        let error = try XCTUnwrap(policyError(Self.minimal + "\npolicy: again\n"))
        XCTAssertEqual(error.kind, .invalidYAML)
        XCTAssertTrue(error.description.contains("'policy'"), error.description)
        XCTAssertNotNil(error.line)
    }

    func testCrossFieldConsistency() throws {
        let ood = try XCTUnwrap(policyError(Self.minimal + "\nabstain:\n  ood_percentile_above: 90\n"))
        XCTAssertEqual(ood.kind, .invalidValue)
        XCTAssertEqual(ood.line, 13)
        XCTAssertEqual(ood.keyPath, "abstain.ood_percentile_above")

        let typo = try XCTUnwrap(policyError(Self.minimal + "\napplies_to:\n  classes: [benign, malignent]\n"))
        XCTAssertEqual(typo.kind, .invalidValue)
        XCTAssertEqual(typo.keyPath, "review.second_reviewer_for_classes")
        XCTAssertEqual(typo.line, 11)
    }

    func testNullOnlyWhereAllowed() throws {
        let noLimit = try AuditPolicy.parse(Self.minimal + "\nabstain:\n  max_calibration_age_days: null\n", source: "t")
        XCTAssertNil(noLimit.abstain.maxCalibrationAgeDays)
        let error = try XCTUnwrap(policyError(Self.minimal.replacingOccurrences(of: "min_confidence: 0.9", with: "min_confidence:")))
        XCTAssertEqual(error.kind, .wrongType)
        XCTAssertEqual(error.line, 8)
    }

    func testEmptyFileAndMissingFile() throws {
        let empty = try XCTUnwrap(policyError(""))
        XCTAssertEqual(empty.line, 1)
        XCTAssertThrowsError(try AuditPolicy.load(path: "/nonexistent/policy.yaml")) { error in
            let policyError = error as? PolicyError
            XCTAssertEqual(policyError?.kind, .unreadableFile)
            XCTAssertEqual(policyError?.file, "/nonexistent/policy.yaml")
        }
    }

    func testHashIsSHA256OfExactBytes() throws {
        // FIPS 180-2 test vector: SHA-256("abc").
        XCTAssertEqual(ContentHash.sha256Hex("abc"),
                       "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let a = try AuditPolicy.parse(Self.minimal, source: "a")
        let b = try AuditPolicy.parse(Self.minimal + "\n# a comment changes the bytes\n", source: "b")
        XCTAssertEqual(a.sha256, ContentHash.sha256Hex(Self.minimal))
        XCTAssertNotEqual(a.sha256, b.sha256)
        XCTAssertEqual(a.sha256.count, 64)
    }

    func testTextIsTheExactBytesAndReparsesToTheSamePolicy() throws {
        let withBOM = Data([0xEF, 0xBB, 0xBF]) + Data(Self.minimal.utf8) + Data("\r\n".utf8)
        let policy = try AuditPolicy.parse(withBOM, source: "bom.yaml")
        XCTAssertEqual(Data(policy.text.utf8), withBOM)
        XCTAssertEqual(policy.sha256, ContentHash.sha256Hex(withBOM))
        let again = try AuditPolicy.parse(policy.text, source: "bom.yaml")
        XCTAssertEqual(again, policy)
        let invalid = Data([0x70, 0xFF, 0xFE])
        XCTAssertThrowsError(try AuditPolicy.parse(invalid, source: "bad.yaml")) { error in
            XCTAssertEqual((error as? PolicyError)?.kind, .unreadableFile)
        }
    }
}
