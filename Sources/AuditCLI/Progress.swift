import Foundation

/// A one-line progress bar on stderr: count, rate, ETA. Silent when disabled (not a terminal,
/// `--quiet`), so scripted use sees clean output.
final class ProgressBar {
    private var total: Int
    private let label: String
    private let enabled: Bool
    private let start = Date()
    private var lastDraw = Date.distantPast

    init(total: Int, label: String, enabled: Bool) {
        self.total = max(total, 1); self.label = label; self.enabled = enabled
    }

    /// Updates the bar; `detail` is appended (e.g. "loss 0.31 val acc 0.92").
    func update(_ done: Int, detail: String = "") {
        guard enabled else { return }
        let now = Date()
        guard done >= total || now.timeIntervalSince(lastDraw) > 0.1 else { return }
        lastDraw = now
        let fraction = Double(done) / Double(total)
        let width = 28
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        let elapsed = now.timeIntervalSince(start)
        let eta = done > 0 ? elapsed / Double(done) * Double(total - done) : 0
        let line = String(format: "\r%@ %@ %d/%d  %@  ETA %@ ", label, bar, done, total, detail,
                          Self.format(seconds: eta))
        FileHandle.standardError.write(Data(line.utf8))
    }

    /// Updates the bar when the total becomes known only while running.
    func update(_ done: Int, total: Int, detail: String = "") {
        self.total = max(total, 1)
        update(done, detail: detail)
    }

    /// Ends the line.
    func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\n".utf8))
    }

    static func format(seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 60 ? "\(s / 60)m\(String(format: "%02d", s % 60))s" : "\(s)s"
    }
}
