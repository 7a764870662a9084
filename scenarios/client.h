/* client: HTTP from the runner (libcurl): the receiver's API, and the `http` step.
 *
 * The runner talks to the receiver only through its API, whether the receiver runs in-process
 * or is a `webhooky serve` elsewhere, so both modes behave the same. One client belongs to one
 * thread (one scenario); curl_global_init must have run before the first client_create. */
#ifndef WEBHOOKY_CLIENT_H
#define WEBHOOKY_CLIENT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "mockserver/wh_error.h"

typedef struct client client;

/* Answers larger than this are an error. */
#define CLIENT_MAX_ANSWER (256u << 20)

/* A client for the receiver at base_url ("http://127.0.0.1:41233", no trailing '/'); token
 * (may be NULL) is sent as "Authorization: Bearer TOKEN" to the API. Both are copied. */
int client_create(const char *base_url, const char *token, client **ret, struct wh_error *err);
void client_destroy(client *c); /* NULL-safe */

/* One API call: method, path under base_url ("/_webhooky/api/..."), optional body (sent with
 * Content-Type: application/json unless it does not start with '{', '[' or '"'). On success
 * *ret_status gets the HTTP status and *ret_json a new reference to the parsed answer (NULL
 * when the answer is not JSON). Transport failures are -EIO with curl's words. */
int client_api(client *c, const char *method, const char *path, const char *body, long timeout_ms,
               long *ret_status, json_t **ret_json, struct wh_error *err);

/* A page of deliveries, oldest first, with ids > since_id, to endpoint (NULL: all; "-": the
 * catch-all). wait_ms > 0 long-polls until min_count match or the time is up. *ret is a new
 * reference to the array; *ret_last_id (may be NULL) the receiver's highest id. */
int client_deliveries(client *c, const char *endpoint, int64_t since_id, long limit, long wait_ms,
                      long min_count, json_t **ret, int64_t *ret_last_id, struct wh_error *err);

/* Every delivery with id > since_id (paged), oldest first. *ret is a new reference. */
int client_all_deliveries(client *c, int64_t since_id, json_t **ret, struct wh_error *err);

/* An arbitrary request for the `http` step. headers: borrowed object Name -> string, may be
 * NULL. *ret_status the HTTP status; *ret_body (may be NULL) a new string (free it) holding
 * the answer's first bytes (at most 64 KiB). */
int client_http(const char *method, const char *url, json_t *headers, const char *body,
                size_t body_len, long timeout_ms, long *ret_status, char **ret_body,
                struct wh_error *err);

#endif
