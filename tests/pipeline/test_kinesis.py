#!/usr/bin/python3
"""The consumer on the emulators (kinesalite, dynalite, s3rver), as issue 11
asks, each case checked against an offline replay of the same records.

usage: test_kinesis.py BIN_DIR SERVICES_STATE [CASE ...]
CASE: workers (two workers share a 4-shard stream, one is killed with
SIGKILL, the other takes its leases over, a shard is split mid-stream),
crashes (kill -9 at random points and restart, 20 cycles), firehose
(tp-firehose objects smaller than a KPL aggregate), emulators
(scripts/run-local --emulators gives the local run's report.json).

Positions are read from DynamoDB and trades from S3 with botocore, the
independent client; the expected ones come from `tp-consumer --source
file:PATH` replaying the producer's records (tp-producer --to - with the
same options). Programs started here are stopped by their PID."""
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "services"))
from emulator_env import emulator_env  # noqa: E402
import effects  # noqa: E402  (tests/pipeline/effects.py, beside this file)

import boto3

BIN, STATE = sys.argv[1], sys.argv[2]
CASES = sys.argv[3:] or ["workers", "crashes", "firehose", "emulators"]
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUN = "%d" % os.getpid()
procs = []


def env():
    return emulator_env(STATE, direct=True)


ENV = env()
os.environ.update(ENV)
ddb = boto3.client("dynamodb", endpoint_url=ENV["AWS_ENDPOINT_URL_DYNAMODB"])
s3 = boto3.client("s3", endpoint_url=ENV["AWS_ENDPOINT_URL_S3"])
kinesis = boto3.client("kinesis", endpoint_url=ENV["AWS_ENDPOINT_URL_KINESIS"])


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def prog(name):
    return os.path.join(BIN, name)


def run(args, **kw):
    p = subprocess.run(args, env=ENV, capture_output=True, text=True, timeout=600, **kw)
    check(p.returncode == 0, "%s failed (%d): %s" % (args[0], p.returncode, p.stderr[-2000:]))
    return p


def start(args, log):
    p = subprocess.Popen(args, env=ENV, stdout=subprocess.DEVNULL, stderr=open(log, "a"))
    procs.append(p)
    return p


def stop_all():
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()


def scan(table):
    return effects.scan(ddb, table)


def consumed(lease_table):
    return effects.consumed(ddb, lease_table)


def expected(work, prod_args):
    """Replay the producer's records offline through the same engine."""
    recs = os.path.join(work, "records.ndjson")
    with open(recs, "w") as f:
        for a in prod_args:
            p = subprocess.run([prog("tp-producer"), "--to", "-"] + a, env=ENV,
                               stdout=f, stderr=subprocess.PIPE, timeout=600)
            check(p.returncode == 0, "tp-producer --to -: %s" % p.stderr)
    return effects.replay(prog("tp-consumer"), recs, work, env=ENV)


def actual(positions_table, bucket):
    return effects.actual(ddb, s3, positions_table, bucket)


def compare(got, want, what):
    why = effects.differences(got, want)
    check(why is None, "%s: %s" % (what, why))
    print("%s: %d symbols, %d trades, equal to the offline replay" % (what, len(got[0]),
                                                                       len(got[1])))


def wait_consumed(lease_table, n, what, timeout=240, alive=()):
    deadline = time.time() + timeout
    got = 0
    while time.time() < deadline:
        got = consumed(lease_table)
        if got >= n:
            check(got == n, "%s: %d records consumed, %d produced" % (what, got, n))
            return
        for p in alive:
            check(p.poll() is None, "%s: a worker died (exit %s)" % (what, p.returncode))
        time.sleep(0.3)
    raise AssertionError("%s: %d of %d records consumed in %d s" % (what, got, n, timeout))


def consumer_args(stream, positions, bucket, leases, worker, log_status):
    return [prog("tp-consumer"), "--source", "kinesis://" + stream, "--follow",
            "--positions", "dynamodb://" + positions, "--trades", "s3://" + bucket,
            "--checkpoints", "dynamodb://" + leases, "--worker-id", worker,
            "--failover-ms", "2000", "--status", log_status, "--metrics", "file:" + log_status
            + ".emf"]


def case_workers(work):
    stream, positions, leases, bucket = ("tpw-" + RUN, "tpw-pos-" + RUN, "tpw-leases-" + RUN,
                                         "tpw-" + RUN)
    s3.create_bucket(Bucket=bucket)
    STREAMS.append(stream)
    half = ["--count", "6000", "--seed", "11", "--rate", "0"]
    run([prog("tp-producer"), "--to", "kinesis://" + stream, "--shards", "4"] + half)
    a = start(consumer_args(stream, positions, bucket, leases, "worker-a", work + "/a.json"),
              work + "/a.log")
    b = start(consumer_args(stream, positions, bucket, leases, "worker-b", work + "/b.json"),
              work + "/b.log")
    # The local Firehose follows the same stream through the reshard.
    fh = start([prog("tp-firehose"), "--source", "kinesis://" + stream, "--out", work + "/fh",
                "--follow", "--buffer-seconds", "1", "--status", work + "/fh.json"],
               work + "/fh.log")
    # Both working, then one killed outright.
    deadline, owners = time.time() + 60, set()
    while time.time() < deadline:
        try:
            items = scan(leases)
        except ddb.exceptions.ResourceNotFoundException:
            items = []
        owners = {it.get("leaseOwner", {}).get("S") for it in items}
        a_done = [it for it in items if it.get("leaseOwner", {}).get("S") == "worker-a"
                  and it["checkpoint"]["S"].isdigit()]
        if {"worker-a", "worker-b"} <= owners and a_done:
            break  # both at work, and a has checkpointed a shard b must resume
        time.sleep(0.3)
    check({"worker-a", "worker-b"} <= owners, "the two workers did not share the shards: %s"
          % owners)
    a.kill()
    a.wait()
    # A reshard mid-stream, then the second half of the records.
    shard = kinesis.list_shards(StreamName=stream)["Shards"][0]
    lo, hi = int(shard["HashKeyRange"]["StartingHashKey"]), int(
        shard["HashKeyRange"]["EndingHashKey"])
    kinesis.split_shard(StreamName=stream, ShardToSplit=shard["ShardId"],
                        NewStartingHashKey=str((lo + hi) // 2))
    for _ in range(100):
        if kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"][
                "StreamStatus"] == "ACTIVE":
            break
        time.sleep(0.2)
    second = ["--count", "6000", "--seed", "12", "--rate", "0"]
    run([prog("tp-producer"), "--to", "kinesis://" + stream] + second)
    wait_consumed(leases, 12000, "workers", alive=[b])
    b.send_signal(signal.SIGTERM)
    check(b.wait(timeout=60) == 0, "worker-b exit status %s" % b.returncode)
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            with open(work + "/fh.json") as f:
                if json.load(f).get("records_delivered") == 12000:
                    break
        except (OSError, ValueError):
            pass
        check(fh.poll() is None, "tp-firehose died (exit %s)" % fh.returncode)
        time.sleep(0.3)
    fh.send_signal(signal.SIGTERM)
    check(fh.wait(timeout=60) == 0, "tp-firehose exit status %s" % fh.returncode)
    parsed = json.loads(run([prog("tp-parse"), "--json", work + "/fh/raw-data"]).stdout)
    check(parsed["records"] == 12000, "raw-data holds %d records, not 12000 (the split's "
          "children read?)" % parsed["records"])
    items = {it["leaseKey"]["S"]: it for it in scan(leases)}
    check(len(items) == 6, "6 leases after a split of 4 shards, got %d" % len(items))
    check(items[shard["ShardId"]]["checkpoint"]["S"] == "SHARD_END",
          "the split parent's checkpoint is %s" % items[shard["ShardId"]]["checkpoint"])
    with open(work + "/b.log") as f:
        log = f.read()
    check("took over the lease" in log, "worker-b did not report taking over a lease")
    with open(work + "/b.json.emf") as f:
        line = json.loads(f.readline())
    check(line["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "tradepipe", "EMF namespace")
    compare(actual(positions, bucket), expected(work, [half, second]), "two workers, one killed,"
            " a split")


def case_crashes(work):
    stream, positions, leases, bucket = ("tpc-" + RUN, "tpc-pos-" + RUN, "tpc-leases-" + RUN,
                                         "tpc-" + RUN)
    s3.create_bucket(Bucket=bucket)
    STREAMS.append(stream)
    # The records arrive while the consumer is killed again and again.
    recs = ["--count", "20000", "--seed", "21", "--rate", "2500", "--aggregate", "on"]
    run([prog("tp-producer"), "--to", "kinesis://" + stream, "--shards", "3", "--count", "0"])
    producer = start([prog("tp-producer"), "--to", "kinesis://" + stream] + recs,
                     work + "/producer.log")
    rnd = random.Random(int(RUN))
    args = consumer_args(stream, positions, bucket, leases, "crasher", work + "/c.json")
    for cycle in range(20):
        p = start(args, work + "/c.log")
        time.sleep(rnd.uniform(0.05, 0.8))
        p.kill()
        p.wait()
    check(producer.wait(timeout=120) == 0, "tp-producer exit status %s" % producer.returncode)
    if os.path.exists(work + "/c.json"):
        os.unlink(work + "/c.json")
    p = start(args, work + "/c.log")
    for _ in range(600):  # up and running (earlier runs may have consumed everything)
        if os.path.exists(work + "/c.json") or p.poll() is not None:
            break
        time.sleep(0.1)
    wait_consumed(leases, 20000, "crashes", alive=[p])
    p.send_signal(signal.SIGTERM)
    check(p.wait(timeout=60) == 0, "last run's exit status %s" % p.returncode)
    compare(actual(positions, bucket), expected(work, [recs[:-2]]),
            "20 kill -9 cycles (KPL aggregated records)")


def case_firehose(work):
    """Objects smaller than a KPL aggregate: each ends between Kinesis
    records, and a second run delivers nothing again."""
    stream = "tpf-" + RUN
    STREAMS.append(stream)
    run([prog("tp-producer"), "--to", "kinesis://" + stream, "--shards", "1", "--count", "3000",
         "--seed", "3", "--rate", "0", "--shard-rate", "0,0"])
    for _ in range(2):
        run([prog("tp-firehose"), "--source", "kinesis://" + stream, "--out", work + "/fh",
             "--buffer-bytes", "3000"])
    parsed = json.loads(run([prog("tp-parse"), "--json", work + "/fh/raw-data"]).stdout)
    check(parsed["records"] == 3000, "raw-data holds %d records, not 3000" % parsed["records"])
    print("tp-firehose over KPL aggregates, 3000-byte buffer, run twice: 3000 records, "
          "each once")


def case_emulators(work):
    base = ["--count", "4000", "--seed", "5", "--rate", "4000", "--buffer-seconds", "1",
            "--bin", BIN]
    reports = []
    for extra in ([], ["--emulators"]):
        out = os.path.join(work, "emu" if extra else "local")
        p = subprocess.run([os.path.join(ROOT, "scripts", "run-local"), "--out", out] + base
                           + extra, capture_output=True, text=True, timeout=600)
        check(p.returncode == 0, "run-local %s failed (%d): %s" % (
            " ".join(extra), p.returncode, (p.stdout + p.stderr)[-3000:]))
        with open(os.path.join(out, "report.json")) as f:
            r = json.load(f)
        r.pop("raw_files")  # how records fall into objects depends on timing
        reports.append(r)
    check(reports[0] == reports[1], "run-local --emulators' report differs from the local one:"
          "\n%s\n%s" % (json.dumps(reports[0], sort_keys=True), json.dumps(reports[1],
                                                                          sort_keys=True)))
    print("run-local --emulators: report.json equal to the local run's (%d trades)"
          % reports[0]["trades"])


STREAMS = []  # deleted at the end: kinesalite counts shards against a limit


def main():
    failed = 0
    for name in CASES:
        work = tempfile.mkdtemp(prefix="tp-kinesis-%s-" % name)
        try:
            globals()["case_" + name](work)
        except Exception as e:  # report every case, then fail
            failed += 1
            print("FAIL %s: %s" % (name, e))
            for log in ("a.log", "b.log", "c.log"):
                path = os.path.join(work, log)
                if os.path.exists(path):
                    with open(path) as f:
                        print("--- %s (tail)\n%s" % (log, f.read()[-1500:]))
        finally:
            stop_all()
            for stream in STREAMS:
                try:
                    kinesis.delete_stream(StreamName=stream, EnforceConsumerDeletion=True)
                except Exception:  # gone already, or never made
                    pass
            del STREAMS[:]
    sys.exit(1 if failed else 0)


main()
