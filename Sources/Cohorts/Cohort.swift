import Foundation
import Randomness

/// Splits a generated case can be assigned to; the names match the case store's.
public enum CohortSplit: String, Codable, Sendable, CaseIterable {
    case train, validation, calibration, reference, test, incoming
}

/// Proportions of cases per split. They are normalised, so only ratios matter. Assignment is by
/// subject (all cases of a culture or patient land in one split), so no subject straddles training
/// and evaluation.
public struct SplitProportions: Codable, Sendable, Equatable {
    public var train, validation, calibration, reference, test, incoming: Double

    public init(train: Double = 0.5, validation: Double = 0.1, calibration: Double = 0.15,
                reference: Double = 0.1, test: Double = 0.1, incoming: Double = 0.05) {
        self.train = train; self.validation = validation; self.calibration = calibration
        self.reference = reference; self.test = test; self.incoming = incoming
    }

    public var ordered: [(CohortSplit, Double)] {
        [(.train, train), (.validation, validation), (.calibration, calibration), (.reference, reference),
         (.test, test), (.incoming, incoming)]
    }

    func validate() throws {
        for (split, p) in ordered where !(p.isFinite && p >= 0) {
            throw CohortError.invalidParameter(name: "split proportion \(split.rawValue)", value: "\(p)",
                                               reason: "must be a finite number ≥ 0")
        }
        guard ordered.map(\.1).reduce(0, +) > 0 else {
            throw CohortError.invalidParameter(name: "split proportions", value: "all 0", reason: "at least one must be > 0")
        }
    }
}

/// The study a generated cohort belongs to.
public struct CohortStudy: Codable, Sendable, Equatable {
    public var name: String
    /// Class labels in logit order.
    public var classes: [String]
    public var channels: [String]
    public var description: String
}

/// One generated scan: `length × channels` Float32 values, time-major, as the case store keeps them.
public struct CohortScan: Codable, Sendable, Equatable {
    public var index: Int
    /// RFC 3339 UTC.
    public var acquiredAt: String
    public var acquisition: String
    public var length: Int
    public var channels: Int
    public var values: [Float]
    /// The latent per-scan evidence the values were generated from (lesion cohorts; see
    /// docs/cohorts.md). Kept for simulations and tests; never written to the store.
    public var latentEvidence: Double?
    /// A bad scan (motion artefact); its acquisition text says so.
    public var isArtefact: Bool
}

/// One generated case (a cell track, a lesion).
public struct CohortCase: Codable, Sendable, Equatable {
    public var id: String
    public var subject: String
    /// The generating class, also for incoming cases (whose `label` is nil): for scoring demos.
    public var trueLabel: String
    /// The verified label the store receives; nil for incoming cases.
    public var label: String?
    public var split: CohortSplit
    public var notes: String
    public var scans: [CohortScan]
}

/// A generated cohort: plain values, identical for the same generator, parameters and seed.
public struct Cohort: Codable, Sendable, Equatable {
    /// "lineage" or "lesion".
    public var generator: String
    public var seed: UInt64
    /// The generator's parameters as key-sorted JSON, so the cohort carries its provenance.
    public var parametersJSON: String
    public var study: CohortStudy
    public var cases: [CohortCase]

    /// A canonical byte encoding (key-sorted JSON; Float32 values written as their bit patterns so
    /// no decimal formatting is involved): two cohorts are identical iff these bytes are.
    public func canonicalBytes() throws -> Data {
        struct Canonical: Encodable {
            let cohort: Cohort
            func encode(to encoder: Encoder) throws {
                var c = encoder.container(keyedBy: Key.self)
                try c.encode(cohort.generator, forKey: .generator)
                try c.encode(cohort.seed, forKey: .seed)
                try c.encode(cohort.parametersJSON, forKey: .parameters)
                try c.encode(cohort.study, forKey: .study)
                var cases = c.nestedUnkeyedContainer(forKey: .cases)
                for k in cohort.cases {
                    var kc = cases.nestedContainer(keyedBy: Key.self)
                    try kc.encode(k.id, forKey: .id); try kc.encode(k.subject, forKey: .subject)
                    try kc.encode(k.trueLabel, forKey: .trueLabel); try kc.encodeIfPresent(k.label, forKey: .label)
                    try kc.encode(k.split, forKey: .split); try kc.encode(k.notes, forKey: .notes)
                    var scans = kc.nestedUnkeyedContainer(forKey: .scans)
                    for s in k.scans {
                        var sc = scans.nestedContainer(keyedBy: Key.self)
                        try sc.encode(s.index, forKey: .index); try sc.encode(s.acquiredAt, forKey: .acquiredAt)
                        try sc.encode(s.acquisition, forKey: .acquisition); try sc.encode(s.length, forKey: .length)
                        try sc.encode(s.channels, forKey: .channels)
                        try sc.encode(s.values.map(\.bitPattern), forKey: .values)
                        try sc.encodeIfPresent(s.latentEvidence?.bitPattern, forKey: .latentEvidence)
                        try sc.encode(s.isArtefact, forKey: .isArtefact)
                    }
                }
            }
            enum Key: String, CodingKey {
                case generator, seed, parameters, study, cases, id, subject, trueLabel, label, split, notes, scans
                case index, acquiredAt, acquisition, length, channels, values, latentEvidence, isArtefact
            }
        }
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try e.encode(Canonical(cohort: self))
    }

    /// Cases per split.
    public var splitCounts: [CohortSplit: Int] {
        var out: [CohortSplit: Int] = [:]
        for c in cases { out[c.split, default: 0] += 1 }
        return out
    }

    /// Cases per generating class.
    public var classCounts: [String: Int] {
        var out: [String: Int] = [:]
        for c in cases { out[c.trueLabel, default: 0] += 1 }
        return out
    }
}

/// Helpers shared by the generators.
enum CohortSupport {
    /// Assigns each subject (with its case count) to a split so that the case counts per split
    /// follow the proportions as closely as greedy filling allows, in a seed-determined order.
    static func assignSplits(subjectSizes: [Int], proportions: SplitProportions,
                             rng: inout SeededGenerator) -> [CohortSplit] {
        let total = Double(subjectSizes.reduce(0, +))
        let weights = proportions.ordered
        let sum = weights.map(\.1).reduce(0, +)
        var order = Array(subjectSizes.indices)
        rng.shuffle(&order)
        var filled = [Double](repeating: 0, count: weights.count)
        var out = [CohortSplit](repeating: .train, count: subjectSizes.count)
        for s in order {
            // The split furthest below its target share takes the next subject.
            var best = -1
            var bestDeficit = -Double.infinity
            for (k, w) in weights.enumerated() where w.1 > 0 {
                let deficit = w.1 / sum * total - filled[k]
                if deficit > bestDeficit { bestDeficit = deficit; best = k }
            }
            filled[best] += Double(subjectSizes[s])
            out[s] = weights[best].0
        }
        return out
    }

    static let timestampFormatter: ISO8601DateFormatter = {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        f.timeZone = TimeZone(identifier: "UTC")
        return f
    }()

    /// RFC 3339 UTC with milliseconds, as the case store writes timestamps.
    static func timestamp(_ date: Date) -> String { timestampFormatter.string(from: date) }

    /// Key-sorted JSON of a parameter struct.
    static func json<T: Encodable>(_ value: T) -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? e.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// 2-digit or wider zero padding for ids.
    static func padded(_ i: Int, width: Int) -> String {
        let s = String(i)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
}
