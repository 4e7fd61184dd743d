import Foundation
import XCTest

/// The sign-off commands as a clinician scripts them: passphrase from a pipe (`--passphrase-fd 0`,
/// default scrypt cost), refusals with exit 65/66 and the store unchanged, verification exit 1 on tampering.
final class ReviewCLITests: XCTestCase {
    func testReviewCommands() throws {
        try CLI.requireBinary()
        try CLI.require("/usr/bin/sqlite3", "sqlite3")
        let dir = try CLI.tempDir("review")
        try CLI.buildStore("s.sqlite", in: dir, cases: 200)
        // Default policy except no minimum review time, so a script can sign at once.
        let policy = try String(contentsOf: CLI.packageRoot.appendingPathComponent("Policies/default.yaml"), encoding: .utf8)
        let quick = policy.replacingOccurrences(of: #"min_seconds: \d+"#, with: "min_seconds: 0", options: .regularExpression)
        XCTAssertNotEqual(quick, policy, "Policies/default.yaml has no review.min_seconds")
        try quick.write(to: dir.appendingPathComponent("quick.yaml"), atomically: true, encoding: .utf8)
        try CLI.ok(["run", "--store", "s.sqlite", "--study", "lesion", "--split", "incoming", "--run-id", "r1", "--operator", "op",
                    "--policy", "quick.yaml", "--quiet"], in: dir)

        let secret = "a long enough passphrase"
        try CLI.ok(["reviewer", "add", "--store", "s.sqlite", "--id", "alice", "--name", "Alice Example", "--role", "dermatologist",
                    "--passphrase-fd", "0", "--actor", "admin"], in: dir, passphrase: secret)
        try CLI.ok(["reviewer", "add", "--store", "s.sqlite", "--id", "op", "--name", "Op Erator", "--role", "technician",
                    "--passphrase-fd", "0", "--actor", "admin"], in: dir, passphrase: secret)
        let keyFile = dir.appendingPathComponent("s.sqlite.reviewers/alice-v1.key")
        XCTAssertTrue(FileManager.default.fileExists(atPath: keyFile.path), "the key file lives beside the store")
        let keyText = try String(contentsOf: keyFile, encoding: .utf8)
        XCTAssertFalse(keyText.contains(secret), "the key file holds the passphrase")

        let queue = try CLI.ok(["review", "queue", "--store", "s.sqlite", "--reviewer", "alice", "--json"], in: dir)
        let items = try XCTUnwrap((try CLI.json(queue) as? [String: Any])?["cases"] as? [[String: Any]])
        let caseId = try XCTUnwrap(items.first?["case_id"] as? String)
        let opQueue = try CLI.ok(["review", "queue", "--store", "s.sqlite", "--reviewer", "op", "--json"], in: dir)
        XCTAssertEqual(((try CLI.json(opQueue) as? [String: Any])?["cases"] as? [Any])?.count, 0, "the operator's own run is not in their queue")

        @discardableResult
        func refused(_ args: [String], status: Int32, passphrase: String? = nil, _ what: String, line: UInt = #line) throws -> String {
            let before = try CLI.dump("s.sqlite", in: dir)
            let r = try CLI.run(args, in: dir, passphrase: passphrase)
            XCTAssertEqual(r.status, status, "\(what): \(r.stderr)", line: line)
            XCTAssertTrue(r.stdout.isEmpty || !r.stdout.contains("signed case"), "\(what): \(r.stdout)", line: line)
            XCTAssertEqual(try CLI.dump("s.sqlite", in: dir), before, "\(what) changed the store", line: line)
            return r.stderr
        }
        // An agreeing signature needs no reason code (only an override does).
        let sign = ["review", "sign", caseId, "--store", "s.sqlite", "--run", "r1", "--decision", "agree",
                    "--meaning", "review", "--passphrase-fd", "0"]
        try refused(sign + ["--reviewer", "alice"], status: 65, passphrase: secret, "sign before open")
        try refused(sign + ["--reviewer", "op"], status: 65, passphrase: secret, "operator signs")
        try refused(sign + ["--reviewer", "nobody"], status: 66, passphrase: secret, "unknown reviewer")
        try CLI.ok(["review", "open", caseId, "--store", "s.sqlite", "--reviewer", "alice", "--run", "r1", "--json"], in: dir)
        try refused(sign + ["--reviewer", "alice"], status: 65, passphrase: "wrong passphrase!", "wrong passphrase")
        try refused(["review", "sign", caseId, "--store", "s.sqlite", "--reviewer", "alice", "--decision", "agree", "--reason-code", "none",
                     "--meaning", "review", "--passphrase", secret], status: 64, "passphrase on the command line")

        let beforeSign = try CLI.dump("s.sqlite", in: dir)
        XCTAssertTrue(beforeSign.contains("## signoffs") && beforeSign.contains("'alice'"), "the dump shows the tables")
        let signed = try CLI.ok(sign + ["--reviewer", "alice", "--json"], in: dir, passphrase: secret)
        XCTAssertNotEqual(try CLI.dump("s.sqlite", in: dir), beforeSign, "a signature shows in the dump")
        let doc = try XCTUnwrap(try CLI.json(signed) as? [String: Any])
        XCTAssertEqual(doc["report_version"] as? Int, 2)
        let report = try XCTUnwrap(doc["report"] as? String)
        let html = try String(contentsOfFile: report.hasPrefix("/") ? report : dir.appendingPathComponent(report).path, encoding: .utf8)
        XCTAssertTrue(html.contains("Alice Example"), "the new report version carries the printed name")
        try refused(sign + ["--reviewer", "alice"], status: 65, passphrase: secret, "second signature by alice")

        let verify = try CLI.ok(["review", "verify", "--store", "s.sqlite", "--json"], in: dir)
        XCTAssertEqual((try CLI.json(verify) as? [String: Any])?["ok"] as? Bool, true)

        // FHIR export: the run's final cases; a case awaiting sign-off is refused alone, an unknown run is missing.
        let exported = try CLI.ok(["export", "fhir", "--store", "s.sqlite", "--run", "r1", "--out", "fhir", "--actor", "integration"], in: dir)
        XCTAssertTrue(exported.stdout.contains("wrote ") && exported.stdout.contains("left out"), exported.stdout)
        let bundle = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("fhir/r1.fhir-bundle.json"))) as? [String: Any])
        XCTAssertEqual(bundle["resourceType"] as? String, "Bundle")
        try CLI.ok(["export", "fhir", "--store", "s.sqlite", "--run", "r1", "--format", "xml", "--out", "fhir"], in: dir)
        let xml = try String(contentsOf: dir.appendingPathComponent("fhir/r1.fhir-bundle.xml"), encoding: .utf8)
        XCTAssertTrue(xml.contains("<Bundle xmlns=\"http://hl7.org/fhir\">"), String(xml.prefix(200)))
        let ids = ((bundle["entry"] as? [[String: Any]]) ?? []).compactMap { $0["resource"] as? [String: Any] }
            .filter { $0["resourceType"] as? String == "DiagnosticReport" }
            .compactMap { (($0["identifier"] as? [[String: Any]])?.first?["value"]) as? String }
        if items.first?["reviewers_required"] as? Int == 1 { XCTAssertTrue(ids.contains("r1/\(caseId)"), "the signed case is exported") }
        let awaiting = try XCTUnwrap(items.dropFirst().first?["case_id"] as? String)
        XCTAssertFalse(ids.contains("r1/\(awaiting)"), "a case awaiting sign-off is not sent as final")
        try refused(["export", "fhir", "--store", "s.sqlite", "--run", "r1", "--case", awaiting, "--out", "fhir"], status: 65, "unsigned case")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("fhir/r1-\(awaiting).fhir-bundle.json").path))
        try refused(["export", "fhir", "--store", "s.sqlite", "--run", "no-such-run", "--out", "fhir"], status: 66, "unknown run")
        // Outcomes and monitoring: a bad CSV line refuses the whole file; thresholds the policy sets raise an alert (exit 1, logged).
        let other = try XCTUnwrap(items.dropFirst(2).first?["case_id"] as? String)
        try CLI.ok(["cases", "verify", caseId, "--store", "s.sqlite", "--label", "benign", "--verified-by", "dr-path", "--source", "biopsy"], in: dir)
        try "case_id,label,verified_by,source\n\(awaiting),benign,dr-path,biopsy\n\(other),benign,dr-path,guesswork\n"
            .write(to: dir.appendingPathComponent("outcomes.csv"), atomically: true, encoding: .utf8)
        let badCSV = try refused(["cases", "verify", "--csv", "outcomes.csv", "--store", "s.sqlite"], status: 65, "CSV with a bad source")
        XCTAssertTrue(badCSV.contains("outcomes.csv:3") && badCSV.contains("source"), badCSV)
        try refused(["cases", "verify", caseId, "--store", "s.sqlite", "--label", "malignant", "--verified-by", "dr-path", "--source", "biopsy"],
                    status: 65, "correction without a reason")
        let monitor = try CLI.run(["monitor", "--store", "s.sqlite", "--study", "lesion", "--by", "run", "--json", "--out", "monitoring"], in: dir)
        let doc2 = try XCTUnwrap(try CLI.json(monitor) as? [String: Any], monitor.stderr)
        let periods = try XCTUnwrap(doc2["periods"] as? [[String: Any]])
        XCTAssertEqual(periods.map { $0["key"] as? String }, ["r1"])
        XCTAssertEqual(periods.first?["labelled"] as? Int, 1)
        XCTAssertEqual(monitor.status, (doc2["alerts"] as? [Any])?.isEmpty == false ? 1 : 0, monitor.stderr)
        let page = try String(contentsOf: dir.appendingPathComponent("monitoring/monitor-lesion.html"), encoding: .utf8)
        XCTAssertTrue(page.contains("<svg") && page.contains("Monitoring <span class=\"id\">lesion</span>"))
        try (quick + "\nmonitoring:\n  min_cases: 1\n  max_escalation_rate: 0.01\n").write(to: dir.appendingPathComponent("watch.yaml"), atomically: true, encoding: .utf8)
        let alerting = try CLI.run(["monitor", "--store", "s.sqlite", "--study", "lesion", "--policy", "watch.yaml", "--actor", "governance"], in: dir)
        XCTAssertEqual(alerting.status, 1, alerting.stdout + alerting.stderr)
        XCTAssertTrue(alerting.stdout.contains("ALERT") && alerting.stdout.contains("max-escalation-rate"), alerting.stdout)
        XCTAssertEqual(try CLI.sqlite("s.sqlite", "SELECT count(*) FROM audit_events WHERE action = 'monitor.alert' AND actor = 'governance'", in: dir)
            .trimmingCharacters(in: .whitespacesAndNewlines), "1")
        try refused(["monitor", "--store", "s.sqlite", "--study", "lesion", "--since", "last tuesday"], status: 65, "bad --since")
        try refused(["monitor", "--store", "s.sqlite", "--study", "no-such-study"], status: 66, "unknown study")
        try CLI.ok(["log", "verify", "--store", "s.sqlite"], in: dir)
        _ = try CLI.sqlite("s.sqlite", "UPDATE reports SET content = CAST(replace(CAST(content AS TEXT), '</body>', '<p>x</p></body>') AS BLOB) WHERE case_id = '\(caseId)' AND version = 1 AND format = 'html'", in: dir)
        let bad = try CLI.run(["review", "verify", "--store", "s.sqlite", "--json"], in: dir)
        XCTAssertEqual(bad.status, 1, bad.stderr)
        XCTAssertEqual((try CLI.json(bad) as? [String: Any])?["ok"] as? Bool, false)
        XCTAssertTrue(bad.stderr.contains(caseId), "the failure names the case: \(bad.stderr)")
    }
}
