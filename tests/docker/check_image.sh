#!/bin/sh
# What can be checked about docker/Dockerfile without a Docker engine:
#  1. every path the Dockerfile copies from the build context exists;
#  2. the packages its runtime stage installs (with what they depend on) provide every shared
#     library `ldd` lists for the built binary, so the image cannot fail to start for want of
#     a library;
#  3. the HEALTHCHECK runs the binary's own `health` command, which exists;
#  4. what the runtime stage prunes from the base image holds none of those libraries, and the
#     final stage flattens the runtime stage (or the pruning would not shrink the image).
# usage: check_image.sh SOURCE_DIR WEBHOOKY_BINARY
set -eu
src=$1
bin=$2
dockerfile=$src/docker/Dockerfile
fail=0
problem() { echo "FAIL: $*" >&2; fail=1; }

# 1. COPY sources (not --from=...) relative to the build context
grep -E '^COPY ' "$dockerfile" | grep -v -- '--from=' | while read -r _ srcpath _dest; do
    [ "$srcpath" = "." ] && continue
    if [ ! -e "$src/$srcpath" ]; then
        echo "FAIL: the Dockerfile copies $srcpath, which does not exist" >&2
        exit 1
    fi
    echo "ok: COPY $srcpath exists"
done || fail=1

# 2. runtime packages: the apt-get install line of the stage named runtime
runtime=$(awk '/^FROM /{in_rt = ($0 ~ / AS runtime$/)} in_rt && /apt-get install/{f=1} in_rt && f{pkgs=pkgs" "$0} /&& rm -rf/{f=0} END{print pkgs}' "$dockerfile" |
    sed 's/[[:space:]\\]\{1,\}/\n/g' | grep -E '^lib[a-z0-9.+-]+$' | sort -u)
[ -n "$runtime" ] || problem "no runtime packages found in $dockerfile"
# everything those packages pull in (installed here, so dpkg knows their dependencies)
closure=$runtime
todo=$runtime
while [ -n "$todo" ]; do
    next=""
    for p in $todo; do
        deps=$(dpkg-query -W -f='${Depends} ${Pre-Depends}\n' "$p" 2>/dev/null |
            sed 's/[,|]/\n/g' | sed 's/([^)]*)//g; s/:any//g; s/^ *//; s/ *$//' | grep -v '^$' || true)
        for d in $deps; do
            case " $(echo "$closure" | tr '\n' ' ') " in
            *" $d "*) ;;
            *) closure="$closure
$d"; next="$next $d" ;;
            esac
        done
    done
    todo=$next
done
libs=$(ldd "$bin" | awk '$3 ~ /^\// {print $3} $1 ~ /^\// {print $1}')
for lib in $libs; do
    real=$(readlink -f "$lib")
    pkg=$(dpkg -S "$real" 2>/dev/null || dpkg -S "$lib" 2>/dev/null || true)
    pkg=$(echo "$pkg" | head -n 1 | cut -d: -f1)
    if [ -z "$pkg" ]; then
        problem "$lib (from ldd) belongs to no Debian package"
        continue
    fi
    # libc6 is in every Debian image
    if [ "$pkg" = libc6 ] || echo "$closure" | grep -qx "$pkg"; then
        echo "ok: $(basename "$lib") from $pkg"
    else
        problem "$(basename "$lib") comes from $pkg, which the runtime stage does not install"
    fi
done

# 4. pruning: no library the binary loads is under a path `RUN rm -rf` removes
pruned=$(awk '/^FROM /{in_rt = ($0 ~ / AS runtime$/)} in_rt && /^RUN rm -rf /{for (i = 4; i <= NF; i++) print $i}' "$dockerfile")
[ -n "$pruned" ] && echo "ok: the runtime stage prunes: $(echo "$pruned" | tr "\n" " ")"
set -f # the pruned paths are globs to match, not to expand here
for lib in $libs; do
    real=$(readlink -f "$lib")
    for p in $pruned; do
        # shellcheck disable=SC2254 # the pattern is a glob on purpose
        case "$lib" in $p | $p/*) problem "$lib is under $p, which the Dockerfile removes" ;; esac
        case "$real" in $p | $p/*) problem "$real is under $p, which the Dockerfile removes" ;; esac
    done
done
set +f
if [ -n "$pruned" ]; then
    awk '/^FROM /{last=$0} END{exit !(last ~ /^FROM scratch/)}' "$dockerfile" ||
        problem "the Dockerfile prunes files but its last stage does not flatten (FROM scratch)"
    grep -qE '^COPY --from=runtime / /$' "$dockerfile" ||
        problem "the last stage does not copy the runtime stage's whole filesystem"
fi

# 3. the health check uses the binary itself
grep -qE '^HEALTHCHECK .*"webhooky", "health"' "$dockerfile" || problem "HEALTHCHECK does not run webhooky health"
"$bin" health --help >/dev/null || problem "webhooky health --help failed"
grep -qE '^ENTRYPOINT \["webhooky"\]' "$dockerfile" || problem "ENTRYPOINT is not webhooky"
grep -qE '^USER ' "$dockerfile" || problem "the image runs as root"

exit $fail
