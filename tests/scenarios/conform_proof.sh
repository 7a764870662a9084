#!/bin/sh
# Proof that a conformance suite catches a misbehaving sender (tests/scenarios/meson.build).
#
#   conform_proof.sh WEBHOOKY SUITE SCHEME MODE [CHECK NAME]...
#
# Runs `webhooky conform SUITE` with the reference sender (`webhooky send`) as the sender under
# test, misbehaving in MODE ("correct": not at all). With "correct", every check must pass
# (exit 0). Otherwise the run must fail (exit 1) and each CHECK NAME must be reported as
# failing, by name, in the TAP report.
set -u
bin=$1 suite=$2 scheme=$3 mode=$4
shift 4
secret=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
[ "$scheme" = twenty ] && secret=twenty-proof-secret
misbehave=""
scale=1
if [ "$mode" != correct ]; then
    misbehave="--misbehave $mode"
    scale=0.1 # the waits that must fail, fail sooner
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$bin" conform "$suite" --secret "$secret" -j 2 --timeout-scale "$scale" \
    --trigger "webhooky send \"\$WEBHOOKY_URL\" --scheme $scheme --secret \"\$WEBHOOKY_SECRET\" \
--event \"\$WEBHOOKY_EVENT\" --retries 5 --backoff exponential:50:2 --timeout 2000 $misbehave" \
    --reporter tap="$dir/report.tap" --reporter console="$dir/console.txt"
rc=$?
fail() {
    echo "FAIL: $suite with --misbehave $mode: $*"
    echo "---- console report"
    cat "$dir/console.txt"
    exit 1
}
if [ "$mode" = correct ]; then
    [ $rc -eq 0 ] || fail "exit $rc, expected 0"
    ! grep -q "not ok" "$dir/report.tap" || fail "a check failed"
    echo "ok: every check of $suite passes"
    exit 0
fi
[ $rc -eq 1 ] || fail "exit $rc, expected 1"
for name in "$@"; do
    grep -q "^ *not ok [0-9]* - $name\$" "$dir/report.tap" || fail "'$name' did not fail"
    echo "ok: $mode is caught by '$name'"
done
