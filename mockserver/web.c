#include "web.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encode.h"
#include "har.h"
#include "replay.h"
#include "web/assets.h"

#define PREFIX "/_webhooky"
/* Rows one event-stream or export read takes from the store at a time. */
#define STREAM_BATCH 50
#define EXPORT_BATCH 200
/* An export stops filling its buffer past this many bytes and sends them first. */
#define EXPORT_CHUNK (512u * 1024u)
#define SUMMARY_DEFAULT_LIMIT 50
/* The cookie that carries the admin token's hash to the event stream. */
#define TOKEN_COOKIE "webhooky_stream"

/* The page's own policy: its files only, no inline script or style, no frames, no plugins. */
#define PAGE_CSP                                                                                   \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "              \
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "             \
    "form-action 'self'"

enum web_kind { WEB_STREAM, WEB_EXPORT, WEB_REPLAY };

struct web_req {
    enum web_kind kind;
    server *srv;
    struct request *req;
    struct delivery_filter filter; /* strings borrowed from the connection's arguments */
    struct buf out;                /* bytes produced and not yet sent */
    size_t out_pos;

    /* event stream (WEB_STREAM) */
    int64_t checked;    /* deliveries with ids up to this were looked at */
    bool parked;        /* suspended in the content reader; guarded by web.lock */
    bool heartbeat_due; /* guarded by web.lock */
    bool ended;
    bool linked;
    struct web_req *prev, *next;
    struct timer_entry heartbeat;

    /* export (WEB_EXPORT) */
    bool har, started, finished;
    int64_t cursor;
    size_t rows;

    /* replay (WEB_REPLAY) */
    int64_t id;
    char *url;
    struct delivery *d;
    bool done; /* guarded by web.lock */
    int rc;
    struct replay_result res;
    struct wh_error err;
};

struct web {
    server *srv;
    pthread_mutex_t lock;
    struct web_req *streams;
    unsigned n_streams, max_streams;
    int64_t committed;
    bool stopping;
    unsigned n_replays;
    atomic_bool abort_replays;
    pthread_cond_t replays_done;
    char cookie_value[65]; /* hex SHA-256 of the admin token */
    bool curl_ready;
};

int web_create(server *s, struct web **ret, struct wh_error *err)
{
    struct web *w = calloc(1, sizeof(*w));
    if (!w)
        return wh_error_set(err, -ENOMEM, "out of memory");
    w->srv = s;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->replays_done, NULL);
    atomic_init(&w->abort_replays, false);
    w->committed = writer_last_id(s->writer);
    /* event streams hold a connection each: at most a quarter of them, 1 to 64 */
    unsigned limit = s->opts.connection_limit ? s->opts.connection_limit : 1000;
    w->max_streams = limit / 4 > 64 ? 64 : limit / 4 ? limit / 4 : 1;
    for (size_t i = 0; i < sizeof(s->token_digest); i++)
        snprintf(w->cookie_value + 2 * i, 3, "%02x", s->token_digest[i]);
    /* replays use libcurl; the pair init/cleanup is reference-counted by libcurl */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        web_destroy(w);
        return wh_error_set(err, -ENOMEM, "cannot initialise libcurl");
    }
    w->curl_ready = true;
    *ret = w;
    return 0;
}

void web_destroy(struct web *w)
{
    if (!w)
        return;
    if (w->curl_ready)
        curl_global_cleanup();
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->replays_done);
    free(w);
}

/* ---- responses ---- */

static void page_headers(struct MHD_Response *resp)
{
    MHD_add_response_header(resp, "Content-Security-Policy", PAGE_CSP);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
}

static enum MHD_Result queue(struct request *req, unsigned status, struct MHD_Response *resp)
{
    req->state = RS_ANSWERED;
    if (!resp)
        return MHD_NO;
    return server_queue_response(req->conn, status, resp);
}

static enum MHD_Result error(struct request *req, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum MHD_Result error(struct request *req, unsigned status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    req->state = RS_ANSWERED;
    return server_respond_json(req->conn, status,
                               json_pack("{so}", "error", encode_json_string(msg, strlen(msg))));
}

static enum MHD_Result json_answer(struct request *req, unsigned status, json_t *v)
{
    req->state = RS_ANSWERED;
    return server_respond_json(req->conn, status, v);
}

static enum MHD_Result not_allowed(struct request *req, const char *allow)
{
    char msg[128];
    int n = snprintf(msg, sizeof(msg), "{\"error\":\"method not allowed here; use %s\"}\n", allow);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer((size_t)n, msg, MHD_RESPMEM_MUST_COPY);
    if (resp) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    }
    return queue(req, MHD_HTTP_METHOD_NOT_ALLOWED, resp);
}

/* ---- the page's files ---- */

static enum MHD_Result serve_asset(struct request *req, const char *method, const char *name)
{
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return not_allowed(req, "GET");
    const struct web_asset *a = NULL;
    for (size_t i = 0; i < web_n_assets; i++)
        if (strcmp(web_assets[i].name, name) == 0)
            a = &web_assets[i];
    if (!a)
        return error(req, 404, "no such file of the page");
    const char *inm =
        MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
    bool fresh = inm && strcmp(inm, a->etag) == 0;
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        fresh ? 0 : a->len, (void *)(uintptr_t)a->data, MHD_RESPMEM_PERSISTENT);
    if (resp) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, a->content_type);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, a->etag);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
        page_headers(resp);
    }
    return queue(req, fresh ? MHD_HTTP_NOT_MODIFIED : MHD_HTTP_OK, resp);
}

static enum MHD_Result redirect_to_page(struct request *req)
{
    static const char text[] = "the inspection page is at /_webhooky/\n";
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        sizeof(text) - 1, (void *)(uintptr_t)text, MHD_RESPMEM_PERSISTENT);
    if (resp) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, PREFIX "/");
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
    }
    return queue(req, MHD_HTTP_MOVED_PERMANENTLY, resp);
}

/* ---- arguments ---- */

/* The filter arguments every page route takes. */
#define FILTER_KEYS "endpoint", "method", "event", "signature", "schema", "q"
#define FILTER_KEYS_TEXT "endpoint, method, event, signature, schema, q"

/* Read the known arguments into f; on a bad or unknown one the 400 is queued into *ret and
 * false returned. */
static bool read_args(struct request *req, const char *const *known, const char *known_text,
                      struct delivery_filter *f, enum MHD_Result *ret)
{
    const char *bad = admin_unknown_arg(req, known);
    if (bad) {
        *ret = error(req, 400, "unknown query argument '%.64s' (known: %s)", bad, known_text);
        return false;
    }
    filter_init(f);
    for (const char *const *k = known; *k; k++) {
        const char *v = admin_arg(req, *k);
        struct wh_error err;
        if (v && filter_set_arg(f, *k, v, &err) < 0) {
            *ret = error(req, 400, "%s", err.msg);
            return false;
        }
    }
    return true;
}

/* ---- GET /api/summaries ---- */

/* The API's delivery JSON without headers and body: what a list shows. */
static json_t *summary_json(const struct delivery *d)
{
    json_t *o = delivery_to_json(d);
    if (o) {
        json_object_del(o, "headers");
        json_object_del(o, "body");
        json_object_del(o, "body_base64");
    }
    return o;
}

static int append_summary(void *arg, const struct delivery *d)
{
    json_t *o = summary_json(d);
    return o && json_array_append_new(arg, o) == 0 ? 0 : -ENOMEM;
}

static enum MHD_Result summaries(server *s, struct request *req)
{
    static const char *const known[] = {FILTER_KEYS, "before_id", "since_id",
                                        "limit",     "count",     NULL};
    struct delivery_filter f;
    enum MHD_Result ret;
    if (!read_args(req, known, FILTER_KEYS_TEXT ", before_id, since_id, limit, count", &f, &ret))
        return ret;
    const char *count = admin_arg(req, "count");
    if (count && strcmp(count, "true") != 0 && strcmp(count, "false") != 0)
        return error(req, 400, "count must be 'true' or 'false', not '%.64s'", count);
    bool want_count = !count || strcmp(count, "true") == 0;
    f.desc = true;
    f.no_body = true;
    if (!f.limit)
        f.limit = SUMMARY_DEFAULT_LIMIT;
    struct wh_error err;
    store *st = NULL;
    int r = server_reader_acquire(s, &st, &err);
    if (r < 0)
        return error(req, 500, "%s", err.msg);
    json_t *list = json_array();
    int64_t last = 0, matched = -1;
    r = list ? store_foreach(st, &f, append_summary, list, &err) : -ENOMEM;
    if (r == 0 && want_count) {
        struct delivery_filter all = f;
        all.before_id = 0;
        all.limit = 0;
        r = store_count(st, &all, &matched, &err);
    }
    if (r == 0)
        r = store_last_id(st, &last, &err);
    server_reader_release(s, st);
    if (r < 0) {
        json_decref(list);
        return error(req, 500, "%s", r == -ENOMEM ? "out of memory" : err.msg);
    }
    return json_answer(req, 200,
                       json_pack("{sososI}", "deliveries", list, "matched",
                                 matched >= 0 ? json_integer(matched) : json_null(), "last_id",
                                 (json_int_t)last));
}

/* ---- the event stream: GET /api/stream ---- */

static void link_stream(struct web *w, struct web_req *r)
{
    r->prev = NULL;
    r->next = w->streams;
    if (w->streams)
        w->streams->prev = r;
    w->streams = r;
    r->linked = true;
    w->n_streams++;
}

static void unlink_stream(struct web *w, struct web_req *r)
{
    if (!r->linked)
        return;
    if (r->prev)
        r->prev->next = r->next;
    else
        w->streams = r->next;
    if (r->next)
        r->next->prev = r->prev;
    r->prev = r->next = NULL;
    r->linked = false;
    w->n_streams--;
}

/* Caller holds w->lock. A parked stream is suspended: resume it once. */
static void unpark(struct web_req *r)
{
    if (r->parked) {
        r->parked = false;
        server_resume(r->req);
    }
}

static void heartbeat_fire(struct timer_entry *e, void *arg)
{
    struct web_req *r = arg;
    struct web *w = r->srv->web;
    pthread_mutex_lock(&w->lock);
    r->heartbeat_due = true;
    unpark(r);
    pthread_mutex_unlock(&w->lock);
}

static int append_event(void *arg, const struct delivery *d)
{
    struct web_req *r = arg;
    json_t *o = summary_json(d);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!text)
        return -ENOMEM;
    int rc = buf_printf(&r->out, "id: %" PRId64 "\nevent: delivery\ndata: %s\n\n", d->id, text);
    free(text);
    r->rows++;
    r->cursor = d->id;
    return rc;
}

/* Read what was committed after r->checked, up to upto, into r->out. */
static int stream_fill(struct web_req *r, int64_t upto)
{
    server *s = r->srv;
    struct delivery_filter f = r->filter;
    f.since_id = r->checked;
    f.upto_id = upto;
    f.limit = STREAM_BATCH;
    f.desc = false;
    f.no_body = true;
    r->rows = 0;
    struct wh_error err;
    store *st = NULL;
    int rc = server_reader_acquire(s, &st, &err);
    if (rc < 0)
        return rc;
    rc = store_foreach(st, &f, append_event, r, &err);
    server_reader_release(s, st);
    if (rc < 0)
        return rc;
    /* a full batch may leave more behind it: go on from its last row next time */
    r->checked = r->rows == STREAM_BATCH ? r->cursor : upto;
    return 0;
}

/* Hand MHD up to max bytes of what r->out still holds; when it is all gone, the buffer starts
 * over for the next piece. */
static ssize_t take_out(struct web_req *r, char *buf, size_t max)
{
    size_t n = r->out.len - r->out_pos;
    if (n > max)
        n = max;
    memcpy(buf, r->out.data + r->out_pos, n);
    r->out_pos += n;
    if (r->out_pos == r->out.len) {
        buf_reset(&r->out);
        r->out_pos = 0;
    }
    return (ssize_t)n;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct web_req *r = cls;
    struct web *w = r->srv->web;
    for (;;) {
        if (r->out_pos < r->out.len)
            return take_out(r, buf, max);
        if (r->ended)
            return MHD_CONTENT_READER_END_OF_STREAM;
        pthread_mutex_lock(&w->lock);
        if (w->stopping) {
            pthread_mutex_unlock(&w->lock);
            r->ended = true;
            continue;
        }
        int64_t upto = w->committed;
        bool beat = r->heartbeat_due;
        r->heartbeat_due = false;
        if (upto <= r->checked && !beat) {
            /* nothing to send: park until a commit, the heartbeat or shutdown resumes us;
             * suspending under the lock means no resume can come before the suspend */
            r->parked = true;
            MHD_suspend_connection(r->req->conn);
            pthread_mutex_unlock(&w->lock);
            return 0;
        }
        pthread_mutex_unlock(&w->lock);
        if (beat) {
            if (buf_append_str(&r->out, ": heartbeat\n\n") < 0)
                return MHD_CONTENT_READER_END_WITH_ERROR;
            timer_schedule(r->srv->timers, &r->heartbeat,
                           timer_now_us() + (int64_t)WEB_HEARTBEAT_MS * 1000, heartbeat_fire, r);
        }
        if (upto > r->checked && stream_fill(r, upto) < 0)
            return MHD_CONTENT_READER_END_WITH_ERROR;
    }
}

static bool cookie_authorized(server *s, struct request *req)
{
    const char *c = MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND, TOKEN_COOKIE);
    const char *want = s->web->cookie_value;
    return c && strlen(c) == strlen(want) && CRYPTO_memcmp(c, want, strlen(want)) == 0;
}

static enum MHD_Result stream(server *s, struct request *req, const char *method, bool authorized)
{
    struct web *w = s->web;
    if (strcmp(method, "GET") != 0)
        return not_allowed(req, "GET");
    if (!authorized && !cookie_authorized(s, req))
        return error(req, 401,
                     "the event stream needs the admin token: send 'Authorization: "
                     "Bearer TOKEN', or POST it to /_webhooky/api/session first");
    static const char *const known[] = {FILTER_KEYS, "since_id", NULL};
    struct delivery_filter f;
    enum MHD_Result ret;
    if (!read_args(req, known, FILTER_KEYS_TEXT ", since_id", &f, &ret))
        return ret;
    /* a reconnecting EventSource says where it was */
    const char *last = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Last-Event-ID");
    bool from_given = admin_arg(req, "since_id") != NULL;
    if (last && *last) {
        if (filter_parse_int(last, 0, INT64_MAX, &f.since_id) < 0)
            return error(req, 400, "Last-Event-ID must be a delivery id, not '%.64s'", last);
        from_given = true;
    }
    struct web_req *r = calloc(1, sizeof(*r));
    if (!r)
        return MHD_NO;
    r->kind = WEB_STREAM;
    r->srv = s;
    r->req = req;
    r->filter = f;
    buf_init(&r->out, 0);
    req->web = r;
    pthread_mutex_lock(&w->lock);
    if (w->stopping || w->n_streams >= w->max_streams) {
        bool stopping = w->stopping;
        pthread_mutex_unlock(&w->lock);
        return error(req, 503,
                     stopping ? "the receiver is stopping"
                              : "too many event streams are open (at most %u)",
                     w->max_streams);
    }
    r->checked = from_given ? f.since_id : w->committed;
    link_stream(w, r);
    pthread_mutex_unlock(&w->lock);
    /* the retry delay, then a comment so that the client sees the stream open at once */
    if (buf_append_str(&r->out, "retry: 2000\n: webhooky event stream\n\n") < 0)
        return MHD_NO;
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, stream_read, r, NULL);
    if (resp) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
        MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
        MHD_add_response_header(resp, "X-Accel-Buffering", "no");
    }
    if (timer_schedule(s->timers, &r->heartbeat, timer_now_us() + (int64_t)WEB_HEARTBEAT_MS * 1000,
                       heartbeat_fire, r) < 0) {
        MHD_destroy_response(resp);
        return MHD_NO;
    }
    return queue(req, MHD_HTTP_OK, resp);
}

void web_on_commit(server *s, int64_t last_id)
{
    struct web *w = s->web;
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->committed = last_id;
    for (struct web_req *r = w->streams; r; r = r->next)
        unpark(r);
    pthread_mutex_unlock(&w->lock);
}

/* ---- POST /api/session: the token as a cookie for the event stream ---- */

static enum MHD_Result session(server *s, struct request *req, const char *method)
{
    if (strcmp(method, "POST") != 0)
        return not_allowed(req, "POST");
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        12, (void *)(uintptr_t) "{\"ok\":true}\n", MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    if (s->opts.admin_token) {
        /* the token's hash, not the token; sent back only to the stream, never to scripts */
        char cookie[200];
        snprintf(cookie, sizeof(cookie),
                 TOKEN_COOKIE "=%s; Path=" PREFIX "/api/stream; HttpOnly; SameSite=Strict",
                 s->web->cookie_value);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE, cookie);
    }
    return queue(req, MHD_HTTP_OK, resp);
}

/* ---- exports: GET /api/export.har, /api/export.jsonl ---- */

static int append_export(void *arg, const struct delivery *d)
{
    struct web_req *r = arg;
    int rc;
    if (r->har) {
        rc = har_append_entry(&r->out, d, server_address(r->srv), r->rows == 0);
    } else {
        json_t *o = delivery_to_json(d);
        char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
        json_decref(o);
        rc = text ? buf_printf(&r->out, "%s\n", text) : -ENOMEM;
        free(text);
    }
    r->rows++;
    r->cursor = d->id;
    if (rc < 0)
        return rc;
    return r->out.len >= EXPORT_CHUNK ? 1 : 0; /* enough for one go: send it first */
}

static ssize_t export_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct web_req *r = cls;
    for (;;) {
        if (r->out_pos < r->out.len)
            return take_out(r, buf, max);
        if (r->finished)
            return MHD_CONTENT_READER_END_OF_STREAM;
        if (!r->started) {
            r->started = true;
            if (r->har && har_begin(&r->out) < 0)
                return MHD_CONTENT_READER_END_WITH_ERROR;
            continue;
        }
        struct delivery_filter f = r->filter;
        f.since_id = r->cursor > f.since_id ? r->cursor : f.since_id;
        f.limit = EXPORT_BATCH;
        f.desc = false;
        size_t before = r->rows;
        struct wh_error err;
        store *st = NULL;
        int rc = server_reader_acquire(r->srv, &st, &err);
        if (rc < 0)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        rc = store_foreach(st, &f, append_export, r, &err);
        server_reader_release(r->srv, st);
        if (rc < 0)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        if (rc == 0 && r->rows - before < EXPORT_BATCH) {
            r->finished = true;
            if (r->har && har_end(&r->out) < 0)
                return MHD_CONTENT_READER_END_WITH_ERROR;
        }
    }
}

static enum MHD_Result export(server *s, struct request *req, const char *method, bool har) {
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) return not_allowed(req, "GET");
    static const char *const known[] = {FILTER_KEYS, "before_id", "since_id", NULL};
    struct delivery_filter f; enum MHD_Result ret;
    if (!read_args(req, known, FILTER_KEYS_TEXT ", before_id, since_id", &f, &ret)) return ret;
    struct web_req *r = calloc(1, sizeof(*r)); if (!r) return MHD_NO; r->kind = WEB_EXPORT;
    r->srv = s; r->req = req; r->filter = f; r->har = har; buf_init(&r->out, 0); req->web = r;
    struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024,
                                                                  export_read, r, NULL);
    if (resp){MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                      har ? "application/json" : "application/x-ndjson");
              MHD_add_response_header(resp, "Content-Disposition",
                                      har ? "attachment; filename=\"webhooky.har\""
                                          : "attachment; filename=\"webhooky.jsonl\"");
              MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
              MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");}
return queue(req, MHD_HTTP_OK, resp);
}

/* ---- POST /api/deliveries/{id}/replay ---- */

static void *replay_main(void *arg)
{
    struct web_req *r = arg;
    struct web *w = r->srv->web;
    struct replay_result res;
    replay_result_init(&res);
    r->rc = replay_send(r->d, r->url, &w->abort_replays, &res, &r->err);
    if (r->rc == 0)
        r->res = res;
    else
        replay_result_finish(&res);
    /* the last touch of r: once resumed, the request may complete and free it */
    pthread_mutex_lock(&w->lock);
    r->done = true;
    server_resume(r->req);
    w->n_replays--;
    pthread_cond_broadcast(&w->replays_done);
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

static enum MHD_Result replay_answer(struct request *req)
{
    struct web_req *r = req->web;
    if (r->rc < 0) {
        unsigned status = r->rc == -ECANCELED ? 503 : r->rc == -EINVAL ? 400 : 502;
        return error(req, status, "%s", r->err.msg);
    }
    return json_answer(req, 200, replay_result_to_json(&r->res, r->id, r->url));
}

static enum MHD_Result replay(server *s, struct request *req, const char *method, int64_t id)
{
    struct web *w = s->web;
    if (req->web) {
        /* resumed by the replay thread */
        bool done;
        pthread_mutex_lock(&w->lock);
        done = req->web->done;
        pthread_mutex_unlock(&w->lock);
        return done ? replay_answer(req) : MHD_YES;
    }
    if (strcmp(method, "POST") != 0)
        return not_allowed(req, "POST");
    static const char *const none[] = {NULL};
    if (admin_unknown_arg(req, none))
        return error(req, 400, "replay takes no query arguments; send {\"url\": \"http://...\"}");
    struct web_req *r = calloc(1, sizeof(*r));
    if (!r)
        return MHD_NO;
    r->kind = WEB_REPLAY;
    r->srv = s;
    r->req = req;
    r->id = id;
    buf_init(&r->out, 0);
    replay_result_init(&r->res);
    req->web = r;
    struct wh_error err;
    if (replay_parse_request(req->admin_body.data ? req->admin_body.data : "", req->admin_body.len,
                             &r->url, &err) < 0)
        return error(req, 400, "%s", err.msg);
    store *st = NULL;
    int rc = server_reader_acquire(s, &st, &err);
    if (rc == 0) {
        rc = store_get(st, id, &r->d, &err);
        server_reader_release(s, st);
    }
    if (rc == -ENOENT)
        return error(req, 404, "no delivery with id %" PRId64, id);
    if (rc < 0)
        return error(req, 500, "%s", err.msg);
    pthread_mutex_lock(&w->lock);
    if (w->stopping || w->n_replays >= WEB_MAX_REPLAYS) {
        bool stopping = w->stopping;
        pthread_mutex_unlock(&w->lock);
        return error(req, 503,
                     stopping ? "the receiver is stopping"
                              : "too many replays are running (at most %d)",
                     WEB_MAX_REPLAYS);
    }
    /* park first, so the thread's resume can only come after the suspend */
    MHD_suspend_connection(req->conn);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t t;
    rc = pthread_create(&t, &attr, replay_main, r);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        r->rc = -rc;
        wh_error_set(&r->err, -EAGAIN, "cannot start a replay thread: %s", strerror(rc));
        r->done = true;
        server_resume(req);
    } else {
        w->n_replays++;
    }
    pthread_mutex_unlock(&w->lock);
    return MHD_YES;
}

/* ---- DELETE /api/deliveries/{id} ---- */

static enum MHD_Result delete_one(server *s, struct request *req, int64_t id)
{
    if (req->state == RS_READY) {
        /* the writer is done: answer */
        if (req->job.rc < 0)
            return error(req, 500, "could not delete: %s", strerror(-req->job.rc));
        if (req->job.result == 0)
            return error(req, 404, "no delivery with id %" PRId64, id);
        return json_answer(req, 200, json_pack("{sI}", "deleted", (json_int_t)req->job.result));
    }
    static const char *const none[] = {NULL};
    const char *bad = admin_unknown_arg(req, none);
    if (bad)
        return error(req, 400, "unknown query argument '%.64s' (none are known here)", bad);
    req->job.kind = WRITER_DELETE;
    filter_init(&req->job.filter);
    req->job.filter.since_id = id - 1;
    req->job.filter.upto_id = id;
    return server_park_job(s, req);
}

/* ---- routing and hooks ---- */

bool web_handle(server *s, struct request *req, const char *method, const char *sub,
                bool authorized, enum MHD_Result *ret)
{
    if (strcmp(sub, "") == 0) {
        *ret = redirect_to_page(req);
        return true;
    }
    if (strcmp(sub, "/") == 0 || strcmp(sub, "/index.html") == 0) {
        *ret = serve_asset(req, method, "index.html");
        return true;
    }
    if (strncmp(sub, "/ui/", 4) == 0) {
        *ret = serve_asset(req, method, sub + 4);
        return true;
    }
    if (strcmp(sub, "/api/stream") == 0) {
        *ret = stream(s, req, method, authorized);
        return true;
    }
    if (strncmp(sub, "/api/", 5) != 0 || !authorized)
        return false; /* admin.c answers, and refuses without the token */
    const char *api = sub + 4;
    if (strcmp(api, "/summaries") == 0) {
        if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
            *ret = not_allowed(req, "GET");
        else
            *ret = server_offload(s, req, summaries); /* a count can take long */
        return true;
    }
    if (strcmp(api, "/session") == 0) {
        *ret = session(s, req, method);
        return true;
    }
    if (strcmp(api, "/export.har") == 0 || strcmp(api, "/export.jsonl") == 0) {
        *ret = export(s, req, method, strcmp(api, "/export.har") == 0);
        return true;
    }
    if (strncmp(api, "/deliveries/", 12) == 0) {
        const char *rest = api + 12;
        const char *slash = strchr(rest, '/');
        bool del = !slash && strcmp(method, "DELETE") == 0;
        if (!del && (!slash || strcmp(slash, "/replay") != 0))
            return false;
        char idtext[32];
        size_t il = slash ? (size_t)(slash - rest) : strlen(rest);
        int64_t id;
        if (il == 0 || il >= sizeof(idtext))
            return false;
        memcpy(idtext, rest, il);
        idtext[il] = '\0';
        if (filter_parse_int(idtext, 1, INT64_MAX, &id) < 0)
            return false; /* admin.c names the bad id */
        *ret = del ? delete_one(s, req, id) : replay(s, req, method, id);
        return true;
    }
    return false;
}

void web_stop(server *s)
{
    struct web *w = s->web;
    if (!w)
        return;
    atomic_store(&w->abort_replays, true);
    pthread_mutex_lock(&w->lock);
    w->stopping = true;
    for (struct web_req *r = w->streams; r; r = r->next)
        unpark(r);
    while (w->n_replays > 0)
        pthread_cond_wait(&w->replays_done, &w->lock);
    pthread_mutex_unlock(&w->lock);
}

void web_request_done(server *s, struct request *req)
{
    buf_finish(&req->admin_body);
    struct web_req *r = req->web;
    if (!r)
        return;
    req->web = NULL;
    if (r->kind == WEB_STREAM) {
        timer_cancel(s->timers, &r->heartbeat);
        pthread_mutex_lock(&s->web->lock);
        unlink_stream(s->web, r);
        pthread_mutex_unlock(&s->web->lock);
    }
    buf_finish(&r->out);
    free(r->url);
    delivery_destroy(r->d);
    replay_result_finish(&r->res);
    free(r);
}
