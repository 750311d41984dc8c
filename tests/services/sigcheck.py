#!/usr/bin/python3
"""A recording loopback proxy in front of the emulators that checks every
request's AWS Signature Version 4 as the service would: from the request as
it arrived on the wire (raw path and query, the signed headers' values, the
body), recomputed independently with botocore (Debian python3-botocore).

kinesalite and dynalite do not check signatures at all, and s3rver 3.7.1
only looks the access key up, so without this no integration test could
catch a request that was signed one way and sent another.

    sigcheck.py STATE_DIR SERVICE=UPSTREAM_PORT ...

One listener per SERVICE (kinesis, dynamodb, s3) on 127.0.0.1, a free port
written to STATE_DIR/sigcheck-SERVICE.port; each request is checked, then
forwarded to 127.0.0.1:UPSTREAM_PORT and the answer relayed. A request that
fails the check is answered 403 SignatureDoesNotMatch (as AWS would) and
logged to STATE_DIR/sigcheck.log with the canonical request botocore built.
GET /__sigcheck/report on any listener answers the counts as JSON:
{"checked": N, "mismatched": M, "by_service": {...}, "failures": [...],
 "faults": {...}}.

    sigcheck.py --faults RATE --seed N [--kinds LIST] [--ops REGEX] STATE_DIR SERVICE=PORT ...

also injects faults (after the check), each with probability RATE,
reproducibly from the seed: the forwarding and the faults are
tests/chaos/proxy.py's (its docstring lists them). By default only Kinesis
PutRecords requests get faults, of the kinds "503" (answered
ServiceUnavailable, not forwarded), "reset" (connection reset, not
forwarded), "throttle" (some entries taken out before forwarding and
answered ProvisionedThroughputExceededException in their places, as the
service does), "lost" (forwarded and written, then the connection reset
instead of the answer: a client that retries writes twice); --kinds and
--ops choose others.

Secrets: access key id -> secret from SIGCHECK_KEYS ("ID:SECRET,...",
default the test key pair of credentials.env). Header form (Authorization) and
query form (X-Amz-Signature, presigned URLs) are both checked; an
x-amz-content-sha256 other than UNSIGNED-PAYLOAD must be the body's SHA-256.
"""
import hashlib
import json
import os
import re
import sys
import threading
from urllib.parse import unquote, urlsplit

from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "chaos"))
import proxy  # noqa: E402

AUTH_RE = re.compile(r"AWS4-HMAC-SHA256 Credential=([^,]+),\s*SignedHeaders=([^,]+),"
                     r"\s*Signature=([0-9a-f]{64})\s*$")
LOCK = threading.Lock()
COUNTS = {"checked": 0, "mismatched": 0, "by_service": {}, "failures": []}


def keys():
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from emulator_env import CREDENTIALS
    spec = os.environ.get("SIGCHECK_KEYS", "%s:%s" % (CREDENTIALS["AWS_ACCESS_KEY_ID"],
                                                      CREDENTIALS["AWS_SECRET_ACCESS_KEY"]))
    out = {}
    for pair in spec.split(","):
        if ":" in pair:
            k, v = pair.split(":", 1)
            out[k] = v
    return out


KEYS = keys()


def verify(service, method, target, headers, body):
    """None when the signature holds, else why not (and the canonical request)."""
    hmap = {}
    for name, value in headers:
        hmap.setdefault(name.lower(), []).append(value)
    parts = urlsplit(target)
    auth = hmap.get("authorization", [None])[0]
    if auth:
        m = AUTH_RE.match(auth)
        if not m:
            return "Authorization is not AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., " \
                   "Signature=...", None
        cred, signed, sig = m.groups()
        date = hmap.get("x-amz-date", [""])[0]
        query = parts.query
        form = "header"
    else:
        params = [p for p in parts.query.split("&") if p] if parts.query else []
        got = {p.partition("=")[0]: p.partition("=")[2] for p in params}
        if "X-Amz-Signature" not in got:
            return "unsigned request (no Authorization, no X-Amz-Signature)", None
        sig = got["X-Amz-Signature"]
        cred = unquote(got.get("X-Amz-Credential", ""))
        signed = unquote(got.get("X-Amz-SignedHeaders", ""))
        date = got.get("X-Amz-Date", "")
        query = "&".join(p for p in params if p.partition("=")[0] != "X-Amz-Signature")
        form = "query"
    scope = cred.split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        return "bad credential scope %r" % cred, None
    akid, day, region, svc, _ = scope
    if svc != service:
        return "signed for service %r, sent to %s" % (svc, service), None
    if not re.fullmatch(r"\d{8}T\d{6}Z", date) or date[:8] != day:
        return "X-Amz-Date %r does not match the scope's day %r" % (date, day), None
    if akid not in KEYS:
        return "unknown access key id %r" % akid, None
    sha = hmap.get("x-amz-content-sha256", [None])[0]
    if sha and not sha.startswith(("UNSIGNED-PAYLOAD", "STREAMING-")) and \
            sha != hashlib.sha256(body).hexdigest():
        return "x-amz-content-sha256 is not the SHA-256 of the body sent", None
    signed_headers = HTTPHeaders()
    for name in signed.split(";"):
        if name not in hmap:
            return "signed header %r was not sent" % name, None
        for v in hmap[name]:
            signed_headers[name] = v
    token = hmap.get("x-amz-security-token", [None])[0]
    creds = Credentials(akid, KEYS[akid], token)
    if form == "header":
        cls = S3SigV4Auth if service == "s3" else SigV4Auth
    else:
        cls = S3SigV4QueryAuth if service == "s3" else SigV4QueryAuth
    signer = cls(creds, service, region)
    host = hmap.get("host", ["localhost"])[0]
    url = "http://" + host + parts.path + ("?" + query if query else "")
    req = AWSRequest(method=method, url=url, headers=signed_headers, data=body)
    req.context["timestamp"] = date
    canonical = signer.canonical_request(req)
    want = signer.signature(signer.string_to_sign(req, canonical), req)
    if want != sig:
        return "signature differs: sent %s, botocore computes %s" % (sig, want), canonical
    return None, canonical


TOKEN_RE = re.compile(r"(x-amz-security-token[:=])[^&\n]*", re.I)


def no_token(text):
    """`text` with any session token's value taken out: a secret is never logged."""
    return TOKEN_RE.sub(r"\1(session token)", text) if text else text


class Handler(proxy.Handler):
    """tests/chaos/proxy.py's forwarding (and faults), after the check."""
    server_version = "sigcheck"
    report_path = "/__sigcheck/report"

    def report(self):
        with LOCK:
            out = json.loads(json.dumps(COUNTS))
        out["faults"] = self.server.plan.report()["faults"]
        return out

    def check(self, body):
        raw = list(self.headers.items())
        service = self.server.service
        try:
            why, canonical = verify(service, self.command, self.path, raw, body)
        except Exception as e:  # a request the checker cannot read is a failure too
            why, canonical = "cannot check: %r" % e, None
        with LOCK:
            COUNTS["checked"] += 1
            per = COUNTS["by_service"].setdefault(service, {"checked": 0, "mismatched": 0})
            per["checked"] += 1
            if why:
                COUNTS["mismatched"] += 1
                per["mismatched"] += 1
                if len(COUNTS["failures"]) < 50:
                    COUNTS["failures"].append({"service": service, "method": self.command,
                                               "target": no_token(self.path), "why": why})
                with open(self.server.log, "a") as f:
                    f.write(json.dumps({"service": service, "method": self.command,
                                        "target": no_token(self.path), "why": why,
                                        "canonical_request": no_token(canonical)}) + "\n")
        if not why:
            return None
        if service == "s3":
            msg = ("<Error><Code>SignatureDoesNotMatch</Code><Message>sigcheck: %s</Message>"
                   "</Error>" % why.replace("&", "&amp;").replace("<", "&lt;"))
            return 403, [("Content-Type", "application/xml")], msg.encode()
        msg = json.dumps({"__type": "SignatureDoesNotMatch", "message": "sigcheck: " + why})
        return 403, [("Content-Type", "application/x-amz-json-1.1")], msg.encode()


def report(state):
    """Print what the running proxy checked; exit 1 on any mismatch or none."""
    import urllib.request
    port = None
    for name in sorted(os.listdir(state)):
        if name.startswith("sigcheck-") and name.endswith(".port"):
            with open(os.path.join(state, name)) as f:
                port = f.read().strip()
            break
    if not port:
        sys.exit("sigcheck: not running (no port file in %s)" % state)
    with urllib.request.urlopen("http://127.0.0.1:%s/__sigcheck/report" % port, timeout=30) as r:
        c = json.load(r)
    per = ", ".join("%s %d" % (k, v["checked"]) for k, v in sorted(c["by_service"].items()))
    line = ("sigcheck: %d signed requests verified by botocore as they arrived (%s), %d "
            "mismatched" % (c["checked"], per or "none", c["mismatched"]))
    print(line)
    # kept for the test command to print after its ctest run
    with open(os.path.join(state, "sigcheck-summary.txt"), "w") as f:
        f.write(line + "\n")
    if c.get("faults"):
        print("sigcheck: faults injected: %s" % ", ".join(
            "%s %d" % kv for kv in sorted(c["faults"].items())))
    for f in c["failures"]:
        print("  MISMATCH %s %s %s: %s" % (f["service"], f["method"], f["target"], f["why"]))
    return 1 if c["mismatched"] or not c["checked"] else 0


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--report":
        sys.exit(report(sys.argv[2]))
    try:
        opts, args = proxy.parse_fault_options(sys.argv[1:])
        if opts.get("rate"):  # the old --faults mode: Kinesis PutRecords only
            opts.setdefault("kinds", ["503", "reset", "throttle", "lost"])
            opts.setdefault("ops", "^PutRecords$")
        plan = proxy.FaultPlan(**opts)
        if len(args) < 2:
            raise ValueError("give STATE_DIR and SERVICE=UPSTREAM_PORT ...")
        proxy.serve(args[0], args[1:], Handler, plan, "sigcheck",
                    log=os.path.join(args[0], "sigcheck.log"))
    except ValueError as e:
        sys.exit("sigcheck.py: %s\nusage: sigcheck.py [--faults RATE --seed N [--kinds LIST] "
                 "[--ops REGEX]] STATE_DIR SERVICE=UPSTREAM_PORT ... | --report STATE_DIR" % e)
    proxy.wait_forever()


if __name__ == "__main__":
    main()
