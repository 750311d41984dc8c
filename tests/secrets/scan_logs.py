#!/usr/bin/python3
"""No secret of the test run in any of its logs.

    scan_logs.py BUILD_DIR...     scan the logs of these builds' test runs
                                  (and of the builds TP_SCAN_BUILDS lists, colon-separated)
    scan_logs.py --selftest       show that a planted secret is found

The secrets are the test credentials' secret key and session token
(tests/services/credentials.env, which every test against the emulators
uses) and the distinctive secrets the unit suites hand the library (SECRETS
below). The logs of a build's test run are every file under

    Testing/Temporary/   ctest's LastTest.log: every test's output
    services/            the emulators' and the signature checker's logs
    test-tmp/            every test's temporary files: the stdout and stderr
                         of each program a test ran (the suite runs with
                         TMPDIR there and TP_KEEP=1, so nothing is removed)
    valgrind-logs/       valgrind's reports (TP_VALGRIND builds)

For each hit it prints FILE:LINE and which secret (never the secret), and
exits 1; else one line, "secrets: N files of the test logs scanned, none
holds a test secret", and 0."""
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CREDENTIALS = os.path.join(HERE, "..", "services", "credentials.env")
LOG_DIRS = ("Testing/Temporary", "services", "test-tmp", "valgrind-logs")
# Secrets the unit and binding suites give the library (their sources hold them).
SECRETS = {
    "wJalrXUtnFEMI": "the example secret key of test_sigv4, test_store, diff_botocore",
    "SECRETSECRET": "the secret key of test_aws_retry, test_kinesis_limits",
    "TOKENabc123": "the session token of test_credentials",
    "ecs-secret": "the container secret key of test_credentials_net",
    "ecs-token": "the container session token of test_credentials_net",
    "web-secret": "the web-identity secret key of test_credentials_net",
    "web-token": "the web-identity session token of test_credentials_net",
}


def secrets(creds_path=CREDENTIALS):
    """{secret: what it is}."""
    out = dict(SECRETS)
    creds = {}
    with open(creds_path) as f:
        for line in f:
            k, _, v = line.strip().partition("=")
            if k and not k.startswith("#"):
                creds[k] = v
    for k in ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        v = creds.get(k, "")
        # A secret that is also the access key id (S3RVER/S3RVER) or short
        # would be found where it is no secret: the scan would mean nothing.
        if len(v) < 20 or v in creds.get("AWS_ACCESS_KEY_ID", ""):
            sys.exit("scan_logs.py: %s of %s is not distinctive enough to look for" %
                     (k, creds_path))
        out[v] = "%s of tests/services/credentials.env" % k
    return out


def scan(build_dirs, table):
    """([(path, line number, what)], number of files read)."""
    needles = [(s.encode(), what) for s, what in table.items()]
    hits, files = [], 0
    for b in build_dirs:
        for sub in LOG_DIRS:
            top = os.path.join(b, sub)
            for d, _, names in os.walk(top):
                for n in sorted(names):
                    p = os.path.join(d, n)
                    if os.path.islink(p) or not os.path.isfile(p):
                        continue
                    try:
                        with open(p, "rb") as f:
                            data = f.read()
                    except OSError:
                        continue
                    files += 1
                    for s, what in needles:
                        at = data.find(s)
                        while at >= 0:
                            hits.append((p, data.count(b"\n", 0, at) + 1, what))
                            at = data.find(s, at + 1)
    return hits, files


def main(build_dirs):
    hits, files = scan(build_dirs, secrets())
    for p, line, what in hits:
        print("%s:%d: a test secret: %s" % (p, line, what))
    if hits:
        print("secrets: %d occurrences of test secrets in the logs of the test run" % len(hits))
        return 1
    if files == 0:
        print("secrets: no log found under %s" % ", ".join(build_dirs))
        return 1
    print("secrets: %d files of the test logs scanned, none holds a test secret" % files)
    return 0


def selftest():
    """A secret planted in each kind of log is found, at its file and line."""
    table = secrets()
    key = next(s for s, w in table.items() if w.startswith("AWS_SECRET_ACCESS_KEY"))
    token = next(s for s, w in table.items() if w.startswith("AWS_SESSION_TOKEN"))
    with tempfile.TemporaryDirectory() as b:
        for sub in LOG_DIRS:
            os.makedirs(os.path.join(b, sub, "x"))
            with open(os.path.join(b, sub, "x", "clean.log"), "w") as f:
                f.write("nothing here\nS3RVER is an access key id, not a secret\n")
        hits, files = scan([b], table)
        assert not hits and files == len(LOG_DIRS), (hits, files)
        planted = []
        for i, sub in enumerate(LOG_DIRS):
            p = os.path.join(b, sub, "x", "stderr")
            with open(p, "w") as f:
                f.write("line one\nline two\n" + "x" * i + (key if i % 2 else token) + "\n")
            planted.append((p, 3))
        hits, _ = scan([b], table)
        assert sorted((p, n) for p, n, _ in hits) == sorted(planted), hits
        assert main([b]) == 1
    print("secrets selftest: a secret planted in each kind of log is found at its line")
    return 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--selftest"]:
        sys.exit(selftest())
    if len(sys.argv) < 2 or sys.argv[1].startswith("-"):
        sys.exit(__doc__)
    more = [d for d in os.environ.get("TP_SCAN_BUILDS", "").split(":") if d]
    sys.exit(main(sys.argv[1:] + [d for d in more if d not in sys.argv[1:]]))
