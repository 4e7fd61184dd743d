import Foundation
import XCTest
import Recurrent

final class SafeTensorsTests: XCTestCase {
    func fixtureBytes(_ name: String = "parity_gru_l2_bi") throws -> [UInt8] {
        [UInt8](try Data(contentsOf: try ParityTests.fixture(name, "safetensors")))
    }

    func testRoundTripIsByteStableAndPreservesTheModel() throws {
        let model = try SequenceClassifier(safetensors: try fixtureBytes())
        XCTAssertEqual(model.provenance["countersign.source"], "scripts/torch_reference.py")
        let bytes = try model.serializedBytes()
        let again = try SequenceClassifier(safetensors: bytes)
        XCTAssertEqual(again, model)
        XCTAssertEqual(try again.serializedBytes(), bytes)
        let id = try model.modelID()
        XCTAssertEqual(id.count, 64)
        XCTAssertEqual(id, SequenceClassifier.modelID(of: bytes))
        XCTAssertTrue(id.allSatisfy { "0123456789abcdef".contains($0) })
    }

    func testSHA256MatchesAKnownVector() {
        XCTAssertEqual(SequenceClassifier.modelID(of: Array("abc".utf8)),
                       "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    /// Rewrites the JSON header of a safetensors file (keeping the data section).
    func rewriteHeader(_ bytes: [UInt8], _ edit: (inout [String: Any]) -> Void) throws -> [UInt8] {
        var n = 0
        for k in 0..<8 { n |= Int(bytes[k]) << (8 * k) }
        var header = try JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + n)])) as! [String: Any]
        edit(&header)
        var json = [UInt8](try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]))
        while json.count % 8 != 0 { json.append(0x20) }
        var out = (0..<8).map { UInt8((json.count >> (8 * $0)) & 0xFF) }
        out += json
        out += bytes[(8 + n)...]
        return out
    }

    func assertRejected(_ bytes: [UInt8], mentioning phrase: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try SequenceClassifier(safetensors: bytes, file: "bad.safetensors"), file: file, line: line) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("bad.safetensors"), text, file: file, line: line)
            XCTAssertTrue(text.contains(phrase), "expected “\(phrase)” in: \(text)", file: file, line: line)
        }
    }

    func testMalformedFilesAreRejectedClearly() throws {
        let good = try fixtureBytes()
        assertRejected(Array(good[0..<5]), mentioning: "truncated")
        assertRejected(Array(good[0..<(good.count - 3)]), mentioning: "truncated")
        var lying = good
        lying[0] = 0xFF; lying[1] = 0xFF; lying[2] = 0xFF
        assertRejected(lying, mentioning: "header length")
        var shortHeader = good
        shortHeader[0] = shortHeader[0] &- 9
        assertRejected(shortHeader, mentioning: "JSON")
        assertRejected(try rewriteHeader(good) { h in
            var t = h["rnn.weight_hh_l0"] as! [String: Any]; t["dtype"] = "F16"; h["rnn.weight_hh_l0"] = t
        }, mentioning: "dtype F16")
        assertRejected(try rewriteHeader(good) { h in
            var t = h["head.bias"] as! [String: Any]; t["shape"] = [1, 3]; h["head.bias"] = t
        }, mentioning: "head.bias has shape [1, 3]")
        assertRejected(try rewriteHeader(good) { h in h["rnn.bias_ih_l1_reverse"] = nil },
                       mentioning: "rnn.bias_ih_l1_reverse is missing")
        assertRejected(try rewriteHeader(good) { h in
            var m = h["__metadata__"] as! [String: String]; m["countersign.hidden_size"] = "6"; h["__metadata__"] = m
        }, mentioning: "rnn.weight_ih_l0 has shape [15, 3], expected [18, 3]")
        assertRejected(try rewriteHeader(good) { h in
            var m = h["__metadata__"] as! [String: String]; m["countersign.arch"] = nil; h["__metadata__"] = m
        }, mentioning: "countersign.arch is missing")
        assertRejected(try rewriteHeader(good) { h in
            var m = h["__metadata__"] as! [String: String]; m["countersign.feature_std"] = "[1, 0, 1]"; h["__metadata__"] = m
        }, mentioning: "feature_std[1]")
        // A NaN weight: overwrite the first element of head.bias in the data section.
        var n = 0
        for k in 0..<8 { n |= Int(good[k]) << (8 * k) }
        let header = try JSONSerialization.jsonObject(with: Data(good[8..<(8 + n)])) as! [String: Any]
        let begin = ((header["head.bias"] as! [String: Any])["data_offsets"] as! [Int])[0]
        var nan = good
        let bits = Float.nan.bitPattern
        for k in 0..<4 { nan[8 + n + begin + k] = UInt8((bits >> (8 * UInt32(k))) & 0xFF) }
        assertRejected(nan, mentioning: "head.bias element 0 is nan")
    }
}

final class FramingTests: XCTestCase {
    /// A model reading two raw steps per frame equals the plain network on the framed sequence,
    /// padded by repeating the last step; the setting survives the file round trip.
    func testStepsPerFrameIsAFramedPlainNetwork() throws {
        let arch = RecurrentConfiguration(cell: .lstm, inputSize: 2, hiddenSize: 3, classCount: 2)
        let net = try RecurrentNetwork(configuration: arch, seed: 3)
        let framed = try SequenceClassifier(network: net, classes: ["a", "b"], normalization: .identity(width: 2),
                                            stepsPerFrame: 2)
        let plain = try SequenceClassifier(network: net, classes: ["a", "b"], normalization: .identity(width: 2))
        XCTAssertEqual(try framed.logits(for: [1, 2, 3]), try plain.logits(for: [1, 2, 3, 3]))
        let back = try SequenceClassifier(safetensors: try framed.serializedBytes())
        XCTAssertEqual(back.stepsPerFrame, 2)
        XCTAssertEqual(back.metadata["countersign.steps_per_frame"], "2")
        XCTAssertEqual(try back.logits(for: [1, 2, 3]), try plain.logits(for: [1, 2, 3, 3]))
        XCTAssertThrowsError(try SequenceClassifier(network: net, classes: ["a", "b"], normalization: .identity(width: 2),
                                                    stepsPerFrame: 3))
    }
}
