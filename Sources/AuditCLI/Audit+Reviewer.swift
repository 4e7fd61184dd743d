import ArgumentParser
import CaseStore
import Foundation
import Pipeline
import Review

extension Audit {
    struct Reviewer: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reviewer",
            abstract: "Reviewers, their keys, deactivation and key rotation (all logged).",
            subcommands: [Add.self, Deactivate.self, RotateKey.self, List.self])
    }
}

/// `--operator`-style actor recorded in the log: who ran the command.
struct ActorOptions: ParsableArguments {
    @Option(name: .customLong("actor"), help: "Who is running this command (recorded in the log); default: the system user.")
    var actor: String = ProcessInfo.processInfo.environment["USER"] ?? NSUserName()
}

extension Audit.Reviewer {
    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a reviewer and an Ed25519 key sealed under a passphrase.")
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var actorOptions: ActorOptions
        @OptionGroup var output: OutputOptions
        @Option(help: "Reviewer id.") var id: String
        @Option(help: "Printed name (shown with every signature, 21 CFR 11.50).") var name: String
        @Option(help: "Role, e.g. dermatologist.") var role: String
        @Option(help: "Read the passphrase from this file descriptor instead of the terminal.") var passphraseFd: Int32?
        @Option(help: "Key file path (default: beside the store).") var keyFile: String?

        func run() async throws {
            let store = try storeOptions.open()
            let passphrase = try Passphrase.read(fd: passphraseFd, prompt: "Passphrase for \(id): ")
            let url = keyFile.map { URL(fileURLWithPath: $0) }
                ?? ReviewerRegistry.defaultKeyFile(storePath: storeOptions.store, reviewerId: id, version: 1)
            let r = try ReviewCommandErrors.map { try ReviewerRegistry(store: store, actor: actorOptions.actor)
                .add(id: id, name: name, role: role, passphrase: passphrase, keyFile: url) }
            if output.json {
                try Console.json(["reviewer_id": r.id, "name": r.name, "role": r.role, "key_file": url.path])
            } else {
                Console.out("reviewer \(r.id) (\(r.name), \(r.role)) added; key file \(url.path)")
            }
        }
    }

    struct Deactivate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Deactivate a reviewer (old signatures stay verifiable).")
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var actorOptions: ActorOptions
        @Option(help: "Reviewer id.") var id: String
        @Option(help: "Why.") var reason: String = ""

        func run() async throws {
            let store = try storeOptions.openExisting()
            try ReviewCommandErrors.map { try ReviewerRegistry(store: store, actor: actorOptions.actor).deactivate(id: id, reason: reason) }
            Console.out("reviewer \(id) deactivated")
        }
    }

    struct RotateKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rotate-key", abstract: "Issue a new key version; the old public key is kept.")
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var actorOptions: ActorOptions
        @Option(help: "Reviewer id.") var id: String
        @Option(help: "Read the new passphrase from this file descriptor.") var passphraseFd: Int32?
        @Option(help: "New key file path (default: beside the store).") var keyFile: String?

        func run() async throws {
            let store = try storeOptions.openExisting()
            let passphrase = try Passphrase.read(fd: passphraseFd, prompt: "New passphrase for \(id): ")
            let next = try store.read { db in (try CaseStore.reviewerKeys(db, reviewerId: id).map(\.version).max() ?? 0) + 1 }
            let url = keyFile.map { URL(fileURLWithPath: $0) }
                ?? ReviewerRegistry.defaultKeyFile(storePath: storeOptions.store, reviewerId: id, version: next)
            let version = try ReviewCommandErrors.map { try ReviewerRegistry(store: store, actor: actorOptions.actor)
                .rotateKey(id: id, passphrase: passphrase, keyFile: url) }
            Console.out("reviewer \(id): key version \(version) in \(url.path)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List reviewers.")
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let store = try storeOptions.openExisting()
            let rows = try store.read { db in
                try CaseStore.reviewers(db).map { r in
                    ReviewerRow(id: r.id, name: r.name, role: r.role, active: r.active,
                                key_versions: try CaseStore.reviewerKeys(db, reviewerId: r.id).count)
                }
            }
            if output.json { try Console.json(["reviewers": rows]) } else {
                for r in rows { Console.out("\(r.id)\t\(r.name)\t\(r.role)\t\(r.active ? "active" : "inactive")\tkeys: \(r.key_versions)") }
            }
        }
    }
}

struct ReviewerRow: Encodable { var id: String, name: String, role: String, active: Bool, key_versions: Int }

/// Sign-off refusals are bad input for the command (65), unknown reviewers missing records (66).
enum ReviewCommandErrors {
    static func map<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as ReviewError {
            switch e {
            case .reviewerUnknown, .keyFileMissing: throw CLIError.missing(e.description)
            default: throw CLIError.badInput(e.description)
            }
        }
    }
}
