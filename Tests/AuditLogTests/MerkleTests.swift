import Foundation
import XCTest
@_spi(Storage) @testable import AuditLog

/// RFC 9162 tree: reference roots, proof building against a naive recursive definition, and the
/// transparency-dev/merkle probe vectors in `../shared/vectors/merkle`.
final class MerkleTests: XCTestCase {
    static let referenceLeaves = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                                  "606162636465666768696a6b6c6d6e6f"]
    static let referenceRoots = [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ]

    /// MTH straight from RFC 9162 §2.1.1, recursively.
    static func naiveRoot(_ leaves: ArraySlice<Data>) -> Data {
        if leaves.isEmpty { return Merkle.emptyRoot }
        if leaves.count == 1 { return leaves[leaves.startIndex] }
        var k = 1
        while k * 2 < leaves.count { k *= 2 }
        let lo = leaves.startIndex
        return Merkle.nodeHash(naiveRoot(leaves[lo..<lo + k]), naiveRoot(leaves[(lo + k)...]))
    }

    static func leafHashes(_ n: Int) -> [Data] {
        (0..<n).map { Merkle.leafHash(Array("leaf \($0)".utf8)) }
    }

    func testReferenceRoots() throws {
        let leaves = Self.referenceLeaves.map { Merkle.leafHash(Hex.data($0)!) }
        for n in 0...8 {
            XCTAssertEqual(Hex.string(Merkle.root(leafHashes: leaves.prefix(n))), Self.referenceRoots[n], "n = \(n)")
        }
    }

    func testCompactRangeMatchesRecursiveRootAndRoundTrips() throws {
        let leaves = Self.leafHashes(300)
        var range = CompactRange()
        for n in 0...300 {
            XCTAssertEqual(range.root(), Self.naiveRoot(leaves[0..<n]), "n = \(n)")
            XCTAssertEqual(range.nodes.count, n.nonzeroBitCount)
            XCTAssertEqual(try CompactRange(size: range.size, packedNodes: range.packedNodes), range)
            if n < 300 { range.append(leaves[n]) }
        }
        XCTAssertThrowsError(try CompactRange(size: 3, packedNodes: Data(count: 32)))
    }

    func testInclusionProofsBuildAndVerifyForEveryLeaf() throws {
        let leaves = Self.leafHashes(70)
        for n in 1...70 {
            let tree = Array(leaves.prefix(n))
            let root = Self.naiveRoot(tree[...])
            for i in 0..<n {
                let proof = try Merkle.inclusionProof(index: i, leafHashes: tree)
                XCTAssertNoThrow(try Merkle.verifyInclusion(index: UInt64(i), size: UInt64(n), leafHash: leaves[i], proof: proof, root: root))
                // A wrong leaf, index or root is refused.
                XCTAssertThrowsError(try Merkle.verifyInclusion(index: UInt64(i), size: UInt64(n), leafHash: leaves[(i + 1) % 70], proof: proof, root: root))
                if n > 1 {
                    XCTAssertThrowsError(try Merkle.verifyInclusion(index: UInt64((i + 1) % n), size: UInt64(n), leafHash: leaves[i], proof: proof, root: root))
                }
            }
        }
        XCTAssertThrowsError(try Merkle.inclusionProof(index: 5, leafHashes: Array(leaves.prefix(5))))
    }

    func testConsistencyProofsBuildAndVerify() throws {
        let leaves = Self.leafHashes(40)
        for n in 1...40 {
            let tree = Array(leaves.prefix(n))
            let root2 = Self.naiveRoot(tree[...])
            for m in 1...n {
                let root1 = Self.naiveRoot(tree[0..<m])
                let proof = try Merkle.consistencyProof(oldSize: m, leafHashes: tree)
                XCTAssertNoThrow(try Merkle.verifyConsistency(size1: UInt64(m), size2: UInt64(n), root1: root1, root2: root2, proof: proof), "\(m) → \(n)")
                if m < n {
                    // Another old root (a rewritten prefix) is refused.
                    let forged = Self.naiveRoot((tree[0..<m - 1] + [Merkle.leafHash([0xFF])])[...])
                    XCTAssertThrowsError(try Merkle.verifyConsistency(size1: UInt64(m), size2: UInt64(n), root1: forged, root2: root2, proof: proof))
                }
            }
        }
        XCTAssertThrowsError(try Merkle.consistencyProof(oldSize: 0, leafHashes: leaves))
    }

    // MARK: - transparency-dev/merkle probe vectors

    static var vectorsDirectory: URL {
        URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("../shared/vectors/merkle").standardizedFileURL
    }

    func vectorFiles(_ kind: String) throws -> [URL] {
        let dir = Self.vectorsDirectory.appendingPathComponent(kind)
        guard FileManager.default.fileExists(atPath: dir.path) else {
            let message = "Merkle vectors not found at \(dir.path)"
            if ProcessInfo.processInfo.environment["CI"] == "true" { XCTFail(message); return [] }
            throw XCTSkip(message)
        }
        let enumerator = FileManager.default.enumerator(at: dir, includingPropertiesForKeys: nil)
        var files: [URL] = []
        while let url = enumerator?.nextObject() as? URL {
            if url.pathExtension == "json" { files.append(url) }
        }
        return files.sorted { $0.path < $1.path }
    }

    static func bytes(_ any: Any?, _ file: URL, _ field: String) throws -> Data {
        guard let s = any as? String, let d = Data(base64Encoded: s) else {
            throw AuditLogError.invalidProof("\(file.lastPathComponent): field \(field) is not base64")
        }
        return d
    }

    static func proof(_ any: Any?, _ file: URL) throws -> [Data] {
        guard let list = any as? [String] else { return [] }  // null proof = no hashes
        return try list.map { try bytes($0, file, "proof") }
    }

    func testInclusionVectors() throws {
        let files = try vectorFiles("inclusion")
        XCTAssertEqual(files.count, 98)
        var accepted = 0
        for file in files {
            let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any], file.path)
            let index = try XCTUnwrap((obj["leafIdx"] as? NSNumber)?.int64Value)
            let size = try XCTUnwrap((obj["treeSize"] as? NSNumber)?.int64Value)
            let wantErr = try XCTUnwrap(obj["wantErr"] as? Bool)
            let root = try Self.bytes(obj["root"], file, "root")
            let leaf = (obj["leafHash"] as? String).flatMap { Data(base64Encoded: $0) } ?? Data()
            let proof = try Self.proof(obj["proof"], file)
            let ok: Bool
            if index < 0 || size < 0 {
                ok = false
            } else {
                ok = (try? Merkle.verifyInclusion(index: UInt64(index), size: UInt64(size), leafHash: leaf, proof: proof, root: root)) != nil
            }
            XCTAssertEqual(ok, !wantErr, "\(file.path): \(obj["desc"] ?? "")")
            if ok { accepted += 1 }
        }
        XCTAssertGreaterThan(accepted, 0)
    }

    func testConsistencyVectors() throws {
        let files = try vectorFiles("consistency")
        XCTAssertEqual(files.count, 98)
        var accepted = 0
        for file in files {
            let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any], file.path)
            let size1 = try XCTUnwrap((obj["size1"] as? NSNumber)?.int64Value)
            let size2 = try XCTUnwrap((obj["size2"] as? NSNumber)?.int64Value)
            let wantErr = try XCTUnwrap(obj["wantErr"] as? Bool)
            let root1 = try Self.bytes(obj["root1"], file, "root1")
            let root2 = try Self.bytes(obj["root2"], file, "root2")
            let proof = try Self.proof(obj["proof"], file)
            let ok: Bool
            if size1 < 0 || size2 < 0 {
                ok = false
            } else {
                ok = (try? Merkle.verifyConsistency(size1: UInt64(size1), size2: UInt64(size2), root1: root1, root2: root2, proof: proof)) != nil
            }
            XCTAssertEqual(ok, !wantErr, "\(file.path): \(obj["desc"] ?? "")")
            if ok { accepted += 1 }
        }
        XCTAssertGreaterThan(accepted, 0)
    }
}
