import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Report files written the way `materialiseReports` needs: each replaced atomically (a reader sees
/// the old bytes or the new, never a part), without a flush per file; `flush` makes a whole folder's
/// writes durable at once.
enum ReportFileWriter {
    struct WriteFailed: Error, CustomStringConvertible, LocalizedError {
        var path: String
        var reason: String
        var description: String { "cannot write report file \(path): \(reason)" }
        var errorDescription: String? { description }
    }

    /// Writes `data` to a temporary file beside `url`, then renames it over `url`.
    static func replace(_ url: URL, with data: Data) throws {
        let path = url.path
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp").path
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw WriteFailed(path: temporary, reason: Self.errnoText()) }
        var failure: String?
        data.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < buffer.count {
                let n = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = Self.errnoText(); return
                }
                offset += n
            }
        }
        if close(fd) != 0, failure == nil { failure = Self.errnoText() }
        if let failure {
            unlink(temporary)
            throw WriteFailed(path: temporary, reason: failure)
        }
        guard rename(temporary, path) == 0 else {
            let reason = Self.errnoText()
            unlink(temporary)
            throw WriteFailed(path: path, reason: reason)
        }
    }

    /// Removes temporary files a killed writer left in `dir` (report file names never start with a dot).
    static func removeLeftovers(in dir: URL) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir.path) else { return }
        for name in names where name.hasPrefix(".") && name.hasSuffix(".tmp") {
            unlink(dir.appendingPathComponent(name).path)
        }
    }

    /// Makes every write under `dir` durable: the file system holding it is flushed once.
    static func flush(_ dir: URL) throws {
        let fd = open(dir.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw WriteFailed(path: dir.path, reason: Self.errnoText()) }
        defer { close(fd) }
        #if os(Linux)
        guard linuxSyncfs(fd) == 0 else { throw WriteFailed(path: dir.path, reason: "syncfs: " + Self.errnoText()) }
        #else
        guard fsync(fd) == 0 else { throw WriteFailed(path: dir.path, reason: "fsync: " + Self.errnoText()) }
        #endif
    }

    static func errnoText() -> String { String(cString: strerror(errno)) }
}

#if os(Linux)
/// glibc's `syncfs(2)` (declared only under _GNU_SOURCE, so not imported by the Glibc module).
@_silgen_name("syncfs") private func linuxSyncfs(_ fd: Int32) -> Int32
#endif
