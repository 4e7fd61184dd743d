import Foundation

/// Minimal reader/writer for the safetensors format (8-byte little-endian header length, a JSON
/// header, then raw little-endian data), restricted to the F32 tensors our models use.
public enum SafeTensors {
    public struct Tensor: Sendable, Equatable {
        public var shape: [Int]
        public var values: [Float]
        public init(shape: [Int], values: [Float]) { self.shape = shape; self.values = values }
    }

    /// Largest header we accept; real model headers are a few kilobytes.
    static let maximumHeaderLength = 100 << 20

    public static func parse(_ bytes: [UInt8], file: String) throws
        -> (tensors: [String: Tensor], metadata: [String: String]) {
        func fail(_ why: String) -> RecurrentError { .malformedFile(file: file, reason: why) }
        guard bytes.count >= 8 else {
            throw fail("truncated: \(bytes.count) bytes, shorter than the 8-byte header length field")
        }
        var n: UInt64 = 0
        for k in 0..<8 { n |= UInt64(bytes[k]) << (8 * UInt64(k)) }
        guard n <= UInt64(bytes.count - 8) else {
            throw fail("header length field says \(n) bytes but only \(bytes.count - 8) bytes follow")
        }
        guard n <= UInt64(maximumHeaderLength) else { throw fail("header length \(n) is implausibly large") }
        let headerEnd = 8 + Int(n)
        let header = Data(bytes[8..<headerEnd])
        let json: Any
        do { json = try JSONSerialization.jsonObject(with: header) } catch {
            throw fail("header is not valid JSON (\(error.localizedDescription))")
        }
        guard let object = json as? [String: Any] else { throw fail("header is not a JSON object") }
        let dataCount = bytes.count - headerEnd
        var metadata: [String: String] = [:]
        var tensors: [String: Tensor] = [:]
        for (name, entry) in object {
            if name == "__metadata__" {
                guard let m = entry as? [String: Any] else { throw fail("__metadata__ is not an object") }
                for (k, v) in m {
                    guard let s = v as? String else { throw fail("__metadata__[\(k)] is not a string") }
                    metadata[k] = s
                }
                continue
            }
            guard let info = entry as? [String: Any] else { throw fail("tensor \(name): entry is not an object") }
            guard let dtype = info["dtype"] as? String else { throw fail("tensor \(name): missing dtype") }
            guard dtype == "F32" else {
                throw fail("tensor \(name): dtype \(dtype) is not supported (weights must be F32)")
            }
            guard let shapeAny = info["shape"] as? [Any],
                  let shape = Optional(shapeAny.compactMap { ($0 as? NSNumber)?.intValue }),
                  shape.count == shapeAny.count, shape.allSatisfy({ $0 >= 0 && $0 < 1 << 31 }) else {
                throw fail("tensor \(name): shape is not an array of non-negative integers")
            }
            guard let offAny = info["data_offsets"] as? [Any], offAny.count == 2,
                  let begin = (offAny[0] as? NSNumber)?.intValue, let end = (offAny[1] as? NSNumber)?.intValue,
                  begin >= 0, end >= begin else {
                throw fail("tensor \(name): data_offsets must be [begin, end] with 0 ≤ begin ≤ end")
            }
            let (count, overflow) = shape.reduce((1, false)) { acc, d in
                let r = acc.0.multipliedReportingOverflow(by: d)
                return (r.partialValue, acc.1 || r.overflow)
            }
            guard !overflow, end - begin == count * 4 else {
                throw fail("tensor \(name): shape \(shape) needs \(count * 4) bytes but data_offsets span \(end - begin)")
            }
            guard end <= dataCount else {
                throw fail("truncated: tensor \(name) ends at byte \(end) of the data section, which has \(dataCount) bytes")
            }
            var values = [Float](repeating: 0, count: count)
            let base = headerEnd + begin
            for k in 0..<count {
                let o = base + 4 * k
                let bits = UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o + 2]) << 16
                    | UInt32(bytes[o + 3]) << 24
                values[k] = Float(bitPattern: bits)
            }
            tensors[name] = Tensor(shape: shape, values: values)
        }
        return (tensors, metadata)
    }

    /// Serialises tensors in the given order with a deterministic (key-sorted) header, padded with
    /// spaces to a multiple of 8 bytes as the reference implementation does.
    public static func serialize(_ tensors: [(name: String, tensor: Tensor)], metadata: [String: String]) throws
        -> [UInt8] {
        var header: [String: Any] = [:]
        var offset = 0
        for (name, t) in tensors {
            let size = t.values.count * 4
            header[name] = ["dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + size]] as [String: Any]
            offset += size
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var json = [UInt8](try JSONSerialization.data(withJSONObject: header,
                                                      options: [.sortedKeys, .withoutEscapingSlashes]))
        while json.count % 8 != 0 { json.append(0x20) }
        var out = [UInt8]()
        out.reserveCapacity(8 + json.count + offset)
        let n = UInt64(json.count)
        for k in 0..<8 { out.append(UInt8((n >> (8 * UInt64(k))) & 0xFF)) }
        out.append(contentsOf: json)
        for (_, t) in tensors {
            for v in t.values {
                let b = v.bitPattern
                out.append(UInt8(b & 0xFF)); out.append(UInt8((b >> 8) & 0xFF))
                out.append(UInt8((b >> 16) & 0xFF)); out.append(UInt8(b >> 24))
            }
        }
        return out
    }
}
