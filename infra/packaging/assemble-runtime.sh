#!/usr/bin/env bash
# Assemble the files of tp-producer's container image (infra/packaging/Dockerfile,
# its runtime stage) into one directory, so that they can be checked where no
# container engine can pull images:
#
#   infra/packaging/assemble-runtime.sh [--dockerfile PATH] BUILD_DIR OUT_DIR
#
#   OUT_DIR/bin/tp-producer          from `cmake --install BUILD_DIR --strip`
#   OUT_DIR/lib/libtradepipe.so.0    (when tp-producer links it dynamically)
#   OUT_DIR/lib/*.so*                every shared library of the Debian packages
#                                    the runtime stage installs (the Dockerfile's
#                                    ARG RUNTIME_LIBS, read from it) and of the
#                                    packages they depend on, libc6 included
#   OUT_DIR/lib/ld-linux-*.so.*      the dynamic loader (libc6's)
#
# The runtime stage takes the same set: it installs the packages of
# RUNTIME_LIBS with apt-get, and COPYs tp-producer and libtradepipe from the
# directory its build stage made with this script. The packages' files come
# from this machine's installed packages (dpkg's file lists: Debian 12, as the
# image). Only the files directly in the library directories are taken (not
# gconv/, engines-3/, ossl-modules/: nothing tp-producer loads).
#
# Then the loader in OUT_DIR lists what tp-producer loads from OUT_DIR/lib
# alone; a library found anywhere else is an error naming its package: add it
# to RUNTIME_LIBS. Run tp-producer from the directory alone with:
#   env -i OUT_DIR/lib/ld-linux-x86-64.so.2 --library-path OUT_DIR/lib \
#       OUT_DIR/bin/tp-producer --to - --count 5
# (tests/packaging/test_runtime_dir.sh does, and in a chroot when it can).
# BUILD_DIR is a complete build (cmake --build BUILD_DIR) of a Debian host.
set -euo pipefail

prog=${0##*/}
here=$(cd "$(dirname "$0")" && pwd)
dockerfile=$here/Dockerfile

usage() {
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
}
die() {
    echo "$prog: $*" >&2
    exit 1
}

while [ $# -gt 0 ]; do
    case $1 in
        -h|--help) usage; exit 0 ;;
        --dockerfile) [ $# -ge 2 ] || die "--dockerfile needs a path"; dockerfile=$2; shift 2 ;;
        --dockerfile=*) dockerfile=${1#*=}; shift ;;
        --) shift; break ;;
        -*) die "unknown option $1 (see --help)" ;;
        *) break ;;
    esac
done
[ $# -eq 2 ] || die "usage: $prog [--dockerfile PATH] BUILD_DIR OUT_DIR (see --help)"
build=$1
out=$2

for tool in cmake dpkg-query readelf; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed (scripts/deps --build)"
done
[ -f "$build/CMakeCache.txt" ] || die "$build is not a CMake build directory (no CMakeCache.txt)"
[ -f "$dockerfile" ] || die "no Dockerfile at $dockerfile"

# The runtime packages, as the Dockerfile's runtime stage installs them.
line=$(grep -E '^ARG RUNTIME_LIBS=' "$dockerfile" || true)
[ -n "$line" ] || die "$dockerfile has no line 'ARG RUNTIME_LIBS=\"...\"'"
line=${line#ARG RUNTIME_LIBS=}
line=${line//\"/}
read -r -a runtime_pkgs <<<"$line"
[ ${#runtime_pkgs[@]} -gt 0 ] || die "RUNTIME_LIBS is empty in $dockerfile"

# One look at dpkg's database: every installed package of this
# architecture (or all) and what it depends on.
arch=$(dpkg --print-architecture)
declare -A deps_of=()
while IFS=$'\t' read -r name a status deps; do
    [ "$status" = "install ok installed" ] || continue
    [ "$a" = "$arch" ] || [ "$a" = all ] || continue
    deps_of[$name]=$deps
done < <(dpkg-query -W -f='${Package}\t${Architecture}\t${Status}\t${Pre-Depends},${Depends}\n')

# The packages and everything they depend on (Pre-Depends, Depends; of
# alternatives the first one installed), as apt-get would install them.
declare -A seen=()
closure=()
visit() {
    local p=$1 alt a chosen
    local -a alts opts
    [ -n "${seen[$p]:-}" ] && return 0
    seen[$p]=1
    closure+=("$p")
    IFS=, read -r -a alts <<<"${deps_of[$p]}"
    for alt in "${alts[@]}"; do
        alt=$(sed -E 's/\([^)]*\)//g; s/\[[^]]*\]//g; s/:[a-z0-9]+//g; s/[[:space:]]//g' <<<"$alt")
        [ -n "$alt" ] || continue
        IFS='|' read -r -a opts <<<"$alt"
        chosen=
        for a in "${opts[@]}"; do
            if [ -n "${deps_of[$a]+x}" ]; then chosen=$a; break; fi
        done
        [ -n "$chosen" ] || die "$p depends on '$alt', which is not installed here"
        visit "$chosen"
    done
}
for p in "${runtime_pkgs[@]}"; do
    [ -n "${deps_of[$p]+x}" ] ||
        die "$p (RUNTIME_LIBS) is not installed on this machine: apt-get install $p"
    visit "$p"
done

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cmake --install "$build" --prefix "$stage/prefix" --strip >"$stage/install.log" 2>&1 ||
    { cat "$stage/install.log" >&2; die "cmake --install $build failed (is it built? cmake --build $build)"; }
bin=$stage/prefix/bin/tp-producer
[ -x "$bin" ] || die "$build installs no bin/tp-producer (configured with TP_BUILD_EXAMPLES=OFF?)"

# OUT_DIR: new, empty, or an earlier output of this script (replaced); never
# anything else.
if [ -e "$out" ] && [ -n "$(ls -A "$out" 2>/dev/null)" ]; then
    others=$(find "$out" -mindepth 1 -maxdepth 1 ! -name bin ! -name lib | head -n 3)
    if [ -n "$others" ] || [ ! -f "$out/bin/tp-producer" ]; then
        die "$out exists and is not an earlier output of $prog (bin/ and lib/ only): remove it, or name another"
    fi
    rm -rf "${out:?}/bin" "${out:?}/lib"
fi
mkdir -p "$out/bin" "$out/lib" || die "cannot make $out"
out=$(cd "$out" && pwd)
cp "$bin" "$out/bin/tp-producer"
chmod 0755 "$out/bin/tp-producer"
if readelf -d "$bin" | grep -q 'Shared library: \[libtradepipe\.so'; then
    so=$(readelf -d "$bin" | sed -n 's/.*Shared library: \[\(libtradepipe\.so[^]]*\)\].*/\1/p')
    src=$(find "$stage/prefix" -name "$so" | head -n 1)
    [ -n "$src" ] || die "$build installs no $so"
    cp -L "$src" "$out/lib/$so"
    chmod 0644 "$out/lib/$so"
fi

# Every shared library of those packages: files copied, symlinks made
# relative within lib/ (or copied when they point elsewhere).
declare -A taken=()
links=()
while IFS= read -r f; do
    case $f in
        */*.so|*/*.so.*) ;;
        *) continue ;;
    esac
    [[ ${f%/*} =~ ^(/usr)?/lib(32|64)?(/[a-z0-9_]+-linux-gnu[a-z0-9_]*)?$ ]] || continue
    [ -e "$f" ] || continue
    name=${f##*/}
    [ -n "${taken[$name]:-}" ] && continue
    taken[$name]=1
    if [ -L "$f" ]; then
        links+=("$f")
    else
        cp "$f" "$out/lib/$name"
    fi
done < <(dpkg-query -L "${closure[@]}")
for f in "${links[@]}"; do
    name=${f##*/}
    target=$(readlink -f "$f")
    if [ -f "$out/lib/${target##*/}" ] && [ ! -L "$out/lib/${target##*/}" ]; then
        ln -s "${target##*/}" "$out/lib/$name"
    else
        cp -L "$f" "$out/lib/$name"
    fi
done

# The loader tp-producer asks for (PT_INTERP), from libc6's files above.
interp=$(readelf -l "$bin" | sed -n 's/.*Requesting program interpreter: \(.*\)\]/\1/p')
[ -n "$interp" ] || die "tp-producer has no program interpreter (linked statically?)"
loader=$out/lib/${interp##*/}
[ -e "$loader" ] || die "no package of RUNTIME_LIBS' closure provides the loader ${interp##*/}"

# What the program loads, resolved by the bundled loader from lib/ alone.
listing=$(env -i "$loader" --inhibit-cache --library-path "$out/lib" --list "$out/bin/tp-producer") ||
    die "the bundled loader cannot list tp-producer's libraries:
$listing"
bad=0
while read -r name arrow path _; do
    [ "$arrow" = "=>" ] || continue
    case $path in
        "$out"/lib/*) ;;
        *)
            owner=$(dpkg -S "$(readlink -f "$path" 2>/dev/null || echo "$path")" 2>/dev/null | cut -d: -f1 | head -n 1)
            echo "$prog: tp-producer needs $name, which RUNTIME_LIBS does not provide (found: $path${owner:+, package $owner}): add ${owner:-its package} to ARG RUNTIME_LIBS in $dockerfile" >&2
            bad=1 ;;
    esac
done <<<"$listing"
[ "$bad" = 0 ] || exit 1

n=$(find "$out/lib" -mindepth 1 | wc -l)
echo "$prog: $out: bin/tp-producer and $n files in lib/ (packages: ${closure[*]})" >&2
