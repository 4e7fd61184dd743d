import Foundation
import Reports

extension FHIR {
    /// Why a bundle could not be written as XML (an element the order table does not know).
    public struct XMLError: Error, CustomStringConvertible, Equatable {
        public var description: String
    }
}

extension FHIR.Bundle {
    /// FHIR's XML form of the bundle: the same content as `json()`, elements in the order FHIR's
    /// schema requires (`FHIR.ElementOrder`, generated from the R4B models), primitives as `value`
    /// attributes, `Extension.url` as an attribute, everything in the `http://hl7.org/fhir` namespace.
    public func xml() throws -> Data {
        guard let root = try JSONSerialization.jsonObject(with: try json()) as? [String: Any] else {
            throw FHIR.XMLError(description: "the bundle's JSON is not an object")
        }
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        try FHIRXMLWriter.element(root, type: "Bundle", name: "Bundle", namespace: true, depth: 0, into: &out)
        return Data(out.utf8)
    }
}

enum FHIRXMLWriter {
    typealias Order = FHIR.ElementOrder

    static func element(_ object: [String: Any], type: String, name: String, namespace: Bool, depth: Int, into out: inout String) throws {
        guard let order = Order.elements[type] else { throw FHIR.XMLError(description: "no XML element order for FHIR type \(type)") }
        for key in object.keys where key != "resourceType" && !order.contains(key) {
            throw FHIR.XMLError(description: "\(type).\(key) has no place in FHIR's XML order for \(type)")
        }
        let pad = String(repeating: "  ", count: depth)
        var open = pad + "<" + name
        if namespace { open += " xmlns=\"http://hl7.org/fhir\"" }
        if type == "Extension", let url = object["url"] {
            let text = try attribute(try primitive(url, "Extension.url"))
            open += " url=\"" + text + "\""
        }
        let present = order.filter { object[$0] != nil && !(type == "Extension" && $0 == "url") }
        guard !present.isEmpty else { out += open + "/>\n"; return }
        out += open + ">\n"
        for key in present {
            let values = (object[key] as? [Any]) ?? [object[key]!]
            for value in values {
                if let child = Order.childTypes[type]?[key] {
                    guard let nested = value as? [String: Any] else {
                        throw FHIR.XMLError(description: "\(type).\(key) should be a \(child) object")
                    }
                    if child == "Resource" {
                        guard let resourceType = nested["resourceType"] as? String else {
                            throw FHIR.XMLError(description: "\(type).\(key) holds a resource without resourceType")
                        }
                        out += pad + "  <" + key + ">\n"
                        try element(nested, type: resourceType, name: resourceType, namespace: false, depth: depth + 2, into: &out)
                        out += pad + "  </" + key + ">\n"
                    } else {
                        try element(nested, type: child, name: key, namespace: false, depth: depth + 1, into: &out)
                    }
                } else {
                    let text = try attribute(try primitive(value, "\(type).\(key)"))
                    out += pad + "  <" + key + " value=\"" + text + "\"/>\n"
                }
            }
        }
        out += pad + "</" + name + ">\n"
    }

    /// A primitive's lexical form, as FHIR's JSON writes it.
    static func primitive(_ value: Any, _ path: String) throws -> String {
        if Order.booleans.contains(path) {
            guard let b = value as? Bool else { throw FHIR.XMLError(description: "\(path) should be true or false") }
            return b ? "true" : "false"
        }
        switch value {
        case let s as String: return s
        case let i as Int: return String(i)
        case let d as Double:
            guard d.isFinite else { throw FHIR.XMLError(description: "\(path) is not a finite number") }
            return d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : "\(d)"
        case let n as NSNumber: return n.stringValue
        default: throw FHIR.XMLError(description: "\(path) is not a primitive value")
        }
    }

    /// Attribute text, escaped as the XML reports escape it (`ReportText.xmlEscaped`: markup
    /// characters, and CR, LF and tab as references so attribute normalisation keeps them). A
    /// character XML cannot carry is refused: an export must not alter a value.
    static func attribute(_ s: String) throws -> String {
        if let bad = s.unicodeScalars.first(where: ReportText.isXMLForbidden) {
            throw FHIR.XMLError(description: "a value holds U+\(String(bad.value, radix: 16, uppercase: true)), which XML cannot carry")
        }
        return ReportText.xmlEscaped(s)
    }
}
