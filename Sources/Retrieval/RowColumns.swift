/// The index's case ids as one UTF-8 byte buffer plus each row's end offset: (length + 4) bytes per
/// row, where an array of `String` costs 16 bytes per row, plus a heap block for ids over 15 bytes
/// (a UUID: ≈ 40 bytes here against ≈ 100 as `String`s).
///
/// Comparisons keep `String` semantics (canonical equivalence, `<`): bytes decide only when both ids
/// are ASCII, where byte order and `String` order agree; otherwise the ids are compared as `String`s.
struct CaseIDColumn {
    private(set) var bytes: [UInt8] = []
    /// End offset of each row's id in `bytes` (start: the previous row's end).
    private var ends: [UInt32] = []
    /// Whether every stored byte is ASCII (lets byte comparison stand in for `String` comparison).
    private(set) var isASCII = true

    var count: Int { ends.count }

    /// Room for `rows` rows in all, their ids assumed as long as the average so far (8 bytes if none yet),
    /// so that filling an index reserved up front does not regrow (and briefly double) the buffer.
    mutating func reserveCapacity(rows: Int) {
        ends.reserveCapacity(rows)
        let average = count > 0 ? (bytes.count + count - 1) / count : 8
        bytes.reserveCapacity(rows * average)
    }

    @inline(__always)
    func range(_ row: Int) -> Range<Int> { (row == 0 ? 0 : Int(ends[row - 1]))..<Int(ends[row]) }

    subscript(row: Int) -> String { String(decoding: bytes[range(row)], as: UTF8.self) }

    mutating func append(_ id: String) {
        let start = bytes.count
        bytes.append(contentsOf: id.utf8)
        precondition(bytes.count <= Int(UInt32.max), "case ids exceed 4 GiB in total")
        if isASCII { isASCII = !bytes[start...].contains { $0 >= 0x80 } }
        ends.append(UInt32(bytes.count))
    }

    /// Whether row `row`'s id equals `id` (as `String ==` would say).
    @inline(__always)
    func equals(_ row: Int, _ id: String) -> Bool {
        let r = range(row)
        let same = bytes.withUnsafeBufferPointer { b in
            id.utf8.elementsEqual(UnsafeBufferPointer(rebasing: b[r]))
        }
        if same { return true }
        if isASCII && id.utf8.allSatisfy({ $0 < 0x80 }) { return false }
        return self[row] == id
    }

    /// Whether rows `a` and `b` have the same id.
    @inline(__always)
    func equals(_ a: Int, _ b: Int) -> Bool {
        if isASCII { return bytes[range(a)].elementsEqual(bytes[range(b)]) }
        return self[a] == self[b]
    }

    /// Whether row `a`'s id sorts before row `b`'s (`String <`).
    @inline(__always)
    func isLess(_ a: Int, _ b: Int) -> Bool {
        if isASCII { return bytes[range(a)].lexicographicallyPrecedes(bytes[range(b)]) }
        return self[a] < self[b]
    }

    /// Puts the last row's id at `row` and drops the last row (the index's swap-remove). Shifts the
    /// bytes after `row` when the lengths differ: O(total bytes), like the scan that found the row.
    mutating func moveLast(to row: Int) {
        let last = count - 1
        precondition(row < last)
        let lastBytes = Array(bytes[range(last)])
        bytes.removeSubrange(range(last))
        ends.removeLast()
        let target = range(row)
        let delta = lastBytes.count - target.count
        bytes.replaceSubrange(target, with: lastBytes)
        if delta != 0 {
            for r in row..<count { ends[r] = UInt32(Int(ends[r]) + delta) }
        }
    }

    mutating func removeLast() {
        bytes.removeSubrange(range(count - 1))
        ends.removeLast()
    }
}

/// Per-row attribute codes, one byte each while fewer than 256 distinct attribute combinations exist
/// (the usual case: one study, a few labels and verifiers), four bytes each after that.
struct AttributeCodeColumn {
    private var narrow: [UInt8] = []
    private var wide: [UInt32]? = nil

    var count: Int { wide?.count ?? narrow.count }

    mutating func reserveCapacity(_ rows: Int) {
        if wide != nil { wide!.reserveCapacity(rows) } else { narrow.reserveCapacity(rows) }
    }

    subscript(row: Int) -> UInt32 {
        @inline(__always) get { wide.map { $0[row] } ?? UInt32(narrow[row]) }
        set {
            if newValue > UInt8.max { widen() }
            if wide != nil { wide![row] = newValue } else { narrow[row] = UInt8(newValue) }
        }
    }

    mutating func append(_ code: UInt32) {
        if code > UInt8.max { widen() }
        if wide != nil { wide!.append(code) } else { narrow.append(UInt8(code)) }
    }

    mutating func removeLast() {
        if wide != nil { wide!.removeLast() } else { narrow.removeLast() }
    }

    private mutating func widen() {
        guard wide == nil else { return }
        var w = [UInt32]()
        w.reserveCapacity(narrow.capacity)
        w.append(contentsOf: narrow.lazy.map(UInt32.init))
        wide = w
        narrow = []
    }
}
