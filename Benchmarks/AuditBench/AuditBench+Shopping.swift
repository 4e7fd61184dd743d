import ArgumentParser
import Foundation
import RepeatScan

/// Outcome shopping at scale: a shopper rescans each simulated lesion until reassured, against every
/// reporting rule, for a grid of within-lesion correlations ρ. Reports false-reassurance and
/// benign-cleared rates with Monte-Carlo standard errors, and the simulation's speed.
struct ShoppingBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shopping",
        abstract: "Scan-until-reassured simulation: false reassurance per ρ and reporting rule (large size).")

    @Option(help: "Comma-separated within-lesion correlations ρ.") var rho: String = "0,0.1,0.3,0.5,0.7,0.9"
    @Option(help: "Simulated lesions per class (malignant and benign) for each ρ.") var cases = 200_000
    @Option(help: "Policy maximum number of scans M.") var maxScans = 20
    @Option(help: "Level α; the per-scan reassurance threshold is 1 − α.") var alpha = 0.05
    @Option(help: "Seed.") var seed: UInt64 = 20_261_128
    @Option(help: "Standardised separation d of the per-scan latent score.") var separation = 2.0
    @Option(help: "Malignant prevalence the per-scan probabilities are calibrated against.") var prevalence = 0.5
    @Option(help: "Calibration lesions per class for fitting the dependence model.") var calibrationLesions = 300
    @Option(help: "Scans per calibration lesion.") var calibrationScans = 5
    @Option(help: "Independent calibration sets per ρ (lesions split evenly between them).") var calibrationRefits = 20
    @Option(help: "Confidence of the upper limit on the null lesion variance; 0 = point estimate.")
    var nullConfidence = ScanDependenceModel.defaultNullLesionVarianceConfidence
    @Flag(help: "Print one JSON document (always on; accepted for uniformity).") var json = false

    func validate() throws {
        guard cases > 0, maxScans > 0 else { throw ValidationError("--cases and --max-scans must be positive") }
        guard alpha > 0, alpha < 1 else { throw ValidationError("--alpha must be in (0, 1)") }
        guard nullConfidence == 0 || (nullConfidence > 0.5 && nullConfidence < 1) else {
            throw ValidationError("--null-confidence must be 0 (point estimate) or in (0.5, 1)")
        }
        guard calibrationRefits >= 1, calibrationRefits <= cases else {
            throw ValidationError("--calibration-refits must be between 1 and --cases")
        }
        guard parsedRhos() != nil else { throw ValidationError("--rho must be comma-separated numbers in [0, 1)") }
    }

    func parsedRhos() -> [Double]? {
        let parts = rho.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard !parts.isEmpty, parts.allSatisfy({ $0 != nil && $0! >= 0 && $0! < 1 }) else { return nil }
        return parts.compactMap { $0 }
    }

    struct Output: Encodable {
        var benchmark = "shopping"
        var seconds: Double
        var lesions: Int
        var lesionsPerSecond: Double
        var scansDrawn: Int
        var report: ShoppingReport
        var results: [ShoppingResult]
        enum CodingKeys: String, CodingKey {
            case benchmark, seconds, lesions, lesionsPerSecond = "lesions_per_second"
            case scansDrawn = "scans_drawn", report, results
        }
    }

    func run() throws {
        let rhos = parsedRhos() ?? []
        let config = ShoppingSimulationConfiguration(
            rhos: rhos, casesPerClass: cases, maxScans: maxScans, alpha: alpha, seed: seed,
            separation: separation, malignantPrevalence: prevalence,
            calibrationLesionsPerClass: calibrationLesions, calibrationScansPerLesion: calibrationScans,
            rules: ShoppingRule.allCases, nullLesionVarianceConfidence: nullConfidence == 0 ? nil : nullConfidence,
            calibrationRefits: calibrationRefits)
        let clock = ContinuousClock()
        var report: ShoppingReport?
        let elapsed = try clock.measure { report = try ShoppingSimulation.run(config) }
        guard let report else { throw ValidationError("simulation produced no report") }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        let lesions = 2 * cases * rhos.count
        var r = report
        let results = r.results
        r.results = []     // printed once, at top level
        let out = Output(seconds: seconds, lesions: lesions, lesionsPerSecond: Double(lesions) / seconds,
                         scansDrawn: lesions * maxScans, report: r, results: results)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        FileHandle.standardOutput.write(try encoder.encode(out))
        FileHandle.standardOutput.write(Data("\n".utf8))
    }
}
