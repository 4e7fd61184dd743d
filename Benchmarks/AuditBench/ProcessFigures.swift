import Foundation

/// What this process has used so far, for the benchmarks' figures.
enum ProcessFigures {
    /// User + system CPU time of this process (all threads; children not included). On a shared
    /// machine it is steadier than wall time, which also counts waiting for a core.
    static func cpuSeconds() -> Double {
        var usage = rusage()
        #if os(Linux)
        let who = RUSAGE_SELF.rawValue
        #else
        let who = RUSAGE_SELF
        #endif
        guard getrusage(who, &usage) == 0 else { return .nan }
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    /// Memory figures from `/proc/self/status` (VmRSS, VmHWM, RssAnon, RssFile, …) in bytes; empty
    /// where unavailable.
    static func memory() -> [String: Int] {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return [:] }
        var out: [String: Int] = [:]
        for line in text.split(separator: "\n") where line.hasSuffix(" kB") {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, let kb = parts[1].split(separator: " ").compactMap({ Int($0) }).first else { continue }
            out[String(parts[0])] = kb * 1024
        }
        return out
    }

    /// Peak resident set (VmHWM) in MiB; nil where unavailable.
    static func peakResidentMegabytes() -> Double? { memory()["VmHWM"].map { Double($0) / 1_048_576 } }

    /// Resident set now (VmRSS) in bytes; 0 where unavailable.
    static func residentBytes() -> Int { memory()["VmRSS"] ?? 0 }
}
