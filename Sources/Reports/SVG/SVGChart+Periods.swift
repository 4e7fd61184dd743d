import Foundation

extension SVGChart {
    /// One value per period, with an optional interval per value (whiskers), on [0, yMax].
    public struct PeriodSeries: Sendable {
        public var name: String
        public var values: [Double?]
        public var intervals: [(Double, Double)?]
        public init(name: String, values: [Double?], intervals: [(Double, Double)?] = []) {
            self.name = name; self.values = values; self.intervals = intervals
        }
    }

    /// Figures over periods (x: the periods in order) with intervals as whiskers and an optional
    /// threshold line: how the monitoring report shows a drop and whether it is beyond chance.
    public static func periods(_ keys: [String], series: [PeriodSeries], title: String,
                               yMin: Double = 0, yMax: Double = 1, threshold: Double? = nil, thresholdLabel: String = "") -> SVGMarkup {
        let w = 560.0, h = 240.0, left = 48.0, right = 16.0, top = 22.0, bottom = 52.0
        var svg = SVGBuilder(width: w, height: h, title: title)
        let plotW = w - left - right, plotH = h - top - bottom
        let n = keys.count
        func x(_ i: Int) -> Double { n <= 1 ? left + plotW / 2 : left + plotW * (Double(i) + 0.5) / Double(n) }
        func y(_ v: Double) -> Double { top + plotH * (1 - (min(max(v, yMin), yMax) - yMin) / max(yMax - yMin, 1e-12)) }
        svg.text(left + plotW / 2, 14, title, cls: "axis", anchor: "middle")
        svg.rect(left, top, plotW, plotH, cls: "frame")
        for k in 0...4 {
            let v = yMin + (yMax - yMin) * Double(k) / 4
            svg.line(left, y(v), left + plotW, y(v), cls: "grid")
            svg.text(left - 6, y(v) + 4, ReportNumber.fixed(v, yMax - yMin < 0.5 ? 3 : 2), cls: "tick", anchor: "end")
        }
        if let threshold {
            svg.line(left, y(threshold), left + plotW, y(threshold), cls: "threshold")
            svg.text(left + plotW - 4, y(threshold) - 4, thresholdLabel, cls: "tick", anchor: "end")
        }
        let step = max(1, n / 12)
        for (i, key) in keys.enumerated() where i % step == 0 || i == n - 1 {
            svg.text(x(i), top + plotH + 14, key, cls: "tick", anchor: "middle")
        }
        let seriesCount = series.count
        for (s, series) in series.enumerated() {
            let color = ChartPalette.color(s)
            let offset = (Double(s) - Double(seriesCount - 1) / 2) * 4
            for (i, interval) in series.intervals.enumerated() {
                guard let (lo, hi) = interval else { continue }
                svg.line(x(i) + offset, y(lo), x(i) + offset, y(hi), cls: "whisker s\(s)")
            }
            svg.path(series.values.enumerated().map { i, v in v.map { (x(i) + offset, y($0)) } }, cls: "series", color: color)
            for (i, v) in series.values.enumerated() {
                guard let v else { continue }
                svg.circle(x(i) + offset, y(v), r: 3, cls: "point", color: color, tooltip: "\(series.name), \(keys[i]): \(ReportNumber.fixed(v, 4))")
            }
            svg.circle(left + 8 + Double(s) * 150, top + plotH + 34, r: 4, cls: "point", color: color)
            svg.text(left + 16 + Double(s) * 150, top + plotH + 38, series.name, cls: "legend")
        }
        return svg.finish(cls: "chart periods")
    }
}
