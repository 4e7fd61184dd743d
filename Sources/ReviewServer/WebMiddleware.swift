import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Reports

/// Headers on every response: a strict Content-Security-Policy (same-origin script and style only,
/// no inline script, no external resources), no framing by other sites, no sniffing, no caching of
/// clinical pages, no referrer to other sites (same-origin: with no-referrer Chromium sends `Origin: null` on form posts, which the origin check must refuse).
struct SecurityHeadersMiddleware: RouterMiddleware {
    typealias Context = ServeContext
    static let csp = HTTPField.Name("Content-Security-Policy")!
    static let frameOptions = HTTPField.Name("X-Frame-Options")!
    static let contentTypeOptions = HTTPField.Name("X-Content-Type-Options")!
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
    static let appPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        if response.headers[Self.csp] == nil { response.headers[Self.csp] = Self.appPolicy }
        if response.headers[Self.frameOptions] == nil { response.headers[Self.frameOptions] = "DENY" }
        response.headers[Self.contentTypeOptions] = "nosniff"
        response.headers[Self.referrerPolicy] = "same-origin"
        if response.headers[.cacheControl] == nil { response.headers[.cacheControl] = "no-store" }
        return response
    }
}

/// One structured line per request on the server's logger (stderr): method, path, status, time,
/// peer address. Query strings are left out (they may carry case ids of other reviewers' work).
struct AccessLogMiddleware: RouterMiddleware {
    typealias Context = ServeContext
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        var status = 500
        defer {
            let ms = (ContinuousClock.now - start) / .milliseconds(1)
            logger.info("request", metadata: ["method": "\(request.method.rawValue)", "path": "\(request.uri.path)", "status": "\(status)",
                                              "ms": "\(String(format: "%.1f", ms))", "peer": "\(context.address)"])
        }
        do {
            let response = try await next(request, context)
            status = response.status.code
            return response
        } catch let error as HTTPResponseError {
            status = error.status.code
            throw error
        }
    }
}

/// Review times of one reviewer as a small SVG histogram (10-second bins up to two minutes, then one
/// open bin), drawn without script or external resources.
enum ReviewTimeHistogram {
    static func svg(_ seconds: [Double], reviewer: String) -> String {
        let edges = stride(from: 0.0, through: 120.0, by: 10.0).map { $0 }
        var counts = [Int](repeating: 0, count: edges.count)
        for s in seconds { counts[min(Int(max(s, 0) / 10), edges.count - 1)] += 1 }
        let top = max(counts.max() ?? 1, 1)
        let w = 8.0, h = 28.0
        var bars = ""
        for (i, c) in counts.enumerated() {
            let bh = Double(c) / Double(top) * h
            let label = i == edges.count - 1 ? "≥ 120 s" : "\(Int(edges[i]))–\(Int(edges[i]) + 10) s"
            bars += String(format: ##"<rect x="%.0f" y="%.1f" width="%.0f" height="%.1f" fill="#0b5cad"><title>%@: %d</title></rect>"##,
                           Double(i) * (w + 1), h - bh, w, bh, label, c)
        }
        let escaped = ReportText.htmlEscaped(reviewer)
        return #"<svg xmlns="http://www.w3.org/2000/svg" width="\#(Int(Double(edges.count) * (w + 1)))" height="\#(Int(h))" role="img" aria-label="review times of \#(escaped)">\#(bars)</svg>"#
    }
}
