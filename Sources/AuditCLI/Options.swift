import ArgumentParser
import CaseStore
import Foundation

/// `--store PATH`: every command takes it.
struct StoreOptions: ParsableArguments {
    @Option(name: .customLong("store"), help: "Case store file (SQLite; default: $COUNTERSIGN_STORE, else countersign.sqlite).")
    var storeArgument: String?

    /// The store path: `--store`, else `COUNTERSIGN_STORE`, else `countersign.sqlite`.
    var store: String {
        storeArgument ?? ProcessInfo.processInfo.environment["COUNTERSIGN_STORE"].flatMap { $0.isEmpty ? nil : $0 } ?? "countersign.sqlite"
    }

    /// Opens the store; creation and migration happen here.
    func open() throws -> CaseStore {
        do { return try CaseStore(path: store) } catch {
            throw CLIError.badInput("\(error)")
        }
    }

    /// Opens an existing store, refusing to create a new empty one by accident.
    func openExisting() throws -> CaseStore {
        guard FileManager.default.fileExists(atPath: store) else {
            throw CLIError.missing("case store \(store) does not exist (create it with `audit cases import` or `audit cohort generate`)")
        }
        return try open()
    }
}

/// `--json` and `--quiet`.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print one JSON document on stdout and nothing else there.")
    var json = false

    @Flag(name: .long, help: "No progress output.")
    var quiet = false

    /// Progress is drawn only on an interactive stderr, never with --quiet or --json.
    var showsProgress: Bool { !quiet && isatty(STDERR_FILENO) != 0 }
}

/// Errors the CLI maps onto documented exit codes.
enum CLIError: Error, CustomStringConvertible {
    /// 65: the input data is bad (file, line, field named in the message).
    case badInput(String)
    /// 66: a file or record that must exist does not.
    case missing(String)
    /// 1: the command completed but a check failed.
    case checkFailed(String)

    var description: String {
        switch self {
        case let .badInput(m), let .missing(m), let .checkFailed(m): return m
        }
    }

    var exitCode: Int32 {
        switch self {
        case .badInput: return 65
        case .missing: return 66
        case .checkFailed: return 1
        }
    }
}

/// Output helpers: results to stdout, everything else to stderr.
enum Console {
    /// Set while `audit run --demo --json` runs its steps: their stdout is collected here instead of
    /// printed, so stdout carries the demo's one JSON document and nothing else.
    @TaskLocal static var capture: OutputCapture?

    /// Every stdout write goes through here.
    static func write(_ data: Data) {
        if let capture { capture.append(data) } else { FileHandle.standardOutput.write(data) }
    }

    static func out(_ text: String) {
        write(Data((text + "\n").utf8))
    }

    static func err(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    /// Prints `value` as one pretty, key-sorted JSON document on stdout.
    static func json<T: Encodable>(_ value: T) throws {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        write(try e.encode(value) + Data("\n".utf8))
    }
}

/// Collected stdout of a step (see `Console.capture`).
final class OutputCapture: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()

    func append(_ more: Data) { lock.lock(); data.append(more); lock.unlock() }
    var text: String { lock.lock(); defer { lock.unlock() }; return String(decoding: data, as: UTF8.self) }
}
