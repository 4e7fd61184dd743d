/// How two embeddings are compared. Distances are reported so that smaller is nearer for both.
public enum DistanceMetric: String, Codable, Sendable, CaseIterable {
    /// 1 − cos(q, x); a zero vector has cosine 0 with everything (distance 1).
    case cosine
    /// ‖q − x‖₂.
    case euclidean
}
