import Calibration
import CaseStore
import Foundation
import Retrieval

/// The model-free baseline a model must beat: 1-NN Euclidean on the z-normalised raw series (the
/// figure the UCR archive publishes, and what `audit neighbours --raw` searches), over the verified
/// cases of the reference and train splits, never the query's own subject. For NLL it needs
/// probabilities: the class counts of the k nearest neighbours, add-one smoothed, (n_c + 1)/(k + C).
struct ModelFreeBaseline {
    static let k = 10
    static let referenceSplits: [Split] = [.reference, .train]
    static let description = "1-NN Euclidean on z-normalised raw series over the verified reference and train cases; NLL from the \(k) nearest neighbours' class counts, add-one smoothed"

    let index: EmbeddingIndex
    let embedder: NeighboursJob.Embedder

    /// Nil when the study has no verified reference or train cases.
    init?(store: CaseStore, study: String) throws {
        let reference = try store.read { db in try CaseStore.caseScans(db, study: study, splits: Self.referenceSplits, verifiedOnly: true) }
        guard !reference.isEmpty else { return nil }
        embedder = try NeighboursJob.Embedder(store: store, model: nil)
        index = try embedder.index(reference)
    }

    /// The baseline's answer and smoothed probabilities for each case (first scan), over `classes`.
    func score(_ cases: [CaseScan], classes: [String]) throws -> (predictions: [Int], probabilities: [[Double]]) {
        let options = SearchOptions(k: Self.k, metric: .euclidean, verifiedOnly: true, excludeQuerySubject: true, sameStudyOnly: true)
        let results = try index.search(try cases.map { try embedder.query($0) }, options: options)
        var predictions: [Int] = [], probabilities: [[Double]] = []
        for (cs, neighbours) in zip(cases, results) {
            guard let nearest = neighbours.first, let label = nearest.metadata.label, let y = classes.firstIndex(of: label) else {
                throw PipelineError.badInput("case '\(cs.caseRecord.id)': the raw 1-NN baseline found no verified neighbour with one of the model's classes")
            }
            var counts = [Double](repeating: 1, count: classes.count)
            for n in neighbours { if let l = n.metadata.label, let c = classes.firstIndex(of: l) { counts[c] += 1 } }
            let total = counts.reduce(0, +)
            predictions.append(y)
            probabilities.append(counts.map { $0 / total })
        }
        return (predictions, probabilities)
    }
}
