/* webhooky send, the reference sender: what it sends verifies at a running `webhooky serve`
 * for every scheme and every bundled Twenty event validates against schemas/twenty; retries,
 * backoff, Retry-After, 410, timeouts and dropped connections behave as documented against a
 * scripted listener in this test; each --misbehave mode does the wrong thing it names; usage
 * errors exit 2. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define RUN_MS 60000
#define MAX_ARGS 48
#define MAX_REQUESTS 16

static char *dir;

static void setup(void)
{
    dir = wh_tmpdir();
}

static void teardown(void)
{
    wh_tmpdir_remove(dir);
}

/* ---- a scripted HTTP listener: answers each connection with the next scripted answer ---- */

enum answer_kind {
    ANSWER_STATUS, /* a status line, the extra header, no body */
    ANSWER_CLOSE,  /* close the connection without answering */
    ANSWER_HANG,   /* answer nothing until the client gives up */
};

struct answer {
    enum answer_kind kind;
    int status;
    const char *header; /* "Retry-After: 1" or NULL */
};

struct request {
    char *head; /* request line and headers, NUL-terminated */
    char *body;
    size_t body_len;
    int64_t at_ms; /* monotonic, when the head had arrived */
};

struct listener {
    int fd;
    int port;
    char url[64];
    pthread_t thread;
    volatile bool done;
    const struct answer *script; /* answers in order; the last one repeats */
    size_t n_script;
    pthread_mutex_t lock;
    struct request req[MAX_REQUESTS];
    size_t n_req;
};

static void answer(int c, const struct answer *a)
{
    if (a->kind == ANSWER_CLOSE)
        return;
    if (a->kind == ANSWER_HANG) {
        /* until the client closes (its timeout), at most 10 s */
        char buf[256];
        while (wh_recv_timeout(c, buf, sizeof(buf), 10000) > 0)
            ;
        return;
    }
    char out[512];
    int n = snprintf(out, sizeof(out),
                     "HTTP/1.1 %d Scripted\r\nContent-Length: 2\r\nConnection: close\r\n%s%s\r\nok",
                     a->status, a->header ? a->header : "", a->header ? "\r\n" : "");
    wh_send_all(c, out, (size_t)n);
}

static void serve_one(struct listener *l, int c)
{
    char buf[65536];
    size_t len = 0;
    char *end = NULL;
    while (!end && len < sizeof(buf) - 1) {
        ssize_t n = wh_recv_timeout(c, buf + len, sizeof(buf) - 1 - len, 5000);
        if (n <= 0)
            return;
        len += (size_t)n;
        buf[len] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    if (!end)
        return;
    int64_t at = wh_now_ms();
    size_t head_len = (size_t)(end - buf) + 2; /* with the last header's CRLF */
    size_t want = 0;
    *end = '\0';
    const char *cl = strcasestr(buf, "\r\nContent-Length:");
    if (cl)
        want = strtoul(cl + 17, NULL, 10);
    *end = '\r';
    size_t have = len - (head_len + 2);
    while (have < want && len < sizeof(buf) - 1) {
        ssize_t n = wh_recv_timeout(c, buf + len, sizeof(buf) - 1 - len, 5000);
        if (n <= 0)
            break;
        len += (size_t)n;
        have += (size_t)n;
    }
    pthread_mutex_lock(&l->lock);
    size_t i = l->n_req;
    if (i < MAX_REQUESTS) {
        l->req[i].head = strndup(buf, head_len);
        l->req[i].body_len = have;
        l->req[i].body = malloc(have + 1);
        memcpy(l->req[i].body, buf + head_len + 2, have);
        l->req[i].body[have] = '\0';
        l->req[i].at_ms = at;
        l->n_req++;
    }
    pthread_mutex_unlock(&l->lock);
    answer(c, &l->script[i < l->n_script ? i : l->n_script - 1]);
}

static void *listen_loop(void *arg)
{
    struct listener *l = arg;
    while (!l->done) {
        struct pollfd p = {.fd = l->fd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int c = accept(l->fd, NULL, NULL);
        if (c < 0)
            continue;
        serve_one(l, c);
        close(c);
    }
    return NULL;
}

static void listener_start(struct listener *l, const struct answer *script, size_t n)
{
    memset(l, 0, sizeof(*l));
    l->script = script;
    l->n_script = n;
    pthread_mutex_init(&l->lock, NULL);
    l->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(l->fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    ck_assert_int_eq(bind(l->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(l->fd, 16), 0);
    ck_assert_int_eq(getsockname(l->fd, (struct sockaddr *)&a, &alen), 0);
    l->port = ntohs(a.sin_port);
    snprintf(l->url, sizeof(l->url), "http://127.0.0.1:%d/hook", l->port);
    ck_assert_int_eq(pthread_create(&l->thread, NULL, listen_loop, l), 0);
}

static void listener_stop(struct listener *l)
{
    l->done = true;
    pthread_join(l->thread, NULL);
    close(l->fd);
    for (size_t i = 0; i < l->n_req; i++) {
        free(l->req[i].head);
        free(l->req[i].body);
    }
    pthread_mutex_destroy(&l->lock);
}

/* The value of header name in a captured head (malloc'd), or NULL. */
static char *head_value(const struct request *r, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = strstr(r->head, "\r\n"); p; p = strstr(p + 2, "\r\n")) {
        const char *line = p + 2;
        if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
            const char *v = line + n + 1;
            while (*v == ' ')
                v++;
            const char *e = strstr(v, "\r\n");
            return strndup(v, e ? (size_t)(e - v) : strlen(v));
        }
    }
    return NULL;
}

/* ---- running send ---- */

struct args {
    const char *v[MAX_ARGS];
    size_t n;
};

static void push(struct args *a, const char *s)
{
    ck_assert_uint_lt(a->n, MAX_ARGS - 1);
    a->v[a->n++] = s;
    a->v[a->n] = NULL;
}

/* `webhooky send URL ARGS...` (NULL-terminated). */
static void send_to(struct wh_run *r, const char *url, ...) __attribute__((sentinel));
static void send_to(struct wh_run *r, const char *url, ...)
{
    struct args a = {0};
    push(&a, "send");
    push(&a, url);
    va_list ap;
    va_start(ap, url);
    for (const char *s; (s = va_arg(ap, const char *)) != NULL;)
        push(&a, s);
    va_end(ap);
    wh_runv(r, NULL, RUN_MS, a.v);
}

static const char sw_secret[] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/* ---- against webhooky serve ---- */

struct scheme {
    const char *name;
    const char *secret;
    const char *config_extra; /* more members of the signature object */
};

static const struct scheme schemes[] = {
    {"twenty", "twenty-secret", ""},
    {"standard-webhooks", sw_secret, ""},
    {"github", "gh-secret", ""},
    {"stripe", "whsec_stripe_test", ""},
    {"slack", "slack-signing-secret", ""},
    {"shopify", "shpss_example", ""},
    {"hmac", "acme-secret",
     ", \"header\": \"X-Acme-Signature\", \"prefix\": \"sha256=\", \"timestamp_header\": "
     "\"X-Acme-Timestamp\", \"template\": \"{timestamp}.{body}\""},
};
#define N_SCHEMES (sizeof(schemes) / sizeof(schemes[0]))

/* A server with one endpoint /s/NAME per scheme; twenty's also checks schemas/twenty. */
static void start_receiver(struct wh_server *srv)
{
    const char *root = getenv("WEBHOOKY_SOURCE_ROOT");
    ck_assert_msg(root && *root, "WEBHOOKY_SOURCE_ROOT is not set");
    char *cfg = wh_path(dir, "send.json");
    char text[8192];
    size_t off = (size_t)snprintf(text, sizeof(text), "{\"endpoints\": [");
    for (size_t i = 0; i < N_SCHEMES; i++) {
        off += (size_t)snprintf(
            text + off, sizeof(text) - off,
            "%s{\"name\": \"%s\", \"path\": \"/s/%s\", \"signature\": {\"scheme\": \"%s\", "
            "\"secrets\": [\"%s\"]%s}%s%s%s}",
            i ? ", " : "", schemes[i].name, schemes[i].name, schemes[i].name, schemes[i].secret,
            schemes[i].config_extra, i == 0 ? ", \"schemas\": {\"dir\": \"" : "",
            i == 0 ? root : "", i == 0 ? "/schemas/twenty\", \"event\": \"/eventName\"}" : "");
        ck_assert_uint_lt(off, sizeof(text));
    }
    snprintf(text + off, sizeof(text) - off, "]}");
    wh_write_file(cfg, text);
    char *db = wh_path(dir, "send.db");
    wh_server_start(srv, dir, db, (const char *const[]){"--config", cfg, "--quiet", NULL}, NULL);
    free(cfg);
    free(db);
}

/* The newest delivery (new reference). */
static json_t *last_delivery(const struct wh_server *srv)
{
    return wh_delivery(srv, wh_last_id(srv));
}

static const char *verdict(const json_t *d, const char *what)
{
    return json_string_value(json_object_get(json_object_get(d, what), "status"));
}

START_TEST(valid_for_every_scheme)
{
    struct wh_server srv;
    start_receiver(&srv);
    for (size_t i = 0; i < N_SCHEMES; i++) {
        char url[128];
        snprintf(url, sizeof(url), "%s/s/%s", srv.url, schemes[i].name);
        struct args a = {0};
        push(&a, "send");
        push(&a, url);
        push(&a, "--scheme");
        push(&a, schemes[i].name);
        push(&a, "--secret");
        push(&a, schemes[i].secret);
        if (strcmp(schemes[i].name, "hmac") == 0) {
            /* the same options as the endpoint's signature object */
            static const char *const opts[] = {
                "header=X-Acme-Signature", "prefix=sha256=", "timestamp_header=X-Acme-Timestamp",
                "template={timestamp}.{body}"};
            for (size_t k = 0; k < 4; k++) {
                push(&a, "--option");
                push(&a, opts[k]);
            }
        }
        struct wh_run r;
        wh_runv(&r, NULL, RUN_MS, a.v);
        ck_assert_msg(r.status == 0, "%s: exit %d: %s%s", schemes[i].name, r.status, r.out, r.err);
        ck_assert_msg(strstr(r.out, "attempt 1: 200 in ") && strstr(r.out, "delivered after 1 "
                                                                           "attempt\n"),
                      "%s: %s", schemes[i].name, r.out);
        wh_run_free(&r);
        json_t *d = last_delivery(&srv);
        ck_assert_msg(
            strcmp(verdict(d, "signature"), "valid") == 0, "%s: %s: %s", schemes[i].name,
            verdict(d, "signature"),
            json_string_value(json_object_get(json_object_get(d, "signature"), "reason")));
        ck_assert_str_eq(wh_delivery_header(d, "Content-Type", 0), "application/json");
        ck_assert(strncmp(wh_delivery_header(d, "User-Agent", 0), "webhooky/", 9) == 0);
        if (i == 0)
            ck_assert_str_eq(verdict(d, "schema"), "valid");
        json_decref(d);
    }
    wh_server_finish(&srv);
}
END_TEST

/* The built-in Twenty sample of every bundled event validates against its schema. */
START_TEST(twenty_samples_validate)
{
    static const char *const objects[] = {"company", "note", "opportunity", "person", "task"};
    static const char *const ops[] = {"created", "updated", "deleted", "destroyed", "restored"};
    struct wh_server srv;
    start_receiver(&srv);
    char url[128];
    snprintf(url, sizeof(url), "%s/s/twenty", srv.url);
    for (size_t i = 0; i < 5; i++)
        for (size_t j = 0; j < 5; j++) {
            char event[64];
            snprintf(event, sizeof(event), "%s.%s", objects[i], ops[j]);
            struct wh_run r;
            send_to(&r, url, "--scheme", "twenty", "--secret", "twenty-secret", "--event", event,
                    "--quiet", NULL);
            ck_assert_msg(r.status == 0, "%s: exit %d: %s", event, r.status, r.err);
            ck_assert_str_eq(r.out, "");
            wh_run_free(&r);
            json_t *d = last_delivery(&srv);
            ck_assert_str_eq(json_string_value(json_object_get(d, "event")), event);
            ck_assert_msg(strcmp(verdict(d, "schema"), "valid") == 0, "%s: %s", event,
                          json_dumps(json_object_get(d, "schema"), 0));
            ck_assert_str_eq(verdict(d, "signature"), "valid");
            json_decref(d);
        }
    wh_server_finish(&srv);
}
END_TEST

/* A given body and headers are sent as they are; a Standard Webhooks sample otherwise. */
START_TEST(data_and_headers)
{
    struct wh_server srv;
    start_receiver(&srv);
    char url[128];
    snprintf(url, sizeof(url), "%s/s/standard-webhooks", srv.url);
    char *body = wh_path(dir, "body.json");
    static const char text[] = "{\"type\":\"invoice.paid\",\n \"data\":{\"amount\":42}}\n";
    wh_write_file(body, text);
    struct wh_run r;
    send_to(&r, url, "--scheme", "standard-webhooks", "--secret", sw_secret, "--data", body, "--id",
            "msg_fixed_1", "-H", "X-Tenant: acme", "--header",
            "Content-Type: application/json; charset=utf-8", NULL);
    ck_assert_msg(r.status == 0, "exit %d: %s%s", r.status, r.out, r.err);
    ck_assert_msg(strstr(r.out, "[id msg_fixed_1, timestamp ") != NULL, "%s", r.out);
    wh_run_free(&r);
    json_t *d = last_delivery(&srv);
    ck_assert_str_eq(json_string_value(json_object_get(d, "body")), text);
    ck_assert_str_eq(wh_delivery_header(d, "webhook-id", 0), "msg_fixed_1");
    ck_assert_str_eq(wh_delivery_header(d, "X-Tenant", 0), "acme");
    ck_assert_str_eq(wh_delivery_header(d, "Content-Type", 0), "application/json; charset=utf-8");
    ck_assert_ptr_null(wh_delivery_header(d, "Content-Type", 1));
    ck_assert_str_eq(verdict(d, "signature"), "valid");
    json_decref(d);

    /* the sample: Standard Webhooks' shape with the event */
    send_to(&r, url, "--scheme", "standard-webhooks", "--secret", sw_secret, "--event",
            "invoice.paid", NULL);
    ck_assert_int_eq(r.status, 0);
    wh_run_free(&r);
    d = last_delivery(&srv);
    json_t *b = json_loads(json_string_value(json_object_get(d, "body")), 0, NULL);
    ck_assert_str_eq(json_string_value(json_object_get(b, "type")), "invoice.paid");
    ck_assert(json_is_string(json_object_get(b, "timestamp")));
    ck_assert(json_is_object(json_object_get(b, "data")));
    json_decref(b);
    json_decref(d);

    /* unsigned */
    send_to(&r, url, NULL);
    ck_assert_int_eq(r.status, 0);
    wh_run_free(&r);
    d = last_delivery(&srv);
    ck_assert_str_eq(verdict(d, "signature"), "missing");
    json_decref(d);
    free(body);
    wh_server_finish(&srv);
}
END_TEST

/* The misbehaviours a receiver sees in one delivery. */
START_TEST(misbehave_at_receiver)
{
    struct wh_server srv;
    start_receiver(&srv);
    char twenty[128], sw[128];
    snprintf(twenty, sizeof(twenty), "%s/s/twenty", srv.url);
    snprintf(sw, sizeof(sw), "%s/s/standard-webhooks", srv.url);
    struct wh_run r;

    send_to(&r, sw, "--scheme", "standard-webhooks", "--secret", sw_secret, "--misbehave",
            "bad-signature", NULL);
    ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
    wh_run_free(&r);
    json_t *d = last_delivery(&srv);
    ck_assert_str_eq(verdict(d, "signature"), "invalid");
    json_decref(d);

    send_to(&r, twenty, "--scheme", "twenty", "--secret", "twenty-secret", "--misbehave",
            "double-encoded", NULL);
    ck_assert_int_eq(r.status, 0);
    wh_run_free(&r);
    d = last_delivery(&srv);
    ck_assert_str_eq(verdict(d, "signature"), "invalid");
    const char *reason =
        json_string_value(json_object_get(json_object_get(d, "signature"), "reason"));
    ck_assert_msg(strstr(reason, "JSON-encoded twice") != NULL, "%s", reason);
    ck_assert_str_eq(verdict(d, "schema"), "valid"); /* the body itself is fine */
    json_decref(d);

    for (size_t i = 0; i < 2; i++) {
        send_to(&r, i ? twenty : sw, "--scheme", i ? "twenty" : "standard-webhooks", "--secret",
                i ? "twenty-secret" : sw_secret, "--misbehave", "stale-timestamp", NULL);
        ck_assert_int_eq(r.status, 0);
        wh_run_free(&r);
        d = last_delivery(&srv);
        ck_assert_str_eq(verdict(d, "signature"), "expired");
        json_decref(d);
    }

    send_to(&r, sw, "--scheme", "standard-webhooks", "--secret", sw_secret, "--misbehave",
            "wrong-content-type", NULL);
    ck_assert_int_eq(r.status, 0);
    wh_run_free(&r);
    d = last_delivery(&srv);
    ck_assert_str_eq(wh_delivery_header(d, "Content-Type", 0), "text/plain; charset=utf-8");
    ck_assert_str_eq(verdict(d, "signature"), "valid");
    json_decref(d);

    send_to(&r, twenty, "--scheme", "twenty", "--secret", "twenty-secret", "--misbehave",
            "schema-violation", NULL);
    ck_assert_int_eq(r.status, 0);
    wh_run_free(&r);
    d = last_delivery(&srv);
    ck_assert_str_eq(verdict(d, "schema"), "invalid");
    ck_assert_str_eq(verdict(d, "signature"), "valid"); /* signed as sent */
    json_t *b = json_loads(json_string_value(json_object_get(d, "body")), 0, NULL);
    ck_assert_ptr_null(json_object_get(b, "targetUrl"));
    ck_assert_ptr_nonnull(json_object_get(b, "record"));
    json_decref(b);
    json_decref(d);
    wh_server_finish(&srv);
}
END_TEST

/* ---- against the scripted listener ---- */

#define OK200 {ANSWER_STATUS, 200, NULL}
static const struct answer ok200 = OK200;

static int64_t gap(const struct listener *l, size_t i)
{
    return l->req[i].at_ms - l->req[i - 1].at_ms;
}

/* 503, 503, 200 with an exponential backoff: three attempts, growing waits, the same
 * webhook-id, the last one delivered. */
START_TEST(retries_with_backoff)
{
    static const struct answer script[] = {
        {ANSWER_STATUS, 503, NULL}, {ANSWER_STATUS, 503, NULL}, {ANSWER_STATUS, 200, NULL}};
    struct listener l;
    listener_start(&l, script, 3);
    struct wh_run r;
    send_to(&r, l.url, "--scheme", "standard-webhooks", "--secret", sw_secret, "--retries", "5",
            "--backoff", "exponential:200:2:5000", NULL);
    ck_assert_msg(r.status == 0, "exit %d: %s%s", r.status, r.out, r.err);
    ck_assert_uint_eq(l.n_req, 3);
    ck_assert_msg(strstr(r.out, "attempt 1: 503 in ") &&
                      strstr(r.out, "server error, next "
                                    "attempt in 200 ms\n") &&
                      strstr(r.out, "next attempt in 400 ms\n") &&
                      strstr(r.out, "attempt 3: 200 in ") &&
                      strstr(r.out, "delivered after 3 attempts\n"),
                  "%s", r.out);
    ck_assert_int_ge(gap(&l, 1), 200);
    ck_assert_int_ge(gap(&l, 2), 400);
    char *id0 = head_value(&l.req[0], "webhook-id");
    for (size_t i = 1; i < 3; i++) {
        char *id = head_value(&l.req[i], "webhook-id");
        ck_assert_str_eq(id, id0);
        free(id);
    }
    ck_assert(strncmp(id0, "msg_", 4) == 0);
    free(id0);
    ck_assert_str_eq(l.req[0].body, l.req[2].body);
    wh_run_free(&r);
    listener_stop(&l);
}
END_TEST

/* Twenty signs milliseconds: every attempt has its own timestamp, signature and nonce; with
 * same-timestamp-per-attempt the timestamp and signature repeat. */
START_TEST(fresh_timestamp_per_attempt)
{
    static const struct answer script[] = {{ANSWER_STATUS, 500, NULL}, {ANSWER_STATUS, 200, NULL}};
    for (int same = 0; same < 2; same++) {
        struct listener l;
        listener_start(&l, script, 2);
        struct wh_run r;
        send_to(&r, l.url, "--scheme", "twenty", "--secret", "twenty-secret", "--backoff",
                "fixed:30", same ? "--misbehave" : NULL, "same-timestamp-per-attempt", NULL);
        ck_assert_msg(r.status == 0, "exit %d: %s%s", r.status, r.out, r.err);
        ck_assert_uint_eq(l.n_req, 2);
        static const char *const names[] = {"X-Twenty-Webhook-Timestamp",
                                            "X-Twenty-Webhook-Signature"};
        for (size_t k = 0; k < 2; k++) {
            char *a = head_value(&l.req[0], names[k]), *b = head_value(&l.req[1], names[k]);
            ck_assert_ptr_nonnull(a);
            ck_assert_ptr_nonnull(b);
            ck_assert_msg((strcmp(a, b) == 0) == (same == 1), "%s: %s vs %s (same=%d)", names[k], a,
                          b, same);
            free(a);
            free(b);
        }
        char *n0 = head_value(&l.req[0], "X-Twenty-Webhook-Nonce");
        char *n1 = head_value(&l.req[1], "X-Twenty-Webhook-Nonce");
        ck_assert_uint_eq(strlen(n0), 32);
        ck_assert_str_ne(n0, n1); /* a nonce is never reused */
        free(n0);
        free(n1);
        wh_run_free(&r);
        listener_stop(&l);
    }
}
END_TEST

START_TEST(new_id_per_attempt)
{
    static const struct answer script[] = {{ANSWER_STATUS, 503, NULL}, {ANSWER_STATUS, 200, NULL}};
    struct listener l;
    listener_start(&l, script, 2);
    struct wh_run r;
    send_to(&r, l.url, "--scheme", "standard-webhooks", "--secret", sw_secret, "--backoff",
            "fixed:10", "--misbehave", "new-id-per-attempt", NULL);
    ck_assert_int_eq(r.status, 0);
    ck_assert_uint_eq(l.n_req, 2);
    char *a = head_value(&l.req[0], "webhook-id"), *b = head_value(&l.req[1], "webhook-id");
    ck_assert_str_ne(a, b);
    free(a);
    free(b);
    wh_run_free(&r);
    listener_stop(&l);
}
END_TEST

/* Retry-After in seconds and as an HTTP date is waited for; ignore-retry-after does not. */
START_TEST(retry_after)
{
    for (int k = 0; k < 3; k++) {
        /* an HTTP date 2 to 3 s ahead (it has whole seconds) */
        char date_header[96];
        time_t when = time(NULL) + 3;
        struct tm tm;
        gmtime_r(&when, &tm);
        strftime(date_header, sizeof(date_header), "Retry-After: %a, %d %b %Y %H:%M:%S GMT", &tm);
        struct answer script[] = {
            {ANSWER_STATUS, k == 1 ? 429 : 503, k == 1 ? date_header : "Retry-After: 1"}, ok200};
        struct listener l;
        listener_start(&l, script, 2);
        struct wh_run r;
        send_to(&r, l.url, "--backoff", "fixed:50", k == 2 ? "--misbehave" : NULL,
                "ignore-retry-after", NULL);
        ck_assert_msg(r.status == 0, "exit %d: %s%s", r.status, r.out, r.err);
        ck_assert_uint_eq(l.n_req, 2);
        if (k == 0)
            ck_assert_msg(strstr(r.out, ", Retry-After 1000 ms: server error, next attempt in "
                                        "1000 ms\n"),
                          "%s", r.out);
        if (k < 2)
            ck_assert_msg(gap(&l, 1) >= (k ? 1900 : 990), "waited %lld ms (k=%d)",
                          (long long)gap(&l, 1), k);
        else
            ck_assert_msg(gap(&l, 1) < 900, "waited %lld ms", (long long)gap(&l, 1));
        wh_run_free(&r);
        listener_stop(&l);
    }
}
END_TEST

/* 410 stops at once; ignore-410 keeps going. Another 4xx is not retried either; 429 is. */
START_TEST(gone_and_other_4xx)
{
    static const struct answer gone[] = {{ANSWER_STATUS, 410, NULL}, {ANSWER_STATUS, 200, NULL}};
    struct listener l;
    listener_start(&l, gone, 2);
    struct wh_run r;
    send_to(&r, l.url, "--backoff", "fixed:10", NULL);
    ck_assert_int_eq(r.status, 1);
    ck_assert_uint_eq(l.n_req, 1);
    ck_assert_msg(strstr(r.out, "attempt 1: 410 in ") && strstr(r.out, ": gone, giving up\n"), "%s",
                  r.out);
    ck_assert_msg(strstr(r.err, "gave up after 1 attempt: gone (410)"), "%s", r.err);
    wh_run_free(&r);
    listener_stop(&l);

    listener_start(&l, gone, 2);
    send_to(&r, l.url, "--backoff", "fixed:10", "--misbehave", "ignore-410", NULL);
    ck_assert_int_eq(r.status, 0);
    ck_assert_uint_eq(l.n_req, 2);
    wh_run_free(&r);
    listener_stop(&l);

    static const struct answer bad[] = {{ANSWER_STATUS, 400, NULL}, {ANSWER_STATUS, 200, NULL}};
    listener_start(&l, bad, 2);
    send_to(&r, l.url, "--backoff", "fixed:10", NULL);
    ck_assert_int_eq(r.status, 1);
    ck_assert_uint_eq(l.n_req, 1);
    ck_assert_msg(strstr(r.err, "not retryable (400)"), "%s", r.err);
    wh_run_free(&r);
    listener_stop(&l);

    static const struct answer limited[] = {{ANSWER_STATUS, 429, NULL}, {ANSWER_STATUS, 202, NULL}};
    listener_start(&l, limited, 2);
    send_to(&r, l.url, "--backoff", "fixed:10", NULL);
    ck_assert_int_eq(r.status, 0);
    ck_assert_uint_eq(l.n_req, 2);
    wh_run_free(&r);
    listener_stop(&l);
}
END_TEST

/* Retries run out: exit 1 after retries + 1 attempts. */
START_TEST(gives_up)
{
    static const struct answer script[] = {{ANSWER_STATUS, 502, NULL}};
    struct listener l;
    listener_start(&l, script, 1);
    struct wh_run r;
    send_to(&r, l.url, "--retries", "2", "--backoff", "fixed:10", NULL);
    ck_assert_int_eq(r.status, 1);
    ck_assert_uint_eq(l.n_req, 3);
    ck_assert_msg(strstr(r.err, "gave up after 3 attempts: server error (502)"), "%s", r.err);
    wh_run_free(&r);
    listener_stop(&l);
}
END_TEST

/* A dropped connection and a timeout are retried. */
START_TEST(close_and_timeout)
{
    static const struct answer script[] = {{ANSWER_CLOSE, 0, NULL}, {ANSWER_HANG, 0, NULL}, OK200};
    struct listener l;
    listener_start(&l, script, 3);
    struct wh_run r;
    send_to(&r, l.url, "--timeout", "400", "--backoff", "fixed:10", NULL);
    ck_assert_msg(r.status == 0, "exit %d: %s%s", r.status, r.out, r.err);
    ck_assert_uint_eq(l.n_req, 3);
    ck_assert_msg(strstr(r.out, "attempt 1: no answer (") &&
                      strstr(r.out, "connection failed, next attempt in 10 ms\n") &&
                      strstr(r.out, "attempt 2: no answer (no answer within 400 ms) after ") &&
                      strstr(r.out, "timed out, next attempt"),
                  "%s", r.out);
    ck_assert_int_ge(gap(&l, 2), 400);
    wh_run_free(&r);
    listener_stop(&l);
}
END_TEST

/* no-retry, retry-after-success, no-backoff. */
START_TEST(misbehave_retries)
{
    static const struct answer fail_then_ok[] = {{ANSWER_STATUS, 503, NULL}, OK200};
    struct listener l;
    listener_start(&l, fail_then_ok, 2);
    struct wh_run r;
    send_to(&r, l.url, "--backoff", "fixed:10", "--misbehave", "no-retry", NULL);
    ck_assert_int_eq(r.status, 1);
    ck_assert_uint_eq(l.n_req, 1);
    ck_assert_msg(strstr(r.out, "not retried (misbehaving)"), "%s", r.out);
    wh_run_free(&r);
    listener_stop(&l);

    listener_start(&l, &ok200, 1);
    send_to(&r, l.url, "--scheme", "standard-webhooks", "--secret", sw_secret, "--backoff",
            "fixed:10", "--misbehave", "retry-after-success", NULL);
    ck_assert_int_eq(r.status, 0);
    ck_assert_uint_eq(l.n_req, 2);
    char *a = head_value(&l.req[0], "webhook-id"), *b = head_value(&l.req[1], "webhook-id");
    ck_assert_str_eq(a, b); /* the same message, again */
    free(a);
    free(b);
    wh_run_free(&r);
    listener_stop(&l);

    static const struct answer three[] = {
        {ANSWER_STATUS, 503, NULL}, {ANSWER_STATUS, 503, NULL}, OK200};
    listener_start(&l, three, 3);
    send_to(&r, l.url, "--backoff", "fixed:1000", "--misbehave", "no-backoff", NULL);
    ck_assert_int_eq(r.status, 0);
    ck_assert_uint_eq(l.n_req, 3);
    ck_assert_msg(gap(&l, 1) < 500 && gap(&l, 2) < 500, "waited %lld and %lld ms",
                  (long long)gap(&l, 1), (long long)gap(&l, 2));
    ck_assert_msg(strstr(r.out, "next attempt in 0 ms"), "%s", r.out);
    wh_run_free(&r);
    listener_stop(&l);
}
END_TEST

START_TEST(usage_errors)
{
    static const char *const cases[][6] = {
        {"send", NULL},
        {"send", "ftp://example.com/", NULL},
        {"send", "http://127.0.0.1:1/", "--backoff", "linear:5", NULL},
        {"send", "http://127.0.0.1:1/", "--backoff", "exponential:100:0.5", NULL},
        {"send", "http://127.0.0.1:1/", "--misbehave", "rude", NULL},
        {"send", "http://127.0.0.1:1/", "--misbehave", "bad-signature", NULL},
        {"send", "http://127.0.0.1:1/", "--retries", "101", NULL},
        {"send", "http://127.0.0.1:1/", "--header", "no colon", NULL},
        {"send", "http://127.0.0.1:1/", "--secret", "x", NULL},
        {"send", "http://127.0.0.1:1/", "extra", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct wh_run r;
        wh_runv(&r, NULL, RUN_MS, cases[i]);
        ck_assert_msg(r.status == 2, "case %zu: exit %d: %s", i, r.status, r.err);
        ck_assert_msg(strncmp(r.err, "webhooky send: ", 15) == 0, "case %zu: %s", i, r.err);
        wh_run_free(&r);
    }
    struct wh_run r;
    wh_run(&r, NULL, RUN_MS, "send", "--help", NULL);
    ck_assert_int_eq(r.status, 0);
    ck_assert(strstr(r.out, "--misbehave MODE") != NULL);
    wh_run_free(&r);
    wh_run(&r, NULL, RUN_MS, "--help", NULL);
    ck_assert(strstr(r.out, "  send ") != NULL);
    wh_run_free(&r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("send");
    TCase *tc = wh_tcase("receiver", 90);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, valid_for_every_scheme);
    tcase_add_test(tc, twenty_samples_validate);
    tcase_add_test(tc, data_and_headers);
    tcase_add_test(tc, misbehave_at_receiver);
    suite_add_tcase(s, tc);

    tc = wh_tcase("retries", 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, retries_with_backoff);
    tcase_add_test(tc, fresh_timestamp_per_attempt);
    tcase_add_test(tc, new_id_per_attempt);
    tcase_add_test(tc, retry_after);
    tcase_add_test(tc, gone_and_other_4xx);
    tcase_add_test(tc, gives_up);
    tcase_add_test(tc, close_and_timeout);
    tcase_add_test(tc, misbehave_retries);
    tcase_add_test(tc, usage_errors);
    suite_add_tcase(s, tc);
    return wh_run_suite(s);
}
