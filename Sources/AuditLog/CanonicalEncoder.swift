import CaseStore
import Foundation
import JSONText

/// An `Encoder` that writes canonical JSON (see `CanonicalJSON`) directly, without going through
/// `JSONEncoder` and re-parsing: appends are on every state change's path. It yields the same
/// bytes as `CanonicalJSON.canonicalize(JSONEncoder output)` (dates as RFC 3339 strings, data as
/// base64, `Float` via its shortest decimal spelling) — a test holds the two to it.
final class CanonicalNode {
    enum Kind { case unset, scalar, object, array }
    var kind: Kind = .unset
    /// Where every scalar of the document is written: one growing buffer instead of an array per
    /// number or string (allocation was most of the encoder's time).
    let arena: ByteArena
    /// Canonical bytes of a scalar, as a range of `arena`.
    var scalar: Range<Int> = 0..<0
    /// Object keys (parallel to `children`); unused for arrays.
    var keys: [String] = []
    var children: [Child] = []

    init(arena: ByteArena) { self.arena = arena }

    /// Scalars are stored inline: no node object per number or string.
    enum Child {
        case scalar(Range<Int>)
        case node(CanonicalNode)
    }

    func write(to out: inout [UInt8]) {
        switch kind {
        case .scalar:
            out.append(contentsOf: arena.bytes[scalar])
        case .unset:
            out.append(0x7B); out.append(0x7D)
        case .array:
            out.append(0x5B)
            for (i, c) in children.enumerated() {
                if i > 0 { out.append(0x2C) }
                write(c, to: &out)
            }
            out.append(0x5D)
        case .object:
            // Sorted by UTF-8 bytes; a key encoded twice keeps its last value (as JSONEncoder does).
            var order = Array(keys.indices)
            var sorted = true
            for i in 1..<max(keys.count, 1) where !keys[i - 1].utf8.lexicographicallyPrecedes(keys[i].utf8) { sorted = false; break }
            if !sorted {
                order.sort { a, b in
                    keys[a] == keys[b] ? a < b : keys[a].utf8.lexicographicallyPrecedes(keys[b].utf8)
                }
                order = order.enumerated().filter { i, idx in i + 1 >= order.count || keys[order[i + 1]] != keys[idx] }.map(\.element)
            }
            out.append(0x7B)
            for (n, i) in order.enumerated() {
                if n > 0 { out.append(0x2C) }
                CanonicalJSON.appendString(keys[i], to: &out)
                out.append(0x3A)
                write(children[i], to: &out)
            }
            out.append(0x7D)
        }
    }

    private func write(_ child: Child, to out: inout [UInt8]) {
        switch child {
        case let .scalar(range): out.append(contentsOf: arena.bytes[range])
        case let .node(n): n.write(to: &out)
        }
    }
}

/// The scalar bytes of one document being encoded.
final class ByteArena {
    var bytes: [UInt8] = []
    init() { bytes.reserveCapacity(512) }

    /// Runs `write` on the buffer and returns the range it appended.
    @inline(__always) func append(_ write: (inout [UInt8]) throws -> Void) rethrows -> Range<Int> {
        let start = bytes.count
        try write(&bytes)
        return start..<bytes.count
    }
}

struct CanonicalNodeEncoder: Encoder {
    let node: CanonicalNode
    var codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if node.kind != .object {
            node.kind = .object; node.keys = []; node.children = []
            node.keys.reserveCapacity(16); node.children.reserveCapacity(16)
        }
        return KeyedEncodingContainer(KeyedContainer<Key>(node: node, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if node.kind != .array { node.kind = .array; node.children = [] }
        return UnkeyedContainer(node: node, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleValueContainer(node: node, codingPath: codingPath)
    }

    // MARK: - Values

    static func setScalar(_ node: CanonicalNode, _ range: Range<Int>) {
        node.kind = .scalar
        node.scalar = range
    }

    static func bool(_ b: Bool, _ out: inout [UInt8]) { out.append(contentsOf: b ? JSONLiteral.true : JSONLiteral.false) }

    /// Decimal digits of an integer, written without an intermediate `String`.
    static func integer<I: BinaryInteger>(_ v: I, _ out: inout [UInt8]) {
        if v == 0 { out.append(0x30); return }
        if v < 0 { out.append(0x2D) }
        let start = out.count
        var m = v.magnitude
        while m > 0 {
            out.append(0x30 + UInt8(truncatingIfNeeded: m % 10))
            m /= 10
        }
        out[start...].reverse()
    }

    static func double(_ v: Double, _ path: [any CodingKey], _ out: inout [UInt8]) throws {
        guard v.isFinite else {
            throw EncodingError.invalidValue(v, .init(codingPath: path, debugDescription: "non-finite number \(v) has no JSON form"))
        }
        if v == v.rounded(), abs(v) < 9_007_199_254_740_992 { integer(Int64(v), &out); return }
        out.append(contentsOf: v.description.utf8)
    }

    /// Encodes any value into `node`, intercepting the types `JSONEncoder` treats specially
    /// (one protocol-conformance check instead of a chain of casts).
    static func encode<T: Encodable>(_ value: T, into node: CanonicalNode, path: @autoclosure () -> [any CodingKey]) throws {
        if let scalar = value as? CanonicalScalar {
            setScalar(node, try node.arena.append { try scalar.writeCanonicalJSON(&$0, path) })
        } else {
            try value.encode(to: CanonicalNodeEncoder(node: node, codingPath: path()))
        }
    }

    struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let node: CanonicalNode
        var codingPath: [any CodingKey]

        func child(_ key: Key) -> CanonicalNode {
            let c = CanonicalNode(arena: node.arena)
            node.keys.append(key.stringValue)
            node.children.append(.node(c))
            return c
        }

        func scalar(_ key: Key, _ write: (inout [UInt8]) throws -> Void) rethrows {
            let range = try node.arena.append(write)
            node.keys.append(key.stringValue)
            node.children.append(.scalar(range))
        }

        mutating func encodeNil(forKey key: Key) throws { scalar(key) { $0.append(contentsOf: JSONLiteral.null) } }
        // Concrete overloads spare the dynamic casts of the generic path for the common types.
        mutating func encode(_ value: String, forKey key: Key) throws { scalar(key) { CanonicalJSON.appendString(value, to: &$0) } }
        mutating func encode(_ value: Int, forKey key: Key) throws { scalar(key) { CanonicalNodeEncoder.integer(value, &$0) } }
        mutating func encode(_ value: Double, forKey key: Key) throws {
            try scalar(key) { try CanonicalNodeEncoder.double(value, codingPath + [key], &$0) }
        }
        mutating func encode(_ value: Bool, forKey key: Key) throws { scalar(key) { CanonicalNodeEncoder.bool(value, &$0) } }
        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
            if let s = value as? CanonicalScalar {
                try scalar(key) { try s.writeCanonicalJSON(&$0) { codingPath + [key] } }
            } else {
                try value.encode(to: CanonicalNodeEncoder(node: child(key), codingPath: codingPath + [key]))
            }
        }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
            CanonicalNodeEncoder(node: child(key), codingPath: codingPath + [key]).container(keyedBy: keyType)
        }
        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
            CanonicalNodeEncoder(node: child(key), codingPath: codingPath + [key]).unkeyedContainer()
        }
        mutating func superEncoder() -> any Encoder {
            let c = CanonicalNode(arena: node.arena)
            node.keys.append("super")
            node.children.append(.node(c))
            return CanonicalNodeEncoder(node: c, codingPath: codingPath)
        }
        mutating func superEncoder(forKey key: Key) -> any Encoder {
            CanonicalNodeEncoder(node: child(key), codingPath: codingPath + [key])
        }
    }

    struct IndexKey: CodingKey {
        var stringValue: String { "Index \(intValue ?? 0)" }
        var intValue: Int?
        init(_ i: Int) { intValue = i }
        init?(stringValue: String) { return nil }
        init?(intValue: Int) { self.intValue = intValue }
    }

    struct UnkeyedContainer: UnkeyedEncodingContainer {
        let node: CanonicalNode
        var codingPath: [any CodingKey]
        var count: Int { node.children.count }

        func next() -> CanonicalNode {
            let c = CanonicalNode(arena: node.arena)
            node.children.append(.node(c))
            return c
        }

        func scalar(_ write: (inout [UInt8]) throws -> Void) rethrows {
            node.children.append(.scalar(try node.arena.append(write)))
        }

        mutating func encodeNil() throws { scalar { $0.append(contentsOf: JSONLiteral.null) } }
        mutating func encode(_ value: String) throws { scalar { CanonicalJSON.appendString(value, to: &$0) } }
        mutating func encode(_ value: Int) throws { scalar { CanonicalNodeEncoder.integer(value, &$0) } }
        mutating func encode(_ value: Double) throws {
            let path = codingPath + [IndexKey(count)]
            try scalar { try CanonicalNodeEncoder.double(value, path, &$0) }
        }
        mutating func encode<T: Encodable>(_ value: T) throws {
            let (path, index) = (codingPath, count)
            if let s = value as? CanonicalScalar {
                try scalar { try s.writeCanonicalJSON(&$0) { path + [IndexKey(index)] } }
            } else {
                try value.encode(to: CanonicalNodeEncoder(node: next(), codingPath: path + [IndexKey(index)]))
            }
        }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
            let path = codingPath + [IndexKey(count)]
            return CanonicalNodeEncoder(node: next(), codingPath: path).container(keyedBy: keyType)
        }
        mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
            let path = codingPath + [IndexKey(count)]
            return CanonicalNodeEncoder(node: next(), codingPath: path).unkeyedContainer()
        }
        mutating func superEncoder() -> any Encoder {
            let path = codingPath + [IndexKey(count)]
            return CanonicalNodeEncoder(node: next(), codingPath: path)
        }
    }

    struct SingleValueContainer: SingleValueEncodingContainer {
        let node: CanonicalNode
        var codingPath: [any CodingKey]
        mutating func encodeNil() throws {
            CanonicalNodeEncoder.setScalar(node, node.arena.append { $0.append(contentsOf: JSONLiteral.null) })
        }
        mutating func encode<T: Encodable>(_ value: T) throws {
            try CanonicalNodeEncoder.encode(value, into: node, path: codingPath)
        }
    }
}

/// Types written as one JSON scalar, exactly as `JSONEncoder` (as configured in
/// `CanonicalJSON.encodeViaJSONEncoder`) would write them, in canonical form.
protocol CanonicalScalar {
    func writeCanonicalJSON(_ out: inout [UInt8], _ path: () -> [any CodingKey]) throws
}

extension String: CanonicalScalar {
    func writeCanonicalJSON(_ out: inout [UInt8], _ path: () -> [any CodingKey]) throws { CanonicalJSON.appendString(self, to: &out) }
}
extension Bool: CanonicalScalar {
    func writeCanonicalJSON(_ out: inout [UInt8], _ path: () -> [any CodingKey]) throws { CanonicalNodeEncoder.bool(self, &out) }
}
extension Double: CanonicalScalar {
    func writeCanonicalJSON(_ out: inout [UInt8], _ path: () -> [any CodingKey]) throws {
        try CanonicalNodeEncoder.double(self, path(), &out)
    }
}
extension Float: CanonicalScalar {
    func writeCanonicalJSON(_ out: inout [UInt8], _ path: () -> [any CodingKey]) throws {
        guard isFinite else {
            throw EncodingError.invalidValue(self, .init(codingPath: path(), debugDescription: "non-finite number \(self) has no JSON form"))
        }
        // JSONEncoder writes a Float's shortest decimal spelling; read back as a Double.
        try CanonicalNodeEncoder.double(Double(description) ?? Double(self), path(), &out)
    }
}
extension Date: CanonicalScalar {
    func writeCanonicalJSON(_ out: inout [UInt8], _ path: () -> [any CodingKey]) throws {
        CanonicalJSON.appendString(RFC3339.string(from: self), to: &out)
    }
}
extension Data: CanonicalScalar {
    func writeCanonicalJSON(_ out: inout [UInt8], _ path: () -> [any CodingKey]) throws {
        CanonicalJSON.appendString(base64EncodedString(), to: &out)
    }
}
extension URL: CanonicalScalar {
    func writeCanonicalJSON(_ out: inout [UInt8], _ path: () -> [any CodingKey]) throws {
        CanonicalJSON.appendString(absoluteString, to: &out)
    }
}
extension Decimal: CanonicalScalar {
    func writeCanonicalJSON(_ out: inout [UInt8], _ path: () -> [any CodingKey]) throws {
        out.append(contentsOf: try CanonicalJSON.canonicalize(Array(description.utf8)))
    }
}
/// Arrays of scalars are written in one go: through `UnkeyedContainer` each element took a
/// container call and a dynamic cast (a fifth of an audit event's encoding time).
extension Array: CanonicalScalar where Element: CanonicalScalar {
    func writeCanonicalJSON(_ out: inout [UInt8], _ path: () -> [any CodingKey]) throws {
        out.append(0x5B)
        for (i, element) in enumerated() {
            if i > 0 { out.append(0x2C) }
            try element.writeCanonicalJSON(&out) { path() + [CanonicalNodeEncoder.IndexKey(i)] }
        }
        out.append(0x5D)
    }
}
/// Integers: decimal digits, as `JSONEncoder` writes them.
protocol CanonicalInteger: CanonicalScalar, BinaryInteger {}
extension CanonicalInteger {
    func writeCanonicalJSON(_ out: inout [UInt8], _ path: () -> [any CodingKey]) throws { CanonicalNodeEncoder.integer(self, &out) }
}
extension Int: CanonicalInteger {}
extension Int8: CanonicalInteger {}
extension Int16: CanonicalInteger {}
extension Int32: CanonicalInteger {}
extension Int64: CanonicalInteger {}
extension UInt: CanonicalInteger {}
extension UInt8: CanonicalInteger {}
extension UInt16: CanonicalInteger {}
extension UInt32: CanonicalInteger {}
extension UInt64: CanonicalInteger {}
