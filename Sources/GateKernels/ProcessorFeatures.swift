import Foundation

/// What the processor can run, read once from `/proc/cpuinfo` (Linux; elsewhere the baseline build
/// is used). Running the Haswell build of this module on an older processor would stop the program
/// with an illegal instruction, so anything unreadable counts as "no".
public enum ProcessorFeatures {
    /// Every extension `-target-cpu haswell` may emit: AVX, AVX2, FMA, BMI1/2, F16C, MOVBE, LZCNT.
    public static let haswell: Bool = {
        #if arch(x86_64) && os(Linux)
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
        else { return false }
        let flags = Set(line.split(separator: " ").map(String.init))
        return ["avx", "avx2", "fma", "bmi1", "bmi2", "f16c", "movbe", "abm"].allSatisfy(flags.contains)
        #else
        return false
        #endif
    }()
}
