import ArgumentParser
import CaseStore
import Digests
import Files
import Foundation
import Pipeline

extension MonitorJob.Grouping: ExpressibleByArgument {}

extension Audit {
    /// `audit monitor`: post-market monitoring of a study across its runs, period by period.
    struct Monitor: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Performance across runs, per period: rates, label-free accuracy estimate, and with outcomes accuracy, ECE, coverage, martingale.",
            discussion: """
                Reads every completed run of the study (catch trials left out) and the outcomes recorded with \
                `audit cases verify`. The policy's monitoring thresholds (Policies/README.md) turn figures into \
                alerts: each alert is printed, logged in one monitor.alert event, and the command exits 1. \
                --out writes monitor-<study>.json and monitor-<study>.html (SVG plots).
                """)
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var actorOptions: ActorOptions
        @OptionGroup var output: OutputOptions
        @Option(help: "Study.") var study: String
        @Option(help: "Only assessments from this date on (YYYY-MM-DD or RFC 3339).") var since: String?
        @Option(name: .customLong("by"), help: "Periods: week, month or run.") var grouping: MonitorJob.Grouping = .month
        @Option(help: "Policy file whose monitoring thresholds apply (default: Policies/default.yaml or the built-in copy).") var policy: String?
        @Option(help: "Directory to write the JSON and HTML monitoring report to.") var out: String?
        @Option(help: "Seed of the bootstrap and noise-floor simulations.") var seed: UInt64 = 1
        @Option(help: "Report templates folder (default: ./Reports/templates when present, else built in).") var templates: String?

        func run() throws {
            var sinceDate: Date?
            if let since {
                guard let d = Timestamp.date(fromDateOrTime: since) else {
                    throw CLIError.badInput("--since: expected YYYY-MM-DD or an RFC 3339 time, found '\(since)'")
                }
                sinceDate = d
            }
            let store = try storeOptions.openExisting()
            let job = MonitorJob(store: store, policy: try Audit.Run.loadPolicy(policy), study: study, since: sinceDate,
                                 grouping: grouping, seed: seed)
            let report = try job.run()
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            let json = try encoder.encode(report)
            let sha = ContentHash.sha256Hex(json)
            if let out {
                let dir = URL(fileURLWithPath: out)
                try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
                let name = "monitor-" + FileName.slug(study)
                try AtomicFile.write(json, to: dir.appendingPathComponent(name + ".json"))
                let html = try job.html(report, templatesDirectory: Audit.Run.templatesFolder(templates))
                try AtomicFile.write(Data(html.utf8), to: dir.appendingPathComponent(name + ".html"))
            }
            let event = try job.logAlerts(report, reportSHA256: sha, actor: actorOptions.actor)
            if output.json {
                Console.out(String(decoding: json, as: UTF8.self))
            } else {
                print(report)
                if let out { Console.out("wrote \(out)/monitor-\(FileName.slug(study)).html and .json (sha256 \(sha))") }
                if let event { Console.out("logged monitor.alert at seq \(event.seq)") }
            }
            if !report.alerts.isEmpty {
                throw CLIError.checkFailed("\(report.alerts.count) monitoring alert(s): " + report.alerts.map { "\($0.period) \($0.check)" }.joined(separator: ", "))
            }
        }

        func print(_ r: MonitoringReport) {
            func pct(_ x: Double?) -> String { x.map { String(format: "%.1f%%", $0 * 100) } ?? "—" }
            func f(_ x: Double?) -> String { x.map { String(format: "%.3f", $0) } ?? "—" }
            Console.out("study \(r.study) by \(r.grouping)\(r.since.map { " since \($0)" } ?? ""): \(r.periods.count) period(s), "
                        + "\(r.provenance.runs.count) run(s), \(r.provenance.outcomes) outcome(s); policy \(r.provenance.policyName) "
                        + "(sha256 \(r.provenance.policySHA256.prefix(16))…), ECE \(r.provenance.bins)")
            let header = ["period", "cases", "abstain", "escalate", "override", "estimated acc", "outcomes", "accuracy", "ECE (floor)", "coverage", "set", "martingale"]
            var rows: [[String]] = []
            for p in r.periods {
                let est = p.estimate.map { "\(f($0.estimate)) [\(f($0.lower)), \(f($0.upper))]" } ?? "—"
                let acc = p.outcomes.map { "\(f($0.accuracy.proportion)) [\(f($0.accuracy.lower)), \(f($0.accuracy.upper))]" } ?? "not yet"
                let ece = p.outcomes?.ece.map { "\(f($0.value)) (\(f($0.noiseFloor95)))" } ?? "—"
                let cov = p.outcomes?.coverage.map { "\(f($0.proportion)) vs \(f(1 - (p.outcomes?.coverageAlpha ?? 0)))" } ?? "—"
                let m = p.martingale.map { String(format: "%.3g", $0.value) + ($0.alarm ? " ALARM" : "") } ?? "—"
                rows.append([p.key, String(p.cases), pct(p.abstentionRate), pct(p.escalationRate), pct(p.overrideRate), est,
                             String(p.labelled), acc, ece, cov, f(p.meanSetSize), m])
            }
            Console.out(TextTable.render(header: header, rows: rows))
            for p in r.periods {
                if let e = p.outcomes?.estimateError {
                    Console.out("  \(p.key): label-free estimate on the \(p.outcomes!.count) labelled cases was off by \(String(format: "%+.3f", e))")
                }
            }
            if r.alerts.isEmpty { Console.out("no alerts") }
            for a in r.alerts { Console.out("ALERT \(a.period) \(a.check): \(a.measured) (threshold \(a.threshold)) — \(a.message)") }
        }
    }
}
