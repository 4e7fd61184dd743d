import ArgumentParser
import CaseStore
import Foundation

extension Audit {
    struct Store: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "store", abstract: "The case store itself.", subcommands: [Info.self])
    }
}

extension Audit.Store {
    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Studies, case counts per split and class, models, and the audit log's size.")
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var output: OutputOptions

        struct StoreInfo: Encodable {
            let path: String
            let bytes: Int64
            let studies: [StudyOverview]
            let cases: Int
            let scans: Int
            let models: Int
            let auditEvents: Int
            let migrations: [String]
            enum CodingKeys: String, CodingKey {
                case path, bytes, studies, cases, scans, models, migrations
                case auditEvents = "audit_events"
            }
        }

        func run() throws {
            let store = try storeOptions.openExisting()
            let info = try store.read { db -> StoreInfo in
                let census = try CaseStore.census(db)
                let attributes = try? FileManager.default.attributesOfItem(atPath: storeOptions.store)
                let bytes = (attributes?[.size] as? NSNumber)?.int64Value ?? 0
                return StoreInfo(path: storeOptions.store, bytes: bytes, studies: try CaseStore.studyOverviews(db),
                                 cases: census.cases, scans: census.scans, models: census.models,
                                 auditEvents: census.auditEvents, migrations: census.migrations)
            }
            if output.json { try Console.json(info); return }
            Console.out("case store \(info.path) (\(info.bytes) bytes): \(info.cases) cases, \(info.scans) scans, "
                        + "\(info.models) models, audit log \(info.auditEvents) events")
            for s in info.studies {
                let splits = Split.allCases.compactMap { sp in s.splitCounts[sp.rawValue].map { "\(sp.rawValue) \($0)" } }
                    .joined(separator: ", ")
                let classes = s.classes.map { "\($0) \(s.classCounts[$0] ?? 0)" }.joined(separator: ", ")
                Console.out("""
                    study \(s.name): \(s.cases) cases, \(s.scans) scans; \(s.channels.count) channels
                      splits: \(splits.isEmpty ? "—" : splits)
                      classes: \(classes)\(s.unlabelled > 0 ? ", unlabelled \(s.unlabelled)" : "")
                      \(s.description)
                    """)
            }
        }
    }
}
