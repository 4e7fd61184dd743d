import Crypto
import Foundation

/// The Merkle tree of RFC 9162 §2.1 as small pure functions over 32-byte SHA-256 hashes, independent
/// of the store: leaf and node hashing, tree heads, inclusion and consistency proofs and their
/// verifiers. Follows transparency-dev/merkle (whose published vectors the tests run).
public enum Merkle {
    /// Size of every hash in the tree.
    public static let hashSize = 32

    /// MTH({}) = SHA-256 of the empty string.
    public static let emptyRoot = Data(SHA256.hash(data: Data()))

    /// Leaf hash: SHA-256(0x00 ‖ data).
    public static func leafHash<D: DataProtocol>(_ data: D) -> Data {
        var h = SHA256()
        h.update(data: [0x00])
        h.update(data: data)
        return Data(h.finalize())
    }

    /// Interior node hash: SHA-256(0x01 ‖ left ‖ right).
    public static func nodeHash(_ left: Data, _ right: Data) -> Data {
        var h = SHA256()
        h.update(data: [0x01])
        h.update(data: left)
        h.update(data: right)
        return Data(h.finalize())
    }

    /// Tree head MTH(D[n]) over already-hashed leaves (iteratively, through a compact range).
    public static func root<C: Collection>(leafHashes: C) -> Data where C.Element == Data {
        var range = CompactRange()
        for leaf in leafHashes { range.append(leaf) }
        return range.root()
    }

    // MARK: - Proof building (RFC 9162 §2.1.3.1, §2.1.4.1)

    /// Largest power of two strictly below `n` (n > 1).
    static func splitPoint(_ n: Int) -> Int {
        precondition(n > 1)
        var k = 1
        while k << 1 < n { k <<= 1 }
        return k
    }

    /// Inclusion proof PATH(index, D[n]) for leaf `index` in the tree over `leafHashes` (n = count).
    public static func inclusionProof(index: Int, leafHashes: [Data]) throws -> [Data] {
        guard index >= 0, index < leafHashes.count else {
            throw AuditLogError.outOfRange("leaf \(index) is not in a tree of size \(leafHashes.count)")
        }
        var proof: [Data] = []
        path(index, leafHashes[...], into: &proof)
        return proof
    }

    private static func path(_ m: Int, _ d: ArraySlice<Data>, into proof: inout [Data]) {
        let n = d.count
        guard n > 1 else { return }
        let k = splitPoint(n)
        let lo = d.startIndex
        if m < k {
            path(m, d[lo..<lo + k], into: &proof)
            proof.append(root(leafHashes: d[(lo + k)...]))
        } else {
            path(m - k, d[(lo + k)...], into: &proof)
            proof.append(root(leafHashes: d[lo..<lo + k]))
        }
    }

    /// Consistency proof PROOF(m, D[n]) between the first `oldSize` leaves and all of `leafHashes`.
    /// Empty when oldSize = n; refused for oldSize = 0 (nothing to be consistent with).
    public static func consistencyProof(oldSize m: Int, leafHashes: [Data]) throws -> [Data] {
        let n = leafHashes.count
        guard m > 0, m <= n else {
            throw AuditLogError.outOfRange("no consistency proof from size \(m) to size \(n) (need 0 < m ≤ n)")
        }
        var proof: [Data] = []
        if m < n { subproof(m, leafHashes[...], complete: true, into: &proof) }
        return proof
    }

    private static func subproof(_ m: Int, _ d: ArraySlice<Data>, complete b: Bool, into proof: inout [Data]) {
        let n = d.count
        if m == n {
            if !b { proof.append(root(leafHashes: d)) }
            return
        }
        let k = splitPoint(n)
        let lo = d.startIndex
        if m <= k {
            subproof(m, d[lo..<lo + k], complete: b, into: &proof)
            proof.append(root(leafHashes: d[(lo + k)...]))
        } else {
            subproof(m - k, d[(lo + k)...], complete: false, into: &proof)
            proof.append(root(leafHashes: d[lo..<lo + k]))
        }
    }

    // MARK: - Proof checking

    /// Root implied by an inclusion proof; throws when the proof has the wrong shape.
    static func rootFromInclusionProof(index: UInt64, size: UInt64, leafHash: Data, proof: [Data]) throws -> Data {
        guard index < size else { throw AuditLogError.invalidProof("index \(index) is beyond tree size \(size)") }
        guard leafHash.count == hashSize else {
            throw AuditLogError.invalidProof("leaf hash has \(leafHash.count) bytes, want \(hashSize)")
        }
        let (inner, border) = decomposeInclusionProof(index: index, size: size)
        guard proof.count == inner + border else {
            throw AuditLogError.invalidProof("proof has \(proof.count) hashes, want \(inner + border)")
        }
        var res = chainInner(leafHash, proof[0..<inner], index: index)
        res = chainBorderRight(res, proof[inner...])
        return res
    }

    /// Checks that `leafHash` is leaf `index` of the tree of `size` with head `root`.
    /// Prefer `Checkpoint.verifyInclusion`, which only accepts a root from a verified checkpoint.
    static func verifyInclusion(index: UInt64, size: UInt64, leafHash: Data, proof: [Data], root: Data) throws {
        let computed = try rootFromInclusionProof(index: index, size: size, leafHash: leafHash, proof: proof)
        guard computed == root else { throw AuditLogError.invalidProof("inclusion proof leads to a different root") }
    }

    /// Checks that the tree of `size2` with head `root2` extends the tree of `size1` with head `root1`.
    public static func verifyConsistency(size1: UInt64, size2: UInt64, root1: Data, root2: Data, proof: [Data]) throws {
        if size2 < size1 { throw AuditLogError.invalidProof("size2 \(size2) < size1 \(size1)") }
        // An empty tree is trivially a prefix of anything: such a "proof" proves nothing, so it is refused.
        if size1 == 0 { throw AuditLogError.invalidProof("no consistency proof from an empty tree") }
        if size1 == size2 {
            guard proof.isEmpty else { throw AuditLogError.invalidProof("equal sizes but the proof is not empty") }
            guard root1 == root2 else { throw AuditLogError.invalidProof("equal sizes but different roots") }
            return
        }
        if proof.isEmpty { throw AuditLogError.invalidProof("empty consistency proof") }

        var (inner, border) = decomposeInclusionProof(index: size1 - 1, size: size2)
        let shift = size1.trailingZeroBitCount
        inner -= shift
        // The proof starts with the root of the subtree of size 2^shift, unless size1 is that subtree.
        var seed = proof[0]
        var start = 1
        if size1 == UInt64(1) << UInt64(shift) { seed = root1; start = 0 }
        guard proof.count == start + inner + border else {
            throw AuditLogError.invalidProof("proof has \(proof.count) hashes, want \(start + inner + border)")
        }
        let rest = proof[start...]
        let innerPart = rest.prefix(inner)
        let borderPart = rest.dropFirst(inner)
        let mask = (size1 - 1) >> UInt64(shift)
        var hash1 = chainInnerRight(seed, innerPart, index: mask)
        hash1 = chainBorderRight(hash1, borderPart)
        guard hash1 == root1 else { throw AuditLogError.invalidProof("consistency proof does not lead to the first root") }
        var hash2 = chainInner(seed, innerPart, index: mask)
        hash2 = chainBorderRight(hash2, borderPart)
        guard hash2 == root2 else { throw AuditLogError.invalidProof("consistency proof does not lead to the second root") }
    }

    /// Splits an inclusion proof's length into the inner part (below the point where the paths to
    /// `index` and to `size - 1` meet) and the border part (left siblings above it).
    static func decomposeInclusionProof(index: UInt64, size: UInt64) -> (inner: Int, border: Int) {
        let inner = 64 - (index ^ (size - 1)).leadingZeroBitCount
        let border = (inner >= 64 ? 0 : index >> UInt64(inner)).nonzeroBitCount
        return (inner, border)
    }

    private static func chainInner(_ seed: Data, _ proof: ArraySlice<Data>, index: UInt64) -> Data {
        var s = seed
        for (i, h) in proof.enumerated() {
            s = (index >> UInt64(i)) & 1 == 0 ? nodeHash(s, h) : nodeHash(h, s)
        }
        return s
    }

    private static func chainInnerRight(_ seed: Data, _ proof: ArraySlice<Data>, index: UInt64) -> Data {
        var s = seed
        for (i, h) in proof.enumerated() where (index >> UInt64(i)) & 1 == 1 { s = nodeHash(h, s) }
        return s
    }

    private static func chainBorderRight(_ seed: Data, _ proof: ArraySlice<Data>) -> Data {
        var s = seed
        for h in proof { s = nodeHash(h, s) }
        return s
    }
}

/// The compact range [0, size): the roots of the perfect subtrees that make up the tree so far,
/// largest (leftmost) first — one per set bit of `size`. Appending a leaf merges equal-sized
/// subtrees, so it costs O(log n) hashes; the root folds them right to left. The hashes are kept
/// packed, 32 bytes each, exactly as stored in `audit_frontier.nodes`.
public struct CompactRange: Equatable, Sendable {
    public private(set) var size: UInt64
    /// The node hashes concatenated, as stored in `audit_frontier.nodes`.
    public private(set) var packedNodes: Data

    public init() { size = 0; packedNodes = Data() }

    /// Restores a range from its size and concatenated 32-byte node hashes (as stored).
    public init(size: UInt64, packedNodes: Data) throws {
        guard packedNodes.count == size.nonzeroBitCount * Merkle.hashSize else {
            throw AuditLogError.corruptFrontier(
                "size \(size) needs \(size.nonzeroBitCount) hashes but \(packedNodes.count) bytes are stored")
        }
        self.size = size
        self.packedNodes = Data(packedNodes)  // rebase indices at 0
    }

    /// The node hashes, largest subtree first.
    public var nodes: [Data] {
        stride(from: 0, to: packedNodes.count, by: Merkle.hashSize).map { node(at: $0 / Merkle.hashSize) }
    }

    private func node(at i: Int) -> Data {
        packedNodes.subdata(in: i * Merkle.hashSize..<(i + 1) * Merkle.hashSize)
    }

    public mutating func append(_ leafHash: Data) {
        var h = leafHash
        var s = size
        while s & 1 == 1 {
            let last = packedNodes.count - Merkle.hashSize
            h = Merkle.nodeHash(packedNodes.subdata(in: last..<packedNodes.count), h)
            packedNodes.removeSubrange(last...)
            s >>= 1
        }
        packedNodes.append(h)
        size += 1
    }

    /// MTH of the leaves so far.
    public func root() -> Data {
        let count = packedNodes.count / Merkle.hashSize
        guard count > 0 else { return Merkle.emptyRoot }
        var r = node(at: count - 1)
        for i in stride(from: count - 2, through: 0, by: -1) { r = Merkle.nodeHash(node(at: i), r) }
        return r
    }
}
