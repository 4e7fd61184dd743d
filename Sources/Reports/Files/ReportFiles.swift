import Foundation

/// Writing report files: never a partial file at the destination.
public enum ReportFiles {
    /// A file-name stem for an identifier (case or run id) that cannot leave its folder or hide:
    /// every byte other than ASCII letters, digits, `-` and `_` is percent-encoded (so `/`, `..`,
    /// control characters and `%` itself are), which keeps distinct ids distinct.
    /// Use it for report files, e.g. `"cases/" + safeFileName(caseId) + ".html"`.
    public static func safeFileName(_ id: String) -> String {
        var out = ""
        for byte in id.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                out += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return out.isEmpty ? "%00empty" : out
    }

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
