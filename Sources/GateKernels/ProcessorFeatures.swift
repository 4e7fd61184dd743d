import Foundation

/// What the processor can run, read once from `/proc/cpuinfo` (Linux; elsewhere the baseline build
/// is used). Running the Haswell build of this module on an older processor would stop the program
/// with an illegal instruction, so anything unreadable counts as "no".
public enum ProcessorFeatures {
    /// Every extension `-target-cpu haswell` may emit: AVX, AVX2, FMA, BMI1/2, F16C, MOVBE, LZCNT.
    public static let haswell: Bool = haswellFlags.allSatisfy(flags.contains)

    /// Every extension `-target-cpu skylake-avx512` adds that arithmetic code may use: AVX-512
    /// Foundation, Conflict Detection, Byte/Word, Doubleword/Quadword and Vector Length.
    public static let avx512: Bool = haswell
        && ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(flags.contains)

    private static let haswellFlags = ["avx", "avx2", "fma", "bmi1", "bmi2", "f16c", "movbe", "abm"]

    /// The first processor's `flags` line (empty when unreadable).
    private static let flags: Set<String> = {
        #if arch(x86_64) && os(Linux)
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
        else { return [] }
        return Set(line.split(separator: " ").map(String.init))
        #else
        return []
        #endif
    }()
}
