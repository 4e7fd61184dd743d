import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import LinearAlgebra
import Retrieval

/// Exact k-nearest search on seeded random embeddings: batched throughput, one query against the
/// memory-bandwidth bound (a streaming read of the same matrix, same run), and resident memory
/// against the matrix size. `--peer` runs `Benchmarks/peers/faiss_knn.py` on the same data first
/// and reports the ratios.
struct RetrievalBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retrieval",
        abstract: "Exact k-NN search speed and memory (EmbeddingIndex) against faiss and the bandwidth bound.")

    @Option(help: "Rows in the index.") var rows = 1_000_000
    @Option(help: "Embedding dimension.") var dim = 64
    @Option(help: "Queries per batch.") var queries = 100
    @Option(help: "Neighbours per query.") var k = 10
    @Option(help: "Data seed (queries use seed + 1), as in faiss_knn.py.") var seed: UInt64 = 42
    @Option(help: "Search workers and streaming-read threads.") var threads = 2
    @Option(help: "OpenBLAS threads inside each gemm (1: the search workers already use every core).")
    var blasThreads = 1
    @Option(help: "Timed repetitions; the best is reported.") var repeats = 5
    @Option(help: "The batch is also repeated until this many seconds have passed (the faiss peer's --repeats take longer than ours, so both get a window of seconds to find their best in while another process comes and goes).")
    var minSeconds = 3.0
    @Option(help: "euclidean or cosine.") var metric: String = "euclidean"
    @Option(help: "Path of faiss_knn.py to run first on the same data (python3).") var peer: String?
    @Flag(help: "Print one JSON document.") var json = false

    func validate() throws {
        guard rows > 0, dim > 0, queries > 0, k > 0, threads > 0, blasThreads > 0, repeats > 0, minSeconds >= 0 else {
            throw ValidationError("--rows, --dim, --queries, --k, --threads and --repeats must be positive, --min-seconds not negative")
        }
        guard DistanceMetric(rawValue: metric) != nil else { throw ValidationError("--metric must be euclidean or cosine") }
    }

    func run() throws {
        let metric = DistanceMetric(rawValue: self.metric)!
        var peerResult: [String: Any]? = nil
        if let peer { peerResult = try runPeer(peer) }

        MatrixProduct.setThreadCount(blasThreads)
        Self.fixMmapThreshold()
        Self.releaseFreedHeap()
        let residentBefore = ProcessFigures.residentBytes()
        let index = try EmbeddingIndex(dimension: dim, reservingCapacity: rows)
        // Values go straight from the generator into the index's matrix: no second copy of any chunk.
        let chunkRows = 16_384
        var start = 0
        while start < rows {
            let n = min(chunkRows, rows - start)
            let meta = (start..<(start + n)).map {
                RowMetadata(caseID: "b\($0)", study: "bench", label: "c\($0 % 5)", verifiedBy: "audit-bench")
            }
            let offset = start * dim
            try index.add(metadata: meta) { SyntheticEmbeddings.fill($0, seed: seed, offset: offset) }
            start += n
        }
        // Hand freed metadata chunks back to the OS first, so the figure is what the index holds.
        Self.releaseFreedHeap()
        let residentIndex = ProcessFigures.residentBytes() - residentBefore
        let qv = SyntheticEmbeddings.uniform(seed: seed &+ 1, count: queries * dim)
        let batch = (0..<queries).map { SearchQuery(vector: Array(qv[($0 * dim)..<(($0 + 1) * dim)]), caseID: "q\($0)") }
        let options = SearchOptions(k: k, metric: metric, threads: threads)

        var firstIDs: [String] = []
        var batchRepeats = 0
        let batchSeconds = try Self.best(repeats, minSeconds: minSeconds, count: &batchRepeats) { firstIDs = try index.search(batch, options: options)[0].map(\.metadata.caseID) }
        let singleSeconds = try Self.best(max(repeats, 10)) { _ = try index.search(batch[0], options: options) }
        var checksum = 0.0
        let streamSeconds = Self.best(max(repeats, 10)) { checksum += index.streamingReadSum(threads: threads) }
        let memory = ProcessFigures.memory()
        let residentAfter = memory["VmRSS"] ?? 0
        let peak = memory["VmHWM"] ?? 0

        let matrixBytes = index.matrixBytes
        var out: [String: Any] = [
            "ms_per_batch": batchSeconds * 1e3,
            "batch_repeats": batchRepeats,
            "queries_per_s": Double(queries) / batchSeconds,
            "bytes": matrixBytes,
            "rows": rows, "dim": dim, "queries": queries, "k": k, "seed": seed, "threads": threads, "blas_threads": blasThreads,
            "metric": metric.rawValue,
            "single_query_ms": singleSeconds * 1e3,
            "stream_read_ms": streamSeconds * 1e3,
            "stream_read_gb_per_s": Double(matrixBytes) / streamSeconds / 1e9,
            "single_query_over_stream_read": singleSeconds / streamSeconds,
            "resident_index_bytes": residentIndex,
            "resident_index_over_matrix": Double(residentIndex) / Double(matrixBytes),
            "resident_process_bytes": residentAfter,
            "resident_process_over_matrix": Double(residentAfter) / Double(matrixBytes),
            // Whole process (VmHWM: peak over the run, after the faiss child has exited; the child's
            // memory is its own process and not counted). Includes shared-library pages (RssFile).
            "peak_resident_process_bytes": peak,
            "peak_resident_process_over_matrix": Double(peak) / Double(matrixBytes),
            "resident_anonymous_bytes": memory["RssAnon"] ?? 0,
            "resident_file_backed_bytes": memory["RssFile"] ?? 0,
            "resident_before_index_bytes": residentBefore,
            "first_query_ids": firstIDs.map { Int($0.dropFirst()) ?? -1 },
            "stream_checksum": checksum,
        ]
        if let peerResult {
            out["peer"] = peerResult
            let key = metric == .euclidean ? "faiss_l2" : "faiss_ip"
            if let f = peerResult[key] as? [String: Any], let ms = f["ms_per_batch"] as? Double {
                out["speedup_vs_faiss"] = ms / (batchSeconds * 1e3)
                if let ids = f["first_query_ids"] as? [Int] {
                    out["same_neighbours_as_faiss"] = ids == firstIDs.map { Int($0.dropFirst()) ?? -1 }
                }
            }
        }
        if json {
            let data = try JSONSerialization.data(withJSONObject: out, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            for key in out.keys.sorted() { print("\(key): \(out[key]!)") }
        }
    }

    /// Runs the Python peer on the same data and thread count (before our index exists, so the two
    /// never compete for memory or cores).
    private func runPeer(_ script: String) throws -> [String: Any] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script, "--rows", "\(rows)", "--dim", "\(dim)", "--queries", "\(queries)",
                             "--k", "\(k)", "--seed", "\(seed)", "--threads", "\(threads)", "--repeats", "\(repeats)",
                             "--no-numpy"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0,
              let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ValidationError("peer \(script) failed (status \(process.terminationStatus))")
        }
        return object
    }

    static func best(_ repeats: Int, _ body: () throws -> Void) rethrows -> Double {
        var count = 0
        return try best(repeats, minSeconds: 0, count: &count, body)
    }

    /// Best time of at least `repeats` runs that also span at least `minSeconds` (after one warm-up).
    static func best(_ repeats: Int, minSeconds: Double, count: inout Int, _ body: () throws -> Void) rethrows -> Double {
        try body() // warm-up
        var best = Double.infinity
        let start = DispatchTime.now().uptimeNanoseconds
        count = 0
        while count < repeats || Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 < minSeconds {
            let t0 = DispatchTime.now().uptimeNanoseconds
            try body()
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
            count += 1
        }
        return best
    }

    /// glibc keeps freed heap pages resident until trimmed.
    static func releaseFreedHeap() {
        #if canImport(Glibc)
        typealias MallocTrim = @convention(c) (Int) -> Int32
        if let symbol = dlsym(nil, "malloc_trim") { _ = unsafeBitCast(symbol, to: MallocTrim.self)(0) }
        #endif
    }

    /// Fixes glibc's mmap threshold at 128 KiB (M_MMAP_THRESHOLD = −3). Left dynamic, it grows after
    /// the first large free and the generator's freed chunks then stay resident in a thread arena,
    /// where they would be counted as index memory.
    static func fixMmapThreshold() {
        #if canImport(Glibc)
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        if let symbol = dlsym(nil, "mallopt") { _ = unsafeBitCast(symbol, to: Mallopt.self)(-3, 128 * 1024) }
        #endif
    }
}
