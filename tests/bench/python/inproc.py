#!/usr/bin/env python3
"""One measurement of tests/bench/python/run, in a fresh interpreter; prints
one JSON object. Modes:
  baseline FILE   the original utility's own functions: parse_trading_data
                  (read, split on '}{', json.loads per record) then
                  analyze_data (its summary, printed to /dev/null)
  summary FILE    tradepipe.summarize(FILE)
  loads FILE      the utility's read, split and json.loads per record, nothing kept
  iterate FILE    for t in tradepipe.read_records(FILE): Trades, Decimal prices, nothing kept
  iterate_list FILE  list(tradepipe.read_records(FILE)): every Trade kept
  sign SECONDS    botocore SigV4Auth.add_auth vs tradepipe Signer.sign, interleaved
"""
import contextlib
import importlib.util
import json
import os
import sys
import time

mode, arg = sys.argv[1], sys.argv[2]
out = {}

if mode == "baseline":
    spec = importlib.util.spec_from_file_location("baseline", os.environ["TP_BASELINE"])
    base = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(base)
    t0 = time.perf_counter()
    records = base.parse_trading_data(arg)
    t1 = time.perf_counter()
    with open(os.devnull, "w") as null, contextlib.redirect_stdout(null):
        base.analyze_data(records)
    t2 = time.perf_counter()
    out = {"parse_s": t1 - t0, "analyze_s": t2 - t1, "records": len(records)}
elif mode == "loads":
    # The utility's json.loads per record as a loop that keeps nothing (the
    # same read, split and repair of each part; no list), to set beside a
    # streaming iteration that keeps nothing either.
    import json as _json
    t0 = time.perf_counter()
    with open(arg, "r") as f:
        content = f.read().strip()
    parts = content.split("}{")
    last = len(parts) - 1
    n = 0
    volume = 0
    for i, part in enumerate(parts):
        if i == 0:
            part += "}"
        elif i == last:
            part = "{" + part
        else:
            part = "{" + part + "}"
        try:
            rec = _json.loads(part)
        except _json.JSONDecodeError:
            continue
        n += 1
        volume += rec["volume"]
    out = {"loads_s": time.perf_counter() - t0, "records": n, "volume": volume}
elif mode == "summary":
    import tradepipe
    t0 = time.perf_counter()
    s = tradepipe.summarize(arg)
    out = {"summary_s": time.perf_counter() - t0, "records": s["records"]}
elif mode == "iterate":
    # Streaming: every record becomes a Trade (Decimal price), used, dropped.
    import tradepipe
    t0 = time.perf_counter()
    n = 0
    volume = 0
    for t in tradepipe.read_records(arg):
        n += 1
        volume += t.volume
    out = {"iterate_s": time.perf_counter() - t0, "records": n, "volume": volume}
elif mode == "iterate_list":
    # Every record kept as a Trade in a list, as the utility keeps its dicts.
    import tradepipe
    t0 = time.perf_counter()
    records = list(tradepipe.read_records(arg))
    out = {"list_s": time.perf_counter() - t0, "records": len(records)}
elif mode == "sign":
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    import tradepipe

    seconds = float(arg)
    akid, secret, token = ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                           "FwoGZXIvYXdzEBYaDExampleSessionToken")
    url = "https://kinesis.us-east-1.amazonaws.com/"
    body = b'{"StreamName":"trades","PartitionKey":"AAPL","Data":"' + b"A" * 969 + b'"}'
    assert len(body) == 1024
    headers = {"Content-Type": "application/x-amz-json-1.1",
               "X-Amz-Target": "Kinesis_20131202.PutRecord", "Content-Length": "1024"}
    auth = SigV4Auth(Credentials(akid, secret, token), "kinesis", "us-east-1")
    req = AWSRequest(method="POST", url=url, data=body, headers=headers)
    signer = tradepipe.Signer(tradepipe.Credentials(akid, secret, token), "us-east-1", "kinesis")
    paths = [url + "p%d" % i for i in range(4096)]

    def boto_same():
        auth.add_auth(req)

    def boto_new():
        auth.add_auth(AWSRequest(method="POST", url=url, data=body, headers=headers))

    def tp_same():
        signer.sign("POST", url, headers, body)

    state = [0]

    def tp_new_url():  # a request shape the signer has not packed before each call
        state[0] += 1
        signer.sign("POST", paths[state[0] & 4095], headers, body)

    def per_call(fn, budget):
        n, t0 = 0, time.perf_counter()
        while True:
            for _ in range(200):
                fn()
            n += 200
            t = time.perf_counter() - t0
            if t >= budget:
                return t / n * 1e6

    fns = {"botocore_same_us": boto_same, "botocore_new_us": boto_new, "tp_sign_us": tp_same,
           "tp_sign_new_url_us": tp_new_url}
    best = {k: float("inf") for k in fns}
    for _ in range(5):  # interleaved rounds, best of each
        for k, fn in fns.items():
            best[k] = min(best[k], per_call(fn, seconds / 5 / len(fns)))
    out = best
print(json.dumps(out))
