import Foundation

/// Builds a `JSONValue` straight from an `Encodable` value, without serialising to text and parsing it
/// back (that round trip dominated long runs). It yields exactly what `JSONEncoder` + `JSONDecoder`
/// would: integers and floats as numbers, `nil` in keyed containers omitted, `Data` as base64, `URL`
/// as its absolute string, and non-finite numbers refused.
enum JSONValueEncoding {
    static func encode<T: Encodable>(_ value: T) throws -> JSONValue {
        try box(value, codingPath: [])
    }

    static func box<T: Encodable>(_ value: T, codingPath: [CodingKey]) throws -> JSONValue {
        if let data = value as? Data { return .string(data.base64EncodedString()) }
        if let url = value as? URL { return .string(url.absoluteString) }
        if let json = value as? JSONValue { return json }
        let encoder = ValueEncoder(codingPath: codingPath)
        try value.encode(to: encoder)
        return encoder.storage.value
    }

    /// A node under construction: containers are references so nested encoders can fill them.
    final class Node {
        enum Kind { case unset, single(JSONValue), object([String: Node]), array([Node]) }
        var kind: Kind = .unset

        var value: JSONValue {
            switch kind {
            case .unset: return .object([:])
            case let .single(v): return v
            case let .object(members): return .object(members.mapValues(\.value))
            case let .array(items): return .array(items.map(\.value))
            }
        }
    }

    final class ValueEncoder: Encoder {
        let codingPath: [CodingKey]
        var userInfo: [CodingUserInfoKey: Any] { [:] }
        let storage: Node

        init(codingPath: [CodingKey], storage: Node = Node()) {
            self.codingPath = codingPath
            self.storage = storage
        }

        func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
            if case .object = storage.kind {} else { storage.kind = .object([:]) }
            return KeyedEncodingContainer(Keyed<Key>(node: storage, codingPath: codingPath))
        }

        func unkeyedContainer() -> UnkeyedEncodingContainer {
            if case .array = storage.kind {} else { storage.kind = .array([]) }
            return Unkeyed(node: storage, codingPath: codingPath)
        }

        func singleValueContainer() -> SingleValueEncodingContainer {
            Single(node: storage, codingPath: codingPath)
        }
    }

    static func number(_ x: Double, _ path: [CodingKey]) throws -> JSONValue {
        guard x.isFinite else {
            throw EncodingError.invalidValue(x, .init(codingPath: path, debugDescription: "Unable to encode \(x) directly in JSON."))
        }
        return .number(x)
    }

    /// A Float as JSON text writes it (its shortest decimal form), read back as a Double.
    static func float(_ x: Float, _ path: [CodingKey]) throws -> JSONValue {
        guard x.isFinite else { return try number(Double(x), path) }
        return .number(Double(x.description) ?? Double(x))
    }

    struct Keyed<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let node: Node
        let codingPath: [CodingKey]

        func set(_ v: JSONValue, _ key: Key) {
            let child = Node(); child.kind = .single(v); put(child, key)
        }

        func put(_ child: Node, _ key: Key) {
            guard case .object(var members) = node.kind else { return }
            members[key.stringValue] = child
            node.kind = .object(members)
        }

        mutating func encodeNil(forKey key: Key) throws { set(.null, key) }
        mutating func encode(_ value: Bool, forKey key: Key) throws { set(.bool(value), key) }
        mutating func encode(_ value: String, forKey key: Key) throws { set(.string(value), key) }
        mutating func encode(_ value: Double, forKey key: Key) throws { set(try number(value, codingPath + [key]), key) }
        mutating func encode(_ value: Float, forKey key: Key) throws { set(try float(value, codingPath + [key]), key) }
        mutating func encode(_ value: Int, forKey key: Key) throws { set(.number(Double(value)), key) }
        mutating func encode(_ value: Int8, forKey key: Key) throws { set(.number(Double(value)), key) }
        mutating func encode(_ value: Int16, forKey key: Key) throws { set(.number(Double(value)), key) }
        mutating func encode(_ value: Int32, forKey key: Key) throws { set(.number(Double(value)), key) }
        mutating func encode(_ value: Int64, forKey key: Key) throws { set(.number(Double(value)), key) }
        mutating func encode(_ value: UInt, forKey key: Key) throws { set(.number(Double(value)), key) }
        mutating func encode(_ value: UInt8, forKey key: Key) throws { set(.number(Double(value)), key) }
        mutating func encode(_ value: UInt16, forKey key: Key) throws { set(.number(Double(value)), key) }
        mutating func encode(_ value: UInt32, forKey key: Key) throws { set(.number(Double(value)), key) }
        mutating func encode(_ value: UInt64, forKey key: Key) throws { set(.number(Double(value)), key) }
        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
            set(try JSONValueEncoding.box(value, codingPath: codingPath + [key]), key)
        }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
            let child = Node(); child.kind = .object([:]); put(child, key)
            return KeyedEncodingContainer(Keyed<NestedKey>(node: child, codingPath: codingPath + [key]))
        }

        mutating func nestedUnkeyedContainer(forKey key: Key) -> UnkeyedEncodingContainer {
            let child = Node(); child.kind = .array([]); put(child, key)
            return Unkeyed(node: child, codingPath: codingPath + [key])
        }

        mutating func superEncoder() -> Encoder { superEncoder(forKey: Key(stringValue: "super")!) }
        mutating func superEncoder(forKey key: Key) -> Encoder {
            let child = Node(); put(child, key)
            return ValueEncoder(codingPath: codingPath + [key], storage: child)
        }
    }

    struct IndexKey: CodingKey {
        var stringValue: String { "Index \(intValue ?? 0)" }
        var intValue: Int?
        init(_ i: Int) { intValue = i }
        init?(stringValue: String) { nil }
        init?(intValue: Int) { self.intValue = intValue }
    }

    struct Unkeyed: UnkeyedEncodingContainer {
        let node: Node
        let codingPath: [CodingKey]
        var count: Int { if case let .array(items) = node.kind { return items.count }; return 0 }

        func append(_ child: Node) {
            guard case .array(var items) = node.kind else { return }
            items.append(child)
            node.kind = .array(items)
        }

        func add(_ v: JSONValue) { let child = Node(); child.kind = .single(v); append(child) }
        var path: [CodingKey] { codingPath + [IndexKey(count)] }

        mutating func encodeNil() throws { add(.null) }
        mutating func encode(_ value: Bool) throws { add(.bool(value)) }
        mutating func encode(_ value: String) throws { add(.string(value)) }
        mutating func encode(_ value: Double) throws { add(try number(value, path)) }
        mutating func encode(_ value: Float) throws { add(try float(value, path)) }
        mutating func encode(_ value: Int) throws { add(.number(Double(value))) }
        mutating func encode(_ value: Int8) throws { add(.number(Double(value))) }
        mutating func encode(_ value: Int16) throws { add(.number(Double(value))) }
        mutating func encode(_ value: Int32) throws { add(.number(Double(value))) }
        mutating func encode(_ value: Int64) throws { add(.number(Double(value))) }
        mutating func encode(_ value: UInt) throws { add(.number(Double(value))) }
        mutating func encode(_ value: UInt8) throws { add(.number(Double(value))) }
        mutating func encode(_ value: UInt16) throws { add(.number(Double(value))) }
        mutating func encode(_ value: UInt32) throws { add(.number(Double(value))) }
        mutating func encode(_ value: UInt64) throws { add(.number(Double(value))) }
        mutating func encode<T: Encodable>(_ value: T) throws { add(try JSONValueEncoding.box(value, codingPath: path)) }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
            let p = path
            let child = Node(); child.kind = .object([:]); append(child)
            return KeyedEncodingContainer(Keyed<NestedKey>(node: child, codingPath: p))
        }

        mutating func nestedUnkeyedContainer() -> UnkeyedEncodingContainer {
            let p = path
            let child = Node(); child.kind = .array([]); append(child)
            return Unkeyed(node: child, codingPath: p)
        }

        mutating func superEncoder() -> Encoder {
            let p = path
            let child = Node(); append(child)
            return ValueEncoder(codingPath: p, storage: child)
        }
    }

    struct Single: SingleValueEncodingContainer {
        let node: Node
        let codingPath: [CodingKey]

        func set(_ v: JSONValue) { node.kind = .single(v) }
        mutating func encodeNil() throws { set(.null) }
        mutating func encode(_ value: Bool) throws { set(.bool(value)) }
        mutating func encode(_ value: String) throws { set(.string(value)) }
        mutating func encode(_ value: Double) throws { set(try number(value, codingPath)) }
        mutating func encode(_ value: Float) throws { set(try float(value, codingPath)) }
        mutating func encode(_ value: Int) throws { set(.number(Double(value))) }
        mutating func encode(_ value: Int8) throws { set(.number(Double(value))) }
        mutating func encode(_ value: Int16) throws { set(.number(Double(value))) }
        mutating func encode(_ value: Int32) throws { set(.number(Double(value))) }
        mutating func encode(_ value: Int64) throws { set(.number(Double(value))) }
        mutating func encode(_ value: UInt) throws { set(.number(Double(value))) }
        mutating func encode(_ value: UInt8) throws { set(.number(Double(value))) }
        mutating func encode(_ value: UInt16) throws { set(.number(Double(value))) }
        mutating func encode(_ value: UInt32) throws { set(.number(Double(value))) }
        mutating func encode(_ value: UInt64) throws { set(.number(Double(value))) }
        mutating func encode<T: Encodable>(_ value: T) throws { set(try JSONValueEncoding.box(value, codingPath: codingPath)) }
    }
}
