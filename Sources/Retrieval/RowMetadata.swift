/// What the index knows about one row (one scan of one case): enough to filter candidates and to
/// show a neighbour as evidence without going back to the case store.
public struct RowMetadata: Hashable, Codable, Sendable {
    public var caseID: String
    public var scanIndex: Int
    /// Pseudonym of the subject; a subject's other scans and cases are never evidence for it.
    public var subject: String
    public var study: String
    /// Ground-truth label, nil when the case is not labelled.
    public var label: String?
    public var verifiedBy: String?
    public var verifiedAt: String?
    /// e.g. the illumination configuration of the scan.
    public var acquisition: String?

    public init(caseID: String, scanIndex: Int = 0, subject: String? = nil, study: String,
                label: String?, verifiedBy: String?, verifiedAt: String? = nil, acquisition: String? = nil) {
        self.caseID = caseID; self.scanIndex = scanIndex; self.subject = subject ?? caseID
        self.study = study; self.label = label; self.verifiedBy = verifiedBy
        self.verifiedAt = verifiedAt; self.acquisition = acquisition
    }

    /// Verified ground truth: a label and who verified it.
    public var isVerified: Bool { label != nil && verifiedBy != nil }

    enum CodingKeys: String, CodingKey {
        case caseID = "case_id", scanIndex = "scan_index", subject, study, label
        case verifiedBy = "verified_by", verifiedAt = "verified_at", acquisition
    }
}

/// The per-row fields other than the case id and subject. Rows share them heavily (one study, a few
/// labels, one importer), so each distinct combination is stored once and rows hold a code (one byte
/// while there are fewer than 256 combinations, four after): with the squared norm (4 bytes) and the
/// case id's end offset (4), the index keeps ≈ 9 bytes per row plus the case id's UTF-8 on top of the matrix.
struct RowAttributes: Hashable {
    var scanIndex: Int
    var study: String
    var label: String?
    var verifiedBy: String?
    var verifiedAt: String?
    var acquisition: String?

    var isVerified: Bool { label != nil && verifiedBy != nil }
}
