import Foundation
import LinearAlgebra
import Synchronization

/// One query: its embedding and who it is, so its own case and subject can be kept out of the evidence.
public struct SearchQuery: Sendable {
    public var vector: [Float]
    public var caseID: String?
    /// Subject pseudonym; rows of this subject are excluded when `excludeQuerySubject` is on.
    public var subject: String?
    /// Study of the query, used when `sameStudyOnly` is on.
    public var study: String?

    public init(vector: [Float], caseID: String? = nil, subject: String? = nil, study: String? = nil) {
        self.vector = vector; self.caseID = caseID; self.subject = subject ?? caseID; self.study = study
    }
}

/// Parameters of a search.
public struct SearchOptions: Sendable, Codable, Equatable {
    public var k: Int
    public var metric: DistanceMetric
    /// Only rows with a verified label are evidence.
    public var verifiedOnly: Bool
    /// Never return the query's own case or subject: a patient's earlier scan is not independent evidence.
    public var excludeQuerySubject: Bool
    /// Only rows of the query's study.
    public var sameStudyOnly: Bool
    /// Worker threads for the scan (OpenBLAS threads are set separately, `MatrixProduct.setThreadCount`).
    public var threads: Int

    public init(k: Int = 10, metric: DistanceMetric = .euclidean, verifiedOnly: Bool = true,
                excludeQuerySubject: Bool = true, sameStudyOnly: Bool = false,
                threads: Int = ProcessInfo.processInfo.activeProcessorCount) {
        self.k = k; self.metric = metric; self.verifiedOnly = verifiedOnly
        self.excludeQuerySubject = excludeQuerySubject; self.sameStudyOnly = sameStudyOnly
        self.threads = max(1, threads)
    }
}

/// One neighbour found for a query.
public struct Neighbour: Sendable, Equatable {
    /// Row in the index at search time (rows move when others are removed).
    public var row: Int
    public var metadata: RowMetadata
    /// Euclidean distance, or 1 − cosine similarity; recomputed in Float64 from the stored vectors.
    public var distance: Double
}

extension EmbeddingIndex {
    /// Candidates kept beyond k per query, re-ranked with exact Float64 distances, so that rounding in
    /// the ‖q‖² + ‖x‖² − 2q·x expansion cannot change which rows are returned except at true near-ties.
    static let rerankMargin = 8

    /// Batches up to this size take the streaming path, one pass per query.
    static let streamingQueryLimit = 4

    /// The `k` nearest rows to each query, nearest first; ties go to the smaller case id.
    public func search(_ queries: [SearchQuery], options: SearchOptions = SearchOptions()) throws -> [[Neighbour]] {
        guard options.k > 0 else { throw RetrievalError.invalidParameter("k must be positive, got \(options.k)") }
        for (i, q) in queries.enumerated() where q.vector.count != dimension {
            throw RetrievalError.dimensionMismatch(expected: dimension, got: q.vector.count,
                                                   context: "query \(i)\(q.caseID.map { " (case '\($0)')" } ?? "")")
        }
        for (i, q) in queries.enumerated() {
            if let j = q.vector.firstIndex(where: { !$0.isFinite }) {
                throw RetrievalError.invalidParameter("query \(i)\(q.caseID.map { " (case '\($0)')" } ?? ""): value \(j) is NaN or infinite")
            }
        }
        guard !queries.isEmpty else { return [] }
        let heaps = scan(queries, options: options)
        return zip(queries, heaps).map { finalize(query: $0.0, candidates: $0.1, options: options) }
    }

    /// Convenience for one query.
    public func search(_ query: SearchQuery, options: SearchOptions = SearchOptions()) throws -> [Neighbour] {
        try search([query], options: options)[0]
    }

    // MARK: Scan

    /// Per-query filter, resolved once.
    struct QueryFilter {
        var caseID: String?
        var subject: String?
        var study: String?
        var verifiedOnly: Bool
        var excludeSubject: Bool
        var sameStudy: Bool
    }

    @inline(__always)
    func accepts(row: Int, _ f: QueryFilter) -> Bool {
        let a = attributeTable[Int(attributeCodes[row])]
        if f.verifiedOnly && !a.isVerified { return false }
        if f.sameStudy && a.study != f.study { return false }
        if f.excludeSubject {
            if let c = f.caseID, caseIDs.equals(row, c) { return false }
            if let s = f.subject, subjectEquals(row: row, s) { return false }
        }
        return true
    }

    /// Row a ranks after row b on an exact score tie.
    @inline(__always)
    func tieWorse(_ a: Int32, _ b: Int32) -> Bool {
        if !caseIDs.equals(Int(a), Int(b)) { return caseIDs.isLess(Int(b), Int(a)) }
        return attributes(row: Int(a)).scanIndex > attributes(row: Int(b)).scanIndex
    }

    /// Collects each query's best `k + margin` candidates (by the fast score), one heap per query.
    private func scan(_ queries: [SearchQuery], options: SearchOptions) -> [[BoundedTopK]] {
        let d = dimension
        let qn = queries.count
        let capacity = options.k + Self.rerankMargin
        // Queries as one row-major matrix; unit length for cosine (so scores need only ‖x‖).
        var qmat = [Float](repeating: 0, count: qn * d)
        for (i, q) in queries.enumerated() {
            var scale: Float = 1
            if options.metric == .cosine {
                let n = q.vector.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
                scale = n > 0 ? 1 / n : 0
            }
            for j in 0..<d { qmat[i * d + j] = q.vector[j] * scale }
        }
        let filters = queries.map {
            QueryFilter(caseID: $0.caseID, subject: $0.subject, study: $0.study, verifiedOnly: options.verifiedOnly,
                        excludeSubject: options.excludeQuerySubject, sameStudy: options.sameStudyOnly)
        }

        // Work split: query chunks when there are enough of them, otherwise row ranges. A handful of
        // queries stream the matrix one by one: gemm's packing of every row block would cost more
        // than the products it saves.
        let chunk = qn <= Self.streamingQueryLimit ? 1 : min(qn, 128)
        let queryChunks = stride(from: 0, to: qn, by: chunk).map { $0..<min($0 + chunk, qn) }
        let minRowsPerWorker = 32_768
        let rowWorkers = queryChunks.count >= options.threads ? 1
            : max(1, min(options.threads / queryChunks.count, count / minRowsPerWorker))
        let rowRanges: [Range<Int>] = (0..<rowWorkers).map { w in
            (count * w / rowWorkers)..<(count * (w + 1) / rowWorkers)
        }
        struct Task { let queries: Range<Int>; let rows: Range<Int> }
        let tasks = queryChunks.flatMap { qc in rowRanges.map { Task(queries: qc, rows: $0) } }
        let results = UnsafeMutableBufferPointer<[BoundedTopK]>.allocate(capacity: tasks.count)
        results.initialize(repeating: [])
        defer { results.deinitialize(); results.deallocate() }

        qmat.withUnsafeBufferPointer { qp in
            let run = { (t: Int) in
                let task = tasks[t]
                var heaps = task.queries.map { _ in BoundedTopK(capacity: capacity) }
                if task.queries.count == 1 {
                    self.streamOne(query: qp.baseAddress! + task.queries.lowerBound * d, rows: task.rows,
                                   metric: options.metric, filter: filters[task.queries.lowerBound], heap: &heaps[0])
                } else {
                    self.scanBatch(queries: qp.baseAddress! + task.queries.lowerBound * d, count: task.queries.count,
                                   rows: task.rows, metric: options.metric,
                                   filters: Array(filters[task.queries]), heaps: &heaps)
                }
                results[t] = heaps
            }
            if tasks.count == 1 { run(0) } else {
                DispatchQueue.concurrentPerform(iterations: tasks.count, execute: run)
            }
        }
        // Gather: per query, the heaps of every row range that covered it.
        var perQuery = [[BoundedTopK]](repeating: [], count: qn)
        for (t, task) in tasks.enumerated() {
            for (i, q) in task.queries.enumerated() { perQuery[q].append(results[t][i]) }
        }
        return perQuery
    }

    /// Rows per gemm block: the score tile (queries × block), the block itself and OpenBLAS's packed
    /// copy of it then stay in a 1 MiB L2, so the selection pass reads scores from L2, not L3.
    static func batchBlockRows(queries qc: Int) -> Int {
        max(256, min(4096, (1 << 16) / max(qc, 1))) & ~63
    }

    /// Batched scores through one `gemm` per block of rows ([queries × dim] · [block × dim]ᵀ), then each
    /// query's row of scores goes through its heap while the block is still in cache.
    ///
    /// Euclidean: the tile is pre-filled with the rows' ‖x‖² and gemm runs with beta = 1, so it leaves
    /// the finished score ‖x‖² − 2q·x (OpenBLAS would otherwise zero the tile for beta = 0 anyway).
    private func scanBatch(queries: UnsafePointer<Float>, count qc: Int, rows: Range<Int>, metric: DistanceMetric,
                           filters: [QueryFilter], heaps: inout [BoundedTopK]) {
        guard !rows.isEmpty else { return }
        let d = dimension
        let block = Self.batchBlockRows(queries: qc)
        // 64-byte aligned, like the matrix, so gemm's stores into the tile never split cache lines.
        let tile = Self.allocate(rows: qc, dimension: block)
        defer { free(tile) }
        let inverseNorms = Self.allocate(rows: 1, dimension: block)
        defer { free(inverseNorms) }
        let euclidean = metric == .euclidean
        var warmth: UInt32 = 0
        defer { Self.warmSink.store(warmth, ordering: .relaxed) }
        squaredNorms.withUnsafeBufferPointer { np in
            let norms = np.baseAddress!
            var start = rows.lowerBound
            while start < rows.upperBound {
                let b = min(block, rows.upperBound - start)
                let next = (start + b)..<min(start + 2 * b, rows.upperBound)
                warmth ^= warm(rows: next)
                if euclidean {
                    for q in 0..<qc { (tile + q * b).update(from: norms + start, count: b) }
                    MatrixProduct.gemm(.none, .transposed, m: qc, n: b, k: d, alpha: -2,
                                       a: queries, lda: d, b: matrix + start * d, ldb: d,
                                       beta: 1, c: tile, ldc: b)
                } else {
                    MatrixProduct.gemm(.none, .transposed, m: qc, n: b, k: d, alpha: -1,
                                       a: queries, lda: d, b: matrix + start * d, ldb: d,
                                       beta: 0, c: tile, ldc: b)
                    for j in 0..<b {
                        let n = norms[start + j]
                        inverseNorms[j] = n > 0 ? 1 / n.squareRoot() : 0
                    }
                    for q in 0..<qc {
                        let row = tile + q * b
                        for j in 0..<b { row[j] *= inverseNorms[j] }
                    }
                }
                for q in 0..<qc {
                    select(scores: tile + q * b, count: b, rowStart: start, filter: filters[q], heap: &heaps[q])
                }
                start += b
            }
        }
    }

    /// Loads one word per cache line of `rows`, so that OpenBLAS's packing of that block (next gemm)
    /// finds it in cache: these loads are independent and overlap, where the packing copy stalls on
    /// memory. Measured alone on this machine (1 core, 640-row blocks): gemm over 500,000 rows
    /// 79.5 → 74.3 ms; a `prefetch` instruction did not help. The result only feeds `warmSink`.
    @inline(__always)
    private func warm(rows: Range<Int>) -> UInt32 {
        guard !rows.isEmpty else { return 0 }
        let p = UnsafeRawPointer(matrix + rows.lowerBound * dimension)
        let bytes = rows.count * dimension * MemoryLayout<Float>.stride
        var x: UInt32 = 0
        var o = 0
        while o < bytes { x ^= p.load(fromByteOffset: o, as: UInt32.self); o += 64 }
        return x
    }

    /// Where `warm(rows:)` results go, so the optimiser cannot drop the loads as unused.
    static let warmSink = Atomic<UInt32>(0)

    /// Offers the scores (smaller is nearer) at or under the heap's threshold. Most 64-score runs hold
    /// none (a query's k + margin best of a million rows enter ≈ 200 times in all), so a run is first
    /// reduced to its minimum with `minps` and only a run whose minimum passes is looked at lane by lane.
    @inline(__always)
    private func select(scores c: UnsafePointer<Float>, count b: Int, rowStart: Int,
                        filter: QueryFilter, heap: inout BoundedTopK) {
        var threshold = heap.threshold
        let raw = UnsafeRawPointer(c)
        var j = 0
        while j + 64 <= b {
            // Four independent SIMD4 minimum chains (baseline x86-64 has 16-byte registers).
            var m0 = raw.loadUnaligned(fromByteOffset: j * 4, as: SIMD4<Float>.self)
            var m1 = raw.loadUnaligned(fromByteOffset: j * 4 + 16, as: SIMD4<Float>.self)
            var m2 = raw.loadUnaligned(fromByteOffset: j * 4 + 32, as: SIMD4<Float>.self)
            var m3 = raw.loadUnaligned(fromByteOffset: j * 4 + 48, as: SIMD4<Float>.self)
            var o = j * 4 + 64
            while o < j * 4 + 256 {
                let v0 = raw.loadUnaligned(fromByteOffset: o, as: SIMD4<Float>.self)
                let v1 = raw.loadUnaligned(fromByteOffset: o + 16, as: SIMD4<Float>.self)
                let v2 = raw.loadUnaligned(fromByteOffset: o + 32, as: SIMD4<Float>.self)
                let v3 = raw.loadUnaligned(fromByteOffset: o + 48, as: SIMD4<Float>.self)
                m0 = m0.replacing(with: v0, where: v0 .< m0)
                m1 = m1.replacing(with: v1, where: v1 .< m1)
                m2 = m2.replacing(with: v2, where: v2 .< m2)
                m3 = m3.replacing(with: v3, where: v3 .< m3)
                o += 64
            }
            m0 = m0.replacing(with: m1, where: m1 .< m0)
            m2 = m2.replacing(with: m3, where: m3 .< m2)
            m0 = m0.replacing(with: m2, where: m2 .< m0)
            if any(m0 .<= SIMD4<Float>(repeating: threshold)) {
                for lane in j..<(j + 64) where c[lane] <= threshold {
                    heap.offer(score: c[lane], row: Int32(rowStart + lane), tieWorse: tieWorse,
                               accept: { self.accepts(row: Int($0), filter) })
                    threshold = heap.threshold
                }
            }
            j += 64
        }
        while j < b {
            if c[j] <= threshold {
                heap.offer(score: c[j], row: Int32(rowStart + j), tieWorse: tieWorse,
                           accept: { self.accepts(row: Int($0), filter) })
                threshold = heap.threshold
            }
            j += 1
        }
    }

    /// One query: a single streaming pass over the rows (a dot product per row, 16 lanes at a time),
    /// bounded by memory bandwidth rather than arithmetic.
    private func streamOne(query q: UnsafePointer<Float>, rows: Range<Int>, metric: DistanceMetric,
                           filter: QueryFilter, heap: inout BoundedTopK) {
        let d = dimension
        let d16 = d & ~15
        let euclidean = metric == .euclidean
        var threshold = heap.threshold
        squaredNorms.withUnsafeBufferPointer { np in
            for r in rows {
                let x = UnsafePointer(matrix + r * d)
                var acc = SIMD16<Float>(repeating: 0)
                var j = 0
                while j < d16 {
                    acc += UnsafeRawPointer(q + j).loadUnaligned(as: SIMD16<Float>.self)
                        * UnsafeRawPointer(x + j).loadUnaligned(as: SIMD16<Float>.self)
                    j += 16
                }
                var dot = Self.treeSum(acc)
                while j < d { dot += q[j] * x[j]; j += 1 }
                let n = np[r]
                let s: Float
                if euclidean { s = n - 2 * dot } else { s = n > 0 ? -dot / n.squareRoot() : 0 }
                if s <= threshold {
                    heap.offer(score: s, row: Int32(r), tieWorse: tieWorse, accept: { self.accepts(row: Int($0), filter) })
                    threshold = heap.threshold
                }
            }
        }
    }

    /// Pairwise lane sum: `SIMD.sum()` adds the 16 lanes one after another (Float addition is not
    /// reassociated), a 16-deep dependency chain per row that made the scan compute-bound.
    @inline(__always)
    static func treeSum(_ v: SIMD16<Float>) -> Float {
        let h8 = v.lowHalf + v.highHalf
        let h4 = h8.lowHalf + h8.highHalf
        let h2 = h4.lowHalf + h4.highHalf
        return h2[0] + h2[1]
    }

    // MARK: Exact re-rank

    private func finalize(query: SearchQuery, candidates: [BoundedTopK], options: SearchOptions) -> [Neighbour] {
        var rows: [Int] = []
        for h in candidates { rows.append(contentsOf: h.rows.map(Int.init)) }
        var scored = rows.map { (row: $0, distance: exactDistance(query.vector, row: $0, metric: options.metric)) }
        scored.sort { a, b in
            if a.distance != b.distance { return a.distance < b.distance }
            if !caseIDs.equals(a.row, b.row) { return caseIDs.isLess(a.row, b.row) }
            return attributes(row: a.row).scanIndex < attributes(row: b.row).scanIndex
        }
        return scored.prefix(options.k).map { Neighbour(row: $0.row, metadata: metadata(row: $0.row), distance: $0.distance) }
    }

    /// Distance in Float64 between a query and a stored row.
    public func exactDistance(_ q: [Float], row: Int, metric: DistanceMetric) -> Double {
        let x = matrix + row * dimension
        switch metric {
        case .euclidean:
            var s = 0.0
            for j in 0..<dimension { let t = Double(q[j]) - Double(x[j]); s += t * t }
            return s.squareRoot()
        case .cosine:
            var dot = 0.0, qq = 0.0, xx = 0.0
            for j in 0..<dimension {
                let a = Double(q[j]), b = Double(x[j])
                dot += a * b; qq += a * a; xx += b * b
            }
            guard qq > 0, xx > 0 else { return 1 }
            return 1 - dot / (qq.squareRoot() * xx.squareRoot())
        }
    }
}
