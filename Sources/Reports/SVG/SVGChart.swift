import Foundation

/// The report charts, drawn as small inline SVGs (no script, no external references).
public enum SVGChart {
    /// Log-scale axis range (powers of ten) covering `values` and `extra`, at most 12 decades.
    static func logRange(_ values: [Double], including extra: [Double]) -> (lo: Double, hi: Double) {
        let positive = (values + extra).filter { $0.isFinite && $0 > 0 }
        guard let mn = positive.min(), let mx = positive.max() else { return (-1, 1) }
        var lo = (log10(mn)).rounded(.down)
        var hi = (log10(mx)).rounded(.up)
        if hi <= lo { hi = lo + 1 }
        if hi - lo > 12 { lo = hi - 12 }
        return (lo, hi)
    }

    /// Per-scan calibrated probabilities per class (left axis, 0–1) and the e-value path after
    /// each scan (right axis, log scale) with the rejection threshold 1/α.
    public static func scanProbabilities(classLabels: [String], scans: [ScanRow], eValuePath: [Double],
                                         threshold: Double) -> SVGMarkup {
        let w = 560.0, h = 260.0
        let left = 44.0, right = 56.0, top = 14.0, bottom = 36.0
        let legendRows = Double((classLabels.count + 3) / 4 + 1)
        var svg = SVGBuilder(width: w, height: h + legendRows * 16,
                             title: "Probability of each class after each scan, and the e-value path (log scale)")
        let plotW = w - left - right, plotH = h - top - bottom
        let n = max(scans.count, eValuePath.count)
        func x(_ i: Int) -> Double { n <= 1 ? left + plotW / 2 : left + plotW * Double(i) / Double(n - 1) }
        func yProb(_ p: Double) -> Double { top + plotH * (1 - min(max(p, 0), 1)) }
        let (lo, hi) = logRange(eValuePath, including: [1, threshold])
        func yLog(_ e: Double) -> Double {
            let v = e > 0 && e.isFinite ? log10(e) : (e.isInfinite && e > 0 ? hi : lo)
            return top + plotH * (1 - (min(max(v, lo), hi) - lo) / (hi - lo))
        }
        svg.rect(left, top, plotW, plotH, cls: "frame")
        for tick in [0.0, 0.25, 0.5, 0.75, 1.0] {
            svg.line(left, yProb(tick), left + plotW, yProb(tick), cls: "grid")
            svg.text(left - 6, yProb(tick) + 4, ReportNumber.fixed(tick, 2), cls: "tick", anchor: "end")
        }
        var decade = lo
        while decade <= hi {
            svg.text(left + plotW + 6, yLog(pow(10, decade)) + 4, "1e" + String(Int(decade)), cls: "tick")
            decade += max(1, ((hi - lo) / 6).rounded(.up))
        }
        for i in 0..<n {
            let label = i < scans.count ? String(scans[i].index) : String(i + 1)
            svg.text(x(i), top + plotH + 16, label, cls: "tick", anchor: "middle")
        }
        svg.text(left + plotW / 2, top + plotH + 30, "scan", cls: "axis", anchor: "middle")
        if threshold > 0 {
            svg.line(left, yLog(threshold), left + plotW, yLog(threshold), cls: "threshold")
            svg.text(left + plotW - 4, yLog(threshold) - 4, "1/α = " + ReportNumber.general(threshold),
                     cls: "tick", anchor: "end")
        }
        for (c, label) in classLabels.enumerated() {
            let color = ChartPalette.color(c)
            let points: [(Double, Double)?] = scans.enumerated().map { i, scan in
                c < scan.probabilities.count && scan.probabilities[c].isFinite ? (x(i), yProb(scan.probabilities[c])) : nil
            }
            svg.path(points, cls: "series", color: color)
            for (i, scan) in scans.enumerated() where c < scan.probabilities.count && scan.probabilities[c].isFinite {
                svg.circle(x(i), yProb(scan.probabilities[c]), r: scan.outOfDistribution ? 4.5 : 3,
                           cls: scan.outOfDistribution ? "point ood" : "point", color: color,
                           tooltip: "scan \(scan.index): \(label) \(ReportNumber.percent(scan.probabilities[c]))")
            }
        }
        svg.path(eValuePath.enumerated().map { (x($0.offset), yLog($0.element)) }, cls: "evalue")
        // Legend
        var lx = left, ly = h + 4
        for (c, label) in classLabels.enumerated() {
            if c > 0 && c % 4 == 0 { lx = left; ly += 16 }
            svg.rect(lx, ly, 10, 10, cls: "swatch", style: "fill:\(ChartPalette.color(c))")
            svg.text(lx + 14, ly + 9, truncated(label, 18), cls: "legend")
            lx += 120
        }
        ly += 16
        svg.line(left, ly + 5, left + 18, ly + 5, cls: "evalue")
        svg.text(left + 22, ly + 9, "e-value (right axis, log scale)", cls: "legend")
        return svg.finish(cls: "chart scan-chart")
    }

    /// A sparkline of one sequence (min–max scaled; missing values break the line).
    public static func sparkline(_ values: [Double], label: String, width: Double = 140, height: Double = 32) -> SVGMarkup {
        var svg = SVGBuilder(width: width, height: height, title: label)
        let finite = values.filter(\.isFinite)
        if let mn = finite.min(), let mx = finite.max(), values.count > 0 {
            let span = mx - mn
            let n = values.count
            let points: [(Double, Double)?] = values.enumerated().map { i, v in
                guard v.isFinite else { return nil }
                let px = n == 1 ? width / 2 : 1 + (width - 2) * Double(i) / Double(n - 1)
                let py = span > 0 ? 1 + (height - 2) * (1 - (v - mn) / span) : height / 2
                return (px, py)
            }
            svg.path(points, cls: "spark")
        } else {
            svg.text(width / 2, height / 2 + 4, "no values", cls: "tick", anchor: "middle")
        }
        return svg.finish(cls: "sparkline")
    }

    /// Reliability diagram: accuracy per confidence bin (bars) against the diagonal of perfect
    /// calibration, with each bin's mean confidence marked.
    public static func reliabilityDiagram(_ bins: [ReliabilityBin], title: String) -> SVGMarkup {
        let size = 260.0, left = 40.0, top = 22.0, plot = 200.0
        var svg = SVGBuilder(width: size, height: size + 10, title: title)
        func px(_ v: Double) -> Double { left + plot * min(max(v, 0), 1) }
        func py(_ v: Double) -> Double { top + plot * (1 - min(max(v, 0), 1)) }
        svg.text(left + plot / 2, 14, title, cls: "axis", anchor: "middle")
        svg.rect(left, top, plot, plot, cls: "frame")
        for tick in [0.0, 0.5, 1.0] {
            svg.text(left - 6, py(tick) + 4, ReportNumber.fixed(tick, 1), cls: "tick", anchor: "end")
            svg.text(px(tick), top + plot + 14, ReportNumber.fixed(tick, 1), cls: "tick", anchor: "middle")
        }
        for bin in bins where bin.count > 0 {
            svg.rect(px(bin.lower), py(bin.accuracy), px(bin.upper) - px(bin.lower), py(0) - py(bin.accuracy), cls: "bar")
            svg.circle(px(bin.meanConfidence), py(bin.accuracy), r: 2.5, cls: "point",
                       tooltip: "confidence \(ReportNumber.fixed(bin.meanConfidence, 3)), accuracy \(ReportNumber.fixed(bin.accuracy, 3)), n = \(bin.count)")
        }
        svg.line(px(0), py(0), px(1), py(1), cls: "diagonal")
        svg.text(left + plot / 2, top + plot + 30, "confidence (bars: accuracy per bin)", cls: "axis", anchor: "middle")
        return svg.finish(cls: "chart reliability")
    }

    /// The drift martingale over the run (log scale) with its alarm threshold.
    public static func martingalePath(_ path: [Double], threshold: Double) -> SVGMarkup {
        let w = 560.0, h = 220.0, left = 44.0, right = 16.0, top = 12.0, bottom = 34.0
        var svg = SVGBuilder(width: w, height: h, title: "Exchangeability martingale over the run (log scale)")
        let plotW = w - left - right, plotH = h - top - bottom
        let (lo, hi) = logRange(path, including: [1, threshold])
        let n = path.count
        func x(_ i: Int) -> Double { n <= 1 ? left + plotW / 2 : left + plotW * Double(i) / Double(n - 1) }
        func y(_ e: Double) -> Double {
            let v = e > 0 && e.isFinite ? log10(e) : (e.isInfinite && e > 0 ? hi : lo)
            return top + plotH * (1 - (min(max(v, lo), hi) - lo) / (hi - lo))
        }
        svg.rect(left, top, plotW, plotH, cls: "frame")
        var decade = lo
        while decade <= hi {
            svg.line(left, y(pow(10, decade)), left + plotW, y(pow(10, decade)), cls: "grid")
            svg.text(left - 6, y(pow(10, decade)) + 4, "1e" + String(Int(decade)), cls: "tick", anchor: "end")
            decade += max(1, ((hi - lo) / 6).rounded(.up))
        }
        if threshold > 0 {
            svg.line(left, y(threshold), left + plotW, y(threshold), cls: "threshold")
            svg.text(left + plotW - 4, y(threshold) - 4, "alarm at " + ReportNumber.general(threshold), cls: "tick", anchor: "end")
        }
        svg.path(displayPoints(path).map { (x($0), y(path[$0])) }, cls: "martingale")
        svg.text(left + plotW / 2, top + plotH + 16, "cases in processing order (\(n))", cls: "axis", anchor: "middle")
        return svg.finish(cls: "chart martingale")
    }

    /// Indices to draw for a long path: all of them up to `limit`, otherwise the first, the last
    /// and each bucket's minimum and maximum (in order), so peaks and alarms stay visible while a
    /// 10,000-case run does not make a 10,000-point SVG. The XML report keeps every value.
    static func displayPoints(_ path: [Double], limit: Int = 1000) -> [Int] {
        guard path.count > limit else { return Array(path.indices) }
        let buckets = limit / 2
        var result: [Int] = [0]
        for b in 0..<buckets {
            let lo = b * path.count / buckets, hi = (b + 1) * path.count / buckets
            guard lo < hi else { continue }
            var iMin = lo, iMax = lo
            for i in lo..<hi {
                if path[i] < path[iMin] || path[iMin].isNaN { iMin = i }
                if path[i] > path[iMax] || path[iMax].isNaN { iMax = i }
            }
            for i in iMin < iMax ? [iMin, iMax] : [iMax, iMin] where i != result.last { result.append(i) }
        }
        if result.last != path.count - 1 { result.append(path.count - 1) }
        return result
    }

    /// At most `limit` characters (grapheme clusters), with an ellipsis when cut.
    static func truncated(_ s: String, _ limit: Int) -> String {
        s.count <= limit ? s : String(s.prefix(limit - 1)) + "…"
    }
}
