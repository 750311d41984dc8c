#!/usr/bin/python3
"""tests/bench/consumer/original.py - the original consumer, driven from a Kinesis stream.

    original.py --stream S --table T --bucket B [--expect N] [--idle-polls K]
                [--limit L] [--poll-interval S] [--progress S]

The per-record logic is that of the pipeline this project replaces: the
Lambda handler modules/consumers/consumer_lambda_function.py of the public
repository qays317/test-data-stream (where the original Firehose-file
utility, utils/parse_trading_data.py, comes from too), re-typed here, not
copied, in the same order and with the same calls (boto3: the DynamoDB
resource API for the positions table, the S3 client for trades):
  - json.loads the record's data; price = float(price);
  - price < 100 ("should_buy"): PutItem a position {symbol, position_id
    (uuid4), entry_price, timestamp, action: "BUY"};
  - otherwise ("should_sell"): GetItem the symbol's position; when there is
    one and (price - entry) / entry > 0.05 ("close_position"): PutObject the
    completed trade {symbol, exit_price, timestamp, status: "CLOSED"} to
    completed-trades/SYMBOL/TIMESTAMP.json, then DeleteItem the position.
Every call is serial and signed (boto3 does SigV4), prices are floats
throughout, as in the original.

Where the original cannot run as written, the smallest change that lets it
run, each marked "DEVIATION" below:
  - its table's key is (symbol, position_id), so GetItem/DeleteItem by
    symbol alone fail with ValidationException (GetItem's is swallowed by a
    bare except: it never sells). Here the table's key is `symbol` alone,
    the behaviour its code means: one position per symbol, a buy overwrites;
  - the DynamoDB resource API refuses Python floats (TypeError: "Float types
    are not supported"), so every buy of the original raises. Here the
    float goes over as Decimal(str(price)), the same digits on the wire; it
    is read back as float(...) as the original does;
  - in AWS, Lambda's event source mapping reads the shards and hands the
    handler batches of 10 (LATEST, base64 in the event). Here a plain
    GetShardIterator(TRIM_HORIZON) + GetRecords loop does that, serially,
    shard after shard, a batch of up to --limit records at a time; botocore
    already base64-decodes the data. No Lambda invocation cost is modelled.
The original cannot de-aggregate KPL records (json.loads of an aggregate
fails): give it a stream written with aggregation off.

Stops when --expect records have been processed (all shards together), or
when every shard has returned no records on --idle-polls consecutive polls
(or was closed). Counts HTTP requests per service with botocore's
before-send event (one per attempt: a retried call counts each attempt),
and prints one JSON line on stdout:
  {"ticks":N,"seconds":S,"ticks_per_s":R,"ddb_requests":D,"s3_requests":K,
   "requests_per_10k_ticks":X, ...}
requests_per_10k_ticks counts DynamoDB + S3 requests (the effects), not the
Kinesis reads, which are reported apart ("kinesis_requests"). seconds is the
wall time from the first Kinesis call to the last record processed (the
idle polls at the end are not counted); cpu_us_per_tick is this process's
CPU (user + system) over the same span, per tick: the emulators' CPU is
theirs, not counted. Progress goes to stderr.
Endpoints: AWS_ENDPOINT_URL_KINESIS, _DYNAMODB, _S3 (read here: this
botocore predates its own support for them), else AWS's.
"""
import argparse
import json
import os
import sys
import time
import uuid
from collections import Counter
from decimal import Decimal

import boto3


def main():
    ap = argparse.ArgumentParser(description="the original consumer, as a benchmark")
    ap.add_argument("--stream", required=True)
    ap.add_argument("--table", required=True)
    ap.add_argument("--bucket", required=True)
    ap.add_argument("--expect", type=int, default=0,
                    help="stop after this many records (0: only on idle shards)")
    ap.add_argument("--idle-polls", type=int, default=5,
                    help="a shard is done after this many empty polls in a row (5)")
    ap.add_argument("--limit", type=int, default=10000, help="GetRecords Limit (10000)")
    ap.add_argument("--poll-interval", type=float, default=0.2,
                    help="seconds to wait after a round in which no shard had records (0.2)")
    ap.add_argument("--progress", type=float, default=5.0,
                    help="a progress line on stderr every S seconds (0: none)")
    a = ap.parse_args()

    ep = lambda svc: os.environ.get("AWS_ENDPOINT_URL_" + svc) or None
    kinesis = boto3.client("kinesis", endpoint_url=ep("KINESIS"))
    # As the original: the DynamoDB resource API and the S3 client.
    dynamodb = boto3.resource("dynamodb", endpoint_url=ep("DYNAMODB"))
    s3 = boto3.client("s3", endpoint_url=ep("S3"))
    table = dynamodb.Table(a.table)

    requests = Counter()  # by service
    ops = Counter()       # by service.operation

    def counter(service):
        def on_send(request, event_name, **kw):
            requests[service] += 1
            ops[event_name.split(".", 1)[1]] += 1
        return on_send

    kinesis.meta.events.register("before-send", counter("kinesis"))
    table.meta.client.meta.events.register("before-send", counter("dynamodb"))
    s3.meta.events.register("before-send", counter("s3"))

    stats = Counter()

    # ---- the original handler's logic, per record -------------------------

    def should_buy(price):
        return price < 100  # the original's "placeholder logic"

    def should_sell(symbol, current_price):
        try:
            response = table.get_item(Key={"symbol": symbol})
            if "Item" in response:
                entry_price = float(response["Item"]["entry_price"])
                return (current_price - entry_price) / entry_price > 0.05
        except Exception:  # the original: a bare except
            pass
        return False

    def create_position(symbol, price, timestamp, action):
        position_id = str(uuid.uuid4())
        table.put_item(Item={
            "symbol": symbol,
            "position_id": position_id,
            # DEVIATION: the original passes the float itself, which the
            # resource API refuses (TypeError); the same digits as Decimal.
            "entry_price": Decimal(str(price)),
            "timestamp": timestamp,
            "action": action,
        })

    def close_position(symbol, price, timestamp):
        trade_data = {
            "symbol": symbol,
            "exit_price": price,
            "timestamp": timestamp,
            "status": "CLOSED",
        }
        # The original's key, collision-prone: the symbol and the tick's
        # timestamp, nothing that identifies the trade. Two trades of one
        # symbol closed on ticks with the same timestamp (two producers, a
        # replayed feed, millisecond clocks) overwrite each other.
        s3_key = f"completed-trades/{symbol}/{timestamp}.json"
        s3.put_object(Bucket=a.bucket, Key=s3_key, Body=json.dumps(trade_data))
        # The original's comment: "simplified - should get actual position_id".
        table.delete_item(Key={"symbol": symbol})

    def handle(data):
        payload = json.loads(data.decode("utf-8"))
        symbol = payload["symbol"]
        price = float(payload["price"])
        timestamp = payload["timestamp"]
        if should_buy(price):
            create_position(symbol, price, timestamp, "BUY")
            stats["buys"] += 1
        elif should_sell(symbol, price):
            close_position(symbol, price, timestamp)
            stats["sells"] += 1

    # ---- the event source mapping's part: read every shard ----------------

    t0 = time.monotonic()
    c0 = time.process_time()
    shards = []
    kw = {"StreamName": a.stream}
    while True:
        r = kinesis.list_shards(**kw)
        shards += [s["ShardId"] for s in r["Shards"]]
        if not r.get("NextToken"):
            break
        kw = {"NextToken": r["NextToken"]}
    iters = {s: kinesis.get_shard_iterator(StreamName=a.stream, ShardId=s,
                                           ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
             for s in shards}
    idle = {s: 0 for s in shards}
    per_shard = Counter()
    ticks = 0
    t_last, c_last = t0, c0
    next_progress = t0 + a.progress if a.progress > 0 else None

    def progress(now, final=False):
        secs = (t_last if final else now) - t0
        sys.stderr.write("original.py: %d ticks in %.1f s (%.0f ticks/s), %d DynamoDB + %d S3 "
                         "requests, %d Kinesis, %d buys, %d sells\n"
                         % (ticks, secs, ticks / secs if secs > 0 else 0.0, requests["dynamodb"],
                            requests["s3"], requests["kinesis"], stats["buys"], stats["sells"]))
        sys.stderr.flush()

    done = False
    while not done:
        got_any = False
        for s in shards:
            if iters[s] is None or idle[s] >= a.idle_polls:
                continue
            r = kinesis.get_records(ShardIterator=iters[s], Limit=a.limit)
            iters[s] = r.get("NextShardIterator")
            recs = r["Records"]
            if not recs:
                idle[s] += 1
                continue
            idle[s] = 0
            got_any = True
            for rec in recs:
                handle(rec["Data"])
                ticks += 1
                per_shard[s] += 1
                if next_progress is not None and ticks % 100 == 0:
                    now = time.monotonic()
                    if now >= next_progress:
                        progress(now)
                        next_progress = now + a.progress
                if a.expect and ticks >= a.expect:
                    break
            t_last = time.monotonic()
            c_last = time.process_time()
            if a.expect and ticks >= a.expect:
                done = True
                break
        if all(iters[s] is None or idle[s] >= a.idle_polls for s in shards):
            done = True
        elif not done and not got_any:
            time.sleep(a.poll_interval)

    if a.progress > 0:
        progress(time.monotonic(), final=True)
    seconds = t_last - t0
    eff = requests["dynamodb"] + requests["s3"]
    print(json.dumps({
        "ticks": ticks,
        "seconds": round(seconds, 3),
        "ticks_per_s": round(ticks / seconds, 1) if seconds > 0 else 0.0,
        "ddb_requests": requests["dynamodb"],
        "s3_requests": requests["s3"],
        "requests_per_10k_ticks": round(eff * 10000.0 / ticks, 1) if ticks else 0.0,
        "kinesis_requests": requests["kinesis"],
        "cpu_us_per_tick": round((c_last - c0) * 1e6 / ticks, 1) if ticks else 0.0,
        "buys": stats["buys"],
        "sells": stats["sells"],
        "by_operation": dict(sorted(ops.items())),
        "by_shard": dict(sorted(per_shard.items())),
    }, separators=(",", ":")))
    if a.expect and ticks < a.expect:
        sys.stderr.write("original.py: %d of the %d expected records read (the shards went idle)\n"
                         % (ticks, a.expect))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
