import Foundation
import GRDB

/// What a caller outside `CaseStore` and `AuditLog` holds inside a read: the store's read operations
/// take it, so no caller sees GRDB's `Database` or writes SQL, and the engine behind it can change
/// without the callers knowing.
public class StoreReader {
    /// The engine's connection, for the modules that own the records and the log (`@_spi(Storage)`).
    @_spi(Storage) public let database: Database

    /// The store's per-table commit counts and identity (reads through `CaseStore.read`; see `ChangeStamp`).
    let commits: TableCommits?
    let owner: ObjectIdentifier?

    @_spi(Storage) public init(_ database: Database) { self.database = database; commits = nil; owner = nil }

    init(_ database: Database, commits: TableCommits, owner: ObjectIdentifier) {
        self.database = database
        self.commits = commits
        self.owner = owner
    }
}

/// One write transaction restricted to record operations and their log events ("record + event"):
/// `CaseStore`'s writes and `AuditLog.append` take it, nothing else does. Every record the change
/// writes is attested by the next event it appends; a change that writes a record and appends no
/// event after it is refused and rolled back (see `CaseStore.change`).
public final class StoreChange: StoreReader {
    let touched: TouchedRecords?

    init(_ database: Database, touched: TouchedRecords?, commits: TableCommits, owner: ObjectIdentifier) {
        self.touched = touched
        super.init(database, commits: commits, owner: owner)
    }

    /// The connection, for a record write.
    @_spi(Storage) public func writing() -> Database { database }

    /// Notes a write to a table SQLite reports no changes for (WITHOUT ROWID), so the next event attests it.
    func touch(_ table: AttestedTable, key: [DatabaseValueConvertible]) {
        touched?.touch(table, key: key.map(\.databaseValue))
        commits?.touch(table)
    }

    /// The records written since the last event, attested as they stand now; the event being
    /// appended carries them (see `AuditLog.append`).
    @_spi(Storage) public func takeAttestations() throws -> [RecordAttestation] {
        try touched?.take(database) ?? []
    }
}

extension CaseStore {
    /// Runs `body` in one read transaction.
    public func read<T>(_ body: (StoreReader) throws -> T) throws -> T {
        try writer.read { db in try body(StoreReader(db, commits: tableCommits, owner: ObjectIdentifier(self))) }
    }

    /// Runs `body` as one write transaction of record operations and their events: everything or
    /// nothing. A body that writes a record and appends no event after it throws
    /// `CaseStoreError.unlogged`, and nothing it wrote stays.
    @discardableResult
    public func change<T>(_ body: (StoreChange) throws -> T) throws -> T {
        try writer.write { db in
            touched.reset()
            let change = StoreChange(db, touched: touched, commits: tableCommits, owner: ObjectIdentifier(self))
            let result = try body(change)
            guard touched.isEmpty else { throw CaseStoreError.unlogged }
            return result
        }
    }

    /// A change exempt from the event rule: fixtures and tests that write records to exercise reads
    /// (what it writes is attested by no event, and `audit store verify` reports it).
    @_spi(Storage) @discardableResult
    public func changeUnlogged<T>(_ body: (StoreChange) throws -> T) throws -> T {
        try writer.write { db in
            let result = try body(StoreChange(db, touched: nil, commits: tableCommits, owner: ObjectIdentifier(self)))
            touched.reset()
            return result
        }
    }
}
