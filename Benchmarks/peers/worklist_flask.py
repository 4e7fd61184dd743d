#!/usr/bin/env python3
"""The peer of `audit-bench serve`: a minimal Flask app over the same SQLite case store, serving the
same worklist query (cases whose disposition needs people and that lack signatures, most urgent
first, the first 100 rows rendered as an HTML table) and a case page (the stored newest HTML report
of a case). No sessions, no CSRF, no attestation checks and no audit events: the plain baseline a
site might write by hand.

    python3 Benchmarks/peers/worklist_flask.py --store bench.sqlite --port 8091

Needs: flask (PyPI). Serves on 127.0.0.1 only, threaded.
"""
import argparse, sqlite3, threading

from flask import Flask, Response, abort, render_template_string, request

PAGE = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Worklist</title></head><body>
<h1>Worklist</h1><p>{{ total }} case(s) waiting · escalate {{ counts.get('escalate', 0) }} · second review {{ counts.get('second-review', 0) }} · review {{ counts.get('review', 0) }}</p>
<table><thead><tr><th>Case</th><th>Run</th><th>Disposition</th><th>Signatures</th><th>Waiting since</th></tr></thead><tbody>
{% for r in rows %}<tr><td><a href="/cases/{{ r[0] }}/{{ r[1] }}">{{ r[1] }}</a></td><td>{{ r[0] }}</td><td>{{ r[2] }}</td><td>{{ r[3] }}</td><td>{{ r[4] }}</td></tr>
{% endfor %}</tbody></table></body></html>"""

QUERY = """
SELECT a.run_id, a.case_id, a.disposition,
       (SELECT COUNT(*) FROM signoffs s WHERE s.run_id = a.run_id AND s.case_id = a.case_id) AS signatures,
       r.finished_at
FROM assessments a JOIN runs r ON r.id = a.run_id
WHERE r.status = 'completed' AND a.disposition IN ('escalate', 'second-review', 'review')
  AND r.operator != ?
  AND NOT EXISTS (SELECT 1 FROM signoffs s WHERE s.run_id = a.run_id AND s.case_id = a.case_id AND s.reviewer_id = ?)
ORDER BY CASE a.disposition WHEN 'escalate' THEN 0 WHEN 'second-review' THEN 1 ELSE 2 END, r.finished_at, a.case_id
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--store", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--reviewer", default="bench-reviewer")
    a = ap.parse_args()
    local = threading.local()

    def db():
        if not hasattr(local, "conn"):
            local.conn = sqlite3.connect(f"file:{a.store}?mode=ro", uri=True, check_same_thread=False)
        return local.conn

    app = Flask(__name__)

    @app.get("/health")
    def health():
        return {"status": "ok"}

    @app.get("/")
    def worklist():
        rows = db().execute(QUERY, (a.reviewer, a.reviewer)).fetchall()
        run = request.args.get("run")
        if run:
            rows = [r for r in rows if r[0] == run]
        counts = {}
        for r in rows:
            counts[r[2]] = counts.get(r[2], 0) + 1
        return render_template_string(PAGE, rows=rows[:100], total=len(rows), counts=counts)

    @app.get("/cases/<run>/<case>")
    def case(run, case):
        row = db().execute("SELECT content FROM reports WHERE run_id = ? AND case_id = ? AND format = 'html' "
                           "ORDER BY version DESC LIMIT 1", (run, case)).fetchone()
        if row is None:
            abort(404)
        return Response(row[0], mimetype="text/html")

    app.run(host="127.0.0.1", port=a.port, threaded=True)


if __name__ == "__main__":
    main()
