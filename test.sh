#!/bin/sh
# Install the dependencies, build with warnings as errors, and run the whole test suite (the
# browser suite included); then again with AddressSanitizer and UndefinedBehaviorSanitizer.
set -eu
cd "$(dirname "$0")"
./scripts/install-deps
# playwright-core for the browser tests, exactly as package-lock.json pins it
(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)

[ -f build-test/build.ninja ] || meson setup build-test -Dwerror=true
ninja -C build-test
meson test -C build-test --print-errorlogs

[ -f build-asan/build.ninja ] || meson setup build-asan -Dwerror=true \
    -Db_sanitize=address,undefined -Db_lundef=false
ninja -C build-asan
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    meson test -C build-asan --print-errorlogs --timeout-multiplier 3
echo "all tests passed"
