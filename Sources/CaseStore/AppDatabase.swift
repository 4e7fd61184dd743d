import Foundation
import GRDB

/// The case store: one SQLite file (WAL, foreign keys on) holding studies, cases, scans and every
/// artefact derived from them. It owns the schema; the migrator below is append-only — a shipped
/// migration is never edited, a change is a new migration.
public final class CaseStore: @unchecked Sendable {
    /// The GRDB writer; all writes go through `write`, which runs one transaction. Internal: state
    /// changes are offered as record + event operations (AuditLog's `CaseStore+AuditedChanges`).
    let writer: any DatabaseWriter
    /// File path, or nil for an in-memory store.
    public let path: String?
    /// The records the current write transaction has touched (what its next event attests).
    let touched = TouchedRecords()
    /// Commits per table on this connection (what `ChangeStamp` counts).
    let tableCommits = TableCommits()

    /// Opens (creating and migrating if needed) the store at `path`.
    public init(path: String) throws {
        var config = Configuration()
        config.foreignKeysEnabled = true
        config.busyMode = .timeout(10)
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        // WAL is set with a plain pragma (a no-op once the file is in WAL mode). GRDB's own WAL set-up
        // creates and drops a table whenever the WAL file is empty, which rewrites header bytes: a
        // refused import would then not leave the file byte-for-byte as it was. The CLI needs no
        // concurrent readers, so a queue suffices.
        // synchronous = NORMAL is what WAL is designed for (and what GRDB's pools use): a commit
        // survives a crash of the process, and the database stays consistent across power loss.
        config.prepareDatabase { db in
            if try String.fetchOne(db, sql: "PRAGMA journal_mode") != "wal" {
                try db.execute(sql: "PRAGMA journal_mode = WAL")
            }
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        do {
            self.writer = try DatabaseQueue(path: path, configuration: config)
        } catch {
            throw CaseStoreError.cannotOpen(path: path, reason: "\(error)")
        }
        self.path = path
        try Self.migrator.migrate(writer)
        writer.add(transactionObserver: touched, extent: .observerLifetime)
        writer.add(transactionObserver: tableCommits, extent: .observerLifetime)
    }

    /// A private in-memory store (tests).
    public static func inMemory() throws -> CaseStore { try CaseStore(queue: DatabaseQueue()) }

    private init(queue: DatabaseQueue) throws {
        self.writer = queue
        self.path = nil
        try Self.migrator.migrate(writer)
        writer.add(transactionObserver: touched, extent: .observerLifetime)
        writer.add(transactionObserver: tableCommits, extent: .observerLifetime)
    }

    /// Runs `body` in one write transaction: everything or nothing. Only the modules that own the
    /// store's records and their log events (`import @_spi(Storage) CaseStore`) may open one.
    @_spi(Storage) @discardableResult
    public func write<T>(_ body: (Database) throws -> T) throws -> T {
        try writer.write(body)
    }

    /// Runs `body` outside a transaction (pragmas, checkpoints of the WAL file: benchmarks and tests).
    @_spi(Storage)
    public func writeWithoutTransaction<T>(_ body: (Database) throws -> T) throws -> T {
        try writer.writeWithoutTransaction(body)
    }

    /// Runs `body` in one read transaction on the connection itself (the storage modules and their tests).
    @_spi(Storage)
    public func readDatabase<T>(_ body: (Database) throws -> T) throws -> T {
        try writer.read(body)
    }

    /// Migrations in their fixed order. Append new ones at the end; never edit a shipped one.
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1-cases", migrate: Schema.createCases)
        m.registerMigration("v1-audit-log", migrate: Schema.createAuditLog)
        m.registerMigration("v1-models", migrate: Schema.createModels)
        m.registerMigration("v1-calibration", migrate: Schema.createCalibration)
        m.registerMigration("v1-retrieval", migrate: Schema.createRetrieval)
        m.registerMigration("v1-runs", migrate: Schema.createRuns)
        m.registerMigration("v1-review", migrate: Schema.createReview)
        m.registerMigration("v2-attestations", migrate: Schema.createAttestations)
        m.registerMigration("v3-outcomes", migrate: Schema.createOutcomes)
        m.registerMigration("v4-models-lstm-fcn", migrate: Schema.allowLSTMFCNModels)
        return m
    }
}

/// Namespace for the schema; each area's tables live in `Schema+<Area>.swift`.
public enum Schema {}

extension CaseStore {
    /// The store's journal mode and `synchronous` level (SQLite's pragma values), for benchmarks'
    /// provenance.
    public func journalSettings() throws -> (journalMode: String, synchronous: Int) {
        try writer.read { db in
            (try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "?", try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1)
        }
    }

    /// Sets SQLite's `synchronous` level on the store's one connection (benchmarks compare levels).
    public func setSynchronous(_ level: String) throws {
        guard ["OFF", "NORMAL", "FULL", "EXTRA"].contains(level.uppercased()) else {
            throw CaseStoreError.invalid("synchronous must be OFF, NORMAL, FULL or EXTRA, not '\(level)'")
        }
        try writer.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = \(level.uppercased())") }
    }
}
