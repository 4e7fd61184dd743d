/// The case report's view as Mustache dictionaries, built member by member: the same tree
/// `MustacheTree.reflect` builds by reflection (a test holds them equal for every fixture), without
/// `Mirror`, which cost a quarter of the time of rendering a case report.
protocol MustacheTreeConvertible {
    var mustacheTree: [String: Any] { get }
}

private func list(_ items: [String]) -> [Any] { items.map { $0 as Any } }
private func list<T: MustacheTreeConvertible>(_ items: [T]) -> [Any] { items.map { $0.mustacheTree as Any } }

extension CaseReportView: MustacheTreeConvertible {
    var mustacheTree: [String: Any] {
        var d: [String: Any] = [
            "caseId": caseId, "studyLine": studyLine, "hasStudy": hasStudy, "assessedAtText": assessedAtText,
            "hasAssessedAt": hasAssessedAt, "reportVersion": reportVersion, "supersedesHash": supersedesHash,
            "hasSupersedes": hasSupersedes, "provenance": provenance.mustacheTree, "signOffs": list(signOffs),
            "isSigned": isSigned, "notes": list(notes), "hasNotes": hasNotes,
        ]
        if let x = dispositionSection { d["dispositionSection"] = x.mustacheTree }
        if let x = predictionSection { d["predictionSection"] = x.mustacheTree }
        if let x = conformalSection { d["conformalSection"] = x.mustacheTree }
        if let x = scansSection { d["scansSection"] = x.mustacheTree }
        if let x = neighboursSection { d["neighboursSection"] = x.mustacheTree }
        if let x = checksSection { d["checksSection"] = x.mustacheTree }
        return d
    }
}

extension CaseReportView.DispositionView: MustacheTreeConvertible {
    var mustacheTree: [String: Any] {
        ["dispositionCode": dispositionCode, "dispositionClass": dispositionClass, "headline": headline, "reason": reason,
         "requiredReviewersText": requiredReviewersText, "decidingChecks": list(decidingChecks),
         "hasDecidingChecks": hasDecidingChecks]
    }
}

extension CaseReportView.LabelledValue: MustacheTreeConvertible {
    var mustacheTree: [String: Any] { ["label": label, "value": value] }
}

extension CaseReportView.PredictionView: MustacheTreeConvertible {
    var mustacheTree: [String: Any] {
        ["predictedClass": predictedClass, "calibratedConfidence": calibratedConfidence,
         "uncalibratedConfidence": uncalibratedConfidence, "hasUncalibrated": hasUncalibrated, "sentence": sentence,
         "classProbabilities": list(classProbabilities)]
    }
}

extension CaseReportView.ConformalView: MustacheTreeConvertible {
    var mustacheTree: [String: Any] {
        ["setMembers": list(setMembers), "setSize": setSize, "isSingleton": isSingleton, "isEmptySet": isEmptySet,
         "alpha": alpha, "calibrationSize": calibrationSize, "conditionality": conditionality,
         "coverageLower": coverageLower, "coverageUpper": coverageUpper, "hasUpper": hasUpper, "condition": condition,
         "score": score, "hasScore": hasScore]
    }
}

extension CaseReportView.ScanRowView: MustacheTreeConvertible {
    var mustacheTree: [String: Any] {
        ["index": index, "takenAt": takenAt, "acquisition": acquisition, "probabilities": list(probabilities),
         "eValue": eValue, "oodText": oodText, "isOOD": isOOD]
    }
}

extension CaseReportView.ScansView: MustacheTreeConvertible {
    var mustacheTree: [String: Any] {
        ["allScansSentence": allScansSentence, "scanChartSvg": scanChartSvg, "classLabels": list(classLabels),
         "rows": list(rows), "pooled": list(pooled), "finalEValue": finalEValue, "threshold": threshold, "claim": claim,
         "claimEstablished": claimEstablished, "merge": merge, "hasMerge": hasMerge,
         "nextScan": nextScan, "configurationDeviations": configurationDeviations, "hasConfigurations": hasConfigurations]
    }
}

extension CaseReportView.NeighbourView: MustacheTreeConvertible {
    var mustacheTree: [String: Any] {
        ["neighbourCaseId": neighbourCaseId, "sparklineSvg": sparklineSvg, "distance": distance, "label": label,
         "verifiedBy": verifiedBy, "verifiedAt": verifiedAt]
    }
}

extension CaseReportView.NeighboursView: MustacheTreeConvertible {
    var mustacheTree: [String: Any] {
        ["querySparklineSvg": querySparklineSvg, "rows": list(rows), "hasNeighbours": hasNeighbours,
         "oodSentence": oodSentence, "metric": metric, "credibility": credibility, "oodPercentile": oodPercentile]
    }
}

extension CaseReportView.CheckView: MustacheTreeConvertible {
    var mustacheTree: [String: Any] {
        ["checkId": checkId, "status": status, "statusClass": statusClass, "value": value, "threshold": threshold,
         "reason": reason, "reference": reference]
    }
}

extension CaseReportView.ChecksView: MustacheTreeConvertible {
    var mustacheTree: [String: Any] { ["rows": list(rows), "hasChecks": hasChecks] }
}

extension CaseReportView.SignOffView: MustacheTreeConvertible {
    var mustacheTree: [String: Any] {
        ["printedName": printedName, "reviewerId": reviewerId, "signedAt": signedAt, "meaning": meaning,
         "decision": decision, "decidedClass": decidedClass, "reasonCode": reasonCode, "note": note, "hasNote": hasNote,
         "signedReportHash": signedReportHash]
    }
}

extension ProvenanceView: MustacheTreeConvertible {
    var mustacheTree: [String: Any] { ["rows": list(rows)] }
}
