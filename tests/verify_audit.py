#!/usr/bin/env python3
"""Independent verifier for sitrep's audit log (SPEC section 6).

Written from the spec alone, without sitrep's code: every line is a JSON
object serialized with sorted keys and no whitespace, no floats;
hash = sha256(prev + "\\n" + record-without-hash), prev = previous hash
(64 zeros first), seq = previous seq + 1.

Usage: verify_audit.py AUDIT.jsonl
Prints "ok RECORDS HEAD" and exits 0, or "broken LINE REASON" and exits 3.
"""
import hashlib
import json
import sys

ZERO = "0" * 64


def canon(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def has_float(v):
    if isinstance(v, float):
        return True
    if isinstance(v, dict):
        return any(has_float(x) for x in v.values())
    if isinstance(v, list):
        return any(has_float(x) for x in v)
    return False


def broken(n, why):
    print(f"broken {n} {why}")
    sys.exit(3)


def main(path):
    with open(path, "rb") as f:
        data = f.read()
    lines = data.split(b"\n")
    if lines[-1] != b"":
        broken(len(lines), "torn last line")
    prev, seq = ZERO, 0
    for n, raw in enumerate(lines[:-1], 1):
        try:
            rec = json.loads(raw.decode("utf-8"))
        except Exception as e:  # noqa: BLE001
            broken(n, f"json: {e}")
        if not isinstance(rec, dict):
            broken(n, "not an object")
        if has_float(rec):
            broken(n, "float")
        if canon(rec).encode("utf-8") != raw:
            broken(n, "not canonical")
        h = rec.pop("hash", None)
        if rec.get("prev") != prev:
            broken(n, "prev")
        if rec.get("seq") != seq + 1:
            broken(n, "seq")
        digest = hashlib.sha256((prev + "\n" + canon(rec)).encode("utf-8")).hexdigest()
        if digest != h:
            broken(n, "hash")
        prev, seq = h, rec["seq"]
    print(f"ok {seq} {prev}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
