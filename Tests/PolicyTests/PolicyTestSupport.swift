import Foundation
import XCTest
@testable import Policy

/// The package root, found by walking up from this file to the folder holding Package.swift and
/// the shipped `Policies/` folder.
func packageRoot(file: StaticString = #filePath) -> URL {
    var url = URL(fileURLWithPath: "\(file)").deletingLastPathComponent()
    while url.path != "/" {
        let fm = FileManager.default
        if fm.fileExists(atPath: url.appendingPathComponent("Package.swift").path),
           fm.fileExists(atPath: url.appendingPathComponent("Policies/default.yaml").path) { return url }
        url.deleteLastPathComponent()
    }
    return URL(fileURLWithPath: "/work/main")
}

/// Parses `text` as a policy and returns the refusal, failing the test if it loads.
func policyError(_ text: String, source: String = "test.yaml",
                 file: StaticString = #filePath, line: UInt = #line) -> PolicyError? {
    do {
        _ = try AuditPolicy.parse(text, source: source)
        XCTFail("policy unexpectedly loaded", file: file, line: line)
        return nil
    } catch let error as PolicyError {
        return error
    } catch {
        XCTFail("unexpected error type \(type(of: error)): \(error)", file: file, line: line)
        return nil
    }
}
