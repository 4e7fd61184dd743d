/// Per-feature z-score `(x − mean) / std`, fitted on the training split and stored with the model.
/// Missing values (NaN) become 0 after normalisation, i.e. they are imputed with the training mean.
public struct FeatureNormalization: Sendable, Equatable, Codable {
    public var mean: [Float]
    public var std: [Float]

    public init(mean: [Float], std: [Float]) throws {
        guard mean.count == std.count, !mean.isEmpty else {
            throw RecurrentError.invalidConfiguration(
                "feature mean and std must be non-empty and of equal length (\(mean.count) vs \(std.count))")
        }
        if let k = mean.indices.first(where: { !mean[$0].isFinite }) {
            throw RecurrentError.invalidConfiguration("feature_mean[\(k)] is not finite")
        }
        if let k = std.indices.first(where: { !(std[$0].isFinite && std[$0] > 0) }) {
            throw RecurrentError.invalidConfiguration("feature_std[\(k)] = \(std[k]) must be finite and > 0")
        }
        self.mean = mean
        self.std = std
    }

    /// The identity transform for `width` features.
    public static func identity(width: Int) -> FeatureNormalization {
        // Width ≥ 1 and the values are valid by construction.
        (try? FeatureNormalization(mean: .init(repeating: 0, count: max(width, 1)),
                                   std: .init(repeating: 1, count: max(width, 1))))!
    }

    /// Fits mean and std (population, as `numpy.std`) over every time step of every sequence, ignoring
    /// NaN. A feature that never varies gets std 1 so it passes through centred.
    public static func fit(_ sequences: [[Float]], width: Int) -> FeatureNormalization {
        var sum = [Double](repeating: 0, count: width), sq = [Double](repeating: 0, count: width)
        var n = [Double](repeating: 0, count: width)
        for s in sequences {
            for (k, v) in s.enumerated() where !v.isNaN {
                let f = k % width
                sum[f] += Double(v); n[f] += 1
            }
        }
        let mean = (0..<width).map { n[$0] > 0 ? sum[$0] / n[$0] : 0 }
        for s in sequences {
            for (k, v) in s.enumerated() where !v.isNaN {
                let d = Double(v) - mean[k % width]
                sq[k % width] += d * d
            }
        }
        let std = (0..<width).map { f -> Float in
            let sd = n[f] > 0 ? (sq[f] / n[f]).squareRoot() : 0
            return sd > 1e-12 && sd.isFinite ? Float(sd) : 1
        }
        return (try? FeatureNormalization(mean: mean.map { Float($0) }, std: std)) ?? .identity(width: width)
    }

    /// `(x − mean) / std` per feature; missing values (NaN) become 0, the training mean.
    public func apply(_ sequence: [Float]) -> [Float] {
        let w = mean.count
        guard w > 0 else { return sequence }
        var out = sequence
        // Step by step rather than `k % w` per value: the division was most of the cost.
        out.withUnsafeMutableBufferPointer { o in
            mean.withUnsafeBufferPointer { m in
                std.withUnsafeBufferPointer { s in
                    var start = 0
                    while start < o.count {
                        for f in 0..<min(w, o.count - start) {
                            let v = (o[start + f] - m[f]) / s[f]
                            o[start + f] = v.isNaN ? 0 : v
                        }
                        start += w
                    }
                }
            }
        }
        return out
    }
}
