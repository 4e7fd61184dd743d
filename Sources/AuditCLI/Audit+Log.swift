import ArgumentParser
import AuditLog
import CaseStore
import Digests
import Foundation

extension Audit {
    struct Log: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "log",
            abstract: "The tamper-evident audit log: verify, show, checkpoints, proofs, key.",
            subcommands: [Verify.self, Show.self, CheckpointCommand.self, Prove.self, Key.self])
    }
}

/// `--log-key PATH`: the log's private key file.
struct LogKeyOptions: ParsableArguments {
    @Option(name: .customLong("log-key"), help: "Log signing key file (default: <store>.logkey).")
    var logKey: String?
}

extension Audit.Log {
    /// Reads a file or fails with exit 66 naming it.
    static func readFile(_ path: String, what: String) throws -> String {
        guard FileManager.default.fileExists(atPath: path) else { throw CLIError.missing("\(what) \(path) does not exist") }
        do { return try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw CLIError.badInput("\(what) \(path): \(error.localizedDescription)")
        }
    }

    /// The store's single log key as a verifier, or exit 66.
    static func storeKey(_ store: CaseStore) throws -> LogVerifierKey {
        let keys = try mapped { try store.read { db in try AuditLog.registeredKeys(db) } }
        guard let key = keys.first else { throw CLIError.missing("the store has no log key yet (it is created with the first checkpoint: `audit log checkpoint`)") }
        return key
    }

    /// Maps library errors onto CLI exit codes (bad data: 65).
    static func mapped<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as AuditLogError {
            switch e {
            case .outOfRange: throw CLIError.missing(e.description)
            default: throw CLIError.badInput(e.description)
            }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Recompute every leaf, the root, every checkpoint's signature and consistency; exit 1 on any failure.",
            discussion: """
                Without --public-key the signatures are checked with the key stored in the log itself, \
                which whoever holds the file could replace: give the key you trust (from `audit log key`, \
                kept elsewhere). --checkpoint takes a checkpoint exported earlier (`audit log checkpoint`) \
                and catches a truncated tail.
                """)
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var output: OutputOptions
        @Option(help: "An earlier exported signed checkpoint; the log must extend it.") var checkpoint: String?
        @Option(name: .customLong("public-key"), help: "File with the trusted verifier key (<name>+<key id>+<key>).") var publicKey: String?

        func run() async throws {
            let store = try storeOptions.openExisting()
            let trusted = try publicKey.map { path in
                try mapped { do { return try LogVerifierKey(string: try readFile(path, what: "public key file")) } catch let e as AuditLogError {
                    throw AuditLogError.invalidKey("\(path) line 1: \(e)")
                } }
            }
            let earlier = try checkpoint.map { path in
                try mapped { do { return try Checkpoint.parse(try readFile(path, what: "checkpoint file")) } catch let e as AuditLogError {
                    throw AuditLogError.invalidCheckpoint("\(path): \(e)")
                } }
            }
            let showsProgress = output.showsProgress && !output.json
            // The frontier's size is the expected count; counting rows would cost a full scan.
            let total = showsProgress ? ((try? store.read { db in try AuditLog.treeSize(db) }) ?? 0) : 0
            let bar = ProgressBar(total: total, label: "verify", enabled: showsProgress)
            let started = Date()
            let report = try store.read { db in
                try AuditLog.verify(db, trustedKey: trusted, earlierCheckpoint: earlier) { bar.update($0) }
            }
            bar.finish()
            let seconds = Date().timeIntervalSince(started)
            if output.json {
                try Console.json(report)
            } else if !output.quiet || !report.ok {
                Console.out("events          \(report.eventCount)")
                Console.out("root            \(report.rootHash)")
                Console.out("checkpoints     \(report.checkpointsVerified) of \(report.checkpointsTotal) verified; latest good size \(report.latestCheckpointSize.map(String.init) ?? "none"); \(report.unsignedEvents) events not yet checkpointed")
                Console.out("key             \(report.verifierKey ?? "none") (\(report.keySource))")
                if let size = report.earlierCheckpointSize {
                    Console.out("earlier         size \(size): \(report.earlierCheckpointConsistent == true ? "consistent" : "NOT consistent")")
                }
                for f in report.failures { Console.out("FAIL            \(f)") }
                if report.failuresTruncated { Console.out("FAIL            … more failures not listed") }
                Console.out(report.ok ? "OK              log verified in \(String(format: "%.2f", seconds)) s"
                                      : "FAILED          first bad sequence number: \(report.firstBadSeq.map(String.init) ?? "none (checkpoint or key failure)")")
            }
            if trusted == nil && report.ok && !output.json {
                Console.err("note: checked against the key stored in the log; pass --public-key with a key kept elsewhere to rule out a replaced key")
            }
            if !report.ok {
                throw CLIError.checkFailed("audit log verification failed: \(report.failures.count)\(report.failuresTruncated ? "+" : "") failure(s), first bad seq \(report.firstBadSeq.map(String.init) ?? "none")")
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print events; --json gives each canonical entry so anyone can recompute the tree.")
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var output: OutputOptions
        @Option(help: "First sequence number to show.") var since: Int = 0
        @Option(help: "Show at most this many events.") var limit: Int?

        func validate() throws {
            if since < 0 { throw ValidationError("--since must be ≥ 0") }
            if let limit, limit < 1 { throw ValidationError("--limit must be ≥ 1") }
        }

        struct Entry: Encodable {
            var seq: Int
            var time: String
            var actor: String
            var action: String
            var subject: AuditSubject
            var payload: String
            var payload_sha256: String
            var leaf_hash: String
            var canonical: String
        }

        struct Document: Encodable {
            var tree_size: Int
            var root_hash: String
            var events: [Entry]
        }

        func run() async throws {
            let store = try storeOptions.openExisting()
            let (events, size, root) = try store.read { db in
                (try AuditLog.events(db, since: since, limit: limit), try AuditLog.treeSize(db), try AuditLog.rootHash(db))
            }
            if output.json {
                try Console.json(Document(tree_size: size, root_hash: ContentHash.hex(root), events: events.map {
                    Entry(seq: $0.seq, time: $0.time, actor: $0.actor, action: $0.action, subject: $0.subject,
                          payload: $0.payload, payload_sha256: $0.payloadSHA256, leaf_hash: ContentHash.hex($0.leafHash),
                          canonical: $0.canonicalEntry)
                }))
            } else {
                for e in events {
                    Console.out("\(e.seq)\t\(e.time)\t\(e.actor)\t\(e.action)\t\(e.subject.type):\(e.subject.id)\t\(ContentHash.hex(e.leafHash).prefix(16))\t\(e.payload)")
                }
                if !output.quiet { Console.err("\(events.count) event(s) shown; tree size \(size), root \(ContentHash.hex(root))") }
            }
        }
    }

    struct CheckpointCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "checkpoint",
            abstract: "Sign a checkpoint of the current tree (if it grew) and print it for an outside witness.",
            discussion: "Save the printed note somewhere else: `audit log verify --checkpoint FILE` later proves the log only grew.")
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var keyOptions: LogKeyOptions
        @OptionGroup var output: OutputOptions
        @Flag(help: "Print the latest stored checkpoint without signing a new one.") var latest = false

        func run() async throws {
            let store = try storeOptions.openExisting()
            let cp: Checkpoint
            if latest {
                guard let stored = try mapped({ try store.read { db in try AuditLog.latestCheckpoint(db) } }) else {
                    throw CLIError.missing("the store has no checkpoint yet")
                }
                cp = stored
            } else {
                let signer = try mapped { try LogSigner.openOrCreate(for: store, keyPath: keyOptions.logKey) }
                cp = try mapped { try store.signCheckpoint(signer: signer) }
            }
            if output.json {
                try Console.json(["origin": cp.origin, "tree_size": String(cp.treeSize), "root_hash": ContentHash.hex(cp.rootHash),
                                  "time": cp.time ?? "", "note": cp.note])
            } else {
                Console.write(Data(cp.note.utf8))
            }
        }
    }

    struct Key: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the log's public key as a C2SP signed-note verifier key.")
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let store = try storeOptions.openExisting()
            let key = try storeKey(store)
            if output.json {
                try Console.json(["name": key.name, "key_id": ContentHash.hex(key.keyID), "public_key": key.publicKey.base64EncodedString(),
                                  "verifier_key": key.string])
            } else {
                Console.out(key.string)
            }
        }
    }

    struct Prove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Inclusion and consistency proofs, checked against the stored signed checkpoints.",
            subcommands: [Inclusion.self, Consistency.self])
    }
}

extension Audit.Log.Prove {
    /// The stored checkpoint of `size` (or the latest if nil), verified with the store's key.
    static func verifiedCheckpoint(_ store: CaseStore, size: Int?) throws -> VerifiedCheckpoint {
        let key = try Audit.Log.storeKey(store)
        let cp = try Audit.Log.mapped { try store.read { db in
            try size.map { try AuditLog.checkpoint(db, treeSize: $0) } ?? AuditLog.latestCheckpoint(db)
        } }
        guard let cp else {
            throw CLIError.missing(size.map { "no stored checkpoint of size \($0) (sign one with `audit log checkpoint`)" }
                                   ?? "the store has no checkpoint yet (sign one with `audit log checkpoint`)")
        }
        do { return try cp.verify(with: key) } catch {
            throw CLIError.checkFailed("stored checkpoint of size \(cp.treeSize) does not verify: \(error)")
        }
    }

    struct Inclusion: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Prove that event SEQ is in the tree of a signed checkpoint (default: the latest).")
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "Sequence number of the event.") var seq: Int
        @Option(help: "Tree size of the checkpoint to prove against (default: latest).") var size: Int?

        func validate() throws { if seq < 0 { throw ValidationError("SEQ must be ≥ 0") } }

        func run() async throws {
            let store = try storeOptions.openExisting()
            let cp = try verifiedCheckpoint(store, size: size)
            guard seq < cp.treeSize else { throw CLIError.missing("event \(seq) is not covered by the checkpoint of size \(cp.treeSize)") }
            let (event, proof) = try Audit.Log.mapped { try store.read { db in
                (try AuditLog.event(db, seq: seq), try AuditLog.inclusionProof(db, seq: seq, treeSize: cp.treeSize))
            } }
            guard let event else { throw CLIError.missing("event \(seq) is not in the log") }
            let leaf = event.computedLeafHash()
            var verified = true
            do { try cp.verifyInclusion(index: seq, leafHash: leaf, proof: proof) } catch { verified = false }
            if output.json {
                struct Out: Encodable {
                    var seq: Int; var tree_size: Int; var leaf_hash: String; var canonical: String
                    var proof: [String]; var checkpoint: String; var verified: Bool
                }
                try Console.json(Out(seq: seq, tree_size: cp.treeSize, leaf_hash: ContentHash.hex(leaf), canonical: event.canonicalEntry,
                                     proof: proof.map { $0.base64EncodedString() }, checkpoint: cp.checkpoint.note, verified: verified))
            } else {
                Console.out("event       \(seq)")
                Console.out("leaf hash   \(ContentHash.hex(leaf))")
                Console.out("tree size   \(cp.treeSize)")
                Console.out("root        \(ContentHash.hex(cp.rootHash))")
                for (i, h) in proof.enumerated() { Console.out("proof[\(i)]    \(h.base64EncodedString())") }
                Console.out(verified ? "verified against the signed checkpoint" : "NOT verified against the signed checkpoint")
            }
            if !verified { throw CLIError.checkFailed("inclusion proof of event \(seq) does not verify against checkpoint \(cp.treeSize)") }
        }
    }

    struct Consistency: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Prove that the tree of size M is a prefix of the tree of size N (both signed checkpoints).")
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "Older tree size.") var m: Int
        @Argument(help: "Newer tree size.") var n: Int

        func validate() throws {
            guard m > 0, m <= n else { throw ValidationError("need 0 < M ≤ N") }
        }

        func run() async throws {
            let store = try storeOptions.openExisting()
            let old = try verifiedCheckpoint(store, size: m)
            let new = try verifiedCheckpoint(store, size: n)
            let proof = try Audit.Log.mapped { try store.read { db in try AuditLog.consistencyProof(db, oldSize: m, newSize: n) } }
            var verified = true
            do { try old.verifyConsistency(to: new, proof: proof) } catch { verified = false }
            if output.json {
                struct Out: Encodable {
                    var size1: Int; var size2: Int; var root1: String; var root2: String
                    var proof: [String]; var verified: Bool
                }
                try Console.json(Out(size1: m, size2: n, root1: ContentHash.hex(old.rootHash), root2: ContentHash.hex(new.rootHash),
                                     proof: proof.map { $0.base64EncodedString() }, verified: verified))
            } else {
                Console.out("size \(m) root \(ContentHash.hex(old.rootHash))")
                Console.out("size \(n) root \(ContentHash.hex(new.rootHash))")
                for (i, h) in proof.enumerated() { Console.out("proof[\(i)]    \(h.base64EncodedString())") }
                Console.out(verified ? "verified: size \(m) is a prefix of size \(n)" : "NOT verified")
            }
            if !verified { throw CLIError.checkFailed("consistency proof \(m) → \(n) does not verify") }
        }
    }
}
