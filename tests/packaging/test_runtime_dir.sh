#!/usr/bin/env bash
# tp-producer's container runtime set, run from its directory alone.
#   tests/packaging/test_runtime_dir.sh SOURCE_DIR BUILD_DIR
# infra/packaging/assemble-runtime.sh assembles what the Dockerfile's runtime
# stage holds into a temporary directory; then:
#   - every file the Dockerfile COPYs from the build stage's /runtime is there;
#   - the bundled loader resolves every library tp-producer loads inside it;
#   - under `env -i`, through the bundled loader with only its lib/, it gives
#     byte for byte the build's tp-producer output (--to -, two seeds);
#   - the same in a chroot into the directory (the host's /lib, /usr, /etc
#     out of reach) when this user may chroot (root, or an unprivileged user
#     namespace through unshare -r); said "skipped" otherwise;
#   - a RUNTIME_LIBS without libisal2 makes assemble-runtime.sh fail, naming it.
set -euo pipefail
src=${1:?usage: test_runtime_dir.sh SOURCE_DIR BUILD_DIR}
build=${2:?usage: test_runtime_dir.sh SOURCE_DIR BUILD_DIR}
build=$(cd "$build" && pwd)
fail() {
    echo "FAIL: $*" >&2
    exit 1
}

tmp=$(mktemp -d)
# TP_KEEP: keep it (the suite's scan of its logs for secrets reads it).
trap '[ -n "${TP_KEEP:-}" ] || rm -rf "$tmp"' EXIT
out=$tmp/runtime
"$src/infra/packaging/assemble-runtime.sh" "$build" "$out"
[ -x "$out/bin/tp-producer" ] || fail "no bin/tp-producer"
[ "$(find "$out/bin" -mindepth 1 | wc -l)" -eq 1 ] || fail "bin/ holds more than tp-producer"
loader=$out/lib/ld-linux-x86-64.so.2
[ -x "$loader" ] || fail "no executable lib/ld-linux-x86-64.so.2"

# The Dockerfile's runtime stage copies only what the script made.
copies=$(sed -n 's|^COPY --from=build /runtime/\([^ ]*\) .*|\1|p' "$src/infra/packaging/Dockerfile")
[ -n "$copies" ] || fail "the Dockerfile COPYs nothing from /runtime"
for f in $copies; do
    [ -f "$out/$f" ] || fail "the Dockerfile COPYs /runtime/$f, which assemble-runtime.sh does not make"
done
echo "ok: the Dockerfile's COPYs ($(echo "$copies" | tr '\n' ' ')) are in the assembled set"

# Every library from the directory: no fallback to the host's.
listing=$(env -i "$loader" --inhibit-cache --library-path "$out/lib" --list "$out/bin/tp-producer")
n=0
while read -r name arrow path _; do
    [ "$arrow" = "=>" ] || continue
    case $path in
        "$out"/lib/*) n=$((n + 1)) ;;
        *) fail "$name resolves outside the directory: $path" ;;
    esac
done <<<"$listing"
[ "$n" -ge 8 ] || fail "only $n libraries listed:
$listing"
echo "ok: all $n libraries tp-producer loads resolve inside the directory"

"$build/examples/tp-producer" --to - --count 5 --seed 1 >"$tmp/want5" 2>/dev/null
"$build/examples/tp-producer" --to - --count 3000 --rate 0 --seed 7 \
    --symbols AAPL,Nestlé,X >"$tmp/want3000" 2>/dev/null
[ "$(wc -l <"$tmp/want5")" -eq 5 ] || fail "the build's tp-producer did not print 5 records"

env -i "$loader" --library-path "$out/lib" "$out/bin/tp-producer" \
    --to - --count 5 --seed 1 >"$tmp/got5" 2>"$tmp/err" || fail "env -i run: $(cat "$tmp/err")"
cmp -s "$tmp/want5" "$tmp/got5" || fail "env -i: output differs from the build's tp-producer"
env -i "$loader" --library-path "$out/lib" "$out/bin/tp-producer" \
    --to - --count 3000 --rate 0 --seed 7 --symbols AAPL,Nestlé,X >"$tmp/got3000" 2>"$tmp/err" ||
    fail "env -i run: $(cat "$tmp/err")"
cmp -s "$tmp/want3000" "$tmp/got3000" || fail "env -i: output differs (3000 records)"
# A local file stream, written and read back by the same program from the directory.
env -i "$loader" --library-path "$out/lib" "$out/bin/tp-producer" \
    --to "file:$tmp/stream" --count 500 --rate 0 --seed 3 2>"$tmp/err" ||
    fail "env -i run to file: $(cat "$tmp/err")"
[ -f "$tmp/stream/stream.json" ] || fail "no stream.json written"
echo "ok: env -i through the bundled loader: the build's output, byte for byte"

chroot_cmd=()
if [ "$(id -u)" -eq 0 ] && command -v chroot >/dev/null 2>&1 &&
   chroot "$out" /lib/ld-linux-x86-64.so.2 --version >/dev/null 2>&1; then
    chroot_cmd=("$(command -v chroot)" "$out")
elif command -v unshare >/dev/null 2>&1 && command -v chroot >/dev/null 2>&1 &&
     unshare -r chroot "$out" /lib/ld-linux-x86-64.so.2 --version >/dev/null 2>&1; then
    chroot_cmd=("$(command -v unshare)" -r "$(command -v chroot)" "$out")
fi
if [ ${#chroot_cmd[@]} -gt 0 ]; then
    mkdir -p "$out/tmp"
    env -i "${chroot_cmd[@]}" /lib/ld-linux-x86-64.so.2 --library-path /lib /bin/tp-producer \
        --to - --count 3000 --rate 0 --seed 7 --symbols AAPL,Nestlé,X >"$tmp/chroot3000" \
        2>"$tmp/err" || fail "chroot run: $(cat "$tmp/err")"
    cmp -s "$tmp/want3000" "$tmp/chroot3000" || fail "chroot: output differs"
    env -i "${chroot_cmd[@]}" /lib/ld-linux-x86-64.so.2 --library-path /lib /bin/tp-producer \
        --to file:/tmp/stream --count 500 --rate 0 --seed 3 2>"$tmp/err" ||
        fail "chroot run to file: $(cat "$tmp/err")"
    [ -f "$out/tmp/stream/stream.json" ] || fail "chroot: no stream.json written"
    echo "ok: in a chroot into the directory (${chroot_cmd[*]}): the same output"
else
    echo "chroot: skipped (not root, and no unprivileged user namespace for unshare -r)"
fi

# A package missing from RUNTIME_LIBS is caught, and named.
sed 's/^\(ARG RUNTIME_LIBS=.*\) libisal2/\1/' "$src/infra/packaging/Dockerfile" >"$tmp/Dockerfile"
grep -q '^ARG RUNTIME_LIBS=.*libisal2' "$tmp/Dockerfile" && fail "could not drop libisal2 from a copy"
if "$src/infra/packaging/assemble-runtime.sh" --dockerfile "$tmp/Dockerfile" "$build" "$tmp/bad" \
        2>"$tmp/err"; then
    fail "assemble-runtime.sh accepted RUNTIME_LIBS without libisal2"
fi
grep -q 'libisal.so.2.*libisal2' "$tmp/err" || fail "the error does not name libisal2: $(cat "$tmp/err")"
echo "ok: RUNTIME_LIBS without libisal2 is refused: $(head -n 1 "$tmp/err")"
echo "PASS"
