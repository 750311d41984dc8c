"""The Producer against kinesalite, through the signature checker
(tests/services; ctest's python_producer runs this file with the emulators
started): records written and read back by botocore (the independent
client), completions, errors, the dead-letter file, stats. Run alone, without
TP_SERVICES_STATE, it fails: it needs the emulators."""

import base64
import json
import os
import time

import pytest

import tradepipe

MAGIC = b"\xf3\x89\x9a\xc2"


@pytest.fixture(scope="module")
def kinesis():
    state = os.environ.get("TP_SERVICES_STATE")
    if not state or not os.path.exists(os.path.join(state, "endpoints.env")):
        pytest.fail("the emulators are not running (TP_SERVICES_STATE): run through ctest")
    env = {}
    with open(os.path.join(state, "endpoints.env")) as f:
        for line in f:
            k, _, v = line.strip().partition("=")
            env[k] = v
    # The suite's test credentials (tests/services/credentials.env).
    creds = {}
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "tests",
                           "services", "credentials.env")) as f:
        for line in f:
            k, _, v = line.strip().partition("=")
            if k and not k.startswith("#"):
                creds[k] = v
    os.environ.update(creds)
    os.environ.update({"AWS_REGION": "us-east-1", "AWS_CONFIG_FILE": "/dev/null",
                       "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
                       "no_proxy": "127.0.0.1", "NO_PROXY": "127.0.0.1"})
    import botocore.session
    client = botocore.session.get_session().create_client(
        "kinesis", endpoint_url=env["AWS_ENDPOINT_URL_KINESIS"], region_name="us-east-1",
        aws_access_key_id=creds["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=creds["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=creds["AWS_SESSION_TOKEN"])
    return env["AWS_ENDPOINT_URL_KINESIS"], client


def make_stream(client, name, shards):
    client.create_stream(StreamName=name, ShardCount=shards)
    client.get_waiter("stream_exists").wait(StreamName=name,
                                            WaiterConfig={"Delay": 0.1, "MaxAttempts": 200})


def read_all(client, name):
    out = []
    for sh in client.list_shards(StreamName=name)["Shards"]:
        it = client.get_shard_iterator(StreamName=name, ShardId=sh["ShardId"],
                                       ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        for _ in range(1000):
            r = client.get_records(ShardIterator=it, Limit=10000)
            out.extend((sh["ShardId"], x) for x in r["Records"])
            it = r.get("NextShardIterator")
            if not it or (not r["Records"] and r.get("MillisBehindLatest", 0) == 0):
                break
    return out


def test_records_written_in_order_not_aggregated(kinesis):
    url, client = kinesis
    name = "py-producer-plain-%d" % os.getpid()
    make_stream(client, name, 2)
    done = []
    with tradepipe.Producer(name, aggregate=False, endpoint_url=url, linger_ms=10,
                            on_done=done.append) as p:
        for i in range(600):
            p.put(b"k%d:%d" % (i % 5, i // 5), "K%d" % (i % 5), user=i)
        p.flush(60000)
        st = p.stats()
    assert st["user_records_put"] == 600 and st["user_records_failed"] == 0
    assert st["kinesis_records_put"] == 600
    assert len(done) == 600 and all(r.ok for r in done)
    assert sorted(r.user for r in done) == list(range(600))
    assert all(r.sub_sequence is None and r.shard_id.startswith("shardId-") for r in done)
    # read back by botocore: every record once, each key's in put order
    got = read_all(client, name)
    assert len(got) == 600
    per_key = {}
    for _, rec in got:
        k, n = rec["Data"].decode().split(":")
        per_key.setdefault(k, []).append(int(n))
    assert all(v == list(range(120)) for v in per_key.values()), per_key
    # where the completions said
    where = {(r.shard_id, r.sequence_number) for r in done}
    assert where == {(sh, rec["SequenceNumber"]) for sh, rec in got}
    client.delete_stream(StreamName=name)


def test_aggregated(kinesis):
    url, client = kinesis
    name = "py-producer-agg-%d" % os.getpid()
    make_stream(client, name, 2)
    done = []
    with tradepipe.Producer(name, endpoint_url=url, linger_ms=10, on_done=done.append,
                            shard_records_per_s=None, shard_bytes_per_s=None) as p:
        for i in range(5000):
            p.put('{"symbol":"S%d","n":%d}' % (i % 10, i), "S%d" % (i % 10))
    assert len(done) == 5000 and all(r.ok for r in done)
    seqs = {}
    for r in done:
        seqs.setdefault(r.sequence_number, []).append(r.sub_sequence)
    assert len(seqs) < 100  # aggregates, not 5000 records
    for subs in seqs.values():
        # a batch that ends up holding one record is sent alone, as the KPL
        # does: no sub-sequence number (None)
        assert subs == [None] or sorted(subs) == list(range(len(subs))), subs
    got = read_all(client, name)
    assert len(got) == len(seqs)
    assert all(rec["Data"].startswith(MAGIC) or len(seqs[rec["SequenceNumber"]]) == 1
               for _, rec in got)
    client.delete_stream(StreamName=name)


def test_errors_and_dead_letters(kinesis, tmp_path):
    url, client = kinesis
    with pytest.raises(tradepipe.NotFoundError):
        tradepipe.Producer("py-producer-missing-%d" % os.getpid(), endpoint_url=url)
    name = "py-producer-err-%d" % os.getpid()
    make_stream(client, name, 1)
    dlq = tmp_path / "dead.ndjson"
    p = tradepipe.Producer(name, endpoint_url=url, dead_letter=str(dlq))
    with pytest.raises(tradepipe.TooLargeError) as e:
        p.put(b"x" * (1 << 20), "big")
    assert "record limit" in str(e.value)
    with pytest.raises(tradepipe.InvalidArgumentError):
        p.put(b"x", "")
    p.put(b"fine", "k")
    p.close()
    p.close()  # idempotent
    with pytest.raises(ValueError):
        p.put(b"late", "k")
    lines = [json.loads(x) for x in dlq.read_text().splitlines()]
    assert [x["partition_key"] for x in lines] == ["big", ""]
    assert base64.b64decode(lines[0]["data"]) == b"x" * (1 << 20)
    client.delete_stream(StreamName=name)
