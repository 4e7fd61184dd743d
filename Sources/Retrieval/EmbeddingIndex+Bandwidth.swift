import Foundation

extension EmbeddingIndex {
    /// Reads every value of the matrix once (a sum over `threads` row ranges) and returns the
    /// sum: the memory-bandwidth yardstick a single-query search is measured against.
    public func streamingReadSum(threads: Int) -> Double {
        let total = count * dimension
        guard total > 0 else { return 0 }
        let workers = max(1, min(threads, total / 65_536))
        let partial = UnsafeMutableBufferPointer<Double>.allocate(capacity: workers)
        partial.initialize(repeating: 0)
        defer { partial.deallocate() }
        let base = UnsafePointer(matrix)
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            let lo = (total * w / workers) & ~31, hi = w == workers - 1 ? total : (total * (w + 1) / workers) & ~31
            // Two 16-lane accumulators: eight SSE registers, so nothing spills in baseline x86-64 code.
            var a0 = SIMD16<Float>(repeating: 0), a1 = a0
            var i = lo
            while i + 32 <= hi {
                let p = UnsafeRawPointer(base + i)
                a0 += p.loadUnaligned(as: SIMD16<Float>.self)
                a1 += p.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
                i += 32
            }
            var s = Double((a0 + a1).sum())
            while i < hi { s += Double(base[i]); i += 1 }
            partial[w] = s
        }
        return partial.reduce(0, +)
    }
}

/// Seeded synthetic embeddings, identical bit for bit to `Benchmarks/peers/faiss_knn.py`: value i of
/// a stream with seed s comes from SplitMix64's i-th output in counter form,
/// z = mix(s + (i + 1)·0x9E3779B97F4A7C15), and is ((z >> 40) · 2⁻²⁴) · 2 − 1, uniform in [−1, 1).
public enum SyntheticEmbeddings {
    public static func uniform(seed: UInt64, offset: Int = 0, count: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            fill(buffer, seed: seed, offset: offset)
            initialized = count
        }
    }

    /// Writes values `offset ..< offset + buffer.count` of the stream into `buffer` (e.g. straight into
    /// an index's matrix through `EmbeddingIndex.add(metadata:writingVectors:)`).
    public static func fill(_ buffer: UnsafeMutableBufferPointer<Float>, seed: UInt64, offset: Int = 0) {
        for j in 0..<buffer.count {
            var z = seed &+ UInt64(offset + j + 1) &* 0x9E37_79B9_7F4A_7C15
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z = z ^ (z >> 31)
            buffer[j] = Float(z >> 40) * 0x1p-24 * 2 - 1
        }
    }
}
