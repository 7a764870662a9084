/* Endpoints from --config: exact and prefix paths, the catch-all, and the endpoint filter. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static const char config[] = "{\n"
                             "  \"endpoints\": [\n"
                             "    {\"name\": \"orders\", \"path\": \"/orders\"},\n"
                             "    {\"name\": \"hooks\", \"path\": \"/hooks/*\",\n"
                             "     \"description\": \"any path under /hooks/\"},\n"
                             "    {\"name\": \"special\", \"path\": \"/hooks/special/*\"}\n"
                             "  ]\n"
                             "}\n";

/* path sent -> endpoint expected (NULL: the catch-all) */
static const struct {
    const char *path;
    const char *endpoint;
} cases[] = {
    {"/orders", "orders"},
    {"/orders?x=1", "orders"}, /* the query is not part of the match */
    {"/orders/1", NULL},       /* an exact path does not match below itself */
    {"/ordersX", NULL},
    {"/hooks/a", "hooks"},
    {"/hooks/b/c", "hooks"},
    {"/hooks/", "hooks"},
    {"/hooks", NULL},                /* the prefix ends with a slash */
    {"/hooks/special/1", "special"}, /* the longest prefix wins */
    {"/other", NULL},
};
#define N_CASES (sizeof(cases) / sizeof(cases[0]))

static size_t count(const struct wh_server *s, const char *endpoint)
{
    json_t *v = wh_api(s, 200, "/_webhooky/api/deliveries?endpoint=%s&limit=1000", endpoint);
    size_t n = json_array_size(json_object_get(v, "deliveries"));
    /* every row the filter returns has that endpoint */
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(v, "deliveries"), i, d)
    {
        json_t *ep = json_object_get(d, "endpoint");
        if (strcmp(endpoint, "-") == 0)
            ck_assert_msg(json_is_null(ep), "endpoint=- returned a delivery to '%s'",
                          json_string_value(ep));
        else
            ck_assert_msg(json_is_string(ep) && strcmp(json_string_value(ep), endpoint) == 0,
                          "endpoint=%s returned a delivery to %s", endpoint,
                          json_is_string(ep) ? json_string_value(ep) : "the catch-all");
    }
    json_decref(v);
    return n;
}

START_TEST(deliveries_record_their_endpoint)
{
    char *dir = wh_tmpdir();
    char *cfg = wh_path(dir, "endpoints.json");
    char *db = wh_path(dir, "endpoints.db");
    wh_write_file(cfg, config);
    struct wh_server s;
    wh_server_start(&s, dir, db, (const char *const[]){"--config", cfg, "--quiet", NULL}, NULL);

    int64_t ids[N_CASES];
    for (size_t i = 0; i < N_CASES; i++)
        ids[i] = wh_post(&s, cases[i].path, "{}");
    size_t want_orders = 0, want_hooks = 0, want_special = 0, want_catch_all = 0;
    for (size_t i = 0; i < N_CASES; i++) {
        json_t *d = wh_delivery(&s, ids[i]);
        json_t *ep = json_object_get(d, "endpoint");
        if (cases[i].endpoint) {
            ck_assert_msg(json_is_string(ep) &&
                              strcmp(json_string_value(ep), cases[i].endpoint) == 0,
                          "%s: endpoint %s, expected %s", cases[i].path,
                          json_is_string(ep) ? json_string_value(ep) : "null", cases[i].endpoint);
            want_orders += strcmp(cases[i].endpoint, "orders") == 0;
            want_hooks += strcmp(cases[i].endpoint, "hooks") == 0;
            want_special += strcmp(cases[i].endpoint, "special") == 0;
        } else {
            ck_assert_msg(json_is_null(ep), "%s: endpoint %s, expected null (catch-all)",
                          cases[i].path, json_string_value(ep));
            want_catch_all++;
        }
        json_decref(d);
    }

    ck_assert_uint_eq(count(&s, "orders"), want_orders);
    ck_assert_uint_eq(count(&s, "hooks"), want_hooks);
    ck_assert_uint_eq(count(&s, "special"), want_special);
    ck_assert_uint_eq(count(&s, "-"), want_catch_all);
    ck_assert_uint_eq(count(&s, "nosuch"), 0);
    ck_assert_uint_eq(want_orders + want_hooks + want_special + want_catch_all, N_CASES);

    /* the CLI agrees with the API */
    struct wh_run r;
    wh_run(&r, NULL, 30000, "deliveries", "count", "--db", db, "--endpoint", "hooks", NULL);
    ck_assert_int_eq(r.status, 0);
    ck_assert_int_eq(strtol(r.out, NULL, 10), (long)want_hooks);
    wh_run_free(&r);
    wh_run(&r, NULL, 30000, "deliveries", "count", "--db", db, "--endpoint", "-", NULL);
    ck_assert_int_eq(r.status, 0);
    ck_assert_int_eq(strtol(r.out, NULL, 10), (long)want_catch_all);
    wh_run_free(&r);

    wh_server_finish(&s);
    free(cfg);
    free(db);
    wh_tmpdir_remove(dir);
}
END_TEST

/* message_id from a header or from a JSON pointer into the body; absent stays null */
START_TEST(message_id_from_config)
{
    char *dir = wh_tmpdir();
    char *cfg = wh_path(dir, "mid.json");
    char *db = wh_path(dir, "mid.db");
    wh_write_file(cfg, "{\"endpoints\": ["
                       "{\"name\": \"h\", \"path\": \"/h\", \"message_id\": \"x-event-id\"},"
                       "{\"name\": \"p\", \"path\": \"/p\", \"message_id\": \"/data/id\"}]}");
    struct wh_server s;
    wh_server_start(&s, dir, db, (const char *const[]){"--config", cfg, "--quiet", NULL}, NULL);
    struct wh_response r;
    wh_request(NULL, &s, "POST", "/h", (const char *const[]){"X-Event-Id: evt-7", NULL}, "{}", 2,
               &r);
    ck_assert_int_eq(r.status, 200);
    wh_response_free(&r);
    int64_t by_pointer = wh_post(&s, "/p", "{\"data\": {\"id\": \"m-1\"}}");
    int64_t by_number = wh_post(&s, "/p", "{\"data\": {\"id\": 42}}");
    int64_t absent = wh_post(&s, "/p", "{\"data\": {}}");
    int64_t not_json = wh_post(&s, "/p", "not json");
    json_t *d = wh_delivery(&s, by_pointer - 1);
    ck_assert_str_eq(json_string_value(json_object_get(d, "message_id")), "evt-7");
    json_decref(d);
    d = wh_delivery(&s, by_pointer);
    ck_assert_str_eq(json_string_value(json_object_get(d, "message_id")), "m-1");
    json_decref(d);
    d = wh_delivery(&s, by_number);
    ck_assert_str_eq(json_string_value(json_object_get(d, "message_id")), "42");
    json_decref(d);
    d = wh_delivery(&s, absent);
    ck_assert(json_is_null(json_object_get(d, "message_id")));
    json_decref(d);
    d = wh_delivery(&s, not_json);
    ck_assert(json_is_null(json_object_get(d, "message_id")));
    json_decref(d);
    wh_server_finish(&s);
    free(cfg);
    free(db);
    wh_tmpdir_remove(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("endpoints");
    TCase *tc = wh_tcase("endpoints", 30);
    tcase_add_test(tc, deliveries_record_their_endpoint);
    tcase_add_test(tc, message_id_from_config);
    suite_add_tcase(s, tc);
    return wh_run_suite(s);
}
