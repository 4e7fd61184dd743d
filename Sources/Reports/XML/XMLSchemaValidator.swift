import CLibXML2
import Foundation

/// Validates XML documents against an XML Schema with libxml2. Network access is off
/// (`XML_PARSE_NONET`) and libxml2's diagnostics are collected, never printed.
public final class XMLSchemaValidator: @unchecked Sendable {
    // The parsed schema is read-only after construction; each validation gets its own context.
    private let schema: xmlSchemaPtr

    private static let initialized: Bool = {
        xmlInitParser()
        return true
    }()

    /// Collects libxml2's structured errors.
    private final class ErrorSink {
        var messages: [String] = []
    }

    private static let collect: xmlStructuredErrorFunc = { userData, error in
        guard let userData, let error else { return }
        let sink = Unmanaged<ErrorSink>.fromOpaque(userData).takeUnretainedValue()
        let message = error.pointee.message.map { String(cString: $0) } ?? "unknown error"
        let trimmed = message.trimmingCharacters(in: .whitespacesAndNewlines)
        sink.messages.append(error.pointee.line > 0 ? "line \(error.pointee.line): \(trimmed)" : trimmed)
    }

    /// The report schema carried by the binary (`Reports/schema/countersign-report.xsd`).
    public static func reportSchema() throws -> XMLSchemaValidator {
        try cachedReportSchema.get()
    }

    private static let cachedReportSchema: Result<XMLSchemaValidator, Error> = Result {
        try XMLSchemaValidator(schema: Data(EmbeddedReportResources.schema.utf8))
    }

    public init(schema data: Data) throws {
        _ = Self.initialized
        let sink = ErrorSink()
        let parsed: xmlSchemaPtr? = data.withUnsafeBytes { raw -> xmlSchemaPtr? in
            guard let base = raw.baseAddress?.assumingMemoryBound(to: CChar.self), raw.count <= Int(Int32.max),
                  let context = xmlSchemaNewMemParserCtxt(base, Int32(raw.count)) else { return nil }
            defer { xmlSchemaFreeParserCtxt(context) }
            withExtendedLifetime(sink) {
                xmlSchemaSetParserStructuredErrors(context, Self.collect, Unmanaged.passUnretained(sink).toOpaque())
            }
            return withExtendedLifetime(sink) { xmlSchemaParse(context) }
        }
        guard let parsed else {
            throw ReportError.schemaInvalid(reason: sink.messages.isEmpty ? "libxml2 could not parse it" : sink.messages.joined(separator: "; "))
        }
        schema = parsed
    }

    deinit { xmlSchemaFree(schema) }

    /// Throws `ReportError.documentNotWellFormed` or `.documentInvalid` (with libxml2's messages).
    public func validate(_ data: Data) throws {
        let sink = ErrorSink()
        let options = Int32(XML_PARSE_NONET.rawValue | XML_PARSE_NOERROR.rawValue | XML_PARSE_NOWARNING.rawValue)
        try withExtendedLifetime(sink) {
            guard let parser = xmlNewParserCtxt() else { throw ReportError.documentNotWellFormed(reason: "out of memory") }
            defer { xmlFreeParserCtxt(parser) }
            let document: xmlDocPtr? = data.withUnsafeBytes { raw in
                guard let base = raw.baseAddress?.assumingMemoryBound(to: CChar.self), raw.count <= Int(Int32.max) else { return nil }
                return xmlCtxtReadMemory(parser, base, Int32(raw.count), "report.xml", "UTF-8", options)
            }
            guard let document else {
                if data.count > Int(Int32.max) { throw ReportError.documentNotWellFormed(reason: "document larger than 2 GiB") }
                let last = parser.pointee.lastError
                let message = last.message.map { String(cString: $0).trimmingCharacters(in: .whitespacesAndNewlines) } ?? "empty document"
                throw ReportError.documentNotWellFormed(reason: last.line > 0 ? "line \(last.line): \(message)" : message)
            }
            defer { xmlFreeDoc(document) }
            guard let context = xmlSchemaNewValidCtxt(schema) else {
                throw ReportError.documentInvalid(errors: ["cannot create a validation context"])
            }
            defer { xmlSchemaFreeValidCtxt(context) }
            xmlSchemaSetValidStructuredErrors(context, Self.collect, Unmanaged.passUnretained(sink).toOpaque())
            let status = xmlSchemaValidateDoc(context, document)
            if status != 0 {
                throw ReportError.documentInvalid(errors: sink.messages.isEmpty ? ["libxml2 status \(status)"] : sink.messages)
            }
        }
    }
}
