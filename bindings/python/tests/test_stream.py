"""The stream interface over file:DIR streams; kinesis:// as the library
answers it today; the GIL released around a blocking C call."""

import gc
import json
import os
import threading
import time

import pytest

import tradepipe as tp


@pytest.fixture
def uri(tmp_path):
    return "file:%s" % (tmp_path / "stream")


def test_put_and_read_back(uri):
    with tp.Stream(uri, create=True, write=True, shards=3) as s:
        assert s.shard_count == 3 and len(s.id) == 32
        shards = s.shards()
        assert [x.shard_id for x in shards] == ["shardId-%012d" % i for i in range(3)]
        assert shards[0].hash_key_start == 0 and shards[-1].hash_key_end == 2 ** 128 - 1
        assert all(x.sequence_start is None and x.sequence_end is None for x in shards)
        sent = {}
        for i in range(60):
            key = "SYM%d" % (i % 7)
            data = json.dumps({"symbol": key, "price": i + 1, "volume": i})
            r = s.put(data, key)
            assert r.error_code is None and r.shard_id == shards[s.route(key)].shard_id
            sent.setdefault(r.shard_id, []).append((data.encode(), key, r.sequence_number))
        got = {}
        for sh in shards:
            with s.reader(sh.shard_id) as rd:
                recs = list(rd)
                assert rd.shard_id == sh.shard_id
                assert rd.stats()["records"] == len(recs)
                if recs:
                    assert rd.position() == {"position": "AFTER_SEQUENCE_NUMBER",
                                             "sequence_number": recs[-1].sequence_number,
                                             "timestamp_ms": None}
            got[sh.shard_id] = [(r.data, r.partition_key, r.sequence_number) for r in recs]
            assert all(r.shard_id == sh.shard_id and r.arrival_ms > 0 for r in recs)
        assert got == {k: sent.get(k, []) for k in got}
        # the records decode as trades
        assert tp.decode(got[shards[s.route("SYM0")].shard_id][0][0]).symbol == "SYM0"


def test_positions_and_limits(uri):
    s = tp.Stream(uri, create=True, write=True, shards=1)
    seqs = [s.put(b"r%d" % i, "k").sequence_number for i in range(10)]
    sid = s.shards()[0].shard_id
    assert s.shards()[0].sequence_start == seqs[0]
    assert [r.data for r in s.reader(sid, "AT_SEQUENCE_NUMBER", sequence_number=seqs[3])] == \
        [b"r%d" % i for i in range(3, 10)]
    assert [r.data for r in s.reader(sid, "AFTER_SEQUENCE_NUMBER", sequence_number=int(seqs[3]))
            ] == [b"r%d" % i for i in range(4, 10)]
    latest = s.reader(sid, "LATEST")
    assert latest.get() == []
    s.put(b"new", "k")
    assert [r.data for r in latest.get()] == [b"new"]
    rd = s.reader(sid)
    assert [r.data for r in rd.get(limit=2)] == [b"r0", b"r1"]
    assert rd.millis_behind_latest >= 0
    assert len(list(s.reader(sid, "AT_TIMESTAMP", timestamp_ms=0))) == 11
    s.close()


def test_put_records_partial_failure(uri):
    s = tp.Stream(uri, create=True, write=True, shards=2)
    res = s.put_records([(b"ok", "a"), (b"bad", ""), ("text", "b", 2 ** 127),
                         (b"x" * (1024 * 1024), "k")])
    assert res[0].error_code is None and res[0].sequence_number
    assert res[1].error_code == "ValidationException" and "artition" in res[1].error_message
    assert res[2].shard_id == "shardId-000000000001"
    assert res[3].error_code == "ValidationException"
    with pytest.raises(ValueError):
        s.put_records([])
    with pytest.raises(ValueError):
        s.put_records([(b"a", "k")] * 501)
    with pytest.raises(tp.TooLargeError):
        s.put_records([(b"x" * 900000, "k")] * 6)
    with pytest.raises(tp.InvalidArgumentError) as ei:
        s.put(b"x", "")
    assert ei.value.field == "PartitionKey"
    with pytest.raises(tp.InvalidArgumentError) as ei:
        s.put(b"x", "k", explicit_hash_key="12ab")
    assert ei.value.field == "ExplicitHashKey"
    with pytest.raises(tp.InvalidArgumentError):
        s.route("k", explicit_hash_key=2 ** 128)
    with pytest.raises(TypeError):
        s.put(5, "k")


def test_open_errors(uri, tmp_path):
    with pytest.raises(tp.NotFoundError):
        tp.Stream(uri)
    s = tp.Stream(uri, create=True, write=True, shards=2)
    with pytest.raises(tp.ExistsError):
        tp.Stream(uri, create=True, exclusive=True)
    with pytest.raises(tp.ConfigError):
        tp.Stream(uri, shards=3)
    with pytest.raises(tp.ConfigError):
        tp.Stream("ftp://nowhere")
    with pytest.raises(tp.InvalidArgumentError):
        tp.Stream(uri + "2", create=True, shards=5000)
    with pytest.raises(ValueError):
        tp.Stream(uri, shards=-1)
    ro = tp.Stream(uri)  # a reader handle beside the writer
    with pytest.raises(tp.InvalidArgumentError):
        ro.put(b"x", "k")
    with pytest.raises(tp.NotFoundError):
        ro.reader("shardId-000000000009")
    with pytest.raises(ValueError):
        ro.reader("shardId-000000000000", "SOMEWHERE")
    with pytest.raises(tp.InvalidArgumentError) as ei:
        ro.reader("shardId-000000000000", "AT_SEQUENCE_NUMBER", sequence_number="abc")
    assert ei.value.field == "sequence_number"
    s.close()
    p = tmp_path / "pathlike"
    with tp.Stream(p, create=True) as s2:  # a PathLike is file:PATH
        assert s2.uri == "file:%s" % p


def test_second_writer_is_refused_across_processes(uri):
    import subprocess
    import sys
    s = tp.Stream(uri, create=True, write=True)
    code = ("import tradepipe as tp\ntry:\n    tp.Stream(%r, write=True)\n"
            "except tp.StateError as e:\n    print('busy', e.message)\n") % uri
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env=dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(
                           os.path.abspath(tp.__file__)))))
    assert r.stdout.startswith("busy") and str(os.getpid()) in r.stdout, r.stderr
    s.close()


def test_kinesis_uri_without_a_region_is_a_clear_error(monkeypatch):
    """kinesis:// opens a Kinesis data stream; with no region and no
    endpoint configured the library says which setting is missing."""
    for k in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_KINESIS",
              "AWS_PROFILE"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    with pytest.raises(tp.ConfigError) as ei:
        tp.Stream("kinesis://trades", create=True, write=True)
    assert "region" in ei.value.message.lower()


def test_close_order_and_use_after_close(uri):
    s = tp.Stream(uri, create=True, write=True)
    r = s.reader("shardId-000000000000")
    s.close()
    assert r.closed and s.closed
    for call in (r.get, r.position, r.stats, lambda: r.shard_id, lambda: s.put(b"x", "k"),
                 s.shards, lambda: s.id, lambda: s.shard_count, lambda: s.reader("x"),
                 lambda: s.wait(0)):
        with pytest.raises(ValueError):
            call()
    r.close()
    s.close()
    # a reader keeps its stream alive when only the reader is referenced
    r2 = tp.Stream(uri).reader("shardId-000000000000")
    gc.collect()
    assert r2.get() == []


def test_wait_releases_the_gil(uri):
    """tp_stream_wait blocks in C: other Python threads run meanwhile."""
    s = tp.Stream(uri, create=True, write=True)
    assert s.wait(0) is True  # the first call returns at once
    state = {"inside": False, "done": False, "woken": None}

    def waiter():
        state["inside"] = True
        state["woken"] = s.wait(700)
        state["done"] = True

    t = threading.Thread(target=waiter)
    t.start()
    while not state["inside"]:
        time.sleep(0)
    t0 = time.monotonic()
    spins = 0
    while not state["done"]:
        spins += 1
    elapsed = time.monotonic() - t0
    t.join()
    assert state["woken"] is False and elapsed >= 0.5
    # Holding the GIL for 0.7 s would have let this loop run a few switch
    # intervals at most; it ran throughout.
    assert spins > 100000
    with pytest.raises(ValueError):
        s.wait(-1)


def test_damaged_segment_is_a_checksum_error(tmp_path):
    d = tmp_path / "dmg"
    s = tp.Stream("file:%s" % d, create=True, write=True, shards=1)
    for i in range(3):
        s.put(b"record-%d-" % i + b"x" * 100, "k")
    s.close()
    seg = sorted((d / "shardId-000000000000").glob("*.seg"))[0]
    raw = bytearray(seg.read_bytes())
    at = raw.index(b"record-1-")
    raw[at] ^= 0xFF  # the middle frame's data: its CRC no longer matches
    seg.write_bytes(bytes(raw))
    r = tp.Stream("file:%s" % d).reader("shardId-000000000000")
    assert [x.data[:9] for x in r.get()] == [b"record-0-"]  # what is before the damage
    with pytest.raises(tp.ChecksumError) as ei:
        r.get()
    assert ei.value.offset is not None and ei.value.offset < at
    assert "seg" in ei.value.message
