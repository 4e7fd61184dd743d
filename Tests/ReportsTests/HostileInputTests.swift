import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
@testable import Reports

/// XSS and injection payloads in every free-text field must come out as inert text in HTML and
/// as valid XML that reads back as the same value.
final class HostileInputTests: XCTestCase {
    struct Tag {
        let name: String
        let attributes: [(name: String, value: String)]
    }

    /// A small HTML tag scanner (enough to see every tag and attribute our reports could contain).
    static func tags(in html: String) -> [Tag] {
        var result: [Tag] = []
        let chars = Array(html.unicodeScalars)
        var i = 0
        func isNameChar(_ c: Unicode.Scalar) -> Bool {
            CharacterSet.alphanumerics.contains(c) || c == "-" || c == "_" || c == ":"
        }
        while i < chars.count {
            guard chars[i] == "<", i + 1 < chars.count, CharacterSet.letters.contains(chars[i + 1]) else { i += 1; continue }
            i += 1
            var name = ""
            while i < chars.count, isNameChar(chars[i]) { name.unicodeScalars.append(chars[i]); i += 1 }
            var attrs: [(String, String)] = []
            while i < chars.count, chars[i] != ">" {
                if chars[i] == " " || chars[i] == "\n" || chars[i] == "\t" || chars[i] == "/" { i += 1; continue }
                var attr = ""
                while i < chars.count, chars[i] != "=", chars[i] != " ", chars[i] != ">", chars[i] != "/" {
                    attr.unicodeScalars.append(chars[i]); i += 1
                }
                var value = ""
                if i < chars.count, chars[i] == "=" {
                    i += 1
                    if i < chars.count, chars[i] == "\"" || chars[i] == "'" {
                        let quote = chars[i]; i += 1
                        while i < chars.count, chars[i] != quote { value.unicodeScalars.append(chars[i]); i += 1 }
                        i += 1
                    } else {
                        while i < chars.count, chars[i] != " ", chars[i] != ">" { value.unicodeScalars.append(chars[i]); i += 1 }
                    }
                }
                if !attr.isEmpty { attrs.append((attr.lowercased(), value)) }
            }
            result.append(Tag(name: name.lowercased(), attributes: attrs))
        }
        return result
    }

    static let allowedTags: Set<String> = [
        "html", "head", "meta", "title", "style", "body", "header", "footer", "section", "h1", "h2", "p", "span", "div",
        "strong", "code", "table", "thead", "tbody", "tr", "th", "td", "dl", "dt", "dd", "ul", "li", "a",
        "svg", "path", "line", "rect", "circle", "text",
    ]

    func assertInert(_ html: String, payload: String, file: StaticString = #filePath, line: UInt = #line) {
        let lower = html.lowercased()
        XCTAssertFalse(lower.contains("<script"), "script tag for payload \(payload.debugDescription)", file: file, line: line)
        XCTAssertFalse(lower.contains("<img"), "img tag for payload \(payload.debugDescription)", file: file, line: line)
        XCTAssertFalse(lower.contains("http://") || lower.contains("https://"), "external URL", file: file, line: line)
        for tag in Self.tags(in: html) {
            XCTAssertTrue(Self.allowedTags.contains(tag.name), "unexpected <\(tag.name)> for payload \(payload.debugDescription)",
                          file: file, line: line)
            for (name, value) in tag.attributes {
                XCTAssertFalse(name.hasPrefix("on"), "event handler \(name) for payload \(payload.debugDescription)", file: file, line: line)
                if ["href", "src", "xlink:href", "action", "formaction"].contains(name) {
                    let v = value.lowercased().trimmingCharacters(in: .whitespacesAndNewlines)
                    XCTAssertFalse(v.contains(":"), "\(name)=\(value) has a scheme", file: file, line: line)
                    XCTAssertFalse(v.hasPrefix("/"), "\(name)=\(value) is absolute", file: file, line: line)
                }
            }
        }
        for scalar in html.unicodeScalars {
            let v = scalar.value
            XCTAssertFalse((v < 0x20 && v != 0x0A && v != 0x09) || (0x7F...0x9F).contains(v) || (0x202A...0x202E).contains(v)
                           || (0x2066...0x2069).contains(v), "raw U+\(String(v, radix: 16)) in HTML", file: file, line: line)
        }
    }

    func testTagScannerSeesWhatABrowserWould() {
        let bad = Self.tags(in: "<p>x</p>\"><img src=x onerror=alert(1)><a href='javascript:x'>")
        XCTAssertEqual(bad.map(\.name), ["p", "img", "a"])
        XCTAssertEqual(bad[1].attributes.map(\.name), ["src", "onerror"])
        XCTAssertEqual(bad[2].attributes.first?.value, "javascript:x")
    }

    func testPayloadsAreInertInCaseAndRunHTML() throws {
        let renderer = try ReportRenderer()
        let sample = Self.tags(in: try renderer.renderCaseHTML(try ReportFixtures.sampleCase()))
        XCTAssertGreaterThan(sample.filter { $0.name == "svg" }.count, 4)
        for payload in ReportFixtures.payloads {
            let caseHTML = try renderer.renderCaseHTML(try ReportFixtures.hostileCase(payload))
            assertInert(caseHTML, payload: payload)
            let runHTML = try renderer.renderRunHTML(try ReportFixtures.hostileRun(payload))
            assertInert(runHTML, payload: payload)
        }
    }

    func testPayloadsShowAsVisibleText() throws {
        let renderer = try ReportRenderer()
        let script = try renderer.renderCaseHTML(try ReportFixtures.hostileCase("<script>alert(1)</script>"))
        XCTAssertTrue(script.contains("case-&lt;script&gt;alert(1)&lt;/script&gt;"))
        let rlo = try renderer.renderCaseHTML(try ReportFixtures.hostileCase("abc\u{202E}gpj.exe"))
        XCTAssertTrue(rlo.contains("case-abc[U+202E]gpj.exe"))
        let control = try renderer.renderCaseHTML(try ReportFixtures.hostileCase("a\u{0001}b"))
        XCTAssertTrue(control.contains("case-a[U+0001]b"))
        let mustache = try renderer.renderCaseHTML(try ReportFixtures.hostileCase("{{caseId}} {{{caseId}}}"))
        XCTAssertTrue(mustache.contains("case-{{caseId}} {{{caseId}}}"), "values are never re-evaluated as templates")
        let run = try renderer.renderRunHTML(try ReportFixtures.hostileRun("javascript:alert(document.cookie)"))
        XCTAssertTrue(run.contains("href=\"javascript%3Aalert%28document.cookie%29\""))
        XCTAssertTrue(run.contains("href=\"cases/javascript%3Aalert%28document.cookie%29.html\""))
        let absolute = try renderer.renderRunHTML(try ReportFixtures.hostileRun("/etc/passwd"))
        XCTAssertFalse(absolute.contains("href=\"/etc"), "absolute paths are not linked")
    }

    func testURLsInDataStayTextNeverReferences() throws {
        let url = "https://evil.example/x.png"
        let html = try ReportRenderer().renderCaseHTML(try ReportFixtures.hostileCase(url))
        XCTAssertTrue(html.contains("<li>https://evil.example/x.png</li>"), "shown as text")
        for tag in Self.tags(in: html) {
            for (name, value) in tag.attributes {
                XCTAssertFalse(value.contains("evil.example"), "<\(tag.name) \(name)=…> references the payload")
            }
        }
        let run = try ReportRenderer().renderRunHTML(try ReportFixtures.hostileRun(url))
        XCTAssertTrue(run.contains("href=\"https%3A//evil.example/x.png\""), "a report file named like a URL stays relative")
    }

    func testHTMLEscapingKeepsPlainTextAndEscapesTheRest() {
        XCTAssertEqual(ReportText.htmlEscaped("lesion-0325_a.b ~ 2026-12-03T10:00:00.000Z"), "lesion-0325_a.b ~ 2026-12-03T10:00:00.000Z")
        XCTAssertEqual(ReportText.htmlEscaped(#"<script>alert("x") & 'y'</script>"#),
                       "&lt;script&gt;alert(&quot;x&quot;) &amp; &#39;y&#39;&lt;/script&gt;")
        XCTAssertEqual(ReportText.htmlEscaped("a\u{202E}b"), ReportText.displayable("a\u{202E}b"))
        XCTAssertFalse(ReportText.htmlEscaped("a\u{202E}b").unicodeScalars.contains("\u{202E}"), "a bidi override is made visible")
        XCTAssertFalse(ReportText.htmlEscaped("a\u{7}b").unicodeScalars.contains("\u{7}"), "a control character is made visible")
        XCTAssertEqual(ReportText.htmlEscaped("lésion <1>"), "lésion &lt;1&gt;")
    }

    func testRelativeHref() {
        XCTAssertEqual(ReportText.relativeHref("cases/c 1.html"), "cases/c%201.html")
        XCTAssertEqual(ReportText.relativeHref("JavaScript:x"), "JavaScript%3Ax")
        XCTAssertNil(ReportText.relativeHref("//evil.example/x"))
        XCTAssertNil(ReportText.relativeHref("/abs"))
        XCTAssertNil(ReportText.relativeHref(""))
        XCTAssertEqual(ReportText.relativeHref("é"), "%C3%A9")
    }

    func testPayloadsGiveValidXMLThatReadsBack() throws {
        for payload in ReportFixtures.payloads {
            let caseModel = try ReportFixtures.hostileCase(payload)
            let data = try XMLReportWriter.caseXML(caseModel)
            let doc = try XMLDocument(data: data, options: [])
            func read(_ xpath: String) throws -> [String] { try doc.nodes(forXPath: xpath).map { $0.stringValue ?? "" } }
            let expected = ReportText.xmlReadBack(payload)
            XCTAssertEqual(try read("/*[local-name()='caseReport']/*[local-name()='caseId']"), ["case-" + expected])
            XCTAssertEqual(try read("//*[local-name()='note']"), [expected, expected])
            XCTAssertEqual(try read("//*[local-name()='printedName']"), ["Dr " + expected])
            XCTAssertEqual(try read("//*[local-name()='prediction']/*[local-name()='probability']/@class").first, expected)
            XCTAssertEqual(try read("//*[local-name()='classLabel']").first, expected)
            XCTAssertEqual(try read("//*[local-name()='policyName']"), ["policy-" + expected])

            let runData = try XMLReportWriter.runXML(try ReportFixtures.hostileRun(payload))
            let runDoc = try XMLDocument(data: runData, options: [])
            XCTAssertEqual(try runDoc.nodes(forXPath: "/*/*[local-name()='runId']").map { $0.stringValue ?? "" }, ["run-" + expected])
            XCTAssertEqual(try runDoc.nodes(forXPath: "//*[local-name()='reportFile']").first?.stringValue, expected)
        }
        // Without forbidden characters the read-back is exact — bidi overrides, CR and tabs included.
        for exact in ["abc\u{202E}gpj.exe", "cr\r\nlf\ttab", "]]><!--", "<script>alert(1)</script>"] {
            XCTAssertEqual(ReportText.xmlReadBack(exact), exact)
        }
        XCTAssertEqual(ReportText.xmlReadBack("a\u{0001}b\u{FFFF}"), "a[U+0001]b[U+FFFF]")
    }
}
