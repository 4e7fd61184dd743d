import ArgumentParser
import CaseStore
import Foundation
import Pipeline

extension Audit.Cases {
    /// `audit cases verify`: outcomes that arrive after the run (biopsy, follow-up), one case from the
    /// command line or many from a CSV, all or nothing, each logged.
    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record the ground truth of assessed cases (one, or a CSV file), logged; corrections need a reason.",
            discussion: """
                audit cases verify CASE --label L --verified-by WHO --source biopsy [--verified-at DATE]
                audit cases verify --csv FILE   (header: case_id,label,verified_by,source[,verified_at][,reason])
                Sources: \(OutcomeJob.sources.joined(separator: ", ")). A case that already has an outcome keeps it: \
                the same label again changes nothing; a different one is a correction, stored beside the \
                earlier outcome with --reason (the CSV's reason column) and logged as case.outcome-corrected. \
                On any error (exit 65, naming file, line and field) nothing is stored.
                """)
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var actorOptions: ActorOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "Case id (or use --csv).") var caseId: String?
        @Option(help: "The class established (with CASE).") var label: String?
        @Option(help: "Who established it, e.g. the pathologist (with CASE).") var verifiedBy: String?
        @Option(help: "How it was established (with CASE): \(OutcomeJob.sources.joined(separator: "|")).") var source: String?
        @Option(help: "When it was established: RFC 3339 time or YYYY-MM-DD (default: now).") var verifiedAt: String?
        @Option(help: "Why an earlier outcome is corrected (only for a correction).") var reason: String?
        @Option(help: "A CSV file of outcomes instead of CASE.") var csv: String?

        func validate() throws {
            if let csv {
                guard caseId == nil, label == nil, verifiedBy == nil, source == nil, verifiedAt == nil, reason == nil else {
                    throw ValidationError("--csv \(csv) carries every field; give either CASE with its options or --csv")
                }
                return
            }
            guard caseId != nil else { throw ValidationError("give a CASE id (with --label, --verified-by, --source) or --csv FILE") }
            for (name, value) in [("--label", label), ("--verified-by", verifiedBy), ("--source", source)] where value == nil {
                throw ValidationError("\(name) is needed with CASE")
            }
        }

        func run() throws {
            let store = try storeOptions.openExisting()
            let job = OutcomeJob(store: store, actor: actorOptions.actor)
            let recorded: [OutcomeJob.Recorded]
            if let csv {
                guard FileManager.default.fileExists(atPath: csv) else { throw CLIError.missing("file \(csv) does not exist") }
                recorded = try job.record(csv: csv)
            } else {
                recorded = try job.record([OutcomeEntry(caseId: caseId!, label: label!, source: source!, verifiedBy: verifiedBy!,
                                                        verifiedAt: verifiedAt, reason: reason)])
            }
            if output.json { try Console.json(recorded); return }
            let counts = Dictionary(grouping: recorded, by: \.kind).mapValues(\.count)
            if recorded.count == 1, let r = recorded.first {
                switch r.kind {
                case .recorded: Console.out("case \(r.caseId): outcome \(r.label) recorded (log seq \(r.seq ?? -1))")
                case .corrected: Console.out("case \(r.caseId): outcome corrected from \(r.previousLabel ?? "?") to \(r.label) (log seq \(r.seq ?? -1))")
                case .unchanged: Console.out("case \(r.caseId): already has outcome \(r.label); nothing changed")
                }
            } else {
                Console.out("\(recorded.count) outcomes: \(counts[.recorded] ?? 0) recorded, \(counts[.corrected] ?? 0) corrected, "
                            + "\(counts[.unchanged] ?? 0) unchanged")
            }
        }
    }
}
