import ArgumentParser
import CaseStore
import Files
import Foundation
import Pipeline
import Reports
import Review

extension Audit {
    struct ReviewCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "review",
            abstract: "Reviewer sign-off: queue, open, blind read, sign, verify, oversight figures.",
            subcommands: [Queue.self, Open.self, Read.self, Sign.self, Verify.self, Stats.self])
    }
}

extension Audit.ReviewCommand {
    struct Queue: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cases waiting for a signature.")
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var output: OutputOptions
        @Option(help: "Only what this reviewer may sign.") var reviewer: String?

        func run() async throws {
            let items = try ReviewWorkflow(store: try storeOptions.openExisting()).queue(reviewer: reviewer)
            if output.json { try Console.json(["cases": items]); return }
            if items.isEmpty { Console.out("no case is waiting for review"); return }
            for i in items { Console.out("\(i.caseId)\trun \(i.runId)\t\(i.disposition)\tsignatures \(i.signatures)/\(i.reviewersRequired)") }
        }
    }

    struct Open: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Open a case's evidence (records when and what was shown).")
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "Case id.") var caseId: String
        @Option(help: "Reviewer id.") var reviewer: String
        @Option(help: "Run id (default: the newest run that assessed the case).") var run: String?
        @Option(help: "Folder to write the report into (default: the run's report folder).") var out: String?

        func run() async throws {
            let store = try storeOptions.openExisting()
            let opened = try ReviewCommandErrors.map { try ReviewWorkflow(store: store).open(caseId: caseId, runId: run, reviewer: reviewer) }
            let folder = try reportFolder(out, store: store, runId: opened.runId)
            if let evidence = opened.blindedEvidence {
                if output.json { try Console.json(evidence); return }
                Console.out("BLIND FIRST READ of case \(caseId) (run \(opened.runId)): the model's answer is hidden.")
                for s in evidence.scans { Console.out("  \(s)") }
                Console.out("  nearest verified cases:")
                for n in evidence.neighbours { Console.out(String(format: "    %@  distance %.3f  (verified by %@; label shown after your read)", n.caseId, n.distance, n.verifiedBy)) }
                Console.out("Record your read with: audit review read \(caseId) --reviewer \(reviewer) --run \(opened.runId) --class CLASS")
            } else {
                try AuditRunner.materialiseReports(store, runId: opened.runId, into: folder)
                let path = folder.appendingPathComponent(ReportFileName.relativePath(caseId: caseId, version: opened.reportVersion, format: "html")).path
                if output.json { try Console.json(["case_id": caseId, "run_id": opened.runId, "report": path, "report_sha256": opened.reportSHA256]); return }
                Console.out("case \(caseId), run \(opened.runId): report version \(opened.reportVersion) at \(path)")
            }
        }
    }

    struct Read: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record the blind first read, then see the model's answer.")
        @OptionGroup var storeOptions: StoreOptions
        @Argument(help: "Case id.") var caseId: String
        @Option(help: "Reviewer id.") var reviewer: String
        @Option(help: "Run id (default: the newest run that assessed the case).") var run: String?
        @Option(name: .customLong("class"), help: "The class the reviewer reads before seeing the model's answer.") var className: String

        func run() async throws {
            let store = try storeOptions.openExisting()
            let model = try ReviewCommandErrors.map { try ReviewWorkflow(store: store).blindRead(caseId: caseId, runId: run, reviewer: reviewer, className: className) }
            Console.out("blind read recorded: \(className). The model's answer: \(model.prediction?.sentence ?? "not evaluated")")
        }
    }

    struct Sign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Sign a case (asks for the passphrase; never on the command line).")
        enum Decision: String, ExpressibleByArgument { case agree, override }
        enum Meaning: String, ExpressibleByArgument { case review, approval }
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "Case id.") var caseId: String
        @Option(help: "Reviewer id.") var reviewer: String
        @Option(help: "Run id (default: the newest run that assessed the case).") var run: String?
        @Option(help: "agree or override.") var decision: Decision
        @Option(name: .customLong("class"), help: "The class decided on (required with override).") var className: String?
        @Option(help: "Reason code (required with override).") var reasonCode: String?
        @Option(help: "Meaning of the signature: review or approval (21 CFR 11.50).") var meaning: Meaning
        @Option(help: "Free-text note.") var note: String = ""
        @Option(help: "Read the passphrase from this file descriptor.") var passphraseFd: Int32?
        @Option(help: "Key file (default: beside the store).") var keyFile: String?
        @Option(help: "Folder to write the new report version into (default: the run's report folder).") var out: String?

        func validate() throws {
            if decision == .override {
                guard className != nil else { throw ValidationError("--class is required with --decision override") }
                guard let code = reasonCode, !code.trimmingCharacters(in: .whitespaces).isEmpty else {
                    throw ValidationError("--reason-code is required with --decision override")
                }
            }
        }

        func run() async throws {
            let store = try storeOptions.openExisting()
            let passphrase = try Passphrase.read(fd: passphraseFd, prompt: "Passphrase for \(reviewer): ")
            let request = ReviewWorkflow.SignRequest(
                caseId: caseId, runId: run, reviewer: reviewer, decision: decision == .agree ? .agree : .override,
                className: className, reasonCode: reasonCode, meaning: meaning == .review ? .review : .approval, note: note,
                passphrase: passphrase, keyFile: keyFile.map { URL(fileURLWithPath: $0) })
            let signed = try ReviewCommandErrors.map { try ReviewWorkflow(store: store).sign(request, storePath: storeOptions.store) }
            let folder = try reportFolder(out, store: store, runId: signed.signOff.runId)
            try AuditRunner.materialiseReports(store, runId: signed.signOff.runId, into: folder)
            let path = folder.appendingPathComponent(ReportFileName.relativePath(caseId: caseId, version: signed.newReportVersion, format: "html")).path
            if output.json {
                try Console.json(SignedJSON(case_id: caseId, run_id: signed.signOff.runId, reviewer_id: reviewer,
                                            decision: signed.signOff.decision.rawValue, report_version: signed.newReportVersion,
                                            report: path, catch_trial: signed.catchTrial))
                return
            }
            Console.out("signed case \(caseId) (\(signed.signOff.decision.rawValue), meaning \(signed.signOff.meaning.rawValue)) as \(signed.signOff.printedName) at \(signed.signOff.signedAt)")
            Console.out("report version \(signed.newReportVersion): \(path)")
            if let t = signed.catchTrial {
                Console.out(t.sentence)
            }
        }
    }

    struct SignedJSON: Encodable {
        var case_id: String, run_id: String, reviewer_id: String, decision: String, report_version: Int, report: String
        var catch_trial: ReviewWorkflow.CatchTrialOutcome?
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Verify every signature against its reviewer key and the signed report.")
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "Only this case.") var caseId: String?

        func run() async throws {
            let results = try ReviewWorkflow(store: try storeOptions.openExisting()).verify(caseId: caseId)
            let bad = results.filter { !$0.ok }
            if output.json {
                try Console.json(VerifyJSON(ok: bad.isEmpty, signatures: results.count, results: results))
            } else {
                for r in results { Console.out("signature \(r.signoffId) case \(r.caseId) run \(r.runId) by \(r.reviewerId): \(r.ok ? "ok" : "FAILED — " + r.problems.joined(separator: "; "))") }
                Console.out("\(results.count) signatures, \(bad.count) failed")
            }
            if !bad.isEmpty { throw CLIError.checkFailed("\(bad.count) signature(s) failed verification, first: signature \(bad[0].signoffId) of case \(bad[0].caseId)") }
        }
    }

    struct VerifyJSON: Encodable { var ok: Bool, signatures: Int, results: [ReviewWorkflow.Verification] }

    /// `review stats --json`: the oversight figures and, per reviewer, the evidence they opened.
    struct StatsJSON: Encodable { var reviewers: [Review.ReviewerOversight], evidence: [ReviewWorkflow.EvidenceUse] }

    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Oversight figures per reviewer (review time, agreement, overrides, catch trials).")
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var output: OutputOptions
        @Option(help: "Minimum review time for the flag (default 30 s, the default policy's).") var minSeconds: Double = 30

        func run() async throws {
            let workflow = ReviewWorkflow(store: try storeOptions.openExisting())
            let figures = try workflow.statistics(rules: ReviewRules(minSeconds: minSeconds))
            let evidence = try workflow.evidenceUse()
            if output.json {
                let e = JSONEncoder()
                e.keyEncodingStrategy = .convertToSnakeCase
                e.outputFormatting = [.prettyPrinted, .sortedKeys]
                Console.write(try e.encode(StatsJSON(reviewers: figures, evidence: evidence)) + Data("\n".utf8))
                return
            }
            for f in figures {
                Console.out(String(format: "%@: %d reviews, median %.0f s, agreement %.0f%%, overrides %.0f%%, catch trials %d (detected %d)%@",
                                   f.reviewerId, f.reviews, f.medianSeconds, f.agreementRate * 100, f.overrideRate * 100,
                                   f.catchTrials, f.catchTrialsDetected, f.flagged ? " — FLAGGED: " + f.reasons.joined(separator: "; ") : ""))
            }
            for u in evidence {
                Console.out("\(u.reviewerId): evidence opened — \(u.casesOpened) case(s) opened, \(u.caseViews) later view(s), \(u.reportViews) report view(s), \(u.evidenceExpanded) expansion(s) of scans or neighbours, \(u.signatures) signature(s)")
            }
        }
    }
}

/// Where a run's report files live: `--out`, else the folder the run wrote to, else runs/<run id>.
func reportFolder(_ out: String?, store: CaseStore, runId: String) throws -> URL {
    if let out { return URL(fileURLWithPath: out) }
    let stored = try store.read { db in try CaseStore.run(db, id: runId)?.outDir }
    return URL(fileURLWithPath: stored ?? "runs/\(FileName.slug(runId))")
}
