#!/usr/bin/env bash
# Install the npm packages of the infra checks (tests/infra/package-lock.json)
# with `npm ci`, when node_modules is missing or was installed from another
# lock file. The ctest fixture infra_npm runs it before infra_hcl and
# infra_schema.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "infra setup: node and npm are needed (scripts/deps installs them)" >&2
    exit 1
fi
want=$(sha256sum "$here/package-lock.json" | cut -d' ' -f1)
stamp="$here/node_modules/.tradepipe-lock-sha256"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "infra setup: node_modules matches package-lock.json"
    exit 0
fi
echo "infra setup: npm ci in tests/infra"
(cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
echo "$want" >"$stamp"
