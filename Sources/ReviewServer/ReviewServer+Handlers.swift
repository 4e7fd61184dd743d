import CaseStore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Pipeline
import Reports
import Review

/// A submitted form, with per-field limits: a field over its limit is refused, never truncated.
struct WebForm {
    var fields: [String: String]

    init(fields: [String: String]) { self.fields = fields }

    /// Parses `application/x-www-form-urlencoded` bytes (`+` is a space).
    init(_ body: String) throws {
        var components = URLComponents()
        components.percentEncodedQuery = body.replacingOccurrences(of: "+", with: "%20")
        guard let items = components.queryItems else {
            if body.isEmpty { fields = [:]; return }
            throw WebError.badRequest("the form could not be read (malformed encoding)")
        }
        var fields: [String: String] = [:]
        for item in items {
            guard fields[item.name] == nil else { throw WebError.badRequest("form field '\(item.name)' was sent twice") }
            fields[item.name] = item.value ?? ""
        }
        self.fields = fields
    }

    func optional(_ name: String, max: Int) throws -> String? {
        guard let v = fields[name], !v.isEmpty else { return nil }
        guard v.count <= max else { throw WebError.tooLarge("form field '\(name)' is longer than \(max) characters") }
        guard !v.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\n" && $0 != "\r" && $0 != "\t" }) else {
            throw WebError.badRequest("form field '\(name)' holds control characters")
        }
        return v
    }

    func required(_ name: String, max: Int) throws -> String {
        guard let v = try optional(name, max: max) else { throw WebError.badRequest("form field '\(name)' is required") }
        return v
    }
}

/// A template context without its absent values (Mustache would print an absent optional as "nil").
func present(_ context: [String: Any?]) -> [String: Any] { context.compactMapValues { $0 } }

extension ReviewServer {
    // MARK: sessions, CSRF, errors

    /// Runs `body` for a signed-in session (a form request must carry the session's CSRF token and,
    /// when the browser sends one, a same-origin Origin); answers sign-in, 403 or an error page otherwise.
    func withSession(_ request: Request, _ context: ServeContext, form: Bool,
                     _ body: (WebSession, WebForm) async throws -> Response) async throws -> Response {
        let lookup = await sessions.session(request.cookies[Self.sessionCookie]?.value, now: now())
        let session: WebSession
        switch lookup {
        case .active(let s): session = s
        case .expired(let s, let reason):
            try? workflow.logAccess(action: "web.session-expired", reviewer: s.reviewerId, address: context.address,
                                    details: ["reason": reason], now: now())
            return form ? errorPage(.unauthorized, "Session ended", "Your session ended (\(reason)); sign in again.", back: "/sign-in", session: nil)
                        : Self.redirect("/sign-in")
        case .none:
            return form ? errorPage(.unauthorized, "Not signed in", "Sign in first.", back: "/sign-in", session: nil)
                        : Self.redirect("/sign-in")
        }
        do {
            var fields = WebForm(fields: [:])
            if form {
                try checkOrigin(request)
                fields = try await readForm(request, context)
                guard let token = fields.fields["csrf"], constantTimeEqual(token, session.csrfToken) else {
                    throw WebError.forbidden("the form's CSRF token is missing or wrong; reload the page and try again")
                }
            }
            return try await body(session, fields)
        } catch {
            return errorResponse(error, session: session, back: form ? Self.parentPath(request.uri.path) : "/")
        }
    }

    /// `withSession` for a case route: the run and case come from the path (percent-decoded); only
    /// reviewers may act on a case unless `roles` says otherwise.
    func withCase(_ request: Request, _ context: ServeContext, form: Bool, roles: Set<WebRole> = [.reviewer],
                  _ body: (WebSession, String, String, WebForm) async throws -> Response) async throws -> Response {
        try await withSession(request, context, form: form) { session, fields in
            guard roles.contains(session.role) else { throw WebError.forbidden("a \(session.role.rawValue) may not do this") }
            guard let run = context.parameters.get("run")?.removingPercentEncoding, !run.isEmpty, run.count <= 200,
                  let caseId = context.parameters.get("case")?.removingPercentEncoding, !caseId.isEmpty, caseId.count <= 200 else {
                throw WebError.badRequest("the run or case id in the address is malformed")
            }
            return try await body(session, run, caseId, fields)
        }
    }

    func readForm(_ request: Request, _ context: ServeContext) async throws -> WebForm {
        let buffer: ByteBuffer
        do { buffer = try await request.body.collect(upTo: context.maxUploadSize) } catch {
            throw WebError.tooLarge("the form is larger than \(context.maxUploadSize / 1024) KB")
        }
        guard let text = String(validating: Array(buffer.readableBytesView), as: UTF8.self) else { throw WebError.badRequest("the form is not UTF-8") }
        return try WebForm(text)
    }

    /// A state-changing request from another site is refused even before its token is looked at.
    func checkOrigin(_ request: Request) throws {
        guard let origin = request.headers[.origin] else { return }
        let url = URL(string: origin)
        guard let host = request.head.authority, let originHost = url?.host,
              (url?.port.map { "\(originHost):\($0)" } ?? originHost) == host else {
            throw WebError.forbidden("the request came from another origin (\(origin))")
        }
    }

    func errorResponse(_ error: Error, session: WebSession?, back: String) -> Response {
        let (status, heading): (HTTPResponse.Status, String)
        switch error {
        case WebError.badRequest: (status, heading) = (.badRequest, "Bad request")
        case WebError.forbidden: (status, heading) = (.forbidden, "Not allowed")
        case WebError.notFound: (status, heading) = (.notFound, "Not found")
        case WebError.tooLarge: (status, heading) = (.contentTooLarge, "Too large")
        case CaseStoreError.notFound: (status, heading) = (.notFound, "Not found")
        case ReviewError.notInRun, ReviewError.reviewerUnknown: (status, heading) = (.notFound, "Not found")
        case ReviewError.wrongPassphrase: (status, heading) = (.forbidden, "Wrong passphrase")
        case is ReviewError: (status, heading) = (.conflict, "Refused")
        case CaseStoreError.notAttested: (status, heading) = (.conflict, "Record refused")
        default: (status, heading) = (.internalServerError, "Error")
        }
        return errorPage(status, heading, String(describing: error), back: back, session: session)
    }

    func errorPage(_ status: HTTPResponse.Status, _ heading: String, _ message: String, back: String, session: WebSession?) -> Response {
        Self.response(status, type: "text/html; charset=utf-8",
                      body: pages.page("error", title: heading, session: session, ["heading": heading, "message": message, "back": back]))
    }

    func cookie(_ name: String, _ value: String, maxAge: Int? = nil) -> Cookie {
        Cookie(name: name, value: value, maxAge: maxAge, path: "/", secure: configuration.secureCookies, httpOnly: true, sameSite: .strict)
    }

    static func response(_ status: HTTPResponse.Status, type: String, body: String, cache: Bool = false) -> Response {
        var r = Response(status: status, headers: [.contentType: type], body: .init(byteBuffer: ByteBuffer(string: body)))
        if cache { r.headers[.cacheControl] = "private, max-age=300" }
        return r
    }

    static func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location])
    }

    /// Where "Back" leads from a refused form: the page the form was on (`/cases/R/C/sign` → `/cases/R/C`).
    static func parentPath(_ path: String) -> String {
        guard path.hasPrefix("/cases/"), let slash = path.lastIndex(of: "/"), path.split(separator: "/").count == 4 else { return "/" }
        return String(path[..<slash])
    }

    /// The case page's address (ids percent-encoded).
    public static func caseHref(run: String, caseId: String) -> String {
        "/cases/\(pathSegment(run))/\(pathSegment(caseId))"
    }

    /// One path segment, percent-encoded (a `/` in an id is encoded too).
    static func pathSegment(_ s: String) -> String { ReportText.percentEncoded(s, keepingSlashes: false) }

    // MARK: sign-in

    func signInPage(message: String?, reviewer: String, status: HTTPResponse.Status = .ok) -> Response {
        let token = WebSessionStore.token()
        var r = Self.response(status, type: "text/html; charset=utf-8", body: pages.page(
            "sign-in", title: "Sign in", session: nil,
            present(["csrf": token, "message": message, "reviewer": reviewer, "idle": WebSessionStore.format(configuration.web.idleTimeoutMinutes)])))
        // Login CSRF: the form's token must equal this cookie's (double submit).
        r.setCookie(cookie(Self.signInCookie, token, maxAge: 1800))
        return r
    }

    func signIn(_ request: Request, _ context: ServeContext) async throws -> Response {
        let form: WebForm
        do {
            try checkOrigin(request)
            form = try await readForm(request, context)
            guard let sent = form.fields["csrf"], let expected = request.cookies[Self.signInCookie]?.value,
                  constantTimeEqual(sent, expected) else {
                throw WebError.forbidden("the sign-in form's token is missing or stale; reload the page")
            }
        } catch {
            return errorResponse(error, session: nil, back: "/sign-in")
        }
        let now = now()
        guard let reviewer = try? form.required("reviewer", max: 200), let passphrase = try? form.required("passphrase", max: 1024) else {
            return signInPage(message: "Enter your reviewer id and passphrase.", reviewer: "", status: .badRequest)
        }
        if let until = await sessions.lockedUntil(reviewer, now: now) {
            try workflow.logAccess(action: "web.sign-in-refused", reviewer: reviewer, address: context.address,
                                   details: ["reason": "locked out", "locked_until": Timestamp.string(from: until)], now: now)
            return signInPage(message: "Too many failed sign-ins: this id is locked until \(Timestamp.string(from: until)).",
                              reviewer: reviewer, status: .tooManyRequests)
        }
        let record: ReviewerRecord
        do {
            record = try ReviewerRegistry(store: store, actor: reviewer).authenticate(id: reviewer, passphrase: passphrase,
                                                                                      storePath: configuration.storePath)
        } catch {
            let lockedUntil = await sessions.failed(reviewer, now: now)
            var details = ["reason": Self.failureReason(error)]
            if let lockedUntil { details["locked_until"] = Timestamp.string(from: lockedUntil) }
            try workflow.logAccess(action: "web.sign-in-failed", reviewer: reviewer, address: context.address, details: details, now: now)
            if let lockedUntil {
                try workflow.logAccess(action: "web.lockout", reviewer: reviewer, address: context.address,
                                       details: ["locked_until": Timestamp.string(from: lockedUntil),
                                                 "max_failed_sign_ins": String(configuration.web.maxFailedSignIns)], now: now)
            }
            // One message for every failure: the page does not tell which ids exist.
            return signInPage(message: "Sign-in failed: unknown id, inactive reviewer or wrong passphrase.", reviewer: reviewer,
                              status: .unauthorized)
        }
        let role = WebRole(recordRole: record.role)
        let session = await sessions.create(reviewerId: record.id, printedName: record.name, role: role, address: context.address, now: now)
        try workflow.logAccess(action: "web.sign-in", reviewer: record.id, address: context.address,
                               details: ["role": role.rawValue, "user_agent": String((request.headers[.userAgent] ?? "").prefix(200))], now: now)
        var r = Self.redirect(role == .reviewer ? "/" : "/oversight")
        r.setCookie(cookie(Self.sessionCookie, session.id))
        r.setCookie(cookie(Self.signInCookie, "", maxAge: 0))
        return r
    }

    static func failureReason(_ error: Error) -> String {
        switch error {
        case ReviewError.reviewerUnknown: return "unknown reviewer id"
        case ReviewError.reviewerInactive: return "reviewer deactivated"
        case ReviewError.wrongPassphrase: return "wrong passphrase"
        default: return String(describing: error)
        }
    }

    // MARK: pages

    /// Rows the worklist renders; the counts cover every case, the filters reach the rest.
    static let worklistRows = 100

    func worklist(_ request: Request, _ session: WebSession) throws -> Response {
        let runFilter = request.uri.queryParameters.get("run").flatMap { $0.isEmpty ? nil : String($0) }
        let dispositionFilter = request.uri.queryParameters.get("disposition").flatMap { $0.isEmpty ? nil : String($0) }
        let list = try workflow.worklist(reviewer: session.reviewerId, run: runFilter, disposition: dispositionFilter, limit: Self.worklistRows)
        let counts = list.counts
        let runs = list.runs
        let body = pages.page("worklist", title: "Worklist", session: session, [
            "total": list.total, "shown": list.matching, "filtered": runFilter != nil || dispositionFilter != nil,
            "escalate": counts["escalate"] ?? 0, "secondReview": counts["second-review"] ?? 0, "review": counts["review"] ?? 0,
            "runs": runs.map { ["id": $0, "selected": $0 == runFilter] },
            "dispositions": ["escalate", "second-review", "review"].map { ["name": $0, "selected": $0 == dispositionFilter] },
            "hasItems": !list.items.isEmpty, "truncated": list.matching > list.items.count, "rows": Self.worklistRows,
            "itemRows": WebPages.worklistRows(list.items),
        ])
        return Self.response(.ok, type: "text/html; charset=utf-8", body: body)
    }

    func casePage(_ request: Request, _ context: ServeContext, _ session: WebSession, run: String, caseId: String,
                  ) throws -> Response {
        let expand = request.uri.queryParameters.get("expand")
        if let expand {
            guard expand == "scans" || expand == "neighbours" else { throw WebError.badRequest("expand must be scans or neighbours") }
        }
        let view = try workflow.caseView(caseId: caseId, runId: run, reviewer: session.reviewerId, address: context.address, now: now())
        if let expand { try workflow.evidenceOpened(caseId: caseId, runId: run, reviewer: session.reviewerId, part: expand, address: context.address, now: now()) }
        let elapsed = now().timeIntervalSince(view.openedAt)
        let remaining = max(0, Int((view.minSeconds - elapsed).rounded(.up)))
        var c: [String: Any?] = [
            "caseId": view.caseId, "runId": view.runId, "disposition": view.disposition, "required": view.reviewersRequired,
            "signatureCount": view.signatures.count, "reportVersion": view.reportVersion, "href": Self.caseHref(run: view.runId, caseId: view.caseId),
            "csrf": session.csrfToken, "blinded": view.blinded, "classes": view.classes,
            "hasSignatures": !view.signatures.isEmpty,
            "signatures": view.signatures.map { ["printedName": $0.printedName, "reviewerId": $0.reviewerId, "decision": $0.decision,
                                                 "meaning": $0.meaning, "signedAt": $0.signedAt] },
            "cannotSign": view.cannotSign,
            "maySign": view.cannotSign == nil && !view.blinded,
            "remaining": remaining, "waiting": remaining > 0, "minSeconds": WebSessionStore.format(view.minSeconds),
            "hasReasons": !view.overrideReasons.isEmpty, "reasons": view.overrideReasons,
            "signer": "\(session.printedName) (\(session.reviewerId))",
            "blindRead": view.blindReadClass,
        ]
        if let e = view.blindedEvidence {
            c["scans"] = e.scans; c["scanCount"] = e.scans.count; c["scansOpen"] = expand == "scans"
            c["neighbours"] = e.neighbours.map { ["caseId": $0.caseId, "distance": String(format: "%.3f", $0.distance), "verifiedBy": $0.verifiedBy] }
            c["neighbourCount"] = e.neighbours.count; c["neighboursOpen"] = expand == "neighbours"
        }
        if let report = view.report {
            c["sentence"] = report.prediction.map { String(format: "%@ — calibrated probability %.2f", $0.predictedClass, $0.calibratedConfidence) }
                ?? "The model's answer was not evaluated."
            let set = report.conformal?.predictionSet ?? []
            c["hasSet"] = !set.isEmpty; c["set"] = set
        }
        return Self.response(.ok, type: "text/html; charset=utf-8", body: pages.page("case", title: "Case \(caseId)", session: session, present(c)))
    }

    func sign(_ request: Request, _ context: ServeContext, _ session: WebSession, run: String, caseId: String, form: WebForm) throws -> Response {
        guard let decision = Review.SignOff.Decision(rawValue: try form.required("decision", max: 20)) else {
            throw WebError.badRequest("decision must be agree or override")
        }
        guard let meaning = Review.SignOff.Meaning(rawValue: try form.required("meaning", max: 20)) else {
            throw WebError.badRequest("meaning must be review or approval")
        }
        let className = try form.optional("class", max: 200)
        let reason = try form.optional("reason_code", max: 200)
        let note = try form.optional("note", max: 2000) ?? ""
        let passphrase = try form.required("passphrase", max: 1024)
        if decision == .override {
            guard className != nil else { throw WebError.badRequest("an override needs the class you decided on") }
            guard reason != nil else { throw WebError.badRequest("an override needs a reason code") }
        }
        let signRequest = ReviewWorkflow.SignRequest(
            caseId: caseId, runId: run, reviewer: session.reviewerId, decision: decision,
            className: decision == .agree ? nil : className, reasonCode: decision == .agree ? nil : reason,
            meaning: meaning, note: note, passphrase: passphrase, keyFile: nil, now: now())
        // A refusal (time still to wait, wrong passphrase, separation of duties) stores nothing and is
        // answered by the error page, with the way back to the case.
        let signed = try workflow.sign(signRequest, storePath: configuration.storePath)
        let body = pages.page("signed", title: "Signed", session: session, present([
            "caseId": caseId, "decision": signed.signOff.decision.rawValue, "meaning": signed.signOff.meaning.rawValue,
            "signedAt": signed.signOff.signedAt, "version": signed.newReportVersion, "catchTrial": signed.catchTrial?.sentence,
            "href": Self.caseHref(run: run, caseId: caseId),
        ]))
        return Self.response(.ok, type: "text/html; charset=utf-8", body: body)
    }

    func oversight(_ session: WebSession) throws -> Response {
        let figures = try workflow.statistics()
        let times = try workflow.reviewTimes()
        let evidence = Dictionary(uniqueKeysWithValues: try workflow.evidenceUse().map { ($0.reviewerId, $0) })
        let (log, checkpoint) = try workflow.logStatus()
        func pct(_ x: Double?) -> String { x.map { String(format: "%.0f%%", $0 * 100) } ?? "not evaluated" }
        let body = pages.page("oversight", title: "Oversight", session: session, present([
            "logClass": log.ok ? "ok" : "bad",
            "logStatus": log.ok ? "Verified: \(log.eventCount) events, \(log.checkpointsVerified) checkpoint(s), root \(log.rootHash.prefix(16))…"
                                : "FAILED: \(log.failures.first.map(String.init(describing:)) ?? "")",
            "checkpoint": checkpoint.map { ["size": $0.size, "root": $0.root] },
            "hasReviewers": !figures.isEmpty,
            "reviewers": figures.map { f -> [String: Any] in
                ["id": f.reviewerId, "reviews": f.reviews, "median": String(format: "%.0f", f.medianSeconds),
                 "agreement": pct(f.agreementRate), "lowAgreement": pct(f.lowConfidenceAgreementRate), "overrides": pct(f.overrideRate),
                 "blindAgreement": pct(f.blindReadAgreementRate), "catchTrials": f.catchTrials, "detected": f.catchTrialsDetected,
                 "flagged": f.flagged, "flags": f.reasons.isEmpty ? "—" : f.reasons.joined(separator: "; "),
                 "histogram": ReviewTimeHistogram.svg(times[f.reviewerId] ?? [], reviewer: f.reviewerId),
                 "evidence": evidence[f.reviewerId].map { "\($0.casesOpened) opened, \($0.reportViews) report views, \($0.evidenceExpanded) expansions" } ?? "—"]
            },
            "runs": try workflow.runsOverview().map { r -> [String: Any] in
                ["id": r.id, "href": "/runs/" + Self.pathSegment(r.id) + "/report", "study": r.study, "status": r.status,
                 "finished": r.finishedAt ?? "—", "cases": r.cases,
                 "dispositions": r.dispositions.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")]
            },
        ]))
        return Self.response(.ok, type: "text/html; charset=utf-8", body: body)
    }
}
