#!/usr/bin/python3
"""The fault proxy (tests/chaos/proxy.py) answers as the services do, and
its faults are reproducible from the seed: each kind forced on a stand-in
upstream on loopback, the error answers parsed by botocore's own protocol
parsers (JSON for Kinesis and DynamoDB, REST-XML for S3)."""
import http.client
import http.server
import json
import os
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import proxy  # noqa: E402

from botocore.parsers import create_parser  # noqa: E402

SEEN = []


class Upstream(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        SEEN.append(body)
        if self.headers.get("X-Amz-Target", "").endswith(".PutRecords"):
            n = len(json.loads(body)["Records"])
            out = json.dumps({"FailedRecordCount": 0, "Records": [
                {"SequenceNumber": str(i), "ShardId": "shardId-000000000000"}
                for i in range(n)]}).encode()
        else:
            out = b'{"ok": true, "pad": "' + b"x" * 200 + b'"}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_PUT = do_GET = do_POST


class ProxyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.up = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
        threading.Thread(target=cls.up.serve_forever, daemon=True).start()
        cls.dir = tempfile.mkdtemp()

    @classmethod
    def tearDownClass(cls):
        cls.up.shutdown()
        cls.up.server_close()

    def proxied(self, service, kind):
        plan = proxy.FaultPlan(1.0, 1, [kind])
        srv = proxy.serve(self.dir, ["%s=%d" % (service, self.up.server_address[1])],
                          proxy.Handler, plan, "t")[0]
        self.addCleanup(srv.server_close)
        self.addCleanup(srv.shutdown)
        return srv.server_address[1]

    def call(self, port, service, target="Kinesis_20131202.GetRecords", body=b"{}"):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        headers = {"X-Amz-Target": target} if service != "s3" else {}
        c.request("POST" if service != "s3" else "PUT",
                  "/" if service != "s3" else "/bucket/key", body=body, headers=headers)
        try:
            r = c.getresponse()
            return r.status, dict(r.getheaders()), r.read()
        finally:
            c.close()

    def error_code(self, service, status, headers, body):
        parser = create_parser("rest-xml" if service == "s3" else "json")
        return parser.parse({"status_code": status, "headers": headers, "body": body},
                            None)["Error"]["Code"]

    def test_error_answers(self):
        cases = [("kinesis", "500", 500, "InternalFailure"),
                 ("kinesis", "503", 503, "ServiceUnavailable"),
                 ("kinesis", "throttle", 400, "ProvisionedThroughputExceededException"),
                 ("dynamodb", "500", 500, "InternalServerError"),
                 ("dynamodb", "503", 503, "ServiceUnavailable"),
                 ("dynamodb", "throttle", 400, "ProvisionedThroughputExceededException"),
                 ("s3", "500", 500, "InternalError"),
                 ("s3", "503", 503, "ServiceUnavailable"),
                 ("s3", "throttle", 503, "SlowDown")]
        for service, kind, status, code in cases:
            with self.subTest(service=service, kind=kind):
                port = self.proxied(service, kind)
                target = "DynamoDB_20120810.PutItem" if service == "dynamodb" else \
                    "Kinesis_20131202.GetRecords"
                n = len(SEEN)
                st, h, body = self.call(port, service, target)
                self.assertEqual(st, status)
                self.assertEqual(self.error_code(service, st, h, body), code)
                if service != "s3":
                    self.assertEqual(h["x-amzn-ErrorType"].rstrip(":"), code)
                self.assertEqual(len(SEEN), n, "an error answer is not forwarded")

    def test_control_plane_throttle(self):
        port = self.proxied("kinesis", "throttle")
        st, h, body = self.call(port, "kinesis", "Kinesis_20131202.ListShards")
        self.assertEqual((st, self.error_code("kinesis", st, h, body)),
                         (400, "LimitExceededException"))

    def test_network_faults(self):
        for kind, applied in (("reset", 0), ("lost", 1), ("truncate", 1)):
            with self.subTest(kind=kind):
                port = self.proxied("dynamodb", kind)
                n = len(SEEN)
                with self.assertRaises((ConnectionError, http.client.HTTPException)):
                    self.call(port, "dynamodb", "DynamoDB_20120810.PutItem")
                time.sleep(0.1)
                self.assertEqual(len(SEEN) - n, applied)

    def test_delay(self):
        port = self.proxied("s3", "delay")
        t = time.time()
        st, _, _ = self.call(port, "s3")
        self.assertEqual(st, 200)
        self.assertGreaterEqual(time.time() - t, 0.05)

    def test_putrecords_throttle(self):
        port = self.proxied("kinesis", "throttle")
        recs = [{"Data": "eA==", "PartitionKey": "k%d" % i} for i in range(40)]
        n = len(SEEN)
        st, _, body = self.call(port, "kinesis", "Kinesis_20131202.PutRecords",
                                json.dumps({"StreamName": "s", "Records": recs}).encode())
        out = json.loads(body)
        failed = [r for r in out["Records"] if "ErrorCode" in r]
        self.assertEqual(st, 200)
        self.assertEqual(len(out["Records"]), 40)
        self.assertEqual(out["FailedRecordCount"], len(failed))
        self.assertTrue(0 < len(failed) < 40)
        self.assertEqual({r["ErrorCode"] for r in failed},
                         {"ProvisionedThroughputExceededException"})
        self.assertEqual(len(json.loads(SEEN[n])["Records"]), 40 - len(failed))

    def test_reproducible(self):
        def draws(seed):
            plan = proxy.FaultPlan(0.3, seed)
            out = []
            for i in range(300):
                d = plan.draw("kinesis", "PutRecords", "POST", "/", b"%d" % (i % 50))
                out.append(d and (d[0], d[1].random()))
            return out
        a = draws(7)
        self.assertEqual(a, draws(7))
        self.assertNotEqual(a, draws(8))
        faults = [d for d in a if d]
        self.assertTrue(60 < len(faults) < 120, len(faults))
        self.assertEqual({d[0] for d in faults}, set(proxy.KINDS))


if __name__ == "__main__":
    unittest.main()
