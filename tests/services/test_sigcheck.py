#!/usr/bin/python3
"""The signature checker (tests/services/sigcheck.py) fails what it should:
requests signed by botocore pass; the same requests changed after signing
(path squashed, query re-ordered into other bytes, a header, the body, the
date, the service, an unknown key, no signature) do not. Header form and
query form (presigned URLs)."""
import hashlib
import os
import sys
import unittest
from urllib.parse import urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sigcheck  # noqa: E402
from emulator_env import CREDENTIALS  # noqa: E402

from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402

CREDS = Credentials(CREDENTIALS["AWS_ACCESS_KEY_ID"], CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
HOST = "127.0.0.1:4569"


def signed(service, method, target, body=b"", headers=None, query_auth=False):
    """(target, headers as sent) of a request botocore signed."""
    h = {"Host": HOST}
    h.update(headers or {})
    if service == "s3" and not query_auth:
        h["X-Amz-Content-SHA256"] = hashlib.sha256(body).hexdigest()
    req = AWSRequest(method=method, url="http://" + HOST + target, headers=h, data=body)
    if query_auth:
        S3SigV4QueryAuth(CREDS, service, "us-east-1", expires=300).add_auth(req)
    elif service == "s3":
        S3SigV4Auth(CREDS, service, "us-east-1").add_auth(req)
    else:
        SigV4Auth(CREDS, service, "us-east-1").add_auth(req)
    parts = urlsplit(req.url)
    return parts.path + ("?" + parts.query if parts.query else ""), list(req.headers.items())


def check(service, method, target, headers, body=b""):
    return sigcheck.verify(service, method, target, headers, body)[0]


class SigcheckTest(unittest.TestCase):
    def test_valid_requests_pass(self):
        for service, method, target, body in [
            ("s3", "PUT", "/bkt/a/../b.json", b"hello"),
            ("s3", "GET", "/bkt?encoding-type=url&list-type=2&prefix=raw%20data%2F", b""),
            ("s3", "PUT", "/bkt/sp%20ace/%C3%A9", b""),
            ("kinesis", "POST", "/", b'{"StreamName":"s"}'),
            ("dynamodb", "POST", "/", b'{"TableName":"t"}'),
        ]:
            t, h = signed(service, method, target, body)
            self.assertIsNone(check(service, method, t, h, body), (service, target))

    def test_path_changed_after_signing(self):
        t, h = signed("s3", "PUT", "/bkt/a/../b.json", b"x")
        self.assertIn("signature differs", check("s3", "PUT", "/bkt/b.json", h, b"x"))
        t, h = signed("kinesis", "POST", "/a%20b", b"{}")
        self.assertIn("signature differs", check("kinesis", "POST", "/a b", h, b"{}"))

    def test_query_bytes_changed(self):
        t, h = signed("s3", "GET", "/bkt?list-type=2&prefix=a%20b")
        self.assertIsNotNone(check("s3", "GET", "/bkt?list-type=2&prefix=a+b", h))
        self.assertIsNotNone(check("s3", "GET", "/bkt?list-type=2&prefix=a%20b&x=1", h))

    def test_header_body_date_service_key(self):
        t, h = signed("dynamodb", "POST", "/", b'{"a":1}',
                      {"X-Amz-Target": "DynamoDB_20120810.GetItem"})
        self.assertIn("signature differs", check("dynamodb", "POST", t, h, b'{"a":2}'))
        bad = [(k, "DynamoDB_20120810.PutItem" if k.lower() == "x-amz-target" else v)
               for k, v in h]
        self.assertIn("signature differs", check("dynamodb", "POST", t, bad))
        self.assertIn("service", check("kinesis", "POST", t, h, b'{"a":1}'))
        missing = [(k, v) for k, v in h if k.lower() != "x-amz-target"]
        self.assertIn("was not sent", check("dynamodb", "POST", t, missing, b'{"a":1}'))
        t, h = signed("s3", "PUT", "/bkt/k", b"body")
        self.assertIn("SHA-256", check("s3", "PUT", t, h, b"other"))
        wrong_key = [(k, v.replace("S3RVER/", "AKIDX/") if k == "Authorization" else v)
                     for k, v in h]
        self.assertIn("unknown access key", check("s3", "PUT", t, wrong_key, b"body"))
        self.assertIn("unsigned", check("s3", "GET", "/bkt/k", [("Host", HOST)]))

    def test_presigned_urls(self):
        t, h = signed("s3", "GET", "/bkt/k%20ey.json?a%20b=%C3%A9", query_auth=True)
        self.assertIsNone(check("s3", "GET", t, h))
        # the raw form of the same query is not what was signed
        raw = t.replace("a%20b=%C3%A9", "a b=\u00e9")
        self.assertIsNotNone(check("s3", "GET", raw, h))
        tampered = t.replace("X-Amz-Expires=300", "X-Amz-Expires=301")
        self.assertIn("signature differs", check("s3", "GET", tampered, h))


if __name__ == "__main__":
    unittest.main()
