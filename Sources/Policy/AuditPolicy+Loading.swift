import Digests
import Foundation
import Yams

extension AuditPolicy {
    /// Top-level keys of schema version 1, in the order the README documents them.
    static let topLevelKeys = ["policy", "version", "intended_use", "applies_to", "dangerous_classes", "conformal",
                               "report_without_review", "abstain", "escalate", "review", "repeat_scans", "audit_log", "web",
                               "monitoring", "baseline"]

    /// Keys allowed inside each section of schema version 1.
    static let sectionKeys: [String: [String]] = [
        "applies_to": ["classes"],
        "conformal": ["alpha", "class_conditional", "score"],
        "report_without_review": ["allowed", "min_confidence", "singleton_set", "min_credibility", "max_ood_percentile",
                                  "allow_scan_disagreement", "require_established_claim"],
        "abstain": ["ood_percentile_above", "on_drift_alarm", "on_calibrator_missing", "on_calibrator_mismatch",
                    "max_calibration_age_days", "on_log_verification_failure"],
        "escalate": ["on_scans_over_limit", "on_dangerous_class_not_excluded"],
        "review": ["reviewers", "second_reviewer_for_classes", "min_seconds", "blind_first_read", "catch_trial_rate",
                   "override_reasons"],
        "repeat_scans": ["max_scans", "merge", "claim_construction", "claim_alpha", "next_configuration", "stopping_rule"],
        "audit_log": ["witness_folder"],
        "baseline": ["on_model_not_better"],
        "web": ["idle_timeout_minutes", "absolute_timeout_hours", "max_failed_sign_ins", "lockout_minutes"],
        "monitoring": ["min_cases", "min_labelled", "min_accuracy", "min_estimated_accuracy", "max_ece", "coverage_below_guarantee",
                       "on_martingale_alarm", "max_abstention_rate", "max_escalation_rate", "max_override_rate", "max_estimate_error"],
    ]

    /// Reader for one section, with its allowed keys from `sectionKeys`.
    private static func section(_ name: String, of top: PolicyYAMLReader) throws -> PolicyYAMLReader {
        try top.section(name, allowedKeys: sectionKeys[name] ?? [])
    }

    /// Loads and validates a policy file. Errors name the file, line, column and key path.
    public static func load(contentsOf url: URL) throws -> AuditPolicy {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw PolicyError(kind: .unreadableFile, file: url.path, line: nil, column: nil, keyPath: nil,
                              message: "cannot read the policy file (\(error.localizedDescription))")
        }
        return try parse(data, source: url.path)
    }

    /// Loads and validates a policy file at a path.
    public static func load(path: String) throws -> AuditPolicy {
        try load(contentsOf: URL(fileURLWithPath: path))
    }

    /// Parses policy bytes. `source` labels the bytes in errors and provenance (a path or
    /// `embedded:default.yaml`). The hash is taken over exactly these bytes.
    public static func parse(_ data: Data, source: String) throws -> AuditPolicy {
        guard String(data: data, encoding: .utf8) != nil else {
            throw PolicyError(kind: .unreadableFile, file: source, line: nil, column: nil, keyPath: nil,
                              message: "the policy file is not valid UTF-8 text")
        }
        // Decoded without normalisation (a byte-order mark stays), so `text.utf8` equals `data`.
        let text = String(decoding: data, as: UTF8.self)
        let root: Node
        do {
            // The hash covers a byte-order mark, but the YAML parser is given the text without it.
            var yaml = text
            if yaml.unicodeScalars.first == "\u{FEFF}" { yaml = String(yaml.unicodeScalars.dropFirst()) }
            guard let node = try Yams.compose(yaml: yaml) else {
                throw PolicyError(kind: .missingKey, file: source, line: 1, column: 1, keyPath: nil,
                                  message: "the policy file is empty")
            }
            root = node
        } catch let error as PolicyError {
            throw error
        } catch let error as YamlError {
            throw PolicyError(yamlError: error, file: source)
        } catch {
            throw PolicyError(kind: .invalidYAML, file: source, line: nil, column: nil, keyPath: nil,
                              message: "not valid YAML (\(error))")
        }
        var policy = try AuditPolicy(root: root, file: source)
        policy.sha256 = ContentHash.sha256Hex(data)
        policy.text = text
        return policy
    }

    /// Parses policy text (hashed as its UTF-8 bytes).
    public static func parse(_ text: String, source: String) throws -> AuditPolicy {
        try parse(Data(text.utf8), source: source)
    }

    init(root: Node, file: String) throws {
        let top = try PolicyYAMLReader(root, path: "", file: file, allowedKeys: Self.topLevelKeys)

        name = try top.string("policy")
        version = try top.int("version", range: 0...Int.max)
        guard Self.supportedVersions.contains(version) else {
            throw top.error(.invalidValue, "version",
                            "version \(version) is not supported; this build reads version \(Self.supportedVersions.lowerBound)...\(Self.supportedVersions.upperBound)")
        }
        intendedUse = try top.string("intended_use")

        let applies = try Self.section("applies_to", of: top)
        appliesTo = AppliesTo(classes: try applies.stringList("classes", default: []))

        dangerousClasses = try top.stringList("dangerous_classes", default: [])
        try Self.requireKnownClasses(dangerousClasses, key: "dangerous_classes", reader: top, known: appliesTo.classes)

        let conformalSection = try Self.section("conformal", of: top)
        conformal = ConformalRules(
            alpha: try conformalSection.requiredDouble("alpha", default: 0.1,
                                                       range: NumberRange(lower: 0, upper: 0.5, lowerOpen: true)),
            classConditional: try conformalSection.bool("class_conditional", default: true),
            score: try conformalSection.choice("score", default: ConformalScore.aps))

        let unit = NumberRange(lower: 0, upper: 1)
        let percent = NumberRange(lower: 0, upper: 100)
        let rwr = try Self.section("report_without_review", of: top)
        reportWithoutReview = ReportWithoutReviewRules(
            allowed: try rwr.bool("allowed", default: true),
            minConfidence: try rwr.requiredDouble("min_confidence", default: 0.95, range: unit),
            singletonSet: try rwr.bool("singleton_set", default: true),
            minCredibility: try rwr.requiredDouble("min_credibility", default: 0.1, range: unit),
            maxOODPercentile: try rwr.requiredDouble("max_ood_percentile", default: 95, range: percent),
            allowScanDisagreement: try rwr.bool("allow_scan_disagreement", default: false),
            requireEstablishedClaim: try rwr.bool("require_established_claim", default: true))

        let abstainSection = try Self.section("abstain", of: top)
        abstain = AbstainRules(
            oodPercentileAbove: try abstainSection.requiredDouble("ood_percentile_above", default: 99.5, range: percent),
            onDriftAlarm: try abstainSection.bool("on_drift_alarm", default: true),
            onCalibratorMissing: try abstainSection.bool("on_calibrator_missing", default: true),
            onCalibratorMismatch: try abstainSection.bool("on_calibrator_mismatch", default: true),
            maxCalibrationAgeDays: try abstainSection.has("max_calibration_age_days")
                ? abstainSection.double("max_calibration_age_days", default: nil,
                                        range: NumberRange(lower: 1, upper: 3650), nullable: true)
                : 180,
            onLogVerificationFailure: try abstainSection.bool("on_log_verification_failure", default: true))
        if reportWithoutReview.maxOODPercentile > abstain.oodPercentileAbove {
            let key = rwr.has("max_ood_percentile") ? rwr : abstainSection
            let name = rwr.has("max_ood_percentile") ? "max_ood_percentile" : "ood_percentile_above"
            throw key.error(.invalidValue, name,
                            "report_without_review.max_ood_percentile (\(formatNumber(reportWithoutReview.maxOODPercentile))) must not exceed abstain.ood_percentile_above (\(formatNumber(abstain.oodPercentileAbove)))")
        }

        let escalateSection = try Self.section("escalate", of: top)
        escalate = EscalateRules(
            onScansOverLimit: try escalateSection.bool("on_scans_over_limit", default: true),
            onDangerousClassNotExcluded: try escalateSection.bool("on_dangerous_class_not_excluded", default: true))

        let reviewSection = try Self.section("review", of: top)
        review = ReviewRules(
            reviewers: try reviewSection.int("reviewers", default: 1, range: 1...5),
            secondReviewerForClasses: try reviewSection.stringList("second_reviewer_for_classes", default: []),
            minSeconds: try reviewSection.requiredDouble("min_seconds", default: 30,
                                                         range: NumberRange(lower: 0, upper: 3600)),
            blindFirstRead: try reviewSection.bool("blind_first_read", default: false),
            catchTrialRate: try reviewSection.requiredDouble("catch_trial_rate", default: 0.02,
                                                             range: NumberRange(lower: 0, upper: 0.5)),
            overrideReasons: try reviewSection.stringList("override_reasons", default: []))
        try Self.requireKnownClasses(review.secondReviewerForClasses, key: "second_reviewer_for_classes",
                                     reader: reviewSection, known: appliesTo.classes)

        let scans = try Self.section("repeat_scans", of: top)
        repeatScans = RepeatScanRules(
            maxScans: try scans.int("max_scans", default: 4, range: 1...100),
            merge: try scans.choice("merge", default: ScanMerge.average),
            claimConstruction: try scans.choice("claim_construction", default: ClaimConstruction.modelFree),
            claimAlpha: try scans.requiredDouble("claim_alpha", default: 0.05,
                                                 range: NumberRange(lower: 0, upper: 0.5, lowerOpen: true)),
            nextConfiguration: try scans.choice("next_configuration", default: NextConfiguration.fixed),
            stoppingRule: try scans.choice("stopping_rule", default: StoppingRule.firstClaim))

        let baselineSection = try Self.section("baseline", of: top)
        baseline = BaselineRules(onModelNotBetter: try baselineSection.choice("on_model_not_better", default: BaselineAction.warn))

        let logSection = try Self.section("audit_log", of: top)
        auditLog = AuditLogRules(witnessFolder: logSection.has("witness_folder") ? try logSection.string("witness_folder") : nil)

        let webSection = try Self.section("web", of: top)
        web = WebRules(
            idleTimeoutMinutes: try webSection.requiredDouble("idle_timeout_minutes", default: 15, range: NumberRange(lower: 1, upper: 480)),
            absoluteTimeoutHours: try webSection.requiredDouble("absolute_timeout_hours", default: 8, range: NumberRange(lower: 1, upper: 24)),
            maxFailedSignIns: try webSection.int("max_failed_sign_ins", default: 5, range: 1...20),
            lockoutMinutes: try webSection.requiredDouble("lockout_minutes", default: 15, range: NumberRange(lower: 1, upper: 1440)))

        let m = try Self.section("monitoring", of: top), d = MonitoringRules(), share = NumberRange(lower: 0, upper: 1)
        monitoring = MonitoringRules(
            minCases: try m.int("min_cases", default: d.minCases, range: 1...1_000_000),
            minLabelled: try m.int("min_labelled", default: d.minLabelled, range: 1...1_000_000),
            minAccuracy: m.has("min_accuracy") ? try m.double("min_accuracy", default: nil, range: share, nullable: true) : d.minAccuracy,
            minEstimatedAccuracy: m.has("min_estimated_accuracy")
                ? try m.double("min_estimated_accuracy", default: nil, range: share, nullable: true) : d.minEstimatedAccuracy,
            maxECE: m.has("max_ece") ? try m.double("max_ece", default: nil, range: share, nullable: true) : d.maxECE,
            coverageBelowGuarantee: try m.bool("coverage_below_guarantee", default: d.coverageBelowGuarantee),
            onMartingaleAlarm: try m.bool("on_martingale_alarm", default: d.onMartingaleAlarm),
            maxAbstentionRate: m.has("max_abstention_rate") ? try m.double("max_abstention_rate", default: nil, range: share, nullable: true) : d.maxAbstentionRate,
            maxEscalationRate: m.has("max_escalation_rate") ? try m.double("max_escalation_rate", default: nil, range: share, nullable: true) : d.maxEscalationRate,
            maxOverrideRate: m.has("max_override_rate") ? try m.double("max_override_rate", default: nil, range: share, nullable: true) : d.maxOverrideRate,
            maxEstimateError: m.has("max_estimate_error") ? try m.double("max_estimate_error", default: nil, range: share, nullable: true) : d.maxEstimateError)

        source = file
        sha256 = ""
        text = ""
    }

    /// When `applies_to.classes` is given, class lists elsewhere must name only those classes
    /// (a typo such as `malignent` would otherwise silently disable a safeguard).
    private static func requireKnownClasses(_ classes: [String], key: String, reader: PolicyYAMLReader,
                                            known: [String]) throws {
        guard !known.isEmpty else { return }
        if let stranger = classes.first(where: { !known.contains($0) }) {
            throw reader.error(.invalidValue, key,
                               "'\(stranger)' is not one of applies_to.classes (\(known.joined(separator: ", ")))")
        }
    }
}

extension PolicyError {
    /// Translates a Yams parse error into a policy error with the file, line and column.
    init(yamlError: YamlError, file: String) {
        switch yamlError {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _),
             let .composer(context, problem, mark, _):
            var message = "not valid YAML: \(problem)"
            if let context { message += " (\(context.text) at line \(context.mark.line), column \(context.mark.column))" }
            self.init(kind: .invalidYAML, file: file, line: mark.line, column: mark.column, keyPath: nil, message: message)
        case let .duplicatedKeysInMapping(duplicates, context):
            self.init(kind: .invalidYAML, file: file, line: context.mark.line, column: context.mark.column, keyPath: nil,
                      message: "duplicate key(s) \(duplicates.sorted().map { "'\($0)'" }.joined(separator: ", ")) in the mapping")
        case let .reader(problem, offset, _, yaml):
            var line: Int?
            var column: Int?
            if let offset {
                let prefix = yaml.utf8.prefix(offset)
                line = prefix.filter { $0 == UInt8(ascii: "\n") }.count + 1
                column = prefix.reversed().prefix { $0 != UInt8(ascii: "\n") }.count + 1
            }
            self.init(kind: .invalidYAML, file: file, line: line, column: column, keyPath: nil,
                      message: "not valid YAML: \(problem)")
        default:
            self.init(kind: .invalidYAML, file: file, line: nil, column: nil, keyPath: nil,
                      message: "not valid YAML: \(yamlError)")
        }
    }
}
