"""Trade records: decode and encode, stream the records of Firehose files,
and summarize files as tp-parse does. Prices are decimal.Decimal, never float."""

from __future__ import annotations

import ctypes
import os
import struct
import weakref
from decimal import Decimal
from typing import (IO, Any, Callable, Dict, Iterator, List, NamedTuple, Optional,
                    Union)

from . import _lib as L
from ._util import cstr, dec_from_e8, e8_from
from .errors import InvalidArgumentError, TradepipeError, check, from_error

Timestamp = Union[str, int, Decimal, None]
Source = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, IO[bytes]]


class Trade(NamedTuple):
    """One trade record.

    ``timestamp`` is as in the input: the ISO-8601 text (str), or epoch
    seconds / milliseconds (int, or Decimal when it has a fraction).
    ``time_us`` is that time parsed, in microseconds since the epoch (None
    when there is no timestamp or it does not read as a time); it is set by
    decoding and ignored by encoding.
    """
    symbol: str
    price: Decimal
    volume: int
    timestamp: Timestamp = None
    trade_id: Optional[str] = None
    side: Optional[str] = None
    exchange: Optional[str] = None
    time_us: Optional[int] = None


class MalformedRecord(NamedTuple):
    """A malformed record (or run of junk) that reading skipped: its first byte's
    offset in the uncompressed input, the reason, the field at fault (or None)
    and the status code (TP_E_RECORD, or TP_E_TOO_LARGE for an oversized one)."""
    offset: int
    message: str
    field: Optional[str]
    code: int


_tuple_new = tuple.__new__


def _ts_value(kind: int, text: bytes) -> Timestamp:
    if kind == L.TP_TS_STRING:
        return text.decode("utf-8")
    if kind == L.TP_TS_NUMBER:
        s = text.decode("ascii")
        try:
            return int(s)
        except ValueError:
            return Decimal(s)
    return None


def _trade_from_struct(t: L.tp_trade) -> Trade:
    f = t.flags
    return _tuple_new(Trade, (
        t.symbol.decode("utf-8"), dec_from_e8(t.price_e8), t.volume,
        _ts_value(t.ts_kind, t.timestamp),
        t.trade_id.decode("utf-8") if f & L.TP_TRADE_HAS_TRADE_ID else None,
        t.side.decode("utf-8") if f & L.TP_TRADE_HAS_SIDE else None,
        t.exchange.decode("utf-8") if f & L.TP_TRADE_HAS_EXCHANGE else None,
        t.ts_us if f & L.TP_TRADE_TS_PARSED else None))


def decode(data: Union[bytes, str], *, strict: bool = True) -> Trade:
    """Decode exactly one JSON trade record.

    ``strict`` (default): a present timestamp must be an ISO-8601 string or an
    epoch number, and the optional fields strings. ``strict=False`` is the
    Firehose parser's rule: only symbol, price and volume must be valid.
    Raises ParseError (not one JSON value; ``offset`` at the fault) or
    RecordError (not a valid trade; ``field`` names the field).
    """
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    t = L.tp_trade()
    err = L.tp_error()
    st = L.lib.tp_record_decode(ctypes.byref(t), L.tp_cursor(raw, len(raw)),
                                0 if strict else L.TP_DECODE_LENIENT, ctypes.byref(err))
    check(st, err)
    return _trade_from_struct(t)


def _put_str(t: L.tp_trade, name: str, value: str, limit: int) -> None:
    b = value.encode("utf-8")
    if b"\0" in b:
        raise ValueError("%s holds a NUL character" % name)
    if len(b) >= limit:
        raise ValueError("%s is %d bytes, more than %d" % (name, len(b), limit - 1))
    setattr(t, name, b)


def _to_struct(trade: Trade) -> L.tp_trade:
    t = L.tp_trade()
    if not isinstance(trade.symbol, str):
        raise TypeError("symbol must be str")
    _put_str(t, "symbol", trade.symbol, L.TP_SYMBOL_MAX)
    t.symbol_len = len(trade.symbol.encode("utf-8"))
    t.price_e8 = e8_from(trade.price, "price")
    if t.price_e8 <= 0:
        # A trade's price is > 0 (tp_trade); the C encoder would write it anyway.
        raise InvalidArgumentError("price must be > 0, not %s" % (trade.price,), field="price",
                                   code=L.TP_E_INVALID)
    if isinstance(trade.volume, bool) or not isinstance(trade.volume, int):
        raise TypeError("volume must be int")
    if not 0 <= trade.volume < (1 << 63):
        raise ValueError("volume must be 0 <= volume < 2**63, not %d" % trade.volume)
    t.volume = trade.volume
    ts = trade.timestamp
    if ts is None:
        t.ts_kind = L.TP_TS_NONE
    elif isinstance(ts, str):
        t.ts_kind = L.TP_TS_STRING
        _put_str(t, "timestamp", ts, L.TP_TIMESTAMP_MAX)
    elif isinstance(ts, (int, Decimal)) and not isinstance(ts, bool):
        if isinstance(ts, Decimal) and not ts.is_finite():
            raise ValueError("timestamp must be finite")
        t.ts_kind = L.TP_TS_NUMBER
        _put_str(t, "timestamp", str(ts), L.TP_TIMESTAMP_MAX)
    else:
        raise TypeError("timestamp must be str, int, Decimal or None, not %s"
                        % type(ts).__name__)
    flags = 0
    for name, bit, limit in (("trade_id", L.TP_TRADE_HAS_TRADE_ID, L.TP_TRADE_ID_MAX),
                             ("side", L.TP_TRADE_HAS_SIDE, L.TP_SIDE_MAX),
                             ("exchange", L.TP_TRADE_HAS_EXCHANGE, L.TP_EXCHANGE_MAX)):
        v = getattr(trade, name)
        if v is not None:
            if not isinstance(v, str):
                raise TypeError("%s must be str or None" % name)
            _put_str(t, name, v, limit)
            flags |= bit
    t.flags = flags
    return t


def encode(trade: Trade, *, newline: bool = False) -> bytes:
    """Encode a Trade as one JSON object (plain decimal prices; with
    ``newline``, an NDJSON line). decode(encode(t)) gives t back.
    Raises TypeError for a float price; InvalidArgumentError, ParseError or
    RangeError from the library for values it refuses."""
    t = _to_struct(trade)
    buf = L.tp_buf()
    err = L.tp_error()
    L.lib.tp_buf_init(ctypes.byref(buf), None, 0)
    try:
        st = L.lib.tp_record_encode(ctypes.byref(buf), ctypes.byref(t),
                                    L.TP_ENCODE_NEWLINE if newline else 0, ctypes.byref(err))
        check(st, err)
        return ctypes.string_at(buf.ptr, buf.len)
    finally:
        L.lib.tp_buf_dispose(ctypes.byref(buf))


# ---- reading files -----------------------------------------------------------

_TRADE_SIZE = ctypes.sizeof(L.tp_trade)
_ROW = struct.Struct("<qqqIIII%ds%ds%ds%ds%ds" % (
    L.TP_SYMBOL_MAX, L.TP_TIMESTAMP_MAX, L.TP_TRADE_ID_MAX, L.TP_SIDE_MAX, L.TP_EXCHANGE_MAX))
assert _ROW.size == _TRADE_SIZE
BATCH = 1024


def _open_source(source: Source, keep: List[Any]) -> ctypes.c_void_p:
    """A tp_source for `source`; whatever must outlive it goes into `keep`."""
    src = ctypes.c_void_p()
    err = L.tp_error()
    if isinstance(source, (str, os.PathLike)):
        st = L.lib.tp_source_open(ctypes.byref(src), os.fsencode(source), ctypes.byref(err))
    elif isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        keep.append(data)
        st = L.lib.tp_source_from_memory(ctypes.byref(src), data, len(data), ctypes.byref(err))
    elif hasattr(source, "readinto") or hasattr(source, "read"):
        f = source
        failure: List[BaseException] = []

        def read(_payload, buf, cap, n, e):  # runs with the GIL (ctypes takes it)
            try:
                view = (ctypes.c_char * cap).from_address(buf)
                if hasattr(f, "readinto"):
                    got = f.readinto(memoryview(view).cast("B"))
                else:
                    chunk = f.read(cap)
                    if not isinstance(chunk, bytes):
                        raise TypeError("the file object must be opened in binary mode")
                    got = len(chunk)
                    ctypes.memmove(buf, chunk, got)
                n[0] = got or 0
                return L.TP_OK
            except BaseException as ex:  # reported after the C call returns
                failure.append(ex)
                msg = ("reading the file object failed: %s" % type(ex).__name__).encode()
                e[0].code = L.TP_E_IO
                e[0].message = msg[:L.TP_ERROR_MESSAGE_MAX - 1]
                e[0].offset = L.TP_NO_OFFSET
                return L.TP_E_IO

        cb = L.READ_FN(read)
        keep.extend([cb, f, failure])
        st = L.lib.tp_source_from_callback(ctypes.byref(src), cb, None, ctypes.byref(err))
    else:
        raise TypeError("source must be a path, bytes or a binary file object, not %s"
                        % type(source).__name__)
    check(st, err)
    return src


def _free_reader(reader: int, source: int) -> None:
    L.lib.tp_reader_free(reader)
    L.lib.tp_source_free(source)


class _ReaderHandles:
    """Owns a tp_reader, its tp_source and what the source reads from. The
    RecordReader and its generator both hold it (and nothing holds them back,
    so no reference cycle delays the release)."""

    def __init__(self, rd: int, src: int, keep: List[Any]) -> None:
        self.rd = rd
        self.keep = keep
        self.finalizer = weakref.finalize(self, _free_reader, rd, src)

    def failure(self) -> Optional[BaseException]:
        for k in self.keep:
            if isinstance(k, list) and k:
                return k[0]
        return None


class RecordReader:
    """The records of one Firehose / NDJSON input (plain or gzip, detected by
    its magic bytes), streamed with bounded memory.

    Iterating yields a Trade per valid record and, with ``errors="yield"``
    (the default), a MalformedRecord per malformed one in its place;
    ``errors="skip"`` drops those, ``errors="raise"`` raises RecordError /
    TooLargeError (with ``offset``) at the first. A broken gzip stream or a
    failing read raises GzipError / IOFailureError. Use it as a context
    manager (or call close()) to release the file at once; a reader that is
    garbage-collected is closed then. One thread at a time per reader.
    """

    def __init__(self, source: Source, *, errors: str = "yield", strict: bool = False,
                 max_record_bytes: int = 0, gzip: bool = True, thread: bool = True) -> None:
        if errors not in ("yield", "skip", "raise"):
            raise ValueError("errors must be 'yield', 'skip' or 'raise', not %r" % (errors,))
        self._errors = errors
        self._keep: List[Any] = []
        self._gen: Optional[Iterator[Union[Trade, MalformedRecord]]] = None
        src = _open_source(source, self._keep)
        opts = L.tp_reader_options()
        L.lib.tp_reader_options_init(ctypes.byref(opts), L.TP_READER_OPTIONS_VERSION)
        opts.decode_flags = 0 if strict else L.TP_DECODE_LENIENT
        opts.flags = (0 if gzip else L.TP_READ_NO_GZIP) | (0 if thread else L.TP_READ_NO_THREAD)
        if max_record_bytes < 0:
            L.lib.tp_source_free(src)
            raise ValueError("max_record_bytes must be >= 0")
        opts.max_record_bytes = max_record_bytes
        rd = ctypes.c_void_p()
        err = L.tp_error()
        st = L.lib.tp_reader_new(ctypes.byref(rd), src, ctypes.byref(opts), ctypes.byref(err))
        if st != L.TP_OK:
            L.lib.tp_source_free(src)
            raise from_error(st, err)
        self._h = _ReaderHandles(rd.value, src.value, self._keep)  # type: ignore[arg-type]
        self._finalizer = self._h.finalizer

    def __enter__(self) -> "RecordReader":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Release the reader and its source (idempotent)."""
        if self._gen is not None:
            self._gen.close()  # type: ignore[attr-defined]
            self._gen = None
        self._finalizer()

    @property
    def closed(self) -> bool:
        return not self._finalizer.alive

    def stats(self) -> Dict[str, int]:
        """Counters so far: bytes (uncompressed), records, errors, gzip (0/1)."""
        if not self._finalizer.alive:
            raise ValueError("the reader is closed")
        s = L.tp_reader_stats()
        L.lib.tp_reader_stats_get(self._h.rd, ctypes.byref(s))
        return {"bytes": s.bytes, "records": s.records, "errors": s.errors, "gzip": s.gzip}

    def __iter__(self) -> Iterator[Union[Trade, MalformedRecord]]:
        if not self._finalizer.alive:
            raise ValueError("the reader is closed")
        if self._gen is None:
            self._gen = _run(self._h, self._errors)
        return self._gen


def _run(h: _ReaderHandles, errors: str) -> Iterator[Union[Trade, MalformedRecord]]:
    """The records, a batch per C call (the first batches small: a short
    input does not pay for a large array)."""
    cap = 16
    arr = (L.tp_trade * cap)()
    addr = ctypes.addressof(arr)
    n = ctypes.c_size_t()
    err = L.tp_error()
    pn, perr = ctypes.byref(n), ctypes.byref(err)
    nextb = L.lib.tp_reader_next_batch
    iter_unpack = _ROW.iter_unpack
    string_at = ctypes.string_at
    syms: Dict[bytes, str] = {}
    prices: Dict[int, Decimal] = {}
    tnew = _tuple_new
    rd = h.rd
    HAS_ID, HAS_SIDE, HAS_EX = (L.TP_TRADE_HAS_TRADE_ID, L.TP_TRADE_HAS_SIDE,
                                L.TP_TRADE_HAS_EXCHANGE)
    PARSED = L.TP_TRADE_TS_PARSED
    while True:
        if not h.finalizer.alive:
            raise ValueError("the reader is closed")
        st = nextb(rd, addr, cap, pn, perr)  # the GIL is released meanwhile
        count = n.value
        if count == cap and cap < BATCH:
            cap = BATCH
            grown = (L.tp_trade * cap)()
        else:
            grown = None
        if count:
            if len(prices) > 262144:  # bounded: a cache, not an index
                prices.clear()
            for (px, vol, tsus, kind, flags, slen, _r, sym, ts, tid, side, ex) in \
                    iter_unpack(string_at(addr, count * _TRADE_SIZE)):
                s = syms.get(sym)
                if s is None:
                    s = syms[sym] = sym[:slen].decode("utf-8")
                p = prices.get(px)
                if p is None:
                    p = prices[px] = dec_from_e8(px)
                if kind == 1:
                    t = ts.rstrip(b"\0").decode("utf-8")
                elif kind == 2:
                    t = _ts_value(2, ts.rstrip(b"\0"))
                else:
                    t = None
                if flags & 7:
                    yield tnew(Trade, (
                        s, p, vol, t,
                        tid.rstrip(b"\0").decode("utf-8") if flags & HAS_ID else None,
                        side.rstrip(b"\0").decode("utf-8") if flags & HAS_SIDE else None,
                        ex.rstrip(b"\0").decode("utf-8") if flags & HAS_EX else None,
                        tsus if flags & PARSED else None))
                else:
                    yield tnew(Trade, (s, p, vol, t, None, None, None,
                                       tsus if flags & PARSED else None))
        if grown is not None:
            arr = grown
            addr = ctypes.addressof(arr)
        if st == L.TP_OK:
            continue
        if st == L.TP_DONE:
            return
        if st in (L.TP_E_RECORD, L.TP_E_TOO_LARGE):
            if errors == "yield":
                yield MalformedRecord(int(err.offset), cstr(err.message),
                                      cstr(err.field) or None, st)
            elif errors == "raise":
                raise from_error(st, err)
            continue
        failure = h.failure()
        e = from_error(st, err)
        if failure is not None:
            raise e from failure
        raise e


def read_records(source: Source, *, errors: str = "yield", strict: bool = False,
                 max_record_bytes: int = 0, gzip: bool = True) -> RecordReader:
    """The records of a Firehose / NDJSON input as a streaming iterable.

    ``source``: a path ("-" is standard input), bytes, or a binary file
    object. See RecordReader for ``errors``; ``strict`` applies the strict
    decoding rule (see decode) instead of the Firehose parser's;
    ``max_record_bytes`` (0: 1 MiB) bounds one record; ``gzip=False`` never
    treats the input as gzip.
    """
    return RecordReader(source, errors=errors, strict=strict,
                        max_record_bytes=max_record_bytes, gzip=gzip)


# ---- summaries -----------------------------------------------------------------

def _walk(path: str, out: List[str]) -> None:
    """Every regular file below `path`, byte-wise sorted, links inside not followed."""
    for name in sorted(os.listdir(os.fsencode(path))):
        sub = os.path.join(os.fsencode(path), name)
        if os.path.islink(sub):
            continue
        if os.path.isdir(sub):
            _walk(os.fsdecode(sub), out)
        elif os.path.isfile(sub):
            out.append(os.fsdecode(sub))


def _free_stats(h: int) -> None:
    L.lib.tp_stats_free(h)


def _new_stats() -> int:
    h = ctypes.c_void_p()
    err = L.tp_error()
    check(L.lib.tp_stats_new(ctypes.byref(h), None, ctypes.byref(err)), err)
    return h.value  # type: ignore[return-value]


class _Pass:
    """One reading pass over a source into a tp_stats: counts bytes and
    malformed records (each passed to `report`)."""

    def __init__(self, source: Source, stats: int,
                 report: Optional[Callable[[MalformedRecord], None]] = None) -> None:
        self.source = source
        self.report = report
        self.stats = stats
        self.errors = 0
        self.bytes = 0
        self.failure: Optional[BaseException] = None

    def run(self) -> None:
        try:
            self._run()
        except TradepipeError as e:
            self.failure = e

    def _run(self) -> None:
        keep: List[Any] = []
        err = L.tp_error()
        src = _open_source(self.source, keep)
        opts = L.tp_reader_options()
        L.lib.tp_reader_options_init(ctypes.byref(opts), L.TP_READER_OPTIONS_VERSION)
        opts.decode_flags = L.TP_DECODE_MINIMAL
        rd = ctypes.c_void_p()
        st = L.lib.tp_reader_new(ctypes.byref(rd), src, ctypes.byref(opts), ctypes.byref(err))
        if st != L.TP_OK:
            L.lib.tp_source_free(src)
            raise from_error(st, err)
        try:
            arr = (L.tp_trade * BATCH)()
            addr = ctypes.addressof(arr)
            n = ctypes.c_size_t()
            done = ctypes.c_size_t()
            err2 = L.tp_error()
            nextb, addb = L.lib.tp_reader_next_batch, L.lib.tp_stats_add_batch
            pn, perr, pdone, perr2 = (ctypes.byref(n), ctypes.byref(err), ctypes.byref(done),
                                      ctypes.byref(err2))
            while True:
                st = nextb(rd, addr, BATCH, pn, perr)  # GIL released in the C calls
                if n.value:
                    check(addb(self.stats, addr, n.value, pdone, perr2), err2)
                if st == L.TP_OK:
                    continue
                if st == L.TP_DONE:
                    break
                if st in (L.TP_E_RECORD, L.TP_E_TOO_LARGE):
                    self.errors += 1
                    m = MalformedRecord(int(err.offset), cstr(err.message),
                                        cstr(err.field) or None, st)
                    if self.report is not None:
                        self.report(m)
                    continue
                raise from_error(st, err)
            rs = L.tp_reader_stats()
            L.lib.tp_reader_stats_get(rd, ctypes.byref(rs))
            self.bytes = rs.bytes
        finally:
            _free_reader(rd.value, src.value)  # type: ignore[arg-type]


def summarize(*paths: Union[str, "os.PathLike[str]"],
              on_error: Optional[Callable[[str, MalformedRecord], None]] = None
              ) -> Dict[str, Any]:
    """Summarize Firehose files as ``tp-parse --json`` does, as a dict.

    ``paths``: files or directories (every regular file below, recursively,
    in byte-wise sorted path order; links inside are not followed). Returns
    ``{"records", "errors", "bytes", "symbols": {SYM: {"count", "min_price",
    "max_price", "avg_price", "total_volume"}}}`` with symbols sorted, prices
    as Decimal (the average exact to 20 places) and counts as int. Each
    malformed record is passed to ``on_error(path, MalformedRecord)`` when
    given, in file order. A file that cannot be read or a broken gzip stream
    raises (IOFailureError, GzipError; the message names the file).

    The loop runs in C, a batch of records per call, with the GIL released
    during each call (other Python threads run meanwhile).
    """
    if not paths:
        raise ValueError("summarize needs at least one path")
    files: List[str] = []
    for p in paths:
        p = os.fspath(p)
        if isinstance(p, bytes):
            p = os.fsdecode(p)
        if os.path.isdir(p):
            _walk(p, files)
        else:
            files.append(p)
    stats = _new_stats()
    errors = 0
    nbytes = 0
    try:
        for path in files:
            P = _Pass(path, stats, None if on_error is None
                      else (lambda m, path=path: on_error(path, m)))  # type: ignore[misc]
            P.run()
            if P.failure is not None:
                e = P.failure
                if isinstance(e, TradepipeError) and not e.message.startswith(path):
                    e.message = "%s: %s" % (path, e.message)
                    e.args = (e.message,)
                raise e
            errors += P.errors
            nbytes += P.bytes
        return _stats_dict(stats, errors, nbytes)
    finally:
        _free_stats(stats)


def _stats_dict(stats: int, errors: int, nbytes: int) -> Dict[str, Any]:
    buf = ctypes.create_string_buffer(L.TP_DECIMAL_STR_MAX)
    symbols: Dict[str, Any] = {}
    for i in range(L.lib.tp_stats_symbols(stats)):
        e = L.lib.tp_stats_get(stats, i).contents
        L.lib.tp_stats_format_avg(buf, ctypes.byref(e), 20, 0)
        avg = Decimal(buf.value.decode("ascii"))
        L.lib.tp_stats_format_sum(buf, e.volume_sum_hi, e.volume_sum_lo)
        vol = int(buf.value.decode("ascii"))
        symbols[e.symbol.decode("utf-8", "surrogateescape")] = {
            "count": e.count, "min_price": dec_from_e8(e.min_price_e8),
            "max_price": dec_from_e8(e.max_price_e8), "avg_price": avg, "total_volume": vol}
    return {"records": int(L.lib.tp_stats_records(stats)), "errors": errors, "bytes": nbytes,
            "symbols": symbols}
