import Foundation
import GRDB

/// Row counts and applied migrations: what `audit store info` shows about the file itself.
public struct StoreCensus: Sendable, Equatable {
    public var cases: Int
    public var scans: Int
    public var models: Int
    public var auditEvents: Int
    /// Migration identifiers in the order they were applied.
    public var migrations: [String]
}

extension CaseStore {
    public static func census(_ reader: StoreReader) throws -> StoreCensus {
        let db = reader.database
        func count(_ table: String) throws -> Int {
            guard try db.tableExists(table) else { return 0 }
            return try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)") ?? 0
        }
        let migrations = try db.tableExists("grdb_migrations")
            ? try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY rowid") : []
        return StoreCensus(cases: try count("cases"), scans: try count("scans"), models: try count("models"),
                           auditEvents: try count("audit_events"), migrations: migrations)
    }

    /// How a storage error reads to a user: a constraint the schema refused is bad input (the caller
    /// exits 65); any other SQLite failure is internal (70). nil when `error` is not a storage error.
    public static func storageFailure(_ error: Error) -> (message: String, isBadInput: Bool)? {
        guard let e = error as? DatabaseError else { return nil }
        return ("\(e)", e.resultCode == .SQLITE_CONSTRAINT)
    }
}
