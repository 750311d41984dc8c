"""AWS Signature Version 4 (include/tradepipe/sigv4.h): the headers to add to
a request, and presigned URLs. The secret key never appears in a repr, a str
or an error."""

from __future__ import annotations

import ctypes
import datetime
import struct
import threading
import weakref
from itertools import accumulate
from time import time_ns as _time_ns
from typing import Any, Dict, Iterable, List, Mapping, NamedTuple, Optional, Tuple, Union

from . import _lib as L
from ._util import time_ms
from .errors import from_error

Headers = Union[Mapping[str, str], Iterable[Tuple[str, str]], None]
Time = Union[None, int, datetime.datetime]
_tuple_new = tuple.__new__


class Credentials:
    """AWS credentials: access key id, secret access key, optional session
    token and expiry (ms since the epoch, None: never). The secret and the
    token are readable as attributes but never shown by repr() or str()."""

    __slots__ = ("access_key_id", "_secret", "_token", "expiration_ms", "_c")

    def __init__(self, access_key_id: str, secret_access_key: str,
                 session_token: Optional[str] = None,
                 expiration_ms: Optional[int] = None) -> None:
        for name, v in (("access_key_id", access_key_id),
                        ("secret_access_key", secret_access_key)):
            if not isinstance(v, str):
                raise TypeError("%s must be str" % name)
        if session_token is not None and not isinstance(session_token, str):
            raise TypeError("session_token must be str or None")
        self.access_key_id = access_key_id
        self._secret = secret_access_key
        self._token = session_token or None
        self.expiration_ms = expiration_ms
        c = L.tp_credentials()
        c.access_key_id = access_key_id.encode("utf-8")
        c.secret_access_key = secret_access_key.encode("utf-8")
        c.session_token = self._token.encode("utf-8") if self._token else None
        c.expiration_ms = L.TP_CREDENTIALS_NO_EXPIRY if expiration_ms is None else expiration_ms
        self._c = c

    @property
    def secret_access_key(self) -> str:
        return self._secret

    @property
    def session_token(self) -> Optional[str]:
        return self._token

    def __repr__(self) -> str:
        return "Credentials(access_key_id=%r, secret_access_key=<hidden>, session_token=%s)" % (
            self.access_key_id, "<hidden>" if self._token else "None")

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("Credentials are not pickled (they hold a secret)")


class SignedRequest(NamedTuple):
    """What sign() returns: the headers to add to the request, in order
    (X-Amz-Security-Token, X-Amz-Date, x-amz-content-sha256, Authorization;
    only those that apply), the signature (hex) and the signing time."""
    headers: List[Tuple[str, str]]
    signature: str
    amz_date: str


def _split_url(url: str) -> Tuple[str, str, str, str]:
    """(host, path, query, prefix) of an absolute http(s) URL, path and query
    as sent (wire form); `prefix` is scheme://netloc."""
    scheme, sep, rest = url.partition("://")
    if not sep or not scheme:
        raise ValueError("url must be absolute (https://host/path?query): %r" % (url,))
    if "#" in rest:
        rest = rest[:rest.index("#")]
    end = len(rest)
    j = rest.find("/")
    if 0 <= j < end:
        end = j
    j = rest.find("?")
    if 0 <= j < end:
        end = j
    netloc = rest[:end]
    if not netloc:
        raise ValueError("url has no host: %r" % (url,))
    path, _, query = rest[end:].partition("?")
    host = netloc
    # As botocore (and HTTP clients) send it: no default port in Host.
    if ":" in host:
        scheme = scheme.lower()
        if (scheme == "https" and host.endswith(":443")) or \
                (scheme == "http" and host.endswith(":80")):
            host = host.rsplit(":", 1)[0]
    return host, path, query, url[:len(scheme) + 3] + netloc


# tp_sigv4_request as packed: version, reserved, method, path, query (ptr,
# len each), headers, header_count, body, payload_hash (ptr, len each).
_REQ = struct.Struct("<II" + "QQ" * 3 + "QQ" + "QQ" * 2)
assert _REQ.size == ctypes.sizeof(L.tp_sigv4_request)
_HDR_SIZE = ctypes.sizeof(L.tp_sigv4_header)
_OUT = struct.Struct("<Q" + "QQQQ" * L.TP_SIGV4_OUT_HEADERS_MAX + "%ds%ds" % (
    L.TP_SIGV4_DATE_LEN + 1, L.TP_SIGV4_SIGNATURE_LEN + 1))
_HDR_STRUCTS: Dict[int, struct.Struct] = {}
_WITH_SHA256 = L.TP_SIGV4_S3 | L.TP_SIGV4_CONTENT_SHA256
_BODY = struct.Struct("<QQ")
_BODY_OFF = L.tp_sigv4_request.body.offset


def _packer(n: int) -> struct.Struct:
    """The packed request followed by an array of `n` headers."""
    s = _HDR_STRUCTS.get(n)
    if s is None:
        s = _HDR_STRUCTS[n] = struct.Struct(_REQ.format + "QQQQ" * n)
    return s


def _b(v: Union[str, bytes], what: str) -> bytes:
    if type(v) is bytes:
        return v  # type: ignore[return-value]
    if isinstance(v, str):
        return v.encode("utf-8")
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v)
    raise TypeError("%s must be str or bytes, not %s" % (what, type(v).__name__))


def _free_signer(h: int) -> None:
    L.lib.tp_sigv4_signer_free(h)


class Signer:
    """Signs requests for one region and service with one set of credentials.

    A signer keeps the derived signing key cached (per date) and its scratch
    buffers warm, so reuse it. ``s3=True`` applies S3's rules (path signed as
    given, x-amz-content-sha256 added; presigned URLs use UNSIGNED-PAYLOAD).
    A lock makes a signer safe to share between threads. Close it (or use it
    as a context manager) to wipe and free it at once.
    """

    def __init__(self, credentials: Credentials, region: str, service: str, *,
                 s3: bool = False) -> None:
        if not isinstance(credentials, Credentials):
            raise TypeError("credentials must be a tradepipe.Credentials")
        if not isinstance(region, str) or not isinstance(service, str):
            raise TypeError("region and service must be str")
        self.credentials = credentials
        self.region = region
        self.service = service
        self.s3 = s3
        h = ctypes.c_void_p()
        err = L.tp_error()
        st = L.lib.tp_sigv4_signer_new(ctypes.byref(h), None, ctypes.byref(err))
        if st != L.TP_OK:
            raise from_error(st, err)
        self._h = h.value
        self._finalizer = weakref.finalize(self, _free_signer, h.value)
        self._lock = threading.Lock()
        cfg = L.tp_sigv4_config()
        cfg.version = L.TP_SIGV4_CONFIG_VERSION
        cfg.region = region.encode("utf-8")
        cfg.service = service.encode("utf-8")
        self._cfg = cfg
        self._out = L.tp_sigv4_output()
        self._err = L.tp_error()
        self._pout, self._perr = ctypes.byref(self._out), ctypes.byref(self._err)
        self._pcfg = ctypes.byref(cfg)
        self._pcreds = ctypes.byref(credentials._c)
        self._s3flag = L.TP_SIGV4_S3 if s3 else 0
        self._memo: Optional[Tuple[Any, ...]] = None
        token = credentials.session_token
        self._token_header = ("X-Amz-Security-Token", token) if token else None
        self._urls: Dict[str, Tuple[bytes, bytes, bytes, str]] = {}
        self._scratch = ctypes.create_string_buffer(4096)
        self._scratch_len = 4096
        self._base = ctypes.addressof(self._scratch)
        self._mv = memoryview(self._scratch).cast("B")

    def __repr__(self) -> str:
        return "Signer(%r, region=%r, service=%r, s3=%r)" % (self.credentials, self.region,
                                                              self.service, self.s3)

    def close(self) -> None:
        """Wipe and free the signer (idempotent); further calls raise ValueError."""
        with self._lock:
            self._finalizer()

    def __enter__(self) -> "Signer":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _url(self, url: str) -> Tuple[bytes, bytes, bytes, str]:
        """(host, path, query, prefix) of `url`, remembered for the URLs seen
        last (a client signs for a few endpoints over and over)."""
        u = self._urls.get(url)
        if u is None:
            if type(url) is not str:
                raise TypeError("url must be str, not %s" % type(url).__name__)
            host, path, query, prefix = _split_url(url)
            u = (host.encode("utf-8"), path.encode("utf-8"), query.encode("utf-8"), prefix)
            if len(self._urls) >= 256:
                self._urls.clear()
            self._urls[url] = u
        return u

    def _prepare(self, method: str, url: str, headers: Headers, body: Union[bytes, str],
                 payload_hash: Optional[str], flags: int, now: Time, expires: int
                 ) -> Tuple[int, str]:
        """Pack the request, its header array and every string it points to
        into the signer's scratch buffer (no ctypes structure is built per
        call); returns the request's address and scheme://netloc.

        Layout: request | headers | method, path, query, payload hash, header
        names and values | body. When method, URL, headers and options equal
        the previous call's (a client signs the same request shape over and
        over), all but the body, its length and the time are already there."""
        bb = body if type(body) is bytes else (b"" if body is None else _b(body, "body"))
        if headers is None:
            hkey: Any = None
        elif hasattr(headers, "items"):
            hkey = dict(headers)  # type: ignore[arg-type]
        else:
            hkey = [tuple(p) for p in headers]  # type: ignore[union-attr]
        m = self._memo
        if m is not None and m[0] == method and m[1] == url and m[2] == hkey and \
                m[3] == payload_hash and m[4] == flags and m[5] + len(bb) <= self._scratch_len:
            body_at, prefix = m[5], m[6]
        else:
            body_at, prefix, immutable = self._pack(method, url, hkey, payload_hash, len(bb))
            # Only a request made of str and bytes is remembered: a mutable
            # value (a bytearray) could change behind the comparison's back.
            if immutable:
                self._memo = (method, url, hkey, payload_hash, flags, body_at, prefix)
        base = self._base
        self._mv[body_at:body_at + len(bb)] = bb
        _BODY.pack_into(self._scratch, _BODY_OFF, base + body_at, len(bb))
        cfg = self._cfg
        if cfg.flags != flags:
            cfg.flags = flags
        cfg.now_ms = now if type(now) is int else (_time_ns() // 1000000 if now is None
                                                   else time_ms(now))
        if expires != cfg.expires_s:
            cfg.expires_s = expires
        return base, prefix

    def _pack(self, method: str, url: str, hkey: Any, payload_hash: Optional[str],
              body_len: int) -> Tuple[int, str, bool]:
        """Write everything but the body; returns where the body goes, the URL's
        scheme://netloc and whether every part was an immutable str or bytes."""
        self._memo = None
        immutable = type(method) in (str, bytes) and type(payload_hash) in (str, type(None))
        host, path, query, prefix = self._url(url)
        parts = [method.encode("ascii") if type(method) is str else _b(method, "method"),
                 path, query, payload_hash.encode("ascii") if payload_hash else b""]
        hs = [b"host", host]
        if hkey is not None:
            items = hkey.items() if isinstance(hkey, dict) else hkey
            for k, v in items:
                if type(k) not in (str, bytes) or type(v) not in (str, bytes):
                    immutable = False
                kb = k.encode("utf-8") if type(k) is str else _b(k, "header name")
                if len(kb) == 4 and kb.lower() == b"host":
                    del hs[:2]  # the caller's Host is signed, not the URL's
                hs.append(kb)
                hs.append(v.encode("utf-8") if type(v) is str else _b(v, "header value"))
        parts += hs
        nh = len(hs) >> 1
        fixed = _REQ.size + _HDR_SIZE * nh
        blob = b"".join(parts)
        body_at = fixed + len(blob)
        need = body_at + body_len
        if need > self._scratch_len:
            self._scratch = ctypes.create_string_buffer(max(need, 2 * self._scratch_len))
            self._scratch_len = len(self._scratch)
            self._base = ctypes.addressof(self._scratch)
            self._mv = memoryview(self._scratch).cast("B")
        base = self._base
        self._mv[fixed:body_at] = blob
        lens = list(map(len, parts))
        starts = list(accumulate(lens[:-1], initial=base + fixed))
        pairs = [0] * (2 * len(parts))
        pairs[::2] = starts
        pairs[1::2] = lens
        # version, reserved, method, path, query, headers, header_count, body
        # (written per call), payload_hash; then the headers (name, value)
        _packer(nh).pack_into(self._scratch, 0, L.TP_SIGV4_REQUEST_VERSION, 0, *pairs[:6],
                              base + _REQ.size, nh, 0, 0, *pairs[6:])
        return body_at, prefix, immutable

    @staticmethod
    def _flags(unsigned_payload: bool, content_sha256: bool, omit_session_token: bool,
               normalize_path: bool, double_encode: bool) -> int:
        return ((L.TP_SIGV4_UNSIGNED_PAYLOAD if unsigned_payload else 0) |
                (L.TP_SIGV4_CONTENT_SHA256 if content_sha256 else 0) |
                (L.TP_SIGV4_OMIT_SESSION_TOKEN if omit_session_token else 0) |
                (0 if normalize_path else L.TP_SIGV4_NO_PATH_NORMALIZE) |
                (0 if double_encode else L.TP_SIGV4_NO_DOUBLE_ENCODE))

    def sign(self, method: str, url: str, headers: Headers = None,
             body: Union[bytes, str] = b"", *, time: Time = None,
             payload_hash: Optional[str] = None, unsigned_payload: bool = False,
             content_sha256: bool = False, omit_session_token: bool = False,
             normalize_path: bool = True, double_encode: bool = True) -> SignedRequest:
        """Sign a request with the Authorization header form.

        ``url``: absolute, its path and query as they will be sent (already
        percent-encoded). ``headers``: the headers to sign (a mapping or
        (name, value) pairs); Host is taken from the URL unless given.
        ``time``: the signing time (None: now; ms since the epoch; or a
        datetime, naive meaning UTC). Returns the headers to add.
        Raises InvalidArgumentError (``field`` names the bad part),
        RangeError, CredentialsError, TooLargeError.
        """
        flags = self._s3flag
        if unsigned_payload or content_sha256 or omit_session_token or not normalize_path or \
                not double_encode:
            flags |= self._flags(unsigned_payload, content_sha256, omit_session_token,
                                 normalize_path, double_encode)
        with self._lock:
            if not self._finalizer.alive:
                raise ValueError("the signer is closed")
            req, _ = self._prepare(method, url, headers, body, payload_hash, flags, time, 0)
            out, err = self._out, self._err
            st = L.lib.tp_sigv4_sign(self._h, self._pout, self._pcreds, req, self._pcfg,
                                     self._perr)
            if st != L.TP_OK:
                raise from_error(st, err)
            v = _OUT.unpack_from(out)
            # amz_date and signature have fixed lengths (TP_SIGV4_*_LEN)
            date = v[-2][:L.TP_SIGV4_DATE_LEN].decode("ascii")
            sig = v[-1][:L.TP_SIGV4_SIGNATURE_LEN].decode("ascii")
            sat = ctypes.string_at
            hs: List[Tuple[str, str]] = []
            tok = self._token_header
            if v[0] == (3 if tok else 2) and not flags & _WITH_SHA256:
                # The documented headers: [X-Amz-Security-Token,] X-Amz-Date,
                # Authorization; the token's and the date's values are ours and
                # amz_date. Only Authorization's value is read.
                if tok:
                    hs.append(tok)
                hs.append(("X-Amz-Date", date))
                i = 1 + 4 * (v[0] - 1)
                hs.append(("Authorization", sat(v[i + 2], v[i + 3]).decode("ascii")))
            else:
                for i in range(1, 1 + 4 * v[0], 4):
                    hs.append((sat(v[i], v[i + 1]).decode("ascii"),
                               sat(v[i + 2], v[i + 3]).decode("utf-8")))
            return _tuple_new(SignedRequest, (hs, sig, date))

    def presign(self, method: str, url: str, headers: Headers = None, *,
                expires: int = 3600, time: Time = None, body: Union[bytes, str] = b"",
                payload_hash: Optional[str] = None, unsigned_payload: bool = False,
                normalize_path: bool = True, double_encode: bool = True) -> str:
        """A presigned URL (query-string form) valid ``expires`` seconds
        (1..604800) from ``time``. The URL's own query parameters are kept
        in their order, written as they were signed. Raises as sign()."""
        if isinstance(expires, bool) or not isinstance(expires, int):
            raise TypeError("expires must be int (seconds)")
        if not 1 <= expires <= 604800:
            raise ValueError("expires must be 1..604800 seconds, not %d" % expires)
        flags = self._s3flag | self._flags(unsigned_payload, False, False, normalize_path,
                                           double_encode)
        buf = L.tp_buf()
        L.lib.tp_buf_init(ctypes.byref(buf), None, 0)
        try:
            with self._lock:
                if not self._finalizer.alive:
                    raise ValueError("the signer is closed")
                req, prefix = self._prepare(method, url, headers, body, payload_hash,
                                            flags, time, expires)
                err = self._err
                st = L.lib.tp_sigv4_presign(self._h, ctypes.byref(buf), self._pcreds, req,
                                            self._pcfg, self._perr)
                if st != L.TP_OK:
                    raise from_error(st, err)
                return prefix + ctypes.string_at(buf.ptr, buf.len).decode("ascii")
        finally:
            L.lib.tp_buf_dispose(ctypes.byref(buf))

    def _view(self, fn: Any) -> str:
        with self._lock:
            if not self._finalizer.alive:
                raise ValueError("the signer is closed")
            v = fn(self._h)
            return ctypes.string_at(v.ptr, v.len).decode("utf-8") if v.len else ""

    @property
    def canonical_request(self) -> str:
        """The canonical request of the last successful call (for debugging)."""
        return self._view(L.lib.tp_sigv4_signer_canonical_request)

    @property
    def string_to_sign(self) -> str:
        """The string to sign of the last successful call (for debugging)."""
        return self._view(L.lib.tp_sigv4_signer_string_to_sign)
