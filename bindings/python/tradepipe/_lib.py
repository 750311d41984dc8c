"""Loading libtradepipe and describing its public C API to ctypes.

Everything here mirrors include/tradepipe/*.h; nothing reaches into the
library's internals. Layouts are checked against the C compiler by the test
suite (tests/test_layout.py).

The library is found in this order:
 1. the TRADEPIPE_LIBRARY environment variable (a path to the shared object);
 2. next to the package: libtradepipe.so.0 (or libtradepipe.so) in this
    directory or its parent;
 3. the system's library search (ctypes.util.find_library, then the SONAME).

ctypes.CDLL releases the GIL around every foreign call, so the long C calls
(reading a file, waiting on a stream) let other Python threads run; the
callbacks the library makes back into Python (a file-object source) take the
GIL again for their duration.
"""

from __future__ import annotations

import ctypes
import os
from typing import Iterator
from ctypes import (POINTER, Structure, c_char, c_char_p, c_int32, c_int64, c_size_t,
                    c_uint32, c_uint64, c_void_p)

from ._version import LIBRARY_MAJOR, LIBRARY_MINOR

SONAME = "libtradepipe.so.0"

# ---- status codes (include/tradepipe/common.h) -------------------------------
TP_OK = 0
TP_DONE = 1
TP_E_INVALID = -1
TP_E_NOMEM = -2
TP_E_IO = -3
TP_E_RANGE = -4
TP_E_PARSE = -5
TP_E_RECORD = -6
TP_E_TOO_LARGE = -7
TP_E_GZIP = -8
TP_E_UNSUPPORTED = -9
TP_E_NOT_FOUND = -10
TP_E_CONFIG = -11
TP_E_CREDENTIALS = -12
TP_E_HTTP = -13
TP_E_TIMEOUT = -14
TP_E_AWS = -15
TP_E_THROTTLED = -16
TP_E_CONDITION = -17
TP_E_LIMIT = -18
TP_E_STATE = -19
TP_E_CHECKSUM = -20
TP_E_EXISTS = -21

TP_NO_OFFSET = (1 << 64) - 1

# ---- sizes and flags ---------------------------------------------------------
TP_SYMBOL_MAX = 128
TP_TIMESTAMP_MAX = 64
TP_TRADE_ID_MAX = 64
TP_SIDE_MAX = 16
TP_EXCHANGE_MAX = 32
TP_TS_NONE, TP_TS_STRING, TP_TS_NUMBER = 0, 1, 2
TP_TRADE_HAS_TRADE_ID = 0x1
TP_TRADE_HAS_SIDE = 0x2
TP_TRADE_HAS_EXCHANGE = 0x4
TP_TRADE_TS_PARSED = 0x8
TP_DECODE_LENIENT = 0x1
TP_DECODE_REFERENCE = 0x2
TP_DECODE_MINIMAL = 0x4
TP_ENCODE_NEWLINE = 0x1
TP_READ_NO_THREAD = 0x1
TP_READ_NO_GZIP = 0x2
TP_READER_OPTIONS_VERSION = 1
TP_DECIMAL_STR_MAX = 64
TP_PRICE_STR_MAX = 32

TP_SEQUENCE_MAX = 130
TP_SHARD_MAX = 129
TP_ENGINE_OPTIONS_VERSION = 1
TP_ENGINE_STOP_LOSS = 0x1
TP_ENGINE_NO_TIME = -(1 << 63)
TP_ENGINE_EVENTS_MAX = 1
TP_SIDE_BUY, TP_SIDE_SELL = 1, 2
TP_REASON_DROP, TP_REASON_TAKE_PROFIT, TP_REASON_STOP_LOSS = 1, 2, 3

TP_SIGV4_S3 = 0x01
TP_SIGV4_NO_PATH_NORMALIZE = 0x02
TP_SIGV4_NO_DOUBLE_ENCODE = 0x04
TP_SIGV4_CONTENT_SHA256 = 0x08
TP_SIGV4_UNSIGNED_PAYLOAD = 0x10
TP_SIGV4_OMIT_SESSION_TOKEN = 0x20
TP_SIGV4_CONFIG_VERSION = 1
TP_SIGV4_REQUEST_VERSION = 1
TP_SIGV4_DATE_LEN = 16
TP_SIGV4_SIGNATURE_LEN = 64
TP_SIGV4_OUT_HEADERS_MAX = 4
TP_CREDENTIALS_NO_EXPIRY = (1 << 63) - 1

TP_KINESIS_SEQ_MAX = 132
TP_KINESIS_SHARD_ID_MAX = 132
TP_KINESIS_HASH_MAX = 48
TP_KINESIS_TRIM_HORIZON = 0
TP_KINESIS_LATEST = 1
TP_KINESIS_AT_SEQUENCE_NUMBER = 2
TP_KINESIS_AFTER_SEQUENCE_NUMBER = 3
TP_KINESIS_AT_TIMESTAMP = 4
TP_STREAM_OPTIONS_VERSION = 1
TP_STREAM_CREATE = 0x1
TP_STREAM_EXCL = 0x2
TP_STREAM_WRITE = 0x4
TP_STREAM_SYNC = 0x8
TP_STREAM_MAX_BATCH_RECORDS = 500
TP_ERROR_AWS_MAX = 64
TP_ERROR_MESSAGE_MAX = 160


# ---- structures --------------------------------------------------------------
class tp_error(Structure):
    _fields_ = [("code", c_int32), ("http_status", c_int32), ("offset", c_uint64),
                ("line", c_uint32), ("attempts", c_uint32), ("message", c_char * 160),
                ("field", c_char * 32), ("aws_code", c_char * 64), ("request_id", c_char * 80)]


class tp_cursor(Structure):
    # ptr is c_char_p so that assigning a bytes object keeps it alive with the
    # structure (ctypes records it in the structure's _objects).
    _fields_ = [("ptr", c_char_p), ("len", c_size_t)]


class tp_buf(Structure):
    _fields_ = [("ptr", c_void_p), ("len", c_size_t), ("cap", c_size_t), ("max", c_size_t),
                ("alloc", c_void_p)]


class tp_trade(Structure):
    _fields_ = [("price_e8", c_int64), ("volume", c_int64), ("ts_us", c_int64),
                ("ts_kind", c_uint32), ("flags", c_uint32), ("symbol_len", c_uint32),
                ("reserved", c_uint32), ("symbol", c_char * TP_SYMBOL_MAX),
                ("timestamp", c_char * TP_TIMESTAMP_MAX), ("trade_id", c_char * TP_TRADE_ID_MAX),
                ("side", c_char * TP_SIDE_MAX), ("exchange", c_char * TP_EXCHANGE_MAX)]


class tp_reader_options(Structure):
    _fields_ = [("version", c_uint32), ("flags", c_uint32), ("decode_flags", c_uint32),
                ("reserved", c_uint32), ("max_record_bytes", c_uint64), ("alloc", c_void_p)]


class tp_reader_stats(Structure):
    _fields_ = [("bytes", c_uint64), ("records", c_uint64), ("errors", c_uint64),
                ("record_offset", c_uint64), ("gzip", c_uint32), ("reserved", c_uint32)]


class tp_symbol_stats(Structure):
    _fields_ = [("symbol", c_char * TP_SYMBOL_MAX), ("count", c_uint64),
                ("min_price_e8", c_int64), ("max_price_e8", c_int64),
                ("price_sum_hi", c_uint64), ("price_sum_lo", c_uint64),
                ("volume_sum_hi", c_uint64), ("volume_sum_lo", c_uint64)]


class tp_engine_options(Structure):
    _fields_ = [("version", c_uint32), ("flags", c_uint32), ("window", c_uint32),
                ("max_symbols", c_uint32), ("drop_pct_e8", c_int64),
                ("take_profit_pct_e8", c_int64), ("stop_loss_pct_e8", c_int64),
                ("order_size", c_int64), ("alloc", c_void_p)]


class tp_tick(Structure):
    _fields_ = [("symbol", tp_cursor), ("shard", tp_cursor), ("sequence", tp_cursor),
                ("price_e8", c_int64), ("ts_us", c_int64)]


class tp_engine_event(Structure):
    _fields_ = [("side", c_uint32), ("reason", c_uint32), ("price_e8", c_int64),
                ("quantity", c_int64), ("ts_us", c_int64), ("reference_e8", c_int64),
                ("entry_price_e8", c_int64), ("entry_ts_us", c_int64), ("pnl_e8", c_int64),
                ("symbol", c_char * TP_SYMBOL_MAX), ("shard", c_char * TP_SHARD_MAX),
                ("sequence", c_char * TP_SEQUENCE_MAX), ("entry_shard", c_char * TP_SHARD_MAX),
                ("entry_sequence", c_char * TP_SEQUENCE_MAX)]


class tp_position(Structure):
    _fields_ = [("quantity", c_int64), ("entry_price_e8", c_int64), ("entry_ts_us", c_int64),
                ("realized_pnl_e8", c_int64), ("ticks", c_uint64), ("buys", c_uint64),
                ("sells", c_uint64), ("reference_e8", c_int64),
                ("symbol", c_char * TP_SYMBOL_MAX), ("entry_shard", c_char * TP_SHARD_MAX),
                ("entry_sequence", c_char * TP_SEQUENCE_MAX),
                ("last_shard", c_char * TP_SHARD_MAX),
                ("last_sequence", c_char * TP_SEQUENCE_MAX)]


class tp_engine_stats(Structure):
    _fields_ = [("ticks", c_uint64), ("duplicates", c_uint64), ("buys", c_uint64),
                ("sells", c_uint64), ("symbols", c_uint64)]


class tp_credentials(Structure):
    _fields_ = [("access_key_id", c_char_p), ("secret_access_key", c_char_p),
                ("session_token", c_char_p), ("expiration_ms", c_int64)]


class tp_sigv4_header(Structure):
    _fields_ = [("name", tp_cursor), ("value", tp_cursor)]


class tp_sigv4_config(Structure):
    _fields_ = [("version", c_uint32), ("flags", c_uint32), ("region", c_char_p),
                ("service", c_char_p), ("now_ms", c_int64), ("expires_s", c_int64)]


class tp_sigv4_request(Structure):
    _fields_ = [("version", c_uint32), ("reserved", c_uint32), ("method", tp_cursor),
                ("path", tp_cursor), ("query", tp_cursor),
                ("headers", POINTER(tp_sigv4_header)), ("header_count", c_size_t),
                ("body", tp_cursor), ("payload_hash", tp_cursor)]


class tp_view(Structure):
    """tp_cursor as the library hands it out (pointer kept as an address)."""
    _fields_ = [("ptr", c_void_p), ("len", c_size_t)]


class tp_sigv4_out_header(Structure):
    _fields_ = [("name", tp_view), ("value", tp_view)]


class tp_sigv4_output(Structure):
    _fields_ = [("header_count", c_size_t),
                ("headers", tp_sigv4_out_header * TP_SIGV4_OUT_HEADERS_MAX),
                ("amz_date", c_char * (TP_SIGV4_DATE_LEN + 1)),
                ("signature", c_char * (TP_SIGV4_SIGNATURE_LEN + 1))]


class tp_stream_options(Structure):
    _fields_ = [("version", c_uint32), ("flags", c_uint32), ("shard_count", c_uint32),
                ("reserved", c_uint32), ("segment_bytes", c_uint64), ("retention_ms", c_int64),
                ("alloc", c_void_p)]


class tp_kinesis_entry(Structure):
    _fields_ = [("data", tp_cursor), ("partition_key", c_char_p),
                ("explicit_hash_key", c_char_p)]


class tp_kinesis_put_result(Structure):
    _fields_ = [("shard_id", c_char * TP_KINESIS_SHARD_ID_MAX),
                ("sequence_number", c_char * TP_KINESIS_SEQ_MAX),
                ("error_code", c_char * TP_ERROR_AWS_MAX),
                ("error_message", c_char * TP_ERROR_MESSAGE_MAX)]


class tp_kinesis_shard(Structure):
    _fields_ = [("shard_id", c_char * TP_KINESIS_SHARD_ID_MAX),
                ("parent_shard_id", c_char * TP_KINESIS_SHARD_ID_MAX),
                ("adjacent_parent_shard_id", c_char * TP_KINESIS_SHARD_ID_MAX),
                ("hash_key_start", c_char * TP_KINESIS_HASH_MAX),
                ("hash_key_end", c_char * TP_KINESIS_HASH_MAX),
                ("sequence_start", c_char * TP_KINESIS_SEQ_MAX),
                ("sequence_end", c_char * TP_KINESIS_SEQ_MAX)]


class tp_kinesis_shards(Structure):
    _fields_ = [("shards", POINTER(tp_kinesis_shard)), ("count", c_size_t),
                ("pages", c_uint32), ("alloc", c_void_p)]


class tp_stream_position(Structure):
    _fields_ = [("type", c_int32), ("sub_sequence_number", c_int32), ("timestamp_ms", c_int64),
                ("sequence_number", c_char * TP_KINESIS_SEQ_MAX)]


class tp_stream_record(Structure):
    _fields_ = [("data", tp_view), ("partition_key", c_char_p), ("sequence_number", c_char_p),
                ("shard_id", c_char_p), ("arrival_ms", c_int64),
                ("user_sequence_number", c_char_p), ("sub_sequence_number", c_uint64),
                ("aggregated", c_int32), ("reserved_", c_int32)]


class tp_stream_records(Structure):
    _fields_ = [("records", POINTER(tp_stream_record)), ("count", c_size_t),
                ("millis_behind_latest", c_int64)]


class tp_stream_reader_stats(Structure):
    _fields_ = [("records", c_uint64), ("bytes", c_uint64), ("torn_tails", c_uint64),
                ("torn_bytes", c_uint64), ("trimmed", c_uint64), ("segments", c_uint64),
                ("requests", c_uint64), ("throttles", c_uint64), ("aggregates", c_uint64)]


# Every structure the tests compare with the C compiler's layout.
class tp_aws_client_options(Structure):
    _fields_ = [("version", c_uint32), ("max_attempts", c_uint32), ("max_backoff_ms", c_uint32),
                ("retry_quota", c_uint32), ("region", c_char_p), ("endpoint_url", c_char_p),
                ("credentials", c_void_p), ("http", c_void_p), ("getenv_fn", c_void_p),
                ("getenv_payload", c_void_p), ("alloc", c_void_p)]


class tp_producer_attempt(Structure):
    _fields_ = [("end_ms", c_int64), ("error_code", c_char * TP_ERROR_AWS_MAX),
                ("error_message", c_char * TP_ERROR_MESSAGE_MAX)]


class tp_producer_result(Structure):
    _fields_ = [("user", c_void_p), ("status", c_int32), ("data", tp_cursor),
                ("partition_key", c_char_p), ("explicit_hash_key", c_char_p),
                ("shard_id", c_char_p), ("sequence_number", c_char_p), ("sub_sequence", c_int64),
                ("put_ms", c_int64), ("n_attempts", c_uint32),
                ("attempts", POINTER(tp_producer_attempt))]


# void (*tp_producer_done_fn)(const tp_producer_result *r, void *payload)
PRODUCER_DONE_FN = ctypes.CFUNCTYPE(None, POINTER(tp_producer_result), c_void_p)


class tp_producer_options(Structure):
    _fields_ = [("version", c_uint32), ("stream", c_char_p), ("aws", POINTER(tp_aws_client_options)),
                ("aggregate", c_int32), ("aggregation_max_bytes", c_uint32),
                ("linger_ms", c_uint32), ("record_ttl_ms", c_uint32), ("max_in_flight", c_uint32),
                ("max_request_bytes", c_uint64), ("max_buffered_bytes", c_uint64),
                ("shard_records_per_s", ctypes.c_double), ("shard_bytes_per_s", ctypes.c_double),
                ("dead_letter_path", c_char_p), ("on_done", PRODUCER_DONE_FN),
                ("on_done_payload", c_void_p)]


class tp_producer_record(Structure):
    _fields_ = [("data", tp_cursor), ("partition_key", c_char_p), ("explicit_hash_key", c_char_p),
                ("user", c_void_p)]


class tp_producer_stats(Structure):
    _fields_ = [(n, c_uint64) for n in (
        "user_records_received", "user_records_pending", "user_records_put",
        "user_records_failed", "user_records_expired", "user_records_refused",
        "kinesis_records_put", "bytes_put", "buffered_bytes", "requests")] + [
        ("requests_in_flight", c_uint32)] + [(n, c_uint64) for n in (
            "retries", "throttles", "possible_duplicates", "shard_map_refreshes")] + [
        (n, ctypes.c_double) for n in ("latency_ms_p50", "latency_ms_p90", "latency_ms_p99",
                                       "latency_ms_max")]


TP_AWS_CLIENT_OPTIONS_VERSION = 1
TP_PRODUCER_OPTIONS_VERSION = 1

STRUCTS = {
    "tp_error": tp_error, "tp_cursor": tp_cursor, "tp_buf": tp_buf, "tp_trade": tp_trade,
    "tp_reader_options": tp_reader_options, "tp_reader_stats": tp_reader_stats,
    "tp_symbol_stats": tp_symbol_stats, "tp_engine_options": tp_engine_options,
    "tp_tick": tp_tick, "tp_engine_event": tp_engine_event, "tp_position": tp_position,
    "tp_engine_stats": tp_engine_stats, "tp_credentials": tp_credentials,
    "tp_sigv4_header": tp_sigv4_header, "tp_sigv4_config": tp_sigv4_config,
    "tp_sigv4_request": tp_sigv4_request, "tp_sigv4_output": tp_sigv4_output,
    "tp_stream_options": tp_stream_options, "tp_kinesis_entry": tp_kinesis_entry,
    "tp_kinesis_put_result": tp_kinesis_put_result, "tp_kinesis_shard": tp_kinesis_shard,
    "tp_kinesis_shards": tp_kinesis_shards, "tp_stream_position": tp_stream_position,
    "tp_stream_record": tp_stream_record, "tp_stream_records": tp_stream_records,
    "tp_stream_reader_stats": tp_stream_reader_stats,
    "tp_aws_client_options": tp_aws_client_options, "tp_producer_attempt": tp_producer_attempt,
    "tp_producer_result": tp_producer_result, "tp_producer_options": tp_producer_options,
    "tp_producer_record": tp_producer_record, "tp_producer_stats": tp_producer_stats,
}

# tp_read_fn: fill up to cap bytes at buf, set *n.
READ_FN = ctypes.CFUNCTYPE(c_int32, c_void_p, c_void_p, c_size_t, POINTER(c_size_t),
                           POINTER(tp_error))

_P = POINTER
_S = c_int32  # tp_status
_E = _P(tp_error)

# name: (restype, argtypes)
PROTOTYPES = {
    "tp_version": (c_char_p, []),
    "tp_version_number": (c_uint32, []),
    "tp_strerror": (c_char_p, [c_int32]),
    "tp_error_clear": (None, [_E]),
    "tp_buf_init": (None, [_P(tp_buf), c_void_p, c_size_t]),
    "tp_buf_dispose": (None, [_P(tp_buf)]),
    "tp_price_parse": (_S, [_P(c_int64), tp_cursor, _E]),
    # record
    "tp_record_decode": (_S, [_P(tp_trade), tp_cursor, c_uint32, _E]),
    "tp_record_encode": (_S, [_P(tp_buf), _P(tp_trade), c_uint32, _E]),
    # reader
    "tp_source_open": (_S, [_P(c_void_p), c_char_p, _E]),
    "tp_source_from_memory": (_S, [_P(c_void_p), c_void_p, c_size_t, _E]),
    "tp_source_from_fd": (_S, [_P(c_void_p), ctypes.c_int, _E]),
    "tp_source_from_callback": (_S, [_P(c_void_p), READ_FN, c_void_p, _E]),
    "tp_source_free": (None, [c_void_p]),
    "tp_reader_options_init": (_S, [_P(tp_reader_options), c_uint32]),
    "tp_reader_new": (_S, [_P(c_void_p), c_void_p, _P(tp_reader_options), _E]),
    "tp_reader_next_batch": (_S, [c_void_p, c_void_p, c_size_t, _P(c_size_t), _E]),
    "tp_reader_stats_get": (None, [c_void_p, _P(tp_reader_stats)]),
    "tp_reader_free": (None, [c_void_p]),
    # stats
    "tp_stats_new": (_S, [_P(c_void_p), c_void_p, _E]),
    "tp_stats_add_batch": (_S, [c_void_p, c_void_p, c_size_t, _P(c_size_t), _E]),
    "tp_stats_symbols": (c_size_t, [c_void_p]),
    "tp_stats_records": (c_uint64, [c_void_p]),
    "tp_stats_get": (_P(tp_symbol_stats), [c_void_p, c_size_t]),
    "tp_stats_format_avg": (c_size_t, [_P(c_char), _P(tp_symbol_stats), ctypes.c_uint,
                                       ctypes.c_int]),
    "tp_stats_format_sum": (c_size_t, [_P(c_char), c_uint64, c_uint64]),
    "tp_stats_merge": (_S, [c_void_p, c_void_p, _E]),
    "tp_stats_free": (None, [c_void_p]),
    # engine
    "tp_engine_options_init": (_S, [_P(tp_engine_options), c_uint32]),
    "tp_engine_new": (_S, [_P(c_void_p), _P(tp_engine_options), _E]),
    "tp_engine_free": (None, [c_void_p]),
    "tp_engine_options_get": (None, [c_void_p, _P(tp_engine_options)]),
    "tp_engine_apply": (_S, [c_void_p, _P(tp_tick), _P(tp_engine_event), _P(c_size_t), _E]),
    "tp_engine_position": (_S, [c_void_p, tp_cursor, _P(tp_position), _E]),
    "tp_engine_symbol_count": (c_size_t, [c_void_p]),
    "tp_engine_position_at": (_S, [c_void_p, c_size_t, _P(tp_position), _E]),
    "tp_engine_stats_get": (None, [c_void_p, _P(tp_engine_stats)]),
    "tp_engine_snapshot": (_S, [c_void_p, tp_cursor, _P(tp_buf), _E]),
    "tp_engine_restore": (_S, [c_void_p, tp_cursor, _E]),
    # sigv4
    "tp_sigv4_signer_new": (_S, [_P(c_void_p), c_void_p, _E]),
    "tp_sigv4_signer_free": (None, [c_void_p]),
    # The request is passed as an address: the bindings pack it (and its
    # headers and strings) into one scratch buffer, see sigv4.py.
    "tp_sigv4_sign": (_S, [c_void_p, _P(tp_sigv4_output), _P(tp_credentials), c_void_p,
                           _P(tp_sigv4_config), _E]),
    "tp_sigv4_presign": (_S, [c_void_p, _P(tp_buf), _P(tp_credentials), c_void_p,
                              _P(tp_sigv4_config), _E]),
    "tp_sigv4_signer_canonical_request": (tp_view, [c_void_p]),
    "tp_sigv4_signer_string_to_sign": (tp_view, [c_void_p]),
    # stream
    "tp_stream_options_init": (_S, [_P(tp_stream_options), c_uint32]),
    "tp_stream_open": (_S, [_P(c_void_p), c_char_p, _P(tp_stream_options), _E]),
    # producer
    "tp_aws_client_options_init": (_S, [_P(tp_aws_client_options), c_uint32]),
    "tp_producer_options_init": (_S, [_P(tp_producer_options), c_uint32]),
    "tp_producer_new": (_S, [_P(c_void_p), _P(tp_producer_options), _E]),
    "tp_producer_put": (_S, [c_void_p, _P(tp_producer_record), c_uint32, _E]),
    "tp_producer_flush": (_S, [c_void_p, c_uint32, _E]),
    "tp_producer_close": (None, [c_void_p]),
    "tp_producer_get_stats": (None, [c_void_p, _P(tp_producer_stats)]),
    "tp_stream_free": (None, [c_void_p]),
    "tp_stream_id": (c_char_p, [c_void_p]),
    "tp_stream_shard_count": (c_uint32, [c_void_p]),
    "tp_stream_list_shards": (_S, [c_void_p, _P(tp_kinesis_shards), _E]),
    "tp_kinesis_shards_dispose": (None, [_P(tp_kinesis_shards)]),
    "tp_stream_route": (_S, [c_void_p, c_char_p, c_char_p, _P(c_uint32), _E]),
    "tp_stream_put_records": (_S, [c_void_p, _P(tp_kinesis_entry), c_size_t,
                                   _P(tp_kinesis_put_result), _P(c_uint32), _E]),
    "tp_stream_put_record": (_S, [c_void_p, tp_cursor, c_char_p, c_char_p,
                                  _P(tp_kinesis_put_result), _E]),
    "tp_stream_wait": (_S, [c_void_p, c_uint32, _E]),
    "tp_stream_reader_new": (_S, [_P(c_void_p), c_void_p, c_char_p, _P(tp_stream_position),
                                  _E]),
    "tp_stream_reader_get": (_S, [c_void_p, c_uint32, _P(tp_stream_records), _E]),
    "tp_stream_reader_position": (None, [c_void_p, _P(tp_stream_position)]),
    "tp_stream_reader_stats_get": (None, [c_void_p, _P(tp_stream_reader_stats)]),
    "tp_stream_reader_shard_id": (c_char_p, [c_void_p]),
    "tp_stream_reader_free": (None, [c_void_p]),
}


def _candidates() -> Iterator[str]:
    """Where to look, in order (lazily: the system search runs ldconfig)."""
    env = os.environ.get("TRADEPIPE_LIBRARY")
    if env:
        yield env
        return
    here = os.path.dirname(os.path.abspath(__file__))
    for d in (here, os.path.dirname(here)):
        for name in (SONAME, "libtradepipe.so"):
            p = os.path.join(d, name)
            if os.path.exists(p):
                yield p
    import ctypes.util  # imported here only: it pulls in subprocess and shutil

    found = ctypes.util.find_library("tradepipe")
    if found:
        yield found
    yield SONAME


def _load() -> tuple[ctypes.CDLL, str]:
    errors = []
    for path in _candidates():
        try:
            # Lazy binding: ctypes asks for RTLD_NOW by default, which resolves
            # every symbol of libcurl, OpenSSL and the rest at import (~0.1 s).
            return ctypes.CDLL(path, mode=os.RTLD_LAZY | os.RTLD_LOCAL), path
        except OSError as e:
            errors.append("%s (%s)" % (path, e))
    raise ImportError("tradepipe: cannot load libtradepipe; tried: " + "; ".join(errors) +
                      ". Set TRADEPIPE_LIBRARY to the path of libtradepipe.so.0, or install "
                      "the library (cmake --install, then ldconfig)")


def _bind(lib: ctypes.CDLL, path: str) -> None:
    for name, (res, args) in PROTOTYPES.items():
        try:
            fn = getattr(lib, name)
        except AttributeError:
            raise ImportError("tradepipe: %s has no %s: the library is older than these "
                              "bindings need (%d.%d)" % (path, name, LIBRARY_MAJOR,
                                                         LIBRARY_MINOR)) from None
        fn.restype = res
        fn.argtypes = args


def _check_version(lib: ctypes.CDLL, path: str) -> str:
    try:
        num = lib.tp_version_number
        txt = lib.tp_version
    except AttributeError:
        raise ImportError("tradepipe: %s is not libtradepipe (no tp_version)" % path) from None
    num.restype, num.argtypes = c_uint32, []
    txt.restype, txt.argtypes = c_char_p, []
    n = num()
    major, minor = n // 10000, n // 100 % 100
    # 0.x: a minor release may change the API, so major and minor must match.
    if (major, minor) != (LIBRARY_MAJOR, LIBRARY_MINOR):
        raise ImportError("tradepipe: version mismatch: the bindings need libtradepipe %d.%d.x, "
                          "%s is %s" % (LIBRARY_MAJOR, LIBRARY_MINOR, path,
                                        (txt() or b"?").decode("ascii", "replace")))
    return (txt() or b"").decode("ascii")


lib, path = _load()
version = _check_version(lib, path)
_bind(lib, path)
