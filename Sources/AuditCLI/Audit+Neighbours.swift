import ArgumentParser
import CaseStore
import Foundation
import Pipeline

extension Audit {
    /// `audit neighbours`: the nearest verified cases of a case (or of every case of a split), with
    /// their distances, the neighbours' vote, deep-kNN credibility and confidence, and how far out of
    /// distribution the case lies.
    struct Neighbours: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "neighbours",
            abstract: "Nearest verified cases, credibility, confidence and out-of-distribution percentile.",
            discussion: """
                Give one CASE or --split S, and --model ID (embeddings from `audit index build`) or --raw \
                (each scan z-normalised on its own, channels z-normalised separately and concatenated: \
                a model-free baseline comparable with published 1-NN figures; equal-length studies only). \
                The reference set is the verified cases of the query's study in --reference-split; the \
                query's own case and subject are never neighbours. Credibility, confidence and the \
                out-of-distribution percentile are calibrated on the verified cases of \
                --calibration-split; when that split is empty, on the reference cases themselves, each \
                left out of its own search (reported as leave_one_out). A case is queried by its first scan.
                """)

        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "Case id to query.") var caseID: String?
        @Option(help: "Query every case of this split instead of one case.") var split: String?
        @Option(help: "Study of the --split cases (default: every study).") var study: String?
        @Option(help: "Model id (SHA-256) whose embeddings to search.") var model: String?
        @Flag(help: "Use the z-normalised series themselves as embeddings (no model).") var raw = false
        @Option(help: "Split(s) of the reference cases, comma-separated.") var referenceSplit: String = "train"
        @Option(help: "Split of the calibration cases.") var calibrationSplit: String = "calibration"
        @Option(help: "Neighbours per query.") var k: Int = 10
        @Option(help: "cosine or euclidean.") var metric: String = "euclidean"

        func validate() throws {
            if (caseID == nil) == (split == nil) { throw ValidationError("give either a CASE id or --split S") }
            if (model == nil) == !raw { throw ValidationError("give either --model ID or --raw") }
            guard k > 0 else { throw ValidationError("--k must be positive") }
            guard NeighboursJob.Metric(rawValue: metric) != nil else { throw ValidationError("--metric must be cosine or euclidean") }
            _ = try RetrievalCLI.splits(referenceSplit, option: "--reference-split")
            _ = try RetrievalCLI.splits(calibrationSplit, option: "--calibration-split")
            if let split { _ = try RetrievalCLI.splits(split, option: "--split") }
        }

        func run() async throws {
            let store = try storeOptions.openExisting()
            var job = NeighboursJob(store: store, query: caseID.map { .init(caseId: $0) } ?? .init(study: study), model: model)
            if let split { job.querySplits = try RetrievalCLI.splits(split, option: "--split") }
            job.referenceSplits = try RetrievalCLI.splits(referenceSplit, option: "--reference-split")
            job.calibrationSplits = try RetrievalCLI.splits(calibrationSplit, option: "--calibration-split")
            job.k = k
            job.metric = NeighboursJob.Metric(rawValue: metric) ?? .euclidean
            let (document, notes) = try job.run()
            if !output.quiet && !output.json { for n in notes { Console.err("note: \(n)") } }
            let documents = document.queries, studies = document.studies
            if output.json {
                try Console.json(document)
            } else {
                for q in documents {
                    Console.out("\(q.caseID)\(q.label.map { " [\($0)]" } ?? ""): predicted \(q.predicted), credibility \(String(format: "%.3f", q.credibility)), confidence \(String(format: "%.3f", q.confidence)); \(q.oodSentence)")
                    for n in q.neighbours {
                        Console.out("  \(n.caseID) scan \(n.scanIndex)  d=\(String(format: "%.4f", n.distance))  \(n.label ?? "-")  verified by \(n.verifiedBy ?? "-")")
                    }
                }
                for s in studies {
                    Console.out("study \(s.study): \(s.queries) queries, reference \(s.referenceRows) rows, calibration n=\(s.calibrationCount)\(s.leaveOneOut ? " (leave-one-out)" : "")"
                        + (s.errorRate.map { String(format: ", vote error %.4f (%d/%d)", $0, s.errors, s.labelledQueries) } ?? ""))
                }
            }
        }
    }
}

// MARK: Shared with `audit index build`

enum RetrievalCLI {
    /// Comma-separated split names.
    static func splits(_ text: String, option: String) throws -> [Split] {
        let names = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !names.isEmpty else { throw ValidationError("\(option) needs at least one split") }
        return try names.map { name in
            guard let s = Split(rawValue: name) else {
                throw ValidationError("\(option): unknown split '\(name)' (expected one of \(Split.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            return s
        }
    }
}
