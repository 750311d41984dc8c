#!/usr/bin/env python3
"""What valgrind memcheck found in a TP_VALGRIND test run.

    summary.py LOG_DIR

Reads every NAME.PID.log the wrappers of tests/valgrind/valgrind.cmake wrote
(one per process: each program run, and each child a Check suite forks) and
prints one line,

    valgrind: N programs run, E errors

then the logs that hold errors, with their first report. Errors are what
memcheck counts in its ERROR SUMMARY (invalid reads and writes, uses of
uninitialised values, bad frees, definite leaks). Two kinds of log hold no
ERROR SUMMARY, and are read for error reports instead: a process killed with
SIGKILL by its test (crash-recovery cycles), and a child a program forked
that then exec'd another program (a suite running awscli or a shell: its
parent is a process of the run). The latter are not counted as programs run.
Exits 1 on any error, or when no log was written at all (the run did not go
through valgrind)."""
import os
import re
import sys

SUMMARY = re.compile(r"^==\d+== ERROR SUMMARY: (\d+) errors")
PARENT = re.compile(r"^==\d+== Parent PID: (\d+)")
# The first line of each kind of report memcheck writes as it finds it.
REPORT = re.compile(r"^==\d+== (Invalid (read|write|free)|Conditional jump|Use of uninitialised"
                    r"|Syscall param|Mismatched free|Source and destination overlap"
                    r"|Argument .* of function|.* definitely lost in loss record"
                    r"|Process terminating with default action of signal (?!9 \(SIGKILL\)))")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    d = sys.argv[1]
    logs = sorted(f for f in os.listdir(d) if f.endswith(".log")) if os.path.isdir(d) else []
    pids = {name.rsplit(".", 2)[1] for name in logs}
    runs = errors = killed = execed = 0
    bad = []
    programs = set()
    for name in logs:
        with open(os.path.join(d, name), errors="replace") as f:
            lines = f.read().splitlines()
        n = parent = None
        for line in lines:
            m = SUMMARY.match(line)
            if m:
                n = int(m.group(1))
            m = PARENT.match(line)
            if m:
                parent = m.group(1)
        if n is None and parent in pids:
            execed += 1     # forked by a program of the run, then exec'd another
        else:
            runs += 1
            programs.add(name.rsplit(".", 2)[0])
            if n is None:
                killed += 1
        if n is None:   # no summary: count the reports it wrote
            n = sum(1 for line in lines if REPORT.match(line))
        if n:
            errors += n
            first = next((i for i, line in enumerate(lines) if REPORT.match(line)), 0)
            bad.append((name, n, lines[first:first + 25]))
    print("valgrind: %d programs run, %d errors" % (runs, errors))
    print("  (%d distinct programs; %d runs ended by SIGKILL and %d children that exec'd"
          " another program, read for reports)" % (len(programs), killed, execed))
    for name, n, excerpt in bad:
        print("\n%s: %d errors" % (os.path.join(d, name), n))
        for line in excerpt:
            print("  " + line)
    if runs == 0:
        print("valgrind: no log in %s: nothing ran under valgrind" % d, file=sys.stderr)
        sys.exit(1)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
