#!/usr/bin/env bash
# Start the AWS emulators for the integration tests, each bound to 127.0.0.1
# on a free port: kinesalite (Kinesis), dynalite (DynamoDB), s3rver (S3).
#   tests/services/start.sh STATE_DIR
# Waits until each one answers HTTP, starts the signature checker in front of
# them (sigcheck.py: every request's SigV4 verified with botocore, then
# forwarded), then writes STATE_DIR/endpoints.env (through the checker):
#   AWS_ENDPOINT_URL_KINESIS=http://127.0.0.1:PORT (and _DYNAMODB, _S3)
# and STATE_DIR/direct.env (the emulators' own ports).
# PIDs go to STATE_DIR/NAME.pid; tests/services/stop.sh STATE_DIR stops them.
# Runs `npm ci` first when node_modules is missing (a fresh clone).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
state=${1:?usage: start.sh STATE_DIR}
mkdir -p "$state"
state=$(cd "$state" && pwd)
services=(kinesis dynamodb s3)

# Leftovers of an earlier run in the same state directory go first.
"$here/stop.sh" "$state" >/dev/null 2>&1 || true
rm -f "$state/endpoints.env"

if ! command -v node >/dev/null 2>&1; then
    echo "start.sh: node is not installed (scripts/deps installs it)" >&2
    exit 1
fi
if [ ! -d "$here/node_modules/kinesalite" ] || [ ! -d "$here/node_modules/dynalite" ] ||
   [ ! -d "$here/node_modules/aws-kinesis-agg" ] ||
   [ ! -d "$here/node_modules/s3rver" ]; then
    echo "start.sh: installing the emulators (npm ci)" >&2
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error) >&2
fi

for svc in "${services[@]}"; do
    rm -f "$state/$svc.port"
    node "$here/serve.js" "$svc" "$state" >"$state/$svc.log" 2>&1 &
    echo $! >"$state/$svc.pid"
done

fail() {
    echo "start.sh: $*" >&2
    for svc in "${services[@]}"; do
        [ -s "$state/$svc.log" ] && sed "s/^/  $svc: /" "$state/$svc.log" >&2
    done
    "$here/stop.sh" "$state" >/dev/null 2>&1 || true
    exit 1
}

# An HTTP answer of any status means the server is up.
probe() {
    node -e '
const req = require("http").request({ host: "127.0.0.1", port: +process.argv[1], path: "/",
  method: "GET", timeout: 2000 }, (res) => { res.resume(); process.exit(0) })
req.on("error", () => process.exit(1))
req.on("timeout", () => { req.destroy(); process.exit(1) })
req.end()' "$1"
}

for svc in "${services[@]}"; do
    pid=$(cat "$state/$svc.pid")
    for _ in $(seq 1 300); do
        [ -s "$state/$svc.port" ] && break
        kill -0 "$pid" 2>/dev/null || fail "$svc exited before listening"
        sleep 0.1
    done
    [ -s "$state/$svc.port" ] || fail "$svc did not listen within 30 s"
    port=$(cat "$state/$svc.port")
    ok=0
    for _ in $(seq 1 50); do
        if probe "$port"; then ok=1; break; fi
        sleep 0.1
    done
    [ "$ok" = 1 ] || fail "$svc on port $port does not answer"
done

# The signature checker in front of them (tests/services/sigcheck.py): the
# tests talk to it, it verifies every request with botocore and forwards it.
py=/usr/bin/python3
[ -x "$py" ] || py=python3
rm -f "$state"/sigcheck-*.port "$state/sigcheck.log"
"$py" "$here/sigcheck.py" "$state" "kinesis=$(cat "$state/kinesis.port")" \
    "dynamodb=$(cat "$state/dynamodb.port")" "s3=$(cat "$state/s3.port")" \
    >"$state/sigcheck.out" 2>&1 &
echo $! >"$state/sigcheck.pid"
for svc in "${services[@]}"; do
    for _ in $(seq 1 100); do
        [ -s "$state/sigcheck-$svc.port" ] && break
        kill -0 "$(cat "$state/sigcheck.pid")" 2>/dev/null || { cat "$state/sigcheck.out" >&2; fail "sigcheck exited"; }
        sleep 0.1
    done
    [ -s "$state/sigcheck-$svc.port" ] || fail "sigcheck did not listen for $svc"
done

# endpoints.env: through the checker (what the tests use); direct.env: the
# emulators themselves (benchmarks, debugging).
{
    echo "AWS_ENDPOINT_URL_KINESIS=http://127.0.0.1:$(cat "$state/sigcheck-kinesis.port")"
    echo "AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$(cat "$state/sigcheck-dynamodb.port")"
    echo "AWS_ENDPOINT_URL_S3=http://127.0.0.1:$(cat "$state/sigcheck-s3.port")"
} >"$state/endpoints.env.tmp"
{
    echo "AWS_ENDPOINT_URL_KINESIS=http://127.0.0.1:$(cat "$state/kinesis.port")"
    echo "AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$(cat "$state/dynamodb.port")"
    echo "AWS_ENDPOINT_URL_S3=http://127.0.0.1:$(cat "$state/s3.port")"
} >"$state/direct.env"
mv "$state/endpoints.env.tmp" "$state/endpoints.env"
cat "$state/endpoints.env"
