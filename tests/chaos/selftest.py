#!/usr/bin/python3
"""The chaos checks fail what they should: a short chaos.py run with
--sabotage lose,raw-dup,effect (one record counted as produced but never
put, one raw-data object copied, one completed trade deleted from S3) must
exit 1 and report each of the three.

usage: selftest.py BIN_DIR SERVICES_STATE"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
work = tempfile.mkdtemp(prefix="tp-chaos-selftest-")
try:
    p = subprocess.run(["/usr/bin/python3", os.path.join(here, "chaos.py"), "--bin", sys.argv[1],
                        "--services", sys.argv[2], "--cycles", "3", "--seed", "5",
                        "--work", work, "--sabotage", "lose,raw-dup,effect"],
                       capture_output=True, text=True, timeout=600)
finally:
    shutil.rmtree(work, ignore_errors=True)  # kept by a failing run: it is expected to fail
out = p.stdout + p.stderr
want = {
    "exit status 1": p.returncode == 1,
    "a lost Kinesis record": re.search(r"FAIL kinesis: 1 of \d+ produced records are not in the "
                                       r"stream", out) is not None,
    "lost: 1 in the figures": re.search(r"^records produced: \d+ .*, lost: 1,", out,
                                        re.M) is not None,
    "raw-data not exactly once": re.search(r"FAIL local: raw-data holds \d+ records for \d+ "
                                           r"produced: 0 lost, [1-9]\d* extra", out) is not None,
    "a missing trade": "FAIL kinesis effects: trades differ from the replay" in out,
    "effects compared: DIFFERENT": re.search(r"^effects compared: DIFFERENT", out,
                                             re.M) is not None,
}
for what, ok in want.items():
    print("%s - sabotaged run: %s" % ("ok  " if ok else "FAIL", what))
if not all(want.values()):
    print(out[-4000:])
    sys.exit(1)
