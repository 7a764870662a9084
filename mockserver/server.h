/* server: the receiver's HTTP front (libmicrohttpd) and its lifetime.
 *
 * Every request outside /_webhooky/ is a delivery: it is captured whole, queued to the writer,
 * and its connection is parked until the row is committed; only then is it answered. Requests
 * under /_webhooky/ go to the admin API (admin.c). The server owns its threads (HTTP pool,
 * writer, timers) and its database handles. */
#ifndef WEBHOOKY_SERVER_H
#define WEBHOOKY_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "script.h"
#include "wh_error.h"

typedef struct server server;

enum log_format {
    LOG_NONE, /* --quiet */
    LOG_TEXT,
    LOG_JSON,
};

struct server_options {
    const char *listen;          /* "HOST:PORT"; port 0 picks a free port */
    const char *db_path;         /* file path or ":memory:" */
    const struct config *config; /* borrowed; must outlive the server */
    size_t max_body;             /* bytes; larger bodies are answered 413 */
    enum log_format log_format;  /* access log on stderr */
    const char *admin_token;     /* NULL: the API is open */
    unsigned threads;            /* HTTP threads; 0 picks the number of CPUs (at most 4) */
    unsigned connection_limit;   /* concurrent connections; 0 picks the default (1000) */
    unsigned connection_timeout_s; /* idle/slow connection timeout; 0 picks the default (30) */
    bool sync_full;              /* fsync every commit (power-loss durability) */
    struct script *respond;      /* borrowed; the catch-all's response script, NULL: 200 */
};

/* Fill opts with the defaults (127.0.0.1:8787, webhooky.db, 10 MiB, text log). */
void server_options_init(struct server_options *opts);

/* Open the database, bind the socket and start serving. Errors name the cause: -EADDRINUSE
 * (port taken), -EACCES (database), -EINVAL (bad --listen). */
int server_start(const struct server_options *opts, server **ret, struct wh_error *err);

/* Load every endpoint's schema files again (SIGHUP). An endpoint whose files fail keeps its
 * old schemas; the first failure is returned (-errno) with err naming the endpoint and file.
 * *ret_loaded (may be NULL) gets the number of schema files now in use from reloaded sets. */
int server_reload_schemas(server *s, size_t *ret_loaded, struct wh_error *err);

/* The address actually bound, e.g. "127.0.0.1:41233" (borrowed). */
const char *server_address(const server *s);

/* Stop accepting, let requests in flight finish (at most a few seconds), commit everything,
 * close the database and free the server. NULL-safe. */
void server_stop(server *s);

#endif
