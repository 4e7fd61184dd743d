import AsyncHTTPClient
import CaseStore
import Foundation
import Logging
import NIOSSL
import PipelineFixtures
import ReviewServer
import XCTest

/// `audit serve --tls-cert/--tls-key`: the server speaks HTTPS itself (TLS 1.2 or later) with a
/// certificate made for the test by `openssl`; plain HTTP to it gets nothing, session cookies are
/// Secure, and unreadable certificate or key files are refused at start, naming the file.
final class ReviewServerTLSTests: XCTestCase {
    final class PortBox: @unchecked Sendable {
        private let lock = NSLock()
        private var port = 0
        func set(_ p: Int) { lock.lock(); port = p; lock.unlock() }
        func get() -> Int { lock.lock(); defer { lock.unlock() }; return port }
    }

    func testServesHTTPSWithItsCertificate() async throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl") else {
            if ProcessInfo.processInfo.environment["CI"] == "true" { XCTFail("openssl is missing (scripts/bootstrap test installs it)") }
            throw XCTSkip("openssl is not installed")
        }
        let c = try PipelineFixture.copy()
        let cert = c.dir.appendingPathComponent("cert.pem").path, key = c.dir.appendingPathComponent("key.pem").path
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        openssl.arguments = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
                             "-subj", "/CN=127.0.0.1", "-keyout", key, "-out", cert]
        openssl.standardOutput = FileHandle.nullDevice
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        XCTAssertEqual(openssl.terminationStatus, 0, "openssl made the test certificate")

        var logger = Logger(label: "tls-test")
        logger.logLevel = .error
        let store = try CaseStore(path: c.path)
        let server = try ReviewServer(store: store, configuration: .init(storePath: c.path, port: 0, tls: (cert, key)))
        XCTAssertTrue(server.configuration.secureCookies, "cookies are Secure when the server itself speaks TLS")
        let port = PortBox()
        let app = try server.application(logger: logger, onServerRunning: { port.set($0) })
        let serverTask = Task { try await app.runService(gracefulShutdownSignals: []) }
        defer { serverTask.cancel() }
        for _ in 0..<300 where port.get() == 0 { try await Task.sleep(nanoseconds: 100_000_000) }   // at most 30 s
        let bound = port.get()
        XCTAssertNotEqual(bound, 0, "the server started")

        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(cert))
        tls.certificateVerification = .noHostnameVerification
        let https = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
        let plain = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            let health = try await https.execute(HTTPClientRequest(url: "https://127.0.0.1:\(bound)/health"), timeout: .seconds(30))
            XCTAssertEqual(health.status.code, 200)
            let signIn = try await https.execute(HTTPClientRequest(url: "https://127.0.0.1:\(bound)/sign-in"), timeout: .seconds(30))
            XCTAssertEqual(signIn.status.code, 200)
            // Plain HTTP to the TLS port gets no HTTP answer.
            let clear = try? await plain.execute(HTTPClientRequest(url: "http://127.0.0.1:\(bound)/health"), timeout: .seconds(5))
            XCTAssertNotEqual(clear?.status.code, 200, "plain HTTP is not served")
        } catch {
            try? await https.shutdown(); try? await plain.shutdown()
            throw error
        }
        try await https.shutdown()
        try await plain.shutdown()
        serverTask.cancel()
        _ = try? await serverTask.value

        // Unreadable files are refused at start, naming them.
        try "not a certificate".write(toFile: c.dir.appendingPathComponent("bad.pem").path, atomically: true, encoding: .utf8)
        let bad = try ReviewServer(store: store, configuration: .init(storePath: c.path, port: 0, tls: (c.dir.appendingPathComponent("bad.pem").path, key)))
        XCTAssertThrowsError(try bad.application(logger: logger)) { XCTAssertTrue("\($0)".contains("bad.pem"), "\($0)") }
        let badKey = try ReviewServer(store: store, configuration: .init(storePath: c.path, port: 0, tls: (cert, cert)))
        XCTAssertThrowsError(try badKey.application(logger: logger)) { XCTAssertTrue("\($0)".contains("private key"), "\($0)") }
    }
}
