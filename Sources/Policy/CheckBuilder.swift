/// One check's fixed parts — id, threshold, reference, what a failure does, whether the policy acts
/// on it — so every outcome of that check is built the same way: pass; fail, or warn when the policy
/// only notes the condition; not evaluated, which never counts as a pass.
struct CheckBuilder {
    let id: CheckID
    let threshold: String?
    let reference: String
    let onFailure: Disposition.Kind
    /// False: a failed condition is shown as `warn` and blocks nothing.
    var enforced = true

    func pass(_ measured: String?, _ reason: String) -> Check { make(.pass, measured, reason) }

    /// `fail` when enforced, else `warn`.
    func fail(_ measured: String?, _ reason: String) -> Check { make(enforced ? .fail : .warn, measured, reason) }

    /// Pass or fail on `ok`, with the reason for each.
    func outcome(_ ok: Bool, measured: String?, pass passReason: String, fail failReason: String) -> Check {
        ok ? pass(measured, passReason) : fail(measured, failReason)
    }

    func notEvaluated(_ reason: String, measured: String? = nil) -> Check { make(.notEvaluated, measured, reason) }

    /// Not evaluated when the policy acts on the condition; nil (not shown) when it only notes it.
    func notEvaluatedIfEnforced(_ reason: String, measured: String? = nil) -> Check? {
        enforced ? notEvaluated(reason, measured: measured) : nil
    }

    private func make(_ status: CheckStatus, _ measured: String?, _ reason: String) -> Check {
        Check(id: id, status: status, measured: measured, threshold: threshold, reason: reason,
              reference: reference, onFailure: onFailure)
    }
}
