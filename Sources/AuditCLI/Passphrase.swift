import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Reads a passphrase from a file descriptor (scripted use) or from the terminal with echo off —
/// never from the command line, where it would land in shell history and `ps`.
enum Passphrase {
    static func read(fd: Int32?, prompt: String) throws -> String {
        if let fd {
            return try readLine(from: fd)
        }
        guard isatty(STDIN_FILENO) != 0 else {
            throw CLIError.badInput("no terminal to ask for the passphrase; use --passphrase-fd N")
        }
        FileHandle.standardError.write(Data(prompt.utf8))
        var old = termios()
        tcgetattr(STDIN_FILENO, &old)
        var silent = old
        silent.c_lflag &= ~tcflag_t(ECHO)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &silent)
        defer {
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &old)
            FileHandle.standardError.write(Data("\n".utf8))
        }
        return try readLine(from: STDIN_FILENO)
    }

    /// Reads up to the first newline (or end of input) byte by byte, so nothing beyond the line is consumed.
    private static func readLine(from fd: Int32) throws -> String {
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while true {
            let n = Glibc.read(fd, &byte, 1)
            if n < 0 { throw CLIError.badInput("cannot read the passphrase from file descriptor \(fd)") }
            if n == 0 || byte == UInt8(ascii: "\n") { break }
            bytes.append(byte)
            if bytes.count > 4096 { throw CLIError.badInput("passphrase longer than 4096 bytes") }
        }
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        guard let text = String(bytes: bytes, encoding: .utf8), !text.isEmpty else {
            throw CLIError.badInput("empty or non-UTF-8 passphrase on file descriptor \(fd)")
        }
        return text
    }
}
