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
    public static func milliseconds(from string: String) -> Int64? {
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
