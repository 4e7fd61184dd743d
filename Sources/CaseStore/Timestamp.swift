import Foundation

/// UTC timestamps as RFC 3339 strings with milliseconds — the one format the store, the log and
/// the reports use.
public enum Timestamp {
    public static func now() -> String { string(from: Date()) }

    public static func string(from date: Date) -> String { RFC3339.string(from: date) }

    /// To the millisecond, the precision every stored time has.
    public static func date(from string: String) -> Date? {
        RFC3339.milliseconds(from: string).map { Date(timeIntervalSince1970: Double($0) / 1000) }
    }

    /// A time a person typed: RFC 3339, or a plain date (YYYY-MM-DD, read as its start in UTC).
    public static func date(fromDateOrTime text: String) -> Date? {
        let plainDate = text.utf8.count == 10 && text.range(of: #"^\d{4}-\d{2}-\d{2}$"#, options: .regularExpression) != nil
        return date(from: plainDate ? text + "T00:00:00Z" : text)
    }
}
