/* replay: send a captured delivery again, to another URL, as it was received.
 *
 * The method, the headers (in their order, duplicates kept) and the stored body bytes go out
 * unchanged; only what names the old hop is left out (Host, Content-Length, Transfer-Encoding,
 * Connection, Keep-Alive, Expect, TE, Upgrade, Proxy-*), since the new request gets its own.
 * Redirects are not followed; only http and https URLs are accepted. replay_send blocks (it
 * runs libcurl): the receiver calls it on a thread of its own, the CLI calls it directly.
 * This module does not know about HTTP servers; it is not for sending new deliveries. */
#ifndef WEBHOOKY_REPLAY_H
#define WEBHOOKY_REPLAY_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "delivery.h"
#include "wh_error.h"

/* Bytes of the answer's body that are kept; the rest is counted and dropped. */
#define REPLAY_MAX_BODY (64u * 1024u)
/* Longest URL accepted. */
#define REPLAY_MAX_URL 2048
/* The whole exchange, connection included, may take this long. */
#define REPLAY_TIMEOUT_MS 10000

struct replay_result {
    long status;         /* the answer's HTTP status */
    struct buf headers;  /* the answer's headers, a blob as in delivery.h (header_iter) */
    struct buf body;     /* its first REPLAY_MAX_BODY bytes */
    uint64_t body_size;  /* bytes of body received in all */
    int64_t duration_us; /* from the start of the request to the end of the answer */
};

void replay_result_init(struct replay_result *r);
void replay_result_finish(struct replay_result *r);

/* Check that url is an http or https URL of at most REPLAY_MAX_URL bytes without spaces or
 * control characters: 0 or -EINVAL with a message. */
int replay_check_url(const char *url, struct wh_error *err);

/* Read the API's request body {"url": "http://..."}: on success *ret_url is a new string the
 * caller frees. -EINVAL with a message naming what is wrong. */
int replay_parse_request(const void *body, size_t len, char **ret_url, struct wh_error *err);

/* Send d to url and wait for the answer (at most REPLAY_TIMEOUT_MS). abort (may be NULL) is
 * polled while waiting: set it to give up early (-ECANCELED). The result is written to ret
 * (initialised by the caller) only on success. Errors: -EINVAL (bad URL), -ECONNREFUSED,
 * -ETIMEDOUT, -EHOSTUNREACH, -ECANCELED, -EIO; the message says what curl said. */
int replay_send(const struct delivery *d, const char *url, const atomic_bool *abort,
                struct replay_result *ret, struct wh_error *err);

/* The API's JSON for a replay's answer: {"delivery_id", "url", "status", "headers",
 * "body" | "body_base64", "body_size", "truncated", "duration_us"}; a new reference, or NULL
 * on out of memory. url is borrowed. */
json_t *replay_result_to_json(const struct replay_result *r, int64_t delivery_id, const char *url);

#endif
