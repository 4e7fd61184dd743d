import Crypto
import Foundation

/// What a run decided, as plain values (the store's records, already checked against their
/// attestations by the caller), and its FHIR R4 `Bundle`: the model as a `Device`; per case a
/// `DiagnosticReport` with its `Observation`s, a `Provenance` per signature and an `AuditEvent` per
/// logged look at or sign-off of the case.
public struct FHIRRunExport: Sendable {
    public struct Run: Sendable {
        public var id: String, study: String, finishedAt: String
        public var modelId: String, modelArch: String
        public var policyName: String, policySHA256: String
        public init(id: String, study: String, finishedAt: String, modelId: String, modelArch: String, policyName: String, policySHA256: String) {
            self.id = id; self.study = study; self.finishedAt = finishedAt; self.modelId = modelId; self.modelArch = modelArch
            self.policyName = policyName; self.policySHA256 = policySHA256
        }
    }

    public struct Case: Sendable {
        public var caseId: String, subject: String
        /// nil when the model's answer was not evaluated (e.g. it abstained before predicting).
        public var predictedClass: String?, calibratedProbability: Double?
        public var calibrator: String?, calibrationCount: Int?
        public var predictionSet: [String]?, alpha: Double?
        public var claims: [Claim]
        public var disposition: String, dispositionSummary: String, reviewersRequired: Int
        public var report: Report
        public var signatures: [Signature]
        public var events: [Event]
        public init(caseId: String, subject: String, predictedClass: String?, calibratedProbability: Double?, calibrator: String?,
                    calibrationCount: Int?, predictionSet: [String]?, alpha: Double?, claims: [Claim], disposition: String,
                    dispositionSummary: String, reviewersRequired: Int, report: Report, signatures: [Signature], events: [Event]) {
            self.caseId = caseId; self.subject = subject; self.predictedClass = predictedClass
            self.calibratedProbability = calibratedProbability; self.calibrator = calibrator; self.calibrationCount = calibrationCount
            self.predictionSet = predictionSet; self.alpha = alpha; self.claims = claims; self.disposition = disposition
            self.dispositionSummary = dispositionSummary; self.reviewersRequired = reviewersRequired; self.report = report
            self.signatures = signatures; self.events = events
        }
        /// Signed as often as its disposition asks (or asks for no signature).
        public var isFinal: Bool { Set(signatures.map(\.reviewerId)).count >= reviewersRequired }
    }

    public struct Claim: Sendable {
        public var againstClass: String, established: Bool, eValue: Double?, threshold: Double?
        public init(againstClass: String, established: Bool, eValue: Double?, threshold: Double?) {
            self.againstClass = againstClass; self.established = established; self.eValue = eValue; self.threshold = threshold
        }
    }

    public struct Report: Sendable {
        public var version: Int, sha256: String, createdAt: String, html: Data
        public init(version: Int, sha256: String, createdAt: String, html: Data) {
            self.version = version; self.sha256 = sha256; self.createdAt = createdAt; self.html = html
        }
    }

    public struct Signature: Sendable {
        public var reviewerId: String, printedName: String, meaning: String, decision: String, decidedClass: String
        public var reasonCode: String, signedAt: String, reportVersion: Int, reportSHA256: String, keyVersion: Int
        /// The signed sign-off record, byte for byte, and its Ed25519 signature.
        public var record: String, signature: Data
        public init(reviewerId: String, printedName: String, meaning: String, decision: String, decidedClass: String, reasonCode: String,
                    signedAt: String, reportVersion: Int, reportSHA256: String, keyVersion: Int, record: String, signature: Data) {
            self.reviewerId = reviewerId; self.printedName = printedName; self.meaning = meaning; self.decision = decision
            self.decidedClass = decidedClass; self.reasonCode = reasonCode; self.signedAt = signedAt; self.reportVersion = reportVersion
            self.reportSHA256 = reportSHA256; self.keyVersion = keyVersion; self.record = record; self.signature = signature
        }
    }

    /// A log event about the case (`review.open`, `review.view`, `review.sign`, …).
    public struct Event: Sendable {
        public var seq: Int, time: String, actor: String, action: String, address: String?, leafHashHex: String
        public init(seq: Int, time: String, actor: String, action: String, address: String?, leafHashHex: String) {
            self.seq = seq; self.time = time; self.actor = actor; self.action = action; self.address = address; self.leafHashHex = leafHashHex
        }
    }

    public var run: Run
    public var cases: [Case]
    public init(run: Run, cases: [Case]) { self.run = run; self.cases = cases }

    // MARK: building

    public func bundle() -> FHIR.Bundle {
        let deviceURL = FHIR.uuid("Device", run.modelId)
        var entries = [FHIR.Bundle.Entry(fullUrl: deviceURL, resource: .device(device()))]
        for c in cases { entries += caseEntries(c, deviceURL: deviceURL) }
        return FHIR.Bundle(identifier: FHIR.Identifier(system: FHIR.runSystem, value: run.id), timestamp: run.finishedAt, entry: entries)
    }

    func device() -> FHIR.Device {
        FHIR.Device(
            identifier: [FHIR.Identifier(system: FHIR.modelSystem, value: run.modelId)],
            manufacturer: "Countersign",
            deviceName: [.init(name: "\(run.study) \(run.modelArch) classifier \(run.modelId.prefix(12))", type: "model-name")],
            type: .local("sequence-classifier", "Recurrent sequence classifier (AI model)"),
            version: [.init(type: .local("model-sha256", "SHA-256 of the model weights"), value: run.modelId)],
            property: [.init(type: .local("policy", "Policy \(run.policyName), SHA-256 \(run.policySHA256)"), valueCode: nil)])
    }

    func caseEntries(_ c: Case, deviceURL: String) -> [FHIR.Bundle.Entry] {
        let status = c.isFinal ? "final" : "preliminary"
        let subject = FHIR.Reference(identifier: FHIR.Identifier(system: FHIR.subjectSystem, value: c.subject), display: "subject \(c.subject)")
        let device = FHIR.Reference(reference: deviceURL, type: "Device")
        let ai = FHIR.Meta(security: [FHIR.aiAsserted])
        var observations: [(String, FHIR.Observation)] = []
        func observation(_ code: String, _ display: String, _ fill: (inout FHIR.Observation) -> Void) {
            var o = FHIR.Observation(meta: ai, identifier: [FHIR.Identifier(system: FHIR.caseSystem, value: "\(run.id)/\(c.caseId)/\(code)")],
                                     status: status, code: .local(code, display), subject: subject, issued: c.report.createdAt, device: device)
            fill(&o)
            observations.append((FHIR.uuid("Observation", run.id, c.caseId, code), o))
        }
        let classes = FHIR.classSystem(study: run.study)
        if let predicted = c.predictedClass {
            observation("proposed-class", "Class proposed by the model") {
                $0.valueCodeableConcept = FHIR.CodeableConcept(FHIR.Coding(system: classes, code: predicted, display: predicted))
            }
        }
        if let p = c.calibratedProbability {
            observation("calibrated-probability", "Calibrated probability of the proposed class") {
                $0.valueQuantity = .unitless(p)
                if let cal = c.calibrator {
                    $0.method = FHIR.CodeableConcept(text: "calibrator \(cal)" + (c.calibrationCount.map { ", calibration set of \($0) cases" } ?? ""))
                }
            }
        }
        if let set = c.predictionSet, let alpha = c.alpha {
            observation("prediction-set", "Conformal prediction set") {
                $0.valueString = set.isEmpty ? "(empty set)" : set.joined(separator: ", ")
                $0.method = FHIR.CodeableConcept(text: "split conformal, α = \(FHIR.decimal(alpha))" + (c.calibrationCount.map { ", n = \($0)" } ?? ""))
                $0.component = [FHIR.Observation.Component(code: .local("coverage-level", "Guaranteed coverage (1 − α)"), valueQuantity: .unitless(1 - alpha))]
                    + set.map { FHIR.Observation.Component(code: .local("prediction-set-member", "Class in the set"),
                                                           valueCodeableConcept: FHIR.CodeableConcept(FHIR.Coding(system: classes, code: $0, display: $0))) }
            }
        }
        if !c.claims.isEmpty {
            observation("repeat-scan-claim", "Anytime-valid claim over every repeat scan") {
                $0.valueBoolean = c.claims.contains(where: \.established)
                $0.component = c.claims.flatMap { claim -> [FHIR.Observation.Component] in
                    var parts = [FHIR.Observation.Component(code: .local("claim-against-class", "Class the claim rules out"),
                                                            valueCodeableConcept: FHIR.CodeableConcept(FHIR.Coding(system: classes, code: claim.againstClass))),
                                 FHIR.Observation.Component(code: .local("claim-established", "Claim established"), valueBoolean: claim.established)]
                    if let e = claim.eValue { parts.append(.init(code: .local("claim-e-value", "E-value over all scans"), valueQuantity: .unitless(e))) }
                    if let t = claim.threshold { parts.append(.init(code: .local("claim-threshold", "E-value threshold"), valueQuantity: .unitless(t))) }
                    return parts
                }
            }
        }
        observation("disposition", "Disposition under the site's policy") {
            $0.meta = nil   // decided by the policy's rules, not asserted by the model
            $0.valueCodeableConcept = .local(c.disposition, c.disposition)
            $0.note = [FHIR.Annotation(text: c.dispositionSummary)]
            $0.component = [FHIR.Observation.Component(code: .local("reviewers-required", "Signatures the disposition requires"),
                                                       valueInteger: c.reviewersRequired)]
        }

        let reportURL = FHIR.uuid("DiagnosticReport", run.id, c.caseId)
        let reviewers = c.signatures.map { FHIR.Reference(identifier: FHIR.Identifier(system: FHIR.reviewerSystem, value: $0.reviewerId), display: $0.printedName) }
        let report = FHIR.DiagnosticReport(
            meta: FHIR.Meta(versionId: String(c.report.version), security: nil, tag: nil),
            identifier: [FHIR.Identifier(system: FHIR.caseSystem, value: "\(run.id)/\(c.caseId)"),
                         FHIR.Identifier(system: FHIR.reportSystem, value: c.report.sha256)],
            status: status, code: .local("countersign-case-assessment", "Countersign assessment of a model's proposal"),
            subject: subject, issued: c.report.createdAt, performer: [device],
            resultsInterpreter: reviewers.isEmpty ? nil : reviewers,
            result: observations.map { FHIR.Reference(reference: $0.0, type: "Observation") },
            conclusion: c.dispositionSummary,
            conclusionCode: c.signatures.last.map { [FHIR.CodeableConcept(FHIR.Coding(system: classes, code: $0.decidedClass, display: $0.decidedClass),
                                                                          text: "decided by \($0.printedName)")] },
            presentedForm: [FHIR.Attachment(contentType: "text/html;charset=utf-8", data: c.report.html.base64EncodedString(),
                                            size: c.report.html.count, hash: Data(Insecure.SHA1.hash(data: c.report.html)).base64EncodedString(),
                                            title: "Countersign case report \(c.caseId), version \(c.report.version)", creation: c.report.createdAt)])
        var entries = [FHIR.Bundle.Entry(fullUrl: reportURL, resource: .diagnosticReport(report))]
        entries += observations.map { FHIR.Bundle.Entry(fullUrl: $0.0, resource: .observation($0.1)) }
        for s in c.signatures {
            entries.append(FHIR.Bundle.Entry(fullUrl: FHIR.uuid("Provenance", run.id, c.caseId, s.reviewerId, s.signedAt),
                                             resource: .provenance(provenance(s, reportURL: reportURL))))
        }
        for e in c.events {
            entries.append(FHIR.Bundle.Entry(fullUrl: FHIR.uuid("AuditEvent", String(e.seq), e.leafHashHex),
                                             resource: .auditEvent(auditEvent(e, c, reportURL: reportURL, subject: subject))))
        }
        return entries
    }

    static let signatureTypes = "urn:iso-astm:E1762-95:2013"

    func provenance(_ s: Signature, reportURL: String) -> FHIR.Provenance {
        let who = FHIR.Reference(identifier: FHIR.Identifier(system: FHIR.reviewerSystem, value: s.reviewerId), display: s.printedName)
        // An approval is the author's signature on the result; a review is a verification of it.
        let (code, display) = s.meaning == "approval" ? ("1.2.840.10065.1.12.1.1", "Author's Signature")
                                                      : ("1.2.840.10065.1.12.1.5", "Verification Signature")
        let decision = s.decision == "agree" ? "agreed with the model: \(s.decidedClass)"
                                             : "overrode the model: \(s.decidedClass) (reason \(s.reasonCode))"
        return FHIR.Provenance(
            extension: [FHIR.Extension(url: "https://countersign.example/fhir/StructureDefinition/signed-sign-off-record",
                                       valueBase64Binary: Data(s.record.utf8).base64EncodedString()),
                        FHIR.Extension(url: "https://countersign.example/fhir/StructureDefinition/reviewer-key-version",
                                       valueString: String(s.keyVersion))],
            target: [FHIR.Reference(reference: reportURL, type: "DiagnosticReport",
                                    identifier: FHIR.Identifier(system: FHIR.reportSystem, value: s.reportSHA256),
                                    display: "case report version \(s.reportVersion)")],
            recorded: s.signedAt,
            reason: [FHIR.CodeableConcept(text: decision)],
            activity: .local("sign-off-\(s.meaning)", "Sign-off (\(s.meaning))"),
            agent: [.init(type: FHIR.CodeableConcept(FHIR.Coding(system: "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                                                                 code: s.meaning == "approval" ? "attester" : "verifier")), who: who)],
            entity: [.init(role: "source", what: FHIR.Reference(identifier: FHIR.Identifier(system: FHIR.reportSystem, value: s.reportSHA256),
                                                                display: "the report version signed, by its SHA-256"))],
            signature: [.init(type: [FHIR.Coding(system: Self.signatureTypes, code: code, display: display)], when: s.signedAt, who: who,
                              targetFormat: "application/json", sigFormat: "application/octet-stream",
                              data: s.signature.base64EncodedString())])
    }

    func auditEvent(_ e: Event, _ c: Case, reportURL: String, subject: FHIR.Reference) -> FHIR.AuditEvent {
        let signing = e.action == "review.sign"
        // BALP: a read of a patient's record is DICOM 110110 with the RESTful `read`; a sign-off changes it.
        return FHIR.AuditEvent(
            type: FHIR.Coding(system: "http://dicom.nema.org/resources/ontology/DCM", code: "110110", display: "Patient Record"),
            subtype: [FHIR.Coding(system: "http://hl7.org/fhir/restful-interaction", code: signing ? "update" : "read"),
                      FHIR.Coding(system: FHIR.codeSystem, code: e.action, display: e.action)],
            action: signing ? "U" : "R", recorded: e.time, outcome: "0",
            agent: [.init(type: FHIR.CodeableConcept(FHIR.Coding(system: "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", code: "IRCP",
                                                                 display: "information recipient")),
                          who: FHIR.Reference(identifier: FHIR.Identifier(system: FHIR.reviewerSystem, value: e.actor)), requestor: true,
                          network: e.address.map { .init(address: $0, type: "2") })],
            source: .init(site: "Countersign", observer: FHIR.Reference(identifier: FHIR.Identifier(system: FHIR.logSystem, value: "countersign"),
                                                                        display: "Countersign audit log"),
                          type: [FHIR.Coding(system: "http://terminology.hl7.org/CodeSystem/security-source-type", code: "4", display: "Application Server")]),
            entity: [
                .init(what: subject, type: FHIR.Coding(system: "http://terminology.hl7.org/CodeSystem/audit-entity-type", code: "1", display: "Person"),
                      role: FHIR.Coding(system: "http://terminology.hl7.org/CodeSystem/object-role", code: "1", display: "Patient"), detail: nil),
                .init(what: FHIR.Reference(reference: reportURL, type: "DiagnosticReport"),
                      type: FHIR.Coding(system: "http://terminology.hl7.org/CodeSystem/audit-entity-type", code: "2", display: "System Object"),
                      role: FHIR.Coding(system: "http://terminology.hl7.org/CodeSystem/object-role", code: "3", display: "Report"),
                      detail: [.init(type: "log-seq", valueString: String(e.seq)), .init(type: "log-leaf-hash", valueString: e.leafHashHex),
                               .init(type: "case", valueString: c.caseId)]),
            ])
    }
}
