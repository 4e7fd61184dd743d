import Foundation
import Randomness

/// Parameters of the lineage cohort.
public struct LineageParameters: Codable, Sendable, Equatable {
    public var study: String
    /// Number of cell tracks.
    public var cases: Int
    /// Fraction of MegE tracks (balance); the rest are GM.
    public var megeFraction: Double
    /// Scales every lineage difference: 0 = indistinguishable lineages, 1 = default, 2 = twice as far apart.
    public var separability: Double
    /// Track lengths are uniform in minFrames...maxFrames.
    public var minFrames: Int
    public var maxFrames: Int
    /// Time constant (frames) of the divergence ramp g(t) = 1 − exp(−t/τ).
    public var divergenceFrames: Double
    /// Imaging interval.
    public var frameSeconds: Double
    /// Tracks per culture (the subject pseudonym); cultures add a shared batch effect.
    public var cellsPerCulture: Int
    public var splits: SplitProportions

    public init(study: String = "lineage", cases: Int = 200, megeFraction: Double = 0.5, separability: Double = 1,
                minFrames: Int = 30, maxFrames: Int = 120, divergenceFrames: Double = 40, frameSeconds: Double = 90,
                cellsPerCulture: Int = 8, splits: SplitProportions = SplitProportions()) {
        self.study = study; self.cases = cases; self.megeFraction = megeFraction; self.separability = separability
        self.minFrames = minFrames; self.maxFrames = maxFrames; self.divergenceFrames = divergenceFrames
        self.frameSeconds = frameSeconds; self.cellsPerCulture = cellsPerCulture; self.splits = splits
    }

    func validate() throws {
        func bad(_ name: String, _ value: Any, _ reason: String) -> CohortError {
            .invalidParameter(name: name, value: "\(value)", reason: reason)
        }
        guard cases > 0 else { throw bad("cases", cases, "must be > 0") }
        guard !study.isEmpty else { throw bad("study", study, "must not be empty") }
        guard megeFraction >= 0, megeFraction <= 1 else { throw bad("megeFraction", megeFraction, "must be in [0, 1]") }
        guard separability.isFinite, separability >= 0 else { throw bad("separability", separability, "must be ≥ 0") }
        guard minFrames >= 2, maxFrames >= minFrames else { throw bad("minFrames/maxFrames", "\(minFrames)/\(maxFrames)", "need 2 ≤ min ≤ max") }
        guard divergenceFrames.isFinite, divergenceFrames > 0 else { throw bad("divergenceFrames", divergenceFrames, "must be > 0") }
        guard frameSeconds.isFinite, frameSeconds > 0 else { throw bad("frameSeconds", frameSeconds, "must be > 0") }
        guard cellsPerCulture > 0 else { throw bad("cellsPerCulture", cellsPerCulture, "must be > 0") }
        try splits.validate()
    }
}

/// Time-lapse tracks of single haematopoietic progenitor cells choosing between the megakaryocyte–
/// erythroid (MegE) and granulocyte–macrophage (GM) lineages, after Buggenthin et al. (Nature Methods
/// 2017), who predicted that choice from bright-field images before any lineage marker appeared.
///
/// Per frame six morphology/motility features. Each follows a cell-specific baseline, a culture batch
/// effect, a cell cycle (area grows and halves at division), AR(1) frame noise, and a lineage term
/// `±Δ · separability · g(t)` with g(t) = 1 − exp(−t/τ): at the first frames the lineages look the
/// same, later they drift apart (MegE larger, rounder, slower, darker, smoother; GM more elongated,
/// faster, more textured). So the evidence a track carries grows with the frames observed.
public enum LineageCohort {
    public static let classes = ["MegE", "GM"]
    public static let channels = ["area", "perimeter", "eccentricity", "speed", "mean_intensity", "texture"]

    /// Lineage effect sizes at full divergence (g = 1, separability 1) in each feature's own noise
    /// units, signed towards MegE: area, eccentricity (logit), speed (log), intensity, texture.
    public static let lineageShift = (area: 1.2, eccentricityLogit: -1.0, logSpeed: -0.9, intensity: -0.8, texture: -0.8)

    /// First frame of every experiment; tracks of culture k start k hours later.
    static let experimentStart = Date(timeIntervalSince1970: 1_767_600_000)  // 2026-01-05T08:00:00Z

    public static func generate(_ p: LineageParameters, seed: UInt64) throws -> Cohort {
        try p.validate()
        var rng = SeededGenerator(seed: seed)
        let cultures = (p.cases + p.cellsPerCulture - 1) / p.cellsPerCulture
        let sizes = (0..<cultures).map { min(p.cellsPerCulture, p.cases - $0 * p.cellsPerCulture) }
        let cultureSplit = CohortSupport.assignSplits(subjectSizes: sizes, proportions: p.splits, rng: &rng)
        // Culture batch effects, one per feature.
        let cultureEffects = (0..<cultures).map { _ in (0..<6).map { _ in 0.25 * rng.nextGaussian() } }
        // Exact class counts, then shuffled across cells.
        let mege = Int((Double(p.cases) * p.megeFraction).rounded())
        var isMegE = [Bool](repeating: true, count: mege) + [Bool](repeating: false, count: p.cases - mege)
        rng.shuffle(&isMegE)

        let idWidth = max(4, String(p.cases).count)
        let cultureWidth = max(2, String(cultures).count)
        var cases: [CohortCase] = []
        cases.reserveCapacity(p.cases)
        for i in 0..<p.cases {
            let culture = i / p.cellsPerCulture
            let y: Double = isMegE[i] ? 1 : -1
            let label = isMegE[i] ? "MegE" : "GM"
            let frames = rng.nextInt(in: p.minFrames...p.maxFrames)
            let ce = cultureEffects[culture]
            // Cell baselines (between-cell variability within a lineage).
            let baseArea = 70 * exp(0.12 * rng.nextGaussian()) + 4 * ce[0]
            let baseEccLogit = -0.6 + 0.35 * rng.nextGaussian() + 0.3 * ce[2]
            let baseLogSpeed = log(1.1) + 0.25 * rng.nextGaussian() + 0.3 * ce[3]
            let baseIntensity = 0.55 + 0.03 * rng.nextGaussian() + 0.02 * ce[4]
            let baseTexture = 1.0 + 0.08 * rng.nextGaussian() + 0.05 * ce[5]
            let cyclePeriod = 55 + 25 * rng.nextUniform()  // frames
            let cyclePhase = rng.nextUniform()
            let startOffset = Double(culture) * 3600 + Double(rng.nextInt(below: 600)) * 1.0
            var ar = [Double](repeating: 0, count: 6)
            let phi = 0.7, innovation = (1 - phi * phi).squareRoot()
            var values = [Float]()
            values.reserveCapacity(frames * 6)
            for t in 0..<frames {
                for k in 0..<6 { ar[k] = phi * ar[k] + innovation * rng.nextGaussian() }
                let g = (1 - exp(-Double(t) / p.divergenceFrames)) * p.separability
                let phase = (Double(t) / cyclePeriod + cyclePhase).truncatingRemainder(dividingBy: 1)
                let cycle = 1 + 0.6 * phase  // grows through the cycle, halves at division
                let area = max(20, baseArea * cycle + 6 * (ar[0] + y * lineageShift.area * g))
                let eccLogit = baseEccLogit + 0.35 * (ar[2] + y * lineageShift.eccentricityLogit * g)
                let ecc = 1 / (1 + exp(-eccLogit))
                let perimeter = 2 * (Double.pi * area).squareRoot() * (1 + 0.25 * ecc * ecc) + 1.5 * ar[1]
                let speed = exp(baseLogSpeed + 0.35 * (ar[3] + y * lineageShift.logSpeed * g))
                let intensity = baseIntensity + 0.03 * (ar[4] + y * lineageShift.intensity * g)
                let texture = max(0, baseTexture + 0.1 * (ar[5] + y * lineageShift.texture * g))
                values.append(Float(area)); values.append(Float(perimeter)); values.append(Float(ecc))
                values.append(Float(speed)); values.append(Float(intensity)); values.append(Float(texture))
            }
            let subject = "culture-" + CohortSupport.padded(culture + 1, width: cultureWidth)
            let split = cultureSplit[culture]
            let start = experimentStart.addingTimeInterval(startOffset)
            let scan = CohortScan(
                index: 0, acquiredAt: CohortSupport.timestamp(start),
                acquisition: String(format: "bright-field time-lapse, 1 frame / %.0f s, %d frames, tracked cell", p.frameSeconds, frames),
                length: frames, channels: 6, values: values, latentEvidence: nil, isArtefact: false)
            cases.append(CohortCase(
                id: "\(p.study)-" + CohortSupport.padded(i + 1, width: idWidth), subject: subject, trueLabel: label,
                label: split == .incoming ? nil : label, split: split,
                notes: "synthetic lineage track (seed \(seed)); \(frames) frames", scans: [scan]))
        }
        let study = CohortStudy(
            name: p.study, classes: classes, channels: channels,
            description: "Synthetic haematopoietic progenitor tracks (MegE vs GM) after Buggenthin et al. 2017; "
                + "features per frame: \(channels.joined(separator: ", ")); generator lineage, seed \(seed)")
        return Cohort(generator: "lineage", seed: seed, parametersJSON: CohortSupport.json(p), study: study, cases: cases)
    }
}
