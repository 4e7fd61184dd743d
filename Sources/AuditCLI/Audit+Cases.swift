import ArgumentParser
import CaseStore
import Foundation

extension Split: ExpressibleByArgument {}
extension ImportFormat: ExpressibleByArgument {}

extension Audit {
    struct Cases: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "cases",
            abstract: "Import, list and show cases.",
            subcommands: [Import.self, List.self, Show.self, Assign.self, Verify.self])
    }
}

extension Audit.Cases {
    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import a UCR (.tsv/.txt), UEA/sktime (.ts) or long CSV (.csv) file, all or nothing.",
            discussion: """
                Cases get ids <file stem>-<row> (UCR, UEA) or the file's case_id (CSV), prefixed by \
                --id-prefix when given. Labels in the file count as verified by the file (or --verified-by). \
                The study is created when missing. The import and its audit event are one transaction: \
                on any error (exit 65) the store is unchanged. See docs/data-formats.md.
                """)
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var actorOptions: ActorOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The file to import.") var file: String
        @Option(help: "Study name (created if missing).") var study: String
        @Option(help: "Split: train, validation, calibration, reference, test or incoming.") var split: Split
        @Option(help: "ucr, ts or csv (default: from the extension).") var format: ImportFormat?
        @Option(help: "Case id prefix instead of the file stem.") var idPrefix: String?
        @Option(help: "Who verified the labels (default: the file name).") var verifiedBy: String?

        func validate() throws {
            if format == nil && ImportFormat.infer(fromPath: file) == nil {
                throw ValidationError("cannot tell the format of \(file) from its extension; pass --format ucr|ts|csv")
            }
            if study.isEmpty { throw ValidationError("--study must not be empty") }
        }

        func run() throws {
            guard FileManager.default.fileExists(atPath: file) else {
                throw CLIError.missing("file \(file) does not exist")
            }
            let store = try storeOptions.open()
            let options = ImportOptions(study: study, split: split, format: format, idPrefix: idPrefix,
                                        verifiedBy: verifiedBy)
            let (result, event) = try store.importCases(file: file, options: options, actor: actorOptions.actor)
            if output.json {
                try Console.json(ImportReport(result: result, auditSeq: event.seq))
                return
            }
            for w in result.warnings { Console.err("warning: \(w)") }
            let classes = result.classCounts.keys.sorted().map { "\($0): \(result.classCounts[$0]!)" }.joined(separator: ", ")
            let lengths = result.minLength == result.maxLength ? "\(result.minLength)" : "\(result.minLength)–\(result.maxLength)"
            Console.out("""
                imported \(result.cases) cases (\(result.scans) scans) from \(result.file) into study \(result.study)\
                \(result.studyCreated ? " (created)" : ""), split \(result.split.rawValue)
                  length \(lengths), channels \(result.channels), scans with missing values \(result.scansWithMissing)
                  labelled \(result.labelled) [\(classes)], unlabelled \(result.unlabelled)
                  sha256 \(result.sha256)
                  audit event #\(event.seq)
                """)
        }
    }

    struct ImportReport: Encodable {
        let result: ImportResult
        let auditSeq: Int
        enum CodingKeys: String, CodingKey { case result = "import", auditSeq = "audit_seq" }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List cases (id order).")
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var output: OutputOptions
        @Option(help: "Only this study.") var study: String?
        @Option(help: "Only this split.") var split: Split?

        func run() throws {
            let store = try storeOptions.openExisting()
            let cases = try store.read { db -> [CaseSummary] in
                if let study { _ = try CaseStore.study(db, named: study) }
                return try CaseStore.caseSummaries(db, study: study, split: split)
            }
            if output.json {
                struct Listing: Encodable { let cases: [CaseSummary]; let count: Int }
                try Console.json(Listing(cases: cases, count: cases.count))
                return
            }
            let header = ["case_id", "study", "split", "label", "scans", "length", "channels", "subject"]
            let rows = cases.map { c in
                [c.caseId, c.study, c.split.rawValue, c.label ?? "—", "\(c.scans)", c.length.map(String.init) ?? "—",
                 c.channels.map(String.init) ?? "—", c.subject]
            }
            Console.out(TextTable.render(header: header, rows: rows))
            Console.err("\(cases.count) cases")
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one case and its scans.")
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "Case id.") var caseId: String
        @Flag(help: "Include every value (JSON: null for missing).") var values = false

        func run() throws {
            let store = try storeOptions.openExisting()
            let (record, scans, study, outcomes) = try store.read { db in
                let record = try CaseStore.caseRecord(db, id: caseId)
                return (record, try CaseStore.scans(db, caseId: caseId), try CaseStore.study(db, named: record.study),
                        try CaseStore.outcomes(db, caseId: caseId))
            }
            let details = scans.map { ScanDetail(scan: $0, includeValues: values) }
            if output.json {
                try Console.json(Shown(record: record, scans: details, outcomes: outcomes))
                return
            }
            Console.out("""
                case \(record.id)  study \(record.study)  split \(record.split.rawValue)  subject \(record.subject)
                  label \(record.label ?? "— (unlabelled)")\(record.verifiedBy.map { "  verified by \($0) at \(record.verifiedAt ?? "?")" } ?? "")
                  created \(record.createdAt)\(record.notes.isEmpty ? "" : "\n  notes: \(record.notes)")
                """)
            for o in outcomes {
                Console.out("  outcome \(o.label) (\(o.source), \(o.verifiedBy), \(o.verifiedAt))"
                            + (o.supersedes.map { " — corrects outcome \($0): \(o.reason ?? "")" } ?? ""))
            }
            for d in details {
                Console.out("  scan \(d.scanIndex): \(d.length) × \(d.channels)\(d.missing > 0 ? ", \(d.missing) missing" : "")"
                            + "\(d.acquiredAt.map { ", acquired \($0)" } ?? "")")
                if !d.acquisition.isEmpty { Console.out("    \(d.acquisition)") }
                let width = study.channels.map(\.count).max() ?? 4
                for (c, s) in d.channelStats.enumerated() {
                    let name = c < study.channels.count ? study.channels[c] : "ch\(c)"
                    Console.out("    " + name.padding(toLength: width, withPad: " ", startingAt: 0)
                                + String(format: "  min %.6g  mean %.6g  max %.6g", s.min ?? .nan, s.mean ?? .nan, s.max ?? .nan))
                }
                if let v = d.values {
                    Console.out("    values (time-major): " + v.map { $0.map { "\($0)" } ?? "?" }.joined(separator: " "))
                }
            }
        }
    }

    /// `cases show --json`: every key present, `null` when absent.
    struct Shown: Encodable {
        let record: CaseRecord
        let scans: [ScanDetail]
        /// Ground truth that arrived later, oldest first (corrections after what they correct).
        let outcomes: [OutcomeRecord]
        enum Keys: String, CodingKey {
            case `case`, scans, outcomes, id, study, subject, label, split, notes
            case verifiedBy = "verified_by", verifiedAt = "verified_at", createdAt = "created_at"
        }
        func encode(to encoder: Encoder) throws {
            var top = encoder.container(keyedBy: Keys.self)
            var c = top.nestedContainer(keyedBy: Keys.self, forKey: .case)
            try c.encode(record.id, forKey: .id); try c.encode(record.study, forKey: .study)
            try c.encode(record.subject, forKey: .subject); try c.encode(record.label, forKey: .label)
            try c.encode(record.verifiedBy, forKey: .verifiedBy); try c.encode(record.verifiedAt, forKey: .verifiedAt)
            try c.encode(record.split.rawValue, forKey: .split); try c.encode(record.notes, forKey: .notes)
            try c.encode(record.createdAt, forKey: .createdAt)
            try top.encode(scans, forKey: .scans)
            try top.encode(outcomes, forKey: .outcomes)
        }
    }

    struct ScanDetail: Encodable {
        struct ChannelStats: Encodable { let min: Float?; let mean: Float?; let max: Float? }
        let scanIndex: Int
        let acquiredAt: String?
        let acquisition: String
        let length: Int
        let channels: Int
        let missing: Int
        let channelStats: [ChannelStats]
        let values: [Float?]?

        init(scan: ScanRecord, includeValues: Bool) {
            let v = scan.values
            scanIndex = scan.scanIndex; acquiredAt = scan.acquiredAt; acquisition = scan.acquisition
            length = scan.length; channels = scan.channels
            missing = v.filter { $0.isNaN }.count
            channelStats = (0..<scan.channels).map { c in
                let xs = stride(from: c, to: v.count, by: scan.channels).map { v[$0] }.filter { !$0.isNaN }
                guard !xs.isEmpty else { return ChannelStats(min: nil, mean: nil, max: nil) }
                let mean = Float(xs.reduce(0.0) { $0 + Double($1) } / Double(xs.count))
                return ChannelStats(min: xs.min(), mean: mean, max: xs.max())
            }
            values = includeValues ? v.map { $0.isNaN ? nil : $0 } : nil
        }

        enum CodingKeys: String, CodingKey {
            case acquisition, length, channels, missing, values
            case scanIndex = "scan_index", acquiredAt = "acquired_at", channelStats = "channel_stats"
        }
    }
}

/// Plain-text tables for human output.
enum TextTable {
    static func render(header: [String], rows: [[String]]) -> String {
        var widths = header.map(\.count)
        for r in rows { for (i, cell) in r.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n")
    }
}

extension Audit.Cases {
    /// `audit cases assign`: e.g. carve a calibration split out of an imported test split. The move is
    /// logged with every case id, so the split history can be reconstructed from the log.
    struct Assign: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Move a seeded share of a split's subjects to another split (logged).",
            discussion: "Whole subjects move together. The same seed moves the same cases.")
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var actorOptions: ActorOptions
        @OptionGroup var output: OutputOptions
        @Option(help: "Study.") var study: String
        @Option(help: "Split to take cases from.") var from: Split
        @Option(help: "Split to move them to.") var to: Split
        @Option(help: "Share of the cases to move, in (0, 1].") var fraction: Double
        @Option(help: "Seed of the keyed order.") var seed: UInt64 = 0

        func validate() throws {
            guard fraction > 0 && fraction <= 1 else { throw ValidationError("--fraction must lie in (0, 1]") }
            guard from != to else { throw ValidationError("--from and --to must differ") }
        }

        func run() throws {
            let store = try storeOptions.openExisting()
            let (change, _) = try store.reassignSplit(study: study, from: from, to: to, fraction: fraction, seed: seed,
                                                      actor: actorOptions.actor)
            if output.json {
                try Console.json(change)
            } else {
                Console.out("moved \(change.caseIds.count) cases of study \(study) from \(from.rawValue) to \(to.rawValue) (seed \(seed))")
            }
        }
    }
}
