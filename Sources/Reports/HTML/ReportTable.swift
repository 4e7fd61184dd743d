/// A table as the case and run report templates see it: its rows, and whether there are any (the
/// templates print "not evaluated" or "none" for an empty one).
struct ReportTable<Row> {
    let rows: [Row]
    let hasRows: Bool

    init(_ rows: [Row]) {
        self.rows = rows
        hasRows = !rows.isEmpty
    }
}

/// The cells of case and run report tables: a value formatted the one way reports format it, or
/// "not evaluated" where the stage that supplies it did not run.
enum ReportCell {
    static func fixed(_ x: Double?, _ digits: Int, unit: String = "") -> String {
        x.map { ReportNumber.fixed($0, digits) + unit } ?? notEvaluatedText
    }

    static func percent(_ p: Double?) -> String { p.map(ReportNumber.percent) ?? notEvaluatedText }

    static func general(_ x: Double?) -> String { x.map(ReportNumber.general) ?? notEvaluatedText }

    /// Text made displayable, or "not evaluated".
    static func text(_ s: String?) -> String { s.map(ReportText.displayable) ?? notEvaluatedText }
}
