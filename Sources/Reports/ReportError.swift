import Foundation

/// Failures of report rendering and validation (writing is `AtomicFile`'s).
public enum ReportError: Error, CustomStringConvertible, LocalizedError, Equatable {
    case templateMissing(name: String, directory: String?)
    case templateUnreadable(path: String, reason: String)
    case templateSyntax(name: String, reason: String)
    case templatesDirectoryMissing(path: String)
    case schemaInvalid(reason: String)
    case documentNotWellFormed(reason: String)
    case documentInvalid(errors: [String])

    public var description: String {
        switch self {
        case .templateMissing(let name, let dir):
            return "report template '\(name).mustache' not found" + (dir.map { " in \($0)" } ?? " among the built-in templates")
        case .templateUnreadable(let path, let reason):
            return "cannot read report template \(path): \(reason)"
        case .templateSyntax(let name, let reason):
            return "report template '\(name)' has a syntax error: \(reason)"
        case .templatesDirectoryMissing(let path):
            return "report templates folder \(path) does not exist"
        case .schemaInvalid(let reason):
            return "the report XML schema cannot be loaded: \(reason)"
        case .documentNotWellFormed(let reason):
            return "generated XML report is not well-formed: \(reason)"
        case .documentInvalid(let errors):
            return "generated XML report does not conform to countersign-report.xsd: " + errors.joined(separator: "; ")
        }
    }

    public var errorDescription: String? { description }
}
