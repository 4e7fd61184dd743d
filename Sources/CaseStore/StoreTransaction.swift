import Foundation
import GRDB

/// What a caller outside `CaseStore` and `AuditLog` holds inside a read: the store's read operations
/// take it, so no caller sees GRDB's `Database` or writes SQL, and the engine behind it can change
/// without the callers knowing.
public class StoreReader {
    /// The engine's connection, for the modules that own the records and the log (`@_spi(Storage)`).
    @_spi(Storage) public let database: Database

    @_spi(Storage) public init(_ database: Database) { self.database = database }
}

/// One write transaction restricted to record operations and their log events ("record + event"):
/// `CaseStore`'s writes and `AuditLog.append` take it, nothing else does, and a change that writes a
/// record without appending an event is refused and rolled back (see `CaseStore.change`).
public final class StoreChange: StoreReader {
    /// Record writes and log events so far in this transaction.
    @_spi(Storage) public private(set) var recordWrites = 0
    @_spi(Storage) public private(set) var events = 0

    /// The connection, for a record write (counted).
    @_spi(Storage) public func writing() -> Database {
        recordWrites += 1
        return database
    }

    /// The connection, for appending a log event (counted).
    @_spi(Storage) public func appendingEvent() -> Database {
        events += 1
        return database
    }
}

extension CaseStore {
    /// Runs `body` in one read transaction.
    public func read<T>(_ body: (StoreReader) throws -> T) throws -> T {
        try writer.read { db in try body(StoreReader(db)) }
    }

    /// Runs `body` as one write transaction of record operations and their events: everything or
    /// nothing. A body that writes a record but appends no event throws `CaseStoreError.unlogged`,
    /// and nothing it wrote stays.
    @discardableResult
    public func change<T>(_ body: (StoreChange) throws -> T) throws -> T {
        try writer.write { db in
            let change = StoreChange(db)
            let result = try body(change)
            guard change.recordWrites == 0 || change.events > 0 else { throw CaseStoreError.unlogged }
            return result
        }
    }
}

extension CaseStore {
    /// A change exempt from the event rule: fixtures and tests that write records to exercise reads.
    @_spi(Storage) @discardableResult
    public func changeUnlogged<T>(_ body: (StoreChange) throws -> T) throws -> T {
        try writer.write { db in try body(StoreChange(db)) }
    }
}
