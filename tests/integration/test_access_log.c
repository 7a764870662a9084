/* The access log on stderr: one line per delivery, JSON or text, captured bytes escaped. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* Send one delivery with a hostile path and query, stop the server, return its stderr. */
static char *log_of_one_delivery(const char *format, int64_t *ret_id)
{
    char *dir = wh_tmpdir();
    char *db = wh_path(dir, "log.db");
    struct wh_server s;
    wh_server_start(&s, dir, db, (const char *const[]){"--log-format", format, NULL}, NULL);
    *ret_id = wh_post(&s, "/log/%1b%5b31m?q=%1b&x=\"y\"", "hello");
    wh_server_finish(&s);
    char *err = wh_server_stderr(&s); /* after the stop: every line is written */
    free(db);
    wh_tmpdir_remove(dir);
    return err;
}

START_TEST(json_lines)
{
    int64_t id;
    char *err = log_of_one_delivery("json", &id);
    json_t *entry = NULL;
    for (char *line = err, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        if (line[0] != '{')
            continue;
        json_error_t je;
        json_t *v = json_loads(line, 0, &je);
        ck_assert_msg(v, "not JSON: %s (%s)", line, je.text);
        if (json_object_get(v, "id")) {
            ck_assert_msg(!entry, "two access-log lines for one delivery");
            entry = v;
        } else {
            json_decref(v);
        }
    }
    ck_assert_msg(entry, "no JSON access-log line in: %s", err);
    ck_assert_int_eq(json_integer_value(json_object_get(entry, "id")), id);
    ck_assert_str_eq(json_string_value(json_object_get(entry, "method")), "POST");
    ck_assert_str_eq(json_string_value(json_object_get(entry, "path")), "/log/%1b%5b31m");
    ck_assert_str_eq(json_string_value(json_object_get(entry, "query")), "q=%1b&x=\"y\"");
    ck_assert_int_eq(json_integer_value(json_object_get(entry, "status")), 200);
    ck_assert_int_eq(json_integer_value(json_object_get(entry, "body_size")), 5);
    ck_assert(json_is_null(json_object_get(entry, "endpoint")));
    ck_assert(json_is_false(json_object_get(entry, "truncated")));
    ck_assert(json_is_number(json_object_get(entry, "duration_ms")));
    ck_assert(strstr(json_string_value(json_object_get(entry, "time")), "Z") != NULL);
    json_decref(entry);
    free(err);
}
END_TEST

START_TEST(text_lines)
{
    int64_t id;
    char *err = log_of_one_delivery("text", &id);
    char want[64];
    snprintf(want, sizeof(want), " id=%lld", (long long)id);
    char *line = strstr(err, "POST /log/");
    ck_assert_msg(line, "no access-log line in: %s", err);
    char *end = strchr(line, '\n');
    ck_assert_ptr_nonnull(end);
    *end = '\0';
    ck_assert_msg(strstr(line, "?q=%1b&x=\"y\" 200 5B "), "unexpected line: %s", line);
    ck_assert_msg(strstr(line, want), "line without %s: %s", want, line);
    ck_assert_msg(strstr(line, "endpoint=-"), "line without endpoint=-: %s", line);
    for (const char *c = err; *c; c++)
        ck_assert_msg((unsigned char)*c >= 0x20 || *c == '\n' || *c == '\0',
                      "raw control byte 0x%02x in the log", (unsigned char)*c);
    free(err);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("access_log");
    TCase *tc = wh_tcase("access_log", 30);
    tcase_add_test(tc, json_lines);
    tcase_add_test(tc, text_lines);
    suite_add_tcase(s, tc);
    return wh_run_suite(s);
}
