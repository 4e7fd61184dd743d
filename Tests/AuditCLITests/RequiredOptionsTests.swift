import Foundation
import XCTest

/// Every command's documented interface agrees with what it enforces. The documentation is the help
/// (`--experimental-dump-help` is the same data the help is printed from): the options it marks
/// required must be exactly the ones the command refuses to run without (exit 64), and the options
/// whose help says "required with …" / "required unless …" are checked one rule at a time.
final class RequiredOptionsTests: XCTestCase {
    /// A valid value for every required argument and option of every leaf command. A command missing
    /// here fails the test, so a new command must state what it requires.
    static let samples: [String: [String: String]] = [
        "run": [:],
        "cases import": ["file": "data.tsv", "--study": "s", "--split": "train"],
        "cases list": [:],
        "cases show": ["case-id": "c1"],
        "cases assign": ["--study": "s", "--from": "test", "--to": "calibration", "--fraction": "0.5"],
        "cohort generate": ["kind": "lesion", "--cases": "4", "--seed": "1"],
        "store info": [:],
        "store verify": [:],
        "train": ["--study": "s"],
        "model import": ["file": "m.safetensors"],
        "model export": ["id": "0123456789abcdef", "file": "out.safetensors"],
        "model list": [:],
        "model show": ["id": "0123456789abcdef"],
        "predict": ["--study": "s", "--split": "test"],
        "calibrate": ["--model": "0123456789abcdef", "--method": "temperature"],
        "index build": ["--model": "0123456789abcdef"],
        "neighbours": [:],
        "scans": ["case-id": "c1", "--model": "0123456789abcdef"],
        "simulate shopping": [:],
        "simulate advisor": [:],
        "log verify": [:],
        "log show": [:],
        "log checkpoint": [:],
        "log prove inclusion": ["seq": "0"],
        "log prove consistency": ["m": "1", "n": "2"],
        "log key": [:],
        "reviewer add": ["--id": "alice", "--name": "Alice A", "--role": "dermatologist"],
        "reviewer deactivate": ["--id": "alice"],
        "reviewer rotate-key": ["--id": "alice"],
        "reviewer list": [:],
        "review queue": [:],
        "review open": ["case-id": "c1", "--reviewer": "alice"],
        "review read": ["case-id": "c1", "--reviewer": "alice", "--class": "benign"],
        "review sign": ["case-id": "c1", "--reviewer": "alice", "--decision": "agree", "--meaning": "review"],
        "review verify": [:],
        "serve": [:],
        "export fhir": ["--run": "r1", "--out": "exports"],
        "cases verify": [:],
        "monitor": ["--study": "s"],
        "review stats": [:],
        "report case": ["case-id": "c1", "--run": "r1"],
        "report run": ["run-id": "r1"],
    ]

    /// Optional options whose help names a condition under which they are required (tested below).
    static let conditionallyRequired: Set<String> = ["review sign --class", "review sign --reason-code", "run --study"]

    struct Argument {
        var name: String       // "--study" for options, the value name for positionals
        var positional: Bool
        var optional: Bool
        var help: String
    }

    /// Leaf commands and their arguments, from the tool's own help data.
    func leafCommands() throws -> [String: [Argument]] {
        let r = try CLI.run(["--experimental-dump-help"], in: FileManager.default.temporaryDirectory)
        XCTAssertEqual(r.status, 0, r.stderr)
        let root = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        var leaves: [String: [Argument]] = [:]
        func walk(_ command: [String: Any], path: [String]) {
            let name = command["commandName"] as? String ?? ""
            let here = path + (path.isEmpty && name == "audit" ? [] : [name])
            let subs = (command["subcommands"] as? [[String: Any]] ?? []).filter { ($0["commandName"] as? String) != "help" }
            if subs.isEmpty {
                let args = (command["arguments"] as? [[String: Any]] ?? []).compactMap { a -> Argument? in
                    let kind = a["kind"] as? String ?? ""
                    let names = (a["names"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
                    guard !names.contains("help") else { return nil }
                    let positional = kind == "positional"
                    let name = positional ? (a["valueName"] as? String ?? "?") : "--" + (names.first ?? "?")
                    return Argument(name: name, positional: positional, optional: a["isOptional"] as? Bool ?? true,
                                    help: a["abstract"] as? String ?? "")
                }
                leaves[here.joined(separator: " ")] = args
            }
            for s in subs { walk(s, path: here) }
        }
        walk(root["command"] as? [String: Any] ?? [:], path: [])
        return leaves
    }

    /// Commands that need one of several optional arguments (their help says which): one choice each,
    /// given besides the required ones. `testConditionallyRequiredOptions` checks the alternatives.
    static let oneOf: [String: [String: String]] = [
        "run": ["--study": "s", "--split": "incoming"],
        "neighbours": ["case-id": "c1", "--raw": ""],
        "cases verify": ["--csv": "outcomes.csv"],
    ]

    func arguments(_ values: [String: String], for args: [Argument], dropping: String? = nil) -> [String] {
        var out: [String] = []
        for a in args where a.positional && a.name != dropping { if let v = values[a.name] { out.append(v) } }
        for (k, v) in values.sorted(by: { $0.key < $1.key }) where k.hasPrefix("--") && k != dropping { out += v.isEmpty ? [k] : [k, v] }
        return out
    }

    func testDocumentedRequiredOptionsAreTheOnesRequired() throws {
        try CLI.requireBinary()
        let leaves = try leafCommands()
        XCTAssertEqual(Set(leaves.keys), Set(Self.samples.keys), "every leaf command needs an entry in `samples`")
        for (command, args) in leaves.sorted(by: { $0.key < $1.key }) {
            guard let values = Self.samples[command] else { continue }
            let required = Set(args.filter { !$0.optional }.map(\.name))
            for a in args where a.optional && a.help.lowercased().contains("required") {
                XCTAssertTrue(Self.conditionallyRequired.contains("\(command) \(a.name)"),
                              "\(command) \(a.name): its help says \"\(a.help)\"; test the condition in testConditionallyRequiredOptions")
            }
            XCTAssertEqual(required, Set(values.keys), "\(command): the help marks \(required.sorted()) required")
            let dir = try CLI.tempDir("required")
            defer { try? FileManager.default.removeItem(at: dir) }
            let path = command.split(separator: " ").map(String.init)
            // With exactly the documented required arguments the command gets past validation
            // (it may then fail for want of a store: 65 or 66, never a usage error).
            let given = values.merging(Self.oneOf[command] ?? [:]) { a, _ in a }
            let full = try CLI.run(path + arguments(given, for: args), in: dir)
            XCTAssertNotEqual(full.status, 64, "\(command) with its documented required arguments was refused: \(full.stderr.prefix(300))")
            // Without any one of them it is a usage error.
            for name in required.sorted() {
                let r = try CLI.run(path + arguments(given, for: args, dropping: name), in: dir)
                XCTAssertEqual(r.status, 64, "\(command) without \(name) exited \(r.status): \(r.stderr.prefix(300))")
            }
        }
    }

    /// Options documented as conditionally required (their help says so) are required exactly then.
    func testConditionallyRequiredOptions() throws {
        try CLI.requireBinary()
        let dir = try CLI.tempDir("conditional")
        defer { try? FileManager.default.removeItem(at: dir) }
        func status(_ args: [String]) throws -> CLI.Result { try CLI.run(args, in: dir) }
        let sign = ["review", "sign", "c1", "--reviewer", "alice", "--meaning", "review", "--passphrase-fd", "0"]
        // --reason-code and --class: required with override only.
        XCTAssertNotEqual(try status(sign + ["--decision", "agree"]).status, 64)
        let noReason = try status(sign + ["--decision", "override", "--class", "malignant"])
        XCTAssertEqual(noReason.status, 64); XCTAssertTrue(noReason.stderr.contains("--reason-code"), noReason.stderr)
        let noClass = try status(sign + ["--decision", "override", "--reason-code", "morphology"])
        XCTAssertEqual(noClass.status, 64); XCTAssertTrue(noClass.stderr.contains("--class"), noClass.stderr)
        XCTAssertNotEqual(try status(sign + ["--decision", "override", "--class", "malignant", "--reason-code", "morphology"]).status, 64)

        // run: --study unless --demo; exactly one of --split and --cases.
        let noStudy = try status(["run", "--split", "incoming"])
        XCTAssertEqual(noStudy.status, 64); XCTAssertTrue(noStudy.stderr.contains("--study"), noStudy.stderr)
        XCTAssertEqual(try status(["run", "--study", "s"]).status, 64)
        XCTAssertEqual(try status(["run", "--study", "s", "--split", "incoming", "--cases", "a"]).status, 64)
        XCTAssertNotEqual(try status(["run", "--study", "s", "--split", "incoming"]).status, 64)
        // --demo refuses what it cannot honour, naming it.
        for (flag, value) in [("--run-id", "x"), ("--study", "s"), ("--model", "abc"), ("--policy", "p.yaml"), ("--operator", "bob")] {
            let r = try status(["run", "--demo", flag, value])
            XCTAssertEqual(r.status, 64, "run --demo \(flag)")
            XCTAssertTrue(r.stderr.contains(flag), "run --demo \(flag): \(r.stderr)")
        }

        // neighbours: a CASE or --split, and --model or --raw.
        XCTAssertEqual(try status(["neighbours", "--raw"]).status, 64)
        XCTAssertEqual(try status(["neighbours", "c1"]).status, 64)
        XCTAssertEqual(try status(["neighbours", "c1", "--split", "test", "--raw"]).status, 64)
        XCTAssertNotEqual(try status(["neighbours", "c1", "--raw"]).status, 64)
        XCTAssertNotEqual(try status(["neighbours", "--split", "test", "--model", "0123456789abcdef"]).status, 64)
    }
}
