#!/bin/sh
# Install the dependencies, build, and start the receiver on the example config.
# Extra arguments go to `webhooky serve` (e.g. ./run.sh --listen 0.0.0.0:8787).
set -eu
cd "$(dirname "$0")"
./scripts/install-deps
[ -f build/build.ninja ] || meson setup build --buildtype=release -Dtests=false
ninja -C build
exec ./build/webhooky serve --config mockserver/examples/endpoints.json "$@"
