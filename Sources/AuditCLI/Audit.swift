import ArgumentParser
import CaseStore
import Foundation
import Pipeline

@main
struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Countersign: checks and balances around a clinical sequence model.",
        discussion: """
            Exit status: 0 success; 1 completed but a check failed; 64 usage error; \
            65 bad input data; 66 missing file or record; 70 internal error.
            """,
        subcommands: [Run.self, Cases.self, Cohort.self, Store.self, Train.self, Model.self, Predict.self, Calibrate.self,
                      Index.self, Neighbours.self, Scans.self, Simulate.self, Log.self, Reviewer.self, ReviewCommand.self, Report.self, Serve.self, Export.self, Monitor.self])

    /// Parses, runs, and maps every error onto the documented exit codes.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var async = command as? AsyncParsableCommand {
                try await async.run()
            } else {
                try command.run()
            }
        } catch {
            exit(with: error)
        }
    }

    static func exit(with error: Error) -> Never {
        switch error {
        case let e as CLIError:
            Console.err("error: \(e)")
            Foundation.exit(e.exitCode)
        case let e as PipelineError:
            Console.err("error: \(e)")
            Foundation.exit(e.isMissing ? 66 : 65)
        case let e as ImportError:
            Console.err("error: \(e)")
            Foundation.exit(65)
        case let e as CaseStoreError:
            Console.err("error: \(e)")
            if case .notFound = e { Foundation.exit(66) }
            Foundation.exit(65)
        case let e where CaseStore.storageFailure(e) != nil:
            // Constraint violations are bad input refused by the schema; anything else is internal.
            let failure = CaseStore.storageFailure(e)!
            Console.err("error: \(failure.message)")
            Foundation.exit(failure.isBadInput ? 65 : 70)
        case is ExitCode, is CleanExit, is ValidationError:
            Self.exit(withError: error)
        default:
            let code = Self.exitCode(for: error)
            if code != .failure {
                Self.exit(withError: error)  // help, usage (64) and other parser outcomes
            }
            Console.err("error: \(error)")
            Foundation.exit(65)
        }
    }
}
