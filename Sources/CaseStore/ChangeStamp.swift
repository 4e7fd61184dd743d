import Foundation
import GRDB

/// Which commits a set of tables has seen: equal stamps mean none of those tables can have changed in
/// between — not through this store (its commits are counted per table) and not through any other
/// connection to the file (SQLite's `data_version` moves with every commit made elsewhere, the
/// sqlite3 shell's included). What is derived from records and already checked against their
/// attestations can be reused while the stamp holds, and must be derived and checked again once it moves.
public struct ChangeStamp: Equatable, Sendable {
    let dataVersion: Int64
    let commits: [Int]
    /// The store instance the counts belong to.
    let store: ObjectIdentifier
}

/// Counts this connection's commits per attested table (a GRDB transaction observer).
final class TableCommits: TransactionObserver, @unchecked Sendable {
    // Touched only on the store's serial writer queue: in its callbacks and inside reads.
    private var pending = Set<AttestedTable>()
    private var counts: [AttestedTable: Int] = [:]

    func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool {
        AttestedTable(rawValue: eventKind.tableName) != nil
    }

    func databaseDidChange(with event: DatabaseEvent) {
        if let table = AttestedTable(rawValue: event.tableName) { pending.insert(table) }
    }

    /// WITHOUT ROWID tables report no changes; their writes are noted by key (`StoreChange.touch`).
    func touch(_ table: AttestedTable) { pending.insert(table) }

    func databaseDidCommit(_ db: Database) {
        for table in pending { counts[table, default: 0] += 1 }
        pending = []
    }

    func databaseDidRollback(_ db: Database) { pending = [] }

    func count(_ table: AttestedTable) -> Int { counts[table] ?? 0 }
}

extension CaseStore {
    /// The stamp of `tables` as this read sees them.
    public static func changeStamp(_ reader: StoreReader, tables: [AttestedTable]) throws -> ChangeStamp {
        guard let commits = reader.commits, let owner = reader.owner else {
            throw CaseStoreError.invalid("a change stamp needs a read through CaseStore.read")
        }
        let version = try Int64.fetchOne(reader.database, sql: "PRAGMA data_version") ?? 0
        return ChangeStamp(dataVersion: version, commits: tables.map(commits.count), store: owner)
    }
}
