#!/usr/bin/env bash
# The emulators answer awscli: one call to each (the fixture works end to end).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
state=${1:?usage: services_smoke.sh STATE_DIR}
"$here/aws_cli.sh" "$state" kinesis list-streams | grep -q '"StreamNames"'
"$here/aws_cli.sh" "$state" dynamodb list-tables | grep -q '"TableNames"'
"$here/aws_cli.sh" "$state" s3api list-buckets | grep -q '"Buckets"'
echo "1 passed, 0 failed"
