import Foundation
import GRDB

/// A study: what its cases are about, its ordered class labels and its channel (feature) names.
public struct Study: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "studies"
    public var name: String
    /// Class labels in logit order.
    public var classes: [String]
    public var channels: [String]
    public var description: String
    public var createdAt: String

    public init(name: String, classes: [String], channels: [String], description: String = "",
                createdAt: String = Timestamp.now()) {
        self.name = name; self.classes = classes; self.channels = channels
        self.description = description; self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey {
        case name, classes, channels, description
        case createdAt = "created_at"
    }
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.useDefaultKeys
    public static func databaseJSONEncoder(for column: String) -> JSONEncoder {
        let e = JSONEncoder(); e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]; return e
    }
}
