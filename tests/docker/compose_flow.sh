#!/bin/sh
# docker/compose.yaml's flow without a Docker engine: the receiver (serve with
# docker/example/endpoints.json), the example sender (docker/example/sender.sh) and the runner
# (run docker/example/scenario.json against the receiver as an external mock, writing JUnit),
# as three processes wired the way compose wires the containers. Then the same with a sender
# that signs with the wrong secret: the runner must fail and the report must say why.
# Also: every file compose.yaml mounts exists.
# usage: compose_flow.sh SOURCE_DIR WEBHOOKY_BINARY
set -eu
src=$1
bin=$2
example=$src/docker/example
compose=$src/docker/compose.yaml
tmp=$(mktemp -d)
pids=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# compose's bind mounts of ./example and the files the services use
grep -q '\./example:/example:ro' "$compose" || fail "compose.yaml does not mount ./example"
for f in endpoints.json sender.sh scenario.json; do
    [ -f "$example/$f" ] || fail "docker/example/$f is missing"
    grep -q "/example/$f" "$compose" || fail "compose.yaml does not use /example/$f"
done
echo "ok: compose.yaml's files exist"

PATH=$(dirname "$bin"):$PATH
export PATH
secret=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw

# flow RUN_NAME SENDER_SECRET: sets rc to the runner's exit status; the sender's goes to
# $tmp/NAME.sender. The receiver is stopped at the end.
flow() {
    name=$1
    mkdir -p "$tmp/$name"
    WEBHOOK_SECRET=$secret "$bin" serve --listen 127.0.0.1:0 --db "$tmp/$name/r.db" \
        --config "$example/endpoints.json" --quiet >"$tmp/$name/serve.out" 2>"$tmp/$name/serve.err" &
    server=$!
    pids="$pids $server"
    # readiness: the first line names the address
    tries=0
    until grep -q '^listening on ' "$tmp/$name/serve.out" 2>/dev/null; do
        tries=$((tries + 1))
        [ "$tries" -le 100 ] || fail "the receiver did not start: $(cat "$tmp/$name/serve.err")"
        sleep 0.1
    done
    url=$(sed -n 's/^listening on //p' "$tmp/$name/serve.out")
    (RECEIVER_URL=$url WEBHOOK_SECRET=$2 SIGNAL_DIR=$tmp/$name sh "$example/sender.sh" \
        >"$tmp/$name/sender.log" 2>&1; echo $? >"$tmp/$name.sender") &
    pids="$pids $!"
    sender=$!
    rc=0
    RECEIVER_URL=$url SIGNAL_DIR=$tmp/$name "$bin" run --reporter console \
        --reporter junit="$tmp/$name/webhooks.xml" "$example/scenario.json" \
        >"$tmp/$name/run.out" 2>&1 || rc=$?
    wait "$sender" || true
    kill "$server" 2>/dev/null || true
    wait "$server" || true
}

flow good "$secret"
[ "$rc" = 0 ] || { cat "$tmp/good/run.out" "$tmp/good/sender.log" >&2; fail "the runner exited $rc"; }
[ "$(cat "$tmp/good.sender")" = 0 ] || { cat "$tmp/good/sender.log" >&2; fail "the sender failed"; }
xmllint --noout "$tmp/good/webhooks.xml" || fail "the JUnit report is not well-formed"
grep -q 'failures="0"' "$tmp/good/webhooks.xml" || fail "the JUnit report has failures"
grep -q '<testcase' "$tmp/good/webhooks.xml" || fail "the JUnit report has no test cases"
echo "ok: receiver, sender and runner: every check passed, JUnit written"

flow bad whsec_dGhpcyBpcyBub3QgdGhlIHJpZ2h0IHNlY3JldA==
[ "$rc" = 1 ] || { cat "$tmp/bad/run.out" >&2; fail "a wrongly signing sender gave exit $rc, not 1"; }
grep -q '<failure' "$tmp/bad/webhooks.xml" || fail "no <failure> in the report"
grep -q 'signature valid on every delivery' "$tmp/bad/webhooks.xml" ||
    fail "the report does not name the signature check"
echo "ok: a sender signing with the wrong secret fails the signature check"
