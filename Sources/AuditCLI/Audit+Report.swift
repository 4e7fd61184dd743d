import ArgumentParser
import CaseStore
import Files
import Foundation
import Pipeline
import Reports

extension Audit {
    /// `audit report case|run`: the stored reports — the exact bytes that were written and signed.
    struct Report: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print or write a case or run report (HTML or XML) from the store.",
            subcommands: [Case.self, RunReport.self])

        enum Format: String, ExpressibleByArgument { case html, xml }
    }
}

extension Audit.Report {
    struct Case: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A case report: the newest version, or --version N.")
        @OptionGroup var storeOptions: StoreOptions
        @Argument(help: "Case id.") var caseId: String
        @Option(help: "Run id.") var run: String
        @Option(help: "html or xml.") var format: Format = .html
        @Option(help: "Report version (default: the newest; signed reports are later versions).") var version: Int?
        @Option(help: "Write to this file (atomically) instead of stdout.") var out: String?

        func run() async throws {
            let store = try storeOptions.openExisting()
            let f: ReportRecord.Format = format == .html ? .html : .xml
            let record = try store.read { db -> ReportRecord? in
                let record = try version.map { try CaseStore.report(db, runId: run, caseId: caseId, version: $0, format: f) }
                    ?? CaseStore.latestReport(db, runId: run, caseId: caseId, format: f)
                // A report is printed only as the log attests it.
                if let record { try CaseStore.requireAttested(db, [.report(runId: run, caseId: caseId, version: record.version, format: f.rawValue)]) }
                return record
            }
            guard let record else {
                throw CLIError.missing("no \(format.rawValue) report of case '\(caseId)' in run '\(run)'\(version.map { " (version \($0))" } ?? "")")
            }
            try emit(record.content, to: out)
        }
    }

    struct RunReport: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run",
            abstract: "The run report; re-issued as a new version when reviewer oversight figures changed.")
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var actorOptions: ActorOptions
        @Argument(help: "Run id.") var runId: String
        @Option(help: "html or xml.") var format: Format = .html
        @Option(help: "Write to this file (atomically) instead of stdout.") var out: String?

        func run() async throws {
            let store = try storeOptions.openExisting()
            let html = try RunReportReissue.reissue(store: store, runId: runId, actor: actorOptions.actor,
                                                    templatesDirectory: Audit.Run.templatesFolder(nil))
            if format == .html { try emit(html.content, to: out); return }
            guard let xml = try store.read({ db in try CaseStore.latestReport(db, runId: runId, caseId: nil, format: .xml) }) else {
                throw CLIError.missing("no XML report of run '\(runId)'")
            }
            try emit(xml.content, to: out)
        }
    }
}

/// Report bytes to a file (temporary file, then rename) or to stdout.
private func emit(_ data: Data, to path: String?) throws {
    if let path {
        try AtomicFile.write(data, to: URL(fileURLWithPath: path))
    } else {
        Console.write(data)
    }
}
