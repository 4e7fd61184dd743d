import Foundation
import XCTest
@testable import Policy

final class ShippedPoliciesTests: XCTestCase {
    func testEmbeddedCopiesEqualPolicyFilesByteForByte() throws {
        let folder = packageRoot().appendingPathComponent("Policies")
        for shipped in ShippedPolicy.allCases {
            let url = folder.appendingPathComponent(shipped.fileName)
            let fileBytes = try Data(contentsOf: url)
            XCTAssertEqual(Data(shipped.text.utf8), fileBytes,
                           "\(shipped.fileName) differs from its embedded copy; run python3 Policies/embed-shipped-policies.py")
        }
        let yamlFiles = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".yaml") }
        XCTAssertEqual(Set(yamlFiles), Set(ShippedPolicy.allCases.map(\.fileName)), "every shipped file is embedded")
    }

    func testShippedFilesLoadAndHashEqualsEmbedded() throws {
        let folder = packageRoot().appendingPathComponent("Policies")
        for shipped in ShippedPolicy.allCases {
            let fromFile = try AuditPolicy.load(contentsOf: folder.appendingPathComponent(shipped.fileName))
            let embedded = try shipped.load()
            XCTAssertEqual(fromFile.name, shipped.rawValue)
            XCTAssertEqual(fromFile.sha256, embedded.sha256)
            XCTAssertEqual(embedded.source, "embedded:\(shipped.fileName)")
            var relabelled = embedded
            relabelled.source = fromFile.source
            XCTAssertEqual(fromFile, relabelled)
        }
    }

    func testShippedPoliciesSayWhatTheyPromise() throws {
        let strict = try AuditPolicy.shipped("screening-strict")
        XCTAssertTrue(strict.review.blindFirstRead)
        XCTAssertEqual(strict.review.secondReviewerForClasses, ["malignant"])
        XCTAssertEqual(strict.dangerousClasses, ["malignant"])
        let research = try AuditPolicy.shipped("research")
        XCTAssertFalse(research.reportWithoutReview.allowed)
        XCTAssertThrowsError(try AuditPolicy.shipped("lenient"))
    }
}
