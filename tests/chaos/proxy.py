#!/usr/bin/python3
"""A fault-injecting loopback proxy between our clients and the emulators
(kinesalite, dynalite, s3rver), for the chaos tests; also the forwarding
proxy under tests/services/sigcheck.py (which adds its signature check).

    proxy.py [--faults RATE] [--seed N] [--kinds LIST] [--ops REGEX]
             STATE_DIR SERVICE=UPSTREAM_PORT ...

One listener per SERVICE (kinesis, dynamodb, s3) on 127.0.0.1, its port in
STATE_DIR/chaos-SERVICE.port; each request is forwarded to
127.0.0.1:UPSTREAM_PORT and the answer relayed, except that a request is
given a fault with probability RATE (default 0: none). The faults, each an
answer the real service gives or a network failure it suffers:

  500       Kinesis 500 InternalFailure, DynamoDB 500 InternalServerError
            (JSON {"__type","message"}, x-amzn-ErrorType), S3 500
            InternalError (XML); not forwarded
  503       Kinesis/DynamoDB 503 ServiceUnavailable, S3 503
            ServiceUnavailable; not forwarded
  throttle  Kinesis PutRecords: some entries taken out before forwarding and
            answered ProvisionedThroughputExceededException in their places;
            other Kinesis data calls 400 ProvisionedThroughputExceededException,
            control-plane calls 400 LimitExceededException; DynamoDB item
            calls 400 ProvisionedThroughputExceededException, table calls 400
            ThrottlingException; S3 503 SlowDown
  reset     the connection reset (RST) before forwarding: nothing applied
  lost      forwarded and applied, then the connection reset instead of the
            answer: a client that retries applies it twice
  delay     forwarded after 50 to 600 ms
  truncate  forwarded and applied, then the answer's headers with a
            Content-Length larger than the body sent, part of the body, and
            the connection closed

--kinds picks some (comma-separated; default all), --ops limits faults to
operations whose name matches REGEX (Kinesis and DynamoDB: the X-Amz-Target
operation, e.g. PutRecords; S3: PutObject, GetObject, HeadObject,
DeleteObject, ListObjects, or the Bucket forms).

Reproducible from the seed: whether a request gets a fault, and which, is
drawn from a generator seeded with (seed, the request's method, path and
body, how many times that same request was seen before), so the same seed
and the same requests give the same faults whatever the threads'
interleaving; a retried request draws again.

GET /__chaos/report on any listener answers the counts as JSON:
{"requests": N, "faults": {KIND: N}, "by_op": {SERVICE.OP: {"requests",
"faults"}}}. Stopped by SIGTERM (by its PID).
"""
import hashlib
import http.client
import http.server
import json
import os
import random
import re
import signal
import socket
import struct
import sys
import threading
import time
import uuid

HOP = {"connection", "keep-alive", "transfer-encoding", "expect", "proxy-connection", "te",
       "trailer", "upgrade"}
KINDS = ("500", "503", "throttle", "reset", "lost", "delay", "truncate")
JSON_TYPE = "application/x-amz-json-1.1"
DDB_PREFIX = "com.amazonaws.dynamodb.v20120810#"
# Kinesis calls that move data (throttled per shard: ProvisionedThroughput...);
# the rest are control-plane calls, throttled with LimitExceededException.
KINESIS_DATA = {"PutRecords", "PutRecord", "GetRecords", "SubscribeToShard"}
DDB_TABLE_OPS = {"CreateTable", "DeleteTable", "DescribeTable", "UpdateTable", "ListTables",
                 "DescribeLimits", "DescribeTimeToLive", "UpdateTimeToLive"}


def operation(service, method, path, headers):
    """The AWS operation a request calls, as named in the API reference."""
    if service != "s3":
        target = headers.get("X-Amz-Target", "")
        return target.rpartition(".")[2] or method
    p = path.split("?", 1)
    key = "/" in p[0].lstrip("/")
    query = p[1] if len(p) > 1 else ""
    if not key:
        if method == "GET":
            return "ListObjects"
        return {"PUT": "CreateBucket", "HEAD": "HeadBucket", "DELETE": "DeleteBucket"}.get(
            method, method + "Bucket")
    if "uploadId" in query or "uploads" in query:
        return "MultipartUpload"
    return {"GET": "GetObject", "PUT": "PutObject", "HEAD": "HeadObject",
            "DELETE": "DeleteObject", "POST": "PostObject"}.get(method, method + "Object")


def json_error(status, code, message):
    """An AWS JSON protocol error answer: (status, headers, body)."""
    body = json.dumps({"__type": code, "message": message}).encode()
    return status, [("Content-Type", JSON_TYPE), ("x-amzn-RequestId", str(uuid.uuid4())),
                    ("x-amzn-ErrorType", code.rpartition("#")[2] + ":")], body


def s3_error(status, code, message, head):
    """An S3 REST error answer (no body for HEAD, as S3 does)."""
    rid = uuid.uuid4().hex[:16].upper()
    body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code><Message>%s"
            "</Message><RequestId>%s</RequestId><HostId>chaos</HostId></Error>"
            % (code, message, rid)).encode()
    return status, [("Content-Type", "application/xml"), ("x-amz-request-id", rid),
                    ("x-amz-id-2", "chaos")], b"" if head else body


def error_answer(kind, service, op, head):
    """What the service answers for a fault of `kind` (500, 503, throttle)."""
    if service == "s3":
        if kind == "500":
            return s3_error(500, "InternalError", "We encountered an internal error. Please "
                            "try again.", head)
        if kind == "503":
            return s3_error(503, "ServiceUnavailable", "Reduce your request rate.", head)
        return s3_error(503, "SlowDown", "Please reduce your request rate.", head)
    if service == "dynamodb":
        if kind == "500":
            return json_error(500, DDB_PREFIX + "InternalServerError", "Internal server error")
        if kind == "503":
            return json_error(503, DDB_PREFIX + "ServiceUnavailable",
                              "The service is currently unavailable or busy.")
        if op in DDB_TABLE_OPS:
            return json_error(400, DDB_PREFIX + "ThrottlingException", "Rate exceeded")
        return json_error(400, DDB_PREFIX + "ProvisionedThroughputExceededException",
                          "The level of configured provisioned throughput for the table was "
                          "exceeded. Consider increasing your provisioning level with the "
                          "UpdateTable API.")
    if kind == "500":
        return json_error(500, "InternalFailure", "Internal service failure.")
    if kind == "503":
        return json_error(503, "ServiceUnavailable", "Service is unavailable.")
    if op in KINESIS_DATA:
        return json_error(400, "ProvisionedThroughputExceededException",
                          "Rate exceeded for shard in stream under account 000000000000.")
    return json_error(400, "LimitExceededException", "Rate exceeded for %s." % op)


class FaultPlan:
    """Which requests get which fault: reproducible from the seed."""

    def __init__(self, rate=0.0, seed=0, kinds=KINDS, ops=None):
        for k in kinds:
            if k not in KINDS:
                raise ValueError("unknown fault kind %r (known: %s)" % (k, ", ".join(KINDS)))
        self.rate, self.seed, self.kinds = float(rate), int(seed), list(kinds)
        self.ops = re.compile(ops) if ops else None
        self.lock = threading.Lock()
        self.seen = {}
        self.counts = {"requests": 0, "faults": {}, "by_op": {}}

    def draw(self, service, op, method, path, body):
        """None, or (kind, a random.Random for the fault's details)."""
        with self.lock:
            self.counts["requests"] += 1
            per = self.counts["by_op"].setdefault(service + "." + op,
                                                  {"requests": 0, "faults": 0})
            per["requests"] += 1
        if self.rate <= 0 or (self.ops and not self.ops.search(op)):
            return None
        key = hashlib.sha256(("%s %s %s\n" % (service, method, path)).encode() + body).digest()
        with self.lock:
            n = self.seen.get(key, 0)
            self.seen[key] = n + 1
        rnd = random.Random(hashlib.sha256(b"%d:%d:" % (self.seed, n) + key).digest())
        if rnd.random() >= self.rate:
            return None
        kinds = self.kinds
        if method == "HEAD":  # no body to truncate
            kinds = [k for k in kinds if k != "truncate"] or ["lost"]
        kind = rnd.choice(kinds)
        with self.lock:
            self.counts["faults"][kind] = self.counts["faults"].get(kind, 0) + 1
            per["faults"] += 1
        return kind, rnd

    def report(self):
        with self.lock:
            return json.loads(json.dumps(self.counts))


class Handler(http.server.BaseHTTPRequestHandler):
    """Forwards each request to server.upstream, with server.plan's faults.
    Subclasses may answer a request themselves in check()."""
    protocol_version = "HTTP/1.1"
    server_version = "chaos"
    report_path = "/__chaos/report"

    def log_message(self, fmt, *args):
        pass

    def _body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _reply(self, status, headers, body, head=False):
        self.send_response(status)
        for k, v in headers:
            if k.lower() not in HOP and k.lower() != "content-length":
                self.send_header(k, v)
        length = dict((k.lower(), v) for k, v in headers).get("content-length")
        self.send_header("Content-Length", length if head and length else str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _rst(self):
        """Reset the connection (SO_LINGER 0): no answer at all."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    def _truncated(self, status, headers, body, rnd):
        """Headers announcing more than is sent, part of the body, close."""
        self.send_response(status)
        for k, v in headers:
            if k.lower() not in HOP and k.lower() != "content-length":
                self.send_header(k, v)
        sent = body[:rnd.randrange(len(body))] if body else b""
        self.send_header("Content-Length", str(max(len(body), len(sent) + 1)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(sent)
        self.wfile.flush()
        self.close_connection = True

    def report(self):
        return self.server.plan.report()

    def check(self, body):
        """An answer (status, headers, body) to give instead of forwarding."""
        return None

    def _handle(self):
        if self.path == self.report_path:
            return self._reply(200, [("Content-Type", "application/json")],
                               json.dumps(self.report()).encode())
        body = self._body()
        head = self.command == "HEAD"
        answer = self.check(body)
        if answer is not None:
            return self._reply(*answer, head=head)
        service = self.server.service
        op = operation(service, self.command, self.path, self.headers)
        fault = self.server.plan.draw(service, op, self.command, self.path, body)
        kind, rnd = fault if fault else (None, None)
        if kind in ("500", "503") or (kind == "throttle" and not (
                service == "kinesis" and op == "PutRecords")):
            return self._reply(*error_answer(kind, service, op, head), head=head)
        if kind == "reset":
            return self._rst()
        if kind == "delay":
            time.sleep(rnd.uniform(0.05, 0.6))
        throttled = None
        if kind == "throttle":  # Kinesis PutRecords: some entries throttled
            req = json.loads(body)
            recs = req.get("Records", [])
            throttled = [rnd.random() < 0.5 for _ in recs]
            if all(throttled):
                out = {"FailedRecordCount": len(recs), "Records": [
                    {"ErrorCode": "ProvisionedThroughputExceededException",
                     "ErrorMessage": "Rate exceeded for shard in stream under account "
                                     "000000000000."} for _ in recs]}
                return self._reply(200, [("Content-Type", JSON_TYPE)], json.dumps(out).encode())
            req["Records"] = [r for r, t in zip(recs, throttled) if not t]
            body = json.dumps(req).encode()
        status, headers, data = self.forward(body)
        if kind == "lost":
            return self._rst()
        if kind == "truncate":
            return self._truncated(status, headers, data, rnd)
        if throttled is not None and status == 200:
            got = json.loads(data)
            it = iter(got.get("Records", []))
            merged = [{"ErrorCode": "ProvisionedThroughputExceededException",
                       "ErrorMessage": "Rate exceeded for shard in stream under account "
                                       "000000000000."} if t else next(it) for t in throttled]
            failed = sum(1 for r in merged if "ErrorCode" in r)
            data = json.dumps({"FailedRecordCount": failed, "Records": merged}).encode()
            headers = [(k, v) for k, v in headers if k.lower() != "x-amz-crc32"]
        self._reply(status, headers, data, head=head)

    def forward(self, body):
        """The upstream's answer to this request with `body`."""
        conn = http.client.HTTPConnection("127.0.0.1", self.server.upstream, timeout=120)
        try:
            conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for k, v in self.headers.items():
                if k.lower() not in HOP and k.lower() != "content-length":
                    conn.putheader(k, v)
            if body or self.command in ("PUT", "POST"):
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body if body else None)
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, resp.getheaders(), data
        finally:
            conn.close()

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # clients killed mid-request are what the chaos tests do


def serve(state, specs, handler, plan, prefix, **attrs):
    """One listener per SERVICE=PORT in specs; ports in STATE/PREFIX-SERVICE.port."""
    servers = []
    for spec in specs:
        service, _, port = spec.partition("=")
        if service not in ("kinesis", "dynamodb", "s3") or not port.isdigit():
            raise ValueError("%r: give SERVICE=PORT, SERVICE one of kinesis, dynamodb, s3"
                             % spec)
        srv = Server(("127.0.0.1", 0), handler)
        srv.service, srv.upstream, srv.plan = service, int(port), plan
        for k, v in attrs.items():
            setattr(srv, k, v)
        servers.append(srv)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        tmp = os.path.join(state, "%s-%s.port.tmp" % (prefix, service))
        with open(tmp, "w") as f:
            f.write(str(srv.server_address[1]))
        os.replace(tmp, os.path.join(state, "%s-%s.port" % (prefix, service)))
    return servers


def parse_fault_options(args):
    """(FaultPlan options, the remaining args) from --faults/--seed/--kinds/--ops."""
    opts = {}
    names = {"--faults": "rate", "--seed": "seed", "--kinds": "kinds", "--ops": "ops"}
    while args and args[0] in names:
        if len(args) < 2:
            raise ValueError("%s needs a value" % args[0])
        v = args[1]
        if args[0] == "--kinds":
            v = [k for k in v.split(",") if k]
        opts[names[args[0]]] = v
        args = args[2:]
    return opts, args


def wait_forever():
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass


def main():
    try:
        opts, args = parse_fault_options(sys.argv[1:])
        plan = FaultPlan(**opts)
        if len(args) < 2 or not os.path.isdir(args[0]):
            raise ValueError("give STATE_DIR (an existing directory) and SERVICE=PORT ...")
        serve(args[0], args[1:], Handler, plan, "chaos")
    except ValueError as e:
        sys.exit("proxy.py: %s\nusage: proxy.py [--faults RATE] [--seed N] [--kinds LIST] "
                 "[--ops REGEX] STATE_DIR SERVICE=UPSTREAM_PORT ..." % e)
    wait_forever()


if __name__ == "__main__":
    main()
