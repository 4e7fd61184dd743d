import CaseStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Pipeline
import PipelineFixtures
import Policy
import Review
import ReviewServer
import XCTest

/// The web app's routes through HummingbirdTesting over a real run of the fixture store: sign-in,
/// CSRF, roles, blind-read withholding, the server-side minimum review time, signing, bad input —
/// and that every refusal leaves the store as it was.
final class ReviewServerRouteTests: XCTestCase {
    static let cheapCost = (n: 1 << 10, r: 8, p: 1)
    let passphrase = "correct horse battery"

    /// A clock the test moves (the minimum review time is enforced against it).
    final class Clock: @unchecked Sendable {
        private let lock = NSLock()
        private var t = Date(timeIntervalSince1970: 1_900_000_000)
        var now: Date { lock.lock(); defer { lock.unlock() }; return t }
        func advance(_ s: Double) { lock.lock(); t = t.addingTimeInterval(s); lock.unlock() }
    }

    struct Setup {
        var store: CaseStore
        var path: String
        var runId: String
        var clock: Clock
        var server: ReviewServer
    }

    func setUpServer(web: AuditPolicy.WebRules = .init()) throws -> Setup {
        let c = try PipelineFixture.copy()
        let store = try CaseStore(path: c.path)
        // screening-strict: blind first read, 60 s minimum, two reviewers for some cases.
        _ = try AuditRunJob(store: store, policy: try ShippedPolicy.screeningStrict.load(), study: "lesion", selection: .split(.incoming),
                            modelId: nil, outDirectory: c.dir.appendingPathComponent("out"), runId: "web-run", operatorId: "operator-1").execute()
        let registry = ReviewerRegistry(store: store, actor: "admin")
        for (id, role) in [("alice", "dermatologist"), ("bob", "dermatologist"), ("operator-1", "dermatologist"), ("gina", "governance")] {
            _ = try registry.add(id: id, name: "Dr \(id.capitalized)", role: role, passphrase: passphrase,
                                 keyFile: ReviewerRegistry.defaultKeyFile(storePath: c.path, reviewerId: id, version: 1), cost: Self.cheapCost)
        }
        let clock = Clock()
        let server = try ReviewServer(store: store, configuration: .init(storePath: c.path, web: web), now: { clock.now })
        return Setup(store: store, path: c.path, runId: "web-run", clock: clock, server: server)
    }

    func app(_ s: Setup) -> some ApplicationProtocol {
        var logger = Logger(label: "test")
        logger.logLevel = .error
        return Application(router: s.server.router(logger: logger), logger: logger)
    }

    // MARK: helpers

    struct Browser {
        var cookies: [String: String] = [:]

        var cookieHeader: HTTPFields {
            var h = HTTPFields()
            if !cookies.isEmpty { h[.cookie] = cookies.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: "; ") }
            return h
        }

        mutating func remember(_ response: TestResponse) {
            for field in response.headers where field.name == .setCookie {
                let pair = field.value.split(separator: ";")[0].split(separator: "=", maxSplits: 1)
                guard pair.count == 2 else { continue }
                if pair[1].isEmpty { cookies[String(pair[0])] = nil } else { cookies[String(pair[0])] = String(pair[1]) }
            }
        }
    }

    static func text(_ r: TestResponse) -> String { String(buffer: r.body) }

    static func field(_ name: String, in html: String) -> String? {
        guard let range = html.range(of: "name=\"\(name)\" value=\"") else { return nil }
        return String(html[range.upperBound...].prefix { $0 != "\"" })
    }

    static func form(_ fields: [(String, String)]) -> ByteBuffer {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return ByteBuffer(string: fields.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed)!)" }.joined(separator: "&"))
    }

    func get(_ client: some TestClientProtocol, _ b: inout Browser, _ uri: String) async throws -> TestResponse {
        let r = try await client.execute(uri: uri, method: .get, headers: b.cookieHeader)
        b.remember(r)
        return r
    }

    func post(_ client: some TestClientProtocol, _ b: inout Browser, _ uri: String, _ fields: [(String, String)],
              origin: String? = nil) async throws -> TestResponse {
        var headers = b.cookieHeader
        headers[.contentType] = "application/x-www-form-urlencoded"
        if let origin { headers[.origin] = origin }
        let r = try await client.execute(uri: uri, method: .post, headers: headers, body: Self.form(fields))
        b.remember(r)
        return r
    }

    func signIn(_ client: some TestClientProtocol, _ id: String, passphrase: String? = nil) async throws -> (Browser, TestResponse) {
        var b = Browser()
        let page = try await get(client, &b, "/sign-in")
        let token = try XCTUnwrap(Self.field("csrf", in: Self.text(page)))
        let r = try await post(client, &b, "/sign-in", [("csrf", token), ("reviewer", id), ("passphrase", passphrase ?? self.passphrase)])
        return (b, r)
    }

    func events(_ s: Setup, _ action: String) throws -> Int {
        (try PipelineFixture.dump(s.store)["audit_events"] ?? []).filter { $0.contains("action=\"\(action)\"|") }.count
    }

    /// Asserts the request is refused with `status` and leaves every table unchanged.
    func assertRefused(_ s: Setup, _ status: HTTPResponse.Status, _ what: String, file: StaticString = #filePath, line: UInt = #line,
                       _ body: () async throws -> TestResponse) async throws {
        let before = try PipelineFixture.dump(s.store)
        let r = try await body()
        XCTAssertEqual(r.status, status, "\(what): \(Self.text(r).prefix(400))", file: file, line: line)
        let after = try PipelineFixture.dump(s.store)
        for table in before.keys.sorted() where before[table] != after[table] {
            XCTFail("\(what): table \(table) changed", file: file, line: line)
        }
    }

    // MARK: tests

    /// Case links percent-encode all but RFC 3986's unreserved characters, and the router reads them back.
    func testCaseLinksEncodeEveryReservedByte() {
        XCTAssertEqual(ReviewServer.caseHref(run: "run 1", caseId: "lésion/<x>?#%"),
                       "/cases/run%201/l%C3%A9sion%2F%3Cx%3E%3F%23%25")
        XCTAssertEqual(ReviewServer.caseHref(run: "r-1.a_b~", caseId: "AZaz09"), "/cases/r-1.a_b~/AZaz09")
        let odd = "ü 😀/&=+;:@"
        XCTAssertEqual(ReviewServer.caseHref(run: "r", caseId: odd).dropFirst("/cases/r/".count).removingPercentEncoding, odd)
    }

    func testSignInBlindReadMinimumTimeAndSigning() async throws {
        let s = try setUpServer()
        let workflow = ReviewWorkflow(store: s.store)
        let queue = try workflow.queue(reviewer: "alice")
        let item = try XCTUnwrap(queue.first, "screening-strict leaves cases for review")
        let href = "/cases/\(s.runId)/\(item.caseId)"

        try await app(s).test(.router) { client in
            var anonymous = Browser()
            let health = try await get(client, &anonymous, "/health")
            XCTAssertEqual(health.status, .ok)
            let home = try await get(client, &anonymous, "/")
            XCTAssertEqual(home.status, .seeOther)
            XCTAssertEqual(home.headers[.location], "/sign-in")

            // Sign-in: the login form's token is required; a wrong passphrase fails and is logged.
            try await assertRefused(s, .forbidden, "sign-in without the form token") {
                try await post(client, &anonymous, "/sign-in", [("reviewer", "alice"), ("passphrase", passphrase)])
            }
            let (_, wrong) = try await signIn(client, "alice", passphrase: "not the passphrase")
            XCTAssertEqual(wrong.status, .unauthorized)
            XCTAssertEqual(try events(s, "web.sign-in-failed"), 1)
            var (alice, signedIn) = try await signIn(client, "alice")
            XCTAssertEqual(signedIn.status, .seeOther, Self.text(signedIn))
            let cookie = try XCTUnwrap(signedIn.headers[values: .setCookie].first { $0.hasPrefix("countersign_session=") })
            XCTAssertTrue(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), cookie)
            XCTAssertEqual(try events(s, "web.sign-in"), 1)

            // Worklist: this reviewer's cases, with a strict CSP on the page.
            let worklist = try await get(client, &alice, "/")
            XCTAssertEqual(worklist.status, .ok)
            let csp = try XCTUnwrap(worklist.headers[HTTPField.Name("Content-Security-Policy")!])
            XCTAssertTrue(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), csp)
            for i in queue { XCTAssertTrue(Self.text(worklist).contains(i.caseId), "worklist lists \(i.caseId)") }

            // Case page before the blind read: no answer, no probabilities, no set, no labels, no report.
            let blinded = try await get(client, &alice, href)
            XCTAssertEqual(blinded.status, .ok)
            let page = Self.text(blinded)
            XCTAssertTrue(page.contains("Blind first read"))
            for secret in ["calibrated probability", "Prediction set", "/report", "model's answer</h2>"] {
                XCTAssertFalse(page.contains(secret), "the blinded page holds '\(secret)'")
            }
            let expanded = Self.text(try await get(client, &alice, href + "?expand=neighbours"))
            XCTAssertEqual(try events(s, "review.evidence-opened"), 1)
            let table = try XCTUnwrap(expanded.range(of: "<th>Verified by</th></tr></thead><tbody>").map { expanded[$0.upperBound...] })
            let rows = table.prefix(while: { _ in true }).components(separatedBy: "</tbody>")[0]
            XCTAssertTrue(rows.contains("<tr><td>"), "the neighbours are listed")
            for label in ["benign", "malignant"] { XCTAssertFalse(rows.contains(label), "neighbour labels stay withheld") }
            try await assertRefused(s, .conflict, "the report before the blind read") { try await get(client, &alice, href + "/report") }

            // The read needs the session's CSRF token (and a same-origin Origin).
            let csrf = try XCTUnwrap(Self.field("csrf", in: page))
            try await assertRefused(s, .forbidden, "read without CSRF token") {
                try await post(client, &alice, href + "/read", [("class", "benign")])
            }
            try await assertRefused(s, .forbidden, "read from another origin") {
                try await post(client, &alice, href + "/read", [("csrf", csrf), ("class", "benign")], origin: "https://evil.example")
            }
            try await assertRefused(s, .conflict, "read of a class that does not exist") {
                try await post(client, &alice, href + "/read", [("csrf", csrf), ("class", "no-such-class")])
            }
            let read = try await post(client, &alice, href + "/read", [("csrf", csrf), ("class", "benign")])
            XCTAssertEqual(read.status, .seeOther, Self.text(read))
            let unblinded = Self.text(try await get(client, &alice, href))
            XCTAssertTrue(unblinded.contains("calibrated probability"), "the answer after the read")
            XCTAssertTrue(unblinded.contains("Your blind reading: <strong>benign</strong>"))
            let report = try await get(client, &alice, href + "/report")
            XCTAssertEqual(report.status, .ok)
            XCTAssertTrue(try XCTUnwrap(report.headers[HTTPField.Name("Content-Security-Policy")!]).contains("sandbox"))

            // Signing: the server enforces the minimum time, asks for the passphrase, validates fields.
            let sign: [(String, String)] = [("csrf", csrf), ("decision", "agree"), ("meaning", "review"), ("note", ""), ("passphrase", passphrase)]
            try await assertRefused(s, .conflict, "signing before the minimum review time") {
                try await post(client, &alice, href + "/sign", sign)
            }
            s.clock.advance(61)
            try await assertRefused(s, .forbidden, "signing with a wrong passphrase") {
                try await post(client, &alice, href + "/sign", sign.map { $0.0 == "passphrase" ? ($0.0, "wrong wrong wrong") : $0 })
            }
            try await assertRefused(s, .badRequest, "a field sent twice") {
                try await post(client, &alice, href + "/sign", sign + [("decision", "override")])
            }
            try await assertRefused(s, .contentTooLarge, "an oversized note") {
                try await post(client, &alice, href + "/sign", sign.map { $0.0 == "note" ? ($0.0, String(repeating: "x", count: 2001)) : $0 })
            }
            try await assertRefused(s, .contentTooLarge, "a body over the limit") {
                try await post(client, &alice, href + "/sign", sign + [("padding", String(repeating: "y", count: 70_000))])
            }
            try await assertRefused(s, .badRequest, "an override without its class") {
                try await post(client, &alice, href + "/sign", sign.map { $0.0 == "decision" ? ($0.0, "override") : $0 })
            }
            let signed = try await post(client, &alice, href + "/sign", sign)
            XCTAssertEqual(signed.status, .ok, Self.text(signed))
            XCTAssertTrue(Self.text(signed).contains("carries the signature"))
            let verification = try workflow.verify(caseId: item.caseId)
            XCTAssertEqual(verification.count, 1)
            XCTAssertTrue(verification.allSatisfy(\.ok), "\(verification)")
            let manifested = try await get(client, &alice, href + "/report")
            XCTAssertTrue(Self.text(manifested).contains("Dr Alice"), "the new report version shows the signature")
            XCTAssertFalse(try workflow.queue(reviewer: "alice").contains { $0.caseId == item.caseId && $0.runId == s.runId })
            // What alice opened is counted from the log (review stats and the oversight page show it).
            let use = try XCTUnwrap(try workflow.evidenceUse().first { $0.reviewerId == "alice" })
            XCTAssertEqual(use.casesOpened, 1, "the first look opens the case once")
            XCTAssertEqual(use.evidenceExpanded, 1)
            XCTAssertEqual(use.signatures, 1)
            XCTAssertEqual(use.reportViews, 2, "the report after the read and the signed version")
            XCTAssertGreaterThanOrEqual(use.caseViews, 3)

            // Sign-out ends the session.
            let page2 = Self.text(try await get(client, &alice, "/"))
            let out = try await post(client, &alice, "/sign-out", [("csrf", try XCTUnwrap(Self.field("csrf", in: page2)))])
            XCTAssertEqual(out.status, .seeOther)
            let afterOut = try await get(client, &alice, "/")
            XCTAssertEqual(afterOut.status, .seeOther)
            XCTAssertEqual(try events(s, "web.sign-out"), 1)
        }
    }

    func testRolesBadInputAndLockout() async throws {
        let s = try setUpServer(web: .init(maxFailedSignIns: 3, lockoutMinutes: 10))
        let item = try XCTUnwrap(try ReviewWorkflow(store: s.store).queue(reviewer: "alice").first)
        let href = "/cases/\(s.runId)/\(item.caseId)"
        try await app(s).test(.router) { client in
            // The run's operator sees none of its cases and may not open one.
            var op = try await signIn(client, "operator-1").0
            let opList = try await get(client, &op, "/")
            XCTAssertFalse(Self.text(opList).contains(item.caseId))
            try await assertRefused(s, .conflict, "the operator opens a case of their run") { try await get(client, &op, href) }

            // Governance: oversight, never a case action.
            var gina = try await signIn(client, "gina").0
            let home = try await get(client, &gina, "/")
            XCTAssertEqual(home.headers[.location], "/oversight")
            let oversight = try await get(client, &gina, "/oversight")
            XCTAssertEqual(oversight.status, .ok, Self.text(oversight))
            XCTAssertTrue(Self.text(oversight).contains("Verified:"), "the log's status is shown")
            XCTAssertTrue(Self.text(oversight).contains(s.runId))
            try await assertRefused(s, .forbidden, "governance opens a case") { try await get(client, &gina, href) }
            // The runs link to their stored run report, served sandboxed and logged.
            let runHref = "/runs/\(s.runId)/report"  // web-run: only unreserved characters
            XCTAssertTrue(Self.text(oversight).contains("href=\"\(runHref)\""), "the oversight page links the run report")
            let runReport = try await get(client, &gina, runHref)
            XCTAssertEqual(runReport.status, .ok, Self.text(runReport))
            XCTAssertTrue(Self.text(runReport).contains("Countersign run report"), String(Self.text(runReport).prefix(300)))
            XCTAssertTrue(try XCTUnwrap(runReport.headers[HTTPField.Name("Content-Security-Policy")!]).contains("sandbox"))
            XCTAssertEqual(try events(s, "review.view-run-report"), 1)
            try await assertRefused(s, .notFound, "the report of an unknown run") { try await get(client, &gina, "/runs/no-such-run/report") }

            // Reviewers do not see oversight; unknown cases and runs are 404; a script in an id stays text.
            var alice = try await signIn(client, "alice").0
            try await assertRefused(s, .forbidden, "a reviewer opens oversight") { try await get(client, &alice, "/oversight") }
            try await assertRefused(s, .forbidden, "a reviewer opens a run report") { try await get(client, &alice, runHref) }
            try await assertRefused(s, .notFound, "an unknown case") { try await get(client, &alice, "/cases/\(s.runId)/no-such-case") }
            try await assertRefused(s, .notFound, "an unknown run") { try await get(client, &alice, "/cases/no-such-run/\(item.caseId)") }
            let script = try await get(client, &alice, "/cases/\(s.runId)/%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E")
            XCTAssertEqual(script.status, .notFound, Self.text(script))
            XCTAssertFalse(Self.text(script).contains("<img src=x"), "the payload is escaped")
            XCTAssertTrue(Self.text(script).contains("&lt;img src=x onerror=alert(1)&gt;"), Self.text(script))
            try await assertRefused(s, .badRequest, "an unknown expand") { try await get(client, &alice, href + "?expand=labels") }

            // Lock-out after the policy's number of failures, logged; even the right passphrase is refused then.
            for _ in 0..<3 {
                let failed = try await signIn(client, "bob", passphrase: "guess guess guess").1
                XCTAssertEqual(failed.status, .unauthorized)
            }
            XCTAssertEqual(try events(s, "web.lockout"), 1)
            let locked = try await signIn(client, "bob").1
            XCTAssertEqual(locked.status, .tooManyRequests)
            XCTAssertEqual(try events(s, "web.sign-in-refused"), 1)
            s.clock.advance(601)
            let unlocked = try await signIn(client, "bob").1
            XCTAssertEqual(unlocked.status, .seeOther, "the lock-out ends")

            // Idle timeout: a session unused longer than the policy's idle time is gone.
            s.clock.advance(16 * 60)
            let idle = try await get(client, &alice, "/")
            XCTAssertEqual(idle.status, .seeOther)
            XCTAssertEqual(try events(s, "web.session-expired"), 1)
        }
    }
}
