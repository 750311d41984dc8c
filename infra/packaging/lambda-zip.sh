#!/usr/bin/env bash
# Build the consumer's Lambda package (runtime provided.al2023, x86_64) from a
# build of this Debian machine:
#
#   infra/packaging/lambda-zip.sh BUILD_DIR OUT.zip
#
# The zip holds, and nothing else:
#   bootstrap                 a shell script, what Lambda runs: it starts
#                             bin/tp-lambda-bootstrap through the bundled loader
#                             with lib/ as its only library path
#   bin/tp-lambda-bootstrap   from `cmake --install BUILD_DIR --strip`
#   lib/                      libtradepipe.so.0 and every shared library the
#                             program loads (ldd, symlinks resolved: each under
#                             the name it is asked for), libc, libm and the
#                             loader (ld-linux-x86-64.so.2) included: Debian
#                             12's glibc (2.36) is newer than Amazon Linux
#                             2023's (2.34), so the program cannot use the
#                             system's.
# Deterministic: entries sorted, every time stamp 1980-01-01 00:00, modes
# 0755 (bootstrap, bin/, the loader) or 0644, so the same build gives the
# same bytes (and the same CodeSha256).
#
# The bootstrap points AWS_CA_BUNDLE at Amazon Linux's CA file
# (/etc/pki/tls/certs/ca-bundle.crt) when Debian's is missing and it is not
# set already: the bundled libcurl looks for Debian's.
# Libraries loaded with dlopen are not seen by ldd: glibc 2.36 has its NSS
# "files" and "dns" built in, and the program needs no other.
# Deploy: the consumer module (infra/modules/consumer) takes the zip's path;
# or aws lambda update-function-code --function-name F --zip-file fileb://OUT.zip
set -euo pipefail

prog=${0##*/}

usage() {
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
}
die() {
    echo "$prog: $*" >&2
    exit 1
}

case ${1:-} in
    -h|--help) usage; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
esac
[ $# -eq 2 ] || die "usage: $prog BUILD_DIR OUT.zip (see --help)"
build=$1
zip=$2
case $zip in
    *.zip) ;;
    *) die "the output should be a .zip file: $zip" ;;
esac

for tool in cmake ldd readelf python3; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed (scripts/deps --build)"
done
[ -f "$build/CMakeCache.txt" ] || die "$build is not a CMake build directory (no CMakeCache.txt)"
zipdir=$(dirname "$zip")
[ -d "$zipdir" ] || die "no directory $zipdir for $zip"

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cmake --install "$build" --prefix "$stage/prefix" --strip >"$stage/install.log" 2>&1 ||
    { cat "$stage/install.log" >&2; die "cmake --install $build failed (is it built? cmake --build $build)"; }
bin=$stage/prefix/bin/tp-lambda-bootstrap
[ -x "$bin" ] || die "$build installs no bin/tp-lambda-bootstrap (configured with TP_BUILD_EXAMPLES=OFF?)"
if readelf -d "$bin" | grep -q 'Shared library: \[lib\(asan\|ubsan\|tsan\)'; then
    die "$build is a sanitizer build: package a Release build"
fi
[ "$(readelf -h "$bin" | sed -n 's/^ *Machine: *//p')" = "Advanced Micro Devices X86-64" ] ||
    die "tp-lambda-bootstrap is not an x86-64 program (the function's architecture is x86_64)"
interp=$(readelf -l "$bin" | sed -n 's/.*Requesting program interpreter: \(.*\)\]/\1/p')
[ -n "$interp" ] || die "tp-lambda-bootstrap has no program interpreter (linked statically?)"
loader=${interp##*/}

root=$stage/root
mkdir -p "$root/bin" "$root/lib"
cp "$bin" "$root/bin/tp-lambda-bootstrap"

# Every library the program loads, and the loader, by ldd (libtradepipe from
# the install prefix: the installed program has no RUNPATH).
libdir=$(dirname "$(find "$stage/prefix" -name 'libtradepipe.so*' | head -n 1)")
listing=$(LD_LIBRARY_PATH=$libdir ldd "$bin") || die "ldd $bin failed:
$listing"
if grep -q 'not found' <<<"$listing"; then
    die "tp-lambda-bootstrap needs libraries not installed here:
$(grep 'not found' <<<"$listing")"
fi
while read -r name arrow path _; do
    if [ "$arrow" = "=>" ]; then
        { [ -n "$path" ] && [ -e "$path" ]; } || die "ldd gave no file for $name: '$path'"
        cp -L "$path" "$root/lib/$name"
    elif [ "$name" = "$interp" ]; then
        cp -L "$interp" "$root/lib/$loader"
    fi
done <<<"$listing"
[ -f "$root/lib/$loader" ] || die "ldd did not list the loader $interp"
[ -f "$root/lib/libc.so.6" ] || die "ldd did not list libc.so.6"

cat >"$root/bootstrap" <<EOF
#!/bin/sh
# Lambda runs this (provided.al2023). The program and its libraries, glibc
# included, are in this package: start it through the bundled loader, with
# lib/ as the only library path. Made by infra/packaging/lambda-zip.sh.
case \$0 in */*) here=\${0%/*} ;; *) here=. ;; esac
root=\${LAMBDA_TASK_ROOT:-\$here}
if [ -z "\${AWS_CA_BUNDLE:-}" ] && [ ! -e /etc/ssl/certs/ca-certificates.crt ] &&
   [ -e /etc/pki/tls/certs/ca-bundle.crt ]; then
    AWS_CA_BUNDLE=/etc/pki/tls/certs/ca-bundle.crt
    export AWS_CA_BUNDLE
fi
exec "\$root/lib/$loader" --library-path "\$root/lib" "\$root/bin/tp-lambda-bootstrap" "\$@"
EOF

# Check before zipping: the bundled loader finds every library in lib/.
check=$(env -i "$root/lib/$loader" --inhibit-cache --library-path "$root/lib" --list \
        "$root/bin/tp-lambda-bootstrap") || die "the bundled loader cannot start the program:
$check"
while read -r name arrow path _; do
    [ "$arrow" = "=>" ] || continue
    case $path in
        "$root"/lib/*) ;;
        *) die "$name resolves outside lib/: $path" ;;
    esac
done <<<"$check"

python3 - "$root" "$zip" "$loader" <<'EOF'
import os, sys, zipfile
root, out, loader = sys.argv[1:4]
names = []
for d, dirs, files in os.walk(root):
    for f in files:
        names.append(os.path.relpath(os.path.join(d, f), root))
names.sort()
tmp = out + ".tmp"
with zipfile.ZipFile(tmp, "w") as z:
    for n in names:
        mode = 0o755 if n in ("bootstrap", "lib/" + loader) or n.startswith("bin/") else 0o644
        zi = zipfile.ZipInfo(n, date_time=(1980, 1, 1, 0, 0, 0))
        zi.create_system = 3  # Unix: the mode below is what unzip and Lambda apply
        zi.external_attr = (0o100000 | mode) << 16
        zi.compress_type = zipfile.ZIP_DEFLATED
        with open(os.path.join(root, n), "rb") as f:
            z.writestr(zi, f.read(), compresslevel=9)
os.replace(tmp, out)
EOF
size=$(stat -c %s "$zip")
[ "$size" -le $((50 * 1024 * 1024)) ] || die "$zip is $size bytes, over Lambda's 50 MB for a direct upload"
echo "$prog: $zip: $(find "$root" -type f | wc -l) files, $size bytes" >&2
