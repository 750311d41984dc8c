"""Memory ownership: 10^6 calls through the bindings (decode, encode, an
error path, an engine tick, a signature; 200,000 rounds of five) with the
resident set flat. A leak of even 16 bytes a call would be 16 MB."""

import gc
import os
from decimal import Decimal

import tradepipe as tp

ROUNDS = int(os.environ.get("TP_LEAK_ROUNDS", "200000"))
WARMUP = 20000


def _rss_kib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def test_rss_flat_over_a_million_calls():
    raw = b'{"symbol":"AAPL","price":187.23,"volume":1200,"timestamp":"2025-10-22T12:58:35.123Z"}'
    bad = b'{"symbol":"AAPL","price":-1,"volume":1}'
    engine = tp.Engine(window=5)
    signer = tp.Signer(tp.Credentials("AKIDEXAMPLE", "secret"), "us-east-1", "kinesis")
    headers = {"Content-Type": "application/x-amz-json-1.1"}
    body = b"x" * 1024
    prices = [Decimal("100"), Decimal("97.5"), Decimal("103"), Decimal("99.99")]
    calls = 0
    rss = None
    for i in range(ROUNDS + WARMUP):
        if i == WARMUP:
            gc.collect()
            rss = _rss_kib()
        t = tp.decode(raw)
        tp.encode(t)
        try:
            tp.decode(bad)
        except tp.RecordError:
            pass
        engine.apply("S%d" % (i & 7), prices[i & 3], i + 1)
        signer.sign("POST", "https://kinesis.us-east-1.amazonaws.com/", headers, body,
                    time=1761137915000 + i)
        if i >= WARMUP:
            calls += 5
    gc.collect()
    grown = _rss_kib() - rss
    assert calls == 5 * ROUNDS
    assert grown < 2048, "RSS grew by %d KiB over %d calls" % (grown, calls)


def test_handles_freed_by_finalizers():
    """Objects dropped without close() free their C handles (counted by the
    RSS again: 20,000 engines, readers and signers that each hold C memory)."""
    data = b'{"symbol":"A","price":1,"volume":1}' * 10
    for _ in range(2000):
        tp.Engine()
        list(tp.read_records(data))
        tp.Signer(tp.Credentials("A", "B"), "r", "s")
    gc.collect()
    rss = _rss_kib()
    for _ in range(20000):
        tp.Engine()
        r = tp.read_records(data)
        next(iter(r))  # dropped mid-iteration
        del r
        tp.Signer(tp.Credentials("A", "B"), "r", "s")
    gc.collect()
    assert _rss_kib() - rss < 2048
