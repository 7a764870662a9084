/* filter: which deliveries a query, a long-poll or a delete is about.
 *
 * One struct serves three places that must agree: the SQL the store runs, the in-memory test
 * the long-poll applies to freshly committed deliveries, and the parser for the API's query
 * string. Strings in a filter are borrowed; the filter never owns memory. */
#ifndef WEBHOOKY_FILTER_H
#define WEBHOOKY_FILTER_H

#include <stdbool.h>
#include <stdint.h>

#include "delivery.h"
#include "wh_error.h"

/* The endpoint filter value that selects deliveries to the catch-all (no endpoint). It cannot
 * clash with a configured name, which must start with a letter or digit. */
#define FILTER_CATCH_ALL "-"

/* The verdict a delivery without a signature scheme (or without schemas) has in the API. */
#define FILTER_NOT_CONFIGURED "not_configured"

#define FILTER_DEFAULT_LIMIT 100
#define FILTER_MAX_LIMIT 1000

struct delivery_filter {
    const char *endpoint; /* NULL: any; FILTER_CATCH_ALL: the catch-all; else that endpoint */
    const char *method;   /* NULL: any; else exact, case-sensitive ("POST") */
    int64_t since_id;     /* only ids greater than this (0: from the start) */
    int64_t upto_id;      /* only ids up to and including this; 0: no upper bound */
    int64_t limit;        /* at most this many rows; 0: no limit */
    bool desc;            /* newest first instead of oldest first */
    /* the inspection page's filters (NULL / 0: any) */
    const char *event;     /* exact event name */
    const char *signature; /* signature verdict: "valid", ..., "not_configured" */
    const char *schema;    /* schema verdict: "valid", ..., "not_configured" */
    const char *text;      /* bytes the body contains (case-sensitive, `q` in the API) */
    int64_t before_id;     /* only ids less than this (paging newest first) */
    bool no_body;          /* rows come without their body (body.len 0): for lists */
};

/* All deliveries, oldest first, no limit. */
void filter_init(struct delivery_filter *f);

/* Does the delivery pass the filter (limit, order and no_body aside)? */
bool filter_match(const struct delivery_filter *f, const struct delivery *d);

/* Set one field from an API query argument. Knows endpoint, method, since_id, limit, order,
 * event, signature, schema, q and before_id.
 * Returns 1 when the key was consumed, 0 when it is not a filter key, or -EINVAL with a
 * message naming the key and the accepted values. `value` is borrowed for the filter's
 * lifetime. */
int filter_set_arg(struct delivery_filter *f, const char *key, const char *value,
                   struct wh_error *err);

/* Strict decimal parse of a whole string into [min, max]; 0 or -EINVAL. */
int filter_parse_int(const char *s, int64_t min, int64_t max, int64_t *ret);

#endif
