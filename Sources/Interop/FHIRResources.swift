import Foundation

extension FHIR {
    /// The AI system itself: the model, named by the SHA-256 of its weights.
    public struct Device: Codable, Equatable, Sendable {
        public var resourceType = "Device"
        public var id: String?
        public var identifier: [Identifier]
        public var status = "active"
        public var manufacturer: String?
        public var deviceName: [DeviceName]
        public var type: CodeableConcept
        public var version: [Version]?
        public var property: [Property]?
        public struct DeviceName: Codable, Equatable, Sendable { public var name: String; public var type: String }
        public struct Version: Codable, Equatable, Sendable { public var type: CodeableConcept?; public var value: String }
        public struct Property: Codable, Equatable, Sendable { public var type: CodeableConcept; public var valueCode: [CodeableConcept]? }
    }

    public struct Observation: Codable, Equatable, Sendable {
        public var resourceType = "Observation"
        public var id: String?
        public var meta: Meta?
        public var identifier: [Identifier]?
        public var status: String
        public var category: [CodeableConcept]?
        public var code: CodeableConcept
        public var subject: Reference
        public var issued: String?
        public var device: Reference?
        public var method: CodeableConcept?
        public var valueCodeableConcept: CodeableConcept?
        public var valueQuantity: Quantity?
        public var valueString: String?
        public var valueBoolean: Bool?
        public var note: [Annotation]?
        public var component: [Component]?
        public struct Component: Codable, Equatable, Sendable {
            public var code: CodeableConcept
            public var valueCodeableConcept: CodeableConcept?
            public var valueQuantity: Quantity?
            public var valueBoolean: Bool?
            public var valueInteger: Int?
            public var valueString: String?
            public init(code: CodeableConcept, valueCodeableConcept: CodeableConcept? = nil, valueQuantity: Quantity? = nil,
                        valueBoolean: Bool? = nil, valueInteger: Int? = nil, valueString: String? = nil) {
                self.code = code; self.valueCodeableConcept = valueCodeableConcept; self.valueQuantity = valueQuantity
                self.valueBoolean = valueBoolean; self.valueInteger = valueInteger; self.valueString = valueString
            }
        }
    }

    public struct DiagnosticReport: Codable, Equatable, Sendable {
        public var resourceType = "DiagnosticReport"
        public var id: String?
        public var meta: Meta?
        public var identifier: [Identifier]
        public var status: String
        public var code: CodeableConcept
        public var subject: Reference
        public var issued: String?
        public var performer: [Reference]?
        public var resultsInterpreter: [Reference]?
        public var result: [Reference]?
        public var conclusion: String?
        public var conclusionCode: [CodeableConcept]?
        public var presentedForm: [Attachment]?
    }

    public struct Provenance: Codable, Equatable, Sendable {
        public var resourceType = "Provenance"
        public var id: String?
        public var `extension`: [Extension]?
        public var target: [Reference]
        public var recorded: String
        public var reason: [CodeableConcept]?
        public var activity: CodeableConcept?
        public var agent: [Agent]
        public var entity: [Entity]?
        public var signature: [Signature]?
        public struct Agent: Codable, Equatable, Sendable { public var type: CodeableConcept?; public var who: Reference }
        public struct Entity: Codable, Equatable, Sendable { public var role: String; public var what: Reference }
        public struct Signature: Codable, Equatable, Sendable {
            public var type: [Coding]
            public var when: String
            public var who: Reference
            public var targetFormat: String?
            public var sigFormat: String?
            public var data: String?
        }
    }

    /// A log event as IHE's Basic Audit Log Patterns shape it (R4 `AuditEvent`).
    public struct AuditEvent: Codable, Equatable, Sendable {
        public var resourceType = "AuditEvent"
        public var id: String?
        public var meta: Meta?
        public var type: Coding
        public var subtype: [Coding]?
        public var action: String?
        public var recorded: String
        public var outcome: String?
        public var agent: [Agent]
        public var source: Source
        public var entity: [Entity]?
        public struct Agent: Codable, Equatable, Sendable {
            public var type: CodeableConcept?
            public var who: Reference
            public var requestor: Bool
            public var network: Network?
        }
        public struct Network: Codable, Equatable, Sendable { public var address: String; public var type: String }
        public struct Source: Codable, Equatable, Sendable { public var site: String?; public var observer: Reference; public var type: [Coding]? }
        public struct Entity: Codable, Equatable, Sendable {
            public var what: Reference
            public var type: Coding?
            public var role: Coding?
            public var detail: [Detail]?
        }
        public struct Detail: Codable, Equatable, Sendable { public var type: String; public var valueString: String }
    }

    /// One resource of a bundle.
    public enum Resource: Equatable, Sendable, Encodable {
        case device(Device), observation(Observation), diagnosticReport(DiagnosticReport), provenance(Provenance), auditEvent(AuditEvent)

        public var resourceType: String {
            switch self {
            case .device: "Device"
            case .observation: "Observation"
            case .diagnosticReport: "DiagnosticReport"
            case .provenance: "Provenance"
            case .auditEvent: "AuditEvent"
            }
        }

        public func encode(to encoder: Encoder) throws {
            switch self {
            case .device(let r): try r.encode(to: encoder)
            case .observation(let r): try r.encode(to: encoder)
            case .diagnosticReport(let r): try r.encode(to: encoder)
            case .provenance(let r): try r.encode(to: encoder)
            case .auditEvent(let r): try r.encode(to: encoder)
            }
        }
    }

    public struct Bundle: Equatable, Sendable, Encodable {
        public var resourceType = "Bundle"
        public var identifier: Identifier
        public var type = "collection"
        public var timestamp: String
        public var entry: [Entry]
        public struct Entry: Equatable, Sendable, Encodable {
            public var fullUrl: String
            public var resource: Resource
        }

        /// Canonical JSON text: keys sorted, so the same records always give the same bytes.
        public func json() throws -> Data {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            return try encoder.encode(self)
        }
    }
}
