"""Small helpers shared by the modules: exact decimals, text, times."""

from __future__ import annotations

import ctypes
import datetime
import time as _time
import decimal
from decimal import Decimal
from typing import Optional, Union

from . import _lib as L
from .errors import from_error

SCALE = 100000000
_E8 = Decimal(SCALE)

DecimalLike = Union[Decimal, int, str]


# Its own context: exact whatever precision or traps the caller's context has
# (an int64 has 19 digits).
_CTX = decimal.Context(prec=40)
_divide = _CTX.divide


def dec_from_e8(v: int) -> Decimal:
    """An exact Decimal from a count of 1e-8 units: 18723000000 is
    Decimal('187.23') (an exact quotient takes the smallest exponent it can,
    so there are no trailing zeros), 15000000000 is Decimal('150')."""
    return _divide(Decimal(v), _E8)


def e8_from(value: DecimalLike, what: str = "price") -> int:
    """Exact 1e-8 units of a Decimal, int or decimal string; floats are refused.

    The text goes through the library's tp_price_parse, so the rules (and the
    errors: ParseError, RangeError) are the C ones.
    """
    if isinstance(value, bool) or isinstance(value, float):
        raise TypeError("%s must be a decimal.Decimal, int or str, never %s (exactness)"
                        % (what, type(value).__name__))
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("%s must be finite, not %s" % (what, value))
        text = "{:f}".format(value)
    elif isinstance(value, str):
        text = value
    else:
        raise TypeError("%s must be a decimal.Decimal, int or str, not %s"
                        % (what, type(value).__name__))
    raw = text.encode("utf-8")
    out = ctypes.c_int64()
    err = L.tp_error()
    st = L.lib.tp_price_parse(ctypes.byref(out), L.tp_cursor(raw, len(raw)), ctypes.byref(err))
    if st != L.TP_OK:
        e = from_error(st, err)
        e.field = what
        raise e
    return out.value


def cstr(b: bytes) -> str:
    return b.decode("utf-8", "replace")


def to_bytes(v: Union[str, bytes], what: str) -> bytes:
    if isinstance(v, bytes):
        return v
    if isinstance(v, str):
        return v.encode("utf-8")
    raise TypeError("%s must be str or bytes, not %s" % (what, type(v).__name__))


def time_ms(now: Union[None, int, float, datetime.datetime]) -> int:
    """Milliseconds since the epoch: None is now; an int is ms already; a
    datetime (naive is UTC)."""
    if now is None:
        return _time.time_ns() // 1000000
    if isinstance(now, datetime.datetime):
        if now.tzinfo is None:
            now = now.replace(tzinfo=datetime.timezone.utc)
        delta = now - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
        return (delta.days * 86400 + delta.seconds) * 1000 + delta.microseconds // 1000
    if isinstance(now, bool) or not isinstance(now, int):
        raise TypeError("time must be None, an int (ms since the epoch) or a datetime")
    return now


def opt_time(us: int) -> Optional[int]:
    return None if us == L.TP_ENGINE_NO_TIME else us
