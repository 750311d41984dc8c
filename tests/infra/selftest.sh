#!/usr/bin/env bash
# infra_selftest: each infra check passes on fixtures/good (and the good
# shell script and workflow) and fails on the fixture that breaks its rule,
# naming the file and line. See fixtures/README.md.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
fx=$here/fixtures
cd "$here" || exit 1
pass=0 fail=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT

# expect NAME RC PATTERN... -- COMMAND...: COMMAND exits RC and its output
# matches every extended regex PATTERN.
expect() {
    local name=$1 want=$2 pats=() rc
    shift 2
    while [ "$1" != -- ]; do pats+=("$1"); shift; done
    shift
    "$@" >"$out" 2>&1
    rc=$?
    local ok=1
    [ "$rc" -eq "$want" ] || ok=0
    for p in ${pats[@]+"${pats[@]}"}; do grep -Eq -- "$p" "$out" || { ok=0; echo "  missing: $p"; }; done
    if [ $ok = 1 ]; then
        echo "ok   $name"
        pass=$((pass + 1))
    else
        echo "FAIL $name (exit $rc, expected $want); its output:"
        sed 's/^/  | /' "$out"
        fail=$((fail + 1))
    fi
}

expect "infra_hcl passes on good/" 0 '3 files, 0 findings' -- node check-hcl.js "$fx/good"
expect "infra_hcl: misformatted" 1 'misformatted/main.tf:2: not in canonical format' \
    'misformatted/main.tf:7: bucket = "\$\{var.bucket\}": an interpolation-only string' \
    -- node check-hcl.js "$fx/misformatted"
expect "infra_hcl: parse error" 1 'parse-error/main.tf:2:9: Invalid expression' -- node check-hcl.js "$fx/parse-error"
expect "infra_hcl: nothing to check" 0 'nothing to check' -- node check-hcl.js "$fx/shell"

expect "infra_schema passes on good/" 0 '2 files, 4 resources and data sources, 0 findings' \
    -- node check-schema.js "$fx/good"
expect "infra_schema: unknown resource type" 1 \
    'unknown-resource/main.tf:5: aws_kinesis_streem.typo: unknown resource type aws_kinesis_streem' \
    -- node check-schema.js "$fx/unknown-resource"
expect "infra_schema: unknown arguments" 1 \
    'unknown-argument/main.tf:3: aws_kinesis_stream.this: unknown argument retention_hours' \
    'unknown-argument/main.tf:15: .*rule expiration: unknown argument dayz' \
    'unknown-argument/main.tf:23: .*stream_mode_details is a nested block, not an argument' \
    '3 findings' -- node check-schema.js "$fx/unknown-argument"
expect "infra_schema: missing required arguments" 1 \
    'missing-required/main.tf:1: aws_kinesis_stream.unnamed: missing required argument name' \
    'missing-required/main.tf:8: data.aws_iam_policy_document.read statement principals: missing required argument identifiers' \
    '2 findings' -- node check-schema.js "$fx/missing-required"
expect "infra_schema: parse error" 1 'parse-error/main.tf:2:9: Invalid expression' \
    -- node check-schema.js "$fx/parse-error"
expect "infra_schema: nothing to check" 0 'nothing to check' -- node check-schema.js "$fx/shell"

if command -v terraform >/dev/null 2>&1; then
    expect "infra_terraform passes on good/" 0 'Terraform v' -- ./check-terraform.sh "$fx/good"
    expect "infra_terraform: misformatted" 1 'terraform fmt: files above are not formatted' \
        -- ./check-terraform.sh "$fx/misformatted"
else
    expect "infra_terraform skips without terraform" 0 'skipped: terraform not installed' \
        -- ./check-terraform.sh "$fx/misformatted"
fi

expect "lint_shell passes on a good script" 0 'no findings' -- ./lint-shell.sh "$fx/shell/good.sh"
expect "lint_shell: unquoted expansion" 1 'bad.sh:4:4: .*SC2086' -- ./lint-shell.sh "$fx/shell/bad.sh"

expect "lint_yaml passes on a good workflow" 0 '1 files, no findings' -- ./lint-yaml.sh "$fx/workflows-good"
expect "lint_yaml: yamllint" 1 'ci.yml:6:26: \[error\] trailing spaces' 'ci.yml:7:5: \[error\] duplication of key "runs-on"' \
    -- ./lint-yaml.sh "$fx/workflows-yamllint"
expect "lint_yaml: actionlint" 1 'workflows-actionlint/ci.yml:8:24: undefined variable "githubb"' \
    -- ./lint-yaml.sh "$fx/workflows-actionlint"

echo "infra_selftest: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
