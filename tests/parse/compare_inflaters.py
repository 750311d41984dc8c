#!/usr/bin/env python3
"""compare_inflaters.py TP_PARSE_A TP_PARSE_B TP_GEN - two tp-parse builds (one
inflating with ISA-L, one with zlib: TP_ISAL_INFLATE=OFF) must print the same
--json, the same reports and exit the same on every test file: generated
gzip files, multi-member ones, zero padding, and broken streams (truncated
at many points, bytes changed). Prints 'N passed, N failed'."""
import gzip
import os
import random
import subprocess
import sys
import tempfile

A, B, GEN = sys.argv[1], sys.argv[2], sys.argv[3]


def files(d):
    rnd = random.Random(12)
    out = []
    big = os.path.join(d, "gen.json.gz")
    subprocess.run([GEN, "--records", "40000", "--seed", "3", "--gzip", "-o", big], check=True)
    out.append(big)
    raw = b"".join(b'{"symbol":"S%d","price":%d.25,"volume":%d,"exchange":"B\xc3\xb6rse"}' % (i % 9, i + 1, i)
                   for i in range(30000))
    multi = b"".join(gzip.compress(raw[k:k + 200000], compresslevel=1 + k // 200000 % 9)
                     for k in range(0, len(raw), 200000))
    for name, data in (("multi.gz", multi), ("padded.gz", multi + b"\0" * 512),
                       ("junk.gz", multi + b"\0" * 3 + b"x")):
        out.append(os.path.join(d, name))
        open(out[-1], "wb").write(data)
    gz = open(big, "rb").read()
    for k in range(40):
        src = multi if k % 2 else gz
        b = bytearray(src)
        pos = rnd.randrange(10, len(b) - 1)
        if k % 4 < 2:
            b = b[:pos]
        elif k % 4 == 2:
            b[pos] ^= 1 << rnd.randrange(8)
        else:
            b[pos:pos + 16] = bytes(rnd.randrange(256) for _ in range(16))
        out.append(os.path.join(d, "broken%02d.gz" % k))
        open(out[-1], "wb").write(bytes(b))
    return out


def run(exe, path):
    p = subprocess.run([exe, "--json", "--jobs", "1", path], capture_output=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


with tempfile.TemporaryDirectory() as d:
    passed = failed = 0
    for f in files(d):
        a, b = run(A, f), run(B, f)
        if a == b:
            passed += 1
        else:
            failed += 1
            print("FAIL %s:\n  %r\n  %r" % (os.path.basename(f), a, b))
    a, b = run(A, d), run(B, d)
    if a == b:
        passed += 1
    else:
        failed += 1
        print("FAIL the whole directory")
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)
