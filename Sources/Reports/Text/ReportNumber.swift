import Foundation

/// Stable, locale-independent number formatting: the same value always prints the same way.
enum ReportNumber {
    /// Fixed decimals ("0.950"); non-finite values spelled out.
    static func fixed(_ x: Double, _ digits: Int) -> String {
        if x.isNaN { return "not a number" }
        if x.isInfinite { return x > 0 ? "∞" : "−∞" }
        let s = String(format: "%.\(digits)f", x)
        // Avoid "-0.000".
        if s.hasPrefix("-"), s.dropFirst().allSatisfy({ $0 == "0" || $0 == "." }) { return String(s.dropFirst()) }
        return s
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
