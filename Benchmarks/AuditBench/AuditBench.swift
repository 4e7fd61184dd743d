import ArgumentParser

@main
struct AuditBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit-bench",
        abstract: "Countersign benchmarks; each prints one JSON document.",
        subcommands: [ShoppingBench.self, RetrievalBench.self, RecurrentBench.self,
                      RecurrentAccuracyBench.self, RecurrentLineageBench.self, LSTMFCNBench.self, LogBench.self, RunBench.self, ServeBench.self])
}
