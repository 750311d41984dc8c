"""The Engine: ticks, events, positions, snapshots, errors; events equal
tp-consumer's replay of the same file."""

import json
import subprocess
from decimal import Decimal

import pytest

import tradepipe as tp

from conftest import gen


def test_buy_then_take_profit_exact():
    with tp.Engine(window=3, drop_pct="2", take_profit_pct=Decimal("5"), order_size=10) as e:
        assert e.apply("A", Decimal("100"), 1) is None  # no reference yet
        assert e.apply("A", "99", 2) is None  # -1%: no buy
        ev = e.apply("A", Decimal("97.99"), 3, time_us=5)
        assert ev.side == "buy" and ev.reason == "drop" and ev.quantity == 10
        assert ev.price == Decimal("97.99") and ev.reference == Decimal(100)
        assert ev.time_us == 5 and ev.sequence == "3" and ev.shard == ""
        p = e.position("A")
        assert p.quantity == 10 and p.entry_price == Decimal("97.99") and p.entry_sequence == "3"
        assert e.apply("A", "102.8895", 4) is None  # exactly +5%: not more than 5%
        ev = e.apply("A", "102.88950001", 5)
        assert ev.side == "sell" and ev.reason == "take_profit" and ev.reference is None
        assert ev.pnl == Decimal("48.9950001") and ev.entry_price == Decimal("97.99")
        assert ev.entry_sequence == "3" and ev.time_us is None and ev.entry_time_us == 5
        p = e.position("A")
        assert p.quantity == 0 and p.entry_price is None and p.realized_pnl == Decimal("48.9950001")
        assert (p.ticks, p.buys, p.sells, p.last_sequence) == (5, 1, 1, "5")
        assert e.stats() == {"ticks": 5, "duplicates": 0, "buys": 1, "sells": 1, "symbols": 1}


def test_stop_loss_and_options():
    e = tp.Engine(window=1, drop_pct=1, take_profit_pct=50, stop_loss_pct="2.5", order_size=1)
    assert e.options() == {"window": 1, "drop_pct": Decimal(1), "take_profit_pct": Decimal(50),
                           "stop_loss_pct": Decimal("2.5"), "order_size": 1,
                           "max_symbols": 100000}  # 0 asked: the default, resolved
    e.apply("S", 100, 1)
    assert e.apply("S", 98, 2).side == "buy"
    ev = e.apply("S", "95.5", 3)
    assert ev.reason == "stop_loss" and ev.pnl == Decimal("-2.5")
    assert tp.Engine().options()["stop_loss_pct"] is None


def test_duplicates_and_shards():
    e = tp.Engine()
    e.apply("A", 10, 5, shard="s1")
    e.apply("A", 10, 5, shard="s1")  # redelivery
    e.apply("A", 10, 3, shard="s1")  # older
    e.apply("A", 10, 1, shard="s2")  # another shard
    big = "1" + "0" * 100
    e.apply("A", 10, big, shard="s2")
    assert e.stats()["duplicates"] == 2 and e.stats()["ticks"] == 3
    assert e.position("A").last_sequence == big and e.position("A").last_shard == "s2"


@pytest.mark.parametrize("kw,exc,field", [
    (dict(symbol="", price=1, sequence=1), tp.InvalidArgumentError, "symbol"),
    (dict(symbol="A", price=0, sequence=1), tp.InvalidArgumentError, "price"),
    (dict(symbol="A", price=1, sequence="01"), tp.InvalidArgumentError, "sequence"),
    (dict(symbol="A", price=1, sequence="x"), tp.InvalidArgumentError, "sequence"),
    (dict(symbol="A", price=1, sequence=1, shard="s" * 200), tp.InvalidArgumentError, "shard"),
    (dict(symbol="A", price=1.0, sequence=1), TypeError, None),
    (dict(symbol="A", price=1, sequence=1.0), TypeError, None),
    (dict(symbol="A", price=1, sequence=1, time_us=1.5), TypeError, None),
])
def test_apply_errors(kw, exc, field):
    e = tp.Engine()
    with pytest.raises(exc) as ei:
        e.apply(kw.pop("symbol"), kw.pop("price"), kw.pop("sequence"), **kw)
    if field:
        assert ei.value.field == field
    assert e.stats()["ticks"] == 0


def test_option_errors():
    with pytest.raises(tp.InvalidArgumentError) as ei:
        tp.Engine(window=0)
    assert ei.value.field == "window"
    with pytest.raises(tp.InvalidArgumentError):
        tp.Engine(drop_pct=101)
    with pytest.raises(TypeError):
        tp.Engine(drop_pct=2.0)
    with pytest.raises(TypeError):
        tp.Engine(window="3")
    with pytest.raises(ValueError):
        tp.Engine(window=-1)
    with pytest.raises(tp.InvalidArgumentError):
        tp.Engine(order_size=0)


def test_limit_and_not_found():
    e = tp.Engine(max_symbols=2)
    e.apply("A", 1, 1)
    e.apply("B", 1, 1)
    with pytest.raises(tp.LimitError):
        e.apply("C", 1, 1)
    with pytest.raises(tp.NotFoundError):
        e.position("C")
    with pytest.raises(tp.NotFoundError):
        e.snapshot("C")
    with pytest.raises(ValueError):
        e.snapshot("")
    assert [p.symbol for p in e.positions()] == ["A", "B"]


def test_snapshot_restore_continues_identically():
    prices = [100, 99, 97, 96, 101, 103, 95, 94, 99, 104, 92, 97, 101]
    a = tp.Engine(window=4)
    for i, px in enumerate(prices[:6], 1):
        a.apply("X", px, i)
        a.apply("Y", px + 1, i)
    snap = a.snapshot()
    one = a.snapshot("Y")
    b = tp.Engine(window=4)
    b.restore(snap)
    assert b.positions() == a.positions()
    ea = [a.apply("X", px, i) for i, px in enumerate(prices[6:], 7)]
    eb = [b.apply("X", px, i) for i, px in enumerate(prices[6:], 7)]
    assert ea == eb and any(ea)
    c = tp.Engine(window=4)
    c.restore(one)
    assert [p.symbol for p in c.positions()] == ["Y"]
    # A snapshot is checked whole: nothing changes on failure.
    with pytest.raises(tp.StateError) as ei:
        tp.Engine(window=5).restore(snap)
    assert ei.value.field
    bad = bytearray(snap)
    bad[-1] ^= 0xFF
    with pytest.raises((tp.ChecksumError, tp.ParseError)):
        c.restore(bytes(bad))
    with pytest.raises(tp.ParseError):
        c.restore(b"nope")
    assert [p.symbol for p in c.positions()] == ["Y"]


def test_closed_engine():
    e = tp.Engine()
    e.close()
    e.close()
    for call in (lambda: e.apply("A", 1, 1), lambda: e.position("A"), e.positions, e.stats,
                 e.snapshot, lambda: e.restore(b""), e.options):
        with pytest.raises(ValueError):
            call()


def test_events_equal_tp_consumer_replay(tp_gen, tp_consumer, tmp_path):
    """The same file through tp-consumer's replay and through the bindings:
    the same events. A record's sequence is its 1-based position, malformed
    records included; its shard is "file:" + the base name."""
    src = gen(tp_gen, tmp_path / "g.json", "--records", 20000, "--seed", 11)
    data = open(src, "rb").read()
    cut = data.index(b'{"symbol"', len(data) // 2)
    p = tmp_path / "replay.json"
    p.write_bytes(data[:cut] + b"junk junk" + b'{"symbol":"","price":1,"volume":1}' + data[cut:])
    for opts, kw in (([], {}), (["--window", "5", "--drop-pct", "1.5", "--stop-loss-pct", "3",
                                "--order-size", "7"],
                               dict(window=5, drop_pct="1.5", stop_loss_pct="3", order_size=7))):
        r = subprocess.run([tp_consumer, "--events", "-", "--source", "file:%s" % p] + opts,
                           capture_output=True, check=False)
        assert r.returncode in (0, 1), r.stderr
        want = [json.loads(l, parse_float=Decimal) for l in r.stdout.splitlines()]
        e = tp.Engine(**kw)
        got = []
        for seq, item in enumerate(tp.read_records(str(p)), 1):
            if isinstance(item, tp.MalformedRecord):
                continue
            ev = e.apply_trade(item, seq, shard="file:replay.json")
            if ev:
                d = {"symbol": ev.symbol, "side": ev.side, "price": ev.price,
                     "quantity": ev.quantity, "timestamp": item.timestamp,
                     "sequence": int(ev.sequence)}
                if ev.side == "sell":
                    d["pnl"] = ev.pnl
                got.append(d)
        assert len(want) > 10
        assert got == want
