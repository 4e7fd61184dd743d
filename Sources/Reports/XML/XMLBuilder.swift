/// Builds an XML document as text with careful escaping (see `ReportText.xmlEscaped`): two-space
/// indentation, attributes in the order given, so the same calls always yield the same bytes.
struct XMLBuilder {
    private(set) var text = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    private var stack: [String] = []

    private func attributes(_ attrs: [(String, String)]) -> String {
        attrs.map { " \($0.0)=\"\(ReportText.xmlEscaped($0.1))\"" }.joined()
    }

    private var indent: String { String(repeating: "  ", count: stack.count) }

    mutating func open(_ name: String, _ attrs: [(String, String)] = []) {
        text += indent + "<" + name + attributes(attrs) + ">\n"
        stack.append(name)
    }

    mutating func close() {
        guard let name = stack.popLast() else { return }
        text += indent + "</" + name + ">\n"
    }

    mutating func element(_ name: String, _ attrs: [(String, String)] = [], _ body: (inout XMLBuilder) -> Void) {
        open(name, attrs)
        body(&self)
        close()
    }

    mutating func leaf(_ name: String, _ value: String, _ attrs: [(String, String)] = []) {
        text += indent + "<" + name + attributes(attrs) + ">" + ReportText.xmlEscaped(value) + "</" + name + ">\n"
    }

    mutating func leaf(_ name: String, _ value: String?) {
        if let value { leaf(name, value) }
    }

    mutating func leaf(_ name: String, _ value: Double) { leaf(name, ReportNumber.xsdDouble(value)) }
    mutating func leaf(_ name: String, _ value: Double?) { if let value { leaf(name, value) } }
    mutating func leaf(_ name: String, _ value: Int) { leaf(name, String(value)) }
    mutating func leaf(_ name: String, _ value: Int?) { if let value { leaf(name, value) } }
    mutating func leaf(_ name: String, _ value: Bool) { leaf(name, value ? "true" : "false") }
    mutating func leaf(_ name: String, list: [Double]) { leaf(name, list.map(ReportNumber.xsdDouble).joined(separator: " ")) }

    mutating func empty(_ name: String, _ attrs: [(String, String)] = []) {
        text += indent + "<" + name + attributes(attrs) + "/>\n"
    }
}
