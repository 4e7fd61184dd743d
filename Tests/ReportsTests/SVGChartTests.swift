import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
@testable import Reports

final class SVGChartTests: XCTestCase {
    private func count(_ needle: String, in s: String) -> Int { s.components(separatedBy: needle).count - 1 }

    private func assertWellFormed(_ svg: SVGMarkup, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertNoThrow(try XMLDocument(xmlString: svg.markup, options: []), "SVG is not well-formed XML", file: file, line: line)
    }

    func testSparklineScalesMinToBottomAndMaxToTop() {
        let svg = SVGChart.sparkline([0, 1, 0.5], label: "q").markup
        XCTAssertTrue(svg.contains("d=\"M1.00 31.00L70.00 1.00L139.00 16.00\""), svg)
        assertWellFormed(SVGChart.sparkline([0, 1, 0.5], label: "q"))
    }

    func testSparklineBreaksAtMissingValuesAndHandlesDegenerateInput() {
        let gap = SVGChart.sparkline([0, .nan, 1, 2], label: "gap").markup
        XCTAssertEqual(count("M", in: gap.components(separatedBy: "d=\"").last ?? ""), 2, gap)
        let flat = SVGChart.sparkline([3, 3, 3], label: "flat").markup
        XCTAssertTrue(flat.contains("d=\"M1.00 16.00L70.00 16.00L139.00 16.00\""), flat)
        XCTAssertTrue(SVGChart.sparkline([], label: "none").markup.contains("no values"))
        XCTAssertTrue(SVGChart.sparkline([.nan], label: "none").markup.contains("no values"))
    }

    func testLogRangeCoversPathThresholdAndOne() {
        XCTAssertTrue(SVGChart.logRange([3.1, 1.9, 11.4], including: [1, 20]) == (0, 2))
        XCTAssertTrue(SVGChart.logRange([0.004, 0.5], including: [1, 100]) == (-3, 2))
        XCTAssertTrue(SVGChart.logRange([], including: []) == (-1, 1))
        XCTAssertTrue(SVGChart.logRange([1e-40], including: [1]) == (-12, 0), "at most 12 decades")
    }

    func testScanChartDrawsEveryScanEveryClassAndTheEValuePath() throws {
        let scans = try XCTUnwrap(try ReportFixtures.sampleCase().scans)
        let svg = SVGChart.scanProbabilities(classLabels: scans.classLabels, scans: scans.scans,
                                             eValuePath: scans.eValuePath, threshold: scans.eValueThreshold).markup
        XCTAssertEqual(count("<circle class=\"point\"", in: svg), 4)
        XCTAssertEqual(count("<circle class=\"point ood\"", in: svg), 2, "scan 2 is out of distribution, for both classes")
        XCTAssertEqual(count("class=\"series\"", in: svg), 2)
        XCTAssertEqual(count("<path class=\"evalue\"", in: svg), 1)
        XCTAssertTrue(svg.contains("1/α = 20"))
        // Plot area: top 14, height 210, log axis 1e0…1e2, so e = 10 sits at y = 119 and 1/α = 20 at 14 + 210·(1 − log10 20 / 2).
        XCTAssertTrue(svg.contains("<text class=\"tick\" x=\"510.00\" y=\"123.00\" text-anchor=\"start\">1e1</text>"), svg)
        let y20 = 14 + 210 * (1 - log10(20.0) / 2)
        XCTAssertTrue(svg.contains("<line class=\"threshold\" x1=\"44.00\" y1=\"\(String(format: "%.2f", y20))\""), svg)
        assertWellFormed(SVGMarkup(svg))
    }

    func testReliabilityDiagramSkipsEmptyBinsAndDrawsDiagonal() throws {
        let bins = try XCTUnwrap(try ReportFixtures.sampleRun().calibration?.reliabilityBefore)
        let svg = SVGChart.reliabilityDiagram(bins, title: "Before").markup
        XCTAssertEqual(count("<rect class=\"bar\"", in: svg), bins.filter { $0.count > 0 }.count)
        XCTAssertEqual(count("<line class=\"diagonal\" x1=\"40.00\" y1=\"222.00\" x2=\"240.00\" y2=\"22.00\"/>", in: svg), 1)
        // The last bin: [0.9, 1.0], accuracy 0.793 → top at 22 + 200·(1 − 0.793) = 63.4.
        XCTAssertTrue(svg.contains("<rect class=\"bar\" x=\"220.00\" y=\"63.40\" width=\"20.00\" height=\"158.60\"/>"), svg)
        assertWellFormed(SVGMarkup(svg))
    }

    func testMartingalePathHasOnePointPerCase() {
        let path = (0..<50).map { pow(1.1, Double($0)) }
        let svg = SVGChart.martingalePath(path, threshold: 100).markup
        let d = svg.components(separatedBy: "<path class=\"martingale\" d=\"").last?.components(separatedBy: "\"").first ?? ""
        XCTAssertEqual(count("L", in: d) + count("M", in: d), 50)
        XCTAssertTrue(svg.contains("alarm at 100"))
        assertWellFormed(SVGMarkup(svg))
    }

    func testLongMartingaleIsThinnedButKeepsItsPeak() {
        var path = (0..<10_000).map { 1 + 0.5 * sin(Double($0) / 300) }
        path[7_321] = 250
        let kept = SVGChart.displayPoints(path)
        XCTAssertLessThanOrEqual(kept.count, 1002)
        XCTAssertTrue(kept.contains(7_321))
        XCTAssertEqual(kept.first, 0)
        XCTAssertEqual(kept.last, 9_999)
        XCTAssertEqual(kept, kept.sorted(), "points stay in processing order")
        XCTAssertEqual(SVGChart.displayPoints([1, 2, 3]), [0, 1, 2])
        let svg = SVGChart.martingalePath(path, threshold: 100).markup
        XCTAssertTrue(svg.contains("cases in processing order (10000)"))
        XCTAssertLessThan(svg.utf8.count, 40_000)
    }

    func testChartTextIsEscaped() {
        let evil = "<script>alert(1)</script>\u{202E}"
        let scan = ScanRow(index: 1, takenAt: "t", acquisition: "a", probabilities: [0.5, 0.5])
        let svg = SVGChart.scanProbabilities(classLabels: [evil, "b\"'&"], scans: [scan], eValuePath: [1], threshold: 20)
        XCTAssertFalse(svg.markup.contains("<script"))
        XCTAssertFalse(svg.markup.unicodeScalars.contains("\u{202E}"))
        XCTAssertTrue(svg.markup.contains("b&quot;&#39;&amp;"))
        assertWellFormed(svg)
        let spark = SVGChart.sparkline([1, 2], label: evil)
        XCTAssertTrue(spark.markup.contains("<title>&lt;script&gt;alert(1)&lt;/script&gt;[U+202E]</title>"))
    }

    func testChartsAreDeterministic() throws {
        let run = try ReportFixtures.sampleRun()
        let path = try XCTUnwrap(run.drift?.martingalePath)
        XCTAssertEqual(SVGChart.martingalePath(path, threshold: 100), SVGChart.martingalePath(path, threshold: 100))
    }
}
