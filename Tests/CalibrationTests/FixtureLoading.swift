import Foundation
import XCTest

/// Reads a committed JSON fixture from the test bundle's `Fixtures` folder.
func loadFixture<T: Decodable>(_ name: String, as type: T.Type) throws -> T {
    guard let url = Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures") else {
        throw XCTSkip("fixture \(name).json missing from the test bundle")
    }
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    return try decoder.decode(T.self, from: Data(contentsOf: url))
}

/// The reference fixture written by `scripts/calibration_reference.py`.
struct ReferenceFixture: Decodable {
    struct ECEEntry: Decodable { let split: String; let bins: Int; let netcal: Double }
    struct Temperature: Decodable {
        let scipyBrentq: Double
        let nllBefore: Double
        let nllAfter: Double
        let netcalMle: Double?
    }
    struct Isotonic: Decodable { let oneVsRest: [[Double]]; let renormalised: [[Double]] }
    struct LAC: Decodable { let threshold: Double; let sets: [[Int]] }
    struct Cumulative: Decodable {
        let thresholdNonrandomized: Double
        let setsNonrandomizedNonempty: [[Int]]
        let thresholdRandomized: Double
        let setsRandomized: [[Int]]
        let lambda: Double?
        let kReg: Int?
    }
    struct Conformal: Decodable { let lac: LAC; let aps: Cumulative; let raps: Cumulative }
    struct Crepes: Decodable {
        let mondrianPvalues: [[Double]]
        let mondrianPvaluesSmoothed: [[Double]]
        let thetas: [[Double]]
        let mondrianSets: [[Int]]
        let marginalPvalues: [[Double]]
        let marginalSets: [[Int]]
    }

    let alpha: Double
    let calLogits: [[Double]]
    let calLabels: [Int]
    let testLogits: [[Double]]
    let testLabels: [Int]
    let calProbabilities: [[Double]]
    let testProbabilities: [[Double]]
    let ece: [ECEEntry]
    let temperature: Temperature
    let isotonic: Isotonic
    let conformal: Conformal
    let uCal: [Double]
    let uTest: [Double]
    let crepes: Crepes
}
