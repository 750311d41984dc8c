#!/usr/bin/python3
"""The floor under a consumer of kinesis://STREAM: every shard read to its
end (GetShardIterator, GetRecords of LIMIT records) through the library's
stream interface, nothing done with the records. Prints the same JSON line
as original.py (no DynamoDB or S3 request: null).

usage: read_floor.py LIBTRADEPIPE_SO STREAM [LIMIT]"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                                "bindings", "python"))
os.environ["TRADEPIPE_LIBRARY"] = sys.argv[1]
import tradepipe as tp  # noqa: E402

limit = int(sys.argv[3]) if len(sys.argv) > 3 else 10000
t0 = time.time()
n = 0
with tp.Stream("kinesis://" + sys.argv[2]) as s:
    for sh in s.shards():
        with s.reader(sh.shard_id, "TRIM_HORIZON") as r:
            for _ in range(1000000):
                batch = r.get(limit)
                if not batch:
                    break
                n += len(batch)
secs = time.time() - t0
print(json.dumps({"ticks": n, "seconds": round(secs, 3), "ticks_per_s": round(n / secs, 1),
                  "ddb_requests": None, "s3_requests": None, "requests_per_10k_ticks": None}))
