"""The stream interface (include/tradepipe/stream.h), generic over the
target: put records, list shards, read a shard from a position.

Targets by URI: "file:DIR", the local stream with Kinesis's shape; and
"kinesis://STREAM", a Kinesis data stream (endpoint, region and
credentials from the environment, as the AWS CLI finds them; KPL
aggregated records come back de-aggregated, each with its sub-sequence
number)."""

from __future__ import annotations

import ctypes
import os
import threading
import weakref
from typing import Any, Dict, Iterator, List, NamedTuple, Optional, Sequence, Tuple, Union

from . import _lib as L
from ._util import cstr, to_bytes
from .errors import check

Data = Union[bytes, str]
_POSITIONS = {"TRIM_HORIZON": L.TP_KINESIS_TRIM_HORIZON, "LATEST": L.TP_KINESIS_LATEST,
              "AT_SEQUENCE_NUMBER": L.TP_KINESIS_AT_SEQUENCE_NUMBER,
              "AFTER_SEQUENCE_NUMBER": L.TP_KINESIS_AFTER_SEQUENCE_NUMBER,
              "AT_TIMESTAMP": L.TP_KINESIS_AT_TIMESTAMP}
_POSITION_NAMES = {v: k for k, v in _POSITIONS.items()}


class PutResult(NamedTuple):
    """Where a record went: shard id and sequence number; for a record of
    put_records that failed alone, ``error_code`` ("ValidationException",
    "InternalFailure") and ``error_message`` (the others are None)."""
    shard_id: Optional[str]
    sequence_number: Optional[str]
    error_code: Optional[str] = None
    error_message: Optional[str] = None


class Shard(NamedTuple):
    """A shard as ListShards describes it."""
    shard_id: str
    parent_shard_id: Optional[str]
    adjacent_parent_shard_id: Optional[str]
    hash_key_start: int
    hash_key_end: int
    sequence_start: Optional[str]
    sequence_end: Optional[str]


class StreamRecord(NamedTuple):
    """A record read from a shard (ApproximateArrivalTimestamp in ms).
    user_sequence_number orders a shard's user records as numbers (the
    sequence number, then, for kinesis://, 7 digits of sub-sequence
    number); sub_sequence_number is the user record's index in its KPL
    aggregate (0 when the record is not aggregated)."""
    data: bytes
    partition_key: str
    sequence_number: str
    shard_id: str
    arrival_ms: int
    user_sequence_number: str = ""
    sub_sequence_number: int = 0
    aggregated: bool = False


def _put_result(r: L.tp_kinesis_put_result) -> PutResult:
    if r.error_code:
        return PutResult(None, None, cstr(r.error_code), cstr(r.error_message))
    return PutResult(cstr(r.shard_id), cstr(r.sequence_number))


def _opt_str(s: Optional[str], what: str) -> Optional[bytes]:
    if s is None:
        return None
    if not isinstance(s, str):
        raise TypeError("%s must be str or None" % what)
    return s.encode("utf-8")


def _free_stream(h: int) -> None:
    L.lib.tp_stream_free(h)


class Stream:
    """A stream opened by URI.

    ``create`` makes it when missing (with ``shards``, default 2;
    ``exclusive``: ExistsError if it exists); ``write`` makes this handle a
    writer (file: takes the writer lock: StateError if another process
    writes it); ``sync`` fsyncs each put. ``segment_bytes`` and
    ``retention_ms`` (0: the stream's) tune a file: writer.

    Raises NotFoundError (no stream and no ``create``), ConfigError (an
    unknown URI, a shard count other than the stream's; kinesis:// with no
    region or endpoint configured), the AWS errors for kinesis:// (with the
    HTTP status and AWS error code), InvalidArgumentError, IOFailureError.

    Close it (or use it as a context manager) to release the writer lock at
    once; closing it closes its readers first. A lock serializes the calls
    on one Stream (the C handle is one thread at a time).
    """

    def __init__(self, uri: Union[str, "os.PathLike[str]"], *, create: bool = False,
                 exclusive: bool = False, write: bool = False, sync: bool = False,
                 shards: int = 0, segment_bytes: int = 0, retention_ms: int = 0) -> None:
        if isinstance(uri, os.PathLike):
            uri = "file:" + os.fspath(uri)
        if not isinstance(uri, str):
            raise TypeError("uri must be str")
        o = L.tp_stream_options()
        L.lib.tp_stream_options_init(ctypes.byref(o), L.TP_STREAM_OPTIONS_VERSION)
        o.flags = ((L.TP_STREAM_CREATE if create else 0) | (L.TP_STREAM_EXCL if exclusive else 0) |
                   (L.TP_STREAM_WRITE if write else 0) | (L.TP_STREAM_SYNC if sync else 0))
        for name, v, bits in (("shards", shards, 32), ("segment_bytes", segment_bytes, 64),
                              ("retention_ms", retention_ms, 63)):
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < 2 ** bits:
                raise ValueError("%s must be an int in 0..2**%d-1" % (name, bits))
        o.shard_count = shards
        o.segment_bytes = segment_bytes
        o.retention_ms = retention_ms
        h = ctypes.c_void_p()
        err = L.tp_error()
        check(L.lib.tp_stream_open(ctypes.byref(h), uri.encode("utf-8"), ctypes.byref(o),
                                   ctypes.byref(err)), err)
        self.uri = uri
        self.writable = write
        self._h = h.value
        self._lock = threading.RLock()
        self._readers: "weakref.WeakSet[StreamReader]" = weakref.WeakSet()
        self._finalizer = weakref.finalize(self, _free_stream, h.value)

    def __repr__(self) -> str:
        return "Stream(%r%s%s)" % (self.uri, ", write=True" if self.writable else "",
                                   ", closed" if self.closed else "")

    @property
    def closed(self) -> bool:
        return not self._finalizer.alive

    def close(self) -> None:
        """Close the readers, then the stream (idempotent)."""
        with self._lock:
            for r in list(self._readers):
                r.close()
            self._finalizer()

    def __enter__(self) -> "Stream":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _handle(self) -> int:
        if not self._finalizer.alive:
            raise ValueError("the stream is closed")
        return self._h

    @property
    def id(self) -> str:
        """The stream's identity given at creation ("" if none)."""
        with self._lock:
            return cstr(L.lib.tp_stream_id(self._handle()) or b"")

    @property
    def shard_count(self) -> int:
        with self._lock:
            return int(L.lib.tp_stream_shard_count(self._handle()))

    def shards(self) -> List[Shard]:
        """The shards, in order, as ListShards gives them."""
        ls = L.tp_kinesis_shards()
        err = L.tp_error()
        with self._lock:
            st = L.lib.tp_stream_list_shards(self._handle(), ctypes.byref(ls), ctypes.byref(err))
            try:
                check(st, err)
                return [Shard(cstr(s.shard_id), cstr(s.parent_shard_id) or None,
                              cstr(s.adjacent_parent_shard_id) or None, int(s.hash_key_start),
                              int(s.hash_key_end), cstr(s.sequence_start) or None,
                              cstr(s.sequence_end) or None)
                        for s in (ls.shards[i] for i in range(ls.count))]
            finally:
                L.lib.tp_kinesis_shards_dispose(ctypes.byref(ls))

    def route(self, partition_key: str, explicit_hash_key: Optional[Union[int, str]] = None
              ) -> int:
        """The index of the shard a record with this key goes to."""
        pk = _opt_str(partition_key, "partition_key")
        ehk = _opt_str(None if explicit_hash_key is None else str(explicit_hash_key),
                       "explicit_hash_key")
        idx = ctypes.c_uint32()
        err = L.tp_error()
        with self._lock:
            st = L.lib.tp_stream_route(self._handle(), pk, ehk, ctypes.byref(idx),
                                       ctypes.byref(err))
        check(st, err)
        return idx.value

    def put(self, data: Data, partition_key: str,
            explicit_hash_key: Optional[Union[int, str]] = None) -> PutResult:
        """Put one record (PutRecord). Raises InvalidArgumentError for a record
        refused for its content (``field`` "Data", "PartitionKey" or
        "ExplicitHashKey") or a read-only handle, IOFailureError."""
        d = to_bytes(data, "data")
        pk = _opt_str(partition_key, "partition_key")
        ehk = _opt_str(None if explicit_hash_key is None else str(explicit_hash_key),
                       "explicit_hash_key")
        res = L.tp_kinesis_put_result()
        err = L.tp_error()
        with self._lock:
            st = L.lib.tp_stream_put_record(self._handle(), L.tp_cursor(d, len(d)), pk, ehk,
                                            ctypes.byref(res), ctypes.byref(err))
        check(st, err)
        return _put_result(res)

    def put_records(self, records: Sequence[Union[Tuple[Data, str],
                                                  Tuple[Data, str, Optional[Union[int, str]]]]]
                    ) -> List[PutResult]:
        """Put 1..500 records (PutRecords): (data, partition_key[,
        explicit_hash_key]) each. Each lands or fails on its own: a failed
        one's PutResult carries error_code and error_message. Raises
        InvalidArgumentError (count out of range, read-only handle),
        TooLargeError (over 5 MiB in all: nothing is put), IOFailureError."""
        n = len(records)
        if not 1 <= n <= L.TP_STREAM_MAX_BATCH_RECORDS:
            raise ValueError("put_records takes 1..%d records, not %d"
                             % (L.TP_STREAM_MAX_BATCH_RECORDS, n))
        entries = (L.tp_kinesis_entry * n)()
        for i, rec in enumerate(records):
            if len(rec) == 2:
                data, pk = rec  # type: ignore[misc]
                ehk = None
            else:
                data, pk, ehk = rec  # type: ignore[misc]
            d = to_bytes(data, "data")
            e = entries[i]
            e.data = L.tp_cursor(d, len(d))
            e.partition_key = _opt_str(pk, "partition_key")
            e.explicit_hash_key = _opt_str(None if ehk is None else str(ehk), "explicit_hash_key")
        results = (L.tp_kinesis_put_result * n)()
        failed = ctypes.c_uint32()
        err = L.tp_error()
        with self._lock:
            st = L.lib.tp_stream_put_records(self._handle(), entries, n, results,
                                             ctypes.byref(failed), ctypes.byref(err))
        check(st, err)
        return [_put_result(r) for r in results]

    def wait(self, timeout_ms: int) -> bool:
        """Wait until a record may have been put since the last wait (at most
        ``timeout_ms``); True if woken, False on the timeout. The GIL is
        released meanwhile."""
        if isinstance(timeout_ms, bool) or not isinstance(timeout_ms, int) or \
                not 0 <= timeout_ms < 2 ** 32:
            raise ValueError("timeout_ms must be an int in 0..2**32-1")
        err = L.tp_error()
        with self._lock:  # the C handle is one thread at a time
            st = L.lib.tp_stream_wait(self._handle(), timeout_ms, ctypes.byref(err))
        if st == L.TP_E_TIMEOUT:
            return False
        check(st, err)
        return True

    def reader(self, shard_id: str, position: str = "TRIM_HORIZON", *,
               sequence_number: Optional[Union[int, str]] = None,
               timestamp_ms: Optional[int] = None) -> "StreamReader":
        """A reader of one shard from a position: "TRIM_HORIZON", "LATEST",
        "AT_SEQUENCE_NUMBER" / "AFTER_SEQUENCE_NUMBER" (with
        ``sequence_number``) or "AT_TIMESTAMP" (with ``timestamp_ms``)."""
        return StreamReader(self, shard_id, position, sequence_number=sequence_number,
                            timestamp_ms=timestamp_ms)


class StreamReader:
    """Reads one shard. get() returns the next records (an empty list when
    there are none yet); iterating yields records until none are left now.
    The reader keeps its Stream alive; closing the Stream closes it."""

    def __init__(self, stream: Stream, shard_id: str, position: str = "TRIM_HORIZON", *,
                 sequence_number: Optional[Union[int, str]] = None,
                 timestamp_ms: Optional[int] = None) -> None:
        if position not in _POSITIONS:
            raise ValueError("position must be one of %s, not %r"
                             % (", ".join(_POSITIONS), position))
        pos = L.tp_stream_position()
        pos.type = _POSITIONS[position]
        if sequence_number is not None:
            sq = str(sequence_number).encode("ascii", "replace")
            if len(sq) >= L.TP_KINESIS_SEQ_MAX:
                raise ValueError("sequence_number is too long")
            pos.sequence_number = sq
        if timestamp_ms is not None:
            pos.timestamp_ms = timestamp_ms
        sid = _opt_str(shard_id, "shard_id")
        h = ctypes.c_void_p()
        err = L.tp_error()
        with stream._lock:
            check(L.lib.tp_stream_reader_new(ctypes.byref(h), stream._handle(), sid,
                                             ctypes.byref(pos), ctypes.byref(err)), err)
            self.stream = stream
            self._h = h.value
            self._lock = stream._lock
            self._finalizer = weakref.finalize(self, L.lib.tp_stream_reader_free, h.value)
            stream._readers.add(self)
        self._recs = L.tp_stream_records()
        self.millis_behind_latest = 0

    @property
    def shard_id(self) -> str:
        with self._lock:
            return cstr(L.lib.tp_stream_reader_shard_id(self._handle()))

    @property
    def closed(self) -> bool:
        return not self._finalizer.alive

    def close(self) -> None:
        """Free the reader (idempotent)."""
        with self._lock:
            self._finalizer()

    def __enter__(self) -> "StreamReader":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _handle(self) -> int:
        if not self._finalizer.alive:
            raise ValueError("the reader is closed")
        return self._h

    def get(self, limit: int = 0) -> List[StreamRecord]:
        """Up to ``limit`` records (0: 10,000) after the last ones returned.
        Raises ChecksumError (damaged frames; ``offset`` the bad frame's
        byte), IOFailureError."""
        if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit < 2 ** 32:
            raise ValueError("limit must be an int in 0..2**32-1")
        err = L.tp_error()
        recs = self._recs
        with self._lock:
            st = L.lib.tp_stream_reader_get(self._handle(), limit, ctypes.byref(recs),
                                            ctypes.byref(err))
            if st == L.TP_DONE:
                return []
            check(st, err)
            self.millis_behind_latest = recs.millis_behind_latest
            sat = ctypes.string_at
            out = []
            for i in range(recs.count):
                r = recs.records[i]
                out.append(StreamRecord(sat(r.data.ptr, r.data.len) if r.data.len else b"",
                                        cstr(r.partition_key), cstr(r.sequence_number),
                                        cstr(r.shard_id), r.arrival_ms,
                                        cstr(r.user_sequence_number), r.sub_sequence_number,
                                        bool(r.aggregated)))
            return out

    def __iter__(self) -> Iterator[StreamRecord]:
        while True:
            batch = self.get()
            if not batch:
                return
            yield from batch

    def position(self) -> Dict[str, Any]:
        """Where the reader stands, as a position a new reader resumes from:
        {"position": name, "sequence_number": str or None, "timestamp_ms": int or None}."""
        p = L.tp_stream_position()
        with self._lock:
            L.lib.tp_stream_reader_position(self._handle(), ctypes.byref(p))
        name = _POSITION_NAMES.get(p.type, str(p.type))
        return {"position": name, "sequence_number": cstr(p.sequence_number) or None,
                "timestamp_ms": p.timestamp_ms if name == "AT_TIMESTAMP" else None}

    def stats(self) -> Dict[str, int]:
        """records, bytes, torn_tails, torn_bytes, trimmed, segments."""
        s = L.tp_stream_reader_stats()
        with self._lock:
            L.lib.tp_stream_reader_stats_get(self._handle(), ctypes.byref(s))
        return {k: getattr(s, k) for k, _ in L.tp_stream_reader_stats._fields_}
