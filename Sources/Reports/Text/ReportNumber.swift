import Foundation

/// Stable, locale-independent number formatting: the same value always prints the same way.
enum ReportNumber {
    /// Fixed decimals ("0.950"); non-finite values spelled out.
    static func fixed(_ x: Double, _ digits: Int) -> String {
        if x.isNaN { return "not a number" }
        if x.isInfinite { return x > 0 ? "∞" : "−∞" }
        // Integer arithmetic (String(format:) is slow on Linux and charts format thousands of numbers).
        let scale = [1.0, 10, 100, 1_000, 10_000, 100_000, 1_000_000][min(max(digits, 0), 6)]
        let scaled = (abs(x) * scale).rounded()
        guard scaled < 9e15 else { return String(format: "%.\(digits)f", x) }
        let units = UInt64(scaled)
        let d = min(max(digits, 0), 6)
        let divisor = UInt64(scale)
        var text = String(units / divisor)
        if d > 0 {
            var fraction = String(units % divisor)
            while fraction.count < d { fraction = "0" + fraction }
            text += "." + fraction
        }
        return (x < 0 && units != 0 ? "-" : "") + text
    }

    /// A probability as a percentage with one decimal ("97.3%").
    static func percent(_ p: Double) -> String {
        p.isFinite ? fixed(p * 100, 1) + "%" : fixed(p, 1)
    }

    /// Compact general format for e-values and martingales (three significant digits).
    static func general(_ x: Double) -> String {
        if !x.isFinite { return fixed(x, 0) }
        let a = abs(x)
        if a != 0 && (a >= 1e6 || a < 1e-3) {
            return String(format: "%.2e", x)
        }
        if x == x.rounded() { return fixed(x, 0) }
        if a >= 100 { return fixed(x, 0) }
        if a >= 10 { return fixed(x, 1) }
        return fixed(x, 2)
    }

    /// SVG coordinate: two decimals, no "-0.00".
    static func coordinate(_ x: Double) -> String {
        fixed(x.isFinite ? x : 0, 2)
    }

    /// xs:double lexical form that round-trips exactly.
    static func xsdDouble(_ x: Double) -> String {
        if x.isNaN { return "NaN" }
        if x.isInfinite { return x > 0 ? "INF" : "-INF" }
        return "\(x)"
    }
}
