#!/usr/bin/env python3
"""The Lambda package (infra/packaging/lambda-zip.sh), unzipped and run as Lambda would.

Usage: test_lambda_zip.py SOURCE_DIR BUILD_DIR STATE_DIR

Builds the zip from BUILD_DIR twice (the same bytes both times), checks its
entries (bootstrap, bin/, lib/ and nothing else; bootstrap and the program
0755, Unix modes, fixed time stamps, sorted), unzips it with unzip (which
applies the modes, as Lambda does) into a temporary LAMBDA_TASK_ROOT, and
runs `bootstrap` under `env -i` with only the Lambda and AWS variables the
function has, against the Runtime API fixture (tests/fixtures/lambda_runtime.py)
and the emulators (tests/services/emulator_env.py: STATE_DIR/endpoints.env,
through the signature checker): one
Kinesis event of 8 records of two symbols, one buy and one sell. It checks the
answer (batchItemFailures empty), the positions and the shard's state in
DynamoDB, the completed trade in S3, the EMF line, and that the running
process mapped no shared object from outside the package (glibc included).
Prints one line per check and 'PASS'; exits non-zero on the first failure."""
import base64
import json
import os
import signal
import stat
import subprocess
import sys
import time
import uuid
import zipfile
from decimal import Decimal

import boto3
from botocore.config import Config

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "services"))
from emulator_env import emulator_env  # noqa: E402
from testdirs import workdir  # noqa: E402

SRC, BUILD, STATE = sys.argv[1:4]
SCRIPT = os.path.join(SRC, "infra", "packaging", "lambda-zip.sh")
FIXTURE = os.path.join(SRC, "tests", "fixtures", "lambda_runtime.py")
LOADER = "ld-linux-x86-64.so.2"
RUN = uuid.uuid4().hex[:8]
TABLE = "tp-zip-%s" % RUN
BUCKET = "tp-zip-%s" % RUN
PREFIX = "trades/run-%s" % RUN
SHARD = "shardId-000000000001"
# The emulators' settings (endpoints through the signature checker); boto3,
# the test's own client, reads them from this process's environment.
ENV = emulator_env(STATE)
os.environ.clear()
os.environ.update(ENV)


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def ok(what):
    print("ok: %s" % what, flush=True)


def build_zip(tmp):
    paths = []
    for n in ("a", "b"):
        path = os.path.join(tmp, n, "function.zip")
        os.makedirs(os.path.dirname(path))
        p = subprocess.run([SCRIPT, BUILD, path], capture_output=True, timeout=600)
        expect(p.returncode == 0, "lambda-zip.sh: %d\n%s" % (p.returncode, p.stderr.decode()))
        paths.append(path)
    with open(paths[0], "rb") as f1, open(paths[1], "rb") as f2:
        expect(f1.read() == f2.read(), "two runs of lambda-zip.sh gave different zips")
    ok("lambda-zip.sh twice: the same bytes")
    return paths[0]


def check_entries(path):
    with zipfile.ZipFile(path) as z:
        infos = z.infolist()
        expect(z.testzip() is None, "a damaged entry")
    names = [i.filename for i in infos]
    expect(names == sorted(names), "entries not sorted: %r" % names)
    expect(len(set(names)) == len(names), "duplicate entries")
    for i in infos:
        n = i.filename
        expect(not n.startswith("/") and ".." not in n.split("/"), "unsafe name %r" % n)
        expect(n == "bootstrap" or (n.startswith(("bin/", "lib/")) and n.count("/") == 1
                                    and not n.endswith("/")),
               "an entry outside bootstrap, bin/, lib/: %r" % n)
        expect(i.create_system == 3, "%s: not made on Unix (no modes)" % n)
        expect(i.date_time == (1980, 1, 1, 0, 0, 0), "%s: time stamp %r" % (n, i.date_time))
        mode = i.external_attr >> 16
        expect(stat.S_ISREG(mode), "%s: not a regular file (%o)" % (n, mode))
        want = 0o755 if n in ("bootstrap", "lib/" + LOADER) or n.startswith("bin/") else 0o644
        expect(stat.S_IMODE(mode) == want, "%s: mode %o, want %o" % (n, stat.S_IMODE(mode), want))
    for need in ("bootstrap", "bin/tp-lambda-bootstrap", "lib/" + LOADER, "lib/libc.so.6",
                 "lib/libtradepipe.so.0", "lib/libcurl.so.4", "lib/libjansson.so.4"):
        expect(need in names, "%s missing from the zip" % need)
    expect(names.count("bootstrap") == 1 and
           [n for n in names if n.startswith("bin/")] == ["bin/tp-lambda-bootstrap"],
           "bin/ holds more than the program: %r" % names)
    ok("%d entries: bootstrap, bin/tp-lambda-bootstrap, %d in lib/; modes, times, order"
       % (len(names), len(names) - 2))


def unzip(path, task):
    p = subprocess.run(["unzip", "-q", path, "-d", task], capture_output=True, timeout=120)
    expect(p.returncode == 0, "unzip: %s" % p.stderr.decode())
    boot = os.path.join(task, "bootstrap")
    expect(os.stat(boot).st_mode & 0o777 == 0o755, "bootstrap unzipped with mode %o" %
           (os.stat(boot).st_mode & 0o777))
    with open(boot, "rb") as f:
        expect(f.read(10) == b"#!/bin/sh\n", "bootstrap is not a /bin/sh script")
    lib = os.path.join(task, "lib")
    p = subprocess.run(["/usr/bin/env", "-i", os.path.join(lib, LOADER), "--inhibit-cache",
                        "--library-path", lib, "--list",
                        os.path.join(task, "bin", "tp-lambda-bootstrap")],
                       capture_output=True, timeout=60)
    expect(p.returncode == 0, "the bundled loader --list: %s" % p.stderr.decode())
    n = 0
    for line in p.stdout.decode().splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[1] == "=>":
            expect(parts[2].startswith(lib + "/"), "%s resolves outside lib/: %s" %
                   (parts[0], parts[2]))
            n += 1
    expect(n >= 8, "only %d libraries listed" % n)
    ok("unzipped with unzip: bootstrap 0755; the bundled loader finds all %d libraries in lib/"
       % n)


def tick(sym, price, i):
    return ('{"symbol":"%s","price":%s,"volume":10,"timestamp":"2025-10-22T12:00:%02d.000Z"}'
            % (sym, price, i)).encode()


def kinesis_event(ticks):
    recs = []
    for i, data in enumerate(ticks):
        seq = "4959%02d%050d" % (1, 1000 + 7 * i)
        recs.append({
            "kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": "p",
                        "sequenceNumber": seq, "data": base64.b64encode(data).decode(),
                        "approximateArrivalTimestamp": 1761134400.0 + i * 0.25},
            "eventSource": "aws:kinesis", "eventVersion": "1.0",
            "eventID": "%s:%s" % (SHARD, seq), "eventName": "aws:kinesis:record",
            "invokeIdentityArn": "arn:aws:iam::123456789012:role/lambda-role",
            "awsRegion": "us-east-1",
            "eventSourceARN": "arn:aws:kinesis:us-east-1:123456789012:stream/tp-zip-test"})
    return {"Records": recs}


def run_function(task, tmp):
    ddb = boto3.client("dynamodb", endpoint_url=ENV["AWS_ENDPOINT_URL_DYNAMODB"])
    s3 = boto3.client("s3", endpoint_url=ENV["AWS_ENDPOINT_URL_S3"],
                      config=Config(s3={"addressing_style": "path"}))
    for name, key in ((TABLE, "symbol"), (TABLE + "-shards", "shard")):
        ddb.create_table(TableName=name, KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
                         BillingMode="PAY_PER_REQUEST")
        for _ in range(600):
            if ddb.describe_table(TableName=name)["Table"]["TableStatus"] == "ACTIVE":
                break
            time.sleep(0.1)
    s3.create_bucket(Bucket=BUCKET)

    # Window 20, drop 1%, take profit 1.5%: ZA buys 100 at 98, sells at 100 (P&L 200).
    ticks = [tick("ZA", p, i) for i, p in enumerate((100, 100, 100, 98, 99, 100))]
    ticks[2:2] = [tick("ZB", 50, 2), tick("ZB", 51, 3)]
    ev = kinesis_event(ticks)

    queue, out = os.path.join(tmp, "queue"), os.path.join(tmp, "out")
    os.makedirs(queue)
    fixture = subprocess.Popen([sys.executable, FIXTURE, queue, out], stdout=subprocess.PIPE)
    boot = None
    try:
        line = fixture.stdout.readline().decode()
        expect(line.startswith("PORT "), "fixture: %r" % line)
        env = {"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:%d" % int(line.split()[1]),
               "LAMBDA_TASK_ROOT": task,
               "DYNAMODB_TABLE": TABLE, "S3_BUCKET": BUCKET, "S3_PREFIX": PREFIX,
               "TP_DROP_PCT": "1", "TP_TAKE_PROFIT_PCT": "1.5",
               # What Lambda gives the function: region and credentials (the
               # emulators' here), and the endpoints the emulators need.
               **{k: ENV[k] for k in ("AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                      "AWS_SESSION_TOKEN",
                                      "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_S3")}}
        stdout = open(os.path.join(tmp, "stdout"), "wb")
        stderr = open(os.path.join(tmp, "stderr"), "wb")
        boot = subprocess.Popen(["/usr/bin/env", "-i"] + ["%s=%s" % kv for kv in env.items()] +
                                [os.path.join(task, "bootstrap")],
                                stdout=stdout, stderr=stderr, cwd=task)

        def err_text():
            with open(os.path.join(tmp, "stderr"), "rb") as f:
                return f.read().decode(errors="replace")

        def calls():
            try:
                with open(os.path.join(out, "calls.log")) as f:
                    return f.read().split("\n")
            except FileNotFoundError:
                return []

        def wait_for(cond, what, timeout=120):
            t = time.time() + timeout
            while time.time() < t:
                if cond():
                    return
                expect(boot.poll() is None, "the bootstrap exited (%s) waiting for %s:\n%s%s" %
                       (boot.returncode, what, err_text(),
                        open(os.path.join(out, "init.error")).read()
                        if os.path.exists(os.path.join(out, "init.error")) else ""))
                time.sleep(0.02)
            raise AssertionError("timeout waiting for %s:\n%s" % (what, err_text()))

        wait_for(lambda: "next-wait" in calls(), "the first /next")
        with open(os.path.join(queue, ".tmp"), "wb") as f:
            f.write(json.dumps(ev).encode())
        os.rename(os.path.join(queue, ".tmp"), os.path.join(queue, "0001-zip.json"))
        res = os.path.join(out, "0001-zip.response")
        wait_for(lambda: os.path.exists(res) or os.path.exists(os.path.join(out, "0001-zip.error")),
                 "the answer")
        if not os.path.exists(res):
            with open(os.path.join(out, "0001-zip.error")) as f:
                raise AssertionError("an invocation error: %s\n%s" % (f.read(), err_text()))
        with open(res) as f:
            answer = json.load(f)
        expect(answer == {"batchItemFailures": []}, "answer %r" % answer)
        ok("the event of %d records answered %s" % (len(ticks), json.dumps(answer)))
        # Back on /next: the process is the loader running the program; what it maps.
        wait_for(lambda: calls().count("next-wait") >= 2, "the second /next")
        with open("/proc/%d/maps" % boot.pid) as f:
            maps = {l.split()[-1] for l in f if len(l.split()) >= 6 and l.split()[-1].startswith("/")}
        outside = sorted(m for m in maps if not m.startswith(task + "/"))
        expect(not outside, "mapped from outside the package: %r" % outside)
        names = {os.path.basename(m) for m in maps}
        expect({LOADER, "libc.so.6", "libtradepipe.so.0", "tp-lambda-bootstrap"} <= names,
               "not mapped from the package: %r" % sorted(names))
        ok("the running process maps %d files, all from the package (loader and libc included)"
           % len(maps))
        viol = os.path.join(out, "violations.log")
        expect(not os.path.exists(viol), "Runtime API misuse: %s" %
               (open(viol).read() if os.path.exists(viol) else ""))
    finally:
        for p in (boot, fixture):
            if p is not None and p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        fixture.stdout.close()

    items = {}
    for it in ddb.scan(TableName=TABLE, ConsistentRead=True)["Items"]:
        items[it["symbol"]["S"]] = it
    expect(set(items) == {"ZA", "ZB"}, "positions table: %r" % sorted(items))
    za = items["ZA"]
    expect(int(za["quantity"]["N"]) == 0 and Decimal(za["realized_pnl"]["N"]) == 200,
           "ZA position %r" % za)
    expect(int(items["ZB"]["quantity"]["N"]) == 0, "ZB position %r" % items["ZB"])
    st = ddb.get_item(TableName=TABLE + "-shards", Key={"shard": {"S": SHARD}},
                      ConsistentRead=True).get("Item")
    last = ev["Records"][-1]["kinesis"]["sequenceNumber"] + "0000000"
    expect(st is not None and st["sequence"]["S"] == last, "shard state %r" % st)
    ok("dynalite: ZA flat with realized P&L 200, ZB flat, the shard's state at the last record")
    objs = s3.list_objects_v2(Bucket=BUCKET, Prefix=PREFIX + "/completed-trades/").get("Contents", [])
    expect(len(objs) == 1 and objs[0]["Key"].startswith(PREFIX + "/completed-trades/ZA/"),
           "trades in S3: %r" % [o["Key"] for o in objs])
    trade = json.loads(s3.get_object(Bucket=BUCKET, Key=objs[0]["Key"])["Body"].read(),
                       parse_float=Decimal)
    expect(trade["symbol"] == "ZA" and trade["quantity"] == 100 and
           Decimal(trade["pnl"]) == 200, "trade %r" % trade)
    ok("s3rver: the completed trade %s" % objs[0]["Key"][len(PREFIX) + 1:])
    with open(os.path.join(tmp, "stdout"), "rb") as f:
        emf = [json.loads(l) for l in f.read().split(b"\n") if l]
    expect(len(emf) == 1 and emf[0]["Records"] == len(ticks) and emf[0]["Trades"] == 1 and
           emf[0]["Shard"] == SHARD, "EMF %r" % emf)
    ok("one EMF line: Records %d, Trades 1" % len(ticks))


def main():
    with workdir(prefix="tp-lambda-zip-") as tmp:
        path = build_zip(tmp)
        check_entries(path)
        task = os.path.join(tmp, "task")
        os.makedirs(task)
        unzip(path, task)
        run_function(task, tmp)
    print("PASS")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except AssertionError as e:
        print("FAIL: %s" % e, file=sys.stderr)
        sys.exit(1)
