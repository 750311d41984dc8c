"""Exceptions: one base class, one subclass per status family of tp_status.

Every failing C call becomes the subclass of its status, carrying the error
detail the library filled in (tp_error): message, byte offset, field, line,
HTTP status, AWS error code, request id and attempts. No secret is ever in
that detail (the library never writes one there).
"""

from __future__ import annotations

import builtins
from typing import Optional

from . import _lib as L


class TradepipeError(Exception):
    """A libtradepipe call failed.

    Attributes: ``code`` (the tp_status, negative), ``status`` (its C name,
    e.g. ``"TP_E_RECORD"``), ``message``, ``offset`` (byte offset in the
    uncompressed input, or None), ``field`` (the JSON field, option or key at
    fault, or None), ``line`` (1-based, or None), ``http_status`` (or None),
    ``aws_code`` (or None), ``request_id`` (or None), ``attempts`` (or None).
    """

    code: int = 0
    status: str = "TP_E_UNKNOWN"

    def __init__(self, message: str, *, code: Optional[int] = None,
                 offset: Optional[int] = None, field: Optional[str] = None,
                 line: Optional[int] = None, http_status: Optional[int] = None,
                 aws_code: Optional[str] = None, request_id: Optional[str] = None,
                 attempts: Optional[int] = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message
        self.offset = offset
        self.field = field
        self.line = line
        self.http_status = http_status
        self.aws_code = aws_code
        self.request_id = request_id
        self.attempts = attempts

    def __str__(self) -> str:
        extra = []
        if self.field:
            extra.append("field %s" % self.field)
        if self.offset is not None:
            extra.append("offset %d" % self.offset)
        if self.line:
            extra.append("line %d" % self.line)
        if self.http_status:
            extra.append("HTTP %d" % self.http_status)
        if self.aws_code:
            extra.append(self.aws_code)
        if self.request_id:
            extra.append("request id %s" % self.request_id)
        return self.message + (" (%s)" % ", ".join(extra) if extra else "")


class InvalidArgumentError(TradepipeError, ValueError):
    """A bad argument from the caller."""
    code = L.TP_E_INVALID
    status = "TP_E_INVALID"


class OutOfMemoryError(TradepipeError, MemoryError):
    """Out of memory (or an allocator said no)."""
    code = L.TP_E_NOMEM
    status = "TP_E_NOMEM"


class IOFailureError(TradepipeError):
    """A read, write, open or close failed."""
    code = L.TP_E_IO
    status = "TP_E_IO"


class RangeError(TradepipeError, ValueError):
    """A number out of range, an overflow."""
    code = L.TP_E_RANGE
    status = "TP_E_RANGE"


class ParseError(TradepipeError, ValueError):
    """Malformed input: not JSON, not ISO-8601, ..."""
    code = L.TP_E_PARSE
    status = "TP_E_PARSE"


class RecordError(TradepipeError, ValueError):
    """Well-formed input that is not a valid trade record."""
    code = L.TP_E_RECORD
    status = "TP_E_RECORD"


class TooLargeError(TradepipeError, ValueError):
    """Input over a configured limit."""
    code = L.TP_E_TOO_LARGE
    status = "TP_E_TOO_LARGE"


class GzipError(TradepipeError):
    """A gzip stream that is truncated or corrupt."""
    code = L.TP_E_GZIP
    status = "TP_E_GZIP"


class UnsupportedError(TradepipeError):
    """A feature or format this build does not handle."""
    code = L.TP_E_UNSUPPORTED
    status = "TP_E_UNSUPPORTED"


class NotFoundError(TradepipeError, LookupError):
    """A key, file, profile, shard or symbol that is not there."""
    code = L.TP_E_NOT_FOUND
    status = "TP_E_NOT_FOUND"


class ConfigError(TradepipeError):
    """Bad configuration: files, profiles, options, URIs."""
    code = L.TP_E_CONFIG
    status = "TP_E_CONFIG"


class CredentialsError(TradepipeError):
    """No credentials, malformed ones, or a provider failed."""
    code = L.TP_E_CREDENTIALS
    status = "TP_E_CREDENTIALS"


class HTTPError(TradepipeError):
    """Transport failure: connect, TLS, reset, timeout."""
    code = L.TP_E_HTTP
    status = "TP_E_HTTP"


class DeadlineError(TradepipeError, builtins.TimeoutError):
    """A deadline passed."""
    code = L.TP_E_TIMEOUT
    status = "TP_E_TIMEOUT"


class AWSError(TradepipeError):
    """The service answered with an error (see aws_code, http_status)."""
    code = L.TP_E_AWS
    status = "TP_E_AWS"


class ThrottledError(AWSError):
    """The service throttled the calls and retries ran out."""
    code = L.TP_E_THROTTLED
    status = "TP_E_THROTTLED"


class ConditionError(TradepipeError):
    """A conditional write's condition failed."""
    code = L.TP_E_CONDITION
    status = "TP_E_CONDITION"


class LimitError(TradepipeError):
    """A count limit was reached (symbols, records...)."""
    code = L.TP_E_LIMIT
    status = "TP_E_LIMIT"


class StateError(TradepipeError):
    """A call out of order, a busy lock, or corrupt saved state."""
    code = L.TP_E_STATE
    status = "TP_E_STATE"


class ChecksumError(TradepipeError):
    """A checksum or digest did not match."""
    code = L.TP_E_CHECKSUM
    status = "TP_E_CHECKSUM"


class ExistsError(TradepipeError):
    """The thing to create is already there."""
    code = L.TP_E_EXISTS
    status = "TP_E_EXISTS"


BY_CODE = {c.code: c for c in (
    InvalidArgumentError, OutOfMemoryError, IOFailureError, RangeError, ParseError, RecordError,
    TooLargeError, GzipError, UnsupportedError, NotFoundError, ConfigError, CredentialsError,
    HTTPError, DeadlineError, AWSError, ThrottledError, ConditionError, LimitError, StateError,
    ChecksumError, ExistsError)}


def _text(b: bytes) -> Optional[str]:
    return b.decode("utf-8", "replace") if b else None


def from_error(st: int, err: "L.tp_error") -> TradepipeError:
    """The exception for status `st` with the detail in `err`."""
    cls = BY_CODE.get(st, TradepipeError)
    msg = _text(err.message) or L.lib.tp_strerror(st).decode("utf-8", "replace")
    e = cls(msg, code=st,
            offset=None if err.offset == L.TP_NO_OFFSET else int(err.offset),
            field=_text(err.field), line=err.line or None,
            http_status=err.http_status or None, aws_code=_text(err.aws_code),
            request_id=_text(err.request_id), attempts=err.attempts or None)
    return e


def check(st: int, err: "L.tp_error") -> None:
    """Raise the exception of `st` unless it is TP_OK."""
    if st != L.TP_OK:
        raise from_error(st, err)


def strerror(code: int) -> str:
    """The library's description of a status code."""
    return L.lib.tp_strerror(code).decode("utf-8", "replace")
