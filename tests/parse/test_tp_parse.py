#!/usr/bin/env python3
"""Contract tests for tp-parse (issue: Foundation). Usage: test_tp_parse.py TP_PARSE TP_GEN

Runs the real program on files it writes into a temporary directory and
checks exit status, stdout (table and --json), stderr (PATH:OFFSET: reason).
Prints 'N passed, N failed' at the end; exits non-zero on any failure."""
import gzip
import json
import os
import re
import subprocess
import sys
import traceback
from decimal import Decimal, getcontext
from fractions import Fraction

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "services"))
from testdirs import workdir  # noqa: E402

TP_PARSE, TP_GEN = sys.argv[1], sys.argv[2]
HERE = os.path.dirname(os.path.abspath(__file__))
BASELINE = os.path.join(HERE, "..", "..", "..", "shared", "baselines", "parse_trading_data.py")
getcontext().prec = 60


def rec(sym, price, vol, extra=""):
    return '{"symbol":"%s","price":%s,"volume":%s%s}' % (sym, price, vol, extra)


def run(args, stdin=None, split=None):
    env = dict(os.environ)
    if split is not None:
        env["TP_PARSE_SPLIT_BYTES"] = str(split)
    p = subprocess.run([TP_PARSE] + args, input=stdin, capture_output=True, timeout=120, env=env)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def write(d, name, data, mode="wb"):
    path = os.path.join(d, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, mode) as f:
        f.write(data.encode() if isinstance(data, str) else data)
    return path


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def test_help_and_usage(d):
    rc, out, _ = run(["--help"])
    expect(rc == 0 and "--json" in out and "--strict" in out and "Exit status" in out, "help")
    rc, _, err = run([])
    expect(rc == 2 and "usage" in err, "no args -> 2")
    rc, _, err = run(["--bogus", "x"])
    expect(rc == 2 and "--bogus" in err, "unknown option -> 2")


def test_json_exact(d):
    data = (rec("AAPL", "187.23", 1200) + rec("AAPL", "190.1", 10) + "\n" +
            rec("MSFT", "1.5e2", 5) + rec("TINY", "0.00000001", 0) + rec("TINY", "0.00000002", 3))
    path = write(d, "a.json", data)
    rc, out, err = run(["--json", path])
    expect(rc == 0 and err == "", "clean exit: %d %r" % (rc, err))
    expect(out.count("\n") == 1, "exactly one line")
    j = json.loads(out)
    expect(j["records"] == 5 and j["errors"] == 0 and j["bytes"] == len(data), "counts %r" % j)
    expect(list(j["symbols"]) == ["AAPL", "MSFT", "TINY"], "sorted symbols")
    # min/max exactly the input's value, in plain decimal notation
    expect('"min_price":187.23,' in out and '"max_price":190.1,' in out, "exact min/max")
    expect('"min_price":0.00000001,' in out and '"max_price":150,' in out, "plain notation")
    expect("e" not in re.sub(r'"[^"]*"', "", out).replace("true", ""), "no exponents")
    a = j["symbols"]["AAPL"]
    expect(a["count"] == 2 and a["total_volume"] == 1210, "AAPL counts")
    avg_txt = re.search(r'"AAPL":\{[^}]*"avg_price":([0-9.]+)', out).group(1)
    expect(Decimal(avg_txt) == Decimal("188.665"), "avg exact: %s" % avg_txt)
    t_avg = re.search(r'"TINY":\{[^}]*"avg_price":([0-9.]+)', out).group(1)
    expect(abs(Fraction(t_avg) - Fraction(3, 200000000)) / Fraction(3, 200000000) < Fraction(1, 10**9),
           "tiny avg relative error: %s" % t_avg)


def test_avg_precision(d):
    # averages that do not terminate: relative error below 1e-9
    prices = ["0.00000001", "0.00000001", "0.00000002", "92233720368.5", "3.33333333"]
    data = "".join(rec("S", p, 1) for p in prices[:3]) + "".join(rec("T", p, 1) for p in prices[3:])
    path = write(d, "avg.json", data)
    rc, out, _ = run(["--json", path])
    for sym, ps in (("S", prices[:3]), ("T", prices[3:])):
        got = Fraction(re.search(r'"%s":\{[^}]*"avg_price":([0-9.]+)' % sym, out).group(1))
        want = sum(Fraction(p) for p in ps) / len(ps)
        expect(abs(got - want) / want < Fraction(1, 10**9), "%s avg %s vs %s" % (sym, got, want))


def test_malformed(d):
    good = rec("A", 1, 1)
    parts = [good, "garbage", rec("B", '"2"', 1), "[1,2]", rec("C", "1.123456789", 1),
             rec("D", 1, "100.0"), rec("E", 1, "1e2"), rec("F", "true", 1), rec("", 1, 1),
             '{"symbol":"G","price":1}', '{"nested":{"symbol":"H","price":1,"volume":1}}', good]
    data = "".join(parts)
    path = write(d, "bad.json", data)
    rc, out, err = run(["--json", path])
    expect(rc == 1, "malformed -> exit 1 (%d)" % rc)
    j = json.loads(out)
    expect(j["records"] == 2 and j["errors"] == len(parts) - 2, "counts %r" % j)
    lines = err.strip().split("\n")
    expect(len(lines) == len(parts) - 2, "one stderr line per error: %r" % lines)
    offs = []
    pos = 0
    for p in parts:
        offs.append(pos)
        pos += len(p)
    for line, off in zip(lines, offs[1:-1]):
        expect(line.startswith("%s:%d: " % (path, off)) and len(line) > len(path) + 4,
               "stderr line %r at %d" % (line, off))
    expect("price" in lines[1] and "volume" in lines[4], "reasons name the field: %r" % lines)


def test_split_strings(d):
    data = rec("}{", 1, 1, ',"note":"a}{b\\"}{"') + rec("X", 2, 2)
    rc, out, _ = run(["--json", write(d, "s.json", data)])
    j = json.loads(out)
    expect(rc == 0 and j["records"] == 2 and "}{" in j["symbols"], "}{ inside strings")


def test_directory(d):
    root = os.path.join(d, "tree")
    write(root, "b/2.json", "junk" + rec("B", 2, 2))
    write(root, "a.json", "junk" + rec("A", 1, 1))
    write(root, "a/1.json.gz", gzip.compress(("junk" + rec("Z", 3, 3)).encode()), "wb")
    outside = write(d, "outside.json", rec("LINKED", 9, 9))
    os.symlink(outside, os.path.join(root, "link.json"))
    os.symlink(os.path.join(root, "b"), os.path.join(root, "c"))
    rc, out, err = run(["--json", root])
    j = json.loads(out)
    expect(rc == 1 and j["records"] == 3 and "LINKED" not in j["symbols"], "tree %r" % j)
    files = [l.split(":")[0] for l in err.strip().split("\n")]
    want = sorted([os.path.join(root, "a.json"), os.path.join(root, "a/1.json.gz"),
                   os.path.join(root, "b/2.json")], key=lambda s: s.encode())
    expect(files == want, "byte-wise sorted order %r" % files)


def test_stdin(d):
    data = rec("A", 1, 1) + rec("B", 2, 2)
    rc, out, _ = run(["--json", "-"], stdin=data.encode())
    expect(rc == 0 and json.loads(out)["records"] == 2, "stdin plain")
    rc, out, _ = run(["--json", "-"], stdin=gzip.compress(data.encode()))
    j = json.loads(out)
    expect(rc == 0 and j["records"] == 2 and j["bytes"] == len(data), "stdin gzip")


def test_gzip_multi_and_broken(d):
    one, two = rec("A", 1, 1), rec("B", 2, 2) + "\n"
    multi = gzip.compress(one.encode()) + gzip.compress(two.encode())
    rc, out, _ = run(["--json", write(d, "m.gz", multi)])
    expect(rc == 0 and json.loads(out)["records"] == 2, "multi-member")
    big = "".join(rec("S%d" % (i % 5), i + 1, i) for i in range(20000)).encode()
    z = gzip.compress(big)
    trunc = write(d, "t.gz", z[: len(z) // 2])
    ok = write(d, "ok.json", one)
    rc, out, err = run(["--json", trunc, ok])
    j = json.loads(out)
    expect(rc == 2 and "t.gz" in err and "truncated" in err, "truncated -> 2: %r" % err[-300:])
    expect(1000 < j["records"] < 20000 and j["errors"] == 1, "records before the break count %r" % j)
    corrupt = bytearray(z)
    for i in range(len(z) // 3, len(z) // 3 + 40):
        corrupt[i] ^= 0x55
    rc, out, err = run(["--json", write(d, "c.gz", bytes(corrupt)), ok])
    expect(rc == 2 and "c.gz" in err and json.loads(out)["records"] >= 1, "corrupt -> 2")


def test_missing_file_and_precedence(d):
    ok = write(d, "ok2.json", rec("A", 1, 1) + "junk")
    rc, out, err = run(["--json", os.path.join(d, "nope.json"), ok])
    j = json.loads(out)
    expect(rc == 2 and "nope.json" in err and j["records"] == 1 and j["errors"] == 1,
           "missing file -> 2, others summarized")


def test_strict(d):
    data = rec("A", 1, 1) + rec("B", "x", 1) + rec("C", 1, 1)
    path = write(d, "strict.json", data)
    rc, out, err = run(["--strict", path])
    expect(rc == 1 and out == "" and err.startswith("%s:35: " % path) and err.count("\n") == 1,
           "strict: %d %r %r" % (rc, out, err))
    rc, out, _ = run(["--strict", "--json", write(d, "fine.json", rec("A", 1, 1))])
    expect(rc == 0 and json.loads(out)["records"] == 1, "strict on good input")


def test_empty(d):
    rc, out, _ = run(["--json", write(d, "empty.json", ""), write(d, "ws.json", " \n\n ")])
    j = json.loads(out)
    expect(rc == 0 and j == {"records": 0, "errors": 0, "bytes": 4, "symbols": {}}, "empty %r" % j)


def test_table_matches_baseline(d):
    path = os.path.join(d, "gen.json")
    subprocess.run([TP_GEN, "--records", "3000", "--seed", "7", "-o", path], check=True)
    rc, out, _ = run([path])
    expect(rc == 0 and out.startswith("Total records: 3000\n"), "table header %r" % out[:80])
    if not os.path.exists(BASELINE):
        return
    py = subprocess.run([sys.executable, BASELINE, path], capture_output=True, check=True)
    base = py.stdout.decode()
    # Same lines, though the baseline prints symbols in first-seen order.
    want = sorted(l for l in base.split("\n") if "|" in l)
    got = sorted(l for l in out.split("\n") if "|" in l)
    expect(got == want, "table vs baseline:\n%s\n---\n%s" % ("\n".join(got), "\n".join(want)))


def test_two_halves_same_as_one(d):
    # Files parsed in two halves (threads) give exactly the output of one pass,
    # also when the guessed cut lies in a string, in junk, or in a bad record.
    import random
    rnd = random.Random(5)
    cases = []
    body = "".join(rec("S%d" % (i % 9), "%d.%02d" % (i % 500 + 1, i % 100), i) for i in range(3000))
    cases.append(body)
    # errors sprinkled on both sides of the middle
    parts = []
    for i in range(3000):
        r = rnd.random()
        if r < 0.03:
            parts.append("junk%d" % i)
        elif r < 0.06:
            parts.append(rec("B%d" % i, '"x"', 1))
        elif r < 0.08:
            parts.append("[1,{\"a\":2}]")
        else:
            parts.append(rec("S%d" % (i % 7), i + 1, i) + ("\n" if r < 0.5 else ""))
    cases.append("".join(parts))
    # "}{" inside strings everywhere: the first guess lands inside a string
    cases.append("".join(rec("Q", 1, i, ',"note":"}{}{ }{"') for i in range(3000)))
    # a junk run across the middle
    half = [rec("A", 1, i) for i in range(1500)]
    cases.append("".join(half) + "xx}{ yy}\n{ zz" * 200 + "".join(half))
    # an unterminated string across the middle swallows the cut
    cases.append("".join(half) + '{"symbol":"A","note":"' + "}{" * 500 + "".join(half))
    for k, data in enumerate(cases):
        path = write(d, "c%d.json" % k, data)
        one = run(["--json", path], split=0)
        two = run(["--json", path], split=1000)
        expect(one == two, "case %d: split output differs:\n%r\n%r" % (k, one[1][:300], two[1][:300]))
        one = run([path], split=0)
        two = run([path], split=1000)
        expect(one == two, "case %d: table output differs" % k)


def test_jobs_same_output(d):
    # --jobs N merges in path order: byte-identical to --jobs 1, reports included.
    import random
    rnd = random.Random(11)
    root = os.path.join(d, "many")
    for i in range(23):
        parts = []
        for k in range(rnd.randrange(0, 400)):
            r = rnd.random()
            if r < 0.02:
                parts.append("junk%d" % k)
            elif r < 0.04:
                parts.append(rec("B%d" % k, '"x"', 1))
            else:
                parts.append(rec("S%d" % (k % 7), "%d.%02d" % (k + 1, i), k, ',"exchange":"B\u00f6rse"'))
        data = "".join(parts).encode()
        name = "h%02d/f%03d.json" % (i % 4, i)
        if i % 3 == 0:
            data = gzip.compress(data)
            name += ".gz"
        if i == 6:
            data = data[: len(data) // 2]  # a truncated member
        write(root, name, data)
    os.makedirs(os.path.join(root, "h05"))
    os.chmod(os.path.join(root, "h05"), 0)
    try:
        for args in (["--json"], [], ["--strict", "--json"], ["--json", os.path.join(d, "nope")]):
            want = run(["--jobs", "1"] + args + [root])
            for j in ("2", "3", "8"):
                got = run(["--jobs", j] + args + [root])
                expect(got == want, "--jobs %s %r differs from --jobs 1:\n%r\n%r" %
                       (j, args, got[1][:200] + got[2][-300:], want[1][:200] + want[2][-300:]))
        rc, out, err = run(["--json", "--jobs", "2", root])
        expect(rc == 2 and json.loads(out)["records"] > 1000 and "truncated" in err,
               "mixed tree: %d %r" % (rc, err[-500:]))
    finally:
        os.chmod(os.path.join(root, "h05"), 0o755)
    rc, _, err = run(["--jobs", "0", root])
    expect(rc == 2 and "--jobs" in err, "--jobs 0 is a usage error")


def test_gzip_zero_padding(d):
    # Issue 13.5: a .gz file with NUL padding after the last member, as GNU gzip accepts.
    data = "".join(rec("P%d" % (i % 3), i + 1, i) for i in range(500)).encode()
    z = gzip.compress(data[:9000]) + gzip.compress(data[9000:])
    for pad in (1, 512, 300000):
        rc, out, err = run(["--json", write(d, "pad%d.gz" % pad, z + b"\0" * pad)])
        j = json.loads(out)
        expect(rc == 0 and err == "" and j["records"] == 500 and j["bytes"] == len(data),
               "zero padding %d: %d %r %r" % (pad, rc, j, err))
    rc, out, err = run(["--json", write(d, "junk.gz", z + b"\0" * 512 + b"x")])
    expect(rc == 2 and "corrupt gzip" in err and json.loads(out)["records"] == 500,
           "padding then junk is still corrupt: %d %r" % (rc, err))


def test_ignored_fields_any_value(d):
    # Issue 13.6: unknown fields are ignored whatever their value, numbers past a double too.
    data = ('{"symbol":"S","price":1,"volume":1,"x":1e400}'
            '{"x":-1E+999,"symbol":"S","price":2,"volume":1,"y":[1e400,{"z":123456789e999}]}')
    rc, out, err = run(["--json", write(d, "big.json", data)])
    j = json.loads(out)
    expect(rc == 0 and err == "" and j["records"] == 2, "1e400 ignored: %d %r %r" % (rc, j, err))
    rc, out, err = run(["--json", write(d, "bigp.json", '{"symbol":"S","price":1e400,"volume":1}')])
    expect(rc == 1 and "price" in err, "1e400 as the price is still an error: %r" % err)


def test_every_valid_record(d):
    # Issue 12's table: every record is valid, whatever its layout.
    base = '"symbol":"S","price":1.5,"volume":7,"timestamp":"2025-10-22T12:58:35.123Z"'
    extras = ['', ',"trade_id":"t-00000001","side":"buy"', ',"ok":true', ',"ok":null',
              ',"exchange":"B\u00f6rse Frankfurt"', ',"exchange":"B\\u00f6rse Frankfurt"',
              ',"meta":{"symbol":"ZZZZ","price":-1,"tags":["a","}{"],"n":{"x":null}}',
              ',"note":"a \\"}{\\" b"', ',"f":false,"t":true,"n":null']
    recs = ["{" + base + e + "}" for e in extras]
    recs.append('{ "volume": 7, "meta": {"a": [1, {"b": "}{"}]}, "symbol": "S", "price": 1.5 }')
    data = "\n".join(recs)
    rc, out, err = run(["--json", write(d, "feat.json", data)])
    j = json.loads(out)
    expect(rc == 0 and err == "" and j["records"] == len(recs) and j["symbols"]["S"]["total_volume"] == 7 * len(recs),
           "every feature: %d %r %r" % (rc, j, err))


def main():
    tests = [v for k, v in sorted(globals().items()) if k.startswith("test_")]
    passed = failed = 0
    for t in tests:
        with workdir() as d:
            try:
                t(d)
                passed += 1
                print("ok   %s" % t.__name__)
            except Exception:
                failed += 1
                print("FAIL %s" % t.__name__)
                traceback.print_exc()
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


main()
