import Foundation

/// Writing report files: never a partial file at the destination.
public enum ReportFiles {
    /// Writes `data` to a temporary file in the destination's folder, flushes it, then renames it
    /// over `url` (atomic on POSIX file systems). Creates missing parent folders.
    public static func writeAtomically(_ data: Data, to url: URL) throws {
        let folder = url.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw ReportError.writeFailed(path: url.path, reason: error.localizedDescription)
        }
        let temporary = folder.appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        guard FileManager.default.createFile(atPath: temporary.path, contents: nil) else {
            throw ReportError.writeFailed(path: url.path, reason: "cannot create temporary file \(temporary.path)")
        }
        do {
            let handle = try FileHandle(forWritingTo: temporary)
            do {
                try handle.write(contentsOf: data)
                try handle.synchronize()
                try handle.close()
            } catch {
                try? handle.close()
                throw error
            }
            if rename(temporary.path, url.path) != 0 {
                let reason = String(cString: strerror(errno))
                throw ReportError.writeFailed(path: url.path, reason: reason)
            }
        } catch let error as ReportError {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw ReportError.writeFailed(path: url.path, reason: error.localizedDescription)
        }
    }
}
