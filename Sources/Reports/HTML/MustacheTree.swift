import Mustache

/// Converts a view value into dictionaries and arrays once, so that Mustache looks members up by
/// hashing instead of reflecting on every tag (reflection per lookup made a case report ~6 ms).
/// `nil` members are left out, which Mustache treats exactly like a `nil` member.
enum MustacheTree {
    /// Views that build their tree member by member take that path; the rest are reflected.
    static func convert(_ value: Any) -> Any {
        if let view = value as? MustacheTreeConvertible { return view.mustacheTree }
        return reflect(value)
    }

    /// The tree by reflection (`Mirror`): the reference `MustacheTreeConvertible` views must equal.
    static func reflect(_ value: Any) -> Any {
        switch value {
        case is String, is Bool, is Int, is SVGMarkup:
            return value
        case let array as [Any]:
            return array.map(reflect)
        default:
            let mirror = Mirror(reflecting: value)
            if mirror.displayStyle == .optional {
                guard let wrapped = mirror.children.first?.value else { return Optional<Any>.none as Any }
                return reflect(wrapped)
            }
            guard mirror.displayStyle == .struct else { return value }
            var dictionary: [String: Any] = [:]
            dictionary.reserveCapacity(Int(mirror.children.count))
            for child in mirror.children {
                guard let label = child.label else { continue }
                let childMirror = Mirror(reflecting: child.value)
                if childMirror.displayStyle == .optional && childMirror.children.isEmpty { continue }
                dictionary[label] = reflect(child.value)
            }
            return dictionary
        }
    }
}
