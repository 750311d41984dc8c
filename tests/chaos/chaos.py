#!/usr/bin/python3
"""Chaos and crash cycles (scripts/chaos runs this; ctest runs a short version).

usage: chaos.py --bin DIR [--cycles N] [--seed N] [--faults RATE]
                [--services STATE] [--work DIR] [--keep] [--sabotage LIST]

Three scenarios run side by side, one cycle at a time, the cycles' kinds in
turn (each drawn from --seed, as are the faults and the kill times):

  produce  one batch of tp-producer --to kinesis://STREAM through the fault
           proxy (tests/chaos/proxy.py, RATE of the requests: 500, 503,
           throttling, resets before and after forwarding, delays, truncated
           answers), KPL aggregation on and off in turn. Every record must
           land: read back from kinesalite with botocore (de-aggregated
           here), none lost; a record written twice because its answer was
           lost is counted as duplicated (at-least-once), never as lost.
  consume  tp-consumer --source kinesis://STREAM --positions dynamodb://...
           --trades s3://... --checkpoints dynamodb://... (leases) through the
           same proxy, killed with kill -9 after a random time and started
           again. At the end a last run reads everything; its positions
           (DynamoDB) and trades (S3), read back with botocore, must be those
           of `tp-consumer --source file:` replaying what the stream holds
           (duplicates included), with no fault and no kill.
  local    the local pipeline of scripts/run-local (file: stream): the
           producer, the consumer and tp-firehose follow; one of the three,
           drawn at random, is killed with kill -9 and started again (the
           producer resumes with the records its stream does not hold). At
           the end raw-data must hold every produced record exactly once, and
           the consumer's positions, checkpoints, trades and events must be
           byte for byte those of one uninterrupted run over the stream.

Prints progress lines, then the figures: cycles survived, records produced /
lost / duplicated, effects compared. Exit status 0 only when no record was
lost, raw-data holds each once, the effects are identical and every cycle
survived; 1 otherwise; 2 on a usage or setup error.

--services STATE uses emulators already started by tests/services/start.sh
STATE (ctest's fixture); without it they are started in the work directory
and stopped by PID at the end, Ctrl-C and failures included.
--sabotage (self-test: the checks must fail): lose (one record counted as
produced is never put), raw-dup (one raw-data object copied), effect (one
completed trade deleted from S3); comma-separated.
"""
import argparse
import gzip
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "services"))
sys.path.insert(0, os.path.join(ROOT, "tests", "pipeline"))
from emulator_env import emulator_env  # noqa: E402
import effects  # noqa: E402

PY = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
KPL_MAGIC = b"\xf3\x89\x9a\xc2"
PRODUCE_BATCH = 300   # records per produce cycle
LOCAL_CHUNK = 1000    # records per local producer run
T0 = 1761134400       # 2025-10-22T12:00:00Z
# Engine options of every consumer run here (and of the replays they are
# compared with): quick thresholds, so that short runs complete many trades.
ENGINE = ["--window", "10", "--drop-pct", "0.4", "--take-profit-pct", "0.4",
          "--stop-loss-pct", "1"]


class Failure(Exception):
    pass


class Setup(Exception):
    pass


def log(msg):
    print(msg, flush=True)


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


# ---- KPL de-aggregation (independent of the library) --------------------------

def _varint(b, i):
    n = shift = 0
    while True:
        c = b[i]
        i += 1
        n |= (c & 0x7F) << shift
        shift += 7
        if not c & 0x80:
            return n, i


def _fields(b):
    i = 0
    while i < len(b):
        key, i = _varint(b, i)
        wt = key & 7
        if wt == 0:
            v, i = _varint(b, i)
        elif wt == 2:
            n, i = _varint(b, i)
            v, i = b[i:i + n], i + n
        elif wt == 1:
            v, i = b[i:i + 8], i + 8
        elif wt == 5:
            v, i = b[i:i + 4], i + 4
        else:
            raise ValueError("protobuf wire type %d" % wt)
        yield key >> 3, v


def deaggregate(data):
    """The user records of a Kinesis record (itself when not a KPL aggregate)."""
    if len(data) < 20 or data[:4] != KPL_MAGIC:
        return [data]
    body, digest = data[4:-16], data[-16:]
    if hashlib.md5(body).digest() != digest:
        return [data]
    out = []
    for num, v in _fields(body):
        if num == 3:
            out += [d for n, d in _fields(v) if n == 3]
    return out


# ---- processes -------------------------------------------------------------

class Proc:
    """A program this harness started (stopped by its PID)."""
    started = []

    def __init__(self, name, args, env, logpath):
        self.name, self.args = name, args
        self.log = open(logpath, "ab")
        self.p = subprocess.Popen(args, env=env, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=self.log)
        Proc.started.append(self)

    def alive(self):
        return self.p.poll() is None

    def kill9(self):
        """kill -9; its status when it had already ended by itself, else None."""
        rc = self.p.poll()
        if rc is None:
            self.p.kill()
            self.p.wait()
            return None
        return rc

    def term(self, timeout=120):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
        try:
            return self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            raise Failure("%s did not end within %d s of SIGTERM" % (self.name, timeout))

    @classmethod
    def stop_all(cls):
        for pr in cls.started:
            if pr.p.poll() is None:
                pr.p.kill()
                pr.p.wait()
            pr.log.close()
        cls.started = []


class Harness:
    def __init__(self, a):
        self.a = a
        self.bin = a.bin
        self.rnd = random.Random(a.seed)
        self.work = a.work
        self.run_id = "%d-%d" % (os.getpid(), a.seed)
        self.services_started = None
        self.proxy = None
        self.streams = []
        self.cycles_done = 0
        self.cycles_failed = []
        self.kinesis_produced = 0
        self.local_produced = 0
        self.counts = Counter()
        self.sabotage = set(s for s in (a.sabotage or "").split(",") if s)
        self.failures = []

    def prog(self, name):
        return os.path.join(self.bin, name)

    # ---- setup -------------------------------------------------------------
    def setup(self):
        for p in ("tp-producer", "tp-consumer", "tp-firehose", "tp-parse"):
            if not os.access(self.prog(p), os.X_OK):
                raise Setup("no %s in %s (build first, or give --bin/--build-dir)"
                            % (p, self.bin))
        state = self.a.services
        if not state:
            state = os.path.join(self.work, "services")
            log("chaos: starting the emulators (tests/services/start.sh)")
            self.services_started = state
            p = subprocess.run([os.path.join(ROOT, "tests", "services", "start.sh"), state],
                               capture_output=True, text=True, timeout=900)
            if p.returncode != 0:
                raise Setup("the emulators did not start:\n%s" % p.stderr[-3000:])
        if not os.path.exists(os.path.join(state, "endpoints.env")):
            raise Setup("no emulators running in %s (tests/services/start.sh STATE)" % state)
        self.direct = emulator_env(state)  # through the signature checker, no fault
        # The fault proxy goes in front of the emulators themselves: a
        # throttled PutRecords has entries taken out of its body, which the
        # signature checker would (rightly) refuse.
        emu = emulator_env(state, direct=True)
        up = {k: emu["AWS_ENDPOINT_URL_" + k.upper()].rsplit(":", 1)[1]
              for k in ("kinesis", "dynamodb", "s3")}
        pdir = os.path.join(self.work, "proxy")
        os.makedirs(pdir)
        self.proxy = Proc("proxy", [PY, os.path.join(HERE, "proxy.py"), "--faults",
                                    str(self.a.faults), "--seed", str(self.a.seed), pdir]
                          + ["%s=%s" % kv for kv in sorted(up.items())], None,
                          os.path.join(self.work, "proxy.log"))
        Proc.started.remove(self.proxy)  # outlives the programs' stop_all
        ports = {}
        for _ in range(200):
            for svc in up:
                path = os.path.join(pdir, "chaos-%s.port" % svc)
                if os.path.exists(path):
                    with open(path) as f:
                        ports[svc] = f.read().strip()
            if len(ports) == 3:
                break
            if not self.proxy.alive():
                raise Setup("the fault proxy exited: see %s/proxy.log" % self.work)
            time.sleep(0.05)
        else:
            raise Setup("the fault proxy did not listen")
        self.proxy_url = "http://127.0.0.1:%s" % ports["kinesis"]
        self.chaos = dict(self.direct)
        for svc, port in ports.items():
            self.chaos["AWS_ENDPOINT_URL_" + svc.upper()] = "http://127.0.0.1:%s" % port
        os.environ.update({k: v for k, v in self.direct.items()
                           if k.startswith("AWS_") or k.lower() == "no_proxy"})
        import boto3
        mk = lambda s: boto3.client(s, endpoint_url=self.direct["AWS_ENDPOINT_URL_" + s.upper()])
        self.ddb, self.s3, self.kinesis = mk("dynamodb"), mk("s3"), mk("kinesis")
        # Kinesis side: a 2-shard stream (made without faults), a bucket.
        r = self.run_id
        self.stream, self.bucket = "tpx-" + r, "tpx-" + r
        self.positions, self.leases = "tpx-pos-" + r, "tpx-leases-" + r
        self.streams.append(self.stream)
        self.must([self.prog("tp-producer"), "--to", "kinesis://" + self.stream,
                   "--shards", "2", "--count", "0"], self.direct)
        self.s3.create_bucket(Bucket=self.bucket)
        self.produced_path = os.path.join(self.work, "kinesis-produced.ndjson")
        open(self.produced_path, "w").close()
        self.consumer = None
        self.consumer_exits = Counter()
        self.producer_restarts = 0
        # Local side: a 2-shard file: stream and its followers.
        self.local = os.path.join(self.work, "local")
        self.lstream = "file:" + self.local + "/stream"
        os.makedirs(self.local)
        self.must([self.prog("tp-producer"), "--to", self.lstream, "--shards", "2",
                   "--count", "0"], None)
        self.local_all = os.path.join(self.work, "local-produced.ndjson")
        open(self.local_all, "w").close()
        self.lproc = {"producer": None, "consumer": None, "firehose": None}
        self.chunk = None  # the local producer's current run
        self.chunks = 0
        self.local_kills = Counter()
        sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))
        os.environ.setdefault("TRADEPIPE_LIBRARY", self.libpath())
        import tradepipe
        self.tp = tradepipe
        self.lreaders = None

    def libpath(self):
        for d in (os.path.join(self.bin, ".."), os.path.join(self.bin, "..", "lib"), self.bin):
            for n in ("libtradepipe.so", "libtradepipe.so.0"):
                p = os.path.normpath(os.path.join(d, n))
                if os.path.exists(p):
                    return p
        raise Setup("no libtradepipe.so beside %s (the local producer's resume reads the "
                    "stream through the Python bindings)" % self.bin)

    def must(self, args, env, **kw):
        p = subprocess.run(args, env=env, capture_output=True, timeout=600, **kw)
        if p.returncode != 0:
            raise Failure("%s failed (%d): %s" % (" ".join(args[:3]), p.returncode,
                                                  p.stderr.decode(errors="replace")[-2000:]))
        return p

    def teardown(self):
        Proc.stop_all()
        for s in self.streams:
            try:
                self.kinesis.delete_stream(StreamName=s, EnforceConsumerDeletion=True)
            except Exception:  # gone already, or never made
                pass
        for t in (getattr(self, "positions", None), getattr(self, "leases", None)):
            try:
                if t:
                    self.ddb.delete_table(TableName=t)
            except Exception:
                pass
        if self.proxy:
            self.proxy.kill9()
            self.proxy.log.close()
        if self.services_started:
            subprocess.run([os.path.join(ROOT, "tests", "services", "stop.sh"),
                            self.services_started], capture_output=True, timeout=120)

    # ---- kinesis: produce --------------------------------------------------
    def cycle_produce(self, i):
        opts = ["--count", str(PRODUCE_BATCH), "--seed", str(self.a.seed * 100003 + i),
                "--start", iso(T0 + 3600 * i), "--rate", "1500"]
        agg = "on" if (i // 3) % 2 == 0 else "off"
        dead = os.path.join(self.work, "dead-letter.ndjson")
        # Exit 2 is a service that kept failing past the retries (at start-up,
        # DescribeStreamSummary failing 3 times in a row): a supervisor (ECS)
        # runs the task again, and so does this cycle, at most 3 times. What
        # the first run had put comes again: counted as duplicated, not lost.
        for attempt in range(3):
            p = subprocess.run([self.prog("tp-producer"), "--to", "kinesis://" + self.stream,
                                "--aggregate", agg, "--linger-ms", "10", "--shard-rate", "0,0",
                                "--dead-letter", dead] + opts, env=self.chaos,
                               capture_output=True, timeout=300)
            if p.returncode != 2:
                break
            self.producer_restarts += 1
        with open(self.produced_path, "ab") as f:
            q = self.must([self.prog("tp-producer"), "--to", "-"] + opts, None)
            f.write(q.stdout)
            if "lose" in self.sabotage and i < 3:  # claimed, never put
                f.write(b'{"symbol":"LOST","price":1.00,"volume":100,'
                        b'"timestamp":"2020-01-01T00:00:00.000Z"}\n')
        self.kinesis_produced += PRODUCE_BATCH
        if p.returncode != 0:
            return "tp-producer exit %d: %s" % (p.returncode, p.stderr.decode(
                errors="replace")[-500:])
        return None

    # ---- kinesis: consume --------------------------------------------------
    def consumer_args(self):
        return [self.prog("tp-consumer"), "--source", "kinesis://" + self.stream, "--follow",
                "--positions", "dynamodb://" + self.positions, "--trades", "s3://" + self.bucket,
                "--checkpoints", "dynamodb://" + self.leases, "--worker-id", "chaos",
                "--failover-ms", "2000"] + ENGINE

    def consumer_ended(self, rc):
        """A consumer that ended by itself: exit 2 after a service kept failing
        past its retries is allowed (a supervisor restarts it); anything else
        (a crash by a signal, exit 1) is not."""
        self.consumer_exits[rc] += 1
        if rc != 2:
            return "tp-consumer ended by itself with status %d" % rc
        return None

    def cycle_consume(self, i):
        why = None
        if self.consumer is not None and not self.consumer.alive():
            why = self.consumer_ended(self.consumer.p.returncode)
            self.consumer = None
        if self.consumer is None:
            self.consumer = Proc("tp-consumer", self.consumer_args(), self.chaos,
                                 os.path.join(self.work, "consumer.log"))
        time.sleep(self.rnd.uniform(0.2, 1.5))
        rc = self.consumer.kill9()
        if rc is not None:
            why = why or self.consumer_ended(rc)
        self.counts["consumer kills"] += 1
        self.consumer = None
        return why

    # ---- local pipeline ----------------------------------------------------
    def local_cmd(self, which, follow=True):
        out = self.local
        if which == "consumer":
            cmd = [self.prog("tp-consumer"), "--source", self.lstream, "--positions",
                   "file:%s/positions.json" % out, "--trades", "file:" + out, "--events",
                   "file:%s/events.ndjson" % out, "--checkpoint-ms", "20"] + ENGINE
        else:
            cmd = [self.prog("tp-firehose"), "--source", self.lstream, "--out", out,
                   "--buffer-bytes", "16384", "--buffer-seconds", "0.05"]
        return cmd + (["--follow"] if follow else [])

    def local_start(self, which):
        self.lproc[which] = Proc(which, self.local_cmd(which), None,
                                 os.path.join(self.work, "local-%s.log" % which))

    def lstream_drain(self):
        """Every record of the local stream not read yet, per shard."""
        if self.lreaders is None:
            self.lstream_h = self.tp.Stream(self.lstream)
            self.lreaders = [self.lstream_h.reader(s.shard_id) for s in self.lstream_h.shards()]
        out = []
        for r in self.lreaders:
            for rec in r:
                out.append(bytes(rec.data))
        return out

    def chunk_start(self):
        """A new run of the local producer: LOCAL_CHUNK new records."""
        n = self.chunks
        self.chunks += 1
        opts = ["--count", str(LOCAL_CHUNK), "--seed", str(self.a.seed * 7919 + n),
                "--start", iso(T0 + 86400 * 400 + 3600 * n), "--rate", "2500"]
        recs = self.must([self.prog("tp-producer"), "--to", "-"] + opts, None).stdout
        with open(self.local_all, "ab") as f:
            f.write(recs)
        self.local_produced += LOCAL_CHUNK
        lost = self.lstream_drain()  # the stream's end before this run
        if lost:
            raise Failure("the local stream grew by %d records no producer run put" % len(lost))
        self.chunk = {"want": [r for r in recs.split(b"\n") if r], "have": Counter()}
        self.lproc["producer"] = Proc("producer", [self.prog("tp-producer"), "--to",
                                                   self.lstream] + opts, None,
                                      os.path.join(self.work, "local-producer.log"))

    def chunk_resume(self):
        """After a kill -9: the records of this run the stream does not hold."""
        self.chunk["have"].update(self.lstream_drain())
        left = Counter(self.chunk["have"])
        rest = []
        for r in self.chunk["want"]:
            if left[r]:
                left[r] -= 1
            else:
                rest.append(r)
        if +left:
            raise Failure("the local stream holds %d records twice or not of this run"
                          % sum((+left).values()))
        if not rest:  # it had put them all
            self.lproc["producer"] = None
            self.chunk = None
            return
        path = os.path.join(self.work, "local-rest.ndjson")
        with open(path, "wb") as f:
            f.write(b"\n".join(rest) + b"\n")
        self.lproc["producer"] = Proc("producer", [self.prog("tp-producer"), "--to",
                                                   self.lstream, "--from", path, "--rate",
                                                   "2500"], None,
                                      os.path.join(self.work, "local-producer.log"))

    def local_check_producer(self):
        """The producer's run ended by itself: it must have put everything."""
        pr = self.lproc["producer"]
        if pr is None or pr.alive():
            return None
        rc = pr.p.returncode
        self.lproc["producer"] = None
        if rc != 0:
            return "the local tp-producer exited %d" % rc
        self.chunk["have"].update(self.lstream_drain())
        if sum(self.chunk["have"].values()) != len(self.chunk["want"]) or \
                self.chunk["have"] != Counter(self.chunk["want"]):
            return "the local stream holds %d of the run's %d records" % (
                sum(self.chunk["have"].values()), len(self.chunk["want"]))
        self.chunk = None
        return None

    def cycle_local(self, i):
        why = None
        for w in ("consumer", "firehose"):
            if self.lproc[w] is None:
                self.local_start(w)
            elif not self.lproc[w].alive():
                why = why or "local tp-%s ended by itself (%d)" % (w, self.lproc[w].p.returncode)
                self.local_start(w)
        why = why or self.local_check_producer()
        if self.chunk is None:
            self.chunk_start()
        time.sleep(self.rnd.uniform(0.1, 0.6))
        victim = self.rnd.choice(["producer", "consumer", "firehose"])
        if victim == "producer":
            if self.lproc["producer"].kill9() is None:
                self.local_kills["producer"] += 1
                self.chunk_resume()
            else:  # it had ended by itself
                why = why or self.local_check_producer()
        else:
            rc = self.lproc[victim].kill9()
            if rc is not None:
                why = why or "local tp-%s ended by itself (%d)" % (victim, rc)
            self.local_kills[victim] += 1
            self.local_start(victim)
        return why

    # ---- the end -----------------------------------------------------------
    def read_stream(self):
        """Every user record kinesalite holds, per shard in order (botocore, direct)."""
        out = []
        shards = self.kinesis.list_shards(StreamName=self.stream)["Shards"]
        for sh in shards:
            it = self.kinesis.get_shard_iterator(StreamName=self.stream, ShardId=sh["ShardId"],
                                                 ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            for _ in range(100000):
                page = self.kinesis.get_records(ShardIterator=it, Limit=10000)
                for r in page["Records"]:
                    out += deaggregate(r["Data"])
                it = page.get("NextShardIterator")
                if not page["Records"] and page.get("MillisBehindLatest", 0) == 0:
                    break
                if not it:
                    break
        return out

    def finish_kinesis(self):
        got = self.read_stream()
        with open(self.produced_path, "rb") as f:
            want = [l for l in f.read().split(b"\n") if l]
        cg, cw = Counter(got), Counter(want)
        lost = sum((cw - cg).values())
        dup = sum((cg - cw).values())
        foreign = sum(v for k, v in cg.items() if k not in cw)
        self.figures["kinesis"] = {"produced": len(want), "in_stream": len(got), "lost": lost,
                                   "duplicated": dup - foreign, "foreign": foreign}
        if lost:
            self.failures.append("kinesis: %d of %d produced records are not in the stream"
                                 % (lost, len(want)))
        if foreign:
            self.failures.append("kinesis: the stream holds %d records never produced" % foreign)
        # The last consumer run: under faults, no kill, until it has read all.
        if self.consumer is None or not self.consumer.alive():
            self.consumer = Proc("tp-consumer", self.consumer_args(), self.chaos,
                                 os.path.join(self.work, "consumer.log"))
        deadline = time.time() + 300
        n = 0
        while time.time() < deadline:
            n = effects.consumed(self.ddb, self.leases)
            if n >= len(got):
                break
            if not self.consumer.alive():
                why = self.consumer_ended(self.consumer.p.returncode)
                if why:
                    self.failures.append("kinesis: last run: " + why)
                self.consumer = Proc("tp-consumer", self.consumer_args(), self.chaos,
                                     os.path.join(self.work, "consumer.log"))
            time.sleep(0.3)
        rc = self.consumer.term()
        if rc not in (0, 2):
            self.failures.append("kinesis: the last tp-consumer exited %d" % rc)
        self.consumer = None
        if n != len(got):
            self.failures.append("kinesis: the consumer checkpointed %d records, the stream "
                                 "holds %d" % (n, len(got)))
        if "effect" in self.sabotage:
            objs = self.s3.list_objects_v2(Bucket=self.bucket, Prefix="completed-trades/")
            if objs.get("Contents"):
                self.s3.delete_object(Bucket=self.bucket, Key=objs["Contents"][0]["Key"])
        # What one fault-free run without kills gives: the stream's records
        # (duplicates included, in shard order) replayed offline.
        recs = os.path.join(self.work, "kinesis-stream.ndjson")
        with open(recs, "wb") as f:
            f.write(b"".join(r + b"\n" for r in got))
        rdir = os.path.join(self.work, "kinesis-replay")
        os.makedirs(rdir)
        want_fx = effects.replay(self.prog("tp-consumer"), recs, rdir, engine=ENGINE)
        got_fx = effects.actual(self.ddb, self.s3, self.positions, self.bucket)
        why = effects.differences(got_fx, want_fx)
        self.figures["kinesis"]["symbols"] = len(want_fx[0])
        self.figures["kinesis"]["trades"] = len(want_fx[1])
        if why:
            self.failures.append("kinesis effects: " + why)
        if not want_fx[1]:
            self.failures.append("kinesis effects: no completed trade at all (nothing compared)")
        self.effects_ok = self.effects_ok and why is None

    def finish_local(self):
        # The producer's last run ends by itself, then the followers drain.
        for _ in range(3):
            if self.chunk is None:
                break
            if self.lproc["producer"] is None:
                self.chunk_resume()  # its rest, uninterrupted
                continue
            try:
                self.lproc["producer"].p.wait(timeout=120)
            except subprocess.TimeoutExpired:
                raise Failure("the local producer did not finish within 120 s")
            why = self.local_check_producer()
            if why:
                self.failures.append("local: " + why)
        if self.chunk is not None:
            self.failures.append("local: the producer's last run did not complete")
        for w in ("consumer", "firehose"):
            if self.lproc[w] is not None:
                rc = self.lproc[w].term()
                if rc != 0:
                    self.failures.append("local: tp-%s exited %d on SIGTERM" % (w, rc))
            self.must(self.local_cmd(w, follow=False), None)
        if "raw-dup" in self.sabotage:
            objs = sorted(os.path.join(d, n) for d, _, ns in os.walk(self.local + "/raw-data")
                          for n in ns)
            if objs:
                shutil.copy(objs[0], objs[0][:-3] + "-copy.gz")
        # raw-data: every produced record exactly once, byte for byte.
        dec = json.JSONDecoder()
        got = []
        for d, _, names in os.walk(os.path.join(self.local, "raw-data")):
            for n in names:
                text = gzip.open(os.path.join(d, n), "rb").read().decode("utf-8")
                i = 0
                while i < len(text):
                    while i < len(text) and text[i] in " \t\r\n":
                        i += 1
                    if i == len(text):
                        break
                    _, end = dec.raw_decode(text, i)
                    got.append(text[i:end].encode())
                    i = end
        with open(self.local_all, "rb") as f:
            want = [l for l in f.read().split(b"\n") if l]
        cg, cw = Counter(got), Counter(want)
        lost, dup = sum((cw - cg).values()), sum((cg - cw).values())
        self.figures["local"] = {"produced": len(want), "raw": len(got), "lost": lost,
                                 "duplicated": dup}
        if lost or dup:
            self.failures.append("local: raw-data holds %d records for %d produced: %d lost, "
                                 "%d extra" % (len(got), len(want), lost, dup))
        # One uninterrupted consumer run over the same stream.
        ref = os.path.join(self.work, "local-ref")
        os.makedirs(ref)
        self.must([self.prog("tp-consumer"), "--source", self.lstream, "--positions",
                   "file:%s/positions.json" % ref, "--trades", "file:" + ref, "--events",
                   "file:%s/events.ndjson" % ref] + ENGINE, None)
        diffs = []
        for name in ("positions.json", "positions.json.checkpoints"):
            with open(os.path.join(ref, name), "rb") as a, \
                    open(os.path.join(self.local, name), "rb") as b:
                if a.read() != b.read():
                    diffs.append(name)
        with open(os.path.join(ref, "events.ndjson"), "rb") as a, \
                open(os.path.join(self.local, "events.ndjson"), "rb") as b:
            if sorted(a.read().split(b"\n")) != sorted(b.read().split(b"\n")):
                diffs.append("events.ndjson")

        def tree(root):
            out = {}
            for d, _, ns in os.walk(os.path.join(root, "completed-trades")):
                for n in ns:
                    with open(os.path.join(d, n), "rb") as f:
                        out[os.path.relpath(os.path.join(d, n), root)] = f.read()
            return out
        ta, tb = tree(ref), tree(self.local)
        if ta != tb:
            diffs.append("completed-trades (%d vs %d files)" % (len(tb), len(ta)))
        self.figures["local"]["trades"] = len(ta)
        if diffs:
            self.failures.append("local effects differ from an uninterrupted run: "
                                 + ", ".join(diffs))
        if not ta:
            self.failures.append("local effects: no completed trade at all (nothing compared)")
        self.effects_ok = self.effects_ok and not diffs

    # ---- the run -----------------------------------------------------------
    def run(self):
        a = self.a
        kinds = ["produce", "consume", "local"]
        t0 = last = time.time()
        log("chaos: seed %d, %g%% faults, %d cycles (produce, consume and local in turn), "
            "work %s" % (a.seed, a.faults * 100, a.cycles, self.work))
        for i in range(a.cycles):
            kind = kinds[i % 3]
            why = getattr(self, "cycle_" + kind)(i)
            self.cycles_done += 1
            if why:
                self.cycles_failed.append((i, kind, why))
                log("chaos: cycle %d (%s) did not survive: %s" % (i + 1, kind, why))
            now = time.time()
            if now - last >= a.progress or i + 1 == a.cycles:
                last = now
                log("chaos: cycle %d/%d, %.0f s: kinesis %d records put, %d consumer kills; "
                    "local %d records, kills %s; faults %s" % (
                        i + 1, a.cycles, now - t0, self.kinesis_produced,
                        self.counts["consumer kills"], self.local_produced,
                        dict(self.local_kills), self.proxy_faults()))
        self.figures = {}
        self.effects_ok = True
        log("chaos: cycles done in %.0f s; draining and comparing" % (time.time() - t0))
        self.finish_kinesis()
        self.finish_local()
        self.elapsed = time.time() - t0

    def proxy_faults(self):
        import urllib.request
        try:
            with urllib.request.urlopen(self.proxy_url + "/__chaos/report", timeout=10) as r:
                return json.load(r)["faults"]
        except Exception as e:
            return "unknown (%s)" % e

    def report(self):
        k, loc = self.figures.get("kinesis", {}), self.figures.get("local", {})
        produced = k.get("produced", 0) + loc.get("produced", 0)
        lost = k.get("lost", 0) + loc.get("lost", 0)
        dup = k.get("duplicated", 0) + loc.get("duplicated", 0)
        f = self.proxy_faults()
        nf = sum(f.values()) if isinstance(f, dict) else 0
        log("chaos: %d faults injected %s; exits after failed retries: consumer %d, "
            "producer %d (run again); %.0f s in all"
            % (nf, f, self.consumer_exits.get(2, 0), self.producer_restarts, self.elapsed))
        for line in self.failures:
            log("FAIL " + line)
        survived = self.cycles_done - len(self.cycles_failed)
        log("cycles survived: %d of %d" % (survived, self.a.cycles))
        log("records produced: %d (kinesis %d, local %d), lost: %d, duplicated: %d "
            "(kinesis %d, each written twice when its answer was lost: at least once; "
            "local raw-data %d)" % (produced, k.get("produced", 0), loc.get("produced", 0),
                                    lost, dup, k.get("duplicated", 0),
                                    loc.get("duplicated", 0)))
        log("effects compared: %s (kinesis: %s symbols, %s trades in DynamoDB and S3 vs a "
            "fault-free replay of the stream; local: positions, checkpoints, %s trades and "
            "events vs one uninterrupted run)" % (
                "identical" if self.effects_ok else "DIFFERENT", k.get("symbols", "?"),
                k.get("trades", "?"), loc.get("trades", "?")))
        ok = not self.failures and not self.cycles_failed and lost == 0 and \
            loc.get("duplicated", 1) == 0 and self.effects_ok
        return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(prog="chaos", description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", required=True, help="the directory holding tp-producer & co")
    ap.add_argument("--cycles", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--faults", type=float, default=0.10, help="fault rate (default 0.10)")
    ap.add_argument("--services", help="emulators already started (tests/services/start.sh)")
    ap.add_argument("--work", help="work directory (default: a new temporary one)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--progress", type=float, default=30, help="seconds between progress lines")
    ap.add_argument("--sabotage", help="lose,raw-dup,effect: make the checks fail")
    a = ap.parse_args()
    if a.cycles < 3 or a.cycles > 1000000:
        ap.error("--cycles: from 3 (one of each kind) to 1000000")
    if not 0 <= a.faults < 1:
        ap.error("--faults: a rate in [0, 1)")
    for s in (a.sabotage or "").split(","):
        if s and s not in ("lose", "raw-dup", "effect"):
            ap.error("--sabotage: lose, raw-dup, effect")
    a.bin = os.path.abspath(a.bin)
    made = a.work is None
    if made:
        a.work = tempfile.mkdtemp(prefix="tp-chaos-")
    else:
        a.work = os.path.abspath(a.work)
        if os.path.exists(a.work) and os.listdir(a.work):
            ap.error("--work %s is not empty" % a.work)
        os.makedirs(a.work, exist_ok=True)
    def on_term(*_):
        raise KeyboardInterrupt()
    signal.signal(signal.SIGTERM, on_term)
    h = Harness(a)
    rc = 1
    try:
        h.setup()
        h.run()
        rc = h.report()
    except Setup as e:
        log("chaos: %s" % e)
        rc = 2
    except Failure as e:
        log("chaos: FAIL %s" % e)
        rc = 1
    except KeyboardInterrupt:
        log("chaos: interrupted after %d cycles" % h.cycles_done)
        rc = 130
    finally:
        h.teardown()
        if rc != 0 or a.keep:
            log("chaos: work directory kept: %s" % a.work)
        elif made:
            shutil.rmtree(a.work, ignore_errors=True)
    sys.exit(rc)


if __name__ == "__main__":
    main()
