import ArgumentParser
import AsyncHTTPClient
import AuditLog
import CaseStore
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import Pipeline
import Policy
import ReviewServer

/// The reviewers' web app under load: `--clients` signed-in clients (one session each) over loopback
/// for `--seconds` against the worklist and case pages of the bench store, then the same load against
/// the peer — a minimal Flask app over the same SQLite file serving the same worklist query
/// (`Benchmarks/peers/worklist_flask.py`) — in the same run. Requests/s and p50/p99 latency side by
/// side, and their ratio. Bounded in time and count; 127.0.0.1 only.
struct ServeBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "audit serve under load (worklist and case pages) beside a Flask peer: requests/s, p50/p99.")

    @Option(help: "A bench store with a completed run (default: build one as `audit-bench run` does, with --cases).") var store: String?
    @Option(help: "Incoming cases when the store is built here.") var cases = 10_000
    @Option(help: "Concurrent signed-in clients.") var clients = 64
    @Option(help: "Seconds of load per server.") var seconds = 30.0
    @Option(help: "At most this many requests per server.") var maxRequests = 1_000_000
    @Option(help: "The audit executable (default: beside audit-bench).") var audit: String?
    @Option(help: "python3 with flask, for the peer (empty: skip the peer).") var python = "python3"
    @Flag(help: "Print one JSON document.") var json = false
    @Flag(help: "Log every request of our server (method, path, status, ms) on stderr.") var accessLog = false

    func run() async throws {
        let fm = FileManager.default
        let storePath: String
        if let store { storePath = store } else {
            let work = fm.temporaryDirectory.appendingPathComponent("audit-bench-serve-\(UUID().uuidString)")
            try fm.createDirectory(at: work, withIntermediateDirectories: true)
            storePath = work.appendingPathComponent("bench.sqlite").path
            let tool = audit ?? Bundle.main.executableURL!.deletingLastPathComponent().appendingPathComponent("audit").path
            let model = try RunBench.buildStore(tool: tool, storePath: storePath, cases: cases, scans: 3, seed: 7, hidden: 16, epochs: 3)
            let s = try CaseStore(path: storePath)
            _ = try AuditRunJob(store: s, policy: try ShippedPolicy.default.load(), study: "lesion", selection: .split(.incoming),
                                modelId: model, outDirectory: work.appendingPathComponent("out"), runId: "bench-run",
                                operatorId: "audit-bench").execute()
        }
        let caseStore = try CaseStore(path: storePath)
        let reviewer = "bench-reviewer", passphrase = "bench passphrase"
        if try caseStore.read({ db in try CaseStore.reviewer(db, id: reviewer) }) == nil {
            _ = try ReviewerRegistry(store: caseStore, actor: "audit-bench").add(
                id: reviewer, name: "Bench Reviewer", role: "dermatologist", passphrase: passphrase,
                keyFile: ReviewerRegistry.defaultKeyFile(storePath: storePath, reviewerId: reviewer, version: 1))
        }
        let queue = try ReviewWorkflow(store: caseStore).queue(reviewer: reviewer)
        guard !queue.isEmpty else { throw ValidationError("the store has no case waiting for review") }
        let caseLinks = queue.prefix(clients).map { ReviewServer.caseHref(run: $0.runId, caseId: $0.caseId) }

        // One connection per client: the client's default pool (8 per host) would queue 64 clients itself.
        var httpConfiguration = HTTPClient.Configuration(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(5), read: .seconds(30)))
        httpConfiguration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: clients)
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: httpConfiguration)
        do {
            try await measure(http, storePath: storePath, caseStore: caseStore, queue: queue, caseLinks: caseLinks,
                              reviewer: reviewer, passphrase: passphrase)
        } catch {
            try? await http.shutdown()
            throw error
        }
        try await http.shutdown()
    }

    func measure(_ http: HTTPClient, storePath: String, caseStore: CaseStore, queue: [ReviewWorkflow.QueueItem], caseLinks: [String],
                 reviewer: String, passphrase: String) async throws {

        // Countersign's server, in process.
        var logger = Logger(label: "bench")
        logger.logLevel = accessLog ? .info : .error
        let server = try ReviewServer(store: caseStore, configuration: .init(storePath: storePath, port: 0))
        let port = PortBox()
        let app = try server.application(logger: logger, onServerRunning: { port.set($0) })
        let serverTask = Task { try await app.runService(gracefulShutdownSignals: []) }
        let ours = try await port.wait()
        let base = "http://127.0.0.1:\(ours)"
        var sessions: [String] = []
        for _ in 0..<clients { sessions.append(try await Self.signIn(http, base: base, reviewer: reviewer, passphrase: passphrase)) }
        // The first worklist derives the queue and checks every assessment against its attestation;
        // later ones reuse it until the records change. Timed apart, outside the load.
        let cold = ContinuousClock.now
        _ = try await http.execute({ var r = HTTPClientRequest(url: base + "/"); r.headers.add(name: "cookie", value: sessions[0]); return r }(),
                                   timeout: .seconds(120)).body.collect(upTo: 16 << 20)
        let firstWorklistMs = (ContinuousClock.now - cold) / .milliseconds(1)
        let countersign = try await Self.load(http, base: base, cookies: sessions, caseLinks: caseLinks, seconds: seconds, maxRequests: maxRequests)
        // The same clients against a static file of the same server: what this machine's HTTP stack
        // and load generator cost with no page work at all, the floor under both figures.
        let floor = try await Self.load(http, base: base, cookies: sessions, worklistPath: Self.floorPath, caseLinks: [Self.floorPath],
                                        seconds: seconds, maxRequests: maxRequests)
        serverTask.cancel()
        _ = try? await serverTask.value

        // The peer over the same file.
        var peer: LoadResult?
        if !python.isEmpty {
            let peerPort = Int.random(in: 20_000..<40_000)
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("peers/worklist_flask.py").path
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = [python, script, "--store", storePath, "--port", String(peerPort), "--reviewer", reviewer]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            // SIGKILL: a child spawned from a Dispatch thread inherits its blocked signals, SIGTERM among them.
            defer { if p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() } }
            let peerBase = "http://127.0.0.1:\(peerPort)"
            var up = false
            for _ in 0..<100 where !up {   // at most 10 s
                up = (try? await http.execute(HTTPClientRequest(url: peerBase + "/health"), timeout: .seconds(1)).status.code) == 200
                if !up { try await Task.sleep(nanoseconds: 100_000_000) }
            }
            guard up else { throw ValidationError("the Flask peer did not start (pip install flask)") }
            peer = try await Self.load(http, base: peerBase, cookies: Array(repeating: "", count: clients), caseLinks: caseLinks,
                                       seconds: seconds, maxRequests: maxRequests)
        }

        var result: [String: Any] = ["store": storePath, "clients": clients, "seconds": seconds, "countersign": countersign.json,
                                     "static_file_floor": floor.json,
                                     "first_worklist_ms": firstWorklistMs,
                                     "queue_cases": queue.count,
                                     "note": "each client alternates GET / (worklist, first 100 rows) and GET its case page; Countersign's case page logs a review.view event per request and checks attestations; the peer serves the same worklist query and the stored report, with neither"]
        if let peer {
            result["peer"] = peer.json
            result["requests_per_s_ratio"] = countersign.requestsPerSecond / max(peer.requestsPerSecond, 1e-9)
        }
        if json {
            let data = try JSONSerialization.data(withJSONObject: result, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(String(format: "first worklist (derives and checks the queue): %.0f ms", firstWorklistMs))
            print(String(format: "countersign: %.0f requests/s, p50 %.1f ms, p99 %.1f ms (%d requests, %d errors)",
                         countersign.requestsPerSecond, countersign.p50, countersign.p99, countersign.requests, countersign.errors))
            print(String(format: "floor (same clients, a static file): %.0f requests/s, p50 %.1f ms, p99 %.1f ms (%d requests, %d errors)",
                         floor.requestsPerSecond, floor.p50, floor.p99, floor.requests, floor.errors))
            if let peer {
                print(String(format: "flask peer:  %.0f requests/s, p50 %.1f ms, p99 %.1f ms (%d requests, %d errors); ratio %.2f×",
                             peer.requestsPerSecond, peer.p50, peer.p99, peer.requests, peer.errors,
                             countersign.requestsPerSecond / max(peer.requestsPerSecond, 1e-9)))
            }
        }
    }

    static func signIn(_ http: HTTPClient, base: String, reviewer: String, passphrase: String) async throws -> String {
        let page = try await http.execute(HTTPClientRequest(url: base + "/sign-in"), timeout: .seconds(30))
        let html = String(buffer: try await page.body.collect(upTo: 1 << 20))
        guard let r = html.range(of: "name=\"csrf\" value=\""), let pre = cookie(page.headers, "countersign_signin") else {
            throw ValidationError("no sign-in form")
        }
        let token = String(html[r.upperBound...].prefix { $0 != "\"" })
        var post = HTTPClientRequest(url: base + "/sign-in")
        post.method = .POST
        post.headers.add(name: "content-type", value: "application/x-www-form-urlencoded")
        post.headers.add(name: "cookie", value: "countersign_signin=\(pre)")
        let body = "csrf=\(token)&reviewer=\(reviewer)&passphrase=\(passphrase.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)"
        post.body = .bytes(ByteBuffer(string: body))
        let response = try await http.execute(post, timeout: .seconds(60))
        guard let session = cookie(response.headers, "countersign_session") else { throw ValidationError("sign-in failed: \(response.status)") }
        return "countersign_session=\(session)"
    }

    static func cookie(_ headers: HTTPHeaders, _ name: String) -> String? {
        for value in headers["set-cookie"] {
            let pair = value.split(separator: ";")[0].split(separator: "=", maxSplits: 1)
            if pair.count == 2, pair[0] == name { return String(pair[1]) }
        }
        return nil
    }

    struct LoadResult {
        var requests: Int, errors: Int, requestsPerSecond: Double, p50: Double, p99: Double, worklistP99: Double, caseP99: Double
        var json: [String: Any] {
            ["requests": requests, "errors": errors, "requests_per_s": requestsPerSecond, "p50_ms": p50, "p99_ms": p99,
             "worklist_p99_ms": worklistP99, "case_p99_ms": caseP99]
        }
    }

    /// One task per client, alternating the worklist and its case page until the time or count runs out.
    static let floorPath = "/static/app.css"

    static func load(_ http: HTTPClient, base: String, cookies: [String], worklistPath: String = "/", caseLinks: [String],
                     seconds: Double, maxRequests: Int) async throws -> LoadResult {
        let deadline = Date().addingTimeInterval(seconds)
        let budget = Budget(maxRequests)
        let start = Date()
        let all = await withTaskGroup(of: ([Double], [Double], Int).self) { group in
            for (i, cookie) in cookies.enumerated() {
                group.addTask {
                    var worklist: [Double] = [], casePage: [Double] = [], errors = 0, n = 0
                    while Date() < deadline, budget.take() {
                        let worklistTurn = n % 2 == 0
                        let path = worklistTurn ? worklistPath : caseLinks[i % caseLinks.count]
                        n += 1
                        var request = HTTPClientRequest(url: base + path)
                        if !cookie.isEmpty { request.headers.add(name: "cookie", value: cookie) }
                        let t0 = ContinuousClock.now
                        do {
                            let response = try await http.execute(request, timeout: .seconds(30))
                            _ = try await response.body.collect(upTo: 16 << 20)
                            if response.status.code != 200 { errors += 1 }
                        } catch { errors += 1 }
                        let ms = (ContinuousClock.now - t0) / .milliseconds(1)
                        if worklistTurn { worklist.append(ms) } else { casePage.append(ms) }
                    }
                    return (worklist, casePage, errors)
                }
            }
            var w: [Double] = [], c: [Double] = [], e = 0
            for await (a, b, x) in group { w += a; c += b; e += x }
            return (w, c, e)
        }
        let elapsed = Date().timeIntervalSince(start)
        let latencies = (all.0 + all.1).sorted()
        func pct(_ xs: [Double], _ q: Double) -> Double {
            let s = xs.sorted()
            guard !s.isEmpty else { return 0 }
            return s[min(s.count - 1, max(0, Int((q * Double(s.count)).rounded(.up)) - 1))]
        }
        return LoadResult(requests: latencies.count, errors: all.2, requestsPerSecond: Double(latencies.count) / elapsed,
                          p50: pct(latencies, 0.5), p99: pct(latencies, 0.99), worklistP99: pct(all.0, 0.99), caseP99: pct(all.1, 0.99))
    }
}

/// The server's port, known once it is listening.
final class PortBox: @unchecked Sendable {
    private let lock = NSLock()
    private var port = 0
    func set(_ p: Int) { lock.lock(); port = p; lock.unlock() }
    func current() -> Int { lock.lock(); defer { lock.unlock() }; return port }
    func wait() async throws -> Int {
        for _ in 0..<300 {   // at most 30 s
            let p = current()
            if p != 0 { return p }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        throw ValidationError("the server did not start")
    }
}

/// A shared request budget.
final class Budget: @unchecked Sendable {
    private let lock = NSLock()
    private var left: Int
    init(_ n: Int) { left = n }
    func take() -> Bool { lock.lock(); defer { lock.unlock() }; guard left > 0 else { return false }; left -= 1; return true }
}
