import Files

/// Where a report version lives inside a run folder; the case part of the name is `FileName.slug`.
public enum ReportFileName {
    /// `run.html`, `cases/<case>.html`, `cases/<case>.v2.html`.
    public static func relativePath(caseId: String?, version: Int, format: String) -> String {
        let suffix = version > 1 ? ".v\(version)" : ""
        guard let caseId else { return "run\(suffix).\(format)" }
        return "cases/\(FileName.slug(caseId))\(suffix).\(format)"
    }
}
