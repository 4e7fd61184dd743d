import Foundation
import Randomness

/// Parameters of the lesion cohort; the generative model is documented on `LesionCohort` and in
/// docs/cohorts.md.
public struct LesionParameters: Codable, Sendable, Equatable {
    public var study: String
    /// Number of lesions (cases).
    public var cases: Int
    /// Fraction of malignant lesions.
    public var malignantPrevalence: Double
    /// Fraction of atypical lesions; 0 = two classes (benign, malignant), > 0 adds "atypical".
    public var atypicalPrevalence: Double
    /// Within-lesion correlation ρ of the latent per-scan evidence (0 ≤ ρ < 1).
    public var rho: Double
    /// Standardised distance d between the benign and malignant means of the latent evidence.
    public var separation: Double
    /// SD of the independent measurement noise on each stored value.
    public var measurementNoise: Double
    /// Scans per lesion are uniform in minScans...maxScans.
    public var minScans: Int
    public var maxScans: Int
    /// Probability that a scan has a motion artefact.
    public var artefactRate: Double
    /// Mean lesions per patient (the subject pseudonym); each patient has 1 + Poisson(mean − 1).
    public var lesionsPerPatient: Double
    public var splits: SplitProportions
    /// A later batch of the same study (e.g. another clinic's referrals): its case ids and patient
    /// pseudonyms carry the name, so it can join a study that already holds a cohort. Absent (nil)
    /// from the parameters JSON when unset, so earlier cohorts keep their bytes.
    public var batch: String?
    /// Scans taken under the scanner configurations of `LesionCohort.scannerConfigurations` in their
    /// fixed order (scan j under configuration j mod 4), each with its own strength of evidence; the
    /// acquisition text names the configuration. Absent (nil) from the parameters JSON when unset.
    public var scannerConfigurations: Bool?

    public init(study: String = "lesion", cases: Int = 300, malignantPrevalence: Double = 0.10,
                atypicalPrevalence: Double = 0, rho: Double = 0.5, separation: Double = 2.0,
                measurementNoise: Double = 0.1, minScans: Int = 2, maxScans: Int = 5, artefactRate: Double = 0.04,
                lesionsPerPatient: Double = 1.5, splits: SplitProportions = SplitProportions()) {
        self.study = study; self.cases = cases; self.malignantPrevalence = malignantPrevalence
        self.atypicalPrevalence = atypicalPrevalence; self.rho = rho; self.separation = separation
        self.measurementNoise = measurementNoise; self.minScans = minScans; self.maxScans = maxScans
        self.artefactRate = artefactRate; self.lesionsPerPatient = lesionsPerPatient; self.splits = splits
    }

    func validate() throws {
        func bad(_ name: String, _ value: Any, _ reason: String) -> CohortError {
            .invalidParameter(name: name, value: "\(value)", reason: reason)
        }
        guard cases > 0 else { throw bad("cases", cases, "must be > 0") }
        guard !study.isEmpty else { throw bad("study", study, "must not be empty") }
        guard malignantPrevalence >= 0, atypicalPrevalence >= 0, malignantPrevalence + atypicalPrevalence <= 1 else {
            throw bad("prevalences", "\(malignantPrevalence)/\(atypicalPrevalence)", "must be ≥ 0 and sum to ≤ 1")
        }
        guard rho.isFinite, rho >= 0, rho < 1 else { throw bad("rho", rho, "must be in [0, 1)") }
        guard separation.isFinite, separation >= 0 else { throw bad("separation", separation, "must be ≥ 0") }
        guard measurementNoise.isFinite, measurementNoise >= 0 else { throw bad("measurementNoise", measurementNoise, "must be ≥ 0") }
        guard minScans >= 1, maxScans >= minScans else { throw bad("minScans/maxScans", "\(minScans)/\(maxScans)", "need 1 ≤ min ≤ max") }
        guard artefactRate >= 0, artefactRate <= 1 else { throw bad("artefactRate", artefactRate, "must be in [0, 1]") }
        guard lesionsPerPatient >= 1, lesionsPerPatient.isFinite else { throw bad("lesionsPerPatient", lesionsPerPatient, "must be ≥ 1") }
        try splits.validate()
        if let batch {
            guard !batch.isEmpty, batch.unicodeScalars.allSatisfy({ CharacterSet.lowercaseLetters.contains($0) && $0.isASCII || ("0"..."9").contains($0) || $0 == "-" }) else {
                throw bad("batch", batch, "must be lower-case letters, digits and hyphens")
            }
        }
    }

    /// Classes in logit order.
    public var classes: [String] { atypicalPrevalence > 0 ? ["benign", "atypical", "malignant"] : ["benign", "malignant"] }
}

/// Skin lesions scanned several times. One scan is a sequence over illumination configurations
/// (time steps) with measured optical features as channels.
///
/// Generative model (lesion i of class k, scan j):
///
///     z_ij = μ_k + u_i + e_ij,   u_i ~ N(0, ρ),  e_ij ~ N(0, 1 − ρ)
///     x_ij[t, c] = baseline[t][c] + loading[t][c] · z_ij + σ_m · ε_ijtc
///
/// with μ_benign = −d/2, μ_malignant = +d/2, μ_atypical = 0. Given the class, z has variance 1 and
/// scans of one lesion correlate with correlation ρ: the lesion effect u_i is what another scan
/// cannot remove. For two classes the single-scan log-likelihood ratio is d · z_ij, so the per-scan
/// logit `log(π/(1−π)) + d · z_ij` is calibrated for one scan and its scans correlate with ρ.
/// The least-squares read-out of z from a scan, `Σ loading·(x − baseline) / Σ loading²`, equals
/// z_ij plus noise of variance σ_m² / Σ loading², so its within-lesion correlation is
/// ρ / (1 + σ_m² / Σ loading²) (≈ ρ for the defaults). A motion-artefact scan keeps only 30% of the
/// evidence after a random onset and adds noise of SD 1.5: it no longer follows the model, and its
/// acquisition text says "motion artefact".
public enum LesionCohort {
    /// Scanner configurations a repeat scan can be taken under (`LesionParameters.scannerConfigurations`),
    /// in the cohort's fixed order, with the factor that scales the class means of the latent evidence
    /// (how much of the lesion's class one scan under it shows).
    public static let scannerConfigurations: [(name: String, evidenceGain: Double)] = [
        ("contact, non-polarised", 0.5), ("non-contact, cross-polarised", 0.8),
        ("multispectral, visible", 1.1), ("multispectral, extended near-infrared", 1.4)]

    /// Illumination configurations, in acquisition order (the time axis of a scan).
    public static let illuminations = ["white cross-polarised", "white parallel-polarised", "405 nm", "470 nm",
                                       "530 nm", "590 nm", "660 nm", "850 nm"]
    /// Measured features (channels).
    public static let channels = ["reflectance", "absorbance_contrast", "pigment_network", "border_sharpness"]

    /// Baseline value of feature c under illumination t (fixed scanner design, independent of the seed).
    public static func baseline(_ t: Int, _ c: Int) -> Double {
        [1.0, 0.6, 0.4, 0.8][c] + 0.3 * sin(0.9 * Double(t) + 1.7 * Double(c))
    }

    /// How strongly feature c under illumination t responds to the latent evidence z.
    public static func loading(_ t: Int, _ c: Int) -> Double {
        let s = [0.35, 0.5, 0.45, -0.3][c]
        return s * (0.6 + 0.4 * cos(0.6 * Double(t) - 0.8 * Double(c)))
    }

    /// Σ loading² over one scan: the read-out noise variance is σ_m² divided by this.
    public static var loadingEnergy: Double {
        var e = 0.0
        for t in 0..<illuminations.count { for c in 0..<channels.count { e += loading(t, c) * loading(t, c) } }
        return e
    }

    /// Mean latent evidence of a class.
    public static func classMean(_ label: String, separation d: Double) -> Double {
        switch label {
        case "malignant": return d / 2
        case "benign": return -d / 2
        default: return 0
        }
    }

    /// The calibrated single-scan logit of malignant vs benign for latent evidence z (two classes):
    /// `log(π / (1 − π)) + d · z`, the log prior odds plus the single-scan log-likelihood ratio.
    public static func singleScanLogit(evidence z: Double, malignantPrevalence pi: Double, separation d: Double) -> Double {
        log(pi / (1 - pi)) + d * z
    }

    /// The least-squares read-out of the latent evidence from a scan's values (NaN-free).
    public static func evidenceReadout(_ values: [Float]) -> Double {
        let T = illuminations.count, C = channels.count
        var num = 0.0
        for t in 0..<T { for c in 0..<C { num += loading(t, c) * (Double(values[t * C + c]) - baseline(t, c)) } }
        return num / loadingEnergy
    }

    static let clinicStart = Date(timeIntervalSince1970: 1_767_600_000)  // 2026-01-05T08:00:00Z

    public static func generate(_ p: LesionParameters, seed: UInt64) throws -> Cohort {
        try p.validate()
        var rng = SeededGenerator(seed: seed)
        let T = illuminations.count, C = channels.count

        // Patients and their lesions.
        var patientSizes: [Int] = []
        var remaining = p.cases
        while remaining > 0 {
            let extra = poisson(p.lesionsPerPatient - 1, &rng)
            let n = min(remaining, 1 + extra)
            patientSizes.append(n); remaining -= n
        }
        let patientSplit = CohortSupport.assignSplits(subjectSizes: patientSizes, proportions: p.splits, rng: &rng)

        // Exact class counts, shuffled over lesions.
        let malignant = Int((Double(p.cases) * p.malignantPrevalence).rounded())
        let atypical = min(p.cases - malignant, Int((Double(p.cases) * p.atypicalPrevalence).rounded()))
        var labels = [String](repeating: "malignant", count: malignant) + [String](repeating: "atypical", count: atypical)
            + [String](repeating: "benign", count: p.cases - malignant - atypical)
        rng.shuffle(&labels)

        let idWidth = max(4, String(p.cases).count)
        let patientWidth = max(3, String(patientSizes.count).count)
        let lesionSD = p.rho.squareRoot(), scanSD = (1 - p.rho).squareRoot()
        var cases: [CohortCase] = []
        cases.reserveCapacity(p.cases)
        var lesion = 0
        for (patient, size) in patientSizes.enumerated() {
            let subject = (p.batch.map { $0 + "-" } ?? "") + "patient-" + CohortSupport.padded(patient + 1, width: patientWidth)
            let split = patientSplit[patient]
            let visit = clinicStart.addingTimeInterval(Double(patient) * 86_400 / 4 + Double(rng.nextInt(below: 3600)))
            for lesionOfPatient in 0..<size {
                let label = labels[lesion]
                let u = lesionSD * rng.nextGaussian()
                let mu = classMean(label, separation: p.separation)
                let scanCount = rng.nextInt(in: p.minScans...p.maxScans)
                var scans: [CohortScan] = []
                var artefacts: [Int] = []
                for j in 0..<scanCount {
                    let setting = p.scannerConfigurations == true ? Self.scannerConfigurations[j % Self.scannerConfigurations.count] : nil
                    let z = mu * (setting?.evidenceGain ?? 1) + u + scanSD * rng.nextGaussian()
                    let artefact = rng.nextBernoulli(p.artefactRate)
                    let onset = artefact ? rng.nextInt(below: T) : T
                    var values = [Float](repeating: 0, count: T * C)
                    for t in 0..<T {
                        for c in 0..<C {
                            var x = baseline(t, c) + loading(t, c) * (t >= onset ? 0.3 * z : z)
                                + p.measurementNoise * rng.nextGaussian()
                            if t >= onset { x += 1.5 * rng.nextGaussian() }
                            values[t * C + c] = Float(x)
                        }
                    }
                    var acquisition = "dermoscopic scan, illumination sequence: " + illuminations.joined(separator: "; ")
                    if let setting { acquisition += "; scanner configuration: " + setting.name }
                    if artefact {
                        acquisition += "; motion artefact from configuration \(onset + 1) (\(illuminations[onset]))"
                        artefacts.append(j)
                    }
                    let at = visit.addingTimeInterval(Double(lesionOfPatient) * 900 + Double(j) * 120)
                    scans.append(CohortScan(index: j, acquiredAt: CohortSupport.timestamp(at), acquisition: acquisition,
                                            length: T, channels: C, values: values, latentEvidence: z,
                                            isArtefact: artefact))
                }
                var notes = "synthetic lesion (seed \(seed)); \(scanCount) scans"
                if !artefacts.isEmpty {
                    notes += "; motion artefact in scan " + artefacts.map(String.init).joined(separator: ", ")
                }
                cases.append(CohortCase(
                    id: "\(p.study)-" + (p.batch.map { $0 + "-" } ?? "") + CohortSupport.padded(lesion + 1, width: idWidth), subject: subject,
                    trueLabel: label, label: split == .incoming ? nil : label, split: split, notes: notes, scans: scans))
                lesion += 1
            }
        }
        let study = CohortStudy(
            name: p.study, classes: p.classes, channels: channels,
            description: "Synthetic skin lesions with repeat scans over \(T) illumination configurations; "
                + "within-lesion correlation rho \(p.rho), separation \(p.separation), malignant prevalence "
                + "\(p.malignantPrevalence); generator lesion, seed \(seed)")
        return Cohort(generator: "lesion", seed: seed, parametersJSON: CohortSupport.json(p), study: study, cases: cases)
    }

    /// Poisson draw by inversion (small means only).
    static func poisson(_ mean: Double, _ rng: inout SeededGenerator) -> Int {
        guard mean > 0 else { return 0 }
        let limit = exp(-mean)
        var k = 0, prod = rng.nextUniform()
        while prod > limit && k < 1000 { k += 1; prod *= rng.nextUniform() }
        return k
    }
}
