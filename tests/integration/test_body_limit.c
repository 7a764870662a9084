/* --max-body: oversized bodies are answered 413 and recorded truncated, with and without a
 * Content-Length; the server keeps serving afterwards. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define LIMIT 1024

static char *dir;
static struct wh_server srv;

static void setup(void)
{
    dir = wh_tmpdir();
    char *db = wh_path(dir, "limit.db");
    wh_server_start(&srv, dir, db, (const char *const[]){"--max-body", "1024", "--quiet", NULL},
                    NULL);
    free(db);
}

static void teardown(void)
{
    wh_server_finish(&srv);
    wh_tmpdir_remove(dir);
}

/* Bytes that differ at every offset a prefix could be taken from (printable, so the stored part
 * is also valid UTF-8 whatever its length). */
static unsigned char *pattern(size_t n)
{
    unsigned char *p = malloc(n);
    ck_assert_ptr_nonnull(p);
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(' ' + (i * 7 + i / 95) % 95);
    return p;
}

/* ---- a chunked upload: a read callback and no size ---- */

struct feed {
    const unsigned char *data;
    size_t len, off, chunk;
};

static size_t feed_read(char *buf, size_t size, size_t n, void *arg)
{
    struct feed *f = arg;
    size_t room = size * n;
    size_t take = f->len - f->off;
    if (take > f->chunk)
        take = f->chunk;
    if (take > room)
        take = room;
    memcpy(buf, f->data + f->off, take);
    f->off += take;
    return take;
}

static size_t collect(char *p, size_t size, size_t n, void *arg)
{
    size_t *seen = arg;
    *seen += size * n;
    return size * n;
}

struct chunked_result {
    CURLcode rc;
    long status;
    char body[512];
};

static size_t keep_body(char *p, size_t size, size_t n, void *arg)
{
    char *out = arg;
    size_t have = strlen(out), add = size * n;
    if (have + add >= 512)
        add = 511 - have;
    memcpy(out + have, p, add);
    out[have + add] = '\0';
    return size * n;
}

static void post_chunked(const unsigned char *data, size_t len, size_t chunk,
                         struct chunked_result *ret)
{
    memset(ret, 0, sizeof(*ret));
    CURL *h = wh_curl();
    char url[128];
    snprintf(url, sizeof(url), "%s/chunked", srv.url);
    struct feed f = {data, len, 0, chunk};
    size_t header_bytes = 0;
    struct curl_slist *hl = curl_slist_append(NULL, "Transfer-Encoding: chunked");
    hl = curl_slist_append(hl, "Content-Type: text/plain");
    hl = curl_slist_append(hl, "Expect:");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, feed_read);
    curl_easy_setopt(h, CURLOPT_READDATA, &f);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &header_bytes);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, keep_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, ret->body);
    ret->rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &ret->status);
    curl_easy_cleanup(h);
    curl_slist_free_all(hl);
}

/* The delivery answered in body (JSON with "id"), checked as an oversized one. */
static void check_truncated(const char *answer, const unsigned char *sent, size_t sent_len,
                            bool exact_size)
{
    json_t *a = json_loads(answer, 0, NULL);
    ck_assert_msg(a != NULL, "the 413 answer is not JSON: %s", answer);
    ck_assert_msg(json_is_false(json_object_get(a, "ok")), "the 413 answer says ok: %s", answer);
    int64_t id = json_integer_value(json_object_get(a, "id"));
    ck_assert_msg(id > 0, "the 413 answer has no delivery id: %s", answer);
    json_decref(a);

    json_t *d = wh_delivery(&srv, id);
    ck_assert_msg(json_is_true(json_object_get(d, "truncated")), "truncated is not true");
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(d, "response"), "status")),
                     413);
    int64_t size = json_integer_value(json_object_get(d, "body_size"));
    if (exact_size)
        ck_assert_int_eq(size, (int64_t)sent_len);
    else
        ck_assert_msg(size > LIMIT && size <= (int64_t)sent_len,
                      "body_size %lld is not between the limit and what was sent", (long long)size);
    size_t kept_len;
    unsigned char *kept = wh_delivery_body(d, &kept_len);
    ck_assert_msg(kept_len <= LIMIT, "%zu body bytes stored, more than --max-body %d", kept_len,
                  LIMIT);
    ck_assert_msg(memcmp(kept, sent, kept_len) == 0,
                  "the stored bytes are not a prefix of the body sent");
    free(kept);
    json_decref(d);
}

START_TEST(content_length_over_limit)
{
    size_t n = 5000;
    unsigned char *body = pattern(n);
    const char *h[] = {"Content-Type: text/plain", NULL};
    struct wh_response r;
    wh_request(NULL, &srv, "POST", "/big", h, body, n, &r);
    ck_assert_msg(r.status == 413, "5000 bytes over a 1024 limit: status %ld (curl: %s), body %s",
                  r.status, curl_easy_strerror(r.rc), r.body);
    check_truncated(r.body, body, n, true);
    wh_response_free(&r);
    free(body);
    ck_assert_int_gt(wh_post(&srv, "/after", "still serving"), 0);
}
END_TEST

START_TEST(limit_is_inclusive)
{
    unsigned char *body = pattern(LIMIT + 1);
    struct wh_response r;
    wh_request(NULL, &srv, "POST", "/exact", NULL, body, LIMIT, &r);
    ck_assert_int_eq(r.status, 200);
    json_t *a = json_loads(r.body, 0, NULL);
    json_t *d = wh_delivery(&srv, json_integer_value(json_object_get(a, "id")));
    ck_assert(json_is_false(json_object_get(d, "truncated")));
    ck_assert_int_eq(json_integer_value(json_object_get(d, "body_size")), LIMIT);
    size_t len;
    unsigned char *kept = wh_delivery_body(d, &len);
    ck_assert_uint_eq(len, LIMIT);
    ck_assert(memcmp(kept, body, LIMIT) == 0);
    free(kept);
    json_decref(d);
    json_decref(a);
    wh_response_free(&r);

    wh_request(NULL, &srv, "POST", "/one-more", NULL, body, LIMIT + 1, &r);
    ck_assert_msg(r.status == 413, "%d bytes: status %ld", LIMIT + 1, r.status);
    check_truncated(r.body, body, LIMIT + 1, true);
    wh_response_free(&r);
    free(body);
}
END_TEST

START_TEST(chunked_over_limit)
{
    size_t n = 5000;
    unsigned char *body = pattern(n);
    struct chunked_result r;
    post_chunked(body, n, 500, &r);
    ck_assert_msg(r.status == 413, "a chunked 5000-byte upload: status %ld (curl: %s), body %s",
                  r.status, curl_easy_strerror(r.rc), r.body);
    check_truncated(r.body, body, n, false);

    /* it really was chunked */
    json_t *a = json_loads(r.body, 0, NULL);
    json_t *d = wh_delivery(&srv, json_integer_value(json_object_get(a, "id")));
    const char *te = wh_delivery_header(d, "Transfer-Encoding", 0);
    ck_assert_msg(te && strcmp(te, "chunked") == 0, "Transfer-Encoding was '%s'",
                  te ? te : "(none)");
    ck_assert_ptr_null(wh_delivery_header(d, "Content-Length", 0));
    json_decref(d);
    json_decref(a);
    free(body);
    ck_assert_int_gt(wh_post(&srv, "/after", "still serving"), 0);
}
END_TEST

START_TEST(chunked_under_limit)
{
    size_t n = 900;
    unsigned char *body = pattern(n);
    struct chunked_result r;
    post_chunked(body, n, 100, &r);
    ck_assert_msg(r.status == 200, "status %ld (curl: %s), body %s", r.status,
                  curl_easy_strerror(r.rc), r.body);
    json_t *a = json_loads(r.body, 0, NULL);
    json_t *d = wh_delivery(&srv, json_integer_value(json_object_get(a, "id")));
    ck_assert(json_is_false(json_object_get(d, "truncated")));
    ck_assert_int_eq(json_integer_value(json_object_get(d, "body_size")), (long)n);
    size_t len;
    unsigned char *kept = wh_delivery_body(d, &len);
    ck_assert_uint_eq(len, n);
    ck_assert(memcmp(kept, body, n) == 0);
    free(kept);
    json_decref(d);
    json_decref(a);
    free(body);
}
END_TEST

START_TEST(huge_upload_refused_early)
{
    /* 8 MiB against a 1 KiB limit: read through, and the 413 reaches the client */
    size_t n = 8u << 20;
    unsigned char *body = pattern(n);
    struct wh_response r;
    wh_request(NULL, &srv, "POST", "/huge", NULL, body, n, &r);
    ck_assert_msg(r.status == 413, "8 MiB over a 1 KiB limit: status %ld (curl: %s)", r.status,
                  curl_easy_strerror(r.rc));
    check_truncated(r.body, body, n, true);
    wh_response_free(&r);
    free(body);

    struct wh_response mr;
    wh_request(NULL, &srv, "GET", "/_webhooky/metrics", NULL, NULL, 0, &mr);
    ck_assert_int_eq(mr.status, 200);
    ck_assert_msg(strstr(mr.body, "webhooky_deliveries_total{endpoint=\"\",status=\"413\"} 1\n"),
                  "metrics do not count the 413:\n%s", mr.body);
    wh_response_free(&mr);
    ck_assert_int_gt(wh_post(&srv, "/after", "still serving"), 0);
}
END_TEST

START_TEST(huge_declared_body_refused_up_front)
{
    /* a Content-Length far beyond what the server would read through is answered 413 right
     * after the headers, before any body byte is sent */
    int fd = wh_connect(srv.port);
    static const char head[] = "POST /declared HTTP/1.1\r\nHost: x\r\n"
                               "Content-Length: 100000000000\r\n\r\n";
    ck_assert(wh_send_all(fd, head, sizeof(head) - 1));
    char buf[1024] = "";
    size_t have = 0;
    ssize_t n;
    int64_t t0 = wh_now_ms();
    while (have < sizeof(buf) - 1 && !strstr(buf, "\r\n\r\n{") &&
           (n = wh_recv_timeout(fd, buf + have, sizeof(buf) - 1 - have, 5000)) > 0) {
        have += (size_t)n;
        buf[have] = '\0';
    }
    buf[have] = '\0';
    close(fd);
    ck_assert_msg(strncmp(buf, "HTTP/1.1 413", 12) == 0,
                  "a declared 100 GB body without any byte sent: '%.40s' after %lld ms", buf,
                  (long long)(wh_now_ms() - t0));
    json_t *all = wh_api(&srv, 200, "/_webhooky/api/deliveries?order=desc&limit=1");
    json_t *d = json_array_get(json_object_get(all, "deliveries"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(d, "path")), "/declared");
    ck_assert(json_is_true(json_object_get(d, "truncated")));
    ck_assert_int_eq(json_integer_value(json_object_get(d, "body_size")), 100000000000LL);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(d, "response"), "status")),
                     413);
    json_decref(all);
    ck_assert_int_gt(wh_post(&srv, "/after", "still serving"), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("body_limit");
    TCase *tc = wh_tcase("body_limit", 30);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, content_length_over_limit);
    tcase_add_test(tc, limit_is_inclusive);
    tcase_add_test(tc, chunked_over_limit);
    tcase_add_test(tc, chunked_under_limit);
    tcase_add_test(tc, huge_upload_refused_early);
    tcase_add_test(tc, huge_declared_body_refused_up_front);
    suite_add_tcase(s, tc);
    return wh_run_suite(s);
}
