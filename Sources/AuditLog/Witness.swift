import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A folder outside the store that keeps every signed checkpoint it is given, in one append-only
/// file (`checkpoints.witness`, one line per checkpoint: tree size, then the signed note in
/// base64). A store copied back over today's (a rollback) or forked no longer extends the newest
/// witnessed checkpoint, and `audit store verify --witness` says so. Keep the folder on another
/// machine or medium (a mounted share, a write-once volume) so whoever can replace the store file
/// cannot also rewrite it.
public struct WitnessFolder: Sendable {
    public let url: URL
    public var file: URL { url.appendingPathComponent("checkpoints.witness") }

    public init(_ path: String) { url = URL(fileURLWithPath: path) }

    /// Appends `checkpoint` (unless it is already the newest witnessed one), and flushes it to disk.
    public func append(_ checkpoint: Checkpoint) throws {
        if let newest = try newest(), newest.note == checkpoint.note { return }
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        let line = "\(checkpoint.treeSize) \(Data(checkpoint.note.utf8).base64EncodedString())\n"
        let fd = open(file.path, O_WRONLY | O_APPEND | O_CREAT, 0o644)
        guard fd >= 0 else { throw AuditLogError.keyFile(path: file.path, reason: "cannot open the witness file: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let bytes = Array(line.utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count, fsync(fd) == 0 else {
            throw AuditLogError.keyFile(path: file.path, reason: "cannot append to the witness file: \(String(cString: strerror(errno)))")
        }
    }

    /// Every witnessed checkpoint, oldest first; a line that is not one names the file and line.
    public func checkpoints() throws -> [Checkpoint] {
        guard FileManager.default.fileExists(atPath: file.path) else { return [] }
        let text = try String(contentsOf: file, encoding: .utf8)
        var out: [Checkpoint] = []
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            let parts = line.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, let size = Int(parts[0]), let data = Data(base64Encoded: String(parts[1])) else {
                throw AuditLogError.invalidCheckpoint("\(file.path) line \(i + 1): expected '<tree size> <base64 note>'")
            }
            let cp: Checkpoint
            do { cp = try Checkpoint.parse(String(decoding: data, as: UTF8.self)) } catch {
                throw AuditLogError.invalidCheckpoint("\(file.path) line \(i + 1): \(error)")
            }
            guard cp.treeSize == size else {
                throw AuditLogError.invalidCheckpoint("\(file.path) line \(i + 1): tree size \(size) differs from the note's \(cp.treeSize)")
            }
            out.append(cp)
        }
        return out
    }

    /// The newest witnessed checkpoint (largest tree size), or nil when none is.
    public func newest() throws -> Checkpoint? { try checkpoints().max { $0.treeSize < $1.treeSize } }
}
