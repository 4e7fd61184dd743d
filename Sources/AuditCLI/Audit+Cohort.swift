import ArgumentParser
import CaseStore
import Cohorts
import Foundation
import Pipeline

extension Audit {
    struct Cohort: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "cohort",
            abstract: "Synthetic demo cohorts (deterministic for a seed); see docs/cohorts.md.",
            subcommands: [Generate.self])
    }
}

extension Audit.Cohort {
    enum Kind: String, ExpressibleByArgument, CaseIterable { case lineage, lesion }

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Generate a lineage or lesion cohort and write it to the store in one transaction.",
            discussion: """
                lineage: haematopoietic progenitor tracks, MegE vs GM (after Buggenthin et al. 2017).
                lesion: skin lesions with repeat scans over illumination configurations, within-lesion \
                correlation --rho. Incoming cases are written unlabelled. The same seed gives the same cohort.
                """)
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var actorOptions: ActorOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "lineage or lesion.") var kind: Kind
        @Option(help: "Number of cases (tracks or lesions).") var cases: Int
        @Option(help: "Random seed.") var seed: UInt64
        @Option(help: "Study name (default: the generator's name).") var study: String?
        @Option(help: "Split proportions, e.g. train=0.5,validation=0.1,calibration=0.15,reference=0.1,test=0.1,incoming=0.05.")
        var splits: String?
        // Lesion.
        @Option(help: "lesion: within-lesion correlation ρ of the per-scan evidence, in [0, 1).") var rho: Double?
        @Option(help: "lesion: standardised benign–malignant separation d of the per-scan evidence.") var separation: Double?
        @Option(help: "lesion: malignant prevalence.") var prevalence: Double?
        @Option(help: "lesion: atypical prevalence (> 0 adds the class 'atypical').") var atypical: Double?
        @Option(help: "lesion: probability of a motion-artefact scan.") var artefactRate: Double?
        @Option(help: "lesion: fewest scans per lesion.") var minScans: Int?
        @Option(help: "lesion: most scans per lesion.") var maxScans: Int?
        @Option(help: "lesion: SD of the measurement noise on each stored value.") var noise: Double?
        @Option(help: "lesion: name of a later batch (case ids <study>-<batch>-NNNN), so it can join a study that holds a cohort.") var batch: String?
        @Flag(help: "lesion: take scan j under scanner configuration j mod 4 (four settings of increasing evidence; the acquisition text names it).")
        var scannerConfigurations = false
        // Lineage.
        @Option(help: "lineage: fraction of MegE tracks.") var megeFraction: Double?
        @Option(help: "lineage: scale of the lineage differences (0 = none).") var separability: Double?
        @Option(help: "lineage: shortest track (frames).") var minFrames: Int?
        @Option(help: "lineage: longest track (frames).") var maxFrames: Int?

        func validate() throws {
            guard cases > 0 else { throw ValidationError("--cases must be positive") }
            let lesionOnly = [rho, separation, prevalence, atypical, artefactRate, noise].contains { $0 != nil } || minScans != nil || maxScans != nil
                || batch != nil || scannerConfigurations
            let lineageOnly = megeFraction != nil || separability != nil || minFrames != nil || maxFrames != nil
            if kind == .lineage && lesionOnly { throw ValidationError("--rho, --separation, --prevalence, --atypical, --artefact-rate, --min-scans, --max-scans, --noise, --batch, --scanner-configurations are lesion options") }
            if kind == .lesion && lineageOnly { throw ValidationError("--mege-fraction, --separability, --min-frames, --max-frames are lineage options") }
            if let splits { _ = try Self.parseSplits(splits) }
        }

        static func parseSplits(_ text: String) throws -> SplitProportions {
            var p = SplitProportions(train: 0, validation: 0, calibration: 0, reference: 0, test: 0, incoming: 0)
            for part in text.split(separator: ",") {
                let kv = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard kv.count == 2, let v = Double(kv[1]), v.isFinite, v >= 0 else {
                    throw ValidationError("--splits: expected name=proportion, found '\(part)'")
                }
                switch kv[0] {
                case "train": p.train = v
                case "validation": p.validation = v
                case "calibration": p.calibration = v
                case "reference": p.reference = v
                case "test": p.test = v
                case "incoming": p.incoming = v
                default: throw ValidationError("--splits: unknown split '\(kv[0])'")
                }
            }
            return p
        }

        func makeCohort() throws -> Cohorts.Cohort {
            let splitProportions = try splits.map(Self.parseSplits) ?? SplitProportions()
            switch kind {
            case .lineage:
                var p = LineageParameters(study: study ?? "lineage", cases: cases, splits: splitProportions)
                if let megeFraction { p.megeFraction = megeFraction }
                if let separability { p.separability = separability }
                if let minFrames { p.minFrames = minFrames }
                if let maxFrames { p.maxFrames = maxFrames }
                return try LineageCohort.generate(p, seed: seed)
            case .lesion:
                var p = LesionParameters(study: study ?? "lesion", cases: cases, splits: splitProportions)
                if let rho { p.rho = rho }
                if let separation { p.separation = separation }
                if let prevalence { p.malignantPrevalence = prevalence }
                if let atypical { p.atypicalPrevalence = atypical }
                if let artefactRate { p.artefactRate = artefactRate }
                if let minScans { p.minScans = minScans }
                if let maxScans { p.maxScans = maxScans }
                if let noise { p.measurementNoise = noise }
                p.batch = batch
                if scannerConfigurations { p.scannerConfigurations = true }
                return try LesionCohort.generate(p, seed: seed)
            }
        }

        func run() throws {
            let cohort: Cohorts.Cohort
            do { cohort = try makeCohort() } catch let e as CohortError { throw ValidationError(e.description) }
            let store = try storeOptions.open()
            let (result, study, seq) = try CohortJob(store: store, cohort: cohort, actor: actorOptions.actor).run()
            let written = result.written!
            if output.json {
                struct Out: Encodable {
                    let cohort: CohortJob.Payload; let auditSeq: Int
                    enum CodingKeys: String, CodingKey { case cohort, auditSeq = "audit_seq" }
                }
                try Console.json(Out(cohort: result, auditSeq: seq))
                return
            }
            let splitText = Split.allCases.compactMap { s in written.splitCounts[s.rawValue].map { "\(s.rawValue) \($0)" } }
                .joined(separator: ", ")
            let classText = study.classes.map { "\($0) \(written.classCounts[$0] ?? 0)" }.joined(separator: ", ")
            let unlabelled = written.cases - written.classCounts.values.reduce(0, +)
            Console.out("""
                generated \(cohort.generator) cohort: \(written.cases) cases, \(written.scans) scans into study \(study.name)\
                \(written.studyCreated ? " (created)" : "") (seed \(cohort.seed))
                  splits: \(splitText)
                  labels: \(classText), unlabelled (incoming) \(unlabelled)
                  cohort sha256 \(result.cohortSHA256)
                  audit event #\(seq)
                """)
        }
    }
}
