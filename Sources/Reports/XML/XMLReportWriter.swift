import Files
import Foundation

/// Machine-readable reports: XML in the `urn:countersign:report:1` namespace, validated against
/// `countersign-report.xsd` before it is returned. An invalid document is an error, never a file.
///
/// Text is escaped by hand (`ReportText.xmlEscaped`); characters XML 1.0 forbids (C0 controls
/// other than tab, LF, CR; U+FFFE; U+FFFF) are replaced by the visible text `[U+XXXX]`.
/// Numbers use the shortest round-trip form (`xs:double`); absent stages are `<notEvaluated/>`.
public enum XMLReportWriter {
    public static let namespace = "urn:countersign:report:1"
    public static let schemaVersion = 1

    /// The case report as validated XML.
    public static func caseXML(_ m: CaseReportModel, validator: XMLSchemaValidator? = nil) throws -> Data {
        let data = Data(caseDocument(m).utf8)
        try (validator ?? XMLSchemaValidator.reportSchema()).validate(data)
        return data
    }

    /// The run report as validated XML.
    public static func runXML(_ m: RunReportModel, validator: XMLSchemaValidator? = nil) throws -> Data {
        let data = Data(runDocument(m).utf8)
        try (validator ?? XMLSchemaValidator.reportSchema()).validate(data)
        return data
    }

    /// Validates, then writes atomically; on any error nothing is written.
    public static func writeCaseXML(_ m: CaseReportModel, to url: URL) throws {
        try AtomicFile.write(try caseXML(m), to: url)
    }

    public static func writeRunXML(_ m: RunReportModel, to url: URL) throws {
        try AtomicFile.write(try runXML(m), to: url)
    }

    private static func rootAttributes(reportVersion: Int) -> [(String, String)] {
        [("xmlns", namespace), ("schemaVersion", String(schemaVersion)), ("reportVersion", String(reportVersion))]
    }

    static func provenance(_ p: Provenance, into x: inout XMLBuilder) {
        x.element("provenance") { x in
            x.leaf("modelId", p.modelId)
            x.leaf("calibrator", p.calibrator)
            x.leaf("calibrationSize", p.calibrationSize)
            x.leaf("alpha", p.alpha)
            x.leaf("eceBins", p.eceBins)
            x.leaf("policyName", p.policyName)
            x.leaf("policySHA256", p.policySHA256)
            x.leaf("runId", p.runId)
            x.leaf("logSequence", p.logSequence.map { String($0) })
            x.leaf("checkpointRoot", p.checkpointRoot)
        }
    }

    /// `<name>` with the section's content, or `<name><notEvaluated/></name>` when absent.
    private static func section<T>(_ name: String, _ value: T?, attrs: [(String, String)] = [], into x: inout XMLBuilder,
                                   _ body: (T, inout XMLBuilder) -> Void) {
        x.element(name, value == nil ? [] : attrs) { x in
            if let value { body(value, &x) } else { x.empty("notEvaluated") }
        }
    }

    private static func probabilities(_ labels: [String], _ values: [Double], into x: inout XMLBuilder) {
        for (i, v) in values.enumerated() {
            x.leaf("probability", ReportNumber.xsdDouble(v), [("class", i < labels.count ? labels[i] : "class \(i)")])
        }
    }

    static func caseDocument(_ m: CaseReportModel) -> String {
        var x = XMLBuilder()
        x.element("caseReport", rootAttributes(reportVersion: m.reportVersion)) { x in
            x.leaf("caseId", m.caseId)
            x.leaf("studyId", m.studyId)
            x.leaf("assessedAt", m.assessedAt)
            x.leaf("supersedesReportSHA256", m.supersedesReportSHA256)
            provenance(m.provenance, into: &x)
            section("disposition", m.disposition, into: &x) { d, x in
                x.leaf("code", d.code)
                x.leaf("headline", d.headline)
                x.leaf("reason", d.reason)
                x.leaf("requiredReviewers", d.requiredReviewers)
                for c in d.decidingChecks { x.leaf("decidingCheck", c) }
            }
            section("prediction", m.prediction, into: &x) { p, x in
                x.leaf("predictedClass", p.predictedClass)
                x.leaf("calibratedConfidence", p.calibratedConfidence)
                x.leaf("uncalibratedConfidence", p.uncalibratedConfidence)
                x.leaf("sentence", p.sentence)
                probabilities(p.classProbabilities.map(\.label), p.classProbabilities.map(\.probability), into: &x)
            }
            section("conformal", m.conformal, into: &x) { c, x in
                x.element("predictionSet") { x in for member in c.predictionSet { x.leaf("member", member) } }
                x.leaf("alpha", c.alpha)
                x.leaf("calibrationSize", c.calibrationSize)
                x.leaf("classConditional", c.classConditional)
                x.leaf("coverageLowerBound", c.coverageLowerBound)
                x.leaf("coverageUpperBound", c.coverageUpperBound)
                x.leaf("condition", c.condition)
                x.leaf("score", c.score)
            }
            section("scans", m.scans, attrs: [("count", String(m.scans?.scans.count ?? 0))], into: &x) { s, x in
                x.leaf("allScansSentence", s.allScansSentence)
                for label in s.classLabels { x.leaf("classLabel", label) }
                for scan in s.scans {
                    x.element("scan", [("index", String(scan.index)), ("outOfDistribution", scan.outOfDistribution ? "true" : "false")]) { x in
                        x.leaf("takenAt", scan.takenAt)
                        x.leaf("acquisition", scan.acquisition)
                        probabilities(s.classLabels, scan.probabilities, into: &x)
                    }
                }
                x.element("pooled") { x in probabilities(s.classLabels, s.pooledProbabilities, into: &x) }
                x.leaf("eValuePath", list: s.eValuePath)
                x.leaf("eValueThreshold", s.eValueThreshold)
                x.leaf("claim", s.claim, [("established", s.claimEstablished ? "true" : "false")])
                x.leaf("merge", s.merge)
                x.leaf("nextScan", s.nextScan)
                x.leaf("configurationDeviations", s.configurationDeviations)
            }
            section("neighbours", m.neighbours, into: &x) { n, x in
                x.leaf("outOfDistributionSentence", n.outOfDistributionSentence)
                x.leaf("distanceMetric", n.distanceMetric)
                x.leaf("credibility", n.credibility)
                x.leaf("outOfDistributionPercentile", n.outOfDistributionPercentile)
                x.leaf("querySequence", list: n.querySequence)
                for nb in n.neighbours {
                    x.element("neighbour") { x in
                        x.leaf("caseId", nb.caseId)
                        x.leaf("distance", nb.distance)
                        x.leaf("label", nb.label)
                        x.leaf("verifiedBy", nb.verifiedBy)
                        x.leaf("verifiedAt", nb.verifiedAt)
                        x.leaf("sequence", list: nb.sequence)
                    }
                }
            }
            section("checks", m.checks, into: &x) { checks, x in
                for c in checks {
                    x.element("check", [("status", c.status.rawValue)]) { x in
                        x.leaf("id", c.id)
                        x.leaf("value", c.value)
                        x.leaf("threshold", c.threshold)
                        x.leaf("reason", c.reason)
                        x.leaf("reference", c.reference)
                    }
                }
            }
            x.element("signOffs", [("signed", m.signOffs.isEmpty ? "false" : "true")]) { x in
                for s in m.signOffs {
                    x.element("signOff") { x in
                        x.leaf("reviewerId", s.reviewerId)
                        x.leaf("printedName", s.printedName)
                        x.leaf("signedAt", s.signedAt)
                        x.leaf("meaning", s.meaning)
                        x.leaf("decision", s.decision)
                        x.leaf("decidedClass", s.decidedClass)
                        x.leaf("reasonCode", s.reasonCode)
                        x.leaf("note", s.note)
                        x.leaf("signedReportSHA256", s.signedReportSHA256)
                    }
                }
            }
            x.element("notes") { x in for note in m.notes { x.leaf("note", note) } }
        }
        return x.text
    }

    static func runDocument(_ m: RunReportModel) -> String {
        var x = XMLBuilder()
        x.element("runReport", rootAttributes(reportVersion: m.reportVersion)) { x in
            x.leaf("runId", m.runId)
            x.leaf("studyId", m.studyId)
            x.leaf("operatorId", m.operatorId)
            x.leaf("startedAt", m.startedAt)
            x.leaf("finishedAt", m.finishedAt)
            x.leaf("caseCount", m.caseCount)
            provenance(m.provenance, into: &x)
            section("dispositions", m.dispositions, into: &x) { rows, x in
                for r in rows { x.leaf("count", String(r.count), [("disposition", r.disposition)]) }
            }
            section("calibration", m.calibration, into: &x) { c, x in
                x.leaf("calibrator", c.calibrator)
                x.leaf("calibrationSize", c.calibrationSize)
                for (stage, bins) in [("before", c.reliabilityBefore), ("after", c.reliabilityAfter)] {
                    x.element("reliability", [("stage", stage)]) { x in
                        for b in bins {
                            x.empty("bin", [("lower", ReportNumber.xsdDouble(b.lower)), ("upper", ReportNumber.xsdDouble(b.upper)),
                                            ("meanConfidence", ReportNumber.xsdDouble(b.meanConfidence)),
                                            ("accuracy", ReportNumber.xsdDouble(b.accuracy)), ("count", String(b.count))])
                        }
                    }
                }
                for (stage, e) in [("before", c.eceBefore), ("after", c.eceAfter)] {
                    x.element("ece", [("stage", stage)]) { x in
                        x.leaf("value", e.value)
                        x.leaf("bins", e.bins)
                        x.leaf("binning", e.binning)
                        x.leaf("intervalLower", e.intervalLower)
                        x.leaf("intervalUpper", e.intervalUpper)
                        x.leaf("intervalLevel", e.intervalLevel)
                        x.leaf("noiseFloor", e.noiseFloor)
                        x.leaf("sampleSize", e.sampleSize)
                    }
                }
                x.leaf("baseline", c.baseline)
            }
            section("coverage", m.coverage, into: &x) { rows, x in
                for r in rows {
                    x.element("class") { x in
                        x.leaf("label", r.label)
                        x.leaf("target", r.target)
                        x.leaf("empirical", r.empirical)
                        x.leaf("count", r.count)
                        x.leaf("meanSetSize", r.meanSetSize)
                    }
                }
            }
            section("drift", m.drift, into: &x) { d, x in
                x.leaf("method", d.method)
                x.leaf("threshold", d.threshold)
                x.leaf("alarm", d.alarm)
                x.leaf("sentence", d.sentence)
                x.leaf("martingalePath", list: d.martingalePath)
            }
            x.element("flaggedCases") { x in
                for f in m.flaggedCases {
                    x.element("case") { x in
                        x.leaf("caseId", f.caseId)
                        x.leaf("disposition", f.disposition)
                        x.leaf("reason", f.reason)
                        x.leaf("reportFile", f.reportFile)
                    }
                }
            }
            section("oversight", m.oversight, into: &x) { rows, x in
                for o in rows {
                    x.element("reviewer") { x in
                        x.leaf("reviewerId", o.reviewerId)
                        x.leaf("printedName", o.printedName)
                        x.leaf("reviews", o.reviews)
                        x.leaf("medianReviewSeconds", o.medianReviewSeconds)
                        x.leaf("agreementRate", o.agreementRate)
                        x.leaf("lowConfidenceAgreementRate", o.lowConfidenceAgreementRate)
                        x.leaf("overrideRate", o.overrideRate)
                        x.leaf("blindReadAgreementRate", o.blindReadAgreementRate)
                        x.leaf("catchTrials", o.catchTrials)
                        x.leaf("catchTrialDetectionRate", o.catchTrialDetectionRate)
                        x.leaf("flagged", o.flagged)
                        x.leaf("flagReason", o.flagReason)
                    }
                }
            }
        }
        return x.text
    }
}
