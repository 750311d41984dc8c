#!/usr/bin/env python3
"""Reference model of tp-consumer's replay, written independently of the C code.

reference.py gen SEED N                  write a test input (NDJSON) to stdout
reference.py events PATH [options]       print the events tp-consumer must print
reference.py offsets PATH                print the byte offset of each malformed line

Inputs made by `gen` hold one record per line: a valid trade, or a malformed
one (a JSON value that is not a valid trade, or a line of non-JSON text
without '{'), so the position of a line is the record's sequence.
"""
import datetime
import json
import os
import random
import sys
from decimal import Decimal, getcontext

getcontext().prec = 80
E8 = Decimal("0.00000001")


class Raw(str):
    """A JSON number kept as its text."""


def loads(line):
    return json.loads(line, parse_float=Raw, parse_int=Raw)


def valid(rec):
    """The trade (symbol, price, timestamp json text) or None when malformed."""
    if not isinstance(rec, dict):
        return None
    sym, price, vol = rec.get("symbol"), rec.get("price"), rec.get("volume")
    if not isinstance(sym, str) or not sym or len(sym.encode()) >= 128:
        return None
    if not isinstance(price, Raw):
        return None
    p = Decimal(price)
    if p <= 0 or (p / E8) != (p / E8).to_integral_value() or p / E8 >= 2**63:
        return None
    if not isinstance(vol, Raw) or any(c in vol for c in ".eE") or int(vol) < 0 \
            or int(vol) >= 2**63:
        return None
    ts = rec.get("timestamp")
    if isinstance(ts, Raw):
        ts_text = str(ts)
    elif isinstance(ts, str):
        ts_text = json.dumps(ts)
    else:
        ts_text = "null"
    return sym, p, ts_text


def records(path):
    with open(path, "rb") as f:
        data = f.read()
    off = 0
    for line in data.split(b"\n"):
        start = off
        off += len(line) + 1
        if not line.strip():
            continue
        try:
            rec = loads(line.decode())
        except (ValueError, UnicodeDecodeError):
            rec = None
        yield start, valid(rec)


def fmt(d):
    s = format(d.normalize(), "f")
    return s


def events(path, window, drop, tp, stop, size):
    state = {}
    seq = 0
    out = []
    for _, rec in records(path):
        seq += 1
        if rec is None:
            continue
        sym, price, ts = rec
        s = state.setdefault(sym, {"hist": [], "qty": 0, "entry": None})
        prev = s["hist"][-window:]
        if s["qty"] == 0:
            if prev and price * 100 < max(prev) * (100 - drop):
                s["qty"], s["entry"] = size, price
                out.append('{"symbol":%s,"side":"buy","price":%s,"quantity":%d,'
                           '"timestamp":%s,"sequence":%d}'
                           % (json.dumps(sym, ensure_ascii=False), fmt(price), size, ts, seq))
        else:
            e = s["entry"]
            if price * 100 > e * (100 + tp) or (stop is not None and price * 100 < e * (100 - stop)):
                pnl = (price - e) * s["qty"]
                out.append('{"symbol":%s,"side":"sell","price":%s,"quantity":%d,'
                           '"timestamp":%s,"sequence":%d,"pnl":%s}'
                           % (json.dumps(sym, ensure_ascii=False), fmt(price), s["qty"], ts, seq,
                              fmt(pnl)))
                s["qty"], s["entry"] = 0, None
        s["hist"].append(price)
    return out


def gen(seed, n):
    rnd = random.Random(seed)
    syms = ["AAPL", "MSFT", "BRK.B", "TSLA", "NVDA"]
    px = {s: Decimal(rnd.randint(5000, 50000)) / 100 for s in syms}
    bad = ['not json at all', '[1,2,3]', '{"symbol":"","price":1,"volume":1}',
           '{"symbol":"AAPL","price":-5,"volume":1}', '{"symbol":"AAPL","price":1.123456789,'
           '"volume":1}', '{"symbol":"AAPL","price":10}', '{"symbol":"AAPL","price":"10",'
           '"volume":1}', '{"symbol":"AAPL","price":10,"volume":1.5}', '"just a string"',
           '{"symbol":"AAPL","price":0,"volume":1}', '12345']
    lines = []
    for i in range(n):
        # Never two malformed lines in a row: the reader counts a run of
        # non-JSON bytes as one malformed record, which would merge them.
        if rnd.random() < 0.03 and (not lines or lines[-1] not in bad):
            lines.append(rnd.choice(bad))
            continue
        s = rnd.choice(syms)
        step = Decimal(rnd.randint(-300, 300)) / 10000  # up to 3%
        if rnd.random() < 0.05:
            step *= 3
        px[s] = max(Decimal("0.01"), (px[s] * (1 + step)).quantize(Decimal("0.0001")))
        rec = '{"symbol":"%s","price":%s,"volume":%d' % (s, fmt(px[s]), rnd.randint(0, 5000))
        r = rnd.random()
        if r < 0.6:
            rec += ',"timestamp":"2025-10-22T12:%02d:%02d.%03dZ"' % (i // 60000 % 60, i // 1000 % 60, i % 1000)
        elif r < 0.8:
            rec += ',"timestamp":%d' % (1761137915000 + i)
        elif r < 0.9:
            rec += ',"timestamp":%d' % (1761137915 + i)
        lines.append(rec + "}")
    sys.stdout.write("\n".join(lines) + "\n")


def iso_time(ts_text):
    """The completed-trade form of a record's timestamp (ISO-8601 UTC, .mmm or
    .uuuuuu), or None when the record has none or it does not read as a time."""
    if ts_text == "null":
        return None
    try:
        if ts_text.startswith('"'):
            t = datetime.datetime.fromisoformat(json.loads(ts_text))
            if t.tzinfo is None:
                return None
            us = (t - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)) \
                // datetime.timedelta(microseconds=1)
        elif any(c in ts_text for c in ".eE"):
            us = int(Decimal(ts_text) * 1000000)
        else:
            n = int(ts_text)
            us = n * 1000 if abs(n) >= 10**11 else n * 1000000
    except (ValueError, ArithmeticError):
        return None
    secs, rem = divmod(us, 1000000)
    base = datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=secs)
    frac = ".%03d" % (rem // 1000) if rem % 1000 == 0 else ".%06d" % rem
    return base.strftime("%Y-%m-%dT%H:%M:%S") + frac + "Z"


def trade_times(path, trades_dir):
    """Every completed trade under trades_dir carries the times of its entry
    and exit records (by their 1-based sequence in the input)."""
    times = {}
    for seq, (_, rec) in enumerate(records(path), 1):
        times[str(seq)] = iso_time(rec[2]) if rec else None
    checked = bad = 0
    for d, _, names in os.walk(trades_dir):
        for name in names:
            with open(os.path.join(d, name)) as f:
                trade = json.load(f)
            for leg in ("entry", "exit"):
                want = times.get(trade[leg]["sequence"])
                got = trade[leg]["time"]
                checked += 1
                if got != want:
                    bad += 1
                    print("%s %s: time %r, the record says %r" % (name, leg, got, want))
    print("%d trade times checked, %d wrong, %d with a time" %
          (checked, bad, sum(1 for v in times.values() if v)))
    return 1 if bad or checked == 0 else 0


def main():
    cmd = sys.argv[1]
    if cmd == "gen":
        gen(int(sys.argv[2]), int(sys.argv[3]))
    elif cmd == "offsets":
        for off, rec in records(sys.argv[2]):
            if rec is None:
                print(off)
    elif cmd == "events":
        args = sys.argv[3:]
        opt = {"--window": "20", "--drop-pct": "2", "--take-profit-pct": "5",
               "--stop-loss-pct": None, "--order-size": "100"}
        for k, v in zip(args[::2], args[1::2]):
            opt[k] = v
        stop = opt["--stop-loss-pct"]
        for line in events(sys.argv[2], int(opt["--window"]), Decimal(opt["--drop-pct"]),
                           Decimal(opt["--take-profit-pct"]),
                           Decimal(stop) if stop is not None else None,
                           int(opt["--order-size"])):
            print(line)
    elif cmd == "trade-times":
        sys.exit(trade_times(sys.argv[2], sys.argv[3]))
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
