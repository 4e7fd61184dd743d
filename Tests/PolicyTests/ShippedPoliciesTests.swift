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

final class PolicyReadmeTests: XCTestCase {
    /// The error examples in Policies/README.md are real: breaking default.yaml as described yields
    /// exactly those messages.
    func testReadmeErrorExamplesAreWhatTheLoaderSays() throws {
        let root = packageRoot()
        let text = try String(contentsOf: root.appendingPathComponent("Policies/default.yaml"), encoding: .utf8)
        let readme = try String(contentsOf: root.appendingPathComponent("Policies/README.md"), encoding: .utf8)
        let broken = [
            text.replacingOccurrences(of: "  min_confidence: 0.95", with: "  min_confidense: 0.95"),
            text.replacingOccurrences(of: "  alpha: 0.1\n", with: "  alpha: 0.7\n"),
        ]
        for variant in broken {
            XCTAssertNotEqual(variant, text)
            let error = try XCTUnwrap(policyError(variant, source: "Policies/default.yaml"))
            XCTAssertTrue(readme.contains(error.description), "README does not show: \(error.description)")
        }
    }

    /// Every key the loader accepts is documented in the README key tables.
    func testEveryKeyIsDocumented() throws {
        let readme = try String(contentsOf: packageRoot().appendingPathComponent("Policies/README.md"), encoding: .utf8)
        let sections = AuditPolicy.sectionKeys.filter { $0.key != "applies_to" }
        for key in AuditPolicy.topLevelKeys where sections[key] == nil {
            XCTAssertTrue(readme.contains("| `\(key)` |") || readme.contains("| `\(key).classes` |"), key)
        }
        for (section, keys) in sections {
            XCTAssertTrue(readme.contains("### `\(section)`"), section)
            for key in keys { XCTAssertTrue(readme.contains("| `\(key)` |"), "\(section).\(key)") }
        }
        for id in CheckID.allCases { XCTAssertTrue(readme.contains("`\(id.rawValue)`"), id.rawValue) }
    }
}
