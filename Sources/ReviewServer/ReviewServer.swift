import CaseStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import NIOSSL
import Logging
import NIOCore
import Pipeline
import Policy
import Reports
import Review

/// The request context: Hummingbird's core storage, the peer's address (logged with every access
/// event) and a small body limit (forms only).
public struct ServeContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?
    public var maxUploadSize: Int { 64 * 1024 }

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    var address: String {
        switch remoteAddress {
        case .some(.v4(let a)): return a.host
        case .some(.v6(let a)): return a.host
        case .some(let other): return other.description
        case .none: return "unknown"
        }
    }
}

/// `audit serve`: the reviewers' web application over a case store. It renders and routes; every
/// rule (blinding, who may sign, minimum time, signatures) is `Pipeline.ReviewWorkflow`'s, the same
/// code the `audit review` commands call.
public struct ReviewServer: Sendable {
    public struct Configuration: Sendable {
        public var storePath: String
        public var host: String
        public var port: Int
        /// Sessions and sign-in rules (the serving policy's `web` section).
        public var web: AuditPolicy.WebRules
        /// Marks the session cookie Secure (set when TLS terminates in front of the server, and always with `tls`).
        public var secureCookies: Bool
        /// PEM files of the certificate chain and private key: the server speaks HTTPS itself.
        public var tls: (certificateChain: String, privateKey: String)?
        public init(storePath: String, host: String = "127.0.0.1", port: Int = 8080, web: AuditPolicy.WebRules = .init(),
                    secureCookies: Bool = false, tls: (certificateChain: String, privateKey: String)? = nil) {
            self.storePath = storePath; self.host = host; self.port = port; self.web = web
            self.secureCookies = secureCookies || tls != nil; self.tls = tls
        }
    }

    public let configuration: Configuration
    let store: CaseStore
    let sessions: WebSessionStore
    let pages: WebPages
    let now: @Sendable () -> Date

    public init(store: CaseStore, configuration: Configuration, now: @escaping @Sendable () -> Date = { Date() }) throws {
        self.store = store
        self.configuration = configuration
        self.sessions = WebSessionStore(rules: configuration.web)
        self.pages = try WebPages()
        self.now = now
        self.workflow = ReviewWorkflow(store: store)
    }

    static let sessionCookie = "countersign_session"
    static let signInCookie = "countersign_signin"

    /// One workflow for every request, so that its queue cache serves them all.
    let workflow: ReviewWorkflow

    /// The application on the configured address: routes, security headers, the access log (through
    /// `logger`); `onServerRunning` is told the bound port (useful with port 0).
    public func application(logger: Logger, onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) throws -> some ApplicationProtocol {
        let port = configuration.port
        return Application(router: router(logger: logger), server: try serverBuilder(),
                           configuration: .init(address: .hostname(configuration.host, port: port), serverName: "countersign"),
                           onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) },
                           logger: logger)
    }

    /// HTTP/1.1, over TLS when the configuration names a certificate and key (read now: a bad file is
    /// an error at start, naming it, not at the first connection).
    func serverBuilder() throws -> HTTPServerBuilder {
        guard let tls = configuration.tls else { return .http1() }
        let chain: [NIOSSLCertificate], key: NIOSSLPrivateKey
        do { chain = try NIOSSLCertificate.fromPEMFile(tls.certificateChain) } catch {
            throw ServeError.tls("\(tls.certificateChain): not a readable PEM certificate chain (\(error))")
        }
        guard !chain.isEmpty else { throw ServeError.tls("\(tls.certificateChain): no certificate in the file") }
        do { key = try NIOSSLPrivateKey(file: tls.privateKey, format: .pem) } catch {
            throw ServeError.tls("\(tls.privateKey): not a readable PEM private key (\(error))")
        }
        var config = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        config.minimumTLSVersion = .tlsv12
        return try .tls(.http1(), tlsConfiguration: config)
    }

    /// Why the server could not start.
    public enum ServeError: Error, CustomStringConvertible {
        case tls(String)
        public var description: String {
            switch self { case .tls(let m): return m }
        }
    }

    public func router(logger: Logger) -> Router<ServeContext> {
        let router = Router(context: ServeContext.self)
        router.add(middleware: AccessLogMiddleware(logger: logger))
        router.add(middleware: SecurityHeadersMiddleware())

        router.get("/health") { _, _ -> Response in
            Self.response(.ok, type: "application/json", body: #"{"status":"ok"}"#)
        }
        router.get("/static/app.css") { _, _ in Self.response(.ok, type: "text/css; charset=utf-8", body: WebPages.css, cache: true) }
        router.get("/static/app.js") { _, _ in Self.response(.ok, type: "text/javascript; charset=utf-8", body: WebPages.js, cache: true) }

        router.get("/sign-in") { request, _ in self.signInPage(message: nil, reviewer: "") }
        router.post("/sign-in") { request, context in try await self.signIn(request, context) }
        router.post("/sign-out") { request, context in
            try await self.withSession(request, context, form: true) { session, _ in
                await self.sessions.end(session.id)
                try self.workflow.logAccess(action: "web.sign-out", reviewer: session.reviewerId, address: context.address, now: self.now())
                var r = Self.redirect("/sign-in")
                r.setCookie(self.cookie(Self.sessionCookie, "", maxAge: 0))
                return r
            }
        }
        router.get("/") { request, context in
            try await self.withSession(request, context, form: false) { session, _ in
                guard session.role == .reviewer else { return Self.redirect("/oversight") }
                return try self.worklist(request, session)
            }
        }
        router.get("/cases/:run/:case") { request, context in
            try await self.withCase(request, context, form: false) { session, run, caseId, _ in
                try self.casePage(request, context, session, run: run, caseId: caseId)
            }
        }
        router.get("/cases/:run/:case/report") { request, context in
            try await self.withCase(request, context, form: false, roles: [.reviewer, .auditor, .governance]) { session, run, caseId, _ in
                let version = request.uri.queryParameters.get("version").map { Int($0) }
                if version == .some(nil) { throw WebError.badRequest("version must be a whole number") }
                let doc = try self.workflow.reportDocument(caseId: caseId, runId: run, reviewer: session.reviewerId,
                                                           version: version ?? nil, address: context.address, now: self.now())
                return Self.storedReport(doc.html)
            }
        }
        router.get("/runs/:run/report") { request, context in
            try await self.withSession(request, context, form: false) { session, _ in
                guard session.role != .reviewer else { throw WebError.forbidden("run reports are on the oversight page, for governance and auditors") }
                guard let run = context.parameters.get("run")?.removingPercentEncoding, !run.isEmpty, run.count <= 200 else {
                    throw WebError.badRequest("the run id is missing or longer than 200 characters")
                }
                let doc = try self.workflow.runReportDocument(runId: run, viewer: session.reviewerId, address: context.address, now: self.now())
                return Self.storedReport(doc.html)
            }
        }
        router.post("/cases/:run/:case/read") { request, context in
            try await self.withCase(request, context, form: true) { session, run, caseId, form in
                let className = try form.required("class", max: 200)
                _ = try self.workflow.blindRead(caseId: caseId, runId: run, reviewer: session.reviewerId, className: className, now: self.now())
                return Self.redirect(Self.caseHref(run: run, caseId: caseId))
            }
        }
        router.post("/cases/:run/:case/sign") { request, context in
            try await self.withCase(request, context, form: true) { session, run, caseId, form in
                try self.sign(request, context, session, run: run, caseId: caseId, form: form)
            }
        }
        router.get("/oversight") { request, context in
            try await self.withSession(request, context, form: false) { session, _ in
                guard session.role != .reviewer else { throw WebError.forbidden("the oversight page is for governance and auditors") }
                return try self.oversight(session)
            }
        }
        return router
    }
}

extension ReviewServer {
    /// A stored report as the browser gets it: self-contained (its own inline styles, no script at
    /// all), so its policy allows inline style and nothing else, sandboxed.
    static func storedReport(_ html: Data) -> Response {
        var r = Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(bytes: html)))
        r.headers[SecurityHeadersMiddleware.csp] = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; base-uri 'none'; form-action 'none'; sandbox"
        r.headers[SecurityHeadersMiddleware.frameOptions] = "SAMEORIGIN"
        return r
    }
}

/// A refusal the web app answers with a status and a sentence.
enum WebError: Error, CustomStringConvertible {
    case badRequest(String)
    case forbidden(String)
    case notFound(String)
    case tooLarge(String)

    var description: String {
        switch self {
        case .badRequest(let m), .forbidden(let m), .notFound(let m), .tooLarge(let m): return m
        }
    }
}
