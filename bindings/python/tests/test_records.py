"""Records: decode / encode, the streaming reader, summaries against tp-parse."""

import gzip
import io
import json
import os
import subprocess
from decimal import Decimal

import pytest

import tradepipe as tp
from tradepipe import _lib as L

from conftest import gen

GOOD = b'{"symbol":"AAPL","price":187.23,"volume":1200,"timestamp":"2025-10-22T12:58:35.123Z"}'


def test_decode_exact_decimal_and_fields():
    t = tp.decode(b'{"symbol":"AAPL","price":187.230,"volume":1200,'
                  b'"timestamp":"2025-10-22T12:58:35.123Z","trade_id":"t-1","side":"buy",'
                  b'"exchange":"XNAS","extra":[1,{"a":2}]}')
    assert t.symbol == "AAPL" and t.volume == 1200
    assert isinstance(t.price, Decimal) and t.price == Decimal("187.23")
    assert str(t.price) == "187.23"
    assert t.timestamp == "2025-10-22T12:58:35.123Z" and t.time_us == 1761137915123000
    assert (t.trade_id, t.side, t.exchange) == ("t-1", "buy", "XNAS")


def test_decode_str_epoch_and_tiny_prices():
    t = tp.decode('{"symbol":"Nestlé","price":0.00000001,"volume":0,"timestamp":1729600000123}')
    assert t.symbol == "Nestlé" and t.price == Decimal("0.00000001") and t.volume == 0
    assert t.timestamp == 1729600000123 and t.time_us == 1729600000123000
    t = tp.decode('{"symbol":"X","price":1.5e2,"volume":1,"timestamp":1729600000.5}')
    assert t.price == Decimal(150) and t.timestamp == Decimal("1729600000.5")
    assert tp.decode('{"symbol":"X","price":92233720368.54775807,"volume":1}').price == \
        Decimal("92233720368.54775807")


@pytest.mark.parametrize("data,cls,field,offset", [
    (b'{"symbol":"AAPL","price":1', tp.ParseError, None, None),
    (b'not json', tp.ParseError, None, None),
    (b'{"symbol":"","price":1,"volume":1}', tp.RecordError, "symbol", None),
    (b'{"symbol":"A","price":-1,"volume":1}', tp.RecordError, "price", None),
    (b'{"symbol":"A","price":1.000000001,"volume":1}', tp.RecordError, "price", None),
    (b'{"symbol":"A","price":1,"volume":1.5}', tp.RecordError, "volume", None),
    (b'{"symbol":"A","price":1,"volume":1,"timestamp":"yesterday"}', tp.RecordError,
     "timestamp", None),
    (b'{"symbol":"A","price":1,"volume":1} {}', tp.ParseError, None, None),
])
def test_decode_errors_carry_detail(data, cls, field, offset):
    with pytest.raises(cls) as ei:
        tp.decode(data)
    e = ei.value
    assert e.message and e.code == cls.code
    assert e.offset is not None and 0 <= e.offset <= len(data)
    if field:
        assert e.field == field
    if offset is not None:
        assert e.offset == offset


def test_decode_lenient_keeps_what_is_valid():
    t = tp.decode(b'{"symbol":"A","price":1,"volume":1,"timestamp":"yesterday","side":5}',
                  strict=False)
    assert t.timestamp == "yesterday" and t.time_us is None and t.side is None


def test_encode_round_trip_same_digits():
    for raw in (GOOD, b'{"symbol":"X","price":0.1,"volume":0}',
                b'{"symbol":"X","price":150,"volume":7,"timestamp":1729600000,"trade_id":"a",'
                b'"side":"sell","exchange":"e"}'):
        t = tp.decode(raw)
        assert tp.encode(t) == raw
        assert tp.decode(tp.encode(t)) == t
    assert tp.encode(tp.decode(GOOD), newline=True) == GOOD + b"\n"
    t = tp.Trade("Nestlé \"q\"", Decimal("1.10"), 3, Decimal("1729600000.5"))
    assert tp.decode(tp.encode(t)).symbol == "Nestlé \"q\""
    assert tp.encode(t) == '{"symbol":"Nestlé \\"q\\"","price":1.1,"volume":3,' \
        '"timestamp":1729600000.5}'.encode()
    assert tp.encode(tp.Trade("A", 5, 1)) == b'{"symbol":"A","price":5,"volume":1}'
    assert tp.encode(tp.Trade("A", "5.25", 1)) == b'{"symbol":"A","price":5.25,"volume":1}'


@pytest.mark.parametrize("trade,exc", [
    (tp.Trade("A", 1.5, 1), TypeError),  # floats never
    (tp.Trade("A", Decimal("NaN"), 1), ValueError),
    (tp.Trade("A", Decimal("1.000000001"), 1), tp.RangeError),
    (tp.Trade("A", "abc", 1), tp.ParseError),
    (tp.Trade("A", Decimal("1E+30"), 1), tp.RangeError),
    (tp.Trade("", Decimal(1), 1), tp.InvalidArgumentError),
    (tp.Trade("A", 0, 1), tp.InvalidArgumentError),
    (tp.Trade("A", Decimal("-0.5"), 1), tp.InvalidArgumentError),
    (tp.Trade("A" * 128, Decimal(1), 1), ValueError),
    (tp.Trade("A\0B", Decimal(1), 1), ValueError),
    (tp.Trade("A", Decimal(1), -1), ValueError),
    (tp.Trade("A", Decimal(1), 1.0), TypeError),
    (tp.Trade("A", Decimal(1), 1, 1.5), TypeError),
    (tp.Trade("A", Decimal(1), 1, "x" * 64), ValueError),
    (tp.Trade("A", Decimal(1), 1, None, 7), TypeError),
    (tp.Trade(5, Decimal(1), 1), TypeError),
])
def test_encode_refuses_bad_trades(trade, exc):
    with pytest.raises(exc):
        tp.encode(trade)


def test_price_errors_name_the_field():
    with pytest.raises(tp.RangeError) as ei:
        tp.encode(tp.Trade("A", Decimal("0.000000001"), 1))
    assert ei.value.field == "price"


JUNK_FILE = (b'{"symbol":"A","price":1.5,"volume":1}'
             b'{"symbol":"","price":1,"volume":1}'  # offset 37: bad symbol
             b'garbage here'  # a run of junk
             b'{"symbol":"B","price":2,"volume":2,"timestamp":"2025-10-22T00:00:00Z"}\n'
             b'{"symbol":"A","price":3,"volume":3}')


def test_read_records_yields_malformed_with_offsets():
    items = list(tp.read_records(JUNK_FILE))
    kinds = [type(i).__name__ for i in items]
    assert kinds == ["Trade", "MalformedRecord", "MalformedRecord", "Trade", "Trade"]
    assert items[1].offset == 37 and items[1].field == "symbol" and items[1].code == L.TP_E_RECORD
    assert items[2].offset == JUNK_FILE.index(b"garbage")
    assert items[3] == tp.Trade("B", Decimal(2), 2, "2025-10-22T00:00:00Z", time_us=1761091200000000)
    assert [i.price for i in items if isinstance(i, tp.Trade)] == [Decimal("1.5"), 2, 3]


def test_read_records_skip_raise_and_sources(tmp_path):
    assert len(list(tp.read_records(JUNK_FILE, errors="skip"))) == 3
    with pytest.raises(tp.RecordError) as ei:
        list(tp.read_records(JUNK_FILE, errors="raise"))
    assert ei.value.offset == 37 and ei.value.field == "symbol"
    with pytest.raises(ValueError):
        tp.read_records(JUNK_FILE, errors="ignore")
    with pytest.raises(TypeError):
        tp.read_records(12)
    p = tmp_path / "f.json.gz"
    p.write_bytes(gzip.compress(JUNK_FILE[:40]) + gzip.compress(JUNK_FILE[40:]))  # multi-member
    want = list(tp.read_records(JUNK_FILE))
    assert list(tp.read_records(str(p))) == want
    assert list(tp.read_records(p)) == want  # PathLike
    with open(p, "rb") as f:
        assert list(tp.read_records(f)) == want  # a file object, through a callback
    assert list(tp.read_records(io.BytesIO(gzip.compress(JUNK_FILE)))) == want
    assert list(tp.read_records(bytearray(JUNK_FILE))) == want
    # gzip=False: the compressed bytes are junk, not records
    got = list(tp.read_records(gzip.compress(JUNK_FILE), gzip=False))
    assert all(isinstance(g, tp.MalformedRecord) for g in got)


def test_read_records_strict_and_too_large():
    # A record past the reader's whole window (max_record_bytes + its read-ahead):
    # the library lets one that fits in the window through (reported to the lead).
    data = b'{"symbol":"A","price":1,"volume":1,"timestamp":"bad"}' + \
        b'{"symbol":"B","price":1,"volume":1,"note":"' + b"x" * 3000000 + b'"}'
    lenient = list(tp.read_records(data))
    assert isinstance(lenient[0], tp.Trade) and lenient[0].timestamp == "bad"
    strict = list(tp.read_records(data, strict=True, max_record_bytes=4096))
    assert isinstance(strict[0], tp.MalformedRecord) and strict[0].field == "timestamp"
    assert strict[1].code == L.TP_E_TOO_LARGE and strict[1].offset == data.index(b'{"symbol":"B"')
    with pytest.raises(ValueError):
        tp.read_records(data, max_record_bytes=-1)


def test_read_records_broken_gzip_raises_after_the_records(tmp_path):
    z = gzip.compress(GOOD * 2000)
    p = tmp_path / "cut.gz"
    p.write_bytes(z[:len(z) // 2])
    items = []
    with pytest.raises(tp.GzipError) as ei:
        for it in tp.read_records(str(p)):
            items.append(it)
    assert len(items) > 10 and "gzip" in ei.value.message.lower() or ei.value.message


def test_read_records_missing_file_and_failing_file_object(tmp_path):
    with pytest.raises(tp.IOFailureError) as ei:
        tp.read_records(str(tmp_path / "missing.json"))
    assert "missing.json" in ei.value.message

    class Bad(io.RawIOBase):
        def readinto(self, b):
            raise OSError("disk on fire")

    with pytest.raises(tp.IOFailureError) as ei:
        list(tp.read_records(Bad()))
    assert isinstance(ei.value.__cause__, OSError)

    class Text:
        def read(self, n):
            return "text"

    with pytest.raises(tp.IOFailureError) as ei:
        list(tp.read_records(Text()))
    assert isinstance(ei.value.__cause__, TypeError)


def test_reader_lifecycle_and_stats():
    r = tp.read_records(JUNK_FILE)
    with r:
        it = iter(r)
        next(it)
        st = r.stats()
        assert st["records"] >= 1 and st["gzip"] == 0
        assert iter(r) is it
    assert r.closed
    with pytest.raises(ValueError):
        r.stats()
    with pytest.raises(ValueError):
        iter(r)
    r.close()  # idempotent
    r2 = tp.read_records(JUNK_FILE)
    assert len(list(r2)) == 5 and r2.stats() == {"bytes": len(JUNK_FILE), "records": 3,
                                                 "errors": 2, "gzip": 0}


def test_records_of_a_generated_file_equal_json_loads(tp_gen, tmp_path):
    p = gen(tp_gen, tmp_path / "n.ndjson", "--records", 3000, "--seed", 5, "--format", "ndjson")
    want = []
    with open(p, "rb") as f:
        for line in f:
            d = json.loads(line, parse_float=Decimal)
            want.append(tp.Trade(d["symbol"], d["price"], d["volume"], d["timestamp"],
                                 d.get("trade_id"), d.get("side"), d.get("exchange")))
    got = [t._replace(time_us=None) for t in tp.read_records(p)]
    assert got == want
    assert all(str(t.price) == str(w.price).rstrip("0").rstrip(".") or t.price == w.price
               for t, w in zip(got, want))


# ---- summaries against tp-parse --------------------------------------------

def _tp_parse_json(tp_parse, *paths):
    r = subprocess.run([tp_parse, "--json"] + [str(p) for p in paths], capture_output=True)
    assert r.returncode in (0, 1), r.stderr
    return json.loads(r.stdout, parse_float=Decimal), r.stderr.decode()


def test_summary_equals_tp_parse(tp_parse, tp_gen, tmp_path):
    d = tmp_path / "raw" / "2025" / "10"
    d.mkdir(parents=True)
    gen(tp_gen, d / "a.gz", "--records", 4000, "--seed", 1, "--gzip")
    gen(tp_gen, d / "b.json", "--records", 3000, "--seed", 2, "--format", "ndjson")
    bad = tmp_path / "raw" / "bad.json"
    bad.write_bytes(JUNK_FILE * 3)
    for paths in ([tmp_path / "raw"], [d / "a.gz"], [bad, d / "b.json"]):
        want, stderr = _tp_parse_json(tp_parse, *paths)
        seen = []
        got = tp.summarize(*paths, on_error=lambda path, m: seen.append((path, m)))
        assert got == want
        assert list(got["symbols"]) == sorted(got["symbols"])
        # the malformed records tp-parse reports, PATH:OFFSET: reason, in the same order
        assert ["%s:%d: %s" % (p, m.offset, m.message) for p, m in seen] == \
            [l for l in stderr.splitlines() if l]


def test_summary_types_and_errors(tp_gen, tmp_path):
    p = gen(tp_gen, tmp_path / "x.json", "--records", 100, "--seed", 3)
    s = tp.summarize(p)
    assert s["records"] == 100 and s["errors"] == 0 and s["bytes"] == os.path.getsize(p)
    for v in s["symbols"].values():
        assert all(isinstance(v[k], Decimal) for k in ("min_price", "max_price", "avg_price"))
        assert isinstance(v["count"], int) and isinstance(v["total_volume"], int)
    with pytest.raises(ValueError):
        tp.summarize()
    with pytest.raises(tp.IOFailureError) as ei:
        tp.summarize(tmp_path / "missing")
    assert "missing" in str(ei.value)
    z = gzip.compress(GOOD * 1000)
    (tmp_path / "cut.gz").write_bytes(z[:len(z) // 2])
    with pytest.raises(tp.GzipError) as ei:
        tp.summarize(tmp_path / "cut.gz")
    assert "cut.gz" in ei.value.message


def test_reader_without_its_inflate_thread(tmp_path):
    z = gzip.compress(JUNK_FILE * 50)
    with tp.RecordReader(z, thread=False) as r:
        got = list(r)
        assert r.stats()["gzip"] == 1
    assert got == list(tp.read_records(z)) and len(got) == 250
