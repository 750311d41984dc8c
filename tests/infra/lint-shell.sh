#!/usr/bin/env bash
# lint_shell: shellcheck on every shell script of the repository: *.sh and
# *.bash files, and files without an extension whose first line is a sh or
# bash shebang (scripts/test, scripts/deps, tests/*/run, .ci/run, ...), among
# the files git knows (tracked, or new and not ignored; every file outside git). infra/scripts/ and
# infra/packaging/ are covered as they appear. The deliberately broken
# fixtures under tests/infra/fixtures/ are left out (the self-test runs them).
# Every finding of every severity (style included) fails; a script silences a
# finding with `# shellcheck disable=SCxxxx` and the reason beside it.
# Usage: lint-shell.sh [FILE]...   (default: the repository's scripts)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

if ! command -v shellcheck >/dev/null 2>&1; then
    echo "lint_shell: shellcheck is not installed (scripts/deps installs it)" >&2
    exit 1
fi

is_shell() {
    local f=$1 base first
    base=${f##*/}
    case "$base" in
        *.sh | *.bash) return 0 ;;
        *.*) return 1 ;;
    esac
    [ -f "$f" ] || return 1
    IFS= read -r first <"$f" || true
    [[ $first =~ ^\#!\ *(/usr)?/bin/(env\ +)?(ba)?sh([[:space:]]|$) ]]
}

files=()
if [ $# -gt 0 ]; then
    files=("$@")
else
    cd "$root"
    while IFS= read -r -d '' f; do
        case "$f" in
            tests/infra/fixtures/* | */node_modules/* | build/* | out/*) continue ;;
        esac
        [ -f "$f" ] && is_shell "$f" && files+=("$f")
    done < <(if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
                 git ls-files -z --cached --others --exclude-standard
             else   # not a git checkout (a source tarball): every file
                 find . -path ./.git -prune -o -type f -print0 | sed -z 's|^\./||'
             fi)
fi
if [ ${#files[@]} -eq 0 ]; then
    echo "lint_shell: no shell scripts: nothing to check"
    exit 0
fi
echo "lint_shell: $(shellcheck --version | sed -n 's/^version: /shellcheck /p'), ${#files[@]} scripts"
printf '  %s\n' "${files[@]}"
# -x: follow `source`d files; -P SCRIPTDIR: relative to the script.
if shellcheck -x -P SCRIPTDIR -f gcc "${files[@]}"; then
    echo "lint_shell: ${#files[@]} scripts, no findings"
else
    echo "lint_shell: findings above (file:line:column: severity: message [SCxxxx])"
    exit 1
fi
