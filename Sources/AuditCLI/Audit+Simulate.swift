import ArgumentParser
import Cohorts
import Foundation
import Pipeline
import RepeatScan

extension Audit {
    /// `audit simulate`: simulations that check Countersign's guarantees against adversarial use.
    struct Simulate: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "simulate",
            abstract: "Simulations that check Countersign's guarantees (outcome shopping).",
            subcommands: [Shopping.self])
    }
}

extension Audit.Simulate {
    /// `audit simulate shopping`: a shopper rescans each lesion until the report reassures them.
    struct Shopping: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "shopping",
            abstract: "Scan until reassured: false reassurance per within-lesion correlation ρ and reporting rule.",
            discussion: """
                Simulates lesions with the lesion cohort's generator (Cohorts.LesionCohort: per-scan latent \
                evidence z = ±d/2 + u + e with a shared lesion effect u ~ N(0, ρ) and scan noise \
                e ~ N(0, 1 − ρ)); each scan's calibrated probability of malignant is σ(logit π + d·z). A shopper rescans each lesion until the \
                report is reassuring or --max-scans scans were taken. Rules: first-reassuring (each scan's \
                probability shown, stop at the first ≥ 1 − α), last-scan (only the latest scan reported), \
                countersign ("not malignant at level α" only when the model-based e-process over every scan \
                reaches 1/α; dependence model fitted per ρ on simulated calibration lesions with repeat \
                scans). Also available: countersign-model-free, independent-product, pooled-mean, \
                single-scan. --cases lesions of each class are simulated per ρ; every rule sees the same \
                scans. Rates carry Monte-Carlo standard errors.
                """)

        @OptionGroup var output: OutputOptions
        @Option(help: "Comma-separated within-lesion correlations ρ in [0, 1).") var rho: String = "0,0.3,0.7"
        @Option(help: "Lesions simulated per class (malignant and benign) for each ρ.") var cases: Int = 10_000
        @Option(help: "Policy maximum number of scans M.") var maxScans: Int = 10
        @Option(help: "Level α; per-scan reassurance threshold 1 − α.") var alpha: Double = 0.05
        @Option(help: "Random seed.") var seed: UInt64 = 1
        @Option(help: "Standardised separation d of the per-scan latent score between classes.") var separation: Double = 2
        @Option(help: "Malignant prevalence the per-scan probabilities are calibrated against.") var prevalence: Double = 0.5
        @Option(help: "Calibration lesions per class for fitting the dependence model.") var calibrationLesions: Int = 300
        @Option(help: "Scans per calibration lesion.") var calibrationScans: Int = 5
        @Option(help: "Independent calibration sets per ρ; lesions are split evenly between them.")
        var calibrationRefits: Int = 10
        @Option(help: "Comma-separated rules (default: first-reassuring,last-scan,countersign,countersign-calibrated,oracle-fixed).")
        var rules: String = ShoppingRule.required.map(\.rawValue).joined(separator: ",")

        func validate() throws {
            guard parsedRhos() != nil else {
                throw ValidationError("--rho must be comma-separated numbers in [0, 1), e.g. 0,0.3,0.7")
            }
            guard cases >= 1 else { throw ValidationError("--cases must be ≥ 1") }
            guard maxScans >= 1 else { throw ValidationError("--max-scans must be ≥ 1") }
            guard alpha > 0, alpha < 1 else { throw ValidationError("--alpha must be in (0, 1)") }
            guard separation > 0, separation.isFinite else { throw ValidationError("--separation must be > 0") }
            guard prevalence > 0, prevalence < 1 else { throw ValidationError("--prevalence must be in (0, 1)") }
            guard calibrationLesions >= 2, calibrationScans >= 2 else {
                throw ValidationError("--calibration-lesions and --calibration-scans must be ≥ 2")
            }
            guard calibrationRefits >= 1, calibrationRefits <= cases else {
                throw ValidationError("--calibration-refits must be between 1 and --cases")
            }
            guard parsedRules() != nil else {
                throw ValidationError("--rules must be comma-separated names from: "
                    + ShoppingRule.allCases.map(\.rawValue).joined(separator: ", "))
            }
        }

        func parsedRhos() -> [Double]? {
            let values = rho.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard !values.isEmpty else { return nil }
            var out: [Double] = []
            for v in values {
                guard let v, v >= 0, v < 1 else { return nil }
                out.append(v)
            }
            return out
        }

        func parsedRules() -> [ShoppingRule]? {
            let names = rules.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard !names.isEmpty else { return nil }
            var out: [ShoppingRule] = []
            for n in names {
                guard let r = ShoppingRule(rawValue: n) else { return nil }
                out.append(r)
            }
            return out
        }

        /// The JSON document: `results` (one item per (ρ, rule)) plus the provenance to reproduce it.
        struct Document: Encodable {
            var results: [ShoppingResult]
            var configuration: ShoppingSimulationConfiguration
            var generativeModel: String
            var fits: [ShoppingFit]
            var seconds: Double
            enum CodingKeys: String, CodingKey {
                case results, configuration, generativeModel = "generative_model", fits, seconds
            }
        }

        func run() throws {
            let config = ShoppingSimulationConfiguration(
                rhos: parsedRhos() ?? [], casesPerClass: cases, maxScans: maxScans, alpha: alpha, seed: seed,
                separation: separation, malignantPrevalence: prevalence,
                calibrationLesionsPerClass: calibrationLesions, calibrationScansPerLesion: calibrationScans,
                rules: parsedRules() ?? ShoppingRule.required, calibrationRefits: calibrationRefits)
            if !output.quiet && !output.json {
                Console.err("simulating \(cases) malignant and \(cases) benign lesions for each of \(config.rhos.count) ρ…")
            }
            let start = Date()
            let report: ShoppingReport
            do {
                report = try ShoppingSimulation.run(config, generativeModel: CohortLesionSource.description) {
                    CohortLesionSource(model: $0, seed: $1)
                }
            } catch let e as RepeatScanError {
                throw CLIError.badInput("\(e)")
            } catch let e as CohortError {
                throw CLIError.badInput("\(e)")
            } catch let e as PipelineError {
                throw CLIError.badInput("\(e)")
            }
            let seconds = Date().timeIntervalSince(start)
            if output.json {
                try Console.json(Document(results: report.results, configuration: report.configuration,
                                          generativeModel: report.generativeModel, fits: report.fits,
                                          seconds: seconds))
                return
            }
            Console.out("Outcome shopping: \(cases) lesions per class per ρ, at most \(maxScans) scans, α = \(alpha), seed \(seed)")
            Console.out(pad("rho", 6) + pad("rule", 25) + pad("false reassurance", 22) + pad("benign cleared", 20) + "mean scans")
            for r in report.results {
                Console.out(pad(fmt(r.rho, 2), 6) + pad(r.rule.rawValue, 25)
                    + pad("\(fmt(r.falseReassurance, 4)) ± \(fmt(r.falseReassuranceSE, 4))", 22)
                    + pad("\(fmt(r.benignCleared, 4)) ± \(fmt(r.benignClearedSE, 4))", 20) + fmt(r.meanScans, 2))
            }
            for rho in config.rhos {
                let used = report.fits.filter { $0.rho == rho }
                guard let first = used.first else { continue }
                let values = used.map(\.estimatedRho)
                let range = values.count > 1
                    ? "\(fmt(values.min() ?? 0, 3))–\(fmt(values.max() ?? 0, 3))" : fmt(first.estimatedRho, 3)
                Console.out("ρ = \(fmt(rho, 2)): \(used.count) dependence model(s), each fitted on \(first.model.null.lesionCount) malignant calibration lesions; within-lesion correlation used \(range) (upper 95% limit)")
            }
        }

        private func fmt(_ x: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", x) }
        private func pad(_ s: String, _ width: Int) -> String {
            s.count >= width ? s + " " : s + String(repeating: " ", count: width - s.count)
        }
    }
}
