import Foundation

/// The JSON coding used to store fitted calibrators, conformal predictors and figures. Conformal
/// thresholds already store +∞ as null (plain decoders read them); any other non-finite figure (e.g. the
/// bounds of an empty equal-mass bin) becomes the string "inf", "-inf" or "nan" instead of failing.
/// Keys are sorted so the stored text is deterministic.
public enum CalibrationJSON {
    public static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return e
    }

    public static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return d
    }

    /// Encodes a value to a JSON string.
    public static func string<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try encoder().encode(value), as: UTF8.self)
    }

    /// Decodes a value from a stored JSON string; `field` names the column in errors.
    public static func decode<T: Decodable>(_ type: T.Type, from text: String, field: String) throws -> T {
        do {
            return try decoder().decode(type, from: Data(text.utf8))
        } catch {
            throw CalibrationError.invalidParameter(name: field, value: String(text.prefix(80)),
                                                    reason: "cannot be decoded as \(type): \(error)")
        }
    }
}
