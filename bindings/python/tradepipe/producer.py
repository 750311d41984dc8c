"""The Kinesis producer (include/tradepipe/producer.h) from Python.

``Producer(stream)`` puts records into a Kinesis data stream the way the
Kinesis Producer Library does: KPL aggregation per predicted shard, PutRecords
batches within the stream's limits, several requests in flight, per-shard rate
limits, retries until a record's time-to-live, each partition key's records in
put order. All of it runs in the library's own thread; ``put`` copies the
record and returns at once (it waits only when ``max_buffered_bytes`` are
buffered, up to ``timeout_ms``).

Completions: with ``on_done``, a callable taking a ``ProducerResult``, called
once per record from the library's thread (ctypes takes the GIL for it; it
must not call ``flush`` or ``close``). Without it, nothing is called back and
``stats()`` counts what happened; records that finally failed go to the
``dead_letter`` file when one is given (NDJSON, data in base64, every
attempt's error).

Endpoint, region and credentials: ``endpoint_url`` and ``region`` when given,
else as the AWS SDKs read them (AWS_ENDPOINT_URL_KINESIS, AWS_ENDPOINT_URL,
AWS_REGION, the default credential chain).
"""

from __future__ import annotations

import ctypes
import itertools
import threading
import weakref
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Tuple, Union

from . import _lib as L
from ._util import cstr, to_bytes
from .errors import check, from_error

Data = Union[bytes, str]


class ProducerResult(NamedTuple):
    """How one record ended. ``ok`` when written: ``shard_id`` and
    ``sequence_number`` of the Kinesis record that carried it and its place
    in the aggregate (``sub_sequence``, None when sent alone). Otherwise
    ``error`` is the TradepipeError it failed with. ``attempts`` lists every
    attempt as (error_code, error_message), ("", "") for the one that wrote
    it. ``user`` is what was given to ``put``."""
    ok: bool
    user: Any
    data: bytes
    partition_key: str
    shard_id: Optional[str]
    sequence_number: Optional[str]
    sub_sequence: Optional[int]
    attempts: List[Tuple[str, str]]
    error: Optional[Exception]


def _close_handle(h: int) -> None:
    if h:
        L.lib.tp_producer_close(h)


class Producer:
    """A Kinesis producer; use as a context manager (``close`` drains:
    every record put completes, written or failed)."""

    def __init__(self, stream: str, *, aggregate: bool = True, linger_ms: int = 100,
                 record_ttl_ms: int = 30000, max_in_flight: int = 16,
                 max_buffered_bytes: int = 64 << 20, aggregation_max_bytes: int = 51200,
                 shard_records_per_s: Optional[float] = 1000.0,
                 shard_bytes_per_s: Optional[float] = float(1 << 20),
                 dead_letter: Optional[str] = None,
                 on_done: Optional[Callable[[ProducerResult], None]] = None,
                 endpoint_url: Optional[str] = None, region: Optional[str] = None) -> None:
        """Create the producer for `stream` (name or ARN): reads the stream's
        record limit and shard map, then starts the library's thread. A rate
        limit of None means none (an emulator). Raises NotFoundError (no such
        stream), InvalidArgumentError, the AWS clients' errors."""
        self._lock = threading.Lock()
        self._h = 0
        self._users: Dict[int, Any] = {}
        self._ids = itertools.count(1)
        self._on_done = on_done
        aws = L.tp_aws_client_options()
        check(L.lib.tp_aws_client_options_init(ctypes.byref(aws), L.TP_AWS_CLIENT_OPTIONS_VERSION),
              L.tp_error())
        self._keep = [to_bytes(stream, "stream")]
        if endpoint_url is not None:
            self._keep.append(to_bytes(endpoint_url, "endpoint_url"))
            aws.endpoint_url = self._keep[-1]
        if region is not None:
            self._keep.append(to_bytes(region, "region"))
            aws.region = self._keep[-1]
        o = L.tp_producer_options()
        check(L.lib.tp_producer_options_init(ctypes.byref(o), L.TP_PRODUCER_OPTIONS_VERSION),
              L.tp_error())
        o.stream = self._keep[0]
        self._aws = aws
        o.aws = ctypes.pointer(aws)
        o.aggregate = 1 if aggregate else 0
        o.aggregation_max_bytes = aggregation_max_bytes
        o.linger_ms = linger_ms
        o.record_ttl_ms = record_ttl_ms
        o.max_in_flight = max_in_flight
        o.max_buffered_bytes = max_buffered_bytes
        o.shard_records_per_s = -1.0 if shard_records_per_s is None else shard_records_per_s
        o.shard_bytes_per_s = -1.0 if shard_bytes_per_s is None else shard_bytes_per_s
        if dead_letter is not None:
            self._keep.append(to_bytes(str(dead_letter), "dead_letter"))
            o.dead_letter_path = self._keep[-1]
        if on_done is not None:
            # kept alive as long as the producer: the library calls it
            self._cb = L.PRODUCER_DONE_FN(self._completed)
            o.on_done = self._cb
        h = ctypes.c_void_p()
        err = L.tp_error()
        check(L.lib.tp_producer_new(ctypes.byref(h), ctypes.byref(o), ctypes.byref(err)), err)
        self._h = h.value
        self._finalizer = weakref.finalize(self, _close_handle, self._h)

    def _completed(self, rp: Any, payload: Any) -> None:
        r = rp.contents
        user = self._users.pop(r.user, None) if r.user else None
        attempts = [(cstr(r.attempts[i].error_code), cstr(r.attempts[i].error_message))
                    for i in range(r.n_attempts)]
        ok = r.status == L.TP_OK
        error = None
        if not ok:
            err = L.tp_error()
            err.code = r.status
            last = attempts[-1] if attempts else ("", "")
            err.message = ("%s: %s" % last if last[0] else last[1] or "failed").encode()[:159]
            err.aws_code = last[0].encode()[:63]
            err.attempts = r.n_attempts
            error = from_error(r.status, err)
        res = ProducerResult(
            ok, user, ctypes.string_at(r.data.ptr, r.data.len) if r.data.len else b"",
            cstr(r.partition_key or b""), cstr(r.shard_id) if ok else None,
            cstr(r.sequence_number) if ok else None,
            (r.sub_sequence if r.sub_sequence >= 0 else None) if ok else None, attempts, error)
        try:
            self._on_done(res)  # type: ignore[misc]
        except Exception:  # an exception cannot cross into the library's thread
            import traceback
            traceback.print_exc()

    def __repr__(self) -> str:
        return "<tradepipe.Producer %s%s>" % (cstr(self._keep[0]), " closed" if self.closed else "")

    @property
    def closed(self) -> bool:
        return not self._h

    def _handle(self) -> int:
        if not self._h:
            raise ValueError("the producer is closed")
        return self._h

    def put(self, data: Data, partition_key: str, explicit_hash_key: Optional[Union[int, str]] = None,
            *, user: Any = None, timeout_ms: int = 60000) -> None:
        """Put a record (copied); returns at once unless the buffer is full,
        then waits up to `timeout_ms`. Raises LimitError (still full),
        TooLargeError / InvalidArgumentError (the record fails alone, now,
        and goes to the dead-letter file), StateError (closing)."""
        d = to_bytes(data, "data")
        rec = L.tp_producer_record()
        rec.data = L.tp_cursor(d, len(d))
        rec.partition_key = to_bytes(partition_key, "partition_key")
        if explicit_hash_key is not None:
            rec.explicit_hash_key = str(explicit_hash_key).encode("ascii")
        token = 0
        if user is not None and self._on_done is not None:
            token = next(self._ids)
            self._users[token] = user
            rec.user = token
        err = L.tp_error()
        st = L.lib.tp_producer_put(self._handle(), ctypes.byref(rec), timeout_ms,
                                   ctypes.byref(err))
        if st != L.TP_OK:
            self._users.pop(token, None)
            raise from_error(st, err)

    def flush(self, timeout_ms: int = 0) -> None:
        """Send what is buffered now and wait until every record put so far
        has completed (0: no time limit). Raises DeadlineError."""
        err = L.tp_error()
        check(L.lib.tp_producer_flush(self._handle(), timeout_ms, ctypes.byref(err)), err)

    def stats(self) -> Dict[str, float]:
        """The library's counters (records received, pending, put, failed,
        expired, refused; Kinesis records and bytes put; requests, retries,
        throttles, possible duplicates; latency percentiles in ms)."""
        st = L.tp_producer_stats()
        L.lib.tp_producer_get_stats(self._handle(), ctypes.byref(st))
        return {f[0]: getattr(st, f[0]) for f in st._fields_}

    def close(self) -> None:
        """Drain (every record completes) and stop; idempotent."""
        with self._lock:
            h, self._h = self._h, 0
        if h:
            self._finalizer.detach()
            L.lib.tp_producer_close(h)

    def __enter__(self) -> "Producer":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
