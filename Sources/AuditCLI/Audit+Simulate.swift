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
            abstract: "Simulations that check Countersign's guarantees (outcome shopping, the next-scan advisor).",
            subcommands: [Shopping.self, Advisor.self])
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

extension Audit.Simulate {
    /// `audit simulate advisor`: the next-scan advisor against the cohort's fixed order of configurations.
    struct Advisor: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "advisor",
            abstract: "Choosing the next illumination: false reassurance and scans to clear a benign lesion, advised vs fixed order.",
            discussion: """
                Each repeat scan is taken under one of several scanner configurations with its own separation \
                d_k (--configurations, --separations). Per scan under configuration k the latent score is \
                l = ±d_k/2 + b + e, with the lesion effect b ~ N(0, ρ) shared by every configuration and scan \
                noise e ~ N(0, 1 − ρ); its calibrated probability of benign is σ(logit π + d_k·l). The \
                configuration evidence and the calibrated boundary over standardised evidence are fitted on \
                calibration lesions scanned in the fixed order. A shopper rescans until "not malignant" is \
                established or --max-scans scans were taken. Choices: fixed-order (scan t under configuration \
                t mod K), advised (the NextScanAdvisor, from past scans only), and peeking (every configuration \
                scanned, the most reassuring one counted: not valid, shown so the check visibly fails). Every \
                choice sees the same lesions and scan noise. Rates carry Monte-Carlo standard errors.
                """)

        @OptionGroup var output: OutputOptions
        @Option(help: "Comma-separated within-lesion correlations ρ in [0, 1).") var rho: String = "0,0.3,0.7"
        @Option(help: "Lesions simulated per class for each ρ.") var cases: Int = 10_000
        @Option(help: "Policy maximum number of scans M.") var maxScans: Int = 8
        @Option(help: "Level α of the claim.") var alpha: Double = 0.05
        @Option(help: "Random seed.") var seed: UInt64 = 1
        @Option(help: "Comma-separated configuration names (default: four illumination settings).")
        var configurations: String = ScanAdvisorSimulationConfiguration.defaultConfigurations.joined(separator: ",")
        @Option(help: "Comma-separated separations d_k, one per configuration.")
        var separations: String = ScanAdvisorSimulationConfiguration.defaultSeparations.map { String($0) }.joined(separator: ",")
        @Option(help: "Malignant prevalence the per-scan probabilities are calibrated against.") var prevalence: Double = 0.5
        @Option(help: "Calibration lesions per class.") var calibrationLesions: Int = 300
        @Option(help: "Scans per calibration lesion (in the fixed order).") var calibrationScans: Int = 8
        @Option(help: "Independent calibration sets per ρ; lesions are split evenly between them.") var calibrationRefits: Int = 5

        func validate() throws {
            do { try makeConfiguration().validate() } catch let e as ValidationError { throw e } catch { throw ValidationError("\(error)") }
        }

        func makeConfiguration() throws -> ScanAdvisorSimulationConfiguration {
            func numbers(_ s: String, _ flag: String) throws -> [Double] {
                let v = s.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
                guard !v.isEmpty, v.allSatisfy({ $0 != nil }) else { throw ValidationError("\(flag) must be comma-separated numbers") }
                return v.compactMap { $0 }
            }
            let names = configurations.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            return ScanAdvisorSimulationConfiguration(
                rhos: try numbers(rho, "--rho"), casesPerClass: cases, maxScans: maxScans, alpha: alpha, seed: seed,
                configurations: names, separations: try numbers(separations, "--separations"), malignantPrevalence: prevalence,
                calibrationLesionsPerClass: calibrationLesions, calibrationScansPerLesion: calibrationScans,
                calibrationRefits: calibrationRefits)
        }

        struct Document: Encodable {
            var results: [ScanAdvisorResult]
            var configuration: ScanAdvisorSimulationConfiguration
            var generativeModel: String
            var evidence: [ScanConfigurationEvidence]
            /// Per ρ (as written in --rho order): 1 − advised / fixed-order mean scans to clear a benign lesion.
            var scansToClearReduction: [String: Double]
            /// Per ρ: the same on the benign lesions both clear, and in scans per benign lesion.
            var pairedScansToClearReduction: [String: Double]
            var benignScansReduction: [String: Double]
            var seconds: Double
            enum CodingKeys: String, CodingKey {
                case results, configuration, generativeModel = "generative_model", evidence
                case scansToClearReduction = "scans_to_clear_reduction"
                case pairedScansToClearReduction = "paired_scans_to_clear_reduction"
                case benignScansReduction = "benign_scans_reduction", seconds
            }
        }

        func run() throws {
            let config = try makeConfiguration()
            if !output.quiet && !output.json {
                Console.err("simulating \(cases) malignant and \(cases) benign lesions for each of \(config.rhos.count) ρ…")
            }
            let start = Date()
            let report: ScanAdvisorReport
            do { report = try ScanAdvisorSimulation.run(config) } catch let e as RepeatScanError { throw CLIError.badInput("\(e)") }
            let seconds = Date().timeIntervalSince(start)
            var reduction: [String: Double] = [:], pairedReduction: [String: Double] = [:], benignReduction: [String: Double] = [:]
            for rho in config.rhos {
                guard let a = report.result(rho: rho, choice: .advised), let f = report.result(rho: rho, choice: .fixedOrder) else { continue }
                if let x = a.meanScansToClear, let y = f.meanScansToClear, y > 0 { reduction[String(rho)] = 1 - x / y }
                pairedReduction[String(rho)] = a.pairedReduction
                benignReduction[String(rho)] = a.benignScanReduction(against: f)
            }
            if output.json {
                try Console.json(Document(results: report.results, configuration: config, generativeModel: report.generativeModel,
                                          evidence: report.evidence, scansToClearReduction: reduction,
                                          pairedScansToClearReduction: pairedReduction, benignScansReduction: benignReduction,
                                          seconds: seconds))
                return
            }
            func fmt(_ x: Double?, _ d: Int) -> String { x.map { String(format: "%.\(d)f", $0) } ?? "—" }
            func pad(_ s: String, _ w: Int) -> String { s.count >= w ? s + " " : s + String(repeating: " ", count: w - s.count) }
            Console.out("Next-scan advisor: \(cases) lesions per class per ρ, at most \(maxScans) scans, α = \(alpha), seed \(seed)")
            Console.out("configurations: " + zip(config.configurations, config.separations).map { "\($0) (d = \($1))" }.joined(separator: ", "))
            Console.out(pad("rho", 6) + pad("choice", 13) + pad("false reassurance", 20) + pad("benign cleared", 18)
                + pad("scans to clear", 18) + "scans per configuration")
            for r in report.results {
                Console.out(pad(fmt(r.rho, 2), 6) + pad(r.choice.rawValue, 13)
                    + pad("\(fmt(r.falseReassurance, 4)) ± \(fmt(r.falseReassuranceSE, 4))", 20)
                    + pad("\(fmt(r.benignCleared, 3)) ± \(fmt(r.benignClearedSE, 3))", 18)
                    + pad("\(fmt(r.meanScansToClear, 2)) ± \(fmt(r.meanScansToClearSE, 2))", 18)
                    + r.configurationShare.map { fmt($0, 2) }.joined(separator: " / "))
            }
            for rho in config.rhos {
                let key = String(rho)
                Console.out("ρ = \(fmt(rho, 2)): advised vs fixed order, fewer scans — to clear a cleared benign lesion \(fmt(reduction[key].map { 100 * $0 }, 0))%, "
                    + "on the benign lesions both clear \(fmt(pairedReduction[key].map { 100 * $0 }, 0))%, per benign lesion (until cleared or M) \(fmt(benignReduction[key].map { 100 * $0 }, 0))%")
            }
            Console.out("peeking looks at the scan it counts and is not a valid claim; it is shown so the check can be seen to fail")
        }
    }
}
