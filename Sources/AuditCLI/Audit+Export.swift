import ArgumentParser
import CaseStore
import Digests
import Files
import Foundation
import Pipeline

extension Audit {
    /// `audit export fhir`: what a run decided, in the hospital record's language.
    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Export a completed run to other systems (HL7 FHIR R4).",
            subcommands: [FHIRBundle.self])
    }
}

extension Audit.Export {
    struct FHIRBundle: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "fhir",
            abstract: "A FHIR R4 Bundle of a run (or one case): DiagnosticReports, Observations, the model as a Device, signatures as Provenance, views and sign-offs as AuditEvents.",
            discussion: """
                Only cases signed as often as their disposition asks are exported as final; cases still \
                awaiting sign-off are left out and counted (--preliminary sends them with status preliminary). \
                The export is logged as an export.fhir event with the bundle's SHA-256.
                """)
        enum Format: String, ExpressibleByArgument { case json, xml }
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var actorOptions: ActorOptions
        @Option(help: "Run id.") var run: String
        @Option(name: .customLong("case"), help: "Only this case.") var caseId: String?
        @Option(help: "json or xml (FHIR's two forms; same content).") var format: Format = .json
        @Flag(help: "Also export cases awaiting sign-off, as preliminary reports.") var preliminary = false
        @Option(help: "Directory to write the bundle to.") var out: String

        func run() async throws {
            let store = try storeOptions.openExisting()
            let exporter = FHIRExport(store: store)
            let result = try exporter.export(runId: run, caseId: caseId, preliminary: preliminary)
            let data = format == .xml ? try result.bundle.xml() : try result.bundle.json()
            let name = FileName.slug(run) + (caseId.map { "-" + FileName.slug($0) } ?? "") + ".fhir-bundle." + format.rawValue
            let url = URL(fileURLWithPath: out).appendingPathComponent(name)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try AtomicFile.write(data, to: url)
            let sha = ContentHash.sha256Hex(data)
            try exporter.logExport(result, runId: run, file: url.path, bundleSHA256: sha, actor: actorOptions.actor)
            Console.out("wrote \(url.path): \(result.bundle.entry.count) resources, \(result.exported.count) case(s), sha256 \(sha)")
            if !result.awaitingSignOff.isEmpty {
                Console.out("left out \(result.awaitingSignOff.count) case(s) awaiting sign-off (--preliminary sends them): "
                            + result.awaitingSignOff.prefix(10).joined(separator: ", ") + (result.awaitingSignOff.count > 10 ? ", …" : ""))
            }
        }
    }
}
