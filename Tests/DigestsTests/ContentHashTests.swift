import Digests
import Foundation
import XCTest

/// SHA-256 against the FIPS 180-2 / NIST CSHS test vectors, and the hex spelling every hash shares.
final class ContentHashTests: XCTestCase {
    func testFIPSVectors() {
        XCTAssertEqual(ContentHash.sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(ContentHash.sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(ContentHash.sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    func testStreamingEqualsOneShot() {
        // One million 'a' (the FIPS long-message vector), fed in uneven pieces.
        let message = Data(repeating: UInt8(ascii: "a"), count: 1_000_000)
        var hasher = ContentHash.Hasher()
        var offset = 0, step = 1
        while offset < message.count {
            let end = min(offset + step, message.count)
            hasher.update(message[offset..<end])
            offset = end; step = step * 3 + 1
        }
        let streamed = hasher.finalize()
        XCTAssertEqual(streamed, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        XCTAssertEqual(streamed, ContentHash.sha256Hex(message))
    }

    func testHexIsLowerCaseTwoDigitsPerByte() {
        XCTAssertEqual(ContentHash.hex([0x00, 0x0a, 0xff, 0x10]), "000aff10")
        XCTAssertEqual(ContentHash.hex([UInt8]()), "")
    }
}
