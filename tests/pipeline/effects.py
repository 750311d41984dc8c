"""The consumer's effects on the emulators, read back with botocore (the
independent client), and the same effects computed offline by
`tp-consumer --source file:PATH` replaying the records: used by
tests/pipeline/test_kinesis.py and tests/chaos/chaos.py."""
import json
import os
import subprocess
from decimal import Decimal


def scan(ddb, table):
    items, kw = [], {"TableName": table, "ConsistentRead": True}
    for _ in range(10000):
        page = ddb.scan(**kw)
        items += page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return items
        kw["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    raise AssertionError("scan did not end")


def consumed(ddb, lease_table):
    """Records the workers checkpointed: the counter in each shard's tpState."""
    try:
        items = scan(ddb, lease_table)
    except ddb.exceptions.ResourceNotFoundException:
        return 0
    n = 0
    for it in items:
        st = it.get("tpState", {}).get("B")
        if st and st[:4] == b"TPL2":  # tp-consumer's shard state, records first
            n += int.from_bytes(st[4:12], "little")
    return n


def trades_in(s3, bucket):
    """Every completed trade in the bucket. ListObjects (v1), paged by the
    last key: s3rver answers InternalError to any truncated ListObjectsV2
    (tests/services/README.md), so past 1,000 trades V2 cannot list them."""
    out, kw = [], {"Bucket": bucket, "Prefix": "completed-trades/"}
    for _ in range(10000):
        page = s3.list_objects(**kw)
        contents = page.get("Contents", [])
        for o in contents:
            out.append(json.loads(s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()))
        if not page.get("IsTruncated") or not contents:
            return out
        kw["Marker"] = contents[-1]["Key"]
    raise AssertionError("listing did not end")


def summary(positions, trades):
    """What must not depend on how the records were read: per symbol, the
    position and realized P&L, and the trades' prices and P&L."""
    pos = {s: (int(q), Decimal(p)) for s, q, p in positions}
    tr = sorted((t["symbol"], Decimal(str(t["entry"]["price"])), Decimal(str(t["exit"]["price"])),
                 Decimal(str(t["pnl"]))) for t in trades)
    return pos, tr


def replay(consumer, records, work, env=None, engine=()):
    """The summary of `tp-consumer --source file:RECORDS` (NDJSON, in put
    order), with the engine options `engine`."""
    p = subprocess.run([consumer, "--source", "file:" + records, "--events",
                        "file:" + work + "/ev", "--positions",
                        "file:" + work + "/replay-positions.json", "--trades",
                        "file:" + work + "/replay"] + list(engine), env=env, capture_output=True, text=True,
                       timeout=600)
    if p.returncode != 0:
        raise AssertionError("the replay failed (%d): %s" % (p.returncode, p.stderr[-2000:]))
    positions = []
    with open(work + "/replay-positions.json") as f:
        for line in f.readlines()[1:]:
            q = json.loads(line)
            positions.append((q["symbol"], q["quantity"], q["realized_pnl"]))
    trades = []
    for d, _, names in os.walk(work + "/replay/completed-trades"):
        for n in names:
            with open(os.path.join(d, n)) as f:
                trades.append(json.load(f))
    return summary(positions, trades)


def actual(ddb, s3, positions_table, bucket):
    rows = [(it["symbol"]["S"], it["quantity"]["N"], it["realized_pnl"]["N"])
            for it in scan(ddb, positions_table)]
    return summary(rows, trades_in(s3, bucket))


def differences(got, want):
    """None when equal, else what differs (a line of text)."""
    if got[0] != want[0]:
        diff = sorted(s for s in set(got[0]) | set(want[0]) if got[0].get(s) != want[0].get(s))
        return "positions differ from the replay for %s: got %s, want %s" % (
            ", ".join(diff[:5]), [got[0].get(s) for s in diff[:5]],
            [want[0].get(s) for s in diff[:5]])
    if got[1] != want[1]:
        return "trades differ from the replay: %d vs %d\n got %s\nwant %s" % (
            len(got[1]), len(want[1]), got[1][:5], want[1][:5])
    return None
