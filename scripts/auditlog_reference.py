"""Independent reference for the audit log (Python 3.11 + `cryptography`).

Writes Tests/AuditLogTests/LogFixture.swift (the JSON fixture embedded as a string literal, so the
test target needs no resources): canonical payloads and entries, leaf hashes, RFC 9162 roots,
inclusion and consistency proofs, and a signed-note checkpoint, all computed here without the Swift
code. Run from the package root:  python3 scripts/auditlog_reference.py
"""
import base64
import hashlib
import json
import math
import pathlib

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def canon_number(x):
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, int):
        return str(x)
    assert math.isfinite(x)
    if x == int(x) and abs(x) < 2**53:
        return str(int(x))
    return repr(x)  # shortest round-trip, same spelling as Swift's Double.description


def canon(v):
    """Canonical JSON: sorted keys, no whitespace, minimal escapes, UTF-8."""
    if v is None:
        return "null"
    if isinstance(v, (bool, int, float)):
        return canon_number(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ",".join(canon(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + canon(v[k]) for k in sorted(v)) + "}"
    raise TypeError(type(v))


def sha(b):
    return hashlib.sha256(b).digest()


def leaf(b):
    return sha(b"\x00" + b)


def node(l, r):
    return sha(b"\x01" + l + r)


def mth(d):
    if len(d) == 0:
        return sha(b"")
    if len(d) == 1:
        return d[0]
    k = 1
    while k * 2 < len(d):
        k *= 2
    return node(mth(d[:k]), mth(d[k:]))


def path(m, d):
    if len(d) <= 1:
        return []
    k = 1
    while k * 2 < len(d):
        k *= 2
    if m < k:
        return path(m, d[:k]) + [mth(d[k:])]
    return path(m - k, d[k:]) + [mth(d[:k])]


def subproof(m, d, b):
    n = len(d)
    if m == n:
        return [] if b else [mth(d)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return subproof(m, d[:k], b) + [mth(d[k:])]
    return subproof(m - k, d[k:], False) + [mth(d[:k])]


payloads = [
    {"case_id": "ecg200-0001", "probabilities": [0.9, 0.1], "set": [0], "alpha": 0.1},
    {"note": "quote \" backslash \\ slash / tab \t newline \n bell \u0007", "emoji": "😀", "accent": "é"},
    {"z": None, "a": True, "m": False, "n": -0.0, "big": 12345678901234567890, "neg": -3},
    {"tiny": 1e-7, "huge": 1.5e300, "third": 1 / 3, "integral": 100.0, "half": 2.5},
    {"nested": {"b": [1, {"d": 4, "c": 3}], "a": {}}, "empty": []},
    ["top", "level", "array", 7],
    "a bare string",
    42,
    {"key.created": "countersign-fixture/log", "é": 1, "e": 2, "Z": 3},
]
events = []
for i in range(23):
    p = payloads[i % len(payloads)]
    cp = canon(p)
    psha = sha(cp.encode()).hex()
    ev = {
        "seq": i,
        "time": f"2026-11-28T0{i % 10}:{i:02d}:{(7 * i) % 60:02d}.{(37 * i) % 1000:03d}Z",
        "actor": ["operator-α", "system", "dr \"quoted\""][i % 3],
        "action": ["case.assessed", "cases.import", "log.key.created"][i % 3],
        "subject": {"type": ["case", "run", "log_key"][i % 3], "id": f"id-{i}/\u00e9"},
    }
    entry_obj = dict(ev, payload=p, payload_sha256=psha)
    entry = canon(entry_obj)
    events.append(dict(ev, payload_json=json.dumps(p, ensure_ascii=True, indent=1), canonical_payload=cp,
                       payload_sha256=psha, canonical_entry=entry, leaf_hash=leaf(entry.encode()).hex()))

leaves = [bytes.fromhex(e["leaf_hash"]) for e in events]
roots = [mth(leaves[:n]).hex() for n in range(len(leaves) + 1)]
inclusion = [{"index": i, "size": n, "proof": [base64.b64encode(h).decode() for h in path(i, leaves[:n])]}
             for (i, n) in [(0, 1), (0, 23), (5, 23), (22, 23), (13, 17), (7, 8)]]
consistency = [{"size1": m, "size2": n, "proof": [base64.b64encode(h).decode() for h in subproof(m, leaves[:n], True)]}
               for (m, n) in [(1, 23), (7, 23), (8, 23), (16, 23), (22, 23), (3, 5)]]

seed = bytes(range(32))
sk = Ed25519PrivateKey.from_private_bytes(seed)
pub = sk.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
name = "countersign-fixture/log"
key_id = sha(name.encode() + b"\n\x01" + pub)[:4]
time = "2026-11-28T04:05:06.789Z"
body = f"{name}\n{len(leaves)}\n{base64.b64encode(bytes.fromhex(roots[-1])).decode()}\ntime {time}\n"
sig = sk.sign(body.encode())
note = body + "\n— " + name + " " + base64.b64encode(key_id + sig).decode() + "\n"

fixture = {
    "source": "scripts/auditlog_reference.py (Python hashlib + cryptography Ed25519)",
    "events": events,
    "roots": roots,
    "inclusion": inclusion,
    "consistency": consistency,
    "key": {
        "name": name,
        "seed_b64": base64.b64encode(seed).decode(),
        "private_key": f"PRIVATE+KEY+{name}+{key_id.hex()}+" + base64.b64encode(b"\x01" + seed).decode(),
        "verifier_key": f"{name}+{key_id.hex()}+" + base64.b64encode(b"\x01" + pub).decode(),
    },
    "checkpoint": {"time": time, "note": note},
}
text = json.dumps(fixture, ensure_ascii=False, indent=1)
assert '"##' not in text
out = pathlib.Path(__file__).resolve().parent.parent / "Tests" / "AuditLogTests" / "LogFixture.swift"
out.write_text("// Generated by scripts/auditlog_reference.py (Python hashlib + cryptography). Do not edit.\n"
               "let logFixtureJSON = ##\"\"\"\n" + text + "\n\"\"\"##\n", encoding="utf-8")
print(f"wrote {out}: {len(events)} events, root {roots[-1]}")
