import Crypto
import Foundation
import XCTest
@testable import Review

final class SignOffTests: XCTestCase {
    let cheap = (n: 1 << 10, r: 8, p: 1)

    func testKeyFileRoundTripAndWrongPassphrase() throws {
        let (file, pub) = try ReviewerKeyFile.create(reviewerId: "dr-a", keyVersion: 1, passphrase: "correct horse", cost: cheap)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("key-\(UUID()).json")
        try file.write(to: url)
        let perms = try FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? Int
        XCTAssertEqual(perms, 0o600)
        let back = try ReviewerKeyFile.read(from: url)
        XCTAssertEqual(try back.unlock(passphrase: "correct horse").publicKey.rawRepresentation, pub)
        XCTAssertThrowsError(try back.unlock(passphrase: "wrong horse")) {
            XCTAssertEqual($0 as? ReviewError, .wrongPassphrase("dr-a"))
        }
        // The sealed key is bound to the reviewer id: relabelling the file breaks it.
        var relabelled = back
        relabelled.reviewerId = "dr-b"
        XCTAssertThrowsError(try relabelled.unlock(passphrase: "correct horse"))
        XCTAssertThrowsError(try ReviewerKeyFile.create(reviewerId: "x", keyVersion: 1, passphrase: "short"))
    }

    func testDefaultCostIsMemoryHard() throws {
        // 2^15 · 8 · 128 bytes = 32 MiB per derivation.
        XCTAssertGreaterThanOrEqual(ReviewerKeyFile.defaultCost.n * ReviewerKeyFile.defaultCost.r * 128, 32 << 20)
        let (file, _) = try ReviewerKeyFile.create(reviewerId: "dr-a", keyVersion: 1, passphrase: "correct horse")
        XCTAssertNoThrow(try file.unlock(passphrase: "correct horse"))
    }

    private func record(case c: String = "c1", run: String = "r1", report: Data, reviewer: String = "dr-a") -> SignOff {
        SignOff(caseId: c, runId: run, reportSha256: sha(report), reportVersion: 1, decision: .agree,
                decidedClass: "benign", modelClass: "benign", meaning: .review, reasonCode: "concordant", note: "",
                reviewerId: reviewer, printedName: "Dr A. Example", keyVersion: 1,
                signedAt: "2026-11-28T10:00:00.000Z", reviewSeconds: 61.25, blindReadClass: nil)
    }

    private func sha(_ d: Data) -> String { SHA256.hash(data: d).map { String(format: "%02x", $0) }.joined() }

    func testSignatureVerifiesAndTamperingIsDetected() throws {
        let key = Curve25519.Signing.PrivateKey()
        let other = Curve25519.Signing.PrivateKey()
        let report = Data("<html>report v1</html>".utf8)
        let (bytes, sig) = try record(report: report).sign(with: key)
        let pub = key.publicKey.rawRepresentation

        XCTAssertEqual(SignOffVerifier.verify(record: bytes, signature: sig, storedCase: "c1", storedRun: "r1",
                                              storedReviewer: "dr-a", publicKey: pub, reportBytes: { _ in report }), [])
        // Replayed on another case or run.
        XCTAssertTrue(SignOffVerifier.verify(record: bytes, signature: sig, storedCase: "c2", storedRun: "r1",
                                             storedReviewer: "dr-a", publicKey: pub, reportBytes: { _ in report })
            .contains(.wrongCase(expected: "c2", found: "c1")))
        XCTAssertTrue(SignOffVerifier.verify(record: bytes, signature: sig, storedCase: "c1", storedRun: "r2",
                                             storedReviewer: "dr-a", publicKey: pub, reportBytes: { _ in report })
            .contains(.wrongRun(expected: "r2", found: "r1")))
        // Report edited after signing.
        let edited = Data("<html>report v1 (edited)</html>".utf8)
        let problems = SignOffVerifier.verify(record: bytes, signature: sig, storedCase: "c1", storedRun: "r1",
                                              storedReviewer: "dr-a", publicKey: pub, reportBytes: { _ in edited })
        XCTAssertEqual(problems.count, 1)
        if case .reportChanged = problems.first {} else { XCTFail("expected reportChanged, got \(problems)") }
        // Signed with another reviewer's key.
        let (_, forged) = try record(report: report).sign(with: other)
        XCTAssertEqual(SignOffVerifier.verify(record: bytes, signature: forged, storedCase: "c1", storedRun: "r1",
                                              storedReviewer: "dr-a", publicKey: pub, reportBytes: { _ in report }),
                       [.badSignature])
        // Record bytes edited (decision flipped) under the original signature.
        var text = String(decoding: bytes, as: UTF8.self)
        text = text.replacingOccurrences(of: "\"agree\"", with: "\"override\"")
        XCTAssertTrue(SignOffVerifier.verify(record: Data(text.utf8), signature: sig, storedCase: "c1", storedRun: "r1",
                                             storedReviewer: "dr-a", publicKey: pub, reportBytes: { _ in report })
            .contains(.badSignature))
        XCTAssertEqual(SignOffVerifier.verify(record: bytes, signature: sig, storedCase: "c1", storedRun: "r1",
                                              storedReviewer: "dr-a", publicKey: nil, reportBytes: { _ in report }),
                       [.keyUnknown(reviewer: "dr-a", version: 1)])
    }

    func testCanonicalBytesAreStableAndSorted() throws {
        let r = record(report: Data("x".utf8))
        let a = try r.canonicalBytes(), b = try r.canonicalBytes()
        XCTAssertEqual(a, b)
        let text = String(decoding: a, as: UTF8.self)
        XCTAssertFalse(text.contains(" :") || text.contains("\n"))
        let keys = try XCTUnwrap(JSONSerialization.jsonObject(with: a) as? [String: Any]).keys.sorted()
        let order = keys.map { text.range(of: "\"\($0)\":")!.lowerBound }
        XCTAssertEqual(order, order.sorted(), "keys must appear in sorted order")
    }
}
