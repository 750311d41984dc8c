#!/usr/bin/env python3
"""tp-lambda-bootstrap against the Runtime API fixture (tests/fixtures/lambda_runtime.py),
dynalite and s3rver.

Usage: test_bootstrap.py BOOTSTRAP TP_CONSUMER TP_GEN KPL_TOOL STATE_DIR

STATE_DIR holds endpoints.env (tests/services/start.sh). Tables and buckets
are made and read back with boto3, not with the library. Kinesis events are
built here in the shape of the AWS documentation's example event (a copy is
tests/fixtures/kinesis_event_aws_sample.json), from records made by tp-gen,
by hand, and KPL-aggregated by kpl_tool (the library's aggregator). What the
bootstrap leaves in DynamoDB and S3 is compared with what
`tp-consumer --source file:PATH` gives on the same ticks.
Prints one line per test and 'N passed, N failed'; exits non-zero on any failure."""
import base64
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
from decimal import Decimal

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "services"))
from emulator_env import CREDENTIALS, emulator_env  # noqa: E402
from testdirs import workdir  # noqa: E402

import boto3
from botocore.config import Config

BOOT, CONSUMER, GEN, KPL_TOOL, STATE = sys.argv[1:6]
HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "..", "fixtures", "lambda_runtime.py")
SAMPLE = os.path.join(HERE, "..", "fixtures", "kinesis_event_aws_sample.json")
ENGINE_ENV = {"TP_DROP_PCT": "1", "TP_TAKE_PROFIT_PCT": "1.5"}
ENGINE_ARGS = ["--drop-pct", "1", "--take-profit-pct", "1.5"]
RUN = uuid.uuid4().hex[:8]
TABLE = "tp-lambda-%s" % RUN
BUCKET = "tp-lambda-%s" % RUN
PREFIX = "trades/run-%s" % RUN


def load_env():
    return emulator_env(STATE, unset=(
        "DYNAMODB_TABLE", "S3_BUCKET", "S3_PREFIX", "STATE_TABLE", "TP_WINDOW", "TP_DROP_PCT",
        "TP_TAKE_PROFIT_PCT", "TP_STOP_LOSS_PCT", "TP_ORDER_SIZE", "TP_MAX_SYMBOLS",
        "TP_DEADLINE_MARGIN_MS"))


ENV = load_env()
os.environ.update({k: ENV[k] for k in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE",
                                       "AWS_EC2_METADATA_DISABLED", "no_proxy", "NO_PROXY")})
for k in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
    os.environ.pop(k, None)
KW = dict(region_name="us-east-1", aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
          aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
          aws_session_token=CREDENTIALS["AWS_SESSION_TOKEN"])
DDB = boto3.client("dynamodb", endpoint_url=ENV["AWS_ENDPOINT_URL_DYNAMODB"], **KW)
S3 = boto3.client("s3", endpoint_url=ENV["AWS_ENDPOINT_URL_S3"],
                  config=Config(s3={"addressing_style": "path"}), **KW)


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


# ---- tables, bucket, reading back ------------------------------------------------------------

def create_table(name, key):
    DDB.create_table(TableName=name, KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")
    for _ in range(600):
        if DDB.describe_table(TableName=name)["Table"]["TableStatus"] == "ACTIVE":
            return
        time.sleep(0.1)
    raise AssertionError("table %s never ACTIVE" % name)


def scan(table):
    items, kw = [], {"TableName": table, "ConsistentRead": True}
    while True:
        r = DDB.scan(**kw)
        items += r["Items"]
        if "LastEvaluatedKey" not in r:
            return items
        kw["ExclusiveStartKey"] = r["LastEvaluatedKey"]


def state_item(shard, table=None):
    r = DDB.get_item(TableName=table or TABLE + "-shards", Key={"shard": {"S": shard}},
                     ConsistentRead=True)
    return r.get("Item")


def positions(symbols, table=None):
    """symbol -> (quantity, entry price or None, realized P&L), from the positions table."""
    out = {}
    for it in scan(table or TABLE):
        s = it["symbol"]["S"]
        if s in symbols:
            out[s] = (int(it["quantity"]["N"]),
                      Decimal(it["entry_price"]["N"]) if "entry_price" in it else None,
                      Decimal(it["realized_pnl"]["N"]))
    return out


def objects(bucket=None, prefix=""):
    """key -> (ETag, LastModified, body) of every object of the bucket under `prefix`."""
    out, kw = {}, {"Bucket": bucket or BUCKET, "Prefix": prefix}
    while True:
        r = S3.list_objects_v2(**kw)
        for o in r.get("Contents", []):
            body = S3.get_object(Bucket=kw["Bucket"], Key=o["Key"])["Body"].read()
            out[o["Key"]] = (o["ETag"], o["LastModified"], body)
        if not r.get("IsTruncated"):
            return out
        kw["ContinuationToken"] = r["NextContinuationToken"]


def trade_tuple(doc):
    j = json.loads(doc, parse_float=Decimal)
    return (j["symbol"], j["quantity"], Decimal(j["entry"]["price"]), j["entry"]["time"],
            Decimal(j["exit"]["price"]), j["exit"]["time"], Decimal(j["pnl"]), j["reason"])


def s3_trades(symbols, bucket=None):
    out = []
    for k, (_, _, body) in objects(bucket, PREFIX + "/completed-trades/").items():
        t = trade_tuple(body)
        if t[0] in symbols:
            out.append(t)
    return sorted(out)


# ---- the reference: tp-consumer replaying the same ticks ------------------------------------

def replay(lines, symbols):
    """Positions and trades tp-consumer --source file:PATH gives on `lines` (NDJSON ticks)."""
    with workdir() as d:
        src = os.path.join(d, "ticks.ndjson")
        with open(src, "wb") as f:
            f.write(b"".join(l + b"\n" for l in lines))
        p = subprocess.run([CONSUMER, "--source", "file:" + src, "--events",
                            "file:" + os.path.join(d, "ev"), "--positions",
                            "file:" + os.path.join(d, "pos"), "--trades",
                            "file:" + os.path.join(d, "tr")] + ENGINE_ARGS,
                           capture_output=True, timeout=120)
        expect(p.returncode == 0, "tp-consumer: %d %s" % (p.returncode, p.stderr.decode()))
        pos = {}
        with open(os.path.join(d, "pos")) as f:
            for line in f.readlines()[1:]:
                j = json.loads(line)
                if j["symbol"] in symbols:
                    pos[j["symbol"]] = (j["quantity"],
                                        Decimal(j["entry_price"]) if j["quantity"] else None,
                                        Decimal(j["realized_pnl"]))
        trades = []
        for root, _, files in os.walk(os.path.join(d, "tr")):
            for name in files:
                with open(os.path.join(root, name), "rb") as f:
                    t = trade_tuple(f.read())
                if t[0] in symbols:
                    trades.append(t)
        return pos, sorted(trades)


# ---- Kinesis records and events ---------------------------------------------------------------

class Rec:
    """One Kinesis record: its sequence number, data, and the ticks (NDJSON lines) it carries."""

    def __init__(self, seq, data, ticks, aggregated=False):
        self.seq, self.data, self.ticks, self.aggregated = seq, data, ticks, aggregated

    def user_seq(self, sub):
        return "%s%07d" % (self.seq, sub)

    def last_user_seq(self):
        return self.user_seq(len(self.ticks) - 1 if self.aggregated else 0)


def seqno(shard_n, i):
    """A 56-digit sequence number, increasing with i, as Kinesis makes them."""
    return "4959%02d%050d" % (shard_n, 1000 + 7 * i)


def aggregate(lines):
    """A KPL aggregated record of `lines` (partition key: the symbol), by kpl_tool."""
    inp = "".join("%s - %s\n" % (json.loads(l)["symbol"].encode().hex(), l.hex())
                  for l in lines)
    p = subprocess.run([KPL_TOOL, "agg"], input=inp.encode(), capture_output=True, timeout=60,
                       check=True)
    out = p.stdout.decode().split("\n")
    expect(len(out) == 2 and out[0].startswith("OK "), "kpl_tool: %r" % out)
    blob = bytes.fromhex(out[0].split(" ")[1])
    expect(blob[:4] == b"\xf3\x89\x9a\xc2", "not an aggregate")
    return blob


def records(shard_n, lines, start=0, aggregate_every=0, agg_size=5):
    """Kinesis records for `lines`: one a line, but every `aggregate_every`-th record is a KPL
    aggregate of the next `agg_size` lines."""
    out, i, k = [], 0, start
    while i < len(lines):
        if aggregate_every and k % aggregate_every == aggregate_every - 1 and \
                i + agg_size <= len(lines):
            chunk = lines[i:i + agg_size]
            out.append(Rec(seqno(shard_n, k), aggregate(chunk), chunk, True))
            i += agg_size
        else:
            out.append(Rec(seqno(shard_n, k), lines[i], [lines[i]]))
            i += 1
        k += 1
    return out


def event(shard, recs, t0=1761134400.0):
    return {"Records": [{
        "kinesis": {"kinesisSchemaVersion": "1.0",
                    "partitionKey": "p",
                    "sequenceNumber": r.seq,
                    "data": base64.b64encode(r.data).decode(),
                    "approximateArrivalTimestamp": round(t0 + i * 0.25, 3)},
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": "%s:%s" % (shard, r.seq),
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": "arn:aws:iam::123456789012:role/lambda-role",
        "awsRegion": "us-east-1",
        "eventSourceARN": "arn:aws:kinesis:us-east-1:123456789012:stream/tp-lambda-test",
    } for i, r in enumerate(recs)]}


def gen_lines(n, seed, prefix):
    """n ticks from tp-gen, their symbols renamed PREFIX+symbol (each test its own symbols)."""
    p = subprocess.run([GEN, "--records", str(n), "--seed", str(seed), "--format", "ndjson"],
                       capture_output=True, check=True, timeout=60)
    return [l.replace(b'"symbol":"', b'"symbol":"' + prefix.encode())
            for l in p.stdout.split(b"\n") if l]


def symbols_of(lines):
    return {json.loads(l)["symbol"] for l in lines}


def tick(sym, price, ts):
    return ('{"symbol":"%s","price":%s,"volume":10,"timestamp":"2025-10-22T12:00:%02d.000Z"}' %
            (sym, price, ts)).encode()


# ---- the bootstrap behind the Runtime API fixture -------------------------------------------

class Lambda:
    """The fixture and the bootstrap, started together; stopped by close() (killed by PID)."""

    def __init__(self, extra_env=None, deadline_ms=900000, wait_ready=True):
        self.dir = tempfile.mkdtemp(prefix="tp-lambda-test-")
        self.queue = os.path.join(self.dir, "queue")
        self.out = os.path.join(self.dir, "out")
        os.makedirs(self.queue)
        os.makedirs(self.out)
        self.n = 0
        self.fixture = subprocess.Popen([sys.executable, FIXTURE, self.queue, self.out,
                                         "--deadline-ms=%d" % deadline_ms],
                                        stdout=subprocess.PIPE)
        line = self.fixture.stdout.readline().decode()
        expect(line.startswith("PORT "), "fixture: %r" % line)
        e = dict(ENV)
        e.update({"DYNAMODB_TABLE": TABLE, "S3_BUCKET": BUCKET, "S3_PREFIX": PREFIX})
        e.update(ENGINE_ENV)
        for k, v in (extra_env or {}).items():
            if v is None:
                e.pop(k, None)
            else:
                e[k] = v
        e["AWS_LAMBDA_RUNTIME_API"] = "127.0.0.1:%d" % int(line.split()[1])
        self.stdout = open(os.path.join(self.dir, "stdout"), "wb")
        self.stderr = open(os.path.join(self.dir, "stderr"), "wb")
        self.boot = subprocess.Popen([BOOT], env=e, stdout=self.stdout, stderr=self.stderr)
        if wait_ready:
            self.wait_for(lambda: "next-wait" in self.calls(), "the first /next")

    def calls(self):
        try:
            with open(os.path.join(self.out, "calls.log")) as f:
                return f.read().split("\n")
        except FileNotFoundError:
            return []

    def stderr_text(self):
        with open(os.path.join(self.dir, "stderr"), "rb") as f:
            return f.read().decode(errors="replace")

    def wait_for(self, cond, what, timeout=120):
        t = time.time() + timeout
        while time.time() < t:
            if cond():
                return
            if self.boot.poll() is not None and not cond():
                raise AssertionError("the bootstrap exited (%d) waiting for %s:\n%s" %
                                     (self.boot.returncode, what, self.stderr_text()))
            time.sleep(0.02)
        raise AssertionError("timeout waiting for %s:\n%s" % (what, self.stderr_text()))

    def invoke(self, body, name="event"):
        """Queue one event (a dict, or raw bytes); return ("response", doc) or
        ("error", doc, error type) once the bootstrap answered."""
        self.n += 1
        rid = "%04d-%s" % (self.n, name)
        tmp = os.path.join(self.queue, ".tmp")
        with open(tmp, "wb") as f:
            f.write(body if isinstance(body, bytes) else json.dumps(body).encode())
        os.rename(tmp, os.path.join(self.queue, rid + ".json"))
        res, err = os.path.join(self.out, rid + ".response"), os.path.join(self.out, rid + ".error")
        self.wait_for(lambda: os.path.exists(res) or os.path.exists(err), "the answer to " + rid)
        if os.path.exists(res):
            with open(res, "rb") as f:
                return ("response", json.loads(f.read()))
        with open(err, "rb") as f:
            doc = json.loads(f.read())
        with open(os.path.join(self.out, rid + ".error-type")) as f:
            return ("error", doc, f.read())

    def metrics(self):
        """The EMF lines printed so far."""
        self.stdout.flush()
        with open(os.path.join(self.dir, "stdout"), "rb") as f:
            return [json.loads(l) for l in f.read().split(b"\n") if l]

    def close(self):
        for p in (self.boot, self.fixture):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        self.fixture.stdout.close()
        self.stdout.close()
        self.stderr.close()
        viol = os.path.join(self.out, "violations.log")
        expect(not os.path.exists(viol), "Runtime API misuse: %s" %
               (open(viol).read() if os.path.exists(viol) else ""))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def ok_response(r, what):
    expect(r[0] == "response" and r[1] == {"batchItemFailures": []}, "%s: %r" % (what, r))


def failed_at(r, seq, what):
    expect(r[0] == "response" and r[1] == {"batchItemFailures": [{"itemIdentifier": seq}]},
           "%s: expected a failure at %s, got %r" % (what, seq, r))


def check_emf(m, shard):
    aws = m["_aws"]
    expect(isinstance(aws["Timestamp"], int), "EMF Timestamp %r" % aws)
    d = aws["CloudWatchMetrics"][0]
    expect(d["Namespace"] == "tradepipe" and d["Dimensions"] == [["Shard"]], "EMF %r" % d)
    names = [x["Name"] for x in d["Metrics"]]
    for n in ("Records", "Ticks", "Signals", "Trades", "RealizedPnl", "Duplicates",
              "IteratorAgeMilliseconds", "BatchLatencyMilliseconds"):
        expect(n in names and isinstance(m[n], (int, float)), "EMF metric %s: %r" % (n, m))
    expect(m["Shard"] == shard, "EMF shard %r" % m)


# ---- the tests ---------------------------------------------------------------------------------

def test_clean_batches_equal_replay(ctx):
    """Three batches (the second one overlapping the first, as a retry would), plain and KPL
    records: every batch answers no failure, and positions and trades equal the replay's."""
    shard = "shardId-000000000001"
    lines = gen_lines(900, 7, "C")
    syms = symbols_of(lines)
    recs = records(1, lines, aggregate_every=40)
    expect(any(r.aggregated for r in recs), "no aggregate built")
    batches = [recs[0:150], recs[140:320], recs[320:]]
    with Lambda() as L:
        for i, b in enumerate(batches):
            ok_response(L.invoke(event(shard, b), "clean%d" % i), "batch %d" % i)
        ms = L.metrics()
    pos, trades = replay(lines, syms)
    expect(len(trades) >= 3, "the replay should make trades (%d)" % len(trades))
    got = positions(syms)
    expect(got == pos, "positions differ:\n%r\n%r" % (got, pos))
    st = s3_trades(syms)
    expect(st == trades, "trades differ:\n%r\n%r" % (st, trades))
    item = state_item(shard)
    expect(item["sequence"]["S"] == recs[-1].last_user_seq(),
           "state sequence %s, last record %s" % (item["sequence"]["S"], recs[-1].last_user_seq()))
    expect(len(item["sequence"]["S"]) == 63 and "B" in item["state"] and "S" in item["updated"],
           "state item %r" % {k: v for k, v in item.items() if k != "state"})
    expect(len(ms) == 3, "one EMF line per batch: %d" % len(ms))
    for m in ms:
        check_emf(m, shard)
    expect([m["Records"] for m in ms] == [len(b) for b in batches], "Records %r" % ms)
    expect(sum(m["Ticks"] for m in ms) == len(lines), "Ticks %r" % [m["Ticks"] for m in ms])
    overlap = sum(len(r.ticks) for r in recs[140:150])
    expect([m["Duplicates"] for m in ms] == [0, overlap, 0], "Duplicates %r" % ms)
    expect(sum(m["Trades"] for m in ms) == len(trades), "Trades %r" % ms)
    expect(sum(Decimal(str(m["RealizedPnl"])) for m in ms) == sum(t[6] for t in trades),
           "RealizedPnl %r" % ms)
    ctx["clean"] = (shard, batches)


def test_poisoned_record(ctx):
    """A malformed record in the middle: the answer names it alone, the records before it took
    effect and nothing after it; an aggregate with one bad user record is poisoned whole; once
    the poisoned record is skipped (as Lambda does after its retries), the rest applies."""
    shard = "shardId-000000000002"
    lines = gen_lines(400, 11, "P")
    syms = symbols_of(lines)
    recs = records(2, lines)
    bad = 37
    recs[bad] = Rec(recs[bad].seq, b'{"symbol":"PAAPL","price":"x"', [])
    with Lambda() as L:
        r = L.invoke(event(shard, recs[0:120]), "poisoned")
        failed_at(r, recs[bad].seq, "poisoned batch")
        before = [t for rec in recs[:bad] for t in rec.ticks]
        pos, trades = replay(before, syms)
        expect(positions(syms) == pos, "positions after the poisoned batch:\n%r\n%r" %
               (positions(syms), pos))
        expect(s3_trades(syms) == trades, "trades after the poisoned batch")
        expect(state_item(shard)["sequence"]["S"] == recs[bad - 1].last_user_seq(),
               "state sequence after the poisoned batch")
        # Lambda's retry from the failed record: the same answer, nothing changes.
        r = L.invoke(event(shard, recs[bad:120]), "poisoned-retry")
        failed_at(r, recs[bad].seq, "retry of the poisoned suffix")
        expect(positions(syms) == pos, "positions after the retry")
        # Past the poisoned record (its retries exhausted), the rest applies.
        ok_response(L.invoke(event(shard, recs[bad + 1:200]), "after-poison"), "after poison")
        # An aggregate with one malformed user record is poisoned whole.
        agg_lines = [t for rec in recs[200:205] for t in rec.ticks]
        broken = agg_lines[:2] + [b'{"symbol":"PMSFT"}'] + agg_lines[2:]
        agg = Rec(recs[200].seq, aggregate(broken), broken, True)
        r = L.invoke(event(shard, [agg] + recs[205:260]), "bad-aggregate")
        failed_at(r, agg.seq, "aggregate with a bad user record")
        expect(state_item(shard)["sequence"]["S"] == recs[199].last_user_seq(),
               "no user record of the bad aggregate applied")
        ms = L.metrics()
        expect([m["Poisoned"] for m in ms] == [1, 1, 0, 1], "Poisoned %r" % ms)
        # Then the rest (the aggregate skipped as Lambda would skip it).
        ok_response(L.invoke(event(shard, recs[205:]), "rest"), "the rest")
    good = [t for i, rec in enumerate(recs) if i != bad and not 200 <= i < 205 for t in rec.ticks]
    pos, trades = replay(good, syms)
    expect(positions(syms) == pos, "final positions:\n%r\n%r" % (positions(syms), pos))
    expect(s3_trades(syms) == trades, "final trades")
    ctx["poisoned"] = (shard, recs[0:bad])


def snapshot():
    def items(table):
        return sorted(json.dumps(i, sort_keys=True, default=bytes.hex) for i in scan(table))
    return items(TABLE), items(TABLE + "-shards"), objects()


def test_redelivery_changes_nothing(ctx):
    """Every batch delivered again: no failure, no tick applied, and DynamoDB and S3 are the
    same item by item (attributes, write times, ETags, LastModified, bodies)."""
    before = snapshot()
    expect(before[0] and before[1] and before[2], "nothing stored yet")
    time.sleep(1.1)  # a rewrite would show in updated_at, updated and LastModified
    shard, batches = ctx["clean"]
    pshard, prefix = ctx["poisoned"]
    with Lambda() as L:
        for i, b in enumerate(batches):
            ok_response(L.invoke(event(shard, b), "again%d" % i), "redelivered batch %d" % i)
        ok_response(L.invoke(event(pshard, prefix), "again-p"), "redelivered prefix")
        ms = L.metrics()
    expect(all(m["Ticks"] == 0 and m["Trades"] == 0 for m in ms), "ticks applied again: %r" % ms)
    expect(ms[0]["Duplicates"] == sum(len(r.ticks) for r in batches[0]), "Duplicates %r" % ms)
    after = snapshot()
    for what, a, b in zip(("positions", "shard states", "objects"), before, after):
        expect(a == b, "%s changed on redelivery" % what)


def test_init_errors(ctx):
    """A bad or missing setting, and a bucket that is not there, go to /runtime/init/error
    before any /next, and the bootstrap exits 1."""
    cases = [({"TP_DROP_PCT": "abc"}, "Runtime.BadConfig", "TP_DROP_PCT"),
             ({"TP_WINDOW": "0"}, "Runtime.BadConfig", "TP_WINDOW"),
             ({"TP_DROP_PCT": "150"}, "Runtime.BadConfig", "TP_DROP_PCT"),
             ({"TP_ORDER_SIZE": "-5"}, "Runtime.BadConfig", "TP_ORDER_SIZE"),
             ({"S3_BUCKET": None}, "Runtime.BadConfig", "S3_BUCKET"),
             ({"DYNAMODB_TABLE": "x"}, "Runtime.BadConfig", "DYNAMODB_TABLE"),
             ({"S3_BUCKET": "tp-lambda-missing-" + RUN}, "Runtime.StoreUnavailable",
              "tp-lambda-missing-" + RUN),
             ({"STATE_TABLE": "tp-lambda-missing-" + RUN}, "Runtime.StoreUnavailable",
              "tp-lambda-missing-" + RUN)]
    for env, etype, mention in cases:
        L = Lambda(env, wait_ready=False)
        try:
            L.boot.wait(60)
            init = os.path.join(L.out, "init.error")
            expect(L.boot.returncode == 1, "%r: exit %r" % (env, L.boot.returncode))
            expect(os.path.exists(init), "%r: no init error posted\n%s" % (env, L.stderr_text()))
            with open(init) as f:
                doc = json.load(f)
            with open(init + "-type") as f:
                htype = f.read()
            expect(doc["errorType"] == etype and htype == etype and mention in doc["errorMessage"],
                   "%r: %r %r" % (env, doc, htype))
            expect(not any(c.startswith("next") for c in L.calls()), "%r: /next after init error")
            expect(CREDENTIALS["AWS_SECRET_ACCESS_KEY"] not in L.stderr_text() + doc["errorMessage"]
                   and CREDENTIALS["AWS_SESSION_TOKEN"] not in L.stderr_text() + doc["errorMessage"],
                   "a secret printed")
        finally:
            L.close()


def test_aws_documentation_sample(ctx):
    """The AWS documentation's example event: its data are not trades, so its first record is
    poisoned and nothing is stored for its shard."""
    with open(SAMPLE) as f:
        sample = json.load(f)
    with Lambda() as L:
        r = L.invoke(sample, "aws-sample")
        failed_at(r, sample["Records"][0]["kinesis"]["sequenceNumber"], "the AWS sample")
        m = L.metrics()[-1]
    check_emf(m, "shardId-000000000006")
    expect(m["Records"] == 2 and m["Poisoned"] == 1 and m["Ticks"] == 0, "EMF %r" % m)
    expect(m["IteratorAgeMilliseconds"] > 200000000000 // 100, "iterator age of a 2018 record: %r" % m)
    expect(state_item("shardId-000000000006") is None, "a state stored for the sample's shard")


def test_invalid_events(ctx):
    """What is not a Kinesis batch is an invocation error; the next event is served."""
    with Lambda() as L:
        nocolon = event("shardId-000000000009", records(9, [tick("IA", 1, 1)]))
        nocolon["Records"][0]["eventID"] = "shardId-000000000009"
        badseq = event("shardId-000000000009", records(9, [tick("IA", 1, 1)]))
        badseq["Records"][0]["kinesis"]["sequenceNumber"] = "0123"
        for body in (b"not json", b"{}", json.dumps({"Records": [{"eventID": "x"}]}).encode(),
                     json.dumps(nocolon).encode(), json.dumps(badseq).encode()):
            r = L.invoke(body, "invalid")
            expect(r[0] == "error" and r[2] == "Runtime.InvalidEvent" and
                   r[1]["errorType"] == "Runtime.InvalidEvent" and r[1]["errorMessage"],
                   "invalid event %r: %r" % (body[:40], r))
        mixed = event("shardId-000000000009", records(9, [tick("IA", 1, 1), tick("IA", 2, 2)]))
        mixed["Records"][1]["eventID"] = mixed["Records"][1]["eventID"].replace("09:", "08:")
        r = L.invoke(mixed, "mixed")
        expect(r[0] == "error" and "shard" in r[1]["errorMessage"], "two shards: %r" % (r,))
        ok_response(L.invoke({"Records": []}, "empty"), "an empty batch")
        ok_response(L.invoke(event("shardId-000000000009", records(9, [tick("IA", 5, 1)])),
                              "valid"), "a valid batch after invalid ones")


def s7_ticks(sym):
    # window 20, drop 1%, take profit 1.5%: a buy at 98 (record 3), a sell at 100 (record 5)
    return [tick(sym, p, i) for i, p in enumerate((100, 100, 100, 98, 99, 100, 101))]


def test_s3_failure_names_first_record_not_durable(ctx):
    """S3 refuses the trade of record 5 (the bucket deleted after init): the records before it
    are durable and the answer names record 5; with the bucket back, the retry completes."""
    bucket = "tp-lambda-s7-%s" % RUN
    S3.create_bucket(Bucket=bucket)
    shard = "shardId-000000000007"
    lines = s7_ticks("S7X")
    recs = records(7, lines)
    with Lambda({"S3_BUCKET": bucket}) as L:
        S3.delete_bucket(Bucket=bucket)
        r = L.invoke(event(shard, recs), "s3-down")
        failed_at(r, recs[5].seq, "S3 down")
        expect(state_item(shard)["sequence"]["S"] == recs[4].last_user_seq(),
               "state after an S3 failure")
        pos, _ = replay(lines[:5], {"S7X"})
        expect(positions({"S7X"}) == pos, "positions after an S3 failure")
        S3.create_bucket(Bucket=bucket)
        ok_response(L.invoke(event(shard, recs[5:]), "s3-back"), "S3 back")
    pos, trades = replay(lines, {"S7X"})
    expect(len(trades) == 1 and positions({"S7X"}) == pos, "after the retry")
    expect(s3_trades({"S7X"}, bucket) == trades, "the trade in S3")


def test_dynamodb_failure_names_first_record(ctx):
    """The positions table gone after init: nothing is saved, the answer names the batch's first
    record, and the shard's state is not written."""
    table = "tp-lambda-t8-%s" % RUN
    create_table(table, "symbol")
    create_table(table + "-shards", "shard")
    shard = "shardId-000000000008"
    recs = records(8, [tick("D8X", 100 + i, i) for i in range(10)])
    with Lambda({"DYNAMODB_TABLE": table}) as L:
        DDB.delete_table(TableName=table)
        for _ in range(600):
            try:
                DDB.describe_table(TableName=table)
            except DDB.exceptions.ResourceNotFoundException:
                break
            time.sleep(0.1)
        r = L.invoke(event(shard, recs), "ddb-down")
        failed_at(r, recs[0].seq, "DynamoDB down")
        expect("D8X" in L.stderr_text() or table in L.stderr_text(), "no diagnostic")
    expect(state_item(shard, table + "-shards") is None, "a state saved without positions")


def test_deadline_passed(ctx):
    """An invocation whose deadline is already past applies nothing and names its first record."""
    shard = "shardId-000000000010"
    recs = records(10, [tick("DLX", 100, i) for i in range(5)])
    with Lambda(deadline_ms=-1000) as L:
        failed_at(L.invoke(event(shard, recs), "late"), recs[0].seq, "past deadline")
    expect(state_item(shard) is None, "a state saved past the deadline")


def test_two_invocations_of_one_shard_converge(ctx):
    """Two bootstraps given the same batch at the same time: whichever wins, the loser's answer
    names the batch's first record (or it finds everything applied), and once its batch is
    redelivered the result equals the replay."""
    shard = "shardId-000000000011"
    lines = gen_lines(600, 23, "K")
    syms = symbols_of(lines)
    recs = records(11, lines, aggregate_every=25)
    ev = event(shard, recs)
    with Lambda() as A, Lambda() as B:
        out = {}
        ts = [threading.Thread(target=lambda k, L: out.__setitem__(k, L.invoke(ev, "race")),
                               args=(k, L)) for k, L in (("a", A), ("b", B))]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        for k, L in (("a", A), ("b", B)):
            r = out[k]
            expect(r[0] == "response" and r[1]["batchItemFailures"] in
                   ([], [{"itemIdentifier": recs[0].seq}]), "%s: %r" % (k, r))
            if r[1]["batchItemFailures"]:
                ok_response(L.invoke(ev, "redelivered"), "%s redelivered" % k)
        print("     (race: %s)" % ", ".join(
            "%s %s" % (k, "failed, redelivered" if out[k][1]["batchItemFailures"] else "ok")
            for k in ("a", "b")), flush=True)
    pos, trades = replay(lines, syms)
    expect(positions(syms) == pos, "positions after the race")
    expect(s3_trades(syms) == trades, "trades after the race")
    expect(state_item(shard)["sequence"]["S"] == recs[-1].last_user_seq(), "state after the race")


def test_engine_refusal_poisons_record(ctx):
    """A tick the engine refuses (a third symbol past TP_MAX_SYMBOLS=2) poisons its record: an
    aggregate whose first user records were applied before the refusal leaves none of them
    applied, and the records before it are durable."""
    shard = "shardId-000000000014"
    first = [tick("MA", 100, 0), tick("MB", 50, 1), tick("MA", 101, 2)]
    agg_lines = [tick("MA", 102, 3), tick("MB", 51, 4), tick("MC", 10, 5)]
    recs = records(14, first)
    agg = Rec(seqno(14, 3), aggregate(agg_lines), agg_lines, True)
    tail = Rec(seqno(14, 4), tick("MA", 103, 6), [tick("MA", 103, 6)])
    with Lambda({"TP_MAX_SYMBOLS": "2"}) as L:
        failed_at(L.invoke(event(shard, recs + [agg, tail]), "refused"), agg.seq, "refused tick")
        m = L.metrics()[-1]
        expect(m["Poisoned"] == 1 and m["Ticks"] == 3, "EMF %r" % m)
        expect("MC" in L.stderr_text(), "the refusal is not logged:\n" + L.stderr_text())
    expect(state_item(shard)["sequence"]["S"] == recs[-1].last_user_seq(), "state sequence")
    pos, _ = replay(first, {"MA", "MB"})
    expect(positions({"MA", "MB", "MC"}) == pos, "positions %r" % positions({"MA", "MB", "MC"}))


def test_reshard_child_continues_parent(ctx):
    """After a reshard the child shard's first batch finds no state of its own: its symbols go on
    from their items in the positions table (the parent's last state), so the result equals one
    replay of the parent's ticks then the child's."""
    lines = gen_lines(700, 31, "R")
    syms = symbols_of(lines)
    parent, child = records(12, lines[:350]), records(13, lines[350:])
    with Lambda() as L:
        ok_response(L.invoke(event("shardId-000000000012", parent), "parent"), "parent")
        held = positions(syms)
        expect(any(q for q, _, _ in held.values()), "no open position to carry over: %r" % held)
        ok_response(L.invoke(event("shardId-000000000013", child), "child"), "child")
    pos, trades = replay(lines, syms)
    expect(positions(syms) == pos, "positions after the reshard:\n%r\n%r" % (positions(syms), pos))
    expect(s3_trades(syms) == trades, "trades after the reshard")


def main():
    create_table(TABLE, "symbol")
    create_table(TABLE + "-shards", "shard")
    S3.create_bucket(Bucket=BUCKET)
    ctx = {}
    passed = failed = 0
    order = ["test_clean_batches_equal_replay", "test_poisoned_record",
             "test_redelivery_changes_nothing"]
    names = order + sorted(k for k in globals() if k.startswith("test_") and k not in order)
    for name in names:
        try:
            globals()[name](ctx)
            passed += 1
            print("ok   %s" % name, flush=True)
        except Exception:
            failed += 1
            print("FAIL %s" % name, flush=True)
            traceback.print_exc()
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


main()
