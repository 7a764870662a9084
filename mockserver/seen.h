/* seen: "have I seen this key before?" with a bounded memory, for replay detection.
 *
 * Holds the most recent `capacity` keys (the oldest is forgotten first) in a hash table with a
 * ring for eviction. Thread-safe. Used for Twenty's X-Twenty-Webhook-Nonce per endpoint; keys
 * seen before the receiver started are not known. */
#ifndef WEBHOOKY_SEEN_H
#define WEBHOOKY_SEEN_H

#include <stdbool.h>
#include <stddef.h>

#include "wh_error.h"

typedef struct seen_set seen_set;

int seen_set_create(size_t capacity, seen_set **ret, struct wh_error *err);
void seen_set_destroy(seen_set *s);

/* Record key[0..len) and say whether it was already there. Keys longer than 80 bytes are
 * compared on their first 80 bytes. Returns false (and records nothing) on out of memory. */
bool seen_set_check_add(seen_set *s, const void *key, size_t len);

#endif
