#!/usr/bin/env python3
"""Compare two demo stores (before and after a refactor): the assessments, every report's bytes,
and the audit events with their payloads, ignoring only what must differ between two runs — wall-clock
times (event times, `*_at` fields and RFC 3339 timestamps inside payloads and report bytes) and the
hashes that cover those times (assessment, report and log-root hashes, which are replaced by the
name of what they hash before comparing). Run both demos with the same `--log-key` file.

    scripts/compare-demo-stores.py BEFORE.sqlite AFTER.sqlite

Prints the counts compared and every difference; exits 1 on any."""
import json, re, sqlite3, sys

STAMP = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")
ATTESTED = re.compile(rb'"attested":\{"records":\d+,"sha256":"[0-9a-f]{64}"\},?')
def unstamp(b):
    if isinstance(b, str): b = b.encode()
    return STAMP.sub(b"<time>", b)

def rows(db, sql):
    return db.execute(sql).fetchall()

def snapshot(path):
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    names = {}
    for run, case, sha in rows(db, "SELECT run_id, case_id, assessment_sha256 FROM assessments"):
        names[sha] = f"<assessment {run}/{case}>"
    for run, case, version, fmt, sha in rows(db, "SELECT run_id, IFNULL(case_id, ''), version, format, sha256 FROM reports"):
        names[sha] = f"<report {run}/{case}/v{version}.{fmt}>"
    for size, root in rows(db, "SELECT tree_size, root_hash FROM audit_checkpoints"):
        names[root.hex()] = f"<root {size}>"
    pattern = re.compile(rb"[0-9a-f]{64}")
    def unstamp(b):
        if isinstance(b, str): b = b.encode()
        b = STAMP.sub(b"<time>", b)
        # An event's attestation summary (since the attested store) covers the records' stored times;
        # the records it attests are compared themselves, so the summary is left out on both sides.
        b = ATTESTED.sub(b"", b)
        return pattern.sub(lambda m: names.get(m.group(0).decode(), m.group(0).decode()).encode(), b)
    snap = {}
    snap["assessments"] = {(r[0], r[1]): (r[2], r[3], unstamp(r[5]))
                           for r in rows(db, "SELECT run_id, case_id, position, disposition, assessment_sha256, assessment FROM assessments")}
    snap["reports"] = {(r[0], r[1], r[2], r[3]): unstamp(r[4])
                       for r in rows(db, "SELECT run_id, IFNULL(case_id, ''), version, format, content FROM reports")}
    snap["events"] = {r[0]: (r[1], r[2], r[3], r[4], unstamp(r[5]))
                      for r in rows(db, "SELECT seq, actor, action, subject_type, subject_id, payload FROM audit_events")}
    snap["models"] = {r[0]: r[1] for r in rows(db, "SELECT id, study FROM models")}
    snap["catch_trials"] = set(rows(db, "SELECT run_id, case_id FROM catch_trials"))
    return snap

def main():
    before, after = snapshot(sys.argv[1]), snapshot(sys.argv[2])
    problems = 0
    for kind in before:
        b, a = before[kind], after[kind]
        if isinstance(b, set):
            if b != a: print(f"{kind}: differ ({len(b)} vs {len(a)})"); problems += 1
            else: print(f"{kind}: {len(b)} identical")
            continue
        missing, extra = set(b) - set(a), set(a) - set(b)
        changed = [k for k in set(b) & set(a) if b[k] != a[k]]
        for k in sorted(missing, key=str)[:5]: print(f"{kind}: {k} only before")
        for k in sorted(extra, key=str)[:5]: print(f"{kind}: {k} only after")
        for k in sorted(changed, key=str)[:5]: print(f"{kind}: {k} differs:\n  before {str(b[k])[:300]}\n  after  {str(a[k])[:300]}")
        n = len(missing) + len(extra) + len(changed)
        problems += n
        print(f"{kind}: {len(b)} before, {len(a)} after, {n} differ")
    sys.exit(1 if problems else 0)

main()
