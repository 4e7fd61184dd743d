import Foundation
import Mustache
import Pipeline
import Reports

/// The web app's pages: Mustache templates (every `{{value}}` HTML-escaped), one layout, no inline
/// script or style, so the Content-Security-Policy can forbid both.
struct WebPages: Sendable {
    private let library: MustacheLibrary

    init() throws {
        var library = MustacheLibrary()
        for (name, text) in Self.templates { library.register(try MustacheTemplate(string: text), named: name) }
        self.library = library
    }

    /// A page inside the layout: `content` is rendered by its own template first.
    /// The worklist's rows, every value escaped. Built here rather than by a Mustache section: looked
    /// up key by key, 100 rows took over a third of the server's CPU under load (`audit-bench serve`).
    static func worklistRows(_ items: [ReviewWorkflow.QueueItem]) -> String {
        var html = ""
        for i in items {
            let d = ReportText.htmlEscaped(i.disposition), caseId = ReportText.htmlEscaped(i.caseId)
            let href = ReportText.htmlEscaped(ReviewServer.caseHref(run: i.runId, caseId: i.caseId))
            html += "<tr class=\"\(d)\"><td><a href=\"\(href)\">\(caseId)</a></td><td>\(ReportText.htmlEscaped(i.runId))</td>"
            html += "<td><span class=\"badge \(d)\">\(d)</span></td><td>\(i.signatures)/\(i.reviewersRequired)</td>"
            html += "<td>\(ReportText.htmlEscaped(i.waitingSince ?? "—"))</td></tr>\n"
        }
        return html
    }

    func page(_ template: String, title: String, session: WebSession?, _ context: [String: Any]) -> String {
        let content = library.render(context, withTemplate: template) ?? ""
        var layout: [String: Any] = ["title": title, "content": content]
        if let s = session {
            layout["user"] = ["name": s.printedName, "id": s.reviewerId, "role": s.role.rawValue, "csrf": s.csrfToken,
                              "isReviewer": s.role == .reviewer, "seesOversight": s.role != .reviewer]
        }
        return library.render(layout, withTemplate: "layout") ?? content
    }

    static let templates: [String: String] = [
        "layout": """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{title}} — Countersign</title>
        <link rel="stylesheet" href="/static/app.css">
        <script src="/static/app.js" defer></script>
        </head>
        <body>
        <header class="bar"><span class="brand">Countersign</span>
        {{#user}}<nav>{{#isReviewer}}<a href="/">Worklist</a>{{/isReviewer}}{{#seesOversight}}<a href="/oversight">Oversight</a>{{/seesOversight}}
        <span class="who">{{name}} · {{role}}</span>
        <form method="post" action="/sign-out" class="inline"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit">Sign out</button></form></nav>{{/user}}
        </header>
        <main>
        {{{content}}}
        </main>
        </body>
        </html>
        """,
        "sign-in": """
        <h1>Sign in</h1>
        {{#message}}<p class="error" role="alert">{{message}}</p>{{/message}}
        <form method="post" action="/sign-in" class="card narrow">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label>Reviewer id <input name="reviewer" autocomplete="username" required maxlength="200" value="{{reviewer}}"></label>
        <label>Passphrase <input name="passphrase" type="password" autocomplete="current-password" required maxlength="1024"></label>
        <button type="submit">Sign in</button>
        </form>
        <p class="muted">Your passphrase is the one that seals your signing key: signing in proves what a signature proves. Sessions end after {{idle}} minutes without use.</p>
        """,
        "worklist": """
        <h1>Worklist</h1>
        <p class="muted">{{total}} case(s) waiting for you{{#filtered}}, {{shown}} shown{{/filtered}} · escalate {{escalate}} · second review {{secondReview}} · review {{review}}</p>
        <form method="get" action="/" class="filters">
        <label>Run <select name="run"><option value="">all</option>{{#runs}}<option value="{{id}}"{{#selected}} selected{{/selected}}>{{id}}</option>{{/runs}}</select></label>
        <label>Disposition <select name="disposition"><option value="">all</option>{{#dispositions}}<option value="{{name}}"{{#selected}} selected{{/selected}}>{{name}}</option>{{/dispositions}}</select></label>
        <button type="submit">Filter</button>
        </form>
        {{#hasItems}}
        <table class="list">
        <thead><tr><th>Case</th><th>Run</th><th>Disposition</th><th>Signatures</th><th>Waiting since</th></tr></thead>
        <tbody>
        {{{itemRows}}}
        </tbody>
        </table>
        {{#truncated}}<p class="muted">The {{rows}} most urgent are shown; filter by run or disposition to reach the others.</p>{{/truncated}}
        {{/hasItems}}
        {{^hasItems}}<p>No case is waiting for you.</p>{{/hasItems}}
        """,
        "case": """
        <h1>Case <span class="id">{{caseId}}</span></h1>
        <p class="muted">Run {{runId}} · disposition <span class="badge {{disposition}}">{{disposition}}</span> · signatures {{signatureCount}}/{{required}} · report version {{reportVersion}}</p>
        {{#blinded}}
        <section class="card blind">
        <h2>Blind first read</h2>
        <p>The policy asks for your own reading first. The model's answer, its probabilities, its prediction set and the neighbours' labels are shown once you have recorded it.</p>
        <h3>Scans</h3>
        {{#scansOpen}}<ul>{{#scans}}<li>{{.}}</li>{{/scans}}</ul>{{/scansOpen}}
        {{^scansOpen}}<p><a href="{{href}}?expand=scans">Show the {{scanCount}} scan(s)</a></p>{{/scansOpen}}
        <h3>Nearest verified cases</h3>
        {{#neighboursOpen}}<table class="list"><thead><tr><th>Case</th><th>Distance</th><th>Verified by</th></tr></thead><tbody>
        {{#neighbours}}<tr><td>{{caseId}}</td><td>{{distance}}</td><td>{{verifiedBy}}</td></tr>{{/neighbours}}
        </tbody></table>{{/neighboursOpen}}
        {{^neighboursOpen}}<p><a href="{{href}}?expand=neighbours">Show the {{neighbourCount}} nearest verified case(s)</a></p>{{/neighboursOpen}}
        <form method="post" action="{{href}}/read" class="card">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label>Your reading <select name="class" required><option value="">choose…</option>{{#classes}}<option value="{{.}}">{{.}}</option>{{/classes}}</select></label>
        <button type="submit">Record my reading</button>
        </form>
        </section>
        {{/blinded}}
        {{^blinded}}
        {{#blindRead}}<p class="note">Your blind reading: <strong>{{blindRead}}</strong>.</p>{{/blindRead}}
        <section class="card answer">
        <h2>The model's answer</h2>
        <p class="headline">{{sentence}}</p>
        {{#hasSet}}<p>Prediction set: {{#set}}<code>{{.}}</code> {{/set}}</p>{{/hasSet}}
        <p><a href="{{href}}/report" target="report">Open the full report (version {{reportVersion}})</a></p>
        </section>
        <iframe class="report" name="report" src="{{href}}/report" title="Case report, version {{reportVersion}}"></iframe>
        {{/blinded}}
        {{#hasSignatures}}
        <section class="card"><h2>Signatures</h2><ul>{{#signatures}}<li>{{printedName}} ({{reviewerId}}) — {{decision}}, meaning {{meaning}}, {{signedAt}}</li>{{/signatures}}</ul></section>
        {{/hasSignatures}}
        {{#cannotSign}}<p class="note">{{cannotSign}}.</p>{{/cannotSign}}
        {{#maySign}}
        <section class="card sign">
        <h2>Sign</h2>
        <p class="timer" data-remaining="{{remaining}}">{{#waiting}}The policy asks for at least {{minSeconds}} s with the evidence open: <span class="countdown">{{remaining}}</span> s to go.{{/waiting}}{{^waiting}}The minimum review time ({{minSeconds}} s) has passed.{{/waiting}}</p>
        <form method="post" action="{{href}}/sign">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <fieldset><legend>Decision</legend>
        <label><input type="radio" name="decision" value="agree" checked> Agree with the model</label>
        <label><input type="radio" name="decision" value="override"> Override</label>
        <label>Class (override) <select name="class"><option value="">—</option>{{#classes}}<option value="{{.}}">{{.}}</option>{{/classes}}</select></label>
        {{#hasReasons}}<label>Reason (override) <select name="reason_code"><option value="">—</option>{{#reasons}}<option value="{{.}}">{{.}}</option>{{/reasons}}</select></label>{{/hasReasons}}
        {{^hasReasons}}<label>Reason code (override) <input name="reason_code" maxlength="200"></label>{{/hasReasons}}
        </fieldset>
        <fieldset><legend>Meaning of your signature</legend>
        <label><input type="radio" name="meaning" value="review" checked> Review</label>
        <label><input type="radio" name="meaning" value="approval"> Approval</label>
        </fieldset>
        <label>Note <textarea name="note" maxlength="2000" rows="2"></textarea></label>
        <label>Passphrase (asked at every signature) <input name="passphrase" type="password" autocomplete="current-password" required maxlength="1024"></label>
        <p class="muted">This action will be signed by you, {{signer}}, with the meaning you chose (21 CFR 11.50).</p>
        <button type="submit" class="primary" {{#waiting}}disabled{{/waiting}}>Sign</button>
        </form>
        </section>
        {{/maySign}}
        """,
        "signed": """
        <h1>Signed: case <span class="id">{{caseId}}</span></h1>
        <p class="note">You signed ({{decision}}, meaning {{meaning}}) at {{signedAt}}. Report version {{version}} carries the signature's manifestation.</p>
        {{#catchTrial}}<p class="note">{{catchTrial}}</p>{{/catchTrial}}
        <iframe class="report" src="{{href}}/report?version={{version}}" title="Case report, version {{version}}"></iframe>
        <p><a href="/">Back to the worklist</a></p>
        """,
        "oversight": """
        <h1>Oversight</h1>
        <section class="card"><h2>Audit log</h2>
        <p class="{{logClass}}">{{logStatus}}</p>
        {{#checkpoint}}<p class="muted">Newest checkpoint: size {{size}}, root <code>{{root}}</code></p>{{/checkpoint}}
        </section>
        <section class="card"><h2>Reviewers</h2>
        {{#hasReviewers}}
        <table class="list"><thead><tr><th>Reviewer</th><th>Reviews</th><th>Review time</th><th>Median</th><th>Agreement</th><th>Agreement, low confidence</th><th>Overrides</th><th>Blind-read agreement</th><th>Catch trials (detected)</th><th>Evidence opened</th><th>Flags</th></tr></thead><tbody>
        {{#reviewers}}<tr class="{{#flagged}}flagged{{/flagged}}"><td>{{id}}</td><td>{{reviews}}</td><td>{{{histogram}}}</td><td>{{median}} s</td><td>{{agreement}}</td><td>{{lowAgreement}}</td><td>{{overrides}}</td><td>{{blindAgreement}}</td><td>{{catchTrials}} ({{detected}})</td><td>{{evidence}}</td><td>{{flags}}</td></tr>
        {{/reviewers}}</tbody></table>
        {{/hasReviewers}}
        {{^hasReviewers}}<p>No signatures yet.</p>{{/hasReviewers}}
        </section>
        <section class="card"><h2>Runs</h2>
        <table class="list"><thead><tr><th>Run</th><th>Study</th><th>Status</th><th>Finished</th><th>Cases</th><th>Dispositions</th></tr></thead><tbody>
        {{#runs}}<tr><td><a href="{{href}}">{{id}}</a></td><td>{{study}}</td><td>{{status}}</td><td>{{finished}}</td><td>{{cases}}</td><td>{{dispositions}}</td></tr>{{/runs}}
        </tbody></table>
        </section>
        """,
        "error": """
        <h1>{{heading}}</h1>
        <p class="error" role="alert">{{message}}</p>
        <p><a href="{{back}}">Back</a></p>
        """,
    ]

    /// The one stylesheet (served from /static, so no inline style is needed).
    static let css = """
    :root { --ink:#1d2430; --muted:#5b6472; --line:#d5dae1; --accent:#0b5cad; --warn:#a15c00; --bad:#a4161a; --ok:#2b7a0b; }
    * { box-sizing: border-box; }
    body { margin:0; font:15px/1.45 system-ui, sans-serif; color:var(--ink); background:#f6f7f9; }
    .bar { display:flex; justify-content:space-between; align-items:center; padding:.5rem 1rem; background:#fff; border-bottom:1px solid var(--line); }
    .brand { font-weight:700; }
    nav { display:flex; gap:1rem; align-items:center; }
    main { max-width:1320px; margin:0 auto; padding:1rem; }
    h1 { font-size:1.4rem; margin:.3rem 0 .6rem; }
    .card { background:#fff; border:1px solid var(--line); border-radius:6px; padding:.8rem 1rem; margin:.8rem 0; }
    .narrow { max-width:26rem; }
    label { display:block; margin:.4rem 0; }
    form.inline, .filters label { display:inline-block; margin-right:.8rem; }
    input, select, textarea, button { font:inherit; }
    textarea { width:100%; }
    button.primary { background:var(--accent); color:#fff; border:0; padding:.4rem 1.2rem; border-radius:4px; }
    button[disabled] { opacity:.5; }
    table.list { border-collapse:collapse; width:100%; background:#fff; }
    table.list th, table.list td { border-bottom:1px solid var(--line); padding:.3rem .5rem; text-align:left; }
    .badge { padding:0 .4rem; border-radius:3px; border:1px solid var(--line); }
    .badge.escalate { color:var(--bad); border-color:var(--bad); }
    .badge.second-review { color:var(--warn); border-color:var(--warn); }
    .muted { color:var(--muted); }
    .error { color:var(--bad); font-weight:600; }
    .note { background:#eef4fb; padding:.4rem .6rem; border-radius:4px; }
    .ok { color:var(--ok); font-weight:600; }
    .bad { color:var(--bad); font-weight:600; }
    .id, code { font-family:ui-monospace, monospace; }
    .headline { font-size:1.1rem; font-weight:600; }
    iframe.report { width:100%; height:60vh; border:1px solid var(--line); background:#fff; }
    tr.flagged td { background:#fff3f0; }
    fieldset { border:1px solid var(--line); margin:.5rem 0; }
    """

    /// Counts the minimum review time down and enables the sign button at zero; the server enforces
    /// the minimum whatever this script does.
    static let js = """
    document.addEventListener('DOMContentLoaded', function () {
      var timer = document.querySelector('.timer');
      if (!timer) return;
      var left = parseInt(timer.getAttribute('data-remaining') || '0', 10);
      var button = document.querySelector('.sign button[type=submit]');
      var span = timer.querySelector('.countdown');
      if (left <= 0) return;
      var tick = setInterval(function () {
        left -= 1;
        if (span) span.textContent = String(Math.max(left, 0));
        if (left <= 0) {
          clearInterval(tick);
          timer.textContent = 'The minimum review time has passed.';
          if (button) button.disabled = false;
        }
      }, 1000);
    });
    """
}
