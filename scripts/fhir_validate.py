#!/usr/bin/env python3
"""Validate Countersign's FHIR bundles with an independent validator: PyPI's `fhir.resources`
(pydantic models of FHIR R4B, which for Bundle, Device, DiagnosticReport, Observation, Provenance
and AuditEvent is R4's structure). Also checks what the models do not: no nulls or empty arrays or
strings (FHIR JSON forbids them), unique fullUrls, and that every reference resolves in the bundle.

    python3 scripts/fhir_validate.py BUNDLE.json|BUNDLE.xml [...] [--report]

An XML bundle is read by fhir.resources' own XML reader (lxml), must hold the same content as the
bundle's JSON form beside it (BUNDLE.json, when present), passes the same checks, and its elements
must come in the order fhir.resources writes them (FHIR's schema order).

--report writes BUNDLE.validation.json beside each bundle (the committed fixture's proof that exactly
these bytes were validated: its SHA-256, the validator and version, the resource count).
Exit 1 when any bundle fails. Needs: pip install fhir.resources
"""
import hashlib
import json
import sys

import fhir.resources
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle


def empties(value, path="$"):
    if value is None:
        yield f"{path} is null"
    elif isinstance(value, (list, str, dict)) and len(value) == 0:
        yield f"{path} is empty"
    if isinstance(value, dict):
        for k, v in value.items():
            yield from empties(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from empties(v, f"{path}[{i}]")


# Codes with a *required* binding in R4, which the models do not check (a wrong code is invalid FHIR).
REQUIRED = {
    ("Bundle", "type"): {"document", "message", "transaction", "transaction-response", "batch", "batch-response",
                         "history", "searchset", "collection"},
    ("Observation", "status"): {"registered", "preliminary", "final", "amended", "corrected", "cancelled",
                                "entered-in-error", "unknown"},
    ("DiagnosticReport", "status"): {"registered", "partial", "preliminary", "final", "amended", "corrected", "appended",
                                     "cancelled", "entered-in-error", "unknown"},
    ("Device", "status"): {"active", "inactive", "entered-in-error", "unknown"},
    ("AuditEvent", "action"): {"C", "R", "U", "D", "E"},
    ("AuditEvent", "outcome"): {"0", "4", "8", "12"},
}
DEVICE_NAME_TYPES = {"udi-label-name", "user-friendly-name", "patient-reported-name", "manufacturer-name", "model-name", "other"}
ENTITY_ROLES = {"derivation", "revision", "quotation", "source", "removal"}
NETWORK_TYPES = {"1", "2", "3", "4", "5"}


def required_codes(resource, where):
    t = resource.get("resourceType")
    for (rt, field), allowed in REQUIRED.items():
        if rt == t and field in resource and resource[field] not in allowed:
            yield f"{where}.{field} '{resource[field]}' is not in its required value set"
    for n in resource.get("deviceName", []) if t == "Device" else []:
        if n.get("type") not in DEVICE_NAME_TYPES:
            yield f"{where}.deviceName.type '{n.get('type')}' is not in its required value set"
    for e in resource.get("entity", []) if t == "Provenance" else []:
        if e.get("role") not in ENTITY_ROLES:
            yield f"{where}.entity.role '{e.get('role')}' is not in its required value set"
    for a in resource.get("agent", []) if t == "AuditEvent" else []:
        if "network" in a and a["network"].get("type") not in NETWORK_TYPES:
            yield f"{where}.agent.network.type is not in its required value set"


def references(value):
    if isinstance(value, dict):
        if isinstance(value.get("reference"), str):
            yield value["reference"]
        for v in value.values():
            yield from references(v)
    elif isinstance(value, list):
        for v in value:
            yield from references(v)


def xml_tags(raw):
    from lxml import etree
    root = etree.fromstring(raw)
    return [(el.tag, tuple(sorted(el.attrib))) for el in root.iter()]


def validate_xml(path, raw):
    """The XML form: parsed by fhir.resources, same content as the JSON sibling, FHIR's element order."""
    from lxml import etree
    root = etree.fromstring(raw)
    problems = []
    if root.tag != "{http://hl7.org/fhir}Bundle":
        problems.append(f"root element is {root.tag}, not Bundle in the FHIR namespace")
    model = Bundle.model_validate_xml(raw)
    doc = model.model_dump(mode="json", exclude_none=True)
    sibling = path[:-4] + ".json"
    try:
        twin = json.load(open(sibling))
    except FileNotFoundError:
        twin = None
    if twin is not None and Bundle.model_validate(twin).model_dump(mode="json", exclude_none=True) != doc:
        problems.append(f"content differs from {sibling.split('/')[-1]}")
    if xml_tags(raw) != xml_tags(model.model_dump_xml()):
        ours, theirs = xml_tags(raw), xml_tags(model.model_dump_xml())
        i = next((k for k, (a, b) in enumerate(zip(ours, theirs)) if a != b), min(len(ours), len(theirs)))
        problems.append(f"element order differs from fhir.resources' at element {i}: {ours[i:i + 1]} vs {theirs[i:i + 1]}")
    return doc, problems


def validate(path):
    raw = open(path, "rb").read()
    problems = []
    if path.endswith(".xml"):
        doc, problems = validate_xml(path, raw)
    else:
        doc = json.loads(raw)
    problems += list(empties(doc)) + list(required_codes(doc, "$"))
    Bundle.model_validate(doc)  # raises on any structural error, entries included
    count = 1
    urls = [e["fullUrl"] for e in doc.get("entry", [])]
    if len(set(urls)) != len(urls):
        problems.append("duplicate fullUrl")
    for e in doc.get("entry", []):
        resource = e["resource"]
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        problems += list(required_codes(resource, e["fullUrl"]))
        count += 1
    for r in references(doc):
        if r not in set(urls):
            problems.append(f"dangling reference {r}")
    return raw, count, problems


def main(argv):
    report = "--report" in argv
    files = [a for a in argv if a != "--report"]
    if not files:
        print(__doc__)
        return 64
    failed = False
    for f in files:
        try:
            raw, count, problems = validate(f)
        except Exception as e:  # pydantic's ValidationError names the field
            raw, count, problems = open(f, "rb").read(), 0, [str(e)]
        ok = not problems
        failed |= not ok
        print(f"{f}: {'valid' if ok else 'INVALID'} ({count} resources, fhir.resources {fhir.resources.__version__} R4B{', XML' if f.endswith('.xml') else ''})")
        for p in problems[:20]:
            print("  " + p)
        if report:
            out = f[:-5] + ".validation.json" if f.endswith(".json") else f + ".validation.json"
            with open(out, "w") as fh:
                json.dump({"file": f.split("/")[-1], "sha256": hashlib.sha256(raw).hexdigest(), "valid": ok, "resources": count,
                           "validator": f"fhir.resources {fhir.resources.__version__} (R4B models)", "problems": problems[:20]},
                          fh, indent=2, sort_keys=True)
                fh.write("\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
