#!/usr/bin/env bash
# Stop the emulators tests/services/start.sh STATE_DIR started, by the PIDs it
# recorded (TERM, then KILL after 5 s), and the signature checker. A PID whose
# process is no longer our serve.js or sigcheck.py (exited, or the number
# reused) is left alone.
set -uo pipefail
state=${1:?usage: stop.sh STATE_DIR}
[ -d "$state" ] || exit 0
# Running, and not a zombie (an orphan whose parent does not reap it yet).
alive() {
    [ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}
for pidfile in "$state"/*.pid; do
    [ -e "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    rm -f "$pidfile"
    [[ "$pid" =~ ^[0-9]+$ ]] || continue
    if ! tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -E "serve\.js|sigcheck\.py"; then
        continue
    fi
    kill -TERM "$pid" 2>/dev/null || continue
    for _ in $(seq 1 50); do
        alive "$pid" || break
        sleep 0.1
    done
    alive "$pid" && kill -KILL "$pid" 2>/dev/null
done
rm -f "$state/endpoints.env" "$state/direct.env" "$state"/*.port
rm -rf "$state/s3-data"
exit 0
