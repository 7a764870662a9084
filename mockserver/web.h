/* web: the inspection page in the browser and the API routes only it needs.
 *
 * Serves the page's files (compiled into the binary, see web/gen.c) under /_webhooky/ with a
 * strict Content-Security-Policy; a live stream of committed deliveries as Server-Sent Events
 * (GET /_webhooky/api/stream); delivery summaries with a count of what matched (GET
 * /_webhooky/api/summaries); exports as HAR and JSON lines, streamed page by page from the
 * store; a replay of a delivery to another URL, run on a thread of its own while the request's
 * connection is parked; and POST /_webhooky/api/session, which turns the admin token into a
 * cookie that only the event stream accepts (EventSource cannot send headers).
 *
 * Nothing here holds an HTTP thread: an idle event stream is a suspended connection that a
 * commit, its heartbeat timer or shutdown resumes. The admin routes (admin.c) stay the API
 * for programs; this module is called from admin_handle and the server's hooks. */
#ifndef WEBHOOKY_WEB_H
#define WEBHOOKY_WEB_H

#include <stdbool.h>
#include <stdint.h>

#include "server_priv.h"

/* Heartbeat comment interval of an idle event stream. */
#define WEB_HEARTBEAT_MS 15000
/* Replays running at once; more are answered 503. */
#define WEB_MAX_REPLAYS 8

struct web;
struct web_req;

/* The page's state for a server; call after the writer exists and before the HTTP daemon
 * starts. *ret is owned by the caller (web_destroy). */
int web_create(server *s, struct web **ret, struct wh_error *err);
/* NULL-safe; after web_stop and the daemon's end. */
void web_destroy(struct web *w);

/* Route a request under /_webhooky/ that the page owns: sub is the path after /_webhooky
 * ("", "/", "/ui/app.js", "/api/stream", ...), authorized tells whether the request carries
 * the admin token (or no token is configured). Returns true when the route is the page's;
 * *ret then has the access handler's result. Called again for the same request after the
 * page parked it (req->web set). Uses req->admin_body for bodies. */
bool web_handle(server *s, struct request *req, const char *method, const char *sub,
                bool authorized, enum MHD_Result *ret);

/* The writer committed ids up to last_id (writer thread): wake the event streams. */
void web_on_commit(server *s, int64_t last_id);

/* Shutdown: end every event stream, abort every replay and wait until the replays have
 * resumed their connections. Idempotent. */
void web_stop(server *s);

/* A request is complete: free what the page kept for it (req->web, req->admin_body). */
void web_request_done(server *s, struct request *req);

#endif
