import Foundation

/// The calibration methods Countersign knows, by their stored names.
public enum CalibrationMethod: String, Codable, CaseIterable, Sendable {
    case temperature, vector, platt, isotonic, histogram
}

/// A post-hoc calibrator: fitted on a calibration split (disjoint from training) of logits and labels,
/// then maps logits to calibrated probabilities. Codable so its fitted parameters can be stored and
/// reloaded bit for bit. Inputs are logits; probability-only inputs can pass `Softmax.logits(fromProbabilities:)`.
public protocol Calibrator: Codable, Sendable {
    static var method: CalibrationMethod { get }
    /// Number of classes the calibrator was fitted on.
    var classCount: Int { get }
    /// Number of calibration cases used to fit it (provenance).
    var calibrationCount: Int { get }
    static func fit(logits: [[Double]], labels: [Int]) throws -> Self
    func calibratedProbabilities(logits: [[Double]]) throws -> [[Double]]
}

extension Calibrator {
    func checkInput(_ logits: [[Double]]) throws {
        let k = try InputValidation.matrix(logits, field: "logits")
        if k != classCount { throw CalibrationError.classCountMismatch(fitted: classCount, given: k) }
    }
}

/// A fitted calibrator of any method, for storage (`{"method": ..., "parameters": {...}}`).
public enum AnyCalibrator: Codable, Sendable {
    case temperature(TemperatureScaler)
    case vector(VectorScaler)
    case platt(PlattScaler)
    case isotonic(IsotonicCalibrator)
    case histogram(HistogramBinningCalibrator)

    public static func fit(method: CalibrationMethod, logits: [[Double]], labels: [Int]) throws -> AnyCalibrator {
        switch method {
        case .temperature: return .temperature(try TemperatureScaler.fit(logits: logits, labels: labels))
        case .vector: return .vector(try VectorScaler.fit(logits: logits, labels: labels))
        case .platt: return .platt(try PlattScaler.fit(logits: logits, labels: labels))
        case .isotonic: return .isotonic(try IsotonicCalibrator.fit(logits: logits, labels: labels))
        case .histogram: return .histogram(try HistogramBinningCalibrator.fit(logits: logits, labels: labels))
        }
    }

    public var base: any Calibrator {
        switch self {
        case .temperature(let c): return c
        case .vector(let c): return c
        case .platt(let c): return c
        case .isotonic(let c): return c
        case .histogram(let c): return c
        }
    }

    public var method: CalibrationMethod { type(of: base).method }
    public var classCount: Int { base.classCount }
    public var calibrationCount: Int { base.calibrationCount }

    public func calibratedProbabilities(logits: [[Double]]) throws -> [[Double]] {
        try base.calibratedProbabilities(logits: logits)
    }

    private enum CodingKeys: String, CodingKey { case method, parameters }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let method = try c.decode(CalibrationMethod.self, forKey: .method)
        switch method {
        case .temperature: self = .temperature(try c.decode(TemperatureScaler.self, forKey: .parameters))
        case .vector: self = .vector(try c.decode(VectorScaler.self, forKey: .parameters))
        case .platt: self = .platt(try c.decode(PlattScaler.self, forKey: .parameters))
        case .isotonic: self = .isotonic(try c.decode(IsotonicCalibrator.self, forKey: .parameters))
        case .histogram: self = .histogram(try c.decode(HistogramBinningCalibrator.self, forKey: .parameters))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(method, forKey: .method)
        switch self {
        case .temperature(let v): try c.encode(v, forKey: .parameters)
        case .vector(let v): try c.encode(v, forKey: .parameters)
        case .platt(let v): try c.encode(v, forKey: .parameters)
        case .isotonic(let v): try c.encode(v, forKey: .parameters)
        case .histogram(let v): try c.encode(v, forKey: .parameters)
        }
    }
}

/// Renormalises rows to sum to one; a row that sums to zero becomes uniform.
func renormalised(_ rows: [[Double]]) -> [[Double]] {
    rows.map { row in
        let s = row.reduce(0, +)
        if s > 0 { return row.map { $0 / s } }
        return Array(repeating: 1.0 / Double(row.count), count: row.count)
    }
}
