import Foundation
import XCTest
@testable import Reports

/// The binary's built-in templates and schema must be exactly the files in `Reports/`
/// (regenerate with `scripts/generate-report-defaults`).
final class EmbeddedResourcesTests: XCTestCase {
    func testEmbeddedTemplatesEqualTemplatesFolderByteForByte() throws {
        let onDisk = try ReportRenderer.readTemplates(in: ReportFixtures.templatesDirectory)
        XCTAssertEqual(Set(onDisk.keys), Set(EmbeddedReportResources.templates.keys),
                       "template files differ from the embedded set: run scripts/generate-report-defaults")
        for (name, text) in onDisk {
            XCTAssertEqual(Data(text.utf8), Data((EmbeddedReportResources.templates[name] ?? "").utf8),
                           "\(name) differs from the embedded copy: run scripts/generate-report-defaults")
        }
        XCTAssertTrue(onDisk.keys.contains("case.mustache"))
        XCTAssertTrue(onDisk.keys.contains("run.mustache"))
        XCTAssertTrue(onDisk.keys.contains("report.css"))
    }

    func testEmbeddedSchemaEqualsSchemaFileByteForByte() throws {
        let onDisk = try Data(contentsOf: ReportFixtures.schemaFile)
        XCTAssertEqual(onDisk, Data(EmbeddedReportResources.schema.utf8),
                       "countersign-report.xsd differs from the embedded copy: run scripts/generate-report-defaults")
    }

    /// Only chart markup built in Swift may be inserted unescaped: every triple-stash or `{{&…}}`
    /// in a template names a member ending in `Svg` (of type `SVGMarkup`), or is the stylesheet partial.
    func testTemplatesNeverInsertDataUnescaped() throws {
        for (name, text) in EmbeddedReportResources.templates {
            var rest = Substring(text)
            while let r = rest.range(of: "{{{") {
                let after = rest[r.upperBound...]
                guard let end = after.range(of: "}}}") else { XCTFail("unterminated {{{ in \(name)"); break }
                let key = after[..<end.lowerBound].trimmingCharacters(in: .whitespaces)
                XCTAssertTrue(key.hasSuffix("Svg"), "\(name) inserts '\(key)' unescaped")
                rest = after[end.upperBound...]
            }
            XCTAssertFalse(text.contains("{{&"), "\(name) uses {{& (unescaped)")
            XCTAssertFalse(text.contains("{{="), "\(name) changes delimiters, which hides unescaped tags from this test")
        }
        // The members that are inserted unescaped really are SVGMarkup, and only they are.
        var svgKeys = 0
        func walk(_ node: Any, key: String) {
            if let dictionary = node as? [String: Any] {
                for (k, v) in dictionary { walk(v, key: k) }
            } else if let array = node as? [Any] {
                for v in array { walk(v, key: key) }
            } else if key.hasSuffix("Svg") {
                XCTAssertTrue(node is SVGMarkup, "\(key) is \(type(of: node)), not SVGMarkup")
                svgKeys += 1
            } else {
                XCTAssertFalse(node is SVGMarkup, "\(key) holds markup but is not named …Svg")
            }
        }
        walk(MustacheTree.convert(CaseReportView(try ReportFixtures.sampleCase())), key: "")
        walk(MustacheTree.convert(RunReportView(try ReportFixtures.sampleRun())), key: "")
        XCTAssertEqual(svgKeys, 1 + 1 + 3 + 2 + 1, "scan chart, query sparkline, 3 neighbour sparklines, 2 reliability, 1 martingale")
    }
}
