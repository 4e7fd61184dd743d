import ArgumentParser
import CaseStore
import Foundation
import Hummingbird
import Logging
import Pipeline
import Policy
import ReviewServer

extension Audit {
    /// `audit serve`: the reviewers' web application over the store.
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Serve the reviewers' web app: worklist, case review with blind first read, signing, oversight.",
            discussion: """
                Binds to 127.0.0.1 by default. Put it behind a TLS-terminating proxy (nginx, a hospital \
                gateway) for any other address, and pass --secure-cookies there. Stops cleanly on SIGINT/SIGTERM.
                """)

        @OptionGroup var storeOptions: StoreOptions
        @Option(help: "Address to bind.") var host = "127.0.0.1"
        @Option(help: "Port to listen on (0: any free port, printed at start).") var port = 8080
        @Option(help: "Policy whose `web` section sets session and sign-in rules (a file, or a shipped name; default: default).")
        var policy: String?
        @Flag(help: "Mark the session cookie Secure (when a TLS proxy is in front).") var secureCookies = false
        @Option(help: "PEM certificate chain: serve HTTPS (with --tls-key).") var tlsCert: String?
        @Option(help: "PEM private key of --tls-cert.") var tlsKey: String?
        @Flag(help: "Create the demo store when missing (as `audit run --demo`), add demo reviewers, and serve it.") var demo = false
        @Flag(help: "No access log on stderr.") var quiet = false

        func run() async throws {
            let storePath = storeOptions.storeArgument ?? (demo ? DemoScript.defaultStorePath : storeOptions.store)
            if demo {
                if !FileManager.default.fileExists(atPath: storePath) {
                    try await DemoScript(storePath: storePath, runsFolder: DemoScript.defaultRunsFolder, templates: nil, logKey: nil,
                                         quiet: quiet, json: false).run()
                }
                try DemoReviewers.ensure(store: try CaseStore(path: storePath), storePath: storePath)
            }
            guard FileManager.default.fileExists(atPath: storePath) else {
                throw CLIError.missing("case store \(storePath) does not exist (try `audit serve --demo`)")
            }
            let rules: AuditPolicy
            do {
                if let policy, ShippedPolicy(rawValue: policy) == nil { rules = try AuditPolicy.load(path: policy) }
                else { rules = try AuditPolicy.shipped(policy ?? "default") }
            } catch let e as PolicyError { throw CLIError.badInput("\(e)") }
            guard (tlsCert == nil) == (tlsKey == nil) else {
                throw ValidationError("--tls-cert and --tls-key go together")
            }
            for file in [tlsCert, tlsKey].compactMap({ $0 }) where !FileManager.default.fileExists(atPath: file) {
                throw CLIError.missing("TLS file \(file) does not exist")
            }
            let tls = tlsCert.map { (certificateChain: $0, privateKey: tlsKey!) }
            if !Self.isLoopback(host) && !secureCookies && tls == nil {
                Console.err("warning: serving \(host) without TLS: sign-in passphrases and session cookies would cross the network in clear. Pass --tls-cert and --tls-key, or put audit serve behind a TLS proxy and pass --secure-cookies.")
            }
            var logger = Logger(label: "countersign.serve")
            logger.logLevel = quiet ? .warning : .info
            let server = try ReviewServer(store: try CaseStore(path: storePath), configuration: .init(
                storePath: storePath, host: host, port: port, web: rules.web, secureCookies: secureCookies, tls: tls))
            let scheme = tls == nil ? "http" : "https"
            do {
                let app = try server.application(logger: logger) { [host] bound in
                    Console.err("serving \(storePath) at \(scheme)://\(host):\(bound)/ (Ctrl-C stops)")
                }
                try await app.runService()
            } catch let e as ReviewServer.ServeError { throw CLIError.badInput("\(e)") }
        }

        static func isLoopback(_ host: String) -> Bool {
            host == "127.0.0.1" || host == "::1" || host == "localhost" || host.hasPrefix("127.")
        }
    }
}

/// The demo's reviewers, so that sign-off can be tried at once: two clinicians and a governance
/// lead, all with the passphrase `countersign-demo` (printed by `audit serve --demo`; never for real use).
enum DemoReviewers {
    static let passphrase = "countersign-demo"
    static let people: [(id: String, name: String, role: String)] = [
        ("dr-lee", "Dr Ada Lee", "dermatologist"),
        ("dr-okafor", "Dr Chidi Okafor", "dermatologist"),
        ("gov-ng", "Mei Ng", "governance"),
    ]

    static func ensure(store: CaseStore, storePath: String) throws {
        let registry = ReviewerRegistry(store: store, actor: "demo")
        let known = Set(try store.read { db in try CaseStore.reviewers(db).map(\.id) })
        for p in people where !known.contains(p.id) {
            _ = try registry.add(id: p.id, name: p.name, role: p.role, passphrase: passphrase,
                                 keyFile: ReviewerRegistry.defaultKeyFile(storePath: storePath, reviewerId: p.id, version: 1))
        }
        Console.err("demo reviewers: \(people.map { "\($0.id) (\($0.role))" }.joined(separator: ", ")); passphrase '\(passphrase)'")
    }
}
