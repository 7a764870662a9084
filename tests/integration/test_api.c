/* The admin API's details: argument checking, 404s, /body, DELETE with a filter, metrics,
 * ordering, and that nothing under /_webhooky/ is ever captured. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static char *dir;
static struct wh_server srv;

static void setup(void)
{
    dir = wh_tmpdir();
    char *cfg = wh_path(dir, "api.json");
    char *db = wh_path(dir, "api.db");
    wh_write_file(cfg, "{\"endpoints\": [{\"name\": \"alpha\", \"path\": \"/alpha\"},\n"
                       "                {\"name\": \"beta\", \"path\": \"/beta/*\"}]}\n");
    wh_server_start(&srv, dir, db,
                    (const char *const[]){"--config", cfg, "--max-body", "64", "--quiet", NULL},
                    NULL);
    free(cfg);
    free(db);
}

static void teardown(void)
{
    wh_server_finish(&srv);
    wh_tmpdir_remove(dir);
}

/* GET path; expect status and a JSON {"error": "..."} containing want. */
static void expect_error(const char *path, long status, const char *want)
{
    struct wh_response r;
    wh_request(NULL, &srv, "GET", path, NULL, NULL, 0, &r);
    ck_assert_msg(r.status == status, "GET %s: status %ld, expected %ld: %s", path, r.status,
                  status, r.body);
    json_t *v = json_loadb(r.body, r.body_len, 0, NULL);
    const char *msg = json_string_value(json_object_get(v, "error"));
    ck_assert_msg(msg != NULL, "GET %s: no JSON error message: %s", path, r.body);
    ck_assert_msg(strstr(msg, want), "GET %s: the error '%s' does not mention '%s'", path, msg,
                  want);
    json_decref(v);
    wh_response_free(&r);
}

static size_t list_size(const char *query)
{
    json_t *v = wh_api(&srv, 200, "/_webhooky/api/deliveries?%s", query);
    size_t n = json_array_size(json_object_get(v, "deliveries"));
    json_decref(v);
    return n;
}

START_TEST(bad_arguments_are_named)
{
    expect_error("/_webhooky/api/deliveries?bogus=1", 400, "bogus");
    expect_error("/_webhooky/api/deliveries?limit=10&colour=red", 400, "colour");
    expect_error("/_webhooky/api/deliveries?limit=5000", 400, "limit");
    expect_error("/_webhooky/api/deliveries?limit=0", 400, "limit");
    expect_error("/_webhooky/api/deliveries?limit=ten", 400, "limit");
    expect_error("/_webhooky/api/deliveries?since_id=-1", 400, "since_id");
    expect_error("/_webhooky/api/deliveries?order=sideways", 400, "order");
    expect_error("/_webhooky/api/deliveries?wait_ms=forever", 400, "wait_ms");
    expect_error("/_webhooky/api/deliveries?wait_ms=300001", 400, "wait_ms");
    expect_error("/_webhooky/api/deliveries?wait_ms=10&min_count=0", 400, "min_count");
    expect_error("/_webhooky/api/deliveries/999999", 404, "999999");
    expect_error("/_webhooky/api/deliveries/999999/body", 404, "999999");
    expect_error("/_webhooky/api/deliveries/abc", 400, "abc");
    expect_error("/_webhooky/api/nothing", 404, "deliveries");
    ck_assert_uint_eq(list_size("limit=1000"), 0); /* the largest limit is fine */
}
END_TEST

START_TEST(body_keeps_content_type)
{
    const char *body = "{\"type\":\"order.created\"}";
    const char *h[] = {"Content-Type: application/vnd.test+json; charset=utf-8", NULL};
    struct wh_response r;
    wh_request(NULL, &srv, "POST", "/typed", h, body, strlen(body), &r);
    ck_assert_int_eq(r.status, 200);
    json_t *a = json_loadb(r.body, r.body_len, 0, NULL);
    int64_t id = json_integer_value(json_object_get(a, "id"));
    json_decref(a);
    wh_response_free(&r);

    char path[96];
    snprintf(path, sizeof(path), "/_webhooky/api/deliveries/%lld/body", (long long)id);
    wh_request(NULL, &srv, "GET", path, NULL, NULL, 0, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, body);
    char *ct = wh_header(&r, "Content-Type");
    char *cd = wh_header(&r, "Content-Disposition");
    ck_assert_str_eq(ct, "application/vnd.test+json; charset=utf-8");
    ck_assert_msg(cd && strncmp(cd, "attachment", 10) == 0, "Content-Disposition is '%s'",
                  cd ? cd : "(none)");
    char fname[64];
    snprintf(fname, sizeof(fname), "delivery-%lld", (long long)id);
    ck_assert_msg(strstr(cd, fname), "Content-Disposition '%s' does not name %s", cd, fname);
    free(ct);
    free(cd);
    wh_response_free(&r);

    /* no Content-Type sent: served as octet-stream, never sniffed */
    const char *none[] = {"Content-Type:", NULL};
    wh_request(NULL, &srv, "POST", "/untyped", none, "<script>", 8, &r);
    a = json_loadb(r.body, r.body_len, 0, NULL);
    id = json_integer_value(json_object_get(a, "id"));
    json_decref(a);
    wh_response_free(&r);
    snprintf(path, sizeof(path), "/_webhooky/api/deliveries/%lld/body", (long long)id);
    wh_request(NULL, &srv, "GET", path, NULL, NULL, 0, &r);
    ct = wh_header(&r, "Content-Type");
    char *nosniff = wh_header(&r, "X-Content-Type-Options");
    ck_assert_str_eq(ct, "application/octet-stream");
    ck_assert_str_eq(nosniff, "nosniff");
    ck_assert_str_eq(r.body, "<script>");
    free(ct);
    free(nosniff);
    wh_response_free(&r);
}
END_TEST

static json_t *delete_where(const char *query, long status)
{
    char path[128];
    snprintf(path, sizeof(path), "/_webhooky/api/deliveries%s", query);
    struct wh_response r;
    wh_request(NULL, &srv, "DELETE", path, NULL, NULL, 0, &r);
    ck_assert_msg(r.status == status, "DELETE %s: status %ld: %s", path, r.status, r.body);
    json_t *v = json_loadb(r.body, r.body_len, 0, NULL);
    ck_assert_ptr_nonnull(v);
    wh_response_free(&r);
    return v;
}

START_TEST(delete_by_endpoint)
{
    for (int i = 0; i < 3; i++)
        wh_post(&srv, "/alpha", "a");
    for (int i = 0; i < 2; i++)
        wh_post(&srv, "/beta/x", "b");
    int64_t catch_all = wh_post(&srv, "/elsewhere", "c");

    json_t *v = delete_where("?endpoint=alpha", 200);
    ck_assert_int_eq(json_integer_value(json_object_get(v, "deleted")), 3);
    ck_assert_uint_eq(json_object_size(v), 1);
    json_decref(v);
    ck_assert_uint_eq(list_size("endpoint=alpha"), 0);
    ck_assert_uint_eq(list_size("endpoint=beta"), 2);
    ck_assert_uint_eq(list_size("endpoint=-"), 1);

    v = delete_where("?endpoint=-", 200);
    ck_assert_int_eq(json_integer_value(json_object_get(v, "deleted")), 1);
    json_decref(v);
    json_decref(wh_api(&srv, 404, "/_webhooky/api/deliveries/%lld", (long long)catch_all));
    ck_assert_uint_eq(list_size("endpoint=beta"), 2);

    v = delete_where("?endpoint=nosuch", 200);
    ck_assert_int_eq(json_integer_value(json_object_get(v, "deleted")), 0);
    json_decref(v);
    v = delete_where("?bogus=1", 400);
    json_decref(v);
    ck_assert_uint_eq(list_size(""), 2);

    v = delete_where("", 200);
    ck_assert_int_eq(json_integer_value(json_object_get(v, "deleted")), 2);
    json_decref(v);
    ck_assert_uint_eq(list_size(""), 0);
    /* ids are not reused after a delete */
    ck_assert_int_gt(wh_post(&srv, "/alpha", "again"), catch_all);
}
END_TEST

/* The value of the metrics line that starts with prefix, or -1. */
static long metric(const char *text, const char *prefix)
{
    size_t n = strlen(prefix);
    for (const char *line = text; *line;) {
        const char *nl = strchr(line, '\n');
        if (strncmp(line, prefix, n) == 0 && line[n] == ' ')
            return strtol(line + n + 1, NULL, 10);
        if (!nl)
            break;
        line = nl + 1;
    }
    return -1;
}

START_TEST(metrics_count_by_status)
{
    wh_post(&srv, "/alpha", "1");
    wh_post(&srv, "/alpha", "2");
    wh_post(&srv, "/elsewhere", "3");
    char big[200];
    memset(big, 'x', sizeof(big));
    struct wh_response r;
    wh_request(NULL, &srv, "POST", "/elsewhere", NULL, big, sizeof(big), &r);
    ck_assert_int_eq(r.status, 413);
    wh_response_free(&r);

    /* a delivery is counted when its connection completes, just after the answer leaves:
     * read the metrics until the four answers are counted (2 s at most) */
    int64_t deadline = wh_now_ms() + 2000;
    for (;;) {
        wh_request(NULL, &srv, "GET", "/_webhooky/metrics", NULL, NULL, 0, &r);
        ck_assert_int_eq(r.status, 200);
        if (metric(r.body, "webhooky_request_duration_seconds_count") >= 4 ||
            wh_now_ms() > deadline)
            break;
        wh_response_free(&r);
        wh_sleep_ms(10);
    }
    char *ct = wh_header(&r, "Content-Type");
    ck_assert_msg(ct && strncmp(ct, "text/plain", 10) == 0, "metrics Content-Type '%s'",
                  ct ? ct : "(none)");
    free(ct);
    ck_assert_int_eq(metric(r.body, "webhooky_deliveries_total{endpoint=\"alpha\",status=\"200\"}"),
                     2);
    ck_assert_int_eq(metric(r.body, "webhooky_deliveries_total{endpoint=\"\",status=\"200\"}"), 1);
    ck_assert_int_eq(metric(r.body, "webhooky_deliveries_total{endpoint=\"\",status=\"413\"}"), 1);
    ck_assert_int_eq(metric(r.body, "webhooky_deliveries_total{endpoint=\"beta\",status=\"200\"}"),
                     -1);
    ck_assert_msg(strstr(r.body, "# TYPE webhooky_deliveries_total counter\n"), "%s", r.body);
    ck_assert_int_eq(metric(r.body, "webhooky_request_duration_seconds_count"), 4);
    wh_response_free(&r);
}
END_TEST

START_TEST(order_and_limit)
{
    int64_t ids[5];
    for (int i = 0; i < 5; i++)
        ids[i] = wh_post(&srv, "/elsewhere", "o");
    json_t *v = wh_api(&srv, 200, "/_webhooky/api/deliveries?order=desc");
    json_t *list = json_object_get(v, "deliveries");
    ck_assert_uint_eq(json_array_size(list), 5);
    for (size_t i = 0; i < 5; i++)
        ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(list, i), "id")),
                         ids[4 - i]);
    ck_assert_int_eq(json_integer_value(json_object_get(v, "last_id")), ids[4]);
    json_decref(v);

    v = wh_api(&srv, 200, "/_webhooky/api/deliveries?order=desc&limit=2");
    list = json_object_get(v, "deliveries");
    ck_assert_uint_eq(json_array_size(list), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(list, 0), "id")), ids[4]);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(list, 1), "id")), ids[3]);
    json_decref(v);

    v = wh_api(&srv, 200, "/_webhooky/api/deliveries?order=asc&limit=2&since_id=%lld",
               (long long)ids[1]);
    list = json_object_get(v, "deliveries");
    ck_assert_uint_eq(json_array_size(list), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(list, 0), "id")), ids[2]);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(list, 1), "id")), ids[3]);
    json_decref(v);
}
END_TEST

START_TEST(admin_paths_never_captured)
{
    int64_t before = wh_post(&srv, "/elsewhere", "marker");
    static const struct {
        const char *method, *path;
    } admin[] = {
        {"GET", "/_webhooky/health"},
        {"GET", "/_webhooky/metrics"},
        {"GET", "/_webhooky/api/deliveries"},
        {"POST", "/_webhooky/api/deliveries"},
        {"PUT", "/_webhooky/health"},
        {"GET", "/_webhooky/nope"},
        {"POST", "/_webhooky/anything/else"},
        {"GET", "/_webhooky"},
        {"GET", "/_webhooky/"},
    };
    for (size_t i = 0; i < sizeof(admin) / sizeof(admin[0]); i++) {
        struct wh_response r;
        bool body = strcmp(admin[i].method, "GET") != 0;
        wh_request(NULL, &srv, admin[i].method, admin[i].path, NULL, body ? "x" : NULL,
                   body ? 1 : 0, &r);
        ck_assert_msg(r.rc == CURLE_OK && r.status != 0, "%s %s: no answer", admin[i].method,
                      admin[i].path);
        ck_assert_msg(!strstr(r.body, "\"ok\":true"), "%s %s was captured as a delivery: %s",
                      admin[i].method, admin[i].path, r.body);
        wh_response_free(&r);
    }
    ck_assert_int_eq(wh_last_id(&srv), before);
    ck_assert_uint_eq(list_size("limit=1000"), 1);

    /* a path that only starts with the same letters is a delivery */
    int64_t id = wh_post(&srv, "/_webhookyX", "not admin");
    ck_assert_int_gt(id, before);
    json_t *d = wh_delivery(&srv, id);
    ck_assert_str_eq(json_string_value(json_object_get(d, "path")), "/_webhookyX");
    json_decref(d);

    /* the health check answers */
    json_t *h = wh_api(&srv, 200, "/_webhooky/health");
    ck_assert_str_eq(json_string_value(json_object_get(h, "status")), "ok");
    json_decref(h);
    /* wrong methods get 405 with Allow */
    struct wh_response r;
    wh_request(NULL, &srv, "POST", "/_webhooky/api/deliveries", NULL, "x", 1, &r);
    ck_assert_int_eq(r.status, 405);
    char *allow = wh_header(&r, "Allow");
    ck_assert_msg(allow && strstr(allow, "GET") && strstr(allow, "DELETE"), "Allow: %s",
                  allow ? allow : "(none)");
    free(allow);
    wh_response_free(&r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("api");
    TCase *tc = wh_tcase("api", 30);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, bad_arguments_are_named);
    tcase_add_test(tc, body_keeps_content_type);
    tcase_add_test(tc, delete_by_endpoint);
    tcase_add_test(tc, metrics_count_by_status);
    tcase_add_test(tc, order_and_limit);
    tcase_add_test(tc, admin_paths_never_captured);
    suite_add_tcase(s, tc);
    return wh_run_suite(s);
}
