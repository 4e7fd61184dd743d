import Foundation

/// Exact nearest-neighbour index over embeddings: one contiguous, 64-byte aligned, row-major
/// Float32 matrix with precomputed squared row norms and compact per-row metadata.
///
/// Rows are scans (keyed by case id and scan index). Adding appends; removing moves the last row
/// into the hole — neither rebuilds anything. Searches only read, so several may run at once;
/// mutation must not overlap a search (the class is not internally locked).
public final class EmbeddingIndex: @unchecked Sendable {
    /// Length of every embedding.
    public let dimension: Int
    /// Number of rows.
    public private(set) var count: Int = 0

    private(set) var matrix: UnsafeMutablePointer<Float>
    private var capacity: Int
    private(set) var squaredNorms: [Float] = []
    private(set) var caseIDs = CaseIDColumn()
    private(set) var attributeCodes = AttributeCodeColumn()
    private(set) var attributeTable: [RowAttributes] = []
    private var attributeCodeByValue: [RowAttributes: UInt32] = [:]
    /// Subject codes, materialised only once some row's subject differs from its case id
    /// (UCR/UEA imports use the case id as subject, which then costs nothing).
    private(set) var subjectCodes: [UInt32]? = nil
    private(set) var subjectTable: [String] = []
    private var subjectCodeByName: [String: UInt32] = [:]
    static let subjectIsCaseID = UInt32.max

    public init(dimension: Int, reservingCapacity rows: Int = 0) throws {
        guard dimension > 0 else { throw RetrievalError.invalidParameter("index dimension must be positive, got \(dimension)") }
        self.dimension = dimension
        self.capacity = max(rows, 1)
        self.matrix = Self.allocate(rows: max(rows, 1), dimension: dimension)
        if rows > 0 {
            squaredNorms.reserveCapacity(rows); caseIDs.reserveCapacity(rows: rows); attributeCodes.reserveCapacity(rows)
        }
    }

    deinit { free(matrix) }

    /// Bytes of the embedding matrix itself (rows × dimension × 4).
    public var matrixBytes: Int { count * dimension * MemoryLayout<Float>.stride }

    /// Read-only view of the matrix (row-major, `count × dimension`), e.g. to measure a streaming read.
    public func withMatrix<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: matrix, count: count * dimension))
    }

    /// Metadata of row `row`.
    public func metadata(row: Int) -> RowMetadata {
        let a = attributeTable[Int(attributeCodes[row])]
        return RowMetadata(caseID: caseIDs[row], scanIndex: a.scanIndex, subject: subject(row: row), study: a.study,
                           label: a.label, verifiedBy: a.verifiedBy, verifiedAt: a.verifiedAt,
                           acquisition: a.acquisition)
    }

    /// The stored embedding of row `row`.
    public func vector(row: Int) -> [Float] {
        Array(UnsafeBufferPointer(start: matrix + row * dimension, count: dimension))
    }

    /// Rows of a case (all its scans), in row order.
    public func rows(ofCase caseID: String) -> [Int] {
        var result: [Int] = []
        for r in 0..<count where caseIDs.equals(r, caseID) { result.append(r) }
        return result
    }

    func subject(row: Int) -> String {
        guard let codes = subjectCodes, codes[row] != Self.subjectIsCaseID else { return caseIDs[row] }
        return subjectTable[Int(codes[row])]
    }

    /// `subject(row:) == subject` without building the `String` when the subject is the case id.
    func subjectEquals(row: Int, _ subject: String) -> Bool {
        guard let codes = subjectCodes, codes[row] != Self.subjectIsCaseID else { return caseIDs.equals(row, subject) }
        return subjectTable[Int(codes[row])] == subject
    }

    @inline(__always) func attributes(row: Int) -> RowAttributes { attributeTable[Int(attributeCodes[row])] }

    // MARK: Mutation

    /// Appends one row. Throws on a wrong length, a non-finite value or a (case, scan) already present.
    public func add(_ vector: [Float], metadata: RowMetadata) throws {
        try add(vectors: vector, metadata: [metadata])
    }

    /// Appends rows given as one row-major buffer (`metadata.count × dimension` values).
    /// All-or-nothing: on any error the index is unchanged. Checking duplicates costs one pass over
    /// the existing case ids (no per-row lookup table is kept, to keep memory near the matrix).
    public func add(vectors: [Float], metadata: [RowMetadata]) throws {
        let n = metadata.count
        guard vectors.count == n * dimension else {
            throw RetrievalError.dimensionMismatch(expected: dimension, got: n == 0 ? vectors.count : vectors.count / max(n, 1),
                                                   context: "adding \(n) rows (\(vectors.count) values)")
        }
        try add(metadata: metadata) { destination in
            vectors.withUnsafeBufferPointer { destination.baseAddress!.update(from: $0.baseAddress!, count: $0.count) }
        }
    }

    /// Appends `metadata.count` rows whose values `fill` writes straight into the matrix (row-major,
    /// `metadata.count × dimension` values), so a producer of values (a generator, a file reader)
    /// needs no second buffer of its own. The same checks as `add(vectors:metadata:)`, all-or-nothing:
    /// the rows only become part of the index once `fill` returned and every value is finite.
    public func add(metadata: [RowMetadata], writingVectors fill: (UnsafeMutableBufferPointer<Float>) throws -> Void) throws {
        let n = metadata.count
        guard n > 0 else { return }
        try checkNoDuplicates(metadata)
        reserve(rows: count + n)
        let destination = matrix + count * dimension
        try fill(UnsafeMutableBufferPointer(start: destination, count: n * dimension))
        // Validate before anything else changes: rows past `count` are not part of the index yet.
        for (i, m) in metadata.enumerated() {
            let row = destination + i * dimension
            for j in 0..<dimension where !row[j].isFinite {
                throw RetrievalError.nonFiniteValue(caseID: m.caseID, scanIndex: m.scanIndex, position: j)
            }
        }
        for (i, m) in metadata.enumerated() {
            let row = count + i
            squaredNorms.append(Self.squaredNorm(matrix + row * dimension, dimension))
            caseIDs.append(m.caseID)
            attributeCodes.append(code(for: RowAttributes(scanIndex: m.scanIndex, study: m.study, label: m.label,
                                                          verifiedBy: m.verifiedBy, verifiedAt: m.verifiedAt,
                                                          acquisition: m.acquisition)))
            appendSubject(m.subject, caseID: m.caseID, row: row)
        }
        count += n
    }

    /// Removes every row of `caseID` (all its scans); returns how many were removed.
    @discardableResult
    public func remove(caseID: String) -> Int {
        var removed = 0
        var r = 0
        while r < count {
            if caseIDs.equals(r, caseID) { removeRow(r); removed += 1 } else { r += 1 }
        }
        return removed
    }

    /// Removes one scan's row; returns whether it was present.
    @discardableResult
    public func remove(caseID: String, scanIndex: Int) -> Bool {
        for r in 0..<count where caseIDs.equals(r, caseID) && attributes(row: r).scanIndex == scanIndex {
            removeRow(r)
            return true
        }
        return false
    }

    /// Grows the matrix so that `rows` rows fit without reallocating.
    public func reserve(rows: Int) {
        guard rows > capacity else { return }
        let newCapacity = max(rows, capacity + capacity / 2)
        let newMatrix = Self.allocate(rows: newCapacity, dimension: dimension)
        newMatrix.update(from: matrix, count: count * dimension)
        free(matrix)
        matrix = newMatrix
        capacity = newCapacity
        caseIDs.reserveCapacity(rows: newCapacity)
    }

    private func removeRow(_ r: Int) {
        let last = count - 1
        if r != last {
            (matrix + r * dimension).update(from: matrix + last * dimension, count: dimension)
            squaredNorms[r] = squaredNorms[last]
            caseIDs.moveLast(to: r)
            attributeCodes[r] = attributeCodes[last]
            if subjectCodes != nil { subjectCodes![r] = subjectCodes![last] }
        } else {
            caseIDs.removeLast()
        }
        squaredNorms.removeLast(); attributeCodes.removeLast()
        if subjectCodes != nil { subjectCodes!.removeLast() }
        count -= 1
    }

    private func checkNoDuplicates(_ metadata: [RowMetadata]) throws {
        struct Key: Hashable { let caseID: String; let scan: Int }
        var incoming = Set<Key>(minimumCapacity: metadata.count)
        for m in metadata where !incoming.insert(Key(caseID: m.caseID, scan: m.scanIndex)).inserted {
            throw RetrievalError.duplicateRow(caseID: m.caseID, scanIndex: m.scanIndex)
        }
        if metadata.count == 1 {
            let m = metadata[0]
            for r in 0..<count where caseIDs.equals(r, m.caseID) && attributes(row: r).scanIndex == m.scanIndex {
                throw RetrievalError.duplicateRow(caseID: m.caseID, scanIndex: m.scanIndex)
            }
            return
        }
        // ASCII ids (where bytes decide equality): a fingerprint of each existing row's bytes, computed
        // without making a `String`, screens the rows; only a fingerprint match is checked for real.
        if caseIDs.isASCII && metadata.allSatisfy({ $0.caseID.utf8.allSatisfy { $0 < 0x80 } }) {
            var fingerprints = Set<UInt64>(minimumCapacity: metadata.count)
            for m in metadata {
                fingerprints.insert(m.caseID.utf8.withContiguousStorageIfAvailable { Self.fingerprint($0, scan: m.scanIndex) }
                                    ?? Self.fingerprint(Array(m.caseID.utf8), scan: m.scanIndex))
            }
            try caseIDs.bytes.withUnsafeBufferPointer { bytes in
                for r in 0..<count {
                    let scan = attributes(row: r).scanIndex
                    guard fingerprints.contains(Self.fingerprint(UnsafeBufferPointer(rebasing: bytes[caseIDs.range(r)]), scan: scan))
                    else { continue }
                    let key = Key(caseID: caseIDs[r], scan: scan)
                    if incoming.contains(key) { throw RetrievalError.duplicateRow(caseID: key.caseID, scanIndex: key.scan) }
                }
            }
            return
        }
        for r in 0..<count {
            let key = Key(caseID: caseIDs[r], scan: attributes(row: r).scanIndex)
            if incoming.contains(key) { throw RetrievalError.duplicateRow(caseID: key.caseID, scanIndex: key.scan) }
        }
    }

    private func code(for attributes: RowAttributes) -> UInt32 {
        if let c = attributeCodeByValue[attributes] { return c }
        let c = UInt32(attributeTable.count)
        attributeTable.append(attributes)
        attributeCodeByValue[attributes] = c
        return c
    }

    private func appendSubject(_ subject: String, caseID: String, row: Int) {
        if subject == caseID {
            subjectCodes?.append(Self.subjectIsCaseID)
            return
        }
        if subjectCodes == nil {
            subjectCodes = [UInt32](repeating: Self.subjectIsCaseID, count: row)
        }
        let c: UInt32
        if let existing = subjectCodeByName[subject] { c = existing } else {
            c = UInt32(subjectTable.count)
            subjectTable.append(subject)
            subjectCodeByName[subject] = c
        }
        subjectCodes!.append(c)
    }

    /// FNV-1a over an id's bytes and the scan index.
    @inline(__always)
    static func fingerprint<C: Collection>(_ bytes: C, scan: Int) -> UInt64 where C.Element == UInt8 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
        return (h ^ UInt64(truncatingIfNeeded: scan)) &* 0x100_0000_01B3
    }

    static func allocate(rows: Int, dimension: Int) -> UnsafeMutablePointer<Float> {
        var raw: UnsafeMutableRawPointer?
        let bytes = max(rows * dimension * MemoryLayout<Float>.stride, 64)
        guard posix_memalign(&raw, 64, bytes) == 0, let raw else {
            // Out of memory is not a data error; there is nothing sensible to continue with.
            preconditionFailure("cannot allocate \(bytes) bytes for the embedding matrix")
        }
        return raw.bindMemory(to: Float.self, capacity: rows * dimension)
    }

    @inline(__always)
    static func squaredNorm(_ p: UnsafePointer<Float>, _ d: Int) -> Float {
        var s: Float = 0
        for j in 0..<d { s += p[j] * p[j] }
        return s
    }
}
