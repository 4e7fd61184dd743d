import Foundation

/// RFC 3339 UTC timestamps with exactly three fractional digits (`2026-11-28T03:37:41.123Z`).
/// The one timestamp format of the store, the log and the reports. A hand-written formatter: log
/// appends are on the hot path and `ISO8601DateFormatter` is costly to
/// create. Milliseconds are truncated (floor), so a time never appears later than it happened.
public enum RFC3339 {
    public static func string(from date: Date) -> String {
        return string(millisecondsSince1970: milliseconds(of: date))
    }

    /// Whole milliseconds since 1970, truncated. Rounds to the microsecond first so that binary
    /// floating-point noise (x.123 stored as x.12299999…) does not lose a millisecond.
    public static func milliseconds(of date: Date) -> Int64 {
        let micros = Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
        return micros >= 0 ? micros / 1000 : -((-micros + 999) / 1000)
    }

    public static func string(millisecondsSince1970 ms: Int64) -> String {
        var days = ms / 86_400_000
        var rem = ms % 86_400_000
        if rem < 0 { rem += 86_400_000; days -= 1 }
        let (y, m, d) = civil(fromDays: days)
        let hour = rem / 3_600_000, minute = (rem / 60_000) % 60, second = (rem / 1000) % 60, milli = rem % 1000
        var out = [UInt8]()
        out.reserveCapacity(24)
        func put(_ v: Int64, _ width: Int) {
            let start = out.count
            out.append(contentsOf: repeatElement(0x30 as UInt8, count: width))
            var x = v
            for i in stride(from: start + width - 1, through: start, by: -1) { out[i] = 0x30 + UInt8(x % 10); x /= 10 }
        }
        put(y, 4); out.append(0x2D); put(m, 2); out.append(0x2D); put(d, 2); out.append(0x54)
        put(hour, 2); out.append(0x3A); put(minute, 2); out.append(0x3A); put(second, 2)
        out.append(0x2E); put(milli, 3); out.append(0x5A)
        return String(decoding: out, as: UTF8.self)
    }

    /// Milliseconds since 1970 of an RFC 3339 string (any offset; fraction optional), or nil.
    /// The store's own UTC form is read by hand (case pages read several per request); any other
    /// form goes through `ISO8601DateFormatter`.
    public static func milliseconds(from string: String) -> Int64? {
        if let ms = utcMilliseconds(Array(string.utf8)) { return ms }
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var date = f.date(from: string)
        if date == nil {
            f.formatOptions = [.withInternetDateTime]
            date = f.date(from: string)
        }
        guard let d = date else { return nil }
        return Int64((d.timeIntervalSince1970 * 1000).rounded())
    }

    /// `YYYY-MM-DDTHH:MM:SS[.fraction]Z`, checked field by field; nil for anything else.
    private static func utcMilliseconds(_ b: [UInt8]) -> Int64? {
        guard b.count >= 20, b.last == UInt8(ascii: "Z"), b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"),
              b[10] == UInt8(ascii: "T"), b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":") else { return nil }
        func number(_ from: Int, _ count: Int) -> Int64? {
            var v: Int64 = 0
            for i in from..<(from + count) {
                guard b[i] >= 0x30, b[i] <= 0x39 else { return nil }
                v = v * 10 + Int64(b[i] - 0x30)
            }
            return v
        }
        guard let y = number(0, 4), let m = number(5, 2), let d = number(8, 2),
              let hh = number(11, 2), let mm = number(14, 2), let ss = number(17, 2),
              (1...12).contains(m), d >= 1, d <= daysInMonth(y, m), hh < 24, mm < 60, ss < 60 else { return nil }
        var fractionMs: Int64 = 0
        if b.count > 20 {
            let digits = b.count - 21
            guard b[19] == UInt8(ascii: "."), (1...9).contains(digits), let f = number(20, digits) else { return nil }
            var scale: Int64 = 1
            for _ in 0..<digits { scale *= 10 }
            fractionMs = (f * 1000 * 2 + scale) / (scale * 2)   // rounded to the nearest millisecond
        }
        let days = daysFromCivil(y, m, d)
        return ((days * 24 + hh) * 60 + mm) * 60_000 + ss * 1000 + fractionMs
    }

    private static func daysInMonth(_ y: Int64, _ m: Int64) -> Int64 {
        switch m {
        case 2: return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Howard Hinnant's days-from-civil (proleptic Gregorian).
    private static func daysFromCivil(_ y0: Int64, _ m: Int64, _ d: Int64) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// Howard Hinnant's days-from-civil inverse (proleptic Gregorian).
    private static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }
}
