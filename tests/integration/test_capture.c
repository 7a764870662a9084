/* Capture fidelity: what a sender sent is what the API gives back, byte for byte. */
#include <regex.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static char *dir;
static struct wh_server srv;

static void setup(void)
{
    dir = wh_tmpdir();
    char *db = wh_path(dir, "capture.db");
    wh_server_start(&srv, dir, db, (const char *const[]){"--quiet", NULL}, NULL);
    free(db);
}

static void teardown(void)
{
    wh_server_finish(&srv);
    wh_tmpdir_remove(dir);
}

/* Send a delivery and return its id, asserting the 200 {"ok":true,"id":N} answer. */
static int64_t send_one(const char *method, const char *path, const char *const *headers,
                        const void *body, size_t len)
{
    struct wh_response r;
    wh_request(NULL, &srv, method, path, headers, body, len, &r);
    ck_assert_msg(r.rc == CURLE_OK, "%s %s: %s", method, path, curl_easy_strerror(r.rc));
    ck_assert_msg(r.status == 200, "%s %s: status %ld: %s", method, path, r.status, r.body);
    char *ct = wh_header(&r, "Content-Type");
    ck_assert_msg(ct && strncmp(ct, "application/json", 16) == 0,
                  "the answer's Content-Type is '%s', not application/json", ct ? ct : "(none)");
    free(ct);
    json_t *v = json_loadb(r.body, r.body_len, 0, NULL);
    ck_assert_msg(v != NULL, "the answer is not JSON: %s", r.body);
    ck_assert_msg(json_object_size(v) == 2 && json_is_true(json_object_get(v, "ok")) &&
                      json_integer_value(json_object_get(v, "id")) > 0,
                  "the answer is not {\"ok\":true,\"id\":N}: %s", r.body);
    int64_t id = json_integer_value(json_object_get(v, "id"));
    json_decref(v);
    wh_response_free(&r);
    return id;
}

START_TEST(binary_body_round_trips)
{
    unsigned char all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (unsigned char)i;
    const char *h[] = {"Content-Type: application/octet-stream", NULL};
    int64_t id = send_one("POST", "/bin", h, all, sizeof(all));

    json_t *d = wh_delivery(&srv, id);
    ck_assert_ptr_null(json_object_get(d, "body"));
    char *want = wh_base64(all, sizeof(all));
    ck_assert_str_eq(json_string_value(json_object_get(d, "body_base64")), want);
    ck_assert_int_eq(json_integer_value(json_object_get(d, "body_size")), 256);
    ck_assert(json_is_false(json_object_get(d, "truncated")));
    free(want);
    json_decref(d);

    struct wh_response r;
    char path[64];
    snprintf(path, sizeof(path), "/_webhooky/api/deliveries/%lld/body", (long long)id);
    wh_request(NULL, &srv, "GET", path, NULL, NULL, 0, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_uint_eq(r.body_len, 256);
    ck_assert_msg(memcmp(r.body, all, 256) == 0, "/body is not byte-identical to what was sent");
    wh_response_free(&r);
}
END_TEST

START_TEST(duplicate_headers_kept_in_order)
{
    const char *h[] = {"X-Dup: one", "X-Mid: middle", "X-Dup: two", NULL};
    int64_t id = send_one("POST", "/dup", h, "x", 1);
    json_t *d = wh_delivery(&srv, id);
    json_t *hdrs = json_object_get(d, "headers");
    ck_assert(json_is_array(hdrs));
    long at_one = -1, at_mid = -1, at_two = -1, dups = 0;
    size_t i;
    json_t *pair;
    json_array_foreach(hdrs, i, pair)
    {
        ck_assert_msg(json_is_array(pair) && json_array_size(pair) == 2,
                      "header %zu is not a [name, value] pair", i);
        const char *k = json_string_value(json_array_get(pair, 0));
        const char *v = json_string_value(json_array_get(pair, 1));
        ck_assert(k && v);
        if (strcmp(k, "X-Dup") == 0) {
            dups++;
            if (strcmp(v, "one") == 0)
                at_one = (long)i;
            else if (strcmp(v, "two") == 0)
                at_two = (long)i;
        } else if (strcmp(k, "X-Mid") == 0) {
            at_mid = (long)i;
        }
    }
    ck_assert_int_eq(dups, 2);
    ck_assert_msg(at_one >= 0 && at_one < at_mid && at_mid < at_two,
                  "headers out of order: X-Dup:one at %ld, X-Mid at %ld, X-Dup:two at %ld", at_one,
                  at_mid, at_two);
    ck_assert_str_eq(wh_delivery_header(d, "x-dup", 0), "one");
    ck_assert_str_eq(wh_delivery_header(d, "x-dup", 1), "two");
    json_decref(d);
}
END_TEST

START_TEST(empty_body)
{
    int64_t post = send_one("POST", "/empty", NULL, "", 0);
    int64_t get = send_one("GET", "/empty-get", NULL, NULL, 0);
    int64_t ids[] = {post, get};
    for (int i = 0; i < 2; i++) {
        json_t *d = wh_delivery(&srv, ids[i]);
        ck_assert_msg(json_is_string(json_object_get(d, "body")), "an empty body must be \"body\"");
        ck_assert_str_eq(json_string_value(json_object_get(d, "body")), "");
        ck_assert_ptr_null(json_object_get(d, "body_base64"));
        ck_assert_int_eq(json_integer_value(json_object_get(d, "body_size")), 0);
        json_decref(d);
    }
}
END_TEST

START_TEST(utf8_body_stays_text)
{
    const char *text = "{\"greeting\":\"h\xC3\xA9llo \xE2\x9C\x93 \xF0\x9F\x8E\x89\"}";
    const char *h[] = {"Content-Type: application/json", NULL};
    int64_t id = send_one("POST", "/utf8", h, text, strlen(text));
    json_t *d = wh_delivery(&srv, id);
    ck_assert_ptr_null(json_object_get(d, "body_base64"));
    ck_assert_str_eq(json_string_value(json_object_get(d, "body")), text);
    ck_assert_int_eq(json_integer_value(json_object_get(d, "body_size")), (long)strlen(text));
    json_decref(d);
}
END_TEST

START_TEST(non_utf8_body_goes_base64)
{
    static const unsigned char latin1[] =
        "caf\xE9 \xFF\xFE overlong \xC0\xAF surrogate \xED\xA0\x80";
    size_t n = sizeof(latin1) - 1;
    int64_t id = send_one("POST", "/latin1", NULL, latin1, n);
    json_t *d = wh_delivery(&srv, id);
    ck_assert_ptr_null(json_object_get(d, "body"));
    size_t got_len;
    unsigned char *got = wh_delivery_body(d, &got_len);
    ck_assert_uint_eq(got_len, n);
    ck_assert(memcmp(got, latin1, n) == 0);
    free(got);
    json_decref(d);
}
END_TEST

START_TEST(query_kept_raw)
{
    int64_t with = send_one("POST", "/q/path?a=1&a=2&b=%20x", NULL, "", 0);
    int64_t without = send_one("POST", "/q/path", NULL, "", 0);
    json_t *d = wh_delivery(&srv, with);
    ck_assert_str_eq(json_string_value(json_object_get(d, "path")), "/q/path");
    ck_assert_str_eq(json_string_value(json_object_get(d, "query")), "a=1&a=2&b=%20x");
    json_decref(d);
    d = wh_delivery(&srv, without);
    ck_assert_str_eq(json_string_value(json_object_get(d, "path")), "/q/path");
    ck_assert_msg(json_is_null(json_object_get(d, "query")),
                  "query must be null when the URL has no '?'");
    json_decref(d);
}
END_TEST

START_TEST(methods_captured)
{
    static const char *const methods[] = {"PUT", "PATCH", "GET", "DELETE", "POST"};
    int64_t ids[5];
    for (int i = 0; i < 5; i++) {
        bool body = strcmp(methods[i], "GET") != 0 && strcmp(methods[i], "DELETE") != 0;
        ids[i] = send_one(methods[i], "/method", NULL, body ? "m" : NULL, body ? 1 : 0);
    }
    for (int i = 0; i < 5; i++) {
        json_t *d = wh_delivery(&srv, ids[i]);
        ck_assert_str_eq(json_string_value(json_object_get(d, "method")), methods[i]);
        json_decref(d);
        /* the method filter selects exactly that one */
        json_t *l = wh_api(&srv, 200, "/_webhooky/api/deliveries?method=%s", methods[i]);
        json_t *list = json_object_get(l, "deliveries");
        ck_assert_uint_eq(json_array_size(list), 1);
        ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(list, 0), "id")),
                         ids[i]);
        json_decref(l);
    }
}
END_TEST

START_TEST(path_kept_raw)
{
    const char *raw = "/p%41th/%2Fslash/%E2%9C%93/a+b";
    int64_t id = send_one("POST", raw, NULL, "", 0);
    json_t *d = wh_delivery(&srv, id);
    ck_assert_str_eq(json_string_value(json_object_get(d, "path")), raw);
    json_decref(d);
}
END_TEST

/* The peer's address is read once per connection: the requests of one keep-alive connection
 * share it, and another connection has its own port. */
static char *peer_of(CURL *h)
{
    struct wh_response r;
    wh_request(h, &srv, "POST", "/peer", NULL, "x", 1, &r);
    ck_assert_int_eq(r.status, 200);
    json_t *v = json_loadb(r.body, r.body_len, 0, NULL);
    int64_t id = json_integer_value(json_object_get(v, "id"));
    json_decref(v);
    wh_response_free(&r);
    json_t *d = wh_delivery(&srv, id);
    char *peer = strdup(json_string_value(json_object_get(d, "remote_addr")));
    json_decref(d);
    return peer;
}

START_TEST(peer_per_connection)
{
    CURL *a = wh_curl(), *b = wh_curl();
    char *a1 = peer_of(a), *b1 = peer_of(b), *a2 = peer_of(a), *b2 = peer_of(b);
    ck_assert_str_eq(a1, a2);
    ck_assert_str_eq(b1, b2);
    ck_assert_str_ne(a1, b1);
    free(a1);
    free(a2);
    free(b1);
    free(b2);
    curl_easy_cleanup(a);
    curl_easy_cleanup(b);
}
END_TEST

START_TEST(peer_time_and_answer_recorded)
{
    time_t before = time(NULL);
    int64_t id = send_one("POST", "/meta", NULL, "abc", 3);
    time_t after = time(NULL);
    json_t *d = wh_delivery(&srv, id);
    ck_assert_int_eq(json_integer_value(json_object_get(d, "id")), id);
    const char *peer = json_string_value(json_object_get(d, "remote_addr"));
    ck_assert_msg(peer && strncmp(peer, "127.0.0.1:", 10) == 0, "remote_addr is '%s'",
                  peer ? peer : "(null)");
    ck_assert_msg(strtol(peer + 10, NULL, 10) > 0, "remote_addr '%s' has no port", peer);

    const char *at = json_string_value(json_object_get(d, "received_at"));
    ck_assert_ptr_nonnull(at);
    regex_t re;
    ck_assert_int_eq(regcomp(&re,
                             "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6}Z$",
                             REG_EXTENDED | REG_NOSUB),
                     0);
    ck_assert_msg(regexec(&re, at, 0, NULL, 0) == 0,
                  "received_at '%s' is not RFC 3339 with microseconds and Z", at);
    regfree(&re);
    struct tm tm = {0};
    ck_assert_ptr_nonnull(strptime(at, "%Y-%m-%dT%H:%M:%S", &tm));
    time_t t = timegm(&tm);
    ck_assert_msg(t >= before - 1 && t <= after + 1, "received_at %s is not the time it was sent",
                  at);

    ck_assert_msg(json_is_null(json_object_get(d, "endpoint")), "no config: endpoint is null");
    ck_assert(json_is_false(json_object_get(d, "truncated")));
    ck_assert_int_eq(json_integer_value(json_object_get(d, "body_size")), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(d, "response"), "status")),
                     200);
    json_decref(d);
}
END_TEST

/* A sender may shut down its side once the request is sent (`nc -N`, some HTTP/1.0 clients);
 * it still reads the answer, and must get it. */
START_TEST(half_closed_sender_gets_its_answer)
{
    int fd = wh_connect(srv.port);
    static const char req[] = "POST /half HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
    ck_assert(wh_send_all(fd, req, sizeof(req) - 1));
    ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
    char buf[2048];
    size_t got = 0;
    for (ssize_t n; got < sizeof(buf) - 1 &&
                    (n = wh_recv_timeout(fd, buf + got, sizeof(buf) - 1 - got, 5000)) > 0;)
        got += (size_t)n;
    close(fd);
    buf[got] = '\0';
    ck_assert_msg(strncmp(buf, "HTTP/1.1 200", 12) == 0, "answer: '%.200s'", buf);
    const char *body = strstr(buf, "\r\n\r\n");
    ck_assert_ptr_nonnull(body);
    json_t *v = json_loads(body + 4, 0, NULL);
    ck_assert_msg(v && json_is_true(json_object_get(v, "ok")), "body: %s", body + 4);
    json_t *d = wh_delivery(&srv, json_integer_value(json_object_get(v, "id")));
    ck_assert_str_eq(json_string_value(json_object_get(d, "path")), "/half");
    ck_assert_str_eq(json_string_value(json_object_get(d, "body")), "hello");
    json_decref(d);
    json_decref(v);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("capture");
    TCase *tc = wh_tcase("capture", 30);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, binary_body_round_trips);
    tcase_add_test(tc, duplicate_headers_kept_in_order);
    tcase_add_test(tc, empty_body);
    tcase_add_test(tc, utf8_body_stays_text);
    tcase_add_test(tc, non_utf8_body_goes_base64);
    tcase_add_test(tc, query_kept_raw);
    tcase_add_test(tc, methods_captured);
    tcase_add_test(tc, path_kept_raw);
    tcase_add_test(tc, peer_time_and_answer_recorded);
    tcase_add_test(tc, peer_per_connection);
    tcase_add_test(tc, half_closed_sender_gets_its_answer);
    suite_add_tcase(s, tc);
    return wh_run_suite(s);
}
