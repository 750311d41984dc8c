"""SigV4 through the bindings: headers and presigned URLs equal botocore's on
the same requests; errors; the secret never shows."""

import datetime
from unittest import mock
from urllib.parse import parse_qsl, urlsplit

import pytest

import tradepipe as tp

botocore = pytest.importorskip("botocore")  # Debian python3-botocore: scripts/deps installs it
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth, SigV4QueryAuth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.credentials import Credentials as BotoCredentials  # noqa: E402

AKID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = "IQoJb3JpZ2luX2VjEXAMPLETOKEN/+=="
WHEN = datetime.datetime(2025, 10, 22, 12, 58, 35)
WHEN_MS = 1761137915000


class _FixedDatetime:
    class datetime(datetime.datetime):
        @classmethod
        def utcnow(cls):
            return WHEN


def _boto(auth_cls, method, url, headers, body, token, **kw):
    creds = BotoCredentials(AKID, SECRET, token)
    req = AWSRequest(method=method, url=url, data=body, headers=dict(headers))
    with mock.patch("botocore.auth.datetime", _FixedDatetime):
        auth_cls(creds, kw.pop("service"), kw.pop("region"), **kw).add_auth(req)
    return req


REQUESTS = [
    ("POST", "https://kinesis.us-east-1.amazonaws.com/",
     {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "Kinesis_20131202.PutRecord"},
     b'{"StreamName":"s","Data":"' + b"A" * 1000 + b'"}', "kinesis", "us-east-1"),
    ("GET", "https://dynamodb.eu-west-1.amazonaws.com/a%20b/./c/../d?z=1&a=2&a=1&empty=&sp=%20x",
     {"X-Amz-Meta": "  two   spaces  "}, b"", "dynamodb", "eu-west-1"),
    ("PUT", "https://kinesis.us-west-2.amazonaws.com:8443/x",
     [("Content-Type", "text/plain")], "héllo", "kinesis", "us-west-2"),
]


@pytest.mark.parametrize("token", [None, TOKEN])
@pytest.mark.parametrize("method,url,headers,body,service,region", REQUESTS)
def test_sign_equals_botocore(method, url, headers, body, service, region, token):
    want = _boto(SigV4Auth, method, url, headers.items() if isinstance(headers, dict) else headers,
                 body.encode() if isinstance(body, str) else body, token,
                 service=service, region=region)
    with tp.Signer(tp.Credentials(AKID, SECRET, token), region, service) as s:
        got = s.sign(method, url, headers, body, time=WHEN_MS)
    h = dict(got.headers)
    assert h["Authorization"] == want.headers["Authorization"]
    assert h["X-Amz-Date"] == want.headers["X-Amz-Date"] == got.amz_date
    assert got.signature == want.headers["Authorization"].rsplit("=", 1)[1]
    if token:
        assert h["X-Amz-Security-Token"] == want.headers["X-Amz-Security-Token"] == token
    else:
        assert "X-Amz-Security-Token" not in h


def test_s3_sign_equals_botocore():
    url = "https://bucket.s3.amazonaws.com/dir/key%20with%20space/../x.json"
    body = b"x" * 1024
    want = _boto(S3SigV4Auth, "PUT", url, [("Content-Type", "application/json")], body, TOKEN,
                 service="s3", region="us-east-1")
    s = tp.Signer(tp.Credentials(AKID, SECRET, TOKEN), "us-east-1", "s3", s3=True)
    got = dict(s.sign("PUT", url, {"Content-Type": "application/json"}, body,
                      time=datetime.datetime(2025, 10, 22, 12, 58, 35, 999000)).headers)
    assert got["Authorization"] == want.headers["Authorization"]
    assert got["x-amz-content-sha256"] == want.headers["X-Amz-Content-SHA256"]
    unsigned = dict(s.sign("PUT", url, None, body, time=WHEN_MS, unsigned_payload=True).headers)
    assert unsigned["x-amz-content-sha256"] == "UNSIGNED-PAYLOAD"
    ph = dict(s.sign("PUT", url, None, body, time=WHEN_MS, payload_hash="UNSIGNED-PAYLOAD").headers)
    assert ph["Authorization"] == unsigned["Authorization"]
    assert "x-amz-content-sha256:UNSIGNED-PAYLOAD" in s.canonical_request


@pytest.mark.parametrize("auth_cls,s3,url", [
    (SigV4QueryAuth, False, "https://kinesis.us-east-1.amazonaws.com/?Action=ListStreams&b=2"),
    (S3SigV4QueryAuth, True, "https://bucket.s3.amazonaws.com/a/b%20c.json?versionId=3"),
])
@pytest.mark.parametrize("token", [None, TOKEN])
def test_presign_equals_botocore(auth_cls, s3, url, token):
    service = "s3" if s3 else "kinesis"
    want = _boto(auth_cls, "GET", url, [], b"", token, service=service, region="us-east-1",
                 expires=900)
    s = tp.Signer(tp.Credentials(AKID, SECRET, token), "us-east-1", service, s3=s3)
    got = s.presign("GET", url, expires=900, time=WHEN_MS)
    g, w = urlsplit(got), urlsplit(want.url)
    assert (g.scheme, g.netloc, g.path) == (w.scheme, w.netloc, w.path)
    assert sorted(parse_qsl(g.query, keep_blank_values=True)) == \
        sorted(parse_qsl(w.query, keep_blank_values=True))
    assert got.startswith(url.split("?")[0] + "?" + url.split("?")[1] + "&X-Amz-Algorithm=")


def test_debug_views_and_host_override():
    s = tp.Signer(tp.Credentials(AKID, SECRET), "us-east-1", "service")
    assert s.canonical_request == "" and s.string_to_sign == ""
    s.sign("GET", "https://example.amazonaws.com/?Param2=value2&Param1=value1",
           [("Host", "other.example")], time=datetime.datetime(2015, 8, 30, 12, 36))
    assert s.canonical_request.splitlines()[:4] == ["GET", "/", "Param1=value1&Param2=value2",
                                                    "host:other.example"]
    assert s.string_to_sign.startswith("AWS4-HMAC-SHA256\n20150830T123600Z\n"
                                       "20150830/us-east-1/service/aws4_request\n")
    assert SECRET not in s.canonical_request + s.string_to_sign


def test_aws_suite_get_vanilla():
    """The published AWS test suite's get-vanilla case."""
    s = tp.Signer(tp.Credentials(AKID, SECRET), "us-east-1", "service")
    got = s.sign("GET", "https://example.amazonaws.com/", {"Host": "example.amazonaws.com"},
                 time=datetime.datetime(2015, 8, 30, 12, 36, tzinfo=datetime.timezone.utc))
    assert got.signature == "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"


@pytest.mark.parametrize("call,exc,field", [
    (lambda s: s.sign("GET", "https://h/", [("Bad Name", "v")], time=WHEN_MS),
     tp.InvalidArgumentError, None),
    (lambda s: s.sign("GET", "https://h/", [("X-Amz-Date", "v")], time=WHEN_MS),
     tp.InvalidArgumentError, None),
    (lambda s: s.sign("GET", "https://h/", [("X", "a\nb")], time=WHEN_MS),
     tp.InvalidArgumentError, None),
    (lambda s: s.sign("GET", "https://h/", time=-10 ** 15), tp.RangeError, None),
    (lambda s: s.sign("GET", "/relative"), ValueError, None),
    (lambda s: s.sign("GET", "https:///path"), ValueError, None),
    (lambda s: s.sign("GET", "https://h/", time=1.5), TypeError, None),
    (lambda s: s.sign("GET", "https://h/", [(1, "v")]), TypeError, None),
    (lambda s: s.sign("GET", "https://h/", body=5), TypeError, None),
    (lambda s: s.presign("GET", "https://h/", expires=0), ValueError, None),
    (lambda s: s.presign("GET", "https://h/", expires=604801), ValueError, None),
    (lambda s: s.presign("GET", "https://h/", expires=1.0), TypeError, None),
    (lambda s: s.presign("GET", "https://h/a b", time=WHEN_MS), tp.InvalidArgumentError, "path"),
    (lambda s: s.presign("GET", "https://h/?X-Amz-Signature=1", time=WHEN_MS),
     tp.InvalidArgumentError, None),
])
def test_sign_errors(call, exc, field):
    s = tp.Signer(tp.Credentials(AKID, SECRET), "us-east-1", "kinesis")
    with pytest.raises(exc) as ei:
        call(s)
    if field:
        assert ei.value.field == field
    if isinstance(ei.value, tp.TradepipeError):
        assert SECRET not in str(ei.value)


def test_bad_credentials_and_construction():
    s = tp.Signer(tp.Credentials("", SECRET), "us-east-1", "kinesis")
    with pytest.raises(tp.CredentialsError) as ei:
        s.sign("GET", "https://h/", time=WHEN_MS)
    assert SECRET not in str(ei.value)
    with pytest.raises(tp.InvalidArgumentError):
        tp.Signer(tp.Credentials(AKID, SECRET), "", "kinesis").sign("GET", "https://h/",
                                                                     time=WHEN_MS)
    with pytest.raises(TypeError):
        tp.Signer(("a", "b"), "us-east-1", "kinesis")
    with pytest.raises(TypeError):
        tp.Credentials(AKID, None)
    with pytest.raises(TypeError):
        tp.Credentials(AKID, SECRET, 5)


def test_secret_never_shown():
    c = tp.Credentials(AKID, SECRET, TOKEN, expiration_ms=5)
    s = tp.Signer(c, "us-east-1", "kinesis")
    for text in (repr(c), str(c), repr(s), str(s)):
        assert SECRET not in text and TOKEN not in text and AKID in text
    assert c.secret_access_key == SECRET and c.session_token == TOKEN
    import pickle
    with pytest.raises(TypeError):
        pickle.dumps(c)


def test_closed_signer_and_default_time():
    s = tp.Signer(tp.Credentials(AKID, SECRET), "us-east-1", "kinesis")
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d")
    assert s.sign("GET", "https://h/").amz_date.startswith(now[:6])
    s.close()
    s.close()
    for call in (lambda: s.sign("GET", "https://h/"), lambda: s.presign("GET", "https://h/"),
                 lambda: s.canonical_request):
        with pytest.raises(ValueError):
            call()


def test_reused_shapes_sign_what_is_passed_each_time():
    """The signer reuses the packed request when method, URL, headers and
    options repeat: every call must still sign exactly what it is given
    (bodies of any size, headers changed in place, URL, options)."""
    creds = tp.Credentials(AKID, SECRET, TOKEN)
    s = tp.Signer(creds, "us-east-1", "kinesis")
    headers = {"Content-Type": "application/x-amz-json-1.1"}
    url = "https://kinesis.us-east-1.amazonaws.com/"
    cases = []
    for body in (b"", b"a", b"b" * 1024, b"c" * 100000, b"d" * 10):
        cases.append(("POST", url, dict(headers), body, {}))
    headers["X-Amz-Target"] = "Kinesis_20131202.PutRecord"  # changed in place
    cases.append(("POST", url, headers, b"e", {}))
    cases.append(("POST", url + "x?y=1", headers, b"e", {}))
    cases.append(("PUT", url, headers, b"e", {}))
    cases.append(("PUT", url, headers, b"e", {"payload_hash": "UNSIGNED-PAYLOAD"}))
    cases.append(("PUT", url, list(headers.items()), b"e", {"content_sha256": True}))
    for method, u, h, body, kw in cases:
        got = s.sign(method, u, h, body, time=WHEN_MS, **kw)
        fresh = tp.Signer(creds, "us-east-1", "kinesis").sign(method, u, dict(h), body,
                                                               time=WHEN_MS, **kw)
        assert got == fresh
        if not kw:
            want = _boto(SigV4Auth, method, u, dict(h).items(), body, TOKEN, service="kinesis",
                         region="us-east-1")
            assert dict(got.headers)["Authorization"] == want.headers["Authorization"]
    headers["X-Amz-Target"] = "Kinesis_20131202.PutRecords"
    a = s.sign("POST", url, headers, b"e", time=WHEN_MS)
    headers["X-Amz-Target"] = "Kinesis_20131202.PutRecord"
    b = s.sign("POST", url, headers, b"e", time=WHEN_MS)
    assert a.signature != b.signature


def test_mutable_header_values_are_never_taken_from_memory():
    s = tp.Signer(tp.Credentials(AKID, SECRET), "us-east-1", "kinesis")
    url = "https://kinesis.us-east-1.amazonaws.com/"
    value = bytearray(b"one")
    pairs = [["X-Thing", value]]
    a = s.sign("POST", url, pairs, b"", time=WHEN_MS)
    value[:] = b"two"
    pairs[0][0] = "X-Other"
    b = s.sign("POST", url, pairs, b"", time=WHEN_MS)
    fresh = tp.Signer(tp.Credentials(AKID, SECRET), "us-east-1", "kinesis").sign(
        "POST", url, [("X-Other", b"two")], b"", time=WHEN_MS)
    assert a.signature != b.signature and b == fresh
