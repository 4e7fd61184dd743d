import Foundation
import GRDB

/// One scan of a case: `length` time steps × `channels` values, stored as little-endian Float32,
/// time-major (`values[t * channels + c]`). Missing values are NaN and flag the scan; they are never
/// replaced by zero.
public struct ScanRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "scans"
    public var caseId: String
    public var scanIndex: Int
    public var acquiredAt: String?
    /// e.g. the illumination configuration of a lesion scan.
    public var acquisition: String
    public var length: Int
    public var channels: Int
    public var valuesBlob: Data
    public var hasMissing: Bool

    public init(caseId: String, scanIndex: Int, acquiredAt: String? = nil, acquisition: String = "",
                length: Int, channels: Int, values: [Float]) {
        precondition(values.count == length * channels, "values do not match length × channels")
        self.caseId = caseId; self.scanIndex = scanIndex; self.acquiredAt = acquiredAt
        self.acquisition = acquisition; self.length = length; self.channels = channels
        self.valuesBlob = ScanRecord.encode(values)
        self.hasMissing = values.contains { $0.isNaN }
    }

    /// The values, decoded bit-exactly from the little-endian blob.
    public var values: [Float] { ScanRecord.decode(valuesBlob) }

    /// Values of time step `t` (all channels).
    public func step(_ t: Int) -> ArraySlice<Float> {
        values[(t * channels)..<((t + 1) * channels)]
    }

    public static func encode(_ values: [Float]) -> Data {
        // Bulk copy of the little-endian bit patterns (one pass; this runs for every stored scan).
        let patterns = values.map { $0.bitPattern.littleEndian }
        return patterns.withUnsafeBytes { Data($0) }
    }

    public static func decode(_ data: Data) -> [Float] {
        let n = data.count / 4
        var patterns = [UInt32](repeating: 0, count: n)
        patterns.withUnsafeMutableBytes { dst in
            data.withUnsafeBytes { src in dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[0..<(n * 4)])) }
        }
        return patterns.map { Float(bitPattern: UInt32(littleEndian: $0)) }
    }

    enum CodingKeys: String, CodingKey {
        case caseId = "case_id", scanIndex = "scan_index", acquiredAt = "acquired_at"
        case acquisition, length, channels
        case valuesBlob = "values"
        case hasMissing = "has_missing"
    }
}
