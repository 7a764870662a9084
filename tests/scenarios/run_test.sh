#!/bin/sh
# `webhooky run` and `webhooky conform` on the real binary: exit statuses, reporters, -j,
# --filter, --var, --keep-db, an external receiver ("mock": {"url"}), every step kind.
#   run_test.sh WEBHOOKY SOURCE_DIR
set -u
bin=$1 src=$2
fx="$src/tests/scenarios/fixtures"
dir=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
n=0
fail() { echo "FAIL: $*"; [ -f "$dir/out" ] && cat "$dir/out"; exit 1; }
ok() { n=$((n + 1)); echo "ok $n - $*"; }
run() { "$bin" "$@" > "$dir/out" 2>&1; echo $?; }

# examples pass; JUnit is well-formed XML with a testsuite per scenario
[ "$(run run -j 2 --reporter console --reporter junit="$dir/r.xml" "$src/scenarios/examples")" = 0 ] ||
    fail "examples should pass"
xmllint --noout "$dir/r.xml" || fail "junit report is not XML"
[ "$(grep -c '<testsuite ' "$dir/r.xml")" = 3 ] || fail "3 testsuites expected"
ok "examples pass, JUnit report"

[ "$(run run --reporter json="$dir/r.json" "$fx/pass-http-send.json")" = 0 ] ||
    fail "http/send/respond scenario should pass"
ok "http, send, respond, wait and expect steps"

[ "$(run run "$fx/fail-count.json")" = 1 ] || fail "failing scenario exits 1"
grep -q "hello from the sender" "$dir/out" || fail "command output in the report"
grep -q "timed out after 300 ms with 0 of 1" "$dir/out" || fail "wait says how many arrived"
grep -q "exit status 3" "$dir/out" || fail "exit status in the report"
ok "a failing check exits 1 and the report shows the sender's output"

[ "$(run run "$src/tests/scenarios/errors/unknown-step.json")" = 2 ] || fail "broken file exits 2"
grep -q "unknown-step.json:5:6: steps\[1\].exce: unknown step 'exce'" "$dir/out" ||
    fail "broken file located"
grep -q "nothing was run" "$dir/out" || fail "nothing runs when a file is broken"
ok "a broken file exits 2 with FILE:LINE:COL"

[ "$(run run --reporter nope "$fx")" = 2 ] || fail "unknown reporter exits 2"
[ "$(run run)" = 2 ] || fail "no paths exits 2"
[ "$(run run --timeout-scale 0 "$fx")" = 2 ] || fail "bad --timeout-scale exits 2"
ok "usage errors exit 2"

[ "$(run run "$fx/needs-var.json")" = 2 ] || fail "missing --var exits 2"
grep -q 'give it with --var word=VALUE' "$dir/out" || fail "missing var named"
[ "$(run run --var word=yes "$fx/needs-var.json")" = 0 ] || fail "--var sets the value"
[ "$(run run --var word=no "$fx/needs-var.json")" = 1 ] || fail "--var value reaches the command"
ok "--var"

[ "$(run run --filter 'retrying' --reporter tap "$src/scenarios/examples")" = 0 ] || fail "filter"
grep -q "^1\.\.1$" "$dir/out" || fail "--filter runs one scenario"
[ "$(run run --filter 'no such thing' "$src/scenarios/examples")" = 2 ] || fail "filter none"
ok "--filter"

[ "$(run run --keep-db "$dir/dbs" "$src/scenarios/examples/retrying-sender")" = 0 ] || fail "keep-db"
db=$(ls "$dir"/dbs/01-*.db) || fail "no database kept"
[ "$("$bin" deliveries count --db "$db")" = 3 ] || fail "kept database holds the deliveries"
ok "--keep-db keeps the deliveries for webhooky deliveries"

"$bin" serve --listen 127.0.0.1:0 --db :memory: --config "$fx/external-config.json" \
    > "$dir/serve.log" 2>&1 &
pid=$!
i=0
while ! grep -q "listening on" "$dir/serve.log" && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
url=$(sed -n 's/^listening on \(http:[^ ]*\).*/\1/p' "$dir/serve.log")
[ -n "$url" ] || fail "serve did not start"
[ "$(WH_TEST_MOCK=$url run run "$fx/external.json")" = 0 ] || fail "external receiver"
[ "$(WH_TEST_MOCK=$url run run "$fx/external.json")" = 0 ] ||
    fail "a second run counts only its own deliveries"
kill $pid
wait $pid 2>/dev/null
pid=""
ok "an external receiver through its API"

[ "$(run conform --list --suites "$src/scenarios/conformance")" = 0 ] || fail "conform --list"
grep -qx "standard-webhooks" "$dir/out" && grep -qx twenty "$dir/out" || fail "suites listed"
[ "$(run conform twenty --suites "$src/scenarios/conformance")" = 2 ] || fail "conform needs --trigger"
[ "$(run conform nope --trigger true --secret s --suites "$src/scenarios/conformance")" = 2 ] ||
    fail "unknown suite"
ok "conform --list and usage"

# a sender whose retries are 20 s apart: the retry scenarios are skipped, the rest run
[ "$(run conform standard-webhooks --suites "$src/scenarios/conformance" -j 2 \
    --secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw --max-interval-ms 300 --reporter tap \
    --trigger 'webhooky send "$WEBHOOKY_URL" --scheme standard-webhooks --secret "$WEBHOOKY_SECRET" --event "$WEBHOOKY_EVENT" --retries 3 --backoff fixed:20000 --timeout 2000 >/dev/null 2>&1 &')" = 0 ] ||
    fail "conform --max-interval-ms"
grep -q "4 deliveries arrive # SKIP 1 of 4 arrived; the next is more than --max-interval-ms 300 ms" \
    "$dir/out" || fail "retries further apart than --max-interval-ms are skipped"
grep -q "^    ok [0-9]* - signature valid on every delivery$" "$dir/out" ||
    fail "scenarios about one delivery still run"
ok "conform --max-interval-ms skips what it cannot wait for"

for c in run conform; do
    "$bin" $c --help | grep -q "^usage: webhooky $c" || fail "$c --help"
done
ok "--help"
echo "1..$n"
