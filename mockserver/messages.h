/* messages: deliveries grouped into messages, with their attempts and the time between them.
 *
 * A message is every delivery to one endpoint with the same message key (the message id, the
 * endpoint's message_key, or a body hash; see the README). The API's /api/messages and
 * `webhooky deliveries messages` both print this. */
#ifndef WEBHOOKY_MESSAGES_H
#define WEBHOOKY_MESSAGES_H

#include <jansson.h>

#include "filter.h"
#include "store.h"
#include "wh_error.h"

/* Read the deliveries the filter selects (its limit counts messages, not deliveries; 0: all)
 * and group them, in order of each message's first attempt:
 *   [{"endpoint", "key", "message_id", "attempts": [{"id", "received_at", "status", "fault",
 *     "delay_ms", "rule", "since_previous_ms"}], "intervals_ms": [...],
 *     "outcome": "delivered" | "failing", "delivered_attempt": N | null}]
 * "delivered" means an attempt was answered 2xx. *ret is a new array. */
int messages_collect(store *st, const struct delivery_filter *f, json_t **ret,
                     struct wh_error *err);

#endif
