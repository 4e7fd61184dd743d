import Foundation

extension AuditPolicy {
    /// Runs every check the policy asks for over one case's evidence, in a fixed order (abstention,
    /// escalation, second reviewer, report-without-review). A condition the policy switches off is
    /// still shown as `warn` when the evidence is there (and omitted when it is not), so a reader
    /// sees it without it blocking anything.
    ///
    /// Measurements outside their domain (NaN, a probability above 1, a negative age) are treated as
    /// not evaluated: a broken stage must not pass a check by accident (`NaN > limit` is false).
    public func checks(for rawEvidence: CaseEvidence) -> [Check] {
        let evidence = rawEvidence.validMeasurements
        var checks: [Check] = []
        func add(_ check: Check?) { if let check { checks.append(check) } }

        add(intendedUseCheck(evidence))
        add(flagCheck(.calibratorPresent, value: evidence.calibratorPresent, enforced: abstain.onCalibratorMissing,
                      good: true, onFailure: .abstain, reference: RegulatoryReference.calibration,
                      passReason: "A calibrator is fitted, so the stated confidence is a calibrated probability.",
                      failReason: "No calibrator is fitted, so the model's confidence is not a trustworthy probability.",
                      missingReason: "Whether a calibrator exists was not checked."))
        add(flagCheck(.calibratorFitted, value: evidence.calibratorFittedForModel, enforced: abstain.onCalibratorMismatch,
                      good: true, onFailure: .abstain, reference: RegulatoryReference.calibration,
                      passReason: "The calibrator was fitted on this very model's outputs.",
                      failReason: "The calibrator was fitted for a different model, so its probabilities do not apply to this one.",
                      missingReason: "Whether the calibrator belongs to this model was not checked."))
        add(calibrationAgeCheck(evidence))
        add(baselineCheck(evidence))
        add(flagCheck(.driftAlarm, value: evidence.driftAlarm, enforced: abstain.onDriftAlarm,
                      good: false, onFailure: .abstain, reference: RegulatoryReference.postMarketMonitoring,
                      passReason: "Recent cases still look like the cases the model was calibrated on.",
                      failReason: "Recent cases no longer look like the calibration cases (drift alarm), so the guarantees may not hold.",
                      missingReason: "Drift monitoring did not run."))
        add(logVerificationCheck(evidence))
        add(farOutOfDistributionCheck(evidence))

        add(scanLimitCheck(evidence))
        add(dangerousClassExcludedCheck(evidence))

        add(secondReviewerClassCheck(evidence))

        add(humanOversightCheck())
        add(dangerousAnswerCheck(evidence))
        add(confidenceCheck(evidence))
        add(conformalSettingsCheck(evidence))
        add(singletonSetCheck(evidence))
        add(credibilityCheck(evidence))
        add(outOfDistributionCheck(evidence))
        add(scanAgreementCheck(evidence))
        add(establishedClaimCheck(evidence))
        return checks
    }

    // MARK: Class relevance

    /// Policy classes the model can actually answer (all of them when the study's classes are unknown).
    func relevant(_ classes: [String], _ evidence: CaseEvidence) -> [String] {
        guard let known = evidence.studyClasses else { return classes }
        return classes.filter { known.contains($0) }
    }

    // MARK: Abstention

    private func intendedUseCheck(_ e: CaseEvidence) -> Check? {
        guard !appliesTo.classes.isEmpty else { return nil }
        let check = CheckBuilder(id: .intendedUse, threshold: "one of " + classList(appliesTo.classes),
                                 reference: RegulatoryReference.intendedPurpose, onFailure: .abstain)
        guard let answer = e.predictedClass else {
            return check.notEvaluated("The model gave no answer, so it is unknown whether the case is within this policy's intended use.")
        }
        return check.outcome(appliesTo.classes.contains(answer), measured: answer,
                             pass: "The answer \(answer) is a class this policy was written for.",
                             fail: "The answer \(answer) is outside the classes this policy was written for, so the system does not answer.")
    }

    /// A yes/no condition: `good` is the healthy value; `enforced` says whether the policy acts on it.
    private func flagCheck(_ id: CheckID, value: Bool?, enforced: Bool, good: Bool, onFailure: Disposition.Kind,
                           reference: String, passReason: String, failReason: String, missingReason: String) -> Check? {
        let check = CheckBuilder(id: id, threshold: enforced ? (good ? "must be yes" : "must be no") : "noted only",
                                 reference: reference, onFailure: onFailure, enforced: enforced)
        guard let value else { return check.notEvaluatedIfEnforced(missingReason) }
        return check.outcome(value == good, measured: value ? "yes" : "no", pass: passReason, fail: failReason)
    }

    /// The model must be better than the model-free baseline on accuracy and NLL; `baseline.on_model_not_better`
    /// says what happens when it is not (`warn`: shown, blocking nothing).
    private func baselineCheck(_ e: CaseEvidence) -> Check? {
        let action = baseline.onModelNotBetter.disposition
        let check = CheckBuilder(id: .modelBeatsBaseline,
                                 threshold: action == nil ? "noted only" : "better than the model-free baseline on accuracy and NLL",
                                 reference: RegulatoryReference.baseline, onFailure: action ?? .review, enforced: action != nil)
        guard let b = e.baseline else {
            return check.notEvaluatedIfEnforced("The model was not compared with the model-free baseline when its calibrator was fitted.")
        }
        return check.outcome(b.modelBetter, measured: b.measured,
                             pass: "The model does better than the model-free 1-NN baseline on accuracy and NLL. " + b.detail,
                             fail: "The model does no better than the model-free 1-NN baseline, so its answers add nothing a nearest-neighbour lookup would not give. " + b.detail)
    }

    private func calibrationAgeCheck(_ e: CaseEvidence) -> Check? {
        guard let limit = abstain.maxCalibrationAgeDays else { return nil }
        let check = CheckBuilder(id: .calibrationAge, threshold: "≤ \(formatNumber(limit)) days",
                                 reference: RegulatoryReference.postMarketMonitoring, onFailure: .abstain)
        guard let age = e.calibrationAgeDays else { return check.notEvaluated("The age of the calibration was not checked.") }
        return check.outcome(age <= limit, measured: "\(formatNumber(age)) days",
                             pass: "The calibration is \(formatNumber(age)) days old, within the policy's limit.",
                             fail: "The calibration is \(formatNumber(age)) days old, older than the policy allows, so its probabilities may be out of date.")
    }

    private func logVerificationCheck(_ e: CaseEvidence) -> Check? {
        let enforced = abstain.onLogVerificationFailure
        let check = CheckBuilder(id: .logVerification, threshold: enforced ? "must verify" : "noted only",
                                 reference: RegulatoryReference.auditTrail, onFailure: .abstain, enforced: enforced)
        guard let state = e.logVerification else {
            return check.notEvaluatedIfEnforced("The audit log was not verified before this run.")
        }
        return check.outcome(state == .verified, measured: state.rawValue,
                             pass: "The audit log verified intact, so what the system records can be trusted later.",
                             fail: "The audit log failed verification, so the system cannot vouch for its own records.")
    }

    private func farOutOfDistributionCheck(_ e: CaseEvidence) -> Check {
        let check = CheckBuilder(id: .farOutOfDistribution, threshold: "≤ \(formatNumber(abstain.oodPercentileAbove)) (percentile)",
                                 reference: RegulatoryReference.outOfDistribution, onFailure: .abstain)
        guard let percentile = e.oodPercentile else {
            return check.notEvaluated("How unusual this case is compared with the reference cases was not measured.")
        }
        return check.outcome(percentile <= abstain.oodPercentileAbove, measured: formatNumber(percentile),
                             pass: "This case is not far outside the cases the model has seen.",
                             fail: "This case is unlike almost all cases the model has seen, so the model's answer is withheld.")
    }

    // MARK: Escalation

    private func scanLimitCheck(_ e: CaseEvidence) -> Check? {
        let check = CheckBuilder(id: .scanLimit, threshold: "≤ \(repeatScans.maxScans) scans",
                                 reference: RegulatoryReference.repeatScans, onFailure: .escalate,
                                 enforced: escalate.onScansOverLimit)
        guard let count = e.scanCount else {
            return check.notEvaluatedIfEnforced("The number of scans taken of this case was not counted.")
        }
        return check.outcome(count <= repeatScans.maxScans, measured: "\(count) scans",
                             pass: "\(count) scan\(count == 1 ? " was" : "s were") taken; the stated confidence accounts for all of them.",
                             fail: "\(count) scans were taken, more than the \(repeatScans.maxScans) allowed; repeated scanning until a wanted answer appears must be looked at by a senior clinician.")
    }

    private func dangerousClassExcludedCheck(_ e: CaseEvidence) -> Check? {
        let dangerous = relevant(dangerousClasses, e)
        guard !dangerous.isEmpty else { return nil }
        let check = CheckBuilder(id: .dangerousClassExcluded,
                                 threshold: "\"not " + dangerous.joined(separator: "\", \"not ") + "\" established at α = \(formatNumber(repeatScans.claimAlpha))",
                                 reference: RegulatoryReference.anytimeValid, onFailure: .escalate,
                                 enforced: escalate.onDangerousClassNotExcluded)
        guard let answer = e.predictedClass else {
            return check.notEvaluatedIfEnforced("The model gave no answer, so whether \(classList(dangerous)) was excluded is unknown.")
        }
        // A dangerous answer is not a reassurance; `dangerous-answer` sends it to review instead.
        if dangerous.contains(answer) { return nil }
        let rivals = dangerous
        guard let claims = e.claims else {
            return check.notEvaluatedIfEnforced("No anytime-valid test was run, so \(classList(rivals)) has not been excluded.")
        }
        var missing: [String] = []
        var open: [String] = []
        for rival in rivals {
            guard let claim = claims.first(where: { $0.againstClass == rival }) else { missing.append(rival); continue }
            if !claim.established { open.append(rival) }
        }
        let measured = rivals.map { rival -> String in
            guard let claim = claims.first(where: { $0.againstClass == rival }) else { return "not \(rival): not tested" }
            var value = claim.eValue.map { " (e = \(formatNumber($0))" } ?? ""
            if !value.isEmpty { value += claim.threshold.map { ", needs \(formatNumber($0)))" } ?? ")" }
            return "not \(rival): \(claim.established ? "established" : "not established")\(value)"
        }.joined(separator: "; ")
        if !open.isEmpty {
            return check.fail(measured, "The answer \(answer) would reassure, but \(classList(open)) has not been excluded over all scans taken, so a senior clinician decides.")
        }
        if !missing.isEmpty {
            return check.notEvaluatedIfEnforced("No anytime-valid test against \(classList(missing)) was run, so it has not been excluded.",
                                                measured: measured)
        }
        return check.pass(measured, "\(capitalizingFirst(classList(rivals))) has been excluded at the stated level, counting every scan taken.")
    }

    // MARK: Second reviewer

    private func secondReviewerClassCheck(_ e: CaseEvidence) -> Check? {
        let special = relevant(review.secondReviewerForClasses, e)
        guard !special.isEmpty else { return nil }
        let check = CheckBuilder(id: .secondReviewerClass, threshold: "answer and set exclude " + classList(special),
                                 reference: RegulatoryReference.humanOversight, onFailure: .secondReview)
        var hits: [String] = []
        if let answer = e.predictedClass, special.contains(answer) { hits.append(answer) }
        if let set = e.conformalSet {
            for label in set.classes where special.contains(label) && !hits.contains(label) { hits.append(label) }
        }
        let measured = [e.predictedClass.map { "answer \($0)" },
                        e.conformalSet.map { "set " + setDescription($0.classes) }]
            .compactMap { $0 }.joined(separator: ", ")
        if !hits.isEmpty {
            return check.fail(measured, "The answer or its prediction set includes \(classList(hits)), which this policy requires two different clinicians to confirm.")
        }
        guard e.predictedClass != nil, e.conformalSet != nil else {
            return check.notEvaluated("Without both the answer and its prediction set, \(classList(special)) cannot be ruled out, so two clinicians confirm.",
                                      measured: measured.isEmpty ? nil : measured)
        }
        return check.pass(measured, "Neither the answer nor its prediction set includes \(classList(special)).")
    }

    // MARK: Report without review

    private func humanOversightCheck() -> Check? {
        guard !reportWithoutReview.allowed else { return nil }
        return CheckBuilder(id: .humanOversight, threshold: "reporting without review allowed",
                            reference: RegulatoryReference.humanOversight, onFailure: .review)
            .fail("advisory policy", "This policy is advisory only: every answer is reviewed by a clinician before anyone acts on it.")
    }

    private func dangerousAnswerCheck(_ e: CaseEvidence) -> Check? {
        let dangerous = relevant(dangerousClasses, e)
        guard !dangerous.isEmpty else { return nil }
        let check = CheckBuilder(id: .dangerousAnswer, threshold: "answer not " + classList(dangerous),
                                 reference: RegulatoryReference.humanOversight, onFailure: .review)
        guard let answer = e.predictedClass else { return check.notEvaluated("The model gave no answer.") }
        return check.outcome(!dangerous.contains(answer), measured: answer,
                             pass: "The answer is not a dangerous class.",
                             fail: "The answer is \(answer), a dangerous finding that a clinician confirms before anyone is told.")
    }

    private func confidenceCheck(_ e: CaseEvidence) -> Check {
        let check = CheckBuilder(id: .confidence, threshold: "≥ \(formatNumber(reportWithoutReview.minConfidence))",
                                 reference: RegulatoryReference.calibration, onFailure: .review)
        guard let confidence = e.calibratedConfidence else {
            return check.notEvaluated("No calibrated confidence was computed for this answer.")
        }
        return check.outcome(confidence >= reportWithoutReview.minConfidence, measured: formatNumber(confidence),
                             pass: "The calibrated confidence \(percent(confidence)) meets the policy's minimum.",
                             fail: "The calibrated confidence \(percent(confidence)) is below the policy's minimum \(percent(reportWithoutReview.minConfidence)).")
    }

    private func conformalSettingsCheck(_ e: CaseEvidence) -> Check {
        let wanted = "α = \(formatNumber(conformal.alpha)), \(conformal.classConditional ? "per class" : "marginal")"
        let check = CheckBuilder(id: .conformalSettings, threshold: wanted, reference: RegulatoryReference.conformal, onFailure: .review)
        guard let set = e.conformalSet else { return check.notEvaluated("No conformal prediction set was computed.") }
        let measured = "α = \(formatNumber(set.alpha)), \(set.classConditional ? "per class" : "marginal"), n = \(set.calibrationCount)"
        // With n < 1/α − 1 calibration cases the conformal quantile is infinite: every set is the full label set.
        let minimumN = Int((1 / conformal.alpha - 1).rounded(.up))
        if abs(set.alpha - conformal.alpha) > 1e-9 || set.classConditional != conformal.classConditional {
            return check.fail(measured, "The prediction set was computed with other settings than the policy requires, so its guarantee is not the one promised.")
        }
        if set.calibrationCount < minimumN {
            return CheckBuilder(id: .conformalSettings, threshold: wanted + ", n ≥ \(minimumN)",
                                reference: RegulatoryReference.conformal, onFailure: .review)
                .fail(measured, "Too few calibration cases (\(set.calibrationCount)) to give a meaningful guarantee at this level.")
        }
        return check.pass(measured, "The prediction set carries the guarantee the policy requires: it contains the true class at least \(percent(1 - conformal.alpha)) of the time\(conformal.classConditional ? ", for each class" : "").")
    }

    private func singletonSetCheck(_ e: CaseEvidence) -> Check? {
        let required = reportWithoutReview.singletonSet
        let check = CheckBuilder(id: .singletonSet, threshold: required ? "exactly the answer" : "noted only",
                                 reference: RegulatoryReference.conformal, onFailure: .review, enforced: required)
        guard let set = e.conformalSet else { return check.notEvaluatedIfEnforced("No conformal prediction set was computed.") }
        let measured = setDescription(set.classes)
        let single = set.classes.count == 1 && (e.predictedClass == nil || set.classes.first == e.predictedClass)
        guard e.predictedClass != nil || !single else {
            return check.notEvaluated("The model gave no answer to compare the prediction set with.", measured: measured)
        }
        let failReason: String
        if set.classes.isEmpty {
            failReason = "No class is plausible at the guaranteed level, which signals an unusual case."
        } else if set.classes.count == 1 {
            failReason = "The only plausible class is not the model's answer."
        } else {
            failReason = "\(set.classes.count) classes remain plausible at the guaranteed level (\(classList(set.classes))), so the answer is not certain."
        }
        return check.outcome(single, measured: measured, pass: "Only one class is plausible at the guaranteed level.", fail: failReason)
    }

    private func credibilityCheck(_ e: CaseEvidence) -> Check {
        let check = CheckBuilder(id: .credibility, threshold: "≥ \(formatNumber(reportWithoutReview.minCredibility))",
                                 reference: RegulatoryReference.credibility, onFailure: .review)
        guard let credibility = e.credibility else {
            return check.notEvaluated("How well verified similar cases support this answer was not measured.")
        }
        return check.outcome(credibility >= reportWithoutReview.minCredibility, measured: formatNumber(credibility),
                             pass: "Verified cases similar to this one support the answer.",
                             fail: "Few verified cases similar to this one support the answer, so it rests on weak evidence.")
    }

    private func outOfDistributionCheck(_ e: CaseEvidence) -> Check {
        let check = CheckBuilder(id: .outOfDistribution, threshold: "≤ \(formatNumber(reportWithoutReview.maxOODPercentile)) (percentile)",
                                 reference: RegulatoryReference.outOfDistribution, onFailure: .review)
        guard let percentile = e.oodPercentile else {
            return check.notEvaluated("How unusual this case is compared with the reference cases was not measured.")
        }
        return check.outcome(percentile <= reportWithoutReview.maxOODPercentile, measured: formatNumber(percentile),
                             pass: "This case resembles the cases the model was checked on.",
                             fail: "This case is more unusual than \(formatNumber(reportWithoutReview.maxOODPercentile))% of reference cases, so the model may be guessing.")
    }

    private func scanAgreementCheck(_ e: CaseEvidence) -> Check {
        let allowed = reportWithoutReview.allowScanDisagreement
        let check = CheckBuilder(id: .scanAgreement, threshold: allowed ? "disagreement noted only" : "scans agree",
                                 reference: RegulatoryReference.repeatScans, onFailure: .review, enforced: !allowed)
        guard let disagreement = e.scanDisagreement else {
            return check.notEvaluated("Whether the scans of this case agree was not checked.")
        }
        let measured = disagreement.detail.isEmpty ? (disagreement.disagree ? "disagree" : "agree") : disagreement.detail
        return check.outcome(!disagreement.disagree, measured: measured,
                             pass: "The scans of this case agree with one another.",
                             fail: "The scans of this case disagree with one another, so a clinician looks at them.")
    }

    private func establishedClaimCheck(_ e: CaseEvidence) -> Check? {
        let required = reportWithoutReview.requireEstablishedClaim
        let check = CheckBuilder(id: .establishedClaim,
                                 threshold: required ? "every rival excluded at α = \(formatNumber(repeatScans.claimAlpha))" : "noted only",
                                 reference: RegulatoryReference.anytimeValid, onFailure: .review, enforced: required)
        guard let claims = e.claims, !claims.isEmpty else {
            return check.notEvaluatedIfEnforced("No anytime-valid test of the answer against its rivals was run.")
        }
        let open = claims.filter { !$0.established }.map(\.againstClass)
        let measured = claims.map { "not \($0.againstClass): \($0.established ? "established" : "not established")" }
            .joined(separator: "; ")
        return check.outcome(open.isEmpty, measured: measured,
                             pass: "Every rival class tested has been excluded at the stated level, however many scans were taken.",
                             fail: "It has not been established that the case is not \(classList(open)), so the answer is not yet proven.")
    }
}

// MARK: Formatting

func classList(_ classes: [String]) -> String {
    switch classes.count {
    case 0: return "no class"
    case 1: return classes[0]
    case 2: return "\(classes[0]) or \(classes[1])"
    default: return classes.dropLast().joined(separator: ", ") + " or " + (classes.last ?? "")
    }
}

func capitalizingFirst(_ text: String) -> String { text.prefix(1).uppercased() + text.dropFirst() }

func setDescription(_ classes: [String]) -> String { "{" + classes.joined(separator: ", ") + "}" }

func percent(_ x: Double) -> String { formatNumber((x * 1000).rounded() / 10) + "%" }
