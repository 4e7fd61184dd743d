import CaseStore
import Foundation
import Pipeline
import PipelineFixtures
import Policy
import XCTest

/// The real `audit serve` on 127.0.0.1 (a free port), driven by Debian's headless Chromium through
/// Selenium (`scripts/browser-e2e.py`): sign in, worklist, blind read, wait out a 3-second minimum set
/// by the run's policy, sign with the passphrase, see the manifestation; a script payload in a case id
/// stays inert; a POST without the CSRF token is refused. Then `audit review verify` must pass on the
/// signature made in the browser, and SIGTERM must stop the server cleanly.
final class BrowserEndToEndTests: XCTestCase {
    let passphrase = "correct horse battery"

    func requireBrowser() throws {
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        probe.arguments = ["python3", "-c", "import selenium, shutil, sys; sys.exit(0 if shutil.which('chromium') and shutil.which('chromedriver') else 1)"]
        probe.standardOutput = FileHandle.nullDevice
        probe.standardError = FileHandle.nullDevice
        try probe.run()
        probe.waitUntilExit()
        guard probe.terminationStatus == 0 else {
            let message = "needs chromium, chromium-driver (Debian) and selenium (PyPI); scripts/bootstrap test installs them"
            if ProcessInfo.processInfo.environment["CI"] == "true" { XCTFail(message) }
            throw XCTSkip(message)
        }
    }

    func testSignOffInHeadlessChromium() throws {
        try requireBrowser()
        let c = try PipelineFixture.copy()
        let store = try CaseStore(path: c.path)
        let strict = try ShippedPolicy.screeningStrict.load()
        let text = strict.text.replacingOccurrences(of: "min_seconds: 60", with: "min_seconds: 3")
        XCTAssertNotEqual(text, strict.text, "the test policy shortens the minimum review time")
        let policy = try AuditPolicy.parse(Data(text.utf8), source: "browser-test.yaml")
        XCTAssertTrue(policy.review.blindFirstRead)
        _ = try AuditRunJob(store: store, policy: policy, study: "lesion", selection: .split(.incoming), modelId: nil,
                            outDirectory: c.dir.appendingPathComponent("out"), runId: "browser-run", operatorId: "operator-1").execute()
        _ = try ReviewerRegistry(store: store, actor: "admin").add(
            id: "alice", name: "Dr Alice", role: "dermatologist", passphrase: passphrase,
            keyFile: ReviewerRegistry.defaultKeyFile(storePath: c.path, reviewerId: "alice", version: 1), cost: (n: 1 << 10, r: 8, p: 1))
        let item = try XCTUnwrap(try ReviewWorkflow(store: store).queue(reviewer: "alice").first)
        let readClass = item.disposition == "escalate" ? "malignant" : "benign"

        // The real executable, on a free loopback port it prints.
        let server = Process()
        server.executableURL = PipelineFixture.auditBinary
        server.arguments = ["serve", "--store", c.path, "--host", "127.0.0.1", "--port", "0"]
        let err = Pipe()
        server.standardError = err
        server.standardOutput = FileHandle.nullDevice
        let output = LockedText()
        err.fileHandleForReading.readabilityHandler = { h in output.append(String(decoding: h.availableData, as: UTF8.self)) }
        try server.run()
        defer { if server.isRunning { server.terminate() } }
        var base: String?
        for _ in 0..<300 where base == nil {   // at most 30 s
            if let r = output.text.range(of: #"http://127\.0\.0\.1:[0-9]+"#, options: .regularExpression) { base = String(output.text[r]) }
            else { Thread.sleep(forTimeInterval: 0.1) }
        }
        let url = try XCTUnwrap(base, "audit serve printed no address: \(output.text)")

        let shots = c.dir.appendingPathComponent("screenshots")
        let e2e = Process()
        e2e.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        e2e.arguments = ["python3", PipelineFixture.packageRoot.appendingPathComponent("scripts/browser-e2e.py").path,
                         "--base", url, "--reviewer", "alice", "--passphrase", passphrase, "--run", "browser-run",
                         "--case", item.caseId, "--read-class", readClass, "--min-seconds", "3", "--screenshots", shots.path]
        let out = Pipe()
        e2e.standardOutput = out
        e2e.standardError = FileHandle.nullDevice
        try e2e.run()
        let result = out.fileHandleForReading.readDataToEndOfFile()
        e2e.waitUntilExit()
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: result) as? [String: Any], String(decoding: result, as: UTF8.self))
        let checks = try XCTUnwrap(json["checks"] as? [String: [String: Any]])
        for (name, check) in checks.sorted(by: { $0.key < $1.key }) {
            XCTAssertEqual(check["ok"] as? Bool, true, "\(name): \(check["detail"] ?? "")")
        }
        XCTAssertGreaterThanOrEqual(checks.count, 12, "every check ran: \(checks.keys.sorted())")
        XCTAssertEqual((json["screenshots"] as? [String])?.count ?? 0, 9, "a screenshot of each page")
        if let keep = ProcessInfo.processInfo.environment["COUNTERSIGN_SCREENSHOTS_OUT"] {
            try? FileManager.default.removeItem(atPath: keep)
            try FileManager.default.copyItem(at: shots, to: URL(fileURLWithPath: keep))
        }

        // Graceful shutdown on SIGTERM, then the browser's signature verifies like a CLI one.
        server.terminate()
        server.waitUntilExit()
        XCTAssertEqual(server.terminationStatus, 0, "audit serve stops cleanly on SIGTERM: \(output.text.suffix(500))")
        XCTAssertTrue(output.text.contains("/sign-in"), "the access log is on stderr")
        let verify = try ReviewWorkflow(store: try CaseStore(path: c.path)).verify(caseId: item.caseId)
        XCTAssertEqual(verify.count, 1)
        XCTAssertTrue(verify.allSatisfy(\.ok), "\(verify)")
        XCTAssertNoThrow(try PipelineFixture.audit(["review", "verify", item.caseId, "--store", c.path], in: c.dir))
    }
}

/// Text appended from a pipe's handler thread and read from the test's.
final class LockedText: @unchecked Sendable {
    private let lock = NSLock()
    private var buffer = ""
    func append(_ s: String) { lock.lock(); buffer += s; lock.unlock() }
    var text: String { lock.lock(); defer { lock.unlock() }; return buffer }
}
