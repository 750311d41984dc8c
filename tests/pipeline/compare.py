#!/usr/bin/python3
"""Independent checks of the local pipeline's output (tests/pipeline/run).

compare.py raw-records RAW_DIR          print every record in RAW_DIR's .gz objects as
                                        NDJSON, in timestamp order (= put order: the
                                        generator's timestamps strictly increase)
compare.py same-records RAW_DIR NDJSON  exit 0 when RAW_DIR holds exactly NDJSON's
                                        records, each once, byte for byte
compare.py same-effects OUT_A OUT_B     exit 0 when positions.json and completed-trades/
                                        agree, shard ids and sequence numbers aside
"""
import gzip
import json
import os
import sys
from decimal import Decimal


def objects(raw_dir):
    for d, _, names in sorted(os.walk(raw_dir)):
        for n in sorted(names):
            if n.endswith(".gz"):
                yield os.path.join(d, n)


def records(raw_dir):
    """Each record's original text (objects concatenated, Firehose's framing)."""
    dec = json.JSONDecoder()
    for path in objects(raw_dir):
        text = gzip.open(path, "rb").read().decode("utf-8")
        i = 0
        while i < len(text):
            while i < len(text) and text[i] in " \t\r\n":
                i += 1
            if i == len(text):
                break
            obj, end = dec.raw_decode(text, i)
            yield obj, text[i:end]
            i = end


def raw_records(raw_dir):
    recs = sorted(records(raw_dir), key=lambda r: r[0]["timestamp"])
    for _, text in recs:
        print(text)


def same_records(raw_dir, ndjson):
    got = sorted(t for _, t in records(raw_dir))
    with open(ndjson, encoding="utf-8") as f:
        want = sorted(l.rstrip("\n") for l in f if l.strip())
    if got == want:
        return 0
    print("raw-data holds %d records, %d produced; %d distinct in raw-data"
          % (len(got), len(want), len(set(got))), file=sys.stderr)
    return 1


def positions(out):
    with open(os.path.join(out, "positions.json")) as f:
        lines = [json.loads(l) for l in f if l.strip()][1:]
    return {p["symbol"]: (p["quantity"], p["entry_price"], p["entry_time"],
                          Decimal(p["realized_pnl"])) for p in lines}


def trades(out):
    got = []
    for d, _, names in os.walk(os.path.join(out, "completed-trades")):
        for n in names:
            if not n.endswith(".json"):
                return None  # a stray file is a failure
            with open(os.path.join(d, n)) as f:
                t = json.load(f, parse_float=Decimal, parse_int=Decimal)
            for side in ("entry", "exit"):
                del t[side]["sequence"], t[side]["shard"]
            got.append(json.dumps(t, sort_keys=True, default=str))
    return sorted(got)


def same_effects(a, b):
    pa, pb = positions(a), positions(b)
    ta, tb = trades(a), trades(b)
    ok = True
    if pa != pb:
        for s in sorted(set(pa) | set(pb)):
            if pa.get(s) != pb.get(s):
                print("position %s: %s vs %s" % (s, pa.get(s), pb.get(s)), file=sys.stderr)
        ok = False
    if ta is None or tb is None or ta != tb:
        print("completed trades differ: %s vs %s" % (len(ta or []), len(tb or [])),
              file=sys.stderr)
        ok = False
    if not ta:
        print("no completed trade at all", file=sys.stderr)
        ok = False
    return 0 if ok else 1


def main():
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "raw-records" and len(sys.argv) == 3:
        raw_records(sys.argv[2])
        return 0
    if cmd == "same-records" and len(sys.argv) == 4:
        return same_records(sys.argv[2], sys.argv[3])
    if cmd == "same-effects" and len(sys.argv) == 4:
        return same_effects(sys.argv[2], sys.argv[3])
    print(__doc__, file=sys.stderr)
    return 2


sys.exit(main())
