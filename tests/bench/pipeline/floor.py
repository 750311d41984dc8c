#!/usr/bin/python3
"""The pipeline benchmark's floor: floor.py NDJSON PREFIX prints the seconds it
takes to write NDJSON's records to two files (PREFIX-0, PREFIX-1; one write
per 500 records per file, as the producer's batches) and read both back twice
in 256 KiB reads (one pass per follower). Splitting the records by shard is
done before the clock starts; the files are removed afterwards."""
import os
import sys
import time
import zlib

src, prefix = sys.argv[1], sys.argv[2]
with open(src, "rb") as f:
    records = f.read().split(b"\n")[:-1]
batches = [[], []]
for i in range(0, len(records), 500):
    per = [[], []]
    for rec in records[i:i + 500]:
        per[zlib.crc32(rec[11:15]) & 1].append(rec)  # a cheap stand-in for routing
    for s in (0, 1):
        if per[s]:
            batches[s].append(b"".join(per[s]))
del records

paths = ["%s-%d" % (prefix, s) for s in (0, 1)]
t0 = time.monotonic()
fds = [os.open(p, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644) for p in paths]
for s in (0, 1):
    for b in batches[s]:
        os.write(fds[s], b)
for fd in fds:
    os.close(fd)
for reader in range(2):
    for p in paths:
        fd = os.open(p, os.O_RDONLY)
        while os.read(fd, 256 << 10):
            pass
        os.close(fd)
wall = time.monotonic() - t0
for p in paths:
    os.unlink(p)
print("%.6f" % wall)
