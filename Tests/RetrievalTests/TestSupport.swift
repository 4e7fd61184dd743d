import Foundation
import XCTest

/// SplitMix64: a small seeded generator private to these tests.
struct TestGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func uniform() -> Double { Double(next() >> 11) * 0x1p-53 }
    mutating func gaussian() -> Double {
        let u1 = max(uniform(), 1e-300), u2 = uniform()
        return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
    }
}

/// `../shared/data` next to the package root; skips when absent, fails when `CI=true`.
func sharedDataFolder(file: StaticString = #filePath) throws -> URL {
    var url = URL(fileURLWithPath: "\(file)").deletingLastPathComponent()
    while url.path != "/" && !FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
        url = url.deletingLastPathComponent()
    }
    let data = url.deletingLastPathComponent().appendingPathComponent("shared/data")
    if !FileManager.default.fileExists(atPath: data.path) {
        if ProcessInfo.processInfo.environment["CI"] == "true" {
            XCTFail("shared data folder \(data.path) is missing (CI=true)")
        }
        throw XCTSkip("shared data folder \(data.path) is absent; real-data tests skipped")
    }
    return data
}

/// A labelled series from a UCR `.tsv` file (label, then values).
struct LabelledSeries { var label: String; var values: [Float] }

/// Minimal UCR `.tsv` reader for the tests (the store's importer is tested elsewhere).
func readUCR(_ url: URL) throws -> [LabelledSeries] {
    let text = try String(contentsOf: url, encoding: .utf8)
    var result: [LabelledSeries] = []
    for (n, line) in text.split(whereSeparator: \.isNewline).enumerated() {
        let fields = line.split(whereSeparator: { $0 == "\t" || $0 == "," || $0 == " " })
        guard fields.count > 1 else { continue }
        var values: [Float] = []
        for f in fields.dropFirst() {
            guard let v = Float(f) else { throw NSError(domain: "readUCR", code: 1, userInfo: [NSLocalizedDescriptionKey: "\(url.lastPathComponent) line \(n + 1): '\(f)' is not a number"]) }
            values.append(v)
        }
        let label = Double(fields[0]).map { String(Int($0)) } ?? String(fields[0])
        result.append(LabelledSeries(label: label, values: values))
    }
    return result
}

/// Minimal UEA `.ts` reader for equal-length multichannel data: [case][channel][time].
func readUEA(_ url: URL) throws -> [(label: String, channels: [[Float]])] {
    let text = try String(contentsOf: url, encoding: .utf8)
    var inData = false
    var result: [(label: String, channels: [[Float]])] = []
    for line in text.split(whereSeparator: \.isNewline) {
        let s = line.trimmingCharacters(in: .whitespaces)
        if s.isEmpty || s.hasPrefix("#") { continue }
        if s.lowercased().hasPrefix("@data") { inData = true; continue }
        if s.hasPrefix("@") || !inData { continue }
        var parts = s.split(separator: ":", omittingEmptySubsequences: false)
        let label = String(parts.removeLast())
        let channels = parts.map { $0.split(separator: ",").map { Float($0) ?? .nan } }
        result.append((label, channels))
    }
    return result
}
