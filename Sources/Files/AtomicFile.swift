import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The one way Countersign writes a file a person or another program will read (reports, models,
/// key files): the bytes go to a temporary file beside the destination, which is then renamed over
/// it — or, for files that must never be overwritten (keys), linked into place, which fails if the
/// destination exists. A reader sees the old bytes or the new, never a part.
public enum AtomicFile {
    public struct WriteFailed: Error, CustomStringConvertible, LocalizedError, Equatable {
        public var path: String
        public var reason: String
        public var description: String { "cannot write \(path): \(reason)" }
        public var errorDescription: String? { description }
    }

    /// Writes `data` to `url`, creating missing parent folders.
    /// - `durable`: flush the file before it is put in place (off for batches that `flush` their
    ///   folder once at the end).
    /// - `replacing`: false refuses an existing destination (the check and the write are one step).
    /// - `permissions`: the new file's mode (0600 for private keys).
    public static func write(_ data: Data, to url: URL, permissions: mode_t = 0o644, durable: Bool = true,
                             replacing: Bool = true) throws {
        let folder = url.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw WriteFailed(path: url.path, reason: error.localizedDescription)
        }
        let temporary = folder.appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp").path
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, permissions)
        guard fd >= 0 else { throw WriteFailed(path: url.path, reason: "cannot create a temporary file: " + errnoText()) }
        var failure: String?
        data.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < buffer.count {
                let n = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errnoText(); return
                }
                offset += n
            }
        }
        if failure == nil, durable, fsync(fd) != 0 { failure = "fsync: " + errnoText() }
        if close(fd) != 0, failure == nil { failure = errnoText() }
        if failure == nil {
            if replacing {
                if rename(temporary, url.path) != 0 { failure = errnoText() }
            } else {
                if link(temporary, url.path) != 0 {
                    failure = errno == EEXIST ? "the file already exists; refusing to overwrite it" : errnoText()
                }
                unlink(temporary)
            }
        }
        if let failure {
            unlink(temporary)
            throw WriteFailed(path: url.path, reason: failure)
        }
    }

    /// Removes temporary files a killed writer left in `dir` (they start with a dot, end in `.tmp`).
    public static func removeLeftovers(in dir: URL) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir.path) else { return }
        for name in names where name.hasPrefix(".") && name.hasSuffix(".tmp") {
            unlink(dir.appendingPathComponent(name).path)
        }
    }

    /// Makes every write under `dir` durable: the file system holding it is flushed once.
    public static func flush(_ dir: URL) throws {
        let fd = open(dir.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw WriteFailed(path: dir.path, reason: errnoText()) }
        defer { close(fd) }
        #if os(Linux)
        guard linuxSyncfs(fd) == 0 else { throw WriteFailed(path: dir.path, reason: "syncfs: " + errnoText()) }
        #else
        guard fsync(fd) == 0 else { throw WriteFailed(path: dir.path, reason: "fsync: " + errnoText()) }
        #endif
    }

    static func errnoText() -> String { String(cString: strerror(errno)) }
}

#if os(Linux)
/// glibc's `syncfs(2)` (declared only under _GNU_SOURCE, so not imported by the Glibc module).
@_silgen_name("syncfs") private func linuxSyncfs(_ fd: Int32) -> Int32
#endif
