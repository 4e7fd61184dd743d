import CaseStore
import Foundation

/// An `Encoder` that writes canonical JSON (see `CanonicalJSON`) directly, without going through
/// `JSONEncoder` and re-parsing: appends are on every state change's path. It yields the same
/// bytes as `CanonicalJSON.canonicalize(JSONEncoder output)` (dates as RFC 3339 strings, data as
/// base64, `Float` via its shortest decimal spelling) — a test holds the two to it.
final class CanonicalNode {
    enum Kind { case unset, scalar, object, array }
    var kind: Kind = .unset
    /// Canonical bytes of a scalar.
    var scalar: [UInt8] = []
    /// Object keys (parallel to `children`); unused for arrays.
    var keys: [String] = []
    var children: [Child] = []

    /// Scalars are stored inline: no node object per number or string.
    enum Child {
        case scalar([UInt8])
        case node(CanonicalNode)

        func write(to out: inout [UInt8]) {
            switch self {
            case let .scalar(bytes): out.append(contentsOf: bytes)
            case let .node(n): n.write(to: &out)
            }
        }
    }

    func write(to out: inout [UInt8]) {
        switch kind {
        case .scalar:
            out.append(contentsOf: scalar)
        case .unset:
            out.append(0x7B); out.append(0x7D)
        case .array:
            out.append(0x5B)
            for (i, c) in children.enumerated() {
                if i > 0 { out.append(0x2C) }
                c.write(to: &out)
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
                children[i].write(to: &out)
            }
            out.append(0x7D)
        }
    }
}

struct CanonicalNodeEncoder: Encoder {
    let node: CanonicalNode
    var codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if node.kind != .object { node.kind = .object; node.keys = []; node.children = [] }
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

    static func setScalar(_ node: CanonicalNode, _ bytes: [UInt8]) {
        node.kind = .scalar
        node.scalar = bytes
    }

    static func string(_ s: String) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(s.utf8.count + 2)
        CanonicalJSON.appendString(s, to: &out)
        return out
    }

    static func double(_ v: Double, _ path: [any CodingKey]) throws -> [UInt8] {
        guard v.isFinite else {
            throw EncodingError.invalidValue(v, .init(codingPath: path, debugDescription: "non-finite number \(v) has no JSON form"))
        }
        if v == v.rounded(), abs(v) < 9_007_199_254_740_992 { return Array(String(Int64(v)).utf8) }
        return Array(v.description.utf8)
    }

    /// Encodes any value into `node`, intercepting the types `JSONEncoder` treats specially
    /// (one protocol-conformance check instead of a chain of casts).
    static func encode<T: Encodable>(_ value: T, into node: CanonicalNode, path: @autoclosure () -> [any CodingKey]) throws {
        if let scalar = value as? CanonicalScalar {
            setScalar(node, try scalar.canonicalJSONBytes(path))
        } else {
            try value.encode(to: CanonicalNodeEncoder(node: node, codingPath: path()))
        }
    }

    struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let node: CanonicalNode
        var codingPath: [any CodingKey]

        func child(_ key: Key) -> CanonicalNode {
            let c = CanonicalNode()
            node.keys.append(key.stringValue)
            node.children.append(.node(c))
            return c
        }

        func scalar(_ key: Key, _ bytes: [UInt8]) {
            node.keys.append(key.stringValue)
            node.children.append(.scalar(bytes))
        }

        mutating func encodeNil(forKey key: Key) throws { scalar(key, [0x6E, 0x75, 0x6C, 0x6C]) }
        // Concrete overloads spare the dynamic casts of the generic path for the common types.
        mutating func encode(_ value: String, forKey key: Key) throws { scalar(key, CanonicalNodeEncoder.string(value)) }
        mutating func encode(_ value: Int, forKey key: Key) throws { scalar(key, Array(String(value).utf8)) }
        mutating func encode(_ value: Double, forKey key: Key) throws {
            scalar(key, try CanonicalNodeEncoder.double(value, codingPath + [key]))
        }
        mutating func encode(_ value: Bool, forKey key: Key) throws {
            scalar(key, value ? [0x74, 0x72, 0x75, 0x65] : [0x66, 0x61, 0x6C, 0x73, 0x65])
        }
        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
            if let s = value as? CanonicalScalar {
                scalar(key, try s.canonicalJSONBytes { codingPath + [key] })
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
            let c = CanonicalNode()
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
            let c = CanonicalNode()
            node.children.append(.node(c))
            return c
        }

        func scalar(_ bytes: [UInt8]) { node.children.append(.scalar(bytes)) }

        mutating func encodeNil() throws { scalar([0x6E, 0x75, 0x6C, 0x6C]) }
        mutating func encode(_ value: String) throws { scalar(CanonicalNodeEncoder.string(value)) }
        mutating func encode(_ value: Int) throws { scalar(Array(String(value).utf8)) }
        mutating func encode(_ value: Double) throws {
            let path = codingPath + [IndexKey(count)]
            scalar(try CanonicalNodeEncoder.double(value, path))
        }
        mutating func encode<T: Encodable>(_ value: T) throws {
            let (path, index) = (codingPath, count)
            if let s = value as? CanonicalScalar {
                scalar(try s.canonicalJSONBytes { path + [IndexKey(index)] })
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
        mutating func encodeNil() throws { CanonicalNodeEncoder.setScalar(node, [0x6E, 0x75, 0x6C, 0x6C]) }
        mutating func encode<T: Encodable>(_ value: T) throws {
            try CanonicalNodeEncoder.encode(value, into: node, path: codingPath)
        }
    }
}

/// Types written as one JSON scalar, exactly as `JSONEncoder` (as configured in
/// `CanonicalJSON.encodeViaJSONEncoder`) would write them, in canonical form.
protocol CanonicalScalar {
    func canonicalJSONBytes(_ path: () -> [any CodingKey]) throws -> [UInt8]
}

extension String: CanonicalScalar {
    func canonicalJSONBytes(_ path: () -> [any CodingKey]) throws -> [UInt8] { CanonicalNodeEncoder.string(self) }
}
extension Bool: CanonicalScalar {
    func canonicalJSONBytes(_ path: () -> [any CodingKey]) throws -> [UInt8] { self ? [0x74, 0x72, 0x75, 0x65] : [0x66, 0x61, 0x6C, 0x73, 0x65] }
}
extension Double: CanonicalScalar {
    func canonicalJSONBytes(_ path: () -> [any CodingKey]) throws -> [UInt8] { try CanonicalNodeEncoder.double(self, path()) }
}
extension Float: CanonicalScalar {
    func canonicalJSONBytes(_ path: () -> [any CodingKey]) throws -> [UInt8] {
        guard isFinite else {
            throw EncodingError.invalidValue(self, .init(codingPath: path(), debugDescription: "non-finite number \(self) has no JSON form"))
        }
        // JSONEncoder writes a Float's shortest decimal spelling; read back as a Double.
        return try CanonicalNodeEncoder.double(Double(description) ?? Double(self), path())
    }
}
extension Date: CanonicalScalar {
    func canonicalJSONBytes(_ path: () -> [any CodingKey]) throws -> [UInt8] { CanonicalNodeEncoder.string(RFC3339.string(from: self)) }
}
extension Data: CanonicalScalar {
    func canonicalJSONBytes(_ path: () -> [any CodingKey]) throws -> [UInt8] { CanonicalNodeEncoder.string(base64EncodedString()) }
}
extension URL: CanonicalScalar {
    func canonicalJSONBytes(_ path: () -> [any CodingKey]) throws -> [UInt8] { CanonicalNodeEncoder.string(absoluteString) }
}
extension Decimal: CanonicalScalar {
    func canonicalJSONBytes(_ path: () -> [any CodingKey]) throws -> [UInt8] { try CanonicalJSON.canonicalize(Array(description.utf8)) }
}
extension Int: CanonicalScalar { func canonicalJSONBytes(_ path: () -> [any CodingKey]) throws -> [UInt8] { Array(String(self).utf8) } }
extension Int8: CanonicalScalar { func canonicalJSONBytes(_ path: () -> [any CodingKey]) throws -> [UInt8] { Array(String(self).utf8) } }
extension Int16: CanonicalScalar { func canonicalJSONBytes(_ path: () -> [any CodingKey]) throws -> [UInt8] { Array(String(self).utf8) } }
extension Int32: CanonicalScalar { func canonicalJSONBytes(_ path: () -> [any CodingKey]) throws -> [UInt8] { Array(String(self).utf8) } }
extension Int64: CanonicalScalar { func canonicalJSONBytes(_ path: () -> [any CodingKey]) throws -> [UInt8] { Array(String(self).utf8) } }
extension UInt: CanonicalScalar { func canonicalJSONBytes(_ path: () -> [any CodingKey]) throws -> [UInt8] { Array(String(self).utf8) } }
extension UInt8: CanonicalScalar { func canonicalJSONBytes(_ path: () -> [any CodingKey]) throws -> [UInt8] { Array(String(self).utf8) } }
extension UInt16: CanonicalScalar { func canonicalJSONBytes(_ path: () -> [any CodingKey]) throws -> [UInt8] { Array(String(self).utf8) } }
extension UInt32: CanonicalScalar { func canonicalJSONBytes(_ path: () -> [any CodingKey]) throws -> [UInt8] { Array(String(self).utf8) } }
extension UInt64: CanonicalScalar { func canonicalJSONBytes(_ path: () -> [any CodingKey]) throws -> [UInt8] { Array(String(self).utf8) } }
