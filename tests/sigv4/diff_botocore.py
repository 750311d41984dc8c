#!/usr/bin/env python3
"""Differential test: libtradepipe's SigV4 signer against botocore's.

Generates random requests deterministically (seeded) in wire form, the way a
client sends them (path and query already percent-encoded), signs each with
the C signer (through tests/sigv4/sign_driver.c) and with botocore
(SigV4Auth, S3SigV4Auth, SigV4QueryAuth, S3SigV4QueryAuth), and compares the
canonical request, the string to sign, the signature and the headers or
presigned URL. Zero mismatches are allowed.

Covered at random: methods; paths with unicode, reserved and sub-delimiter
characters, dot segments and repeated slashes; query strings with duplicate
and empty keys and values; headers with odd spacing, case and repeated names;
bodies of random sizes; with and without session tokens; S3 and non-S3;
signed and unsigned payloads; header and presigned forms.

Where botocore departs from the published AWS test suite (the suite in
../shared/testdata/sigv4 is what the signer follows), the random requests stay
out of the difference, and each difference is listed in DIFFERENCES below and
checked by a test of its own: the C signer gives the suite's answer, botocore
gives another.

Usage: diff_botocore.py SIGN_DRIVER [--count N] [--seed S]
"""

import os
import sys

# This test needs botocore from the Debian package python3-botocore, installed
# for /usr/bin/python3: run under that interpreter when it is there.
if (os.path.exists("/usr/bin/python3") and not os.environ.get("TP_DIFF_REEXEC")
        and os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3")):
    os.environ["TP_DIFF_REEXEC"] = "1"
    os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
try:
    import botocore  # noqa: F401
except ImportError:
    sys.stderr.write("diff_botocore: botocore is not importable (install python3-botocore)\n")
    sys.exit(1)

import argparse
import hashlib
import json
import random
import subprocess
from urllib.parse import quote, unquote, urlsplit

import botocore.config
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

# Flags of include/tradepipe/sigv4.h
S3 = 0x01
NO_PATH_NORMALIZE = 0x02
NO_DOUBLE_ENCODE = 0x04
CONTENT_SHA256 = 0x08
UNSIGNED_PAYLOAD = 0x10

ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
UNRESERVED = ALNUM + "-._~"
SUB_DELIMS = "!$&'()*+,;=:@"
# raw characters for names and values before wire encoding
TEXT_CHARS = UNRESERVED + SUB_DELIMS + " /?#[]%\"<>\\^`{|}" + "éüßሴ😀€"
HEADER_VALUE_CHARS = ALNUM + "-._~!$&'()*+,;=:@/?#[]%\"<>\\^`{|} "
HEADER_NAMES = [
    "X-Custom-A", "x-custom-b", "X-AMZ-META-Key", "x-amz-meta-other", "Content-Type",
    "X-Amz-Target", "Range", "If-Match", "Cache-Control", "Content-Encoding", "X-Amz-Acl",
    "X-Amz-Storage-Class", "Accept", "X-Empty", "Content-MD5x",
]
SERVICES = ["kinesis", "dynamodb", "execute-api", "sts", "firehose", "logs", "lambda"]
REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2", "sa-east-1", "cn-north-1"]
METHODS = ["GET", "POST", "PUT", "DELETE", "HEAD", "PATCH"]


def rand_text(rng, chars, lo, hi):
    return "".join(rng.choice(chars) for _ in range(rng.randint(lo, hi)))


def wire_segment(rng, seg, strict):
    # A client encodes a path segment; sub-delimiters may stay raw (RFC 3986 allows them).
    return quote(seg, safe="-_.~" if strict else "-_.~" + SUB_DELIMS)


def gen_path(rng, s3):
    strict = rng.random() < 0.5
    segs = []
    for _ in range(rng.randint(0, 5)):
        r = rng.random()
        if r < 0.08:
            segs.append(".")
        elif r < 0.16:
            segs.append("..")
        elif r < 0.22:
            segs.append("")
        else:
            segs.append(wire_segment(rng, rand_text(rng, TEXT_CHARS, 1, 12), strict))
    path = "/" + "/".join(segs)
    if segs and rng.random() < 0.3:
        path += "/"
    if s3 and rng.random() < 0.5:
        # an S3 key as a client sends it (botocore quotes keys keeping '/' and '~')
        key = rand_text(rng, TEXT_CHARS, 1, 30)
        path = "/bucket-" + rand_text(rng, "abcdefghij", 3, 8) + "/" + quote(key, safe="/~")
    return path


def gen_query(rng, presign):
    keys = ["a", "B", "list-type", "prefix", "x", "Action", "k_1", "ሴ", "key with space", ""]
    params = []
    used = set()
    for _ in range(rng.randint(0, 6)):
        k = rng.choice(keys) if rng.random() < 0.7 else rand_text(rng, TEXT_CHARS, 1, 8)
        if presign:
            # botocore's presigner keeps one value per key (a listed difference)
            if k in used or k.lower().startswith("x-amz-"):
                continue
            used.add(k)
        r = rng.random()
        if r < 0.15:
            if k:  # (an empty segment is a listed difference, not a random case)
                params.append(quote(k, safe="-_.~"))  # no '=' at all
        elif r < 0.3:
            params.append(quote(k, safe="-_.~") + "=")
        else:
            params.append(quote(k, safe="-_.~") + "=" +
                          quote(rand_text(rng, TEXT_CHARS, 0, 16), safe="-_.~"))
    return "&".join(params)


def gen_header_value(rng):
    v = rand_text(rng, HEADER_VALUE_CHARS, 0, 24)
    r = rng.random()
    if r < 0.25:
        v = " " * rng.randint(1, 3) + v + " " * rng.randint(0, 3)
    elif r < 0.5:
        v = v.replace(" ", "   ")
    return v


def gen_request(rng, i):
    presign = rng.random() < 0.3
    s3 = rng.random() < 0.4
    host = rand_text(rng, "abcdefghijklmnopqrstuvwxyz", 3, 10) + ".example.amazonaws.com"
    headers = [[rng.choice(["Host", "host", "HOST"]), host]]
    for _ in range(rng.randint(0, 6)):
        name = rng.choice(HEADER_NAMES)
        if rng.random() < 0.3:
            name = name.swapcase()
        if presign and name.lower() == "content-type" and rng.random() < 2:
            continue  # botocore's presigner drops one content-type value (not a case here)
        headers.append([name, gen_header_value(rng)])
        if rng.random() < 0.2:  # a repeated name
            headers.append([name.lower(), gen_header_value(rng)])
    rng.shuffle(headers)
    size = rng.choice([0, 0, 1, 13, 100, 1024, 4096, rng.randint(0, 70000)])
    body = bytes(rng.getrandbits(8) for _ in range(size)) if not presign else b""
    token = None
    if rng.random() < 0.5:
        token = rand_text(rng, ALNUM + "+/=", 20, 400)
    unsigned = (not presign) and rng.random() < 0.2
    flags = 0
    if s3:
        flags |= S3
    if unsigned:
        flags |= UNSIGNED_PAYLOAD
        if not s3:
            flags |= CONTENT_SHA256  # botocore adds X-Amz-Content-SHA256 then
    return {
        "id": i,
        "mode": "presign" if presign else "header",
        "flags": flags,
        "method": rng.choice(METHODS),
        "path": gen_path(rng, s3),
        "query": gen_query(rng, presign),
        "headers": headers,
        "body": body.hex(),
        "akid": "AKIA" + rand_text(rng, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16, 16),
        "secret": rand_text(rng, ALNUM + "+/", 40, 40),
        "token": token,
        "region": rng.choice(REGIONS),
        "service": "s3" if s3 else rng.choice(SERVICES),
        # 2000-01-01 .. 2035-01-01, with milliseconds (the signer floors them)
        "now_ms": rng.randint(946684800000, 2051222400000),
        "expires": rng.randint(1, 604800) if presign else 0,
    }


def amz_timestamp(now_ms):
    import datetime
    t = datetime.datetime.fromtimestamp(now_ms // 1000, tz=datetime.timezone.utc)
    return t.strftime("%Y%m%dT%H%M%SZ")


def botocore_sign(req):
    """Sign `req` with botocore, step by step as its add_auth does, with a fixed time."""
    creds = Credentials(req["akid"], req["secret"], req["token"])
    url = "https://" + [v for n, v in req["headers"] if n.lower() == "host"][0] + req["path"]
    if req["query"]:
        url += "?" + req["query"]
    body = bytes.fromhex(req["body"])
    r = AWSRequest(method=req["method"], url=url, data=body)
    for name, value in req["headers"]:
        r.headers[name] = value  # HTTPHeaders appends: repeated names are kept
    s3 = req["flags"] & S3
    unsigned = req["flags"] & UNSIGNED_PAYLOAD
    if req["mode"] == "presign":
        cls = S3SigV4QueryAuth if s3 else SigV4QueryAuth
        auth = cls(creds, req["service"], req["region"], expires=req["expires"])
    else:
        auth = (S3SigV4Auth if s3 else SigV4Auth)(creds, req["service"], req["region"])
        if unsigned:
            r.context["payload_signing_enabled"] = False
            if s3:
                r.context["client_config"] = botocore.config.Config(
                    s3={"payload_signing_enabled": False})
    r.context["timestamp"] = amz_timestamp(req["now_ms"])
    auth._modify_request_before_signing(r)
    creq = auth.canonical_request(r)
    sts = auth.string_to_sign(r, creq)
    sig = auth.signature(sts, r)
    auth._inject_signature_to_request(r, sig)
    return {"creq": creq, "sts": sts, "signature": sig, "request": r}


def run_driver(driver, reqs):
    text = "".join(json.dumps(q, ensure_ascii=True) + "\n" for q in reqs)
    p = subprocess.run([driver], input=text.encode(), stdout=subprocess.PIPE, check=True)
    outs = [json.loads(line) for line in p.stdout.decode().splitlines()]
    if len(outs) != len(reqs):
        raise SystemExit(f"driver answered {len(outs)} of {len(reqs)} requests")
    return outs


def query_pairs(q):
    pairs = []
    for part in q.split("&"):
        if part:
            k, _, v = part.partition("=")
            pairs.append((unquote(k), unquote(v)))
    return sorted(pairs)


def compare(req, ours, theirs):
    """A list of differences (empty when the two agree)."""
    diffs = []
    if ours["status"] != 0:
        return [f"the C signer failed: {ours['error']}"]
    for k in ("creq", "sts", "signature"):
        if k == "signature" and req["mode"] == "presign":
            ours_sig = ours["target"].rsplit("X-Amz-Signature=", 1)[1]
            if ours_sig != theirs["signature"]:
                diffs.append(f"signature: {ours_sig} != {theirs['signature']}")
            continue
        if ours[k] != theirs[k]:
            diffs.append(f"{k}:\n--- ours\n{ours[k]}\n--- botocore\n{theirs[k]}")
    r = theirs["request"]
    if req["mode"] == "presign":
        ours_q = ours["target"].split("?", 1)[1]
        theirs_q = urlsplit(r.url).query
        if query_pairs(ours_q) != query_pairs(theirs_q):
            diffs.append(f"presigned query:\n--- ours\n{ours_q}\n--- botocore\n{theirs_q}")
        if ours["target"].split("?", 1)[0] != urlsplit(r.url).path:
            diffs.append("presigned path differs")
    else:
        got = {n.lower(): v for n, v in ours["headers"]}
        for name in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token",
                     "X-Amz-Content-SHA256"):
            want = r.headers.get(name)
            if got.get(name.lower()) != want:
                diffs.append(f"header {name}: {got.get(name.lower())!r} != {want!r}")
    return diffs


# ---- the deliberate differences ---------------------------------------------
#
# Each entry: a request, what the C signer must produce (the published suite's
# rule), and a check that botocore really does something else. The suite case
# that decides is named.

def base_request(**kw):
    req = {
        "id": 0, "mode": "header", "flags": 0, "method": "GET", "path": "/", "query": "",
        "headers": [["Host", "example.amazonaws.com"]], "body": "",
        "akid": "AKIDEXAMPLE", "secret": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        "token": None, "region": "us-east-1", "service": "service",
        "now_ms": 1440938160000, "expires": 3600,
    }
    req.update(kw)
    return req


def creq_line(creq, n):
    return creq.split("\n")[n]


DIFFERENCES = [
    {
        "name": "header form: botocore does not re-encode a query string already in the URL",
        "suite": "get-vanilla-utf8-query (and get-vanilla-query-order-encoded)",
        "request": base_request(query="\u1234=bar&k=%e1%88%b4"),
        "ours": lambda o: creq_line(o["creq"], 2) == "%E1%88%B4=bar&k=%E1%88%B4",
        "botocore": lambda b: creq_line(b["creq"], 2) == "k=%e1%88%b4&\u1234=bar",
    },
    {
        "name": "S3: botocore signs the path exactly as given, even bytes that must be encoded",
        "suite": "get-space-unnormalized, get-utf8 (unnormalized paths are still encoded)",
        "request": base_request(flags=S3, service="s3", path="/example space/\u1234"),
        "ours": lambda o: creq_line(o["creq"], 1) == "/example%20space/%E1%88%B4",
        "botocore": lambda b: creq_line(b["creq"], 1) == "/example space/\u1234",
    },
    {
        "name": "presigned URLs: botocore keeps only the first of repeated query keys",
        "suite": "canonical query: every parameter, sorted by name then value",
        "request": base_request(mode="presign", query="a=2&a=1"),
        "ours": lambda o: creq_line(o["creq"], 2).startswith("X-Amz-Algorithm=")
        and creq_line(o["creq"], 2).endswith("&X-Amz-SignedHeaders=host&a=1&a=2"),
        "botocore": lambda b: creq_line(b["creq"], 2).endswith("&X-Amz-SignedHeaders=host&a=2"),
    },
    {
        "name": "botocore never signs user-agent, expect, x-amzn-trace-id (and, in newer "
                "versions, transfer-encoding); the signer signs every header it is given",
        "suite": "every header of request.txt is signed",
        "request": base_request(headers=[["Host", "example.amazonaws.com"],
                                         ["User-Agent", "tp/1.0"], ["Expect", "100-continue"],
                                         ["X-Amzn-Trace-Id", "Root=1-5759e988"]]),
        "ours": lambda o: creq_line(o["creq"], -2)
        == "expect;host;user-agent;x-amz-date;x-amzn-trace-id",
        "botocore": lambda b: creq_line(b["creq"], -2) == "host;x-amz-date",
    },
    {
        "name": "a Date header replaces X-Amz-Date in botocore (and is rewritten to the signing "
                "time); the signer keeps Date as given and adds X-Amz-Date",
        "suite": "x-amz-date is always added and signed",
        "request": base_request(headers=[["Host", "example.amazonaws.com"],
                                         ["Date", "Sun, 30 Aug 2015 12:36:00 GMT"]]),
        "ours": lambda o: creq_line(o["creq"], -2) == "date;host;x-amz-date",
        "botocore": lambda b: creq_line(b["creq"], -2) == "date;host",
    },
    {
        "name": "botocore folds tabs (all whitespace) like spaces inside header values; the "
                "signer folds runs of spaces only (tabs at the ends are trimmed)",
        "suite": "get-header-value-trim (sequential spaces); aws-c-auth folds ' ' only",
        "request": base_request(headers=[["Host", "example.amazonaws.com"],
                                         ["My-Header1", "\ta\t\tb  c\t"]]),
        "ours": lambda o: "\nmy-header1:a\t\tb c\n" in o["creq"],
        "botocore": lambda b: "\nmy-header1:a b c\n" in b["creq"],
    },
    {
        "name": "header form: an empty query segment ('a=1&&b=2') is a parameter '=' to "
                "botocore; the signer skips it (found here)",
        "suite": "none: a segment without a name and without '=' is no parameter",
        "request": base_request(query="a=1&&b=2"),
        "ours": lambda o: creq_line(o["creq"], 2) == "a=1&b=2",
        "botocore": lambda b: creq_line(b["creq"], 2) == "=&a=1&b=2",
    },
]


def check_differences(driver):
    reqs = [d["request"] for d in DIFFERENCES]
    for i, r in enumerate(reqs):
        r["id"] = i
    outs = run_driver(driver, reqs)
    bad = 0
    for d, r, o in zip(DIFFERENCES, reqs, outs):
        b = botocore_sign(r)
        ok_ours = o["status"] == 0 and d["ours"](o)
        ok_boto = d["botocore"](b)
        state = "ok" if ok_ours and ok_boto else "FAIL"
        print(f"difference [{state}]: {d['name']} (suite: {d['suite']})")
        if not ok_ours:
            bad += 1
            print(f"  the C signer does not give the suite's answer:\n{o.get('creq', o)}")
        if not ok_boto:
            bad += 1
            print(f"  botocore no longer differs as listed:\n{b['creq']}")
    return bad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("driver")
    ap.add_argument("--count", type=int, default=1500)
    ap.add_argument("--seed", type=int, default=20251125)
    args = ap.parse_args()

    print(f"botocore {botocore.__version__} ({botocore.__file__})")
    bad = check_differences(args.driver)

    rng = random.Random(args.seed)
    reqs = [gen_request(rng, i) for i in range(args.count)]
    outs = run_driver(args.driver, reqs)
    mismatches = 0
    kinds = {}
    for req, ours in zip(reqs, outs):
        key = ("presign" if req["mode"] == "presign" else "header") + \
              ("/s3" if req["flags"] & S3 else "") + ("/token" if req["token"] else "") + \
              ("/unsigned" if req["flags"] & UNSIGNED_PAYLOAD else "")
        kinds[key] = kinds.get(key, 0) + 1
        diffs = compare(req, ours, botocore_sign(req))
        if diffs:
            mismatches += 1
            if mismatches <= 5:
                print(f"MISMATCH request {req['id']}: {json.dumps(req)[:600]}")
                for d in diffs:
                    print("  " + d)
    print(f"{len(reqs)} random requests (seed {args.seed}): {mismatches} mismatches")
    for k in sorted(kinds):
        print(f"  {k}: {kinds[k]}")
    if mismatches or bad:
        sys.exit(1)


if __name__ == "__main__":
    main()
