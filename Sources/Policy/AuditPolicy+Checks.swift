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
        let threshold = "one of " + classList(appliesTo.classes)
        guard let answer = e.predictedClass else {
            return Check(id: .intendedUse, status: .notEvaluated, measured: nil, threshold: threshold,
                         reason: "The model gave no answer, so it is unknown whether the case is within this policy's intended use.",
                         reference: RegulatoryReference.intendedPurpose, onFailure: .abstain)
        }
        let inside = appliesTo.classes.contains(answer)
        return Check(id: .intendedUse, status: inside ? .pass : .fail, measured: answer, threshold: threshold,
                     reason: inside
                        ? "The answer \(answer) is a class this policy was written for."
                        : "The answer \(answer) is outside the classes this policy was written for, so the system does not answer.",
                     reference: RegulatoryReference.intendedPurpose, onFailure: .abstain)
    }

    /// A yes/no condition: `good` is the healthy value; `enforced` says whether the policy acts on it.
    private func flagCheck(_ id: CheckID, value: Bool?, enforced: Bool, good: Bool, onFailure: Disposition.Kind,
                           reference: String, passReason: String, failReason: String, missingReason: String) -> Check? {
        let threshold = enforced ? (good ? "must be yes" : "must be no") : "noted only"
        guard let value else {
            return enforced ? Check(id: id, status: .notEvaluated, measured: nil, threshold: threshold,
                                    reason: missingReason, reference: reference, onFailure: onFailure) : nil
        }
        let healthy = value == good
        let status: CheckStatus = healthy ? .pass : (enforced ? .fail : .warn)
        return Check(id: id, status: status, measured: value ? "yes" : "no", threshold: threshold,
                     reason: healthy ? passReason : failReason, reference: reference, onFailure: onFailure)
    }

    private func calibrationAgeCheck(_ e: CaseEvidence) -> Check? {
        guard let limit = abstain.maxCalibrationAgeDays else { return nil }
        let threshold = "≤ \(formatNumber(limit)) days"
        guard let age = e.calibrationAgeDays else {
            return Check(id: .calibrationAge, status: .notEvaluated, measured: nil, threshold: threshold,
                         reason: "The age of the calibration was not checked.",
                         reference: RegulatoryReference.postMarketMonitoring, onFailure: .abstain)
        }
        let fresh = age <= limit
        return Check(id: .calibrationAge, status: fresh ? .pass : .fail, measured: "\(formatNumber(age)) days",
                     threshold: threshold,
                     reason: fresh
                        ? "The calibration is \(formatNumber(age)) days old, within the policy's limit."
                        : "The calibration is \(formatNumber(age)) days old, older than the policy allows, so its probabilities may be out of date.",
                     reference: RegulatoryReference.postMarketMonitoring, onFailure: .abstain)
    }

    private func logVerificationCheck(_ e: CaseEvidence) -> Check? {
        let enforced = abstain.onLogVerificationFailure
        let threshold = enforced ? "must verify" : "noted only"
        guard let state = e.logVerification else {
            return enforced ? Check(id: .logVerification, status: .notEvaluated, measured: nil, threshold: threshold,
                                    reason: "The audit log was not verified before this run.",
                                    reference: RegulatoryReference.auditTrail, onFailure: .abstain) : nil
        }
        let ok = state == .verified
        return Check(id: .logVerification, status: ok ? .pass : (enforced ? .fail : .warn), measured: state.rawValue,
                     threshold: threshold,
                     reason: ok
                        ? "The audit log verified intact, so what the system records can be trusted later."
                        : "The audit log failed verification, so the system cannot vouch for its own records.",
                     reference: RegulatoryReference.auditTrail, onFailure: .abstain)
    }

    private func farOutOfDistributionCheck(_ e: CaseEvidence) -> Check {
        let threshold = "≤ \(formatNumber(abstain.oodPercentileAbove)) (percentile)"
        guard let percentile = e.oodPercentile else {
            return Check(id: .farOutOfDistribution, status: .notEvaluated, measured: nil, threshold: threshold,
                         reason: "How unusual this case is compared with the reference cases was not measured.",
                         reference: RegulatoryReference.outOfDistribution, onFailure: .abstain)
        }
        let far = percentile > abstain.oodPercentileAbove
        return Check(id: .farOutOfDistribution, status: far ? .fail : .pass, measured: formatNumber(percentile),
                     threshold: threshold,
                     reason: far
                        ? "This case is unlike almost all cases the model has seen, so the model's answer is withheld."
                        : "This case is not far outside the cases the model has seen.",
                     reference: RegulatoryReference.outOfDistribution, onFailure: .abstain)
    }

    // MARK: Escalation

    private func scanLimitCheck(_ e: CaseEvidence) -> Check? {
        let enforced = escalate.onScansOverLimit
        let threshold = "≤ \(repeatScans.maxScans) scans"
        guard let count = e.scanCount else {
            return enforced ? Check(id: .scanLimit, status: .notEvaluated, measured: nil, threshold: threshold,
                                    reason: "The number of scans taken of this case was not counted.",
                                    reference: RegulatoryReference.repeatScans, onFailure: .escalate) : nil
        }
        let over = count > repeatScans.maxScans
        return Check(id: .scanLimit, status: over ? (enforced ? .fail : .warn) : .pass, measured: "\(count) scans",
                     threshold: threshold,
                     reason: over
                        ? "\(count) scans were taken, more than the \(repeatScans.maxScans) allowed; repeated scanning until a wanted answer appears must be looked at by a senior clinician."
                        : "\(count) scan\(count == 1 ? " was" : "s were") taken; the stated confidence accounts for all of them.",
                     reference: RegulatoryReference.repeatScans, onFailure: .escalate)
    }

    private func dangerousClassExcludedCheck(_ e: CaseEvidence) -> Check? {
        let dangerous = relevant(dangerousClasses, e)
        guard !dangerous.isEmpty else { return nil }
        let enforced = escalate.onDangerousClassNotExcluded
        let threshold = "\"not " + dangerous.joined(separator: "\", \"not ") + "\" established at α = \(formatNumber(repeatScans.claimAlpha))"
        guard let answer = e.predictedClass else {
            return enforced ? Check(id: .dangerousClassExcluded, status: .notEvaluated, measured: nil, threshold: threshold,
                                    reason: "The model gave no answer, so whether \(classList(dangerous)) was excluded is unknown.",
                                    reference: RegulatoryReference.anytimeValid, onFailure: .escalate) : nil
        }
        // A dangerous answer is not a reassurance; `dangerous-answer` sends it to review instead.
        if dangerous.contains(answer) { return nil }
        let rivals = dangerous
        guard let claims = e.claims else {
            return enforced ? Check(id: .dangerousClassExcluded, status: .notEvaluated, measured: nil, threshold: threshold,
                                    reason: "No anytime-valid test was run, so \(classList(rivals)) has not been excluded.",
                                    reference: RegulatoryReference.anytimeValid, onFailure: .escalate) : nil
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
            return Check(id: .dangerousClassExcluded, status: enforced ? .fail : .warn, measured: measured, threshold: threshold,
                         reason: "The answer \(answer) would reassure, but \(classList(open)) has not been excluded over all scans taken, so a senior clinician decides.",
                         reference: RegulatoryReference.anytimeValid, onFailure: .escalate)
        }
        if !missing.isEmpty {
            return enforced ? Check(id: .dangerousClassExcluded, status: .notEvaluated, measured: measured, threshold: threshold,
                                    reason: "No anytime-valid test against \(classList(missing)) was run, so it has not been excluded.",
                                    reference: RegulatoryReference.anytimeValid, onFailure: .escalate) : nil
        }
        return Check(id: .dangerousClassExcluded, status: .pass, measured: measured, threshold: threshold,
                     reason: "\(capitalizingFirst(classList(rivals))) has been excluded at the stated level, counting every scan taken.",
                     reference: RegulatoryReference.anytimeValid, onFailure: .escalate)
    }

    // MARK: Second reviewer

    private func secondReviewerClassCheck(_ e: CaseEvidence) -> Check? {
        let special = relevant(review.secondReviewerForClasses, e)
        guard !special.isEmpty else { return nil }
        let threshold = "answer and set exclude " + classList(special)
        var hits: [String] = []
        if let answer = e.predictedClass, special.contains(answer) { hits.append(answer) }
        if let set = e.conformalSet {
            for label in set.classes where special.contains(label) && !hits.contains(label) { hits.append(label) }
        }
        let measured = [e.predictedClass.map { "answer \($0)" },
                        e.conformalSet.map { "set " + setDescription($0.classes) }]
            .compactMap { $0 }.joined(separator: ", ")
        if !hits.isEmpty {
            return Check(id: .secondReviewerClass, status: .fail, measured: measured, threshold: threshold,
                         reason: "The answer or its prediction set includes \(classList(hits)), which this policy requires two different clinicians to confirm.",
                         reference: RegulatoryReference.humanOversight, onFailure: .secondReview)
        }
        guard e.predictedClass != nil, e.conformalSet != nil else {
            return Check(id: .secondReviewerClass, status: .notEvaluated, measured: measured.isEmpty ? nil : measured,
                         threshold: threshold,
                         reason: "Without both the answer and its prediction set, \(classList(special)) cannot be ruled out, so two clinicians confirm.",
                         reference: RegulatoryReference.humanOversight, onFailure: .secondReview)
        }
        return Check(id: .secondReviewerClass, status: .pass, measured: measured, threshold: threshold,
                     reason: "Neither the answer nor its prediction set includes \(classList(special)).",
                     reference: RegulatoryReference.humanOversight, onFailure: .secondReview)
    }

    // MARK: Report without review

    private func humanOversightCheck() -> Check? {
        guard !reportWithoutReview.allowed else { return nil }
        return Check(id: .humanOversight, status: .fail, measured: "advisory policy", threshold: "reporting without review allowed",
                     reason: "This policy is advisory only: every answer is reviewed by a clinician before anyone acts on it.",
                     reference: RegulatoryReference.humanOversight, onFailure: .review)
    }

    private func dangerousAnswerCheck(_ e: CaseEvidence) -> Check? {
        let dangerous = relevant(dangerousClasses, e)
        guard !dangerous.isEmpty else { return nil }
        let threshold = "answer not " + classList(dangerous)
        guard let answer = e.predictedClass else {
            return Check(id: .dangerousAnswer, status: .notEvaluated, measured: nil, threshold: threshold,
                         reason: "The model gave no answer.", reference: RegulatoryReference.humanOversight, onFailure: .review)
        }
        let isDangerous = dangerous.contains(answer)
        return Check(id: .dangerousAnswer, status: isDangerous ? .fail : .pass, measured: answer, threshold: threshold,
                     reason: isDangerous
                        ? "The answer is \(answer), a dangerous finding that a clinician confirms before anyone is told."
                        : "The answer is not a dangerous class.",
                     reference: RegulatoryReference.humanOversight, onFailure: .review)
    }

    private func confidenceCheck(_ e: CaseEvidence) -> Check {
        let threshold = "≥ \(formatNumber(reportWithoutReview.minConfidence))"
        guard let confidence = e.calibratedConfidence else {
            return Check(id: .confidence, status: .notEvaluated, measured: nil, threshold: threshold,
                         reason: "No calibrated confidence was computed for this answer.",
                         reference: RegulatoryReference.calibration, onFailure: .review)
        }
        let high = confidence >= reportWithoutReview.minConfidence
        return Check(id: .confidence, status: high ? .pass : .fail, measured: formatNumber(confidence), threshold: threshold,
                     reason: high
                        ? "The calibrated confidence \(percent(confidence)) meets the policy's minimum."
                        : "The calibrated confidence \(percent(confidence)) is below the policy's minimum \(percent(reportWithoutReview.minConfidence)).",
                     reference: RegulatoryReference.calibration, onFailure: .review)
    }

    private func conformalSettingsCheck(_ e: CaseEvidence) -> Check {
        let wanted = "α = \(formatNumber(conformal.alpha)), \(conformal.classConditional ? "per class" : "marginal")"
        guard let set = e.conformalSet else {
            return Check(id: .conformalSettings, status: .notEvaluated, measured: nil, threshold: wanted,
                         reason: "No conformal prediction set was computed.",
                         reference: RegulatoryReference.conformal, onFailure: .review)
        }
        let measured = "α = \(formatNumber(set.alpha)), \(set.classConditional ? "per class" : "marginal"), n = \(set.calibrationCount)"
        // With n < 1/α − 1 calibration cases the conformal quantile is infinite: every set is the full label set.
        let minimumN = Int((1 / conformal.alpha - 1).rounded(.up))
        if abs(set.alpha - conformal.alpha) > 1e-9 || set.classConditional != conformal.classConditional {
            return Check(id: .conformalSettings, status: .fail, measured: measured, threshold: wanted,
                         reason: "The prediction set was computed with other settings than the policy requires, so its guarantee is not the one promised.",
                         reference: RegulatoryReference.conformal, onFailure: .review)
        }
        if set.calibrationCount < minimumN {
            return Check(id: .conformalSettings, status: .fail, measured: measured, threshold: wanted + ", n ≥ \(minimumN)",
                         reason: "Too few calibration cases (\(set.calibrationCount)) to give a meaningful guarantee at this level.",
                         reference: RegulatoryReference.conformal, onFailure: .review)
        }
        return Check(id: .conformalSettings, status: .pass, measured: measured, threshold: wanted,
                     reason: "The prediction set carries the guarantee the policy requires: it contains the true class at least \(percent(1 - conformal.alpha)) of the time\(conformal.classConditional ? ", for each class" : "").",
                     reference: RegulatoryReference.conformal, onFailure: .review)
    }

    private func singletonSetCheck(_ e: CaseEvidence) -> Check? {
        let required = reportWithoutReview.singletonSet
        let threshold = required ? "exactly the answer" : "noted only"
        guard let set = e.conformalSet else {
            return required ? Check(id: .singletonSet, status: .notEvaluated, measured: nil, threshold: threshold,
                                    reason: "No conformal prediction set was computed.",
                                    reference: RegulatoryReference.conformal, onFailure: .review) : nil
        }
        let measured = setDescription(set.classes)
        let single = set.classes.count == 1 && (e.predictedClass == nil || set.classes.first == e.predictedClass)
        let reason: String
        if single {
            reason = "Only one class is plausible at the guaranteed level."
        } else if set.classes.isEmpty {
            reason = "No class is plausible at the guaranteed level, which signals an unusual case."
        } else if set.classes.count == 1 {
            reason = "The only plausible class is not the model's answer."
        } else {
            reason = "\(set.classes.count) classes remain plausible at the guaranteed level (\(classList(set.classes))), so the answer is not certain."
        }
        guard e.predictedClass != nil || !single else {
            return Check(id: .singletonSet, status: .notEvaluated, measured: measured, threshold: threshold,
                         reason: "The model gave no answer to compare the prediction set with.",
                         reference: RegulatoryReference.conformal, onFailure: .review)
        }
        return Check(id: .singletonSet, status: single ? .pass : (required ? .fail : .warn), measured: measured,
                     threshold: threshold, reason: reason, reference: RegulatoryReference.conformal, onFailure: .review)
    }

    private func credibilityCheck(_ e: CaseEvidence) -> Check {
        let threshold = "≥ \(formatNumber(reportWithoutReview.minCredibility))"
        guard let credibility = e.credibility else {
            return Check(id: .credibility, status: .notEvaluated, measured: nil, threshold: threshold,
                         reason: "How well verified similar cases support this answer was not measured.",
                         reference: RegulatoryReference.credibility, onFailure: .review)
        }
        let ok = credibility >= reportWithoutReview.minCredibility
        return Check(id: .credibility, status: ok ? .pass : .fail, measured: formatNumber(credibility), threshold: threshold,
                     reason: ok
                        ? "Verified cases similar to this one support the answer."
                        : "Few verified cases similar to this one support the answer, so it rests on weak evidence.",
                     reference: RegulatoryReference.credibility, onFailure: .review)
    }

    private func outOfDistributionCheck(_ e: CaseEvidence) -> Check {
        let threshold = "≤ \(formatNumber(reportWithoutReview.maxOODPercentile)) (percentile)"
        guard let percentile = e.oodPercentile else {
            return Check(id: .outOfDistribution, status: .notEvaluated, measured: nil, threshold: threshold,
                         reason: "How unusual this case is compared with the reference cases was not measured.",
                         reference: RegulatoryReference.outOfDistribution, onFailure: .review)
        }
        let ok = percentile <= reportWithoutReview.maxOODPercentile
        return Check(id: .outOfDistribution, status: ok ? .pass : .fail, measured: formatNumber(percentile), threshold: threshold,
                     reason: ok
                        ? "This case resembles the cases the model was checked on."
                        : "This case is more unusual than \(formatNumber(reportWithoutReview.maxOODPercentile))% of reference cases, so the model may be guessing.",
                     reference: RegulatoryReference.outOfDistribution, onFailure: .review)
    }

    private func scanAgreementCheck(_ e: CaseEvidence) -> Check {
        let allowed = reportWithoutReview.allowScanDisagreement
        let threshold = allowed ? "disagreement noted only" : "scans agree"
        guard let disagreement = e.scanDisagreement else {
            return Check(id: .scanAgreement, status: .notEvaluated, measured: nil, threshold: threshold,
                         reason: "Whether the scans of this case agree was not checked.",
                         reference: RegulatoryReference.repeatScans, onFailure: .review)
        }
        guard disagreement.disagree else {
            return Check(id: .scanAgreement, status: .pass, measured: disagreement.detail.isEmpty ? "agree" : disagreement.detail,
                         threshold: threshold, reason: "The scans of this case agree with one another.",
                         reference: RegulatoryReference.repeatScans, onFailure: .review)
        }
        return Check(id: .scanAgreement, status: allowed ? .warn : .fail,
                     measured: disagreement.detail.isEmpty ? "disagree" : disagreement.detail, threshold: threshold,
                     reason: "The scans of this case disagree with one another, so a clinician looks at them.",
                     reference: RegulatoryReference.repeatScans, onFailure: .review)
    }

    private func establishedClaimCheck(_ e: CaseEvidence) -> Check? {
        let required = reportWithoutReview.requireEstablishedClaim
        let threshold = required ? "every rival excluded at α = \(formatNumber(repeatScans.claimAlpha))" : "noted only"
        guard let claims = e.claims, !claims.isEmpty else {
            return required ? Check(id: .establishedClaim, status: .notEvaluated, measured: nil, threshold: threshold,
                                    reason: "No anytime-valid test of the answer against its rivals was run.",
                                    reference: RegulatoryReference.anytimeValid, onFailure: .review) : nil
        }
        let open = claims.filter { !$0.established }.map(\.againstClass)
        let measured = claims.map { "not \($0.againstClass): \($0.established ? "established" : "not established")" }
            .joined(separator: "; ")
        if open.isEmpty {
            return Check(id: .establishedClaim, status: .pass, measured: measured, threshold: threshold,
                         reason: "Every rival class tested has been excluded at the stated level, however many scans were taken.",
                         reference: RegulatoryReference.anytimeValid, onFailure: .review)
        }
        return Check(id: .establishedClaim, status: required ? .fail : .warn, measured: measured, threshold: threshold,
                     reason: "It has not been established that the case is not \(classList(open)), so the answer is not yet proven.",
                     reference: RegulatoryReference.anytimeValid, onFailure: .review)
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
