/* The inspection page's routes, without a browser: the page and its headers, summaries with
 * filters, paging and counts, the event stream (live events, Last-Event-ID, filters, the
 * stream limit, shutdown with streams open), exports, delete by id, replay (API and CLI) and
 * the token cookie. The page itself is driven in Chromium by tests/browser. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define RUN_MS 10000

static char *dir;
static struct wh_server srv;

static void setup(void)
{
    dir = wh_tmpdir();
    char *cfg = wh_path(dir, "web.json");
    char *db = wh_path(dir, "web.db");
    wh_write_file(cfg, "{\"endpoints\": [{\"name\": \"alpha\", \"path\": \"/alpha\"},\n"
                       "  {\"name\": \"gh\", \"path\": \"/gh\",\n"
                       "   \"signature\": {\"scheme\": \"github\", \"secrets\": [\"s\"]}}]}\n");
    wh_server_start(&srv, dir, db, (const char *const[]){"--config", cfg, "--quiet", NULL}, NULL);
    free(cfg);
    free(db);
}

static void teardown(void)
{
    wh_server_finish(&srv);
    wh_tmpdir_remove(dir);
}

static char *header_of(const char *path, const char *name, long *ret_status)
{
    struct wh_response r;
    wh_request(NULL, &srv, "GET", path, NULL, NULL, 0, &r);
    *ret_status = r.status;
    char *v = wh_header(&r, name);
    wh_response_free(&r);
    return v;
}

START_TEST(page_and_its_headers)
{
    long status;
    char *csp = header_of("/_webhooky/", "Content-Security-Policy", &status);
    ck_assert_int_eq(status, 200);
    ck_assert_ptr_nonnull(csp);
    ck_assert_msg(strstr(csp, "default-src 'self'") && !strstr(csp, "unsafe-inline"), "CSP %s",
                  csp);
    free(csp);
    char *ct = header_of("/_webhooky/ui/app.css", "Content-Type", &status);
    ck_assert_int_eq(status, 200);
    ck_assert_str_eq(ct, "text/css; charset=utf-8");
    free(ct);
    char *etag = header_of("/_webhooky/ui/app.js", "ETag", &status);
    ck_assert_ptr_nonnull(etag);
    char inm[128];
    snprintf(inm, sizeof(inm), "If-None-Match: %s", etag);
    struct wh_response r;
    wh_request(NULL, &srv, "GET", "/_webhooky/ui/app.js", (const char *const[]){inm, NULL}, NULL, 0,
               &r);
    ck_assert_int_eq(r.status, 304);
    wh_response_free(&r);
    free(etag);
    char *nosniff = header_of("/_webhooky/ui/nothing.js", "X-Content-Type-Options", &status);
    ck_assert_int_eq(status, 404);
    free(nosniff);
    char *loc = header_of("/_webhooky", "Location", &status);
    ck_assert_int_eq(status, 301);
    ck_assert_str_eq(loc, "/_webhooky/");
    free(loc);
    /* the page is not a delivery */
    ck_assert_int_eq(wh_last_id(&srv), 0);
}
END_TEST

static json_t *summaries(const char *query)
{
    return wh_api(&srv, 200, "/_webhooky/api/summaries?%s", query);
}

static int64_t matched(const char *query)
{
    json_t *v = summaries(query);
    int64_t n = json_integer_value(json_object_get(v, "matched"));
    json_decref(v);
    return n;
}

START_TEST(summaries_filter_page_and_count)
{
    int64_t a1 = wh_post(&srv, "/alpha", "{\"type\":\"one\",\"text\":\"needle\"}");
    wh_post(&srv, "/alpha", "{\"type\":\"two\"}");
    int64_t g = wh_post(&srv, "/gh", "unsigned");
    for (int i = 0; i < 5; i++)
        wh_post(&srv, "/else", "x");
    json_t *v = summaries("limit=3");
    json_t *list = json_object_get(v, "deliveries");
    ck_assert_uint_eq(json_array_size(list), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(v, "matched")), 8);
    ck_assert_int_eq(json_integer_value(json_object_get(v, "last_id")), 8);
    json_t *first = json_array_get(list, 0);
    ck_assert_int_eq(json_integer_value(json_object_get(first, "id")), 8); /* newest first */
    ck_assert_ptr_null(json_object_get(first, "body"));
    ck_assert_ptr_null(json_object_get(first, "headers"));
    ck_assert_int_eq(json_integer_value(json_object_get(first, "body_size")), 1);
    json_decref(v);

    v = summaries("limit=3&before_id=6&count=false");
    list = json_object_get(v, "deliveries");
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(list, 0), "id")), 5);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(list, 2), "id")), 3);
    ck_assert(json_is_null(json_object_get(v, "matched")));
    json_decref(v);

    ck_assert_int_eq(matched("q=needle"), 1);
    v = summaries("q=needle");
    ck_assert_int_eq(json_integer_value(json_object_get(
                         json_array_get(json_object_get(v, "deliveries"), 0), "id")),
                     a1);
    json_decref(v);
    ck_assert_int_eq(matched("endpoint=alpha"), 2);
    ck_assert_int_eq(matched("endpoint=-"), 5);
    ck_assert_int_eq(matched("signature=missing"), 1);
    ck_assert_int_eq(matched("signature=not_configured"), 7);
    ck_assert_int_eq(matched("schema=not_configured"), 8);
    ck_assert_int_eq(matched("schema=valid"), 0);
    ck_assert_int_eq(matched("method=POST&endpoint=gh"), 1);
    ck_assert_int_eq(matched("event=nothing"), 0);
    (void)g;
    json_decref(wh_api(&srv, 400, "/_webhooky/api/summaries?colour=red"));
    json_decref(wh_api(&srv, 400, "/_webhooky/api/summaries?before_id=0"));
    json_decref(wh_api(&srv, 400, "/_webhooky/api/summaries?count=maybe"));
    /* the list API takes the same filters */
    v = wh_api(&srv, 200, "/_webhooky/api/deliveries?q=needle&signature=not_configured");
    ck_assert_uint_eq(json_array_size(json_object_get(v, "deliveries")), 1);
    json_decref(v);
}
END_TEST

/* Read from fd until `want` appears in what came (kept in buf), or fail after timeout_ms. */
static void read_until(int fd, char *buf, size_t size, size_t *len, const char *want,
                       int timeout_ms)
{
    int64_t until = wh_now_ms() + timeout_ms;
    while (!strstr(buf, want)) {
        int left = (int)(until - wh_now_ms());
        ck_assert_msg(left > 0, "no '%s' in the stream within %d ms; got: %s", want, timeout_ms,
                      buf);
        ck_assert_msg(*len + 1 < size, "stream buffer full: %s", buf);
        ssize_t n = wh_recv_timeout(fd, buf + *len, size - *len - 1, left);
        ck_assert_msg(n > 0, "the stream ended (%zd) before '%s'; got: %s", n, want, buf);
        *len += (size_t)n;
        buf[*len] = '\0';
    }
}

static int open_stream(const char *target, const char *extra_header)
{
    int fd = wh_connect(srv.port);
    char req[512];
    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n%s\r\n", target,
             extra_header ? extra_header : "");
    ck_assert(wh_send_all(fd, req, strlen(req)));
    return fd;
}

START_TEST(stream_sends_committed_deliveries)
{
    wh_post(&srv, "/alpha", "before");
    int fd = open_stream("/_webhooky/api/stream", NULL);
    static char buf[65536];
    size_t len = 0;
    buf[0] = '\0';
    read_until(fd, buf, sizeof(buf), &len, ": webhooky event stream", 5000);
    ck_assert_msg(strstr(buf, "Content-Type: text/event-stream"), "%s", buf);
    ck_assert_msg(!strstr(buf, "id: 1\n"), "the stream starts after what is stored: %s", buf);
    int64_t id = wh_post(&srv, "/alpha", "live one");
    char want[64];
    snprintf(want, sizeof(want), "id: %lld\nevent: delivery\ndata: {", (long long)id);
    read_until(fd, buf, sizeof(buf), &len, want, 5000);
    ck_assert_msg(strstr(buf, "\"path\":\"/alpha\""), "%s", buf);
    close(fd);

    /* Last-Event-ID: a reconnecting client gets what it missed; filters apply */
    wh_post(&srv, "/gh", "gh");
    int64_t a = wh_post(&srv, "/alpha", "a");
    fd = open_stream("/_webhooky/api/stream?endpoint=alpha", "Last-Event-ID: 1\r\n");
    len = 0;
    buf[0] = '\0';
    snprintf(want, sizeof(want), "id: %lld\n", (long long)a);
    read_until(fd, buf, sizeof(buf), &len, want, 5000);
    ck_assert_msg(strstr(buf, "id: 2\n") && !strstr(buf, "id: 3\n"), "filtered replay: %s", buf);
    close(fd);

    struct wh_response r;
    wh_request(NULL, &srv, "GET", "/_webhooky/api/stream",
               (const char *const[]){"Last-Event-ID: x", NULL}, NULL, 0, &r);
    ck_assert_int_eq(r.status, 400);
    wh_response_free(&r);
    wh_request(NULL, &srv, "POST", "/_webhooky/api/stream", NULL, "", 0, &r);
    ck_assert_int_eq(r.status, 405);
    wh_response_free(&r);
}
END_TEST

START_TEST(delete_one_and_exports)
{
    int64_t a = wh_post(&srv, "/alpha", "{\"n\":1}");
    int64_t b = wh_post(&srv, "/gh", "two");
    struct wh_response r;
    char path[96];
    snprintf(path, sizeof(path), "/_webhooky/api/deliveries/%lld", (long long)a);
    wh_request(NULL, &srv, "DELETE", path, NULL, NULL, 0, &r);
    ck_assert_int_eq(r.status, 200);
    wh_response_free(&r);
    wh_request(NULL, &srv, "DELETE", path, NULL, NULL, 0, &r);
    ck_assert_int_eq(r.status, 404);
    wh_response_free(&r);
    json_decref(wh_api(&srv, 404, "/_webhooky/api/deliveries/%lld", (long long)a));
    json_decref(wh_delivery(&srv, b));

    wh_post(&srv, "/alpha", "three");
    wh_request(NULL, &srv, "GET", "/_webhooky/api/export.har", NULL, NULL, 0, &r);
    ck_assert_int_eq(r.status, 200);
    char *cd = wh_header(&r, "Content-Disposition");
    ck_assert_msg(cd && strstr(cd, "attachment"), "%s", cd ? cd : "(none)");
    free(cd);
    json_error_t je;
    json_t *har = json_loadb(r.body, r.body_len, 0, &je);
    ck_assert_msg(har, "HAR is not JSON: %s: %s", je.text, r.body);
    json_t *entries = json_object_get(json_object_get(har, "log"), "entries");
    ck_assert_uint_eq(json_array_size(entries), 2);
    json_t *e = json_array_get(entries, 0);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(e, "request"), "method")),
                     "POST");
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(e, "_webhooky"), "id")), b);
    json_decref(har);
    wh_response_free(&r);

    wh_request(NULL, &srv, "GET", "/_webhooky/api/export.jsonl?endpoint=alpha", NULL, NULL, 0, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_msg(strstr(r.body, "\"body\":\"three\"") && !strstr(r.body, "\"two\""), "%s", r.body);
    wh_response_free(&r);

    /* a large export is streamed in pieces and still whole */
    char big[4096];
    memset(big, 'b', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    for (int i = 0; i < 400; i++)
        wh_post(&srv, "/else", big);
    wh_request(NULL, &srv, "GET", "/_webhooky/api/export.jsonl", NULL, NULL, 0, &r);
    size_t lines = 0;
    for (size_t i = 0; i < r.body_len; i++)
        lines += r.body[i] == '\n';
    ck_assert_uint_eq(lines, 402);
    wh_response_free(&r);
}
END_TEST

START_TEST(replay_api_and_cli)
{
    /* the receiver replays to itself: the copy arrives as a new delivery */
    const char *h[] = {"Content-Type: application/json", "X-Custom: one", "X-Custom: two", NULL};
    struct wh_response r;
    wh_request(NULL, &srv, "POST", "/alpha?x=1", h, "{\"a\":1}", 7, &r);
    wh_response_free(&r);
    char body[256], path[96];
    snprintf(body, sizeof(body), "{\"url\": \"%s/copied?y=2\"}", srv.url);
    wh_request(NULL, &srv, "POST", "/_webhooky/api/deliveries/1/replay", NULL, body, strlen(body),
               &r);
    ck_assert_msg(r.status == 200, "replay: %ld %s", r.status, r.body);
    json_t *v = json_loadb(r.body, r.body_len, 0, NULL);
    ck_assert_int_eq(json_integer_value(json_object_get(v, "status")), 200);
    ck_assert_int_eq(json_integer_value(json_object_get(v, "delivery_id")), 1);
    json_decref(v);
    wh_response_free(&r);
    json_t *copy = wh_delivery(&srv, 2);
    ck_assert_str_eq(json_string_value(json_object_get(copy, "path")), "/copied");
    ck_assert_str_eq(json_string_value(json_object_get(copy, "query")), "y=2");
    ck_assert_str_eq(json_string_value(json_object_get(copy, "body")), "{\"a\":1}");
    ck_assert_str_eq(wh_delivery_header(copy, "X-Custom", 0), "one");
    ck_assert_str_eq(wh_delivery_header(copy, "X-Custom", 1), "two");
    ck_assert_str_eq(wh_delivery_header(copy, "Content-Type", 0), "application/json");
    json_decref(copy);

    const char *bad[][2] = {{"not json", "JSON"},
                            {"{\"url\": 5}", "string"},
                            {"{\"url\": \"ftp://x/\"}", "http"},
                            {"{\"url\": \"http://x/\", \"extra\": 1}", "extra"}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        wh_request(NULL, &srv, "POST", "/_webhooky/api/deliveries/1/replay", NULL, bad[i][0],
                   strlen(bad[i][0]), &r);
        ck_assert_msg(r.status == 400 && strstr(r.body, bad[i][1]), "%s: %ld %s", bad[i][0],
                      r.status, r.body);
        wh_response_free(&r);
    }
    snprintf(body, sizeof(body), "{\"url\": \"%s/\"}", srv.url);
    wh_request(NULL, &srv, "POST", "/_webhooky/api/deliveries/99/replay", NULL, body, strlen(body),
               &r);
    ck_assert_int_eq(r.status, 404);
    wh_response_free(&r);
    const char *nowhere = "{\"url\": \"http://127.0.0.1:9/\"}";
    wh_request(NULL, &srv, "POST", "/_webhooky/api/deliveries/1/replay", NULL, nowhere,
               strlen(nowhere), &r);
    ck_assert_msg(r.status == 502, "%ld %s", r.status, r.body);
    wh_response_free(&r);
    wh_request(NULL, &srv, "GET", "/_webhooky/api/deliveries/1/replay", NULL, NULL, 0, &r);
    ck_assert_int_eq(r.status, 405);
    wh_response_free(&r);

    /* the CLI */
    struct wh_run run;
    snprintf(path, sizeof(path), "%s/by-cli", srv.url);
    wh_run(&run, NULL, RUN_MS, "replay", "1", "--to", path, "--db", srv.db, NULL);
    ck_assert_msg(run.status == 0, "replay exit %d: %s", run.status, run.err);
    ck_assert_msg(strncmp(run.out, "200 from ", 9) == 0, "%s", run.out);
    wh_run_free(&run);
    copy = wh_delivery(&srv, 3);
    ck_assert_str_eq(json_string_value(json_object_get(copy, "path")), "/by-cli");
    json_decref(copy);
    wh_run(&run, NULL, RUN_MS, "replay", "77", "--to", path, "--db", srv.db, NULL);
    ck_assert_int_eq(run.status, 1);
    wh_run_free(&run);
    wh_run(&run, NULL, RUN_MS, "replay", "1", "--to", "http://127.0.0.1:9/", "--db", srv.db, NULL);
    ck_assert_int_eq(run.status, 3);
    wh_run_free(&run);
    wh_run(&run, NULL, RUN_MS, "replay", "1", "--db", srv.db, NULL);
    ck_assert_int_eq(run.status, 2);
    wh_run_free(&run);
    wh_run(&run, NULL, RUN_MS, "deliveries", "export", "--format", "har", "--db", srv.db, NULL);
    ck_assert_int_eq(run.status, 0);
    json_t *har = json_loads(run.out, 0, NULL);
    ck_assert_msg(har, "not JSON: %s", run.out);
    ck_assert_uint_eq(json_array_size(json_object_get(json_object_get(har, "log"), "entries")), 3);
    json_decref(har);
    wh_run_free(&run);
}
END_TEST

/* --max-connections 8 allows 2 event streams; shutdown ends open streams promptly. */
START_TEST(stream_limit_and_shutdown)
{
    char *db = wh_path(dir, "limit.db");
    struct wh_server s2;
    wh_server_start(&s2, dir, db, (const char *const[]){"--quiet", "--max-connections", "8", NULL},
                    NULL);
    free(db);
    int fds[2];
    static char buf[4096];
    for (int i = 0; i < 2; i++) {
        fds[i] = wh_connect(s2.port);
        const char *req = "GET /_webhooky/api/stream HTTP/1.1\r\nHost: x\r\n\r\n";
        ck_assert(wh_send_all(fds[i], req, strlen(req)));
        size_t len = 0;
        buf[0] = '\0';
        int64_t until = wh_now_ms() + 5000;
        while (!strstr(buf, "event stream")) {
            ssize_t n = wh_recv_timeout(fds[i], buf + len, sizeof(buf) - len - 1,
                                        (int)(until - wh_now_ms()));
            ck_assert_msg(n > 0, "stream %d did not open: %s", i, buf);
            len += (size_t)n;
            buf[len] = '\0';
        }
    }
    struct wh_response r;
    wh_request(NULL, &s2, "GET", "/_webhooky/api/stream", NULL, NULL, 0, &r);
    ck_assert_msg(r.status == 503 && strstr(r.body, "too many"), "%ld %s", r.status, r.body);
    wh_response_free(&r);
    /* deliveries still get through */
    ck_assert_int_eq(wh_post(&s2, "/x", "x"), 1);
    int64_t elapsed = 0;
    int st = wh_server_stop(&s2, SIGTERM, 10000, &elapsed);
    ck_assert_int_eq(st, 0);
    ck_assert_msg(elapsed < 1500, "stopping with open streams took %lld ms", (long long)elapsed);
    for (int i = 0; i < 2; i++) {
        /* the stream ended: the last chunk, then the close */
        ssize_t n;
        while ((n = wh_recv_timeout(fds[i], buf, sizeof(buf), 2000)) > 0)
            ;
        ck_assert_msg(n == 0 || n == -1, "stream %d still open after shutdown (%zd)", i, n);
        close(fds[i]);
    }
}
END_TEST

START_TEST(token_cookie_opens_only_the_stream)
{
    char *db = wh_path(dir, "token.db");
    struct wh_server s2;
    wh_server_start(&s2, dir, db, (const char *const[]){"--quiet", "--admin-token", "t0ken", NULL},
                    NULL);
    free(db);
    struct wh_response r;
    wh_request(NULL, &s2, "GET", "/_webhooky/", NULL, NULL, 0, &r);
    ck_assert_int_eq(r.status, 200); /* the page itself asks for the token */
    wh_response_free(&r);
    wh_request(NULL, &s2, "POST", "/_webhooky/api/session", NULL, "", 0, &r);
    ck_assert_int_eq(r.status, 401);
    wh_response_free(&r);
    wh_request(NULL, &s2, "POST", "/_webhooky/api/session",
               (const char *const[]){"Authorization: Bearer t0ken", NULL}, "", 0, &r);
    ck_assert_int_eq(r.status, 200);
    char *cookie = wh_header(&r, "Set-Cookie");
    wh_response_free(&r);
    ck_assert_ptr_nonnull(cookie);
    ck_assert_msg(strstr(cookie, "HttpOnly") && strstr(cookie, "SameSite=Strict") &&
                      strstr(cookie, "Path=/_webhooky/api/stream") && !strstr(cookie, "t0ken"),
                  "%s", cookie);
    char header[200];
    snprintf(header, sizeof(header), "Cookie: %.*s", (int)strcspn(cookie, ";"), cookie);
    free(cookie);
    /* the cookie opens the stream ... */
    int fd = wh_connect(s2.port);
    char req[400];
    snprintf(req, sizeof(req), "GET /_webhooky/api/stream HTTP/1.1\r\nHost: x\r\n%s\r\n\r\n",
             header);
    ck_assert(wh_send_all(fd, req, strlen(req)));
    char buf[2048];
    ssize_t n = wh_recv_timeout(fd, buf, sizeof(buf) - 1, 5000);
    ck_assert_int_gt(n, 0);
    buf[n] = '\0';
    ck_assert_msg(strncmp(buf, "HTTP/1.1 200", 12) == 0, "%s", buf);
    close(fd);
    /* ... and nothing else */
    wh_request(NULL, &s2, "GET", "/_webhooky/api/summaries", (const char *const[]){header, NULL},
               NULL, 0, &r);
    ck_assert_int_eq(r.status, 401);
    wh_response_free(&r);
    wh_request(NULL, &s2, "GET", "/_webhooky/api/stream",
               (const char *const[]){"Cookie: webhooky_stream=00", NULL}, NULL, 0, &r);
    ck_assert_int_eq(r.status, 401);
    wh_response_free(&r);
    wh_server_finish(&s2);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("web");
    TCase *tc = wh_tcase("web", 40);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, page_and_its_headers);
    tcase_add_test(tc, summaries_filter_page_and_count);
    tcase_add_test(tc, stream_sends_committed_deliveries);
    tcase_add_test(tc, delete_one_and_exports);
    tcase_add_test(tc, replay_api_and_cli);
    tcase_add_test(tc, stream_limit_and_shutdown);
    tcase_add_test(tc, token_cookie_opens_only_the_stream);
    suite_add_tcase(s, tc);
    return wh_run_suite(s);
}
