/// Model-free embeddings of raw series, the baseline every user can check against published 1-NN
/// figures: each series z-normalised on its own (as the UCR archive does), optionally resampled to a
/// common length so series of different lengths can be compared.
public enum SeriesEmbedding {
    /// (x − mean) / standard deviation (population); a constant series becomes all zeros.
    public static func zNormalised(_ x: [Float]) -> [Float] {
        guard !x.isEmpty else { return [] }
        var mean = 0.0
        for v in x { mean += Double(v) }
        mean /= Double(x.count)
        var ss = 0.0
        for v in x { let t = Double(v) - mean; ss += t * t }
        let sd = (ss / Double(x.count)).squareRoot()
        guard sd > 1e-12 else { return [Float](repeating: 0, count: x.count) }
        return x.map { Float((Double($0) - mean) / sd) }
    }

    /// Linear interpolation onto `length` equally spaced points spanning the same interval.
    public static func resampled(_ x: [Float], to length: Int) -> [Float] {
        guard length > 0, !x.isEmpty else { return [] }
        if x.count == length { return x }
        if x.count == 1 { return [Float](repeating: x[0], count: length) }
        if length == 1 { return [x[0]] }
        let scale = Double(x.count - 1) / Double(length - 1)
        return (0..<length).map { i in
            let t = Double(i) * scale
            let j = min(Int(t), x.count - 2)
            let f = t - Double(j)
            return Float(Double(x[j]) * (1 - f) + Double(x[j + 1]) * f)
        }
    }

    /// One channel of a time-major `[length][channels]` scan.
    public static func channel(_ values: [Float], channels: Int, index: Int) -> [Float] {
        stride(from: index, to: values.count, by: channels).map { values[$0] }
    }
}
