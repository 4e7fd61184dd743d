import ArgumentParser
import CaseStore
import Foundation
import Pipeline

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
            let job = LogJob(store: store)
            let showsProgress = output.showsProgress && !output.json
            let total = showsProgress ? ((try? job.treeSize()) ?? 0) : 0
            let bar = ProgressBar(total: total, label: "verify", enabled: showsProgress)
            let started = Date()
            let report = try job.verify(publicKeyFile: publicKey, checkpointFile: checkpoint) { bar.update($0) }
            bar.finish()
            let trusted = publicKey
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

        func run() async throws {
            let store = try storeOptions.openExisting()
            let log = try LogJob(store: store).events(since: since, limit: limit)
            if output.json {
                try Console.json(log)
            } else {
                for e in log.events {
                    Console.out("\(e.seq)\t\(e.time)\t\(e.actor)\t\(e.action)\t\(e.subjectType):\(e.subjectId)\t\(e.leafHash.prefix(16))\t\(e.payload)")
                }
                if !output.quiet { Console.err("\(log.events.count) event(s) shown; tree size \(log.treeSize), root \(log.rootHash)") }
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
        @Option(help: "Also append the checkpoint to this witness folder (keep it on another machine or medium).") var witness: String?

        func run() async throws {
            let store = try storeOptions.openExisting()
            let cp = try LogJob(store: store).checkpoint(latest: latest, keyPath: keyOptions.logKey, witness: witness)
            if output.json {
                try Console.json(["origin": cp.origin, "tree_size": String(cp.treeSize), "root_hash": cp.rootHash,
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
            let key = try LogJob(store: store).key()
            if output.json {
                try Console.json(["name": key.name, "key_id": key.keyId, "public_key": key.publicKeyBase64,
                                  "verifier_key": key.verifierKey])
            } else {
                Console.out(key.verifierKey)
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
    /// A proof whose checkpoint does not verify is a failed check (exit 1).
    static func checked<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as LogJob.UnverifiedCheckpoint { throw CLIError.checkFailed(e.description) }
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
            let p = try checked { try LogJob(store: store).inclusion(seq: seq, size: size) }
            if output.json {
                try Console.json(p)
            } else {
                Console.out("event       \(p.seq)")
                Console.out("leaf hash   \(p.leafHash)")
                Console.out("tree size   \(p.treeSize)")
                Console.out("root        \(p.rootHash)")
                for (i, h) in p.proof.enumerated() { Console.out("proof[\(i)]    \(h)") }
                Console.out(p.verified ? "verified against the signed checkpoint" : "NOT verified against the signed checkpoint")
            }
            if !p.verified { throw CLIError.checkFailed("inclusion proof of event \(seq) does not verify against checkpoint \(p.treeSize)") }
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
            let p = try checked { try LogJob(store: store).consistency(from: m, to: n) }
            if output.json {
                try Console.json(p)
            } else {
                Console.out("size \(m) root \(p.root1)")
                Console.out("size \(n) root \(p.root2)")
                for (i, h) in p.proof.enumerated() { Console.out("proof[\(i)]    \(h)") }
                Console.out(p.verified ? "verified: size \(m) is a prefix of size \(n)" : "NOT verified")
            }
            if !p.verified { throw CLIError.checkFailed("consistency proof \(m) → \(n) does not verify") }
        }
    }
}
