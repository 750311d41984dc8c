"""tradepipe: Python bindings (ctypes) over libtradepipe.

C speed for parsing, signing, the engine and streams, from Python:

- records: decode / encode trades (prices as decimal.Decimal), read_records
  (stream the records of a Firehose file, gzip or not), summarize (tp-parse's
  summary as a dict);
- Engine: the signal/position engine (ticks, events, positions, snapshots);
- sigv4: Credentials, Signer (SigV4 headers and presigned URLs);
- Stream: the stream interface (file:DIR today);
- Producer: the Kinesis producer (KPL aggregation, batching, rate limits,
  retries), put / flush / close, a context manager.

Failures raise TradepipeError subclasses (see tradepipe.errors). The library
is found through TRADEPIPE_LIBRARY, then next to the package, then the
system's library search; its version is checked at import.
"""

from . import _lib
from ._version import __version__
from .engine import Engine, Event, Position
from .errors import (AWSError, ChecksumError, ConditionError, ConfigError, CredentialsError,
                     DeadlineError, ExistsError, GzipError, HTTPError, InvalidArgumentError,
                     IOFailureError, LimitError, NotFoundError, OutOfMemoryError, ParseError,
                     RangeError, RecordError, StateError, ThrottledError, TooLargeError,
                     TradepipeError, UnsupportedError, strerror)
from .records import MalformedRecord, RecordReader, Trade, decode, encode, read_records, summarize
from .sigv4 import Credentials, SignedRequest, Signer
from .producer import Producer, ProducerResult
from .stream import PutResult, Shard, Stream, StreamReader, StreamRecord

#: The version of the libtradepipe actually loaded ("MAJOR.MINOR.PATCH").
library_version: str = _lib.version
#: The path the library was loaded from.
library_path: str = _lib.path

__all__ = [
    "__version__", "library_version", "library_path",
    "Trade", "MalformedRecord", "RecordReader", "decode", "encode", "read_records", "summarize",
    "Engine", "Event", "Position",
    "Credentials", "Signer", "SignedRequest",
    "Stream", "StreamReader", "StreamRecord", "PutResult", "Shard",
    "Producer", "ProducerResult",
    "TradepipeError", "InvalidArgumentError", "OutOfMemoryError", "IOFailureError", "RangeError",
    "ParseError", "RecordError", "TooLargeError", "GzipError", "UnsupportedError",
    "NotFoundError", "ConfigError", "CredentialsError", "HTTPError", "DeadlineError", "AWSError",
    "ThrottledError", "ConditionError", "LimitError", "StateError", "ChecksumError",
    "ExistsError", "strerror",
]
