"""The signal/position engine (include/tradepipe/engine.h): ticks in, events
out, no I/O. Prices, thresholds and P&L are exact (decimal.Decimal)."""

from __future__ import annotations

import ctypes
import threading
import weakref
from decimal import Decimal
from typing import Any, Dict, List, NamedTuple, Optional, Union

from . import _lib as L
from ._util import DecimalLike, cstr, dec_from_e8, e8_from, opt_time
from .errors import check, from_error
from .records import Trade

_SIDES = {L.TP_SIDE_BUY: "buy", L.TP_SIDE_SELL: "sell"}
_REASONS = {L.TP_REASON_DROP: "drop", L.TP_REASON_TAKE_PROFIT: "take_profit",
            L.TP_REASON_STOP_LOSS: "stop_loss"}


class Event(NamedTuple):
    """What a tick triggered: a buy (``reason`` "drop") or a sell
    ("take_profit" or "stop_loss"). Times in microseconds since the epoch
    (None if unknown); ``reference`` is the buy's reference price (None on
    sells); ``pnl`` the sell's realized P&L (0 on buys)."""
    side: str
    reason: str
    symbol: str
    price: Decimal
    quantity: int
    time_us: Optional[int]
    reference: Optional[Decimal]
    entry_price: Decimal
    entry_time_us: Optional[int]
    pnl: Decimal
    shard: str
    sequence: str
    entry_shard: str
    entry_sequence: str


class Position(NamedTuple):
    """One symbol's state. ``quantity`` 0 is flat (then entry_* are None)."""
    symbol: str
    quantity: int
    entry_price: Optional[Decimal]
    entry_time_us: Optional[int]
    realized_pnl: Decimal
    ticks: int
    buys: int
    sells: int
    reference: Optional[Decimal]
    entry_shard: Optional[str]
    entry_sequence: Optional[str]
    last_shard: str
    last_sequence: str


def _event(ev: L.tp_engine_event) -> Event:
    return Event(_SIDES.get(ev.side, str(ev.side)), _REASONS.get(ev.reason, str(ev.reason)),
                 cstr(ev.symbol), dec_from_e8(ev.price_e8), ev.quantity, opt_time(ev.ts_us),
                 dec_from_e8(ev.reference_e8) if ev.side == L.TP_SIDE_BUY else None,
                 dec_from_e8(ev.entry_price_e8), opt_time(ev.entry_ts_us), dec_from_e8(ev.pnl_e8),
                 cstr(ev.shard), cstr(ev.sequence), cstr(ev.entry_shard),
                 cstr(ev.entry_sequence))


def _position(p: L.tp_position) -> Position:
    long = p.quantity != 0
    return Position(cstr(p.symbol), p.quantity, dec_from_e8(p.entry_price_e8) if long else None,
                    opt_time(p.entry_ts_us) if long else None, dec_from_e8(p.realized_pnl_e8),
                    p.ticks, p.buys, p.sells,
                    dec_from_e8(p.reference_e8) if p.reference_e8 else None,
                    cstr(p.entry_shard) if long else None,
                    cstr(p.entry_sequence) if long else None,
                    cstr(p.last_shard), cstr(p.last_sequence))


def _pct(v: Optional[DecimalLike], name: str) -> int:
    return e8_from(v, name) if v is not None else 0


class Engine:
    """The engine: buy when flat and the price is more than ``drop_pct`` under
    the highest of the previous ``window`` ticks of the symbol; sell when long
    and more than ``take_profit_pct`` over the entry (or, with
    ``stop_loss_pct``, more than that under it). Percentages are exact
    decimals (Decimal, int or str, never float). Applying the same (shard,
    sequence) twice is a no-op. A lock makes it safe to share between
    threads (the C engine itself is one thread at a time). Close it (or use
    it as a context manager) to free it at once; else it is freed when
    garbage-collected.
    """

    def __init__(self, *, window: int = 20, drop_pct: DecimalLike = 2,
                 take_profit_pct: DecimalLike = 5, stop_loss_pct: Optional[DecimalLike] = None,
                 order_size: int = 100, max_symbols: int = 0) -> None:
        o = L.tp_engine_options()
        L.lib.tp_engine_options_init(ctypes.byref(o), L.TP_ENGINE_OPTIONS_VERSION)
        for name, v in (("window", window), ("order_size", order_size),
                        ("max_symbols", max_symbols)):
            if isinstance(v, bool) or not isinstance(v, int):
                raise TypeError("%s must be int" % name)
        if not 0 <= window < 2 ** 32 or not 0 <= max_symbols < 2 ** 32:
            raise ValueError("window and max_symbols must fit in 32 bits")
        o.window = window
        o.max_symbols = max_symbols
        o.drop_pct_e8 = _pct(drop_pct, "drop_pct")
        o.take_profit_pct_e8 = _pct(take_profit_pct, "take_profit_pct")
        if stop_loss_pct is not None:
            o.flags |= L.TP_ENGINE_STOP_LOSS
            o.stop_loss_pct_e8 = _pct(stop_loss_pct, "stop_loss_pct")
        if not -(2 ** 63) <= order_size < 2 ** 63:
            raise ValueError("order_size out of range")
        o.order_size = order_size
        h = ctypes.c_void_p()
        err = L.tp_error()
        check(L.lib.tp_engine_new(ctypes.byref(h), ctypes.byref(o), ctypes.byref(err)), err)
        self._h = h.value
        self._lock = threading.Lock()
        self._finalizer = weakref.finalize(self, L.lib.tp_engine_free, h.value)
        self._tick = L.tp_tick()
        self._events = (L.tp_engine_event * L.TP_ENGINE_EVENTS_MAX)()
        self._n = ctypes.c_size_t()
        self._err = L.tp_error()

    def close(self) -> None:
        """Free the engine (idempotent); further calls raise ValueError."""
        with self._lock:
            self._finalizer()

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _handle(self) -> int:
        if not self._finalizer.alive:
            raise ValueError("the engine is closed")
        return self._h

    def apply(self, symbol: str, price: DecimalLike, sequence: Union[int, str], *,
              shard: str = "", time_us: Optional[int] = None) -> Optional[Event]:
        """Apply one tick in stream order; the event it triggered, or None.

        ``sequence``: the record's sequence number in its ``shard`` (decimal
        digits, no leading zero; an int is fine). Raises InvalidArgumentError
        (``field`` names "symbol", "shard", "sequence" or "price"),
        LimitError (past max_symbols), RangeError (P&L overflow).
        """
        sym = symbol.encode("utf-8")
        sh = shard.encode("utf-8")
        seq = (str(sequence) if isinstance(sequence, int) and not isinstance(sequence, bool)
               else sequence)
        if not isinstance(seq, str):
            raise TypeError("sequence must be int or str")
        sq = seq.encode("ascii", "replace")
        px = e8_from(price, "price")
        if time_us is not None and (isinstance(time_us, bool) or not isinstance(time_us, int)):
            raise TypeError("time_us must be int or None")
        with self._lock:
            h = self._handle()
            t = self._tick
            t.symbol.ptr, t.symbol.len = sym, len(sym)
            t.shard.ptr, t.shard.len = sh, len(sh)
            t.sequence.ptr, t.sequence.len = sq, len(sq)
            t.price_e8 = px
            t.ts_us = L.TP_ENGINE_NO_TIME if time_us is None else time_us
            st = L.lib.tp_engine_apply(h, ctypes.byref(t), self._events, ctypes.byref(self._n),
                                       ctypes.byref(self._err))
            if st != L.TP_OK:
                raise from_error(st, self._err)
            return _event(self._events[0]) if self._n.value else None

    def apply_trade(self, trade: Trade, sequence: Union[int, str], *,
                    shard: str = "") -> Optional[Event]:
        """apply() with the trade's symbol, price and parsed time."""
        return self.apply(trade.symbol, trade.price, sequence, shard=shard,
                          time_us=trade.time_us)

    def position(self, symbol: str) -> Position:
        """A symbol's state. Raises NotFoundError when no tick of it came yet."""
        sym = symbol.encode("utf-8")
        p = L.tp_position()
        err = L.tp_error()
        with self._lock:
            st = L.lib.tp_engine_position(self._handle(), L.tp_cursor(sym, len(sym)),
                                          ctypes.byref(p), ctypes.byref(err))
        check(st, err)
        return _position(p)

    def positions(self) -> List[Position]:
        """Every symbol's state, in order of first appearance."""
        out = []
        p = L.tp_position()
        err = L.tp_error()
        with self._lock:
            h = self._handle()
            for i in range(L.lib.tp_engine_symbol_count(h)):
                check(L.lib.tp_engine_position_at(h, i, ctypes.byref(p), ctypes.byref(err)), err)
                out.append(_position(p))
        return out

    def stats(self) -> Dict[str, int]:
        """Engine-wide counters: ticks, duplicates, buys, sells, symbols."""
        s = L.tp_engine_stats()
        with self._lock:
            L.lib.tp_engine_stats_get(self._handle(), ctypes.byref(s))
        return {"ticks": s.ticks, "duplicates": s.duplicates, "buys": s.buys, "sells": s.sells,
                "symbols": s.symbols}

    def options(self) -> Dict[str, Any]:
        """The options the engine runs with."""
        o = L.tp_engine_options()
        with self._lock:
            L.lib.tp_engine_options_get(self._handle(), ctypes.byref(o))
        return {"window": o.window, "drop_pct": dec_from_e8(o.drop_pct_e8),
                "take_profit_pct": dec_from_e8(o.take_profit_pct_e8),
                "stop_loss_pct": (dec_from_e8(o.stop_loss_pct_e8)
                                  if o.flags & L.TP_ENGINE_STOP_LOSS else None),
                "order_size": o.order_size, "max_symbols": o.max_symbols}

    def snapshot(self, symbol: Optional[str] = None) -> bytes:
        """The whole state (or one symbol's) as the library's versioned,
        checksummed binary snapshot. Raises NotFoundError for an unknown symbol."""
        sym = b"" if symbol is None else symbol.encode("utf-8")
        if symbol is not None and not sym:
            raise ValueError("symbol must not be empty (None: the whole state)")
        buf = L.tp_buf()
        err = L.tp_error()
        L.lib.tp_buf_init(ctypes.byref(buf), None, 0)
        try:
            with self._lock:
                st = L.lib.tp_engine_snapshot(self._handle(), L.tp_cursor(sym, len(sym)),
                                              ctypes.byref(buf), ctypes.byref(err))
            check(st, err)
            return ctypes.string_at(buf.ptr, buf.len)
        finally:
            L.lib.tp_buf_dispose(ctypes.byref(buf))

    def restore(self, snapshot: bytes) -> None:
        """Restore the symbols of a snapshot (each replaces its namesake). The
        engine is unchanged on failure: ParseError, UnsupportedError,
        ChecksumError, StateError (parameters differ; ``field`` names one),
        LimitError."""
        data = bytes(snapshot)
        err = L.tp_error()
        with self._lock:
            st = L.lib.tp_engine_restore(self._handle(), L.tp_cursor(data, len(data)),
                                         ctypes.byref(err))
        check(st, err)
