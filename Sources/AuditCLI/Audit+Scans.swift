import ArgumentParser
import CaseStore
import Foundation
import Pipeline
import Policy
import RepeatScan

extension Audit {
    /// `audit scans CASE --model ID`: every scan of one case with its calibrated probability, the
    /// pooled probability, disagreement between scans, and the anytime-valid e-process against each
    /// class with its claim — counting every scan the store holds for the case.
    struct Scans: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "scans",
            abstract: "Repeat scans of a case: per-scan probabilities, pooled probability, e-processes and claims.",
            discussion: """
                Every scan stored for CASE counts, in scan order; a scan that cannot be evaluated stops the \
                command (exit 65) rather than being left out. Per-scan probabilities come from --model and its \
                calibrator (the latest one stored, or --calibrator ID). Class prevalences π are the verified \
                labels of the calibrator's calibration split (add-one smoothed). The model-based e-process and \
                the pooled recalibration are fitted on the calibration cases that have repeat scans; when \
                there are too few, only the model-free e-process (threshold M/α) is reported, and why. \
                Calibration cases the model cannot read are left out of those fits and counted in a note, \
                exactly as in `audit run` (both load through the same loader).

                With --advise (scans that name their scanner configuration in an acquisition clause \
                "scanner configuration: NAME", on the calibration split too): what each configuration is worth \
                on the calibration split (mean log e-value per scan toward each class's claims, and the same \
                standardised by the configuration's null mean and SD), the configuration the policy's \
                next_configuration rule names for the next scan, and the scans taken against that rule or after \
                the pre-registered stopping point.
                """)

        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "Case id.") var caseID: String
        @Option(help: "Model id (SHA-256 of its weights) or a unique prefix of at least 8 hex digits.") var model: String
        @Option(help: "Calibrator id (default: the model's most recently fitted calibrator).") var calibrator: Int64?
        @Option(help: "Policy file whose repeat_scans section sets α, M and the claim construction (default: as `audit run`).")
        var policy: String?
        @Option(help: "Level α of the \"not class j\" claims (overrides the policy's claim_alpha).") var alpha: Double?
        @Option(help: "Maximum number of scans M (escalation; model-free threshold M/α; overrides the policy's max_scans).")
        var maxScans: Int?
        @Flag(help: "Name the scanner configuration for the next scan, with each configuration's evidence on the calibration split.")
        var advise = false

        func validate() throws {
            if let alpha { guard alpha > 0, alpha < 1 else { throw ValidationError("--alpha must be in (0, 1)") } }
            if let maxScans { guard maxScans >= 1 else { throw ValidationError("--max-scans must be ≥ 1") } }
        }

        func run() throws {
            let store = try storeOptions.openExisting()
            var job = ScansJob(store: store, caseID: caseID, modelId: model, policy: try Audit.Run.loadPolicy(policy))
            job.calibratorId = calibrator
            job.alpha = alpha
            job.maxScans = maxScans
            job.advise = advise
            let doc = try job.run()
            if output.json {
                try Console.json(doc)
                return
            }
            printText(doc)
        }

        private func printText(_ doc: ScansJob.Document) {
            let a = doc.assessment
            func f(_ x: Double, _ d: Int = 3) -> String { String(format: "%.\(d)f", x) }
            func probs(_ p: [Double]) -> String {
                zip(doc.classes, p).map { "\($0) \(f($1))" }.joined(separator: ", ")
            }
            Console.out("case \(doc.caseID) (study \(doc.study)) — model \(doc.modelID.prefix(12))…, calibrator \(doc.calibrator.method) #\(doc.calibrator.id.map(String.init) ?? "?") (n = \(doc.calibrator.calibrationN))")
            Console.out("prevalences: \(probs(doc.prevalences)) — \(doc.prevalenceSource)")
            Console.out("policy \(doc.policy.name) (sha256 \(doc.policy.sha256.prefix(16))…): α = \(a.policy.alpha), at most \(a.policy.maxScans) scans, claims by the \(doc.policy.claimConstruction) e-process\(doc.policy.overridden.isEmpty ? "" : " (overridden: " + doc.policy.overridden.joined(separator: ", ") + ")")")
            for (i, s) in a.scans.enumerated() {
                var line = "scan \(i + 1): \(s.acquiredAt ?? "time unknown")"
                if let acq = s.acquisition { line += ", \(acq)" }
                line += " — \(probs(s.probabilities))"
                Console.out(line)
            }
            Console.out("pooled (mean of calibrated probabilities): \(probs(a.pooledMean))")
            if let r = a.pooledRecalibrated, let m = a.recalibration {
                Console.out("pooled, recalibrated for \(m.scanCount) scans (β = \(f(m.beta)), \(m.source.rawValue)): \(probs(r))")
            }
            Console.out("disagreement: \(a.disagreement.classFlips) class flips, largest spread \(f(a.disagreement.maximumSpread))")
            for e in a.eProcesses {
                let name = e.rival < doc.classes.count ? doc.classes[e.rival] : "class \(e.rival)"
                Console.out("against \(name) [\(e.construction.rawValue)]: e-process \(e.path.map { f($0, 2) }.joined(separator: " → ")) (threshold \(f(e.threshold, 1))) — \(e.claim.statement(classNames: doc.classes))")
            }
            Console.out(a.sentence)
            for r in a.escalationReasons { Console.out("escalate: \(r)") }
            for r in a.reviewReasons { Console.out("review: \(r)") }
            for n in doc.notes { Console.out("note: \(n)") }
            if let e = doc.configurationEvidence {
                Console.out("scanner configurations on the calibration split (mean per scan toward each class's claims: log e-value / standardised):")
                for p in e.profiles {
                    let growth = doc.classes.indices.map { "\(doc.classes[$0]) \(f(p.logEValueGrowth[$0], 2)) / \(f(p.standardisedGrowth[$0], 2))" }
                    Console.out("  \(p.name): \(growth.joined(separator: ", ")) (\(p.scanCounts.reduce(0, +)) scans)")
                }
            }
            if advise, let r = a.configurations {
                Console.out("configuration rule: \(r.rule.rawValue); stopping rule: \(r.stoppingRule.rawValue)")
                Console.out(r.nextSentence)
                Console.out(r.deviationSentence)
            }
        }
    }
}
