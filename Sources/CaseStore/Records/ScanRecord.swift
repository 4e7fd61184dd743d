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
        var data = Data(capacity: values.count * 4)
        for v in values {
            withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) }
        }
        return data
    }

    public static func decode(_ data: Data) -> [Float] {
        let n = data.count / 4
        return data.withUnsafeBytes { raw in
            (0..<n).map { i in Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self))) }
        }
    }

    enum CodingKeys: String, CodingKey {
        case caseId = "case_id", scanIndex = "scan_index", acquiredAt = "acquired_at"
        case acquisition, length, channels
        case valuesBlob = "values"
        case hasMissing = "has_missing"
    }
}
