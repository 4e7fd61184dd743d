import Foundation
import GRDB
import XCTest
@_spi(Storage) @testable import CaseStore

/// Seeded random corruption of small valid files: whatever the bytes, an import either succeeds or
/// throws an error (never traps), and a refused import leaves the store as it was.
final class MutatedInputTests: XCTestCase {
    private struct LCG {
        var state: UInt64
        mutating func next(_ n: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(n))
        }
    }

    func testRandomlyCorruptedFilesNeverTrapAndNeverHalfImport() throws {
        let seeds: [(String, String)] = [
            ("m.tsv", "1\t0.5\t-1.25\t3e2\n-1\t1\t2\t3\n1\tNaN\t2\t4\n"),
            ("m.ts", "@problemName m\n@missing true\n@equalLength false\n@classLabel true 1 -1\n@data\n1,2,?:3,4,5:1\n1:2:-1\n"),
            ("m.csv", "case_id,scan,t,a,b,label\nc1,0,0,1,2,1\nc1,0,1,3,,1\nc1,1,0,5,6,1\nc2,0,0,7,8,-1\n"),
        ]
        let alphabet = Array("0123456789.,:\t\n-+eE?@#\"x NaN".utf8) + [0xC3, 0xFF, 0x00]
        var rng = LCG(state: 20_261_128)
        let scratch = try Scratch()
        let store = try CaseStore.inMemory()
        try store.changeUnlogged { db in try Study(name: "m", classes: ["-1", "1"], channels: ["a", "b"]).insert(db.database) }
        var accepted = 0, refused = 0
        for i in 0..<600 {
            let (name, text) = seeds[i % seeds.count]
            var bytes = Array(text.utf8)
            for _ in 0..<(1 + rng.next(4)) {
                switch rng.next(3) {
                case 0 where !bytes.isEmpty: bytes[rng.next(bytes.count)] = alphabet[rng.next(alphabet.count)]
                case 1: bytes.insert(alphabet[rng.next(alphabet.count)], at: rng.next(bytes.count + 1))
                default: if !bytes.isEmpty { bytes.remove(at: rng.next(bytes.count)) }
                }
            }
            let path = try scratch.write("\(i)-\(name)", Data(bytes))
            let study = rng.next(2) == 0 ? "m" : "fresh\(i)"
            let before = try store.dump()
            do {
                _ = try store.importFile(path, study: study, split: .test)
                accepted += 1
            } catch is ImportError {
                refused += 1
                XCTAssertEqual(try store.dump(), before, "refused import \(i) changed the store")
            } catch let e as DatabaseError {
                XCTFail("import \(i) reached SQLite with bad data instead of an ImportError: \(e)")
            }
        }
        XCTAssertGreaterThan(accepted, 20); XCTAssertGreaterThan(refused, 100)
    }
}
