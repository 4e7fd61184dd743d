import Mustache

/// SVG markup built in Swift by `SVGChart`: every text inside it was escaped when it was built.
/// Only this module can create one, so templates may insert it unescaped (`{{{…Svg}}}`) —
/// the one kind of value that is ever inserted without escaping. With `{{…}}` it is escaped
/// like any other value and shows as text.
public struct SVGMarkup: Sendable, Equatable, CustomStringConvertible, MustacheCustomRenderable {
    public let markup: String
    init(_ markup: String) { self.markup = markup }
    public var description: String { markup }
    public var renderText: String { markup }
    public var isNull: Bool { markup.isEmpty }
}

/// A tiny SVG document builder: numeric attributes are formatted by `ReportNumber.coordinate`,
/// text is escaped by `ReportText.htmlEscaped`.
struct SVGBuilder {
    private(set) var body = ""
    let width: Double
    let height: Double
    let title: String

    init(width: Double, height: Double, title: String) {
        self.width = width
        self.height = height
        self.title = title
    }

    static func c(_ x: Double) -> String { ReportNumber.coordinate(x) }

    mutating func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, cls: String) {
        body += "<line class=\"\(cls)\" x1=\"\(Self.c(x1))\" y1=\"\(Self.c(y1))\" x2=\"\(Self.c(x2))\" y2=\"\(Self.c(y2))\"/>"
    }

    mutating func rect(_ x: Double, _ y: Double, _ w: Double, _ h: Double, cls: String, style: String? = nil) {
        let st = style.map { " style=\"\($0)\"" } ?? ""
        body += "<rect class=\"\(cls)\" x=\"\(Self.c(x))\" y=\"\(Self.c(y))\" width=\"\(Self.c(max(0, w)))\" height=\"\(Self.c(max(0, h)))\"\(st)/>"
    }

    mutating func circle(_ x: Double, _ y: Double, r: Double, cls: String, color: String? = nil, tooltip: String? = nil) {
        let fill = color.map { " fill=\"\($0)\"" } ?? ""
        let open = "<circle class=\"\(cls)\" cx=\"\(Self.c(x))\" cy=\"\(Self.c(y))\" r=\"\(Self.c(r))\"\(fill)"
        if let tooltip {
            body += open + "><title>" + ReportText.htmlEscaped(tooltip) + "</title></circle>"
        } else {
            body += open + "/>"
        }
    }

    /// A path through points; `nil` points (missing values) break the line.
    mutating func path(_ points: [(Double, Double)?], cls: String, color: String? = nil) {
        var d = ""
        var penDown = false
        for p in points {
            guard let (x, y) = p else { penDown = false; continue }
            d += (penDown ? "L" : "M") + Self.c(x) + " " + Self.c(y)
            penDown = true
        }
        guard !d.isEmpty else { return }
        let stroke = color.map { " stroke=\"\($0)\"" } ?? ""
        body += "<path class=\"\(cls)\" d=\"\(d)\"\(stroke)/>"
    }

    mutating func text(_ x: Double, _ y: Double, _ text: String, cls: String, anchor: String = "start") {
        body += "<text class=\"\(cls)\" x=\"\(Self.c(x))\" y=\"\(Self.c(y))\" text-anchor=\"\(anchor)\">"
            + ReportText.htmlEscaped(text) + "</text>"
    }

    func finish(cls: String) -> SVGMarkup {
        SVGMarkup(
            "<svg class=\"\(cls)\" role=\"img\" viewBox=\"0 0 \(Self.c(width)) \(Self.c(height))\""
                + " width=\"\(Self.c(width))\" height=\"\(Self.c(height))\"><title>" + ReportText.htmlEscaped(title)
                + "</title>" + body + "</svg>")
    }
}

/// Fixed colour palette for classes (colour-blind friendly, Okabe–Ito); cycles beyond eight classes.
enum ChartPalette {
    static let colors = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
    static func color(_ index: Int) -> String { colors[((index % colors.count) + colors.count) % colors.count] }
}
