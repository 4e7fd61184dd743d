import Foundation

/// Recycles the large per-step buffers of training: allocating them fresh each mini-batch cost a
/// fifth of an epoch in page faults (the allocator maps and unmaps big blocks). Bounded in size.
enum BufferPool {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var free: [Int: [UnsafeMutablePointer<Float>]] = [:]
    nonisolated(unsafe) private static var pooledFloats = 0
    static let limitFloats = 64 << 20  // 256 MB

    static func take(_ capacity: Int) -> UnsafeMutablePointer<Float> {
        lock.lock()
        if let p = free[capacity]?.popLast() {
            pooledFloats -= capacity
            lock.unlock()
            return p
        }
        lock.unlock()
        // Cache-line aligned: vector loads that straddle two lines made the batch-1 recurrent
        // product a third slower.
        return UnsafeMutableRawPointer.allocate(byteCount: capacity * MemoryLayout<Float>.stride, alignment: 64)
            .bindMemory(to: Float.self, capacity: capacity)
    }

    static func give(_ p: UnsafeMutablePointer<Float>, _ capacity: Int) {
        // Small buffers are cheap to allocate; only pool the ones that page-fault.
        guard capacity >= 4096 else { p.deallocate(); return }
        lock.lock()
        if pooledFloats + capacity <= limitFloats {
            free[capacity, default: []].append(p)
            pooledFloats += capacity
            lock.unlock()
        } else {
            lock.unlock()
            p.deallocate()
        }
    }
}

/// Owned Float storage, zero-initialised unless asked otherwise, with a stable pointer (the kernels pass raw pointers to BLAS).
final class FloatBuffer {
    let count: Int
    let pointer: UnsafeMutablePointer<Float>
    private var capacity: Int { max(count, 1) }

    init(_ count: Int) {
        self.count = count
        pointer = BufferPool.take(max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
    }

    /// Storage the caller fills completely before reading it. Zeroing training's step buffers
    /// that are then overwritten anyway was a fifth of an LSTM epoch.
    init(uninitialized count: Int) {
        self.count = count
        pointer = BufferPool.take(max(count, 1))
    }

    init(_ values: [Float]) {
        count = values.count
        pointer = BufferPool.take(max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
        values.withUnsafeBufferPointer { src in
            if let base = src.baseAddress { pointer.update(from: base, count: values.count) }
        }
    }

    deinit { BufferPool.give(pointer, capacity) }

    func zero() { pointer.update(repeating: 0, count: max(count, 1)) }
    var array: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }
}

/// A batch of variable-length sequences laid out time-major `[T][B][D]`, rows sorted by length
/// (longest first) so that the sequences still running at any step are a prefix of the rows —
/// the same trick as PyTorch's `pack_padded_sequence`. Padded positions are zero.
struct PackedBatch {
    let steps: Int
    let rows: Int
    let width: Int
    let values: FloatBuffer
    /// Lengths of the packed rows, non-increasing.
    let lengths: [Int]
    /// `order[i]` = index in the caller's batch of packed row `i`.
    let order: [Int]
    /// `active[t]` = number of rows with length > t.
    let active: [Int]

    /// Packs time-major `[length][width]` sequences. Callers validate lengths and widths first.
    init(sequences: [[Float]], width: Int) {
        let lens = sequences.map { $0.count / width }
        let order = lens.indices.sorted { lens[$0] != lens[$1] ? lens[$0] > lens[$1] : $0 < $1 }
        self.init(order: order, lengths: order.map { lens[$0] }, width: width) { row in sequences[order[row]] }
    }

    init(order: [Int], lengths: [Int], width: Int, rowValues: (Int) -> [Float]) {
        self.width = width
        self.order = order
        self.lengths = lengths
        rows = lengths.count
        steps = lengths.first ?? 0
        var active = [Int](repeating: 0, count: steps)
        for t in 0..<steps { active[t] = lengths.lazy.filter { $0 > t }.count }
        self.active = active
        values = FloatBuffer(steps * rows * width)
        for row in 0..<rows {
            let seq = rowValues(row)
            seq.withUnsafeBufferPointer { s in
                for t in 0..<lengths[row] {
                    (values.pointer + (t * rows + row) * width).update(from: s.baseAddress! + t * width, count: width)
                }
            }
        }
    }

    /// The rows `rowIndices` (increasing, so still sorted by length) as a batch of their own.
    func subset(_ rowIndices: [Int]) -> PackedBatch {
        let lens = rowIndices.map { lengths[$0] }
        return PackedBatch(order: rowIndices.map { order[$0] }, lengths: lens, width: width) { k in
            let row = rowIndices[k]
            var out = [Float](repeating: 0, count: lens[k] * width)
            for t in 0..<lens[k] {
                for f in 0..<width { out[t * width + f] = values.pointer[(t * rows + row) * width + f] }
            }
            return out
        }
    }

    /// The time window `[start, start + span)` of the rows still running at `start`, for truncated BPTT.
    func window(start: Int, span: Int) -> PackedBatch {
        let n = start < steps ? active[start] : 0
        let lens = (0..<n).map { min(lengths[$0] - start, span) }
        return PackedBatch(order: Array(order[0..<n]), lengths: lens, width: width) { row in
            let count = lens[row] * width
            return (0..<count).map { k in
                let t = start + k / width
                return values.pointer[(t * rows + row) * width + k % width]
            }
        }
    }
}
