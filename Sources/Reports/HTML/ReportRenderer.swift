import Foundation
import Mustache

/// Renders case and run reports as self-contained HTML (inline CSS and SVG, no script, no
/// external references) from Mustache templates.
///
/// The built-in templates are compiled into the binary (`EmbeddedReportResources`, generated
/// from `Reports/templates`). A templates folder, when given, overrides them file by file, so a
/// site can restyle (`report.css`) or rearrange (`case.mustache`, `run.mustache`, `partials/…`)
/// without recompiling. Every data value reaches the templates as an already-formatted string and
/// is HTML-escaped by `{{…}}`; only `SVGMarkup` built here is inserted with `{{{…Svg}}}`.
/// Same model and templates → byte-identical output.
public struct ReportRenderer: Sendable {
    /// Where the templates came from: "built-in" or the folder's path.
    public let templatesSource: String
    private let library: MustacheLibrary

    /// The conventional templates folder relative to a Countersign checkout or install.
    public static let conventionalTemplatesPath = "Reports/templates"

    /// - Parameter templatesDirectory: a folder whose `*.mustache` files and `report.css` override
    ///   the built-in templates of the same relative name; `nil` uses the built-in templates only.
    public init(templatesDirectory: URL? = nil) throws {
        var sources: [String: String] = EmbeddedReportResources.templates
        if let dir = templatesDirectory {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ReportError.templatesDirectoryMissing(path: dir.path)
            }
            for (relative, text) in try Self.readTemplates(in: dir) { sources[relative] = text }
            templatesSource = dir.path
        } else {
            templatesSource = "built-in"
        }
        var library = MustacheLibrary()
        for (relative, text) in sources.sorted(by: { $0.key < $1.key }) {
            let name = relative.hasSuffix(".mustache") ? String(relative.dropLast(".mustache".count)) : relative
            do {
                library.register(try MustacheTemplate(string: text), named: name)
            } catch {
                throw ReportError.templateSyntax(name: relative, reason: String(describing: error))
            }
        }
        self.library = library
    }

    /// Uses `folder` when it exists (e.g. `./Reports/templates`), the built-in templates otherwise.
    public static func preferringFolder(_ folder: URL) throws -> ReportRenderer {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue {
            return try ReportRenderer(templatesDirectory: folder)
        }
        return try ReportRenderer(templatesDirectory: nil)
    }

    /// `*.mustache` and `*.css` files under `dir`, keyed by relative path with `/` separators.
    static func readTemplates(in dir: URL) throws -> [String: String] {
        let root = dir.standardizedFileURL.path
        guard let enumerator = FileManager.default.enumerator(atPath: root) else {
            throw ReportError.templatesDirectoryMissing(path: root)
        }
        var result: [String: String] = [:]
        for case let relative as String in enumerator where relative.hasSuffix(".mustache") || relative.hasSuffix(".css") {
            let path = root + "/" + relative
            do {
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw CocoaError(.fileReadUnknown)
                }
                guard let text = String(data: data, encoding: .utf8) else {
                    throw ReportError.templateUnreadable(path: path, reason: "not valid UTF-8")
                }
                result[relative] = text
            } catch let error as ReportError {
                throw error
            } catch {
                throw ReportError.templateUnreadable(path: path, reason: error.localizedDescription)
            }
        }
        return result
    }

    /// The case report as one self-contained HTML document.
    public func renderCaseHTML(_ model: CaseReportModel) throws -> String {
        try render(CaseReportView(model), template: "case")
    }

    /// The run report as one self-contained HTML document.
    public func renderRunHTML(_ model: RunReportModel) throws -> String {
        try render(RunReportView(model), template: "run")
    }

    /// The monitoring report (`audit monitor --out`) as one self-contained HTML document.
    public func renderMonitoringHTML(_ model: MonitoringReportModel) throws -> String {
        try render(MonitoringReportView(model), template: "monitor")
    }

    private func render(_ view: Any, template: String) throws -> String {
        guard let html = library.render(MustacheTree.convert(view), withTemplate: template) else {
            throw ReportError.templateMissing(name: template, directory: templatesSource == "built-in" ? nil : templatesSource)
        }
        return html
    }
}
