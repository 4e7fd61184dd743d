import Dispatch
import Foundation
import Reports

/// Renders a case's HTML and its schema-validated XML side by side (two cores: the two renderings
/// share nothing), so every caller gets both the same way.
enum CaseReportRendering {
    static func render(_ model: CaseReportModel, with renderer: ReportRenderer) throws -> (html: Data, xml: Data) {
        var html: Result<Data, Error> = .failure(CancellationError())
        var xml: Result<Data, Error> = .failure(CancellationError())
        DispatchQueue.concurrentPerform(iterations: 2) { i in
            if i == 0 {
                html = Result { Data(try renderer.renderCaseHTML(model).utf8) }
            } else {
                xml = Result { try XMLReportWriter.caseXML(model) }
            }
        }
        return (try html.get(), try xml.get())
    }
}
