#!/usr/bin/env bash
# Run Debian's awscli against the emulators started by tests/services/start.sh:
#   tests/integration/aws_cli.sh STATE_DIR SERVICE ARGS...
# SERVICE is kinesis, dynamodb or s3 (or s3api); the endpoint comes from
# STATE_DIR/endpoints.env (through the signature checker, which knows the
# test credentials of tests/services/credentials.env), output is JSON, no pager.
set -euo pipefail
state=${1:?usage: aws_cli.sh STATE_DIR SERVICE ARGS...}
svc=${2:?usage: aws_cli.sh STATE_DIR SERVICE ARGS...}
shift 2
# shellcheck disable=SC1091
. "$state/endpoints.env"
case "$svc" in
kinesis) ep=$AWS_ENDPOINT_URL_KINESIS ;;
dynamodb) ep=$AWS_ENDPOINT_URL_DYNAMODB ;;
s3 | s3api) ep=$AWS_ENDPOINT_URL_S3 ;;
*) echo "aws_cli.sh: unknown service $svc" >&2; exit 2 ;;
esac
aws=/usr/bin/aws
[ -x "$aws" ] || aws=aws
# The test credentials (s3rver's access key id); the signature checker verifies with them.
set -a
# shellcheck disable=SC1091
. "$(dirname "$0")/../services/credentials.env"
set +a
export AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1 AWS_PAGER='' AWS_CONFIG_FILE=/dev/null
export AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_PROFILE AWS_ENDPOINT_URL AWS_ENDPOINT_URL_KINESIS AWS_ENDPOINT_URL_DYNAMODB AWS_ENDPOINT_URL_S3
exec "$aws" --endpoint-url "$ep" --no-cli-pager --output json "$svc" "$@"
