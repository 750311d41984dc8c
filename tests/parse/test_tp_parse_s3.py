#!/usr/bin/env python3
"""tp-parse s3://BUCKET/PREFIX against s3rver: the same output as on a local
copy of the same objects. Usage: test_tp_parse_s3.py TP_PARSE TP_GEN STATE_DIR

STATE_DIR holds endpoints.env (tests/services/start.sh). The objects are
written by awscli (tests/integration/aws_cli.sh), not by us. Prints
'N passed, N failed'; exits non-zero on any failure."""
import gzip
import json
import os
import subprocess
import sys
import traceback
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "services"))
from emulator_env import emulator_env  # noqa: E402
from testdirs import workdir  # noqa: E402

TP_PARSE, TP_GEN, STATE = sys.argv[1], sys.argv[2], sys.argv[3]
HERE = os.path.dirname(os.path.abspath(__file__))
AWS_CLI = os.path.join(HERE, "..", "integration", "aws_cli.sh")


def env():
    return emulator_env(STATE)


ENV = env()


def run(args):
    p = subprocess.run([TP_PARSE] + args, capture_output=True, timeout=300, env=ENV)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def aws(*args):
    subprocess.run([AWS_CLI, STATE] + list(args), check=True, capture_output=True, timeout=300)


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def rec(sym, price, vol, extra=""):
    return '{"symbol":"%s","price":%s,"volume":%s%s}' % (sym, price, vol, extra)


def make_tree(root):
    """Several hours of raw-data, laid out as Firehose lays it out."""
    files = []
    for hour in range(9, 14):
        for k in range(3):
            d = os.path.join(root, "raw-data/2025/10/22/%02d" % hour)
            os.makedirs(d, exist_ok=True)
            path = os.path.join(d, "tradepipe-1-2025-10-22-%02d-%02d-00-%d.gz" % (hour, k * 20, k))
            subprocess.run([TP_GEN, "--records", str(2000 + 700 * k + 100 * hour), "--seed",
                            str(hour * 10 + k), "--gzip", "-o", path], check=True)
            files.append(path)
    # other producers: malformed records, unusual layouts, zero padding, a plain file
    d = os.path.join(root, "raw-data/2025/10/22/12")
    odd = (rec("A", 1, 1, ',"exchange":"B\u00f6rse","meta":{"x":[1,"}{"]}') + "junk" +
           rec("B", '"x"', 1) + '{ "volume": 2, "symbol": "C", "price": 3.5 }')
    with open(os.path.join(d, "zz-odd.gz"), "wb") as f:
        f.write(gzip.compress(odd.encode()) + b"\0" * 512)
    with open(os.path.join(d, "zz-plain.json"), "w") as f:
        f.write(rec("P", 2, 2) + "\n" + rec("P", 3, 3) + "\n")
    return files


def same_as_local(s3_uri, local, args=()):
    rs = run(list(args) + [s3_uri])
    rl = run(list(args) + [local])
    expect(rs[0] == rl[0] and rs[1] == rl[1], "%s vs %s: stdout differs\n%r\n%r" %
           (s3_uri, local, rs[:2], rl[:2]))
    # reports name the object instead of the file
    expect(rs[2].replace(s3_uri, local) == rl[2], "reports differ:\n%s\n---\n%s" % (rs[2], rl[2]))
    return rs


def test_prefix_same_as_local_copy(ctx):
    b, root = ctx["bucket"], ctx["root"]
    rc, out, err = same_as_local("s3://%s/raw-data/" % b, os.path.join(root, "raw-data") + "/",
                                 ["--json"])
    j = json.loads(out)
    expect(rc == 1 and j["records"] > 40000 and j["errors"] == 2, "whole prefix %d %r" % (rc, j))
    same_as_local("s3://%s/raw-data/" % b, os.path.join(root, "raw-data") + "/")
    same_as_local("s3://%s/raw-data/2025/10/22/12/" % b,
                  os.path.join(root, "raw-data/2025/10/22/12") + "/", ["--json"])
    for jobs in ("1", "4"):
        same_as_local("s3://%s/raw-data/" % b, os.path.join(root, "raw-data") + "/",
                      ["--json", "--jobs", jobs])


def test_errors(ctx):
    rc, out, err = run(["--json", "s3://no-such-bucket-%s/x/" % uuid.uuid4().hex[:8]])
    expect(rc == 2 and "no-such-bucket" in err and json.loads(out)["records"] == 0,
           "missing bucket: %d %r" % (rc, err))
    rc, out, err = run(["--json", "s3://%s/no-such-prefix/" % ctx["bucket"]])
    expect(rc == 0 and json.loads(out)["records"] == 0, "empty prefix: %d %r" % (rc, err))
    rc, out, err = run(["--strict", "s3://%s/raw-data/2025/10/22/12/" % ctx["bucket"]])
    expect(rc == 1 and out == "" and err.count("\n") == 1 and "zz-odd.gz:" in err,
           "strict stops at the first malformed record: %d %r" % (rc, err))


def main():
    with workdir() as d:
        ctx = {"root": d, "bucket": "tp-parse-%s" % uuid.uuid4().hex[:10]}
        make_tree(d)
        aws("s3", "mb", "s3://%s" % ctx["bucket"])
        aws("s3", "cp", "--recursive", "--quiet", os.path.join(d, "raw-data"),
            "s3://%s/raw-data" % ctx["bucket"])
        passed = failed = 0
        for name, t in sorted((k, v) for k, v in globals().items() if k.startswith("test_")):
            try:
                t(ctx)
                passed += 1
                print("ok   %s" % name)
            except Exception:
                failed += 1
                print("FAIL %s" % name)
                traceback.print_exc()
        print("%d passed, %d failed" % (passed, failed))
        sys.exit(1 if failed else 0)


main()
