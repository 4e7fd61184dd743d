import Digests
import Foundation

/// Reads a file line by line in fixed-size chunks, so memory stays bounded by the longest line
/// (itself capped by `maxLineBytes`), and hashes every byte it reads. Lines are validated as UTF-8.
struct LineReader {
    let fileName: String
    let maxLineBytes: Int
    private let handle: FileHandle
    private var buffer: [UInt8] = []
    private var start = 0
    private var scanFrom = 0
    private var atEOF = false
    private(set) var lineNumber = 0
    private(set) var byteCount = 0
    private var hasher = ContentHash.Hasher()
    private static let chunkSize = 1 << 20

    init(path: String, maxLineBytes: Int) throws {
        fileName = (path as NSString).lastPathComponent
        self.maxLineBytes = maxLineBytes
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
              let h = FileHandle(forReadingAtPath: path) else {
            throw ImportError(.unreadable, file: fileName, expected: "a readable file", found: path)
        }
        handle = h
    }

    /// The next line (without its `\n` or `\r\n`) as a String, or nil at end of file.
    mutating func next() throws -> String? {
        while true {
            if let nl = newline(from: scanFrom) {
                var end = nl
                if end > start && buffer[end - 1] == 13 { end -= 1 }
                let line = try decode(start, end)
                start = nl + 1; scanFrom = start
                return line
            }
            scanFrom = buffer.count
            if buffer.count - start > maxLineBytes {
                throw ImportError(.lineTooLong, file: fileName, line: lineNumber + 1,
                                  expected: "a line of at most \(maxLineBytes) bytes",
                                  found: "more than \(buffer.count - start) bytes without a line break")
            }
            if atEOF {
                guard start < buffer.count else { return nil }
                var end = buffer.count
                if buffer[end - 1] == 13 { end -= 1 }
                let line = try decode(start, end)
                start = buffer.count; scanFrom = start
                return line
            }
            try fill()
        }
    }

    /// Index of the next `\n` at or after `from` (memchr: this loop runs over every byte of the file).
    private func newline(from: Int) -> Int? {
        guard from < buffer.count else { return nil }
        return buffer.withUnsafeBytes { raw -> Int? in
            guard let base = raw.baseAddress,
                  let hit = memchr(base + from, 10, raw.count - from) else { return nil }
            return base.distance(to: UnsafeRawPointer(hit))
        }
    }

    private mutating func fill() throws {
        if start > 0 {
            buffer.removeFirst(start)
            scanFrom -= start; start = 0
        }
        let chunk: Data?
        do { chunk = try handle.read(upToCount: LineReader.chunkSize) } catch {
            throw ImportError(.unreadable, file: fileName, line: lineNumber + 1, expected: "a readable file",
                              found: "\(error)")
        }
        guard let chunk, !chunk.isEmpty else { atEOF = true; return }
        byteCount += chunk.count
        hasher.update(chunk)
        buffer.append(contentsOf: chunk)
    }

    private mutating func decode(_ from: Int, _ to: Int) throws -> String {
        lineNumber += 1
        var lower = from
        if lineNumber == 1, to - from >= 3, buffer[from] == 0xEF, buffer[from + 1] == 0xBB, buffer[from + 2] == 0xBF {
            lower += 3
        }
        // Fast path: the standard library validates and copies in one optimised pass.
        if let text = buffer.withUnsafeBufferPointer({ String(validating: UnsafeBufferPointer(rebasing: $0[lower..<to]), as: UTF8.self) }) {
            return text
        }
        let slice = buffer[lower..<to]
        let bad = LineReader.firstInvalidUTF8Offset(slice) ?? 0
        throw ImportError(.invalidUTF8, file: fileName, line: lineNumber, field: "byte \(bad + 1)",
                          expected: "UTF-8 text",
                          found: String(format: "byte 0x%02X", slice[slice.startIndex + bad]))
    }

    /// Offset of the first byte that is not part of a valid UTF-8 sequence, or nil.
    static func firstInvalidUTF8Offset(_ bytes: ArraySlice<UInt8>) -> Int? {
        var iterator = bytes.makeIterator()
        var parser = Unicode.UTF8.ForwardParser()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let scalar): offset += scalar.count
            case .emptyInput: return nil
            case .error: return offset
            }
        }
    }

    /// Closes the file and returns its SHA-256 (hex) and size; call after the last line.
    mutating func finish() -> (sha256: String, bytes: Int) {
        try? handle.close()
        return (hasher.finalize(), byteCount)
    }
}
