#!/usr/bin/env python3
"""gen_mixed.py OUT MB [FEATURE] - a realistic feed from many producers, or a
one-feature file, written as Firehose writes it (records concatenated).

Without FEATURE (the mixed feed), every record has symbol, price, volume and
timestamp with its keys in random order, and:
  10 % spaces after ':' and ','        30 % trade_id and side
  20 % a non-ASCII exchange (half raw UTF-8, half \\u escapes)
   5 % a nested metadata object         3 % escaped quotes and braces in a string
   2 % true/false/null fields
With FEATURE, every record has that one (plain: none): plain, trade_id,
literals, utf8, escaped, nested, quotes, spaces, shuffled.
Deterministic (seed 42, or $GEN_SEED)."""
import os
import random
import sys

out, mb = sys.argv[1], float(sys.argv[2])
feature = sys.argv[3] if len(sys.argv) > 3 else None
rnd = random.Random(int(os.environ.get("GEN_SEED", "42")))
SYMS = ["AAPL", "MSFT", "GOOG", "AMZN", "NVDA", "TSLA", "META", "NFLX", "IBM", "ORCL"]
EXCH_RAW = ["B\u00f6rse Frankfurt", "\u6771\u4eac\u8a3c\u5238\u53d6\u5f15\u6240", "Z\u00fcrich SIX",
            "Bourse de Montr\u00e9al", "\u041c\u043e\u0441\u0431\u0438\u0440\u0436\u0430"]
EXCH_ESC = [e.encode("ascii", "backslashreplace").decode().replace("\\x", "\\u00") for e in EXCH_RAW]
META = '{"symbol":"ZZZZ","price":-1,"tags":["a","}{"],"n":{"x":null}}'


def record(i, feats):
    i += OFFSET
    sym = SYMS[i % len(SYMS)]
    price = "%d.%02d" % (50 + (i * 7919) % 400, i % 100)
    fields = [('"symbol"', '"%s"' % sym), ('"price"', price), ('"volume"', str(100 + i % 5000)),
              ('"timestamp"', '"2025-10-22T%02d:%02d:%02d.%03dZ"' % (i // 3600000 % 24, i // 60000 % 60,
                                                                    i // 1000 % 60, i % 1000))]
    if "trade_id" in feats:
        fields += [('"trade_id"', '"t-%08d"' % i), ('"side"', '"buy"' if i & 1 else '"sell"')]
    if "utf8" in feats:
        fields.append(('"exchange"', '"%s"' % EXCH_RAW[i % len(EXCH_RAW)]))
    if "escaped" in feats:
        fields.append(('"exchange"', '"%s"' % EXCH_ESC[i % len(EXCH_ESC)]))
    if "nested" in feats:
        fields.append(('"meta"', META))
    if "quotes" in feats:
        fields.append(('"note"', '"a \\"}{\\" b {\\"x\\": [1]}"'))
    if "literals" in feats:
        fields += [('"ok"', "true"), ('"halted"', "false"), ('"venue"', "null")]
    if "shuffled" in feats:
        rnd.shuffle(fields)
    if "spaces" in feats:
        return "{" + ", ".join("%s: %s" % kv for kv in fields) + "}"
    return "{" + ",".join("%s:%s" % kv for kv in fields) + "}"


def mixed_feats():
    f = {"shuffled"}
    r = rnd.random
    if r() < 0.10:
        f.add("spaces")
    if r() < 0.30:
        f.add("trade_id")
    if r() < 0.20:
        f.add("utf8" if r() < 0.5 else "escaped")
    if r() < 0.05:
        f.add("nested")
    if r() < 0.03:
        f.add("quotes")
    if r() < 0.02:
        f.add("literals")
    return f


OFFSET = int(os.environ.get("GEN_SEED", "0")) * 1000003
target = int(mb * 1e6)
size = 0
i = 0
with open(out, "w", encoding="utf-8") as f:
    buf = []
    while size < target:
        feats = mixed_feats() if feature is None else ({feature} if feature != "plain" else set())
        r = record(i, feats)
        buf.append(r)
        size += len(r.encode("utf-8"))
        i += 1
        if len(buf) == 4096:
            f.write("".join(buf))
            buf = []
    f.write("".join(buf))
