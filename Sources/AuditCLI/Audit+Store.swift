import ArgumentParser
import CaseStore
import Foundation
import Pipeline

extension Audit {
    struct Store: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "store", abstract: "The case store itself.", subcommands: [Info.self, Verify.self])
    }
}

extension Audit.Store {
    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Studies, case counts per split and class, models, and the audit log's size.")
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var output: OutputOptions

        struct StoreInfo: Encodable {
            let path: String
            let bytes: Int64
            let studies: [StudyOverview]
            let cases: Int
            let scans: Int
            let models: Int
            let auditEvents: Int
            let migrations: [String]
            enum CodingKeys: String, CodingKey {
                case path, bytes, studies, cases, scans, models, migrations
                case auditEvents = "audit_events"
            }
        }

        func run() throws {
            let store = try storeOptions.openExisting()
            let info = try store.read { db -> StoreInfo in
                let census = try CaseStore.census(db)
                let attributes = try? FileManager.default.attributesOfItem(atPath: storeOptions.store)
                let bytes = (attributes?[.size] as? NSNumber)?.int64Value ?? 0
                return StoreInfo(path: storeOptions.store, bytes: bytes, studies: try CaseStore.studyOverviews(db),
                                 cases: census.cases, scans: census.scans, models: census.models,
                                 auditEvents: census.auditEvents, migrations: census.migrations)
            }
            if output.json { try Console.json(info); return }
            Console.out("case store \(info.path) (\(info.bytes) bytes): \(info.cases) cases, \(info.scans) scans, "
                        + "\(info.models) models, audit log \(info.auditEvents) events")
            for s in info.studies {
                let splits = Split.allCases.compactMap { sp in s.splitCounts[sp.rawValue].map { "\(sp.rawValue) \($0)" } }
                    .joined(separator: ", ")
                let classes = s.classes.map { "\($0) \(s.classCounts[$0] ?? 0)" }.joined(separator: ", ")
                Console.out("""
                    study \(s.name): \(s.cases) cases, \(s.scans) scans; \(s.channels.count) channels
                      splits: \(splits.isEmpty ? "—" : splits)
                      classes: \(classes)\(s.unlabelled > 0 ? ", unlabelled \(s.unlabelled)" : "")
                      \(s.description)
                    """)
            }
        }
    }
}

extension Audit.Store {
    /// `audit store verify`: the log proves itself, and vouches for every record.
    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check every record against the log event that attests it, and the log itself; exit 1 on any problem.",
            discussion: """
                Recomputes the SHA-256 of every case, scan, study, model, calibrator, embedding, run, \
                assessment, report version, reviewer and key, review session, sign-off and catch trial, and \
                compares it with the newest event that attests it; a record no event attests (written around \
                the log) or an attested record that is gone (deleted) is a problem too. Each problem names the \
                table, the record's key and the event. The log is verified first (`audit log verify`): give \
                --public-key with the key you trust, and --checkpoint FILE or --witness DIR so that a store \
                copied back over today's (a rollback) is caught.
                """)
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var output: OutputOptions
        @Option(name: .customLong("public-key"), help: "File with the trusted verifier key (<name>+<key id>+<key>).") var publicKey: String?
        @Option(help: "An earlier exported signed checkpoint; the log must extend it.") var checkpoint: String?
        @Option(help: "A witness folder (`audit log checkpoint --witness`); the log must extend its newest checkpoint.") var witness: String?

        func validate() throws {
            if checkpoint != nil && witness != nil { throw ValidationError("give --checkpoint or --witness, not both") }
        }

        func run() throws {
            let store = try storeOptions.openExisting()
            let bar = ProgressBar(total: 0, label: "verify", enabled: output.showsProgress && !output.json)
            let report = try StoreVerifyJob(store: store, publicKeyFile: publicKey, checkpointFile: checkpoint, witness: witness)
                .run { _, done in bar.update(done, total: max(done, 1)) }
            bar.finish()
            if output.json {
                try Console.json(report)
            } else {
                let checked = report.records.recordsChecked.values.reduce(0, +)
                Console.out("log             \(report.log.eventCount) events, \(report.log.ok ? "verified" : "FAILED")\(report.witnessedSize.map { "; extends the witnessed checkpoint of size \($0)" } ?? "")")
                Console.out("records         \(checked) checked in \(report.records.recordsChecked.filter { $0.value > 0 }.count) tables; \(report.records.attestingEvents) attesting events")
                for f in report.log.failures.prefix(20) { Console.out("FAIL            log: \(f)") }
                for p in report.records.problems.prefix(50) { Console.out("FAIL            \(p)") }
                let more = report.records.problems.count - min(report.records.problems.count, 50) + report.records.problemsNotListed
                if more > 0 { Console.out("FAIL            … \(more) more record problems (--json lists them)") }
                Console.out(report.ok ? "OK              every record is what the log attests" : "FAILED          first problem: \(report.firstProblem ?? "?")")
                if !output.quiet { for n in report.notes { Console.err("note: \(n)") } }
            }
            if !report.ok {
                throw CLIError.checkFailed("store verification failed: \(report.log.failures.count + report.records.problems.count + report.records.problemsNotListed) problem(s); first: \(report.firstProblem ?? "?")")
            }
        }
    }
}
