/* webhooky deliveries: list, show, export, count and clear on the database a running server
 * writes; captured bytes never reach the terminal raw. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define RUN_MS 30000

static char *dir;
static char *db;
static struct wh_server srv;
static int64_t ids[4];

static const char json_body[] = "{\"b\":[1,2],\"a\":\"x\"}";
static const char escape_body[] =
    "{\"msg\":\"\\u001b[31mred\\u0007\",\"q\":\"say \\\"hi\\\"\",\"dir\":\"C:\\\\temp\"}";
static const char evil_body[] = "plain \x1b[31mred\x1b[0m bell\x07 cr\r del\x7f c1\xC2\x9B end\n";

static int64_t send_with(const char *method, const char *path, const char *const *headers,
                         const char *body)
{
    struct wh_response r;
    wh_request(NULL, &srv, method, path, headers, body, body ? strlen(body) : 0, &r);
    ck_assert_msg(r.status == 200, "%s %s: %ld %s", method, path, r.status, r.body);
    json_t *v = json_loadb(r.body, r.body_len, 0, NULL);
    int64_t id = json_integer_value(json_object_get(v, "id"));
    json_decref(v);
    wh_response_free(&r);
    return id;
}

static void setup(void)
{
    dir = wh_tmpdir();
    db = wh_path(dir, "cli.db");
    wh_server_start(&srv, dir, db, (const char *const[]){"--quiet", NULL}, NULL);
    ids[0] = send_with("POST", "/first",
                       (const char *const[]){"Content-Type: application/json", NULL}, json_body);
    ids[1] = send_with(
        "POST", "/ctl",
        (const char *const[]){"X-Evil: \x1b[31mred\x1b[0m\x07", "Content-Type:", NULL}, evil_body);
    ids[2] = send_with("GET", "/last?x=1", NULL, NULL);
    ids[3] = send_with("PUT", "/json-escape",
                       (const char *const[]){"Content-Type: application/json", NULL}, escape_body);
}

static void teardown(void)
{
    wh_server_finish(&srv);
    free(db);
    wh_tmpdir_remove(dir);
}

/* No byte a terminal would act on. Human output (strict): no C0 control but \n and \t, no DEL,
 * no C1 control (U+0080..U+009F, e.g. U+009B is an 8-bit CSI). JSON output (!strict) only
 * promises what JSON escaping gives: no C0 control, so no raw ESC. */
static void assert_terminal_safe(const struct wh_run *r, const char *what, bool strict)
{
    const unsigned char *p = (const unsigned char *)r->out;
    for (size_t i = 0; i < r->out_len; i++) {
        unsigned char c = p[i];
        ck_assert_msg(c == '\n' || c == '\t' || c >= 0x20,
                      "%s: raw control byte 0x%02x at offset %zu in the output", what, c, i);
        if (!strict)
            continue;
        ck_assert_msg(c != 0x7f, "%s: raw DEL at offset %zu in the output", what, i);
        if (c == 0xC2 && i + 1 < r->out_len)
            ck_assert_msg(p[i + 1] >= 0xA0 || p[i + 1] < 0x80,
                          "%s: a C1 control (U+%04X) at offset %zu in the output", what, p[i + 1],
                          i);
    }
}

static char **split_lines(char *text, size_t *ret_n)
{
    size_t n = 0, cap = 16;
    char **v = malloc(cap * sizeof(*v));
    ck_assert_ptr_nonnull(v);
    for (char *line = text, *nl; *line; line = nl + 1) {
        nl = strchr(line, '\n');
        ck_assert_msg(nl != NULL, "the output does not end with a newline");
        *nl = '\0';
        if (n == cap) {
            cap *= 2;
            v = realloc(v, cap * sizeof(*v));
            ck_assert_ptr_nonnull(v);
        }
        v[n++] = line;
    }
    *ret_n = n;
    return v;
}

START_TEST(list_table_newest_at_bottom)
{
    struct wh_run r;
    wh_run(&r, NULL, RUN_MS, "deliveries", "list", "--db", db, NULL);
    ck_assert_msg(r.status == 0, "list: exit %d: %s", r.status, r.err);
    assert_terminal_safe(&r, "list", true);
    size_t n;
    char **lines = split_lines(r.out, &n);
    ck_assert_uint_eq(n, 5);
    ck_assert_msg(strncmp(lines[0], "ID", 2) == 0 && strstr(lines[0], "METHOD") &&
                      strstr(lines[0], "PATH") && strstr(lines[0], "STATUS"),
                  "no table header: %s", lines[0]);
    for (size_t i = 1; i < n; i++) {
        char *end;
        long id = strtol(lines[i], &end, 10);
        ck_assert_msg(id == ids[i - 1] && *end == ' ', "row %zu is '%s', expected id %lld", i,
                      lines[i], (long long)ids[i - 1]);
    }
    ck_assert_msg(strstr(lines[1], "POST") && strstr(lines[1], "/first") && strstr(lines[1], "200"),
                  "row 1: %s", lines[1]);
    ck_assert_msg(strstr(lines[3], "GET") && strstr(lines[3], "/last?x=1"), "row 3: %s", lines[3]);
    free(lines);
    wh_run_free(&r);

    /* --limit N: the newest N, still oldest first */
    wh_run(&r, NULL, RUN_MS, "deliveries", "list", "--db", db, "--limit", "2", NULL);
    ck_assert_int_eq(r.status, 0);
    lines = split_lines(r.out, &n);
    ck_assert_uint_eq(n, 3);
    ck_assert_int_eq(strtol(lines[1], NULL, 10), ids[2]);
    ck_assert_int_eq(strtol(lines[2], NULL, 10), ids[3]);
    free(lines);
    wh_run_free(&r);

    /* filters */
    wh_run(&r, NULL, RUN_MS, "deliveries", "list", "--db", db, "--method", "GET", NULL);
    ck_assert_int_eq(r.status, 0);
    lines = split_lines(r.out, &n);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(strtol(lines[1], NULL, 10), ids[2]);
    free(lines);
    wh_run_free(&r);
}
END_TEST

START_TEST(list_json)
{
    struct wh_run r;
    wh_run(&r, NULL, RUN_MS, "deliveries", "list", "--db", db, "--json", NULL);
    ck_assert_int_eq(r.status, 0);
    json_error_t e;
    json_t *v = json_loadb(r.out, r.out_len, 0, &e);
    ck_assert_msg(v != NULL, "list --json is not JSON (%s): %s", e.text, r.out);
    json_t *list = json_object_get(v, "deliveries");
    ck_assert_uint_eq(json_array_size(list), 4);
    for (size_t i = 0; i < 4; i++)
        ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(list, i), "id")),
                         ids[i]);
    ck_assert_int_eq(json_integer_value(json_object_get(v, "last_id")), ids[3]);
    /* the same objects as the API */
    json_t *api = wh_delivery(&srv, ids[1]);
    ck_assert_msg(json_equal(api, json_array_get(list, 1)), "list --json differs from the API");
    json_decref(api);
    json_decref(v);
    assert_terminal_safe(&r, "list --json", false);
    wh_run_free(&r);
}
END_TEST

START_TEST(show_headers_and_pretty_json)
{
    struct wh_run r;
    char id[32];
    snprintf(id, sizeof(id), "%lld", (long long)ids[0]);
    wh_run(&r, NULL, RUN_MS, "deliveries", "show", id, "--db", db, NULL);
    ck_assert_msg(r.status == 0, "show: exit %d: %s", r.status, r.err);
    assert_terminal_safe(&r, "show", true);
    ck_assert_msg(strstr(r.out, "POST /first\n"), "no request line: %s", r.out);
    ck_assert_msg(strstr(r.out, "\nContent-Type: application/json\n"), "no headers: %s", r.out);
    ck_assert_msg(strstr(r.out, "{\n  \"b\": [\n    1,\n    2\n  ],\n  \"a\": \"x\"\n}\n"),
                  "the JSON body is not pretty-printed (2 spaces, keys in order): %s", r.out);
    wh_run_free(&r);

    wh_run(&r, NULL, RUN_MS, "deliveries", "show", id, "--db", db, "--json", NULL);
    ck_assert_int_eq(r.status, 0);
    json_t *v = json_loadb(r.out, r.out_len, 0, NULL);
    ck_assert_msg(v != NULL, "show --json is not JSON: %s", r.out);
    ck_assert_int_eq(json_integer_value(json_object_get(v, "id")), ids[0]);
    ck_assert_str_eq(json_string_value(json_object_get(v, "body")), json_body);
    json_decref(v);
    wh_run_free(&r);
}
END_TEST

START_TEST(show_escapes_control_bytes)
{
    struct wh_run r;
    char id[32];
    snprintf(id, sizeof(id), "%lld", (long long)ids[1]);
    wh_run(&r, NULL, RUN_MS, "deliveries", "show", id, "--db", db, NULL);
    ck_assert_msg(r.status == 0, "show: exit %d: %s", r.status, r.err);
    assert_terminal_safe(&r, "show of a hostile delivery", true);
    ck_assert_msg(memchr(r.out, 0x1b, r.out_len) == NULL, "a raw ESC reached the output");
    /* the escapes are visible, not dropped */
    ck_assert_msg(strstr(r.out, "X-Evil: \\e[31mred\\e[0m\\x07\n"), "header not escaped: %s",
                  r.out);
    ck_assert_msg(strstr(r.out, "plain \\e[31mred\\e[0m bell\\x07 cr\\r del\\x7F c1\\xC2\\x9B end"),
                  "body not escaped as expected: %s", r.out);
    wh_run_free(&r);

    /* --json output is JSON-escaped */
    snprintf(id, sizeof(id), "%lld", (long long)ids[1]);
    wh_run(&r, NULL, RUN_MS, "deliveries", "show", id, "--db", db, "--json", NULL);
    ck_assert_int_eq(r.status, 0);
    assert_terminal_safe(&r, "show --json", false);
    json_t *v = json_loadb(r.out, r.out_len, 0, NULL);
    ck_assert_ptr_nonnull(v);
    size_t len;
    unsigned char *body = wh_delivery_body(v, &len);
    ck_assert_uint_eq(len, sizeof(evil_body) - 1);
    ck_assert(memcmp(body, evil_body, len) == 0);
    free(body);
    json_decref(v);
    wh_run_free(&r);
}
END_TEST

START_TEST(show_pretty_json_keeps_json_escapes)
{
    /* The pretty-printed body must still be the JSON that was sent: its escapes (\", \\,
     * \u001b) shown once, not with every backslash doubled. */
    struct wh_run r;
    char id[32];
    snprintf(id, sizeof(id), "%lld", (long long)ids[3]);
    wh_run(&r, NULL, RUN_MS, "deliveries", "show", id, "--db", db, NULL);
    ck_assert_int_eq(r.status, 0);
    assert_terminal_safe(&r, "show of a JSON body with escapes", true);
    ck_assert_msg(memchr(r.out, 0x1b, r.out_len) == NULL, "a raw ESC reached the output");
    ck_assert_msg(strstr(r.out, "  \"q\": \"say \\\"hi\\\"\""),
                  "expected the line  \"q\": \"say \\\"hi\\\"\"  in: %s", r.out);
    ck_assert_msg(strstr(r.out, "  \"dir\": \"C:\\\\temp\""),
                  "expected the line  \"dir\": \"C:\\\\temp\"  in: %s", r.out);
    ck_assert_msg(strcasestr(r.out, "  \"msg\": \"\\u001b[31mred\\u0007\""),
                  "expected the line  \"msg\": \"\\u001b[31mred\\u0007\"  in: %s", r.out);
    /* the pretty-printed part parses back to the body that was sent */
    const char *start = strstr(r.out, "\n{\n");
    ck_assert_ptr_nonnull(start);
    json_t *shown = json_loads(start + 1, JSON_DISABLE_EOF_CHECK, NULL);
    json_t *sent = json_loads(escape_body, 0, NULL);
    ck_assert_msg(shown && json_equal(shown, sent), "the JSON shown is not the JSON sent: %s",
                  start + 1);
    json_decref(shown);
    json_decref(sent);
    wh_run_free(&r);
}
END_TEST

START_TEST(show_missing_and_bad_ids)
{
    struct wh_run r;
    wh_run(&r, NULL, RUN_MS, "deliveries", "show", "999", "--db", db, NULL);
    ck_assert_msg(r.status == 1, "show 999: exit %d, expected 1", r.status);
    ck_assert_msg(strstr(r.err, "999"), "the error does not name the id: %s", r.err);
    ck_assert_uint_eq(r.out_len, 0);
    wh_run_free(&r);
    wh_run(&r, NULL, RUN_MS, "deliveries", "show", "abc", "--db", db, NULL);
    ck_assert_int_eq(r.status, 2);
    wh_run_free(&r);

    /* no database there: a runtime error that says so, and nothing is created */
    char *none = wh_path(dir, "none.db");
    wh_run(&r, NULL, RUN_MS, "deliveries", "count", "--db", none, NULL);
    ck_assert_msg(r.status == 3, "count on a missing database: exit %d, expected 3", r.status);
    ck_assert_msg(strstr(r.err, none), "the error does not name the file: %s", r.err);
    ck_assert_msg(access(none, F_OK) != 0, "count created %s", none);
    wh_run_free(&r);
    free(none);
}
END_TEST

START_TEST(export_jsonl)
{
    struct wh_run r;
    wh_run(&r, NULL, RUN_MS, "deliveries", "export", "--db", db, "--format", "jsonl", NULL);
    ck_assert_msg(r.status == 0, "export: exit %d: %s", r.status, r.err);
    assert_terminal_safe(&r, "export", false);
    size_t n;
    char **lines = split_lines(r.out, &n);
    ck_assert_uint_eq(n, 4);
    for (size_t i = 0; i < n; i++) {
        json_error_t e;
        json_t *v = json_loads(lines[i], 0, &e);
        ck_assert_msg(v && json_is_object(v), "line %zu is not a JSON object (%s): %s", i + 1,
                      e.text, lines[i]);
        ck_assert_int_eq(json_integer_value(json_object_get(v, "id")), ids[i]);
        json_t *api = wh_delivery(&srv, ids[i]);
        ck_assert_msg(json_equal(api, v), "export line %zu differs from the API", i + 1);
        json_decref(api);
        json_decref(v);
    }
    free(lines);
    wh_run_free(&r);

    wh_run(&r, NULL, RUN_MS, "deliveries", "export", "--db", db, "--since-id", "2", NULL);
    ck_assert_int_eq(r.status, 0);
    lines = split_lines(r.out, &n);
    ck_assert_uint_eq(n, 2);
    free(lines);
    wh_run_free(&r);

    wh_run(&r, NULL, RUN_MS, "deliveries", "export", "--db", db, "--format", "csv", NULL);
    ck_assert_int_eq(r.status, 2);
    ck_assert_msg(strstr(r.err, "--format"), "%s", r.err);
    wh_run_free(&r);
}
END_TEST

START_TEST(count_and_clear_while_serving)
{
    struct wh_run r;
    wh_run(&r, NULL, RUN_MS, "deliveries", "count", "--db", db, NULL);
    ck_assert_int_eq(r.status, 0);
    ck_assert_str_eq(r.out, "4\n");
    wh_run_free(&r);
    wh_run(&r, NULL, RUN_MS, "deliveries", "count", "--db", db, "--since-id", "1", NULL);
    ck_assert_str_eq(r.out, "3\n");
    wh_run_free(&r);

    wh_run(&r, NULL, RUN_MS, "deliveries", "clear", "--db", db, "--endpoint", "nosuch", NULL);
    ck_assert_int_eq(r.status, 0);
    ck_assert_str_eq(r.out, "deleted 0 deliveries\n");
    wh_run_free(&r);
    wh_run(&r, NULL, RUN_MS, "deliveries", "clear", "--db", db, NULL);
    ck_assert_msg(r.status == 0, "clear: exit %d: %s", r.status, r.err);
    ck_assert_str_eq(r.out, "deleted 4 deliveries\n");
    wh_run_free(&r);

    wh_run(&r, NULL, RUN_MS, "deliveries", "count", "--db", db, NULL);
    ck_assert_str_eq(r.out, "0\n");
    wh_run_free(&r);
    wh_run(&r, NULL, RUN_MS, "deliveries", "list", "--db", db, NULL);
    ck_assert_int_eq(r.status, 0);
    ck_assert_str_eq(r.out, "no deliveries\n");
    wh_run_free(&r);

    /* the running server sees the same: nothing listed, and new ids are not reused */
    json_t *v = wh_api(&srv, 200, "/_webhooky/api/deliveries");
    ck_assert_uint_eq(json_array_size(json_object_get(v, "deliveries")), 0);
    json_decref(v);
    int64_t id = wh_post(&srv, "/after-clear", "x");
    ck_assert_int_gt(id, ids[3]);
    wh_run(&r, NULL, RUN_MS, "deliveries", "count", "--db", db, NULL);
    ck_assert_str_eq(r.out, "1\n");
    wh_run_free(&r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cli");
    TCase *tc = wh_tcase("deliveries", 40);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, list_table_newest_at_bottom);
    tcase_add_test(tc, list_json);
    tcase_add_test(tc, show_headers_and_pretty_json);
    tcase_add_test(tc, show_escapes_control_bytes);
    tcase_add_test(tc, show_pretty_json_keeps_json_escapes);
    tcase_add_test(tc, show_missing_and_bad_ids);
    tcase_add_test(tc, export_jsonl);
    tcase_add_test(tc, count_and_clear_while_serving);
    suite_add_tcase(s, tc);
    return wh_run_suite(s);
}
