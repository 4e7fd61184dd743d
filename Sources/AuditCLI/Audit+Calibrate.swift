import ArgumentParser
import Calibration
import CaseStore
import Foundation
import Pipeline

extension Audit {
    /// `audit calibrate`: fits a calibrator and a split conformal predictor for a model on the
    /// verified cases of a calibration split, stores both tied to the model id and the calibration
    /// set's content hash, logs a `calibrate.fit` event in the same transaction, and reports the
    /// figures before and after (and coverage on an evaluation split).
    struct Calibrate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Fit a calibrator and conformal thresholds for a model; report ECE, NLL, Brier and coverage.",
            discussion: """
                Each case contributes the logits of its first scan. The calibration split's verified cases are \
                partitioned deterministically (by a hash of the case id): a fraction --conformal-holdout is held \
                out from fitting the calibrator and used for the conformal thresholds, so the conformal scores \
                are exchangeable with new cases. The figures before/after are measured on --evaluate-split when \
                given, otherwise on that hold-out. Without a hold-out they are in-sample and flagged so.
                """)

        enum Method: String, ExpressibleByArgument, CaseIterable { case temperature, vector, platt, isotonic, histogram }
        enum Score: String, ExpressibleByArgument, CaseIterable { case lac, aps, raps }

        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var actorOptions: ActorOptions
        @OptionGroup var output: OutputOptions
        @Option(help: "Model id (SHA-256 of its weights) or a unique prefix of at least 8 hex digits.") var model: String
        @Option(help: "Study (default: the model's study).") var study: String?
        @Option(help: "Split holding the verified calibration cases.") var split: String = "calibration"
        @Option(help: "Calibration method: temperature, vector, platt, isotonic or histogram.") var method: Method
        @Option(help: "Miscoverage level α of the conformal sets, in (0, 1).") var alpha: Double = 0.1
        @Flag(help: "Class-conditional (Mondrian) conformal thresholds, one per class.") var mondrian = false
        @Option(help: "Conformity score: lac, aps or raps.") var score: Score = .lac
        @Flag(help: "Randomised APS/RAPS scores (seeded).") var randomized = false
        @Option(help: "RAPS penalty λ.") var rapsLambda: Double = 0.01
        @Option(help: "RAPS k_reg (rank from which the penalty applies).") var rapsKReg: Int = 1
        @Flag(help: "Refuse (exit 65) instead of warning when a class has too few calibration cases for α.")
        var refuseSmallClasses = false
        @Option(help: "Fraction of calibration cases held out from the calibrator for the conformal thresholds, in [0, 0.9].")
        var conformalHoldout: Double = 0.5
        @Option(help: "Split on which to evaluate coverage and the figures after calibration.") var evaluateSplit: String?
        @Option(help: "Number of equal-width ECE bins.") var bins: Int = 15
        @Option(help: "Bootstrap replicates for the 95% intervals.") var bootstrap: Int = 1000
        @Option(help: "Seed for bootstrap, noise floor and randomised scores.") var seed: UInt64 = 0

        func validate() throws {
            guard alpha > 0 && alpha < 1 else { throw ValidationError("--alpha must lie in (0, 1), got \(alpha)") }
            guard bins >= 1 else { throw ValidationError("--bins must be at least 1") }
            guard bootstrap >= 2 else { throw ValidationError("--bootstrap must be at least 2") }
            guard conformalHoldout >= 0 && conformalHoldout <= 0.9 else {
                throw ValidationError("--conformal-holdout must lie in [0, 0.9], got \(conformalHoldout)")
            }
            guard rapsLambda >= 0 && rapsKReg >= 0 else { throw ValidationError("--raps-lambda and --raps-k-reg must be ≥ 0") }
            guard Split(rawValue: split) != nil else { throw ValidationError("--split: unknown split '\(split)'") }
            if let e = evaluateSplit, Split(rawValue: e) == nil { throw ValidationError("--evaluate-split: unknown split '\(e)'") }
            if randomized && score == .lac { throw ValidationError("--randomized applies to aps and raps only") }
        }

        var conformityScore: ConformityScore {
            switch score {
            case .lac: return .lac
            case .aps: return .aps(randomized: randomized)
            case .raps: return .raps(lambda: rapsLambda, kReg: rapsKReg, randomized: randomized)
            }
        }

        func run() async throws {
            let store = try storeOptions.openExisting()
            var job = CalibrateJob(store: store, model: model, method: CalibrationMethod(rawValue: method.rawValue)!,
                                   actor: actorOptions.actor)
            job.study = study; job.split = split; job.alpha = alpha; job.mondrian = mondrian
            job.conformityScore = conformityScore; job.refuseSmallClasses = refuseSmallClasses
            job.conformalHoldout = conformalHoldout; job.evaluateSplit = evaluateSplit
            job.bins = bins; job.bootstrap = bootstrap; job.seed = seed
            let bar = ProgressBar(total: 0, label: "logits", enabled: output.showsProgress && !output.json)
            var drawing = false
            let (report, warnings, classes) = try job.run { _, done, total in
                drawing = true
                bar.update(done, total: total)
                if done == total { bar.finish(); drawing = false }
            }
            if drawing { bar.finish() }
            for w in warnings { Console.err("warning: \(w)") }
            if output.json {
                try Console.json(report)
            } else {
                Console.out(report.text(classes: classes))
            }
        }
    }
}
