import Foundation
import Policy

/// What a signed-in person may do: reviewers sign; governance watches (oversight, read-only);
/// auditors read. Taken from the reviewer record's role: `governance` and `auditor` are those
/// roles, any other role (dermatologist, haematologist…) is a reviewer.
public enum WebRole: String, Sendable {
    case reviewer, governance, auditor

    public init(recordRole: String) {
        switch recordRole.lowercased() {
        case "governance": self = .governance
        case "auditor": self = .auditor
        default: self = .reviewer
        }
    }
}

/// One server-side session: the cookie carries only its random id.
public struct WebSession: Sendable {
    public var id: String
    public var reviewerId: String
    public var printedName: String
    public var role: WebRole
    /// Bound to the session; every state-changing request must carry it.
    public var csrfToken: String
    public var createdAt: Date
    public var lastSeen: Date
    public var address: String
}

/// Sessions and failed sign-ins, in memory: a restart signs everyone out, which is the safe side.
/// Idle and absolute timeouts and the lock-out come from the policy's `web` section.
public actor WebSessionStore {
    public let rules: AuditPolicy.WebRules
    private var sessions: [String: WebSession] = [:]
    private var failures: [String: (count: Int, lockedUntil: Date?)] = [:]

    public init(rules: AuditPolicy.WebRules) { self.rules = rules }

    /// A random 256-bit token, hex (the system's cryptographic generator).
    public static func token() -> String {
        var g = SystemRandomNumberGenerator()
        return (0..<4).map { _ in String(format: "%016llx", g.next() as UInt64) }.joined()
    }

    public func create(reviewerId: String, printedName: String, role: WebRole, address: String, now: Date) -> WebSession {
        let s = WebSession(id: Self.token(), reviewerId: reviewerId, printedName: printedName, role: role,
                           csrfToken: Self.token(), createdAt: now, lastSeen: now, address: address)
        sessions[s.id] = s
        failures[reviewerId] = nil
        return s
    }

    public enum Lookup: Sendable {
        case active(WebSession)
        /// The session existed and timed out (idle or absolute): the reviewer must sign in again.
        case expired(WebSession, reason: String)
        case none
    }

    /// The session for a cookie value, touched (its idle clock restarts) when still valid.
    public func session(_ id: String?, now: Date) -> Lookup {
        guard let id, var s = sessions[id] else { return .none }
        if now.timeIntervalSince(s.lastSeen) > rules.idleTimeoutMinutes * 60 {
            sessions[id] = nil
            return .expired(s, reason: "idle for more than \(Self.format(rules.idleTimeoutMinutes)) minutes")
        }
        if now.timeIntervalSince(s.createdAt) > rules.absoluteTimeoutHours * 3600 {
            sessions[id] = nil
            return .expired(s, reason: "signed in more than \(Self.format(rules.absoluteTimeoutHours)) hours ago")
        }
        s.lastSeen = now
        sessions[id] = s
        return .active(s)
    }

    public func end(_ id: String) { sessions[id] = nil }

    /// Until when a reviewer id is locked out (nil: not locked).
    public func lockedUntil(_ reviewerId: String, now: Date) -> Date? {
        guard let until = failures[reviewerId]?.lockedUntil else { return nil }
        if until <= now { failures[reviewerId] = nil; return nil }
        return until
    }

    /// Counts a failed sign-in; returns the lock-out's end when this failure starts one.
    public func failed(_ reviewerId: String, now: Date) -> Date? {
        var f = failures[reviewerId] ?? (0, nil)
        f.count += 1
        if f.count >= rules.maxFailedSignIns {
            let until = now.addingTimeInterval(rules.lockoutMinutes * 60)
            failures[reviewerId] = (0, until)
            return until
        }
        failures[reviewerId] = f
        return nil
    }

    static func format(_ x: Double) -> String { x == x.rounded() ? String(Int(x)) : String(x) }
}

/// Compares secrets in time independent of where they differ.
func constantTimeEqual(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8), y = Array(b.utf8)
    guard x.count == y.count else { return false }
    var d: UInt8 = 0
    for i in x.indices { d |= x[i] ^ y[i] }
    return d == 0
}
