import Foundation

/// FIPS 180-4 SHA-256, streaming. CaseStore depends only on GRDB, so the import provenance hash
/// (the file's SHA-256, comparable with `sha256sum`) is computed here.
struct SHA256Hasher {
    private var h: [UInt32] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                               0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]
    private var pending: [UInt8] = []
    private var totalBytes: UInt64 = 0

    private static let k: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]

    mutating func update<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        totalBytes &+= UInt64(bytes.count)
        pending.append(contentsOf: bytes)
        let blocks = pending.count / 64
        guard blocks > 0 else { return }
        var state = h
        pending.withUnsafeBufferPointer { buf in
            state.withUnsafeMutableBufferPointer { hp in
                SHA256Hasher.k.withUnsafeBufferPointer { kp in
                    for b in 0..<blocks { SHA256Hasher.compress(buf.baseAddress! + b * 64, hp.baseAddress!, kp.baseAddress!) }
                }
            }
        }
        h = state
        pending.removeFirst(blocks * 64)
    }

    /// One 64-byte block. Raw pointers and hand-inlined rotations: this module is built without
    /// optimisation in debug, and hashing runs over every byte imported.
    private static func compress(_ p: UnsafePointer<UInt8>, _ h: UnsafeMutablePointer<UInt32>, _ k: UnsafePointer<UInt32>) {
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { wb in
            let w = wb.baseAddress!
            for i in 0..<16 {
                let j = i &* 4
                w[i] = UInt32(p[j]) << 24 | UInt32(p[j &+ 1]) << 16 | UInt32(p[j &+ 2]) << 8 | UInt32(p[j &+ 3])
            }
            for i in 16..<64 {
                let a = w[i &- 15], b = w[i &- 2]
                let s0 = ((a >> 7) | (a << 25)) ^ ((a >> 18) | (a << 14)) ^ (a >> 3)
                let s1 = ((b >> 17) | (b << 15)) ^ ((b >> 19) | (b << 13)) ^ (b >> 10)
                w[i] = w[i &- 16] &+ s0 &+ w[i &- 7] &+ s1
            }
            var a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7]
            for i in 0..<64 {
                let s1 = ((e >> 6) | (e << 26)) ^ ((e >> 11) | (e << 21)) ^ ((e >> 25) | (e << 7))
                let ch = (e & f) ^ (~e & g)
                let t1 = hh &+ s1 &+ ch &+ k[i] &+ w[i]
                let s0 = ((a >> 2) | (a << 30)) ^ ((a >> 13) | (a << 19)) ^ ((a >> 22) | (a << 10))
                let maj = (a & b) ^ (a & c) ^ (b & c)
                hh = g; g = f; f = e; e = d &+ t1; d = c; c = b; b = a; a = t1 &+ s0 &+ maj
            }
            h[0] &+= a; h[1] &+= b; h[2] &+= c; h[3] &+= d; h[4] &+= e; h[5] &+= f; h[6] &+= g; h[7] &+= hh
        }
    }

    /// Lower-case hex digest; the hasher is consumed.
    mutating func finalize() -> String {
        let bitLength = totalBytes &* 8
        var tail: [UInt8] = [0x80]
        while (pending.count + tail.count) % 64 != 56 { tail.append(0) }
        for i in (0..<8).reversed() { tail.append(UInt8(truncatingIfNeeded: bitLength >> (UInt64(i) * 8))) }
        let saved = totalBytes
        update(tail)
        totalBytes = saved
        return h.map { String(format: "%08x", $0) }.joined()
    }

    static func hex<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        var hasher = SHA256Hasher(); hasher.update(bytes); return hasher.finalize()
    }
}

/// Content hashes for provenance (files imported, generated cohorts).
public enum ContentHash {
    /// SHA-256 of `data` as lower-case hex.
    public static func sha256Hex(_ data: Data) -> String { SHA256Hasher.hex(data) }
}
