import Digests
import Foundation

/// FHIR R4 data types, as far as the exported resources use them. Absent optionals are left out of
/// the JSON, as FHIR requires (no `null`s, no empty arrays).
public enum FHIR {
    /// Countersign's own code system, for what no standard code names (documented in README's
    /// "FHIR export" section).
    public static let codeSystem = "https://countersign.example/fhir/CodeSystem/countersign"
    /// Identifier systems: URNs, since a hospital has no registry for these.
    public static let runSystem = "urn:countersign:run"
    public static let caseSystem = "urn:countersign:case"
    public static let subjectSystem = "urn:countersign:subject"
    public static let reviewerSystem = "urn:countersign:reviewer"
    public static let modelSystem = "urn:countersign:model-sha256"
    public static let reportSystem = "urn:countersign:report-sha256"
    public static let logSystem = "urn:countersign:audit-log"
    /// A study's classes as codes (`…/CodeSystem/countersign-class-lesion`).
    public static func classSystem(study: String) -> String { codeSystem + "-class-" + study }

    public struct Coding: Codable, Equatable, Sendable {
        public var system: String?
        public var code: String?
        public var display: String?
        public init(system: String?, code: String?, display: String? = nil) { self.system = system; self.code = code; self.display = display }
    }

    public struct CodeableConcept: Codable, Equatable, Sendable {
        public var coding: [Coding]?
        public var text: String?
        public init(_ coding: Coding? = nil, text: String? = nil) { self.coding = coding.map { [$0] }; self.text = text }
        public static func local(_ code: String, _ display: String) -> CodeableConcept {
            CodeableConcept(Coding(system: FHIR.codeSystem, code: code, display: display))
        }
    }

    public struct Identifier: Codable, Equatable, Sendable {
        public var system: String
        public var value: String
        public init(system: String, value: String) { self.system = system; self.value = value }
    }

    public struct Reference: Codable, Equatable, Sendable {
        public var reference: String?
        public var type: String?
        public var identifier: Identifier?
        public var display: String?
        public init(reference: String? = nil, type: String? = nil, identifier: Identifier? = nil, display: String? = nil) {
            self.reference = reference; self.type = type; self.identifier = identifier; self.display = display
        }
    }

    public struct Quantity: Codable, Equatable, Sendable {
        public var value: Decimal
        public var unit: String?
        public var system: String?
        public var code: String?
        /// A unitless number (UCUM `1`), e.g. a probability.
        public static func unitless(_ v: Double, digits: Int = 6) -> Quantity {
            Quantity(value: FHIR.decimal(v, digits: digits), unit: "1", system: "http://unitsofmeasure.org", code: "1")
        }
    }

    public struct Attachment: Codable, Equatable, Sendable {
        public var contentType: String
        public var data: String?
        public var size: Int?
        /// Base64 of the SHA-1 of the data (FHIR R4 names SHA-1 here).
        public var hash: String?
        public var title: String?
        public var creation: String?
    }

    public struct Meta: Codable, Equatable, Sendable {
        public var versionId: String?
        public var security: [Coding]?
        public var tag: [Coding]?
    }

    public struct Extension: Codable, Equatable, Sendable {
        public var url: String
        public var valueString: String?
        public var valueBase64Binary: String?
        public var valueDecimal: Decimal?
        public init(url: String, valueString: String? = nil, valueBase64Binary: String? = nil, valueDecimal: Decimal? = nil) {
            self.url = url; self.valueString = valueString; self.valueBase64Binary = valueBase64Binary; self.valueDecimal = valueDecimal
        }
    }

    public struct Annotation: Codable, Equatable, Sendable {
        public var text: String
    }

    /// HL7 "AI Transparency on FHIR": a resource asserted by an AI system carries this security label.
    public static let aiAsserted = Coding(system: "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", code: "AIAST",
                                          display: "Artificial Intelligence asserted")

    /// A decimal with at most `digits` places (JSON numbers, not binary-float noise such as 0.30000000000000004).
    public static func decimal(_ v: Double, digits: Int = 6) -> Decimal {
        var x = Decimal(v), rounded = Decimal()
        NSDecimalRound(&rounded, &x, digits, .plain)
        return rounded
    }

    /// A stable `urn:uuid:` for a resource: the same record gives the same id in every export, so a
    /// receiving system can tell a re-export from a new report (SHA-256 of the parts, in RFC 9562's
    /// version 8 layout).
    public static func uuid(_ parts: String...) -> String {
        var h = Array(ContentHash.sha256Hex(parts.joined(separator: "\u{1F}")).prefix(32))
        h[12] = "8"
        h[16] = ["8", "9", "a", "b"][Int(String(h[16]), radix: 16)! & 3]
        return "urn:uuid:" + String(h[0..<8]) + "-" + String(h[8..<12]) + "-" + String(h[12..<16]) + "-" + String(h[16..<20]) + "-" + String(h[20..<32])
    }
}
