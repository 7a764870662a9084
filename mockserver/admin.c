/* admin: the JSON API under /_webhooky/ (health, metrics, deliveries, long-poll).
 *
 * Runs on the HTTP threads. Reads go through a pooled read-only store; deletes go through the
 * writer like every other write, so the receiver keeps a single writer. A long-poll parks its
 * connection and is woken by the writer's commit hook or by its timer; no thread waits. */
#include <errno.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "encode.h"
#include "server_priv.h"
#include "web.h"

#define ADMIN_MAX_BODY (1u << 20)
#define MAX_WAIT_MS 300000
/* How often a parked long-poll looks whether its client has gone. */
#define PEER_CHECK_US (500 * 1000)

/* ---- long-poll ---- */

static void unlink_waiter(server *s, struct waiter *w)
{
    if (!w->linked)
        return;
    if (w->prev)
        w->prev->next = w->next;
    else
        s->waiters = w->next;
    if (w->next)
        w->next->prev = w->prev;
    w->prev = w->next = NULL;
    w->linked = false;
}

/* Caller holds wait_lock. */
static void wake(server *s, struct waiter *w)
{
    bool parked = w->state == WAIT_PENDING;
    unlink_waiter(s, w);
    w->state = WAIT_DONE;
    if (parked)
        server_resume(w->req);
}

void admin_on_commit(void *arg, const struct writer_job *batch, int64_t last_id)
{
    server *s = arg;
    pthread_mutex_lock(&s->wait_lock);
    s->committed_last = last_id;
    for (struct waiter *w = s->waiters, *next; w; w = next) {
        next = w->next;
        int64_t n = 0;
        for (const struct writer_job *j = batch; j; j = j->next)
            if (j->kind == WRITER_INSERT && j->rc == 0 && filter_match(&w->filter, j->delivery))
                n++;
        if (!n)
            continue;
        if (w->state == WAIT_COUNTING) {
            w->extra += n;
        } else if (w->state == WAIT_PENDING) {
            w->need -= n;
            if (w->need <= 0)
                wake(s, w);
        }
    }
    pthread_mutex_unlock(&s->wait_lock);
    web_on_commit(s, last_id);
}

/* When the next look at a parked long-poll is due: its deadline, or sooner to see whether its
 * client is still there. */
static int64_t waiter_next_check(const struct waiter *w, int64_t now)
{
    int64_t next = now + PEER_CHECK_US;
    return next < w->deadline_us ? next : w->deadline_us;
}

static void waiter_timeout(struct timer_entry *e, void *arg)
{
    struct waiter *w = arg;
    server *s = w->req->srv;
    pthread_mutex_lock(&s->wait_lock);
    if (w->state == WAIT_PENDING) {
        /* a client that gave up must not hold its connection until the deadline (minutes):
         * enough of them would use up --max-connections */
        int64_t now = timer_now_us();
        if (now >= w->deadline_us || server_peer_gone(w->req->conn) ||
            timer_schedule(s->timers, &w->timer, waiter_next_check(w, now), waiter_timeout, w) <
                0)
            wake(s, w);
    }
    pthread_mutex_unlock(&s->wait_lock);
}

void admin_wake_all(server *s)
{
    pthread_mutex_lock(&s->wait_lock);
    s->stopping = true;
    while (s->waiters)
        wake(s, s->waiters);
    pthread_mutex_unlock(&s->wait_lock);
    web_stop(s);
}

void admin_request_done(server *s, struct request *req)
{
    timer_cancel(s->timers, &req->wait.timer);
    pthread_mutex_lock(&s->wait_lock);
    unlink_waiter(s, &req->wait);
    pthread_mutex_unlock(&s->wait_lock);
    web_request_done(s, req);
}

/* ---- helpers ---- */

static const char *arg(struct request *req, const char *key)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, key);
}

struct arg_check {
    const char *const *known;
    const char *bad;
};

static enum MHD_Result check_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    struct arg_check *c = cls;
    for (const char *const *k = c->known; *k; k++)
        if (strcmp(*k, key) == 0)
            return MHD_YES;
    c->bad = key;
    return MHD_NO;
}

/* NULL when every query argument is known, else the first unknown key (borrowed). */
static const char *unknown_arg(struct request *req, const char *const *known)
{
    struct arg_check c = {known, NULL};
    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, check_arg, &c);
    return c.bad;
}

static bool authorized(server *s, struct request *req)
{
    if (!s->opts.admin_token)
        return true;
    const char *h = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
                                                MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return false;
    h += 7;
    unsigned char d[32];
    unsigned int dl = 0;
    if (!EVP_Digest(h, strlen(h), d, &dl, EVP_sha256(), NULL))
        return false;
    return CRYPTO_memcmp(d, s->token_digest, sizeof(d)) == 0;
}

static enum MHD_Result unauthorized(struct request *req)
{
    const char *msg = "{\"error\":\"this API needs the admin token: send 'Authorization: Bearer "
                      "TOKEN'\"}\n";
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(msg), (void *)(uintptr_t)msg, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"webhooky\"");
    return server_queue_response(req->conn, MHD_HTTP_UNAUTHORIZED, resp);
}

static enum MHD_Result method_not_allowed(struct request *req, const char *allow)
{
    char msg[128];
    int n = snprintf(msg, sizeof(msg), "{\"error\":\"method not allowed here; use %s\"}\n", allow);
    struct MHD_Response *resp = MHD_create_response_from_buffer((size_t)n, msg, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    return server_queue_response(req->conn, MHD_HTTP_METHOD_NOT_ALLOWED, resp);
}

/* Parse the filter arguments; on error the response is queued and false returned. */
static bool read_filter(struct request *req, struct delivery_filter *f, enum MHD_Result *ret)
{
    static const char *const keys[] = {"endpoint", "method", "since_id", "limit", "order",
                                       "event", "signature", "schema", "q", "before_id"};
    struct wh_error err;
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const char *v = arg(req, keys[i]);
        if (v && filter_set_arg(f, keys[i], v, &err) < 0) {
            *ret = server_respond_error(req->conn, 400, "%s", err.msg);
            return false;
        }
    }
    return true;
}

/* ---- GET /api/deliveries ---- */

static int append_row(void *arg, const struct delivery *d)
{
    json_t *list = arg;
    json_t *o = delivery_to_json(d);
    return o && json_array_append_new(list, o) == 0 ? 0 : -ENOMEM;
}

static enum MHD_Result list_now(server *s, struct request *req, const struct delivery_filter *f)
{
    struct wh_error err;
    store *st = NULL;
    int r = server_reader_acquire(s, &st, &err);
    if (r < 0)
        return server_respond_error(req->conn, 500, "%s", err.msg);
    json_t *list = json_array();
    struct delivery_filter q = *f;
    if (q.limit == 0)
        q.limit = FILTER_DEFAULT_LIMIT;
    int64_t last = 0;
    r = list ? store_foreach(st, &q, append_row, list, &err) : -ENOMEM;
    if (r == 0)
        r = store_last_id(st, &last, &err);
    server_reader_release(s, st);
    if (r < 0) {
        json_decref(list);
        return server_respond_error(req->conn, 500, "%s", r == -ENOMEM ? "out of memory" : err.msg);
    }
    return server_respond_json(req->conn, 200, json_pack("{sosI}", "deliveries", list, "last_id",
                                                         (json_int_t)last));
}

/* list_now on req->wait.filter, on a reader thread (server_offload) */
static enum MHD_Result list_route(server *s, struct request *req)
{
    return list_now(s, req, &req->wait.filter);
}

/* A long-poll, on a reader thread (server_offload): register, count what is already stored,
 * and answer at once when that is enough; otherwise leave the connection parked for the
 * commit hook or the timer to resume. */
static enum MHD_Result wait_route(server *s, struct request *req)
{
    struct waiter *w = &req->wait;
    /* Register first, then count what is stored up to the id seen at registration; commits
     * after that id are counted by the hook, so nothing is missed or counted twice. */
    w->req = req;
    pthread_mutex_lock(&s->wait_lock);
    if (s->stopping) {
        pthread_mutex_unlock(&s->wait_lock);
        return list_now(s, req, &w->filter);
    }
    int64_t upto = s->committed_last;
    w->state = WAIT_COUNTING;
    w->extra = 0;
    w->next = s->waiters;
    w->prev = NULL;
    if (s->waiters)
        s->waiters->prev = w;
    s->waiters = w;
    w->linked = true;
    pthread_mutex_unlock(&s->wait_lock);

    struct delivery_filter cf = w->filter;
    cf.upto_id = upto;
    cf.limit = w->min_count;
    int64_t have = 0;
    struct wh_error err;
    store *st = NULL;
    int r = 0;
    /* with nothing committed yet there is nothing to count, and an upto_id of 0 would mean
     * "no upper bound": rows committed meanwhile would be counted here and in extra */
    if (upto > 0 && (r = server_reader_acquire(s, &st, &err)) == 0) {
        r = store_count(st, &cf, &have, &err);
        server_reader_release(s, st);
    }
    pthread_mutex_lock(&s->wait_lock);
    have += w->extra;
    int64_t now = timer_now_us();
    w->deadline_us = now + w->wait_ms * 1000;
    /* the timer is set before the waiter is pending, and both under the lock: once it is
     * unlocked, the hook or the timer may resume the connection at any moment */
    if (r < 0 || have >= w->min_count || s->stopping ||
        timer_schedule(s->timers, &w->timer, waiter_next_check(w, now), waiter_timeout, w) < 0) {
        unlink_waiter(s, w);
        w->state = WAIT_DONE;
        pthread_mutex_unlock(&s->wait_lock);
        if (r < 0)
            return server_respond_error(req->conn, 500, "%s", err.msg);
        return list_now(s, req, &w->filter);
    }
    w->need = w->min_count - have;
    w->state = WAIT_PENDING;
    server_offload_keep_parked();
    pthread_mutex_unlock(&s->wait_lock);
    return MHD_YES;
}

static enum MHD_Result list_deliveries(server *s, struct request *req)
{
    struct waiter *w = &req->wait;
    if (req->state == RS_READY) /* a long-poll's wait, or the read, is over */
        return server_offload(s, req, list_route);
    static const char *const known[] = {"endpoint", "method",  "since_id",  "limit",
                                        "order",    "wait_ms", "min_count", "event",
                                        "signature", "schema", "q", "before_id", NULL};
    const char *bad = unknown_arg(req, known);
    if (bad)
        return server_respond_error(req->conn, 400,
                                    "unknown query argument '%.64s' (known: endpoint, method, "
                                    "since_id, limit, order, wait_ms, min_count, event, "
                                    "signature, schema, q, before_id)", bad);
    enum MHD_Result ret;
    filter_init(&w->filter);
    if (!read_filter(req, &w->filter, &ret))
        return ret;
    int64_t wait_ms = 0, min_count = 1;
    const char *v;
    if ((v = arg(req, "wait_ms")) && filter_parse_int(v, 0, MAX_WAIT_MS, &wait_ms) < 0)
        return server_respond_error(req->conn, 400,
                                    "wait_ms must be a whole number from 0 to %d, not '%.64s'",
                                    MAX_WAIT_MS, v);
    if ((v = arg(req, "min_count")) && filter_parse_int(v, 1, 1000000, &min_count) < 0)
        return server_respond_error(req->conn, 400,
                                    "min_count must be a whole number from 1 to 1000000, not "
                                    "'%.64s'", v);
    if (wait_ms == 0)
        return server_offload(s, req, list_route);
    w->wait_ms = wait_ms;
    w->min_count = min_count;
    return server_offload(s, req, wait_route);
}

/* The handler is called again after a resume: a parked long-poll answers now. */
static bool resumed(struct request *req)
{
    if (req->state == RS_PARKED && req->wait.state == WAIT_DONE)
        req->state = RS_READY;
    return req->state == RS_READY;
}

/* ---- one delivery, its body, delete ---- */

static enum MHD_Result get_one(server *s, struct request *req, int64_t id, bool body)
{
    struct wh_error err;
    store *st = NULL;
    struct delivery *d = NULL;
    int r = server_reader_acquire(s, &st, &err);
    if (r == 0) {
        r = store_get(st, id, &d, &err);
        server_reader_release(s, st);
    }
    if (r == -ENOENT)
        return server_respond_error(req->conn, 404, "no delivery with id %" PRId64, id);
    if (r < 0)
        return server_respond_error(req->conn, 500, "%s", err.msg);
    enum MHD_Result ret;
    if (!body) {
        ret = server_respond_json(req->conn, 200, delivery_to_json(d));
        delivery_destroy(d);
        return ret;
    }
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        d->body.len, d->body.data ? d->body.data : (char *)"", MHD_RESPMEM_MUST_COPY);
    if (!resp) {
        delivery_destroy(d);
        return MHD_NO;
    }
    size_t ctl = 0;
    const char *ct = delivery_header(d, "Content-Type", &ctl);
    char ctbuf[256];
    if (ct && ctl < sizeof(ctbuf) && !memchr(ct, '\r', ctl) && !memchr(ct, '\n', ctl) &&
        !memchr(ct, '\0', ctl)) {
        memcpy(ctbuf, ct, ctl);
        ctbuf[ctl] = '\0';
    } else {
        snprintf(ctbuf, sizeof(ctbuf), "application/octet-stream");
    }
    if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctbuf) != MHD_YES)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/octet-stream");
    char disp[96];
    snprintf(disp, sizeof(disp), "attachment; filename=\"delivery-%" PRId64 ".body\"", id);
    MHD_add_response_header(resp, "Content-Disposition", disp);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (d->truncated)
        MHD_add_response_header(resp, "X-Webhooky-Truncated", "true");
    ret = server_queue_response(req->conn, 200, resp);
    delivery_destroy(d);
    return ret;
}

static enum MHD_Result delete_deliveries(server *s, struct request *req)
{
    if (req->state == RS_READY) {
        req->state = RS_ANSWERED;
        if (req->job.rc < 0)
            return server_respond_error(req->conn, 500, "could not delete: %s",
                                        strerror(-req->job.rc));
        return server_respond_json(req->conn, 200,
                                   json_pack("{sI}", "deleted", (json_int_t)req->job.result));
    }
    static const char *const known[] = {"endpoint", NULL};
    const char *bad = unknown_arg(req, known);
    if (bad)
        return server_respond_error(req->conn, 400,
                                    "unknown query argument '%.64s' (known: endpoint)", bad);
    req->job.kind = WRITER_DELETE;
    filter_init(&req->job.filter);
    req->job.filter.endpoint = arg(req, "endpoint");
    return server_park_job(s, req);
}

static enum MHD_Result metrics_page(server *s, struct request *req)
{
    struct writer_stats ws;
    writer_get_stats(s->writer, &ws);
    struct buf out;
    buf_init(&out, 0);
    enum MHD_Result r;
    if (metrics_render(s->metrics, &ws, &out) < 0)
        r = server_respond_error(req->conn, 500, "out of memory");
    else
        r = server_respond(req->conn, 200, "text/plain; version=0.0.4; charset=utf-8", out.data,
                           out.len);
    buf_finish(&out);
    return r;
}

/* ---- routing ---- */

enum MHD_Result admin_handle(server *s, struct request *req, const char *method,
                             const char *upload_data, size_t *upload_data_size)
{
    if (req->state == RS_NEW) {
        req->state = RS_BODY;
        return MHD_YES;
    }
    if (*upload_data_size) {
        /* kept for the routes that take a body (a script, a replay), with a cap */
        req->admin_body_len += *upload_data_size;
        if (req->admin_body_len > ADMIN_MAX_BODY) {
            *upload_data_size = 0;
            req->state = RS_ANSWERED;
            return server_respond_error(req->conn, 413, "admin request body too large");
        }
        if (buf_append(&req->admin_body, upload_data, *upload_data_size) < 0)
            return MHD_NO;
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (req->state == RS_ANSWERED)
        return MHD_YES;
    if (req->state == RS_PARKED && !resumed(req))
        return MHD_YES;

    char path[256];
    const char *q = strchr(req->uri, '?');
    size_t pl = q ? (size_t)(q - req->uri) : strlen(req->uri);
    if (pl >= sizeof(path))
        return server_respond_error(req->conn, 404, "no such admin route");
    memcpy(path, req->uri, pl);
    path[pl] = '\0';
    const char *sub = path + strlen("/_webhooky");
    bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;

    if (strcmp(sub, "/health") == 0) {
        if (!get)
            return method_not_allowed(req, "GET");
        req->state = RS_ANSWERED;
        return server_respond(req->conn, 200, "application/json", "{\"status\":\"ok\"}\n", 16);
    }
    if (strcmp(sub, "/metrics") == 0) {
        if (!get)
            return method_not_allowed(req, "GET");
        req->state = RS_ANSWERED;
        return metrics_page(s, req);
    }
    enum MHD_Result web_ret;
    if (web_handle(s, req, method, sub, authorized(s, req), &web_ret))
        return web_ret;
    if (strncmp(sub, "/api/", 5) != 0 && strcmp(sub, "/api") != 0) {
        req->state = RS_ANSWERED;
        return server_respond_error(req->conn, 404,
                                    "no such admin route; see /_webhooky/api/deliveries, "
                                    "/_webhooky/health, /_webhooky/metrics");
    }
    if (req->state != RS_READY && !authorized(s, req)) {
        req->state = RS_ANSWERED;
        return unauthorized(req);
    }
    const char *api = sub + 4;
    if (strcmp(api, "/deliveries") == 0) {
        if (get)
            return list_deliveries(s, req);
        if (strcmp(method, "DELETE") == 0)
            return delete_deliveries(s, req);
        return method_not_allowed(req, "GET, DELETE");
    }
    if (strncmp(api, "/deliveries/", 12) == 0) {
        const char *rest = api + 12;
        char idtext[32];
        const char *slash = strchr(rest, '/');
        size_t il = slash ? (size_t)(slash - rest) : strlen(rest);
        int64_t id;
        if (il == 0 || il >= sizeof(idtext))
            return server_respond_error(req->conn, 404, "no such admin route");
        memcpy(idtext, rest, il);
        idtext[il] = '\0';
        if (filter_parse_int(idtext, 1, INT64_MAX, &id) < 0)
            return server_respond_error(req->conn, 400, "a delivery id is a whole number >= 1, "
                                                        "not '%.31s'", idtext);
        bool body = slash && strcmp(slash, "/body") == 0;
        if (slash && !body)
            return server_respond_error(req->conn, 404, "no such admin route");
        if (!get)
            return method_not_allowed(req, "GET");
        req->state = RS_ANSWERED;
        return get_one(s, req, id, body);
    }
    if (strcmp(api, "/endpoints") == 0 || strncmp(api, "/endpoints/", 11) == 0 ||
        strcmp(api, "/messages") == 0) {
        req->state = RS_ANSWERED;
        return admin_script_route(s, req, method, api);
    }
    req->state = RS_ANSWERED;
    return server_respond_error(req->conn, 404, "no such API route; see /_webhooky/api/deliveries");
}

const char *admin_arg(struct request *req, const char *key)
{
    return arg(req, key);
}

const char *admin_unknown_arg(struct request *req, const char *const *known)
{
    return unknown_arg(req, known);
}

enum MHD_Result admin_method_not_allowed(struct request *req, const char *allow)
{
    return method_not_allowed(req, allow);
}
