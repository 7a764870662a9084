#!/bin/sh
# The example sender of docker/compose.yaml: a stand-in for the service under test. It waits
# until the runner says it is watching (the file "go" in $SIGNAL_DIR, which the runner's first
# step creates), then delivers two order.paid webhooks with `webhooky send`: signed with
# Standard Webhooks, retried with exponential backoff.
#
# Environment: RECEIVER_URL (http://receiver:8787), WEBHOOK_SECRET (whsec_...), SIGNAL_DIR.
set -eu
: "${RECEIVER_URL:?RECEIVER_URL is not set}"
: "${WEBHOOK_SECRET:?WEBHOOK_SECRET is not set}"
: "${SIGNAL_DIR:?SIGNAL_DIR is not set}"

# readiness: poll for the runner's signal, for at most 120 s
tries=0
until [ -e "$SIGNAL_DIR/go" ]; do
	tries=$((tries + 1))
	if [ "$tries" -gt 1200 ]; then
		echo "sender: the runner never said go ($SIGNAL_DIR/go)" >&2
		exit 1
	fi
	sleep 0.1
done

for n in 1 2; do
	webhooky send "$RECEIVER_URL/webhooks/orders" --scheme standard-webhooks \
		--secret "$WEBHOOK_SECRET" --event order.paid --id "msg_example_$n" \
		--retries 4 --backoff exponential:200:2 --timeout 5000
done
