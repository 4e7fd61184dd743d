import Foundation
import XCTest
@testable import Reports

/// Loads generated reports — the samples and every hostile-payload variant — in headless Chromium via
/// `scripts/browser-check`: no script may run, no request may leave the page, and a screenshot is saved
/// for a person to look at. Skips visibly without Chromium, except in CI (`CI=true`), where it fails.
final class BrowserCheckTests: XCTestCase {
    func testReportsAreInertInARealBrowser() throws {
        let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let chromium else {
            if ProcessInfo.processInfo.environment["CI"] == "true" { XCTFail("chromium is not installed; .ci/run installs it"); return }
            throw XCTSkip("chromium not installed: the browser check of the reports did not run")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("countersign-browser-check-\(UUID().uuidString)")
        try SampleReportsWriter.writeSamples(to: dir)
        let shots = dir.appendingPathComponent("screenshots")
        let script = ReportFixtures.packageRoot.appendingPathComponent("scripts/browser-check")

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [script.path, dir.path, "--screenshots", shots.path]
        process.environment = ProcessInfo.processInfo.environment.merging(["CHROMIUM": chromium]) { $1 }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "browser-check found a violation or could not run:\n\(text)")
        let pngs = (try? FileManager.default.contentsOfDirectory(atPath: shots.path))?.filter { $0.hasSuffix(".png") } ?? []
        XCTAssertFalse(pngs.isEmpty, "no screenshot was saved:\n\(text)")
        print("browser-check screenshots: \(shots.path)")
    }
}
