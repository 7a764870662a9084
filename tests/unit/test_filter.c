/* Unit tests for filter: the in-memory match, query argument parsing and strict integers. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"
#include "unit.h"

static struct delivery *make(int64_t id, const char *endpoint, const char *method)
{
    struct delivery *d = delivery_create();
    ck_assert_ptr_nonnull(d);
    d->id = id;
    if (endpoint) {
        d->endpoint = strdup(endpoint);
        ck_assert_ptr_nonnull(d->endpoint);
    }
    d->method = strdup(method);
    ck_assert_ptr_nonnull(d->method);
    d->path = strdup("/");
    ck_assert_ptr_nonnull(d->path);
    return d;
}

START_TEST(test_init)
{
    struct delivery_filter f;
    memset(&f, 0x5A, sizeof(f));
    filter_init(&f);
    ck_assert_ptr_null(f.endpoint);
    ck_assert_ptr_null(f.method);
    ck_assert_int_eq(f.since_id, 0);
    ck_assert_int_eq(f.upto_id, 0);
    ck_assert_int_eq(f.limit, 0);
    ck_assert(!f.desc);
}
END_TEST

START_TEST(test_match_all)
{
    struct delivery_filter f;
    filter_init(&f);
    struct delivery *a = make(1, "github", "POST");
    struct delivery *b = make(2, NULL, "GET");
    ck_assert(filter_match(&f, a));
    ck_assert(filter_match(&f, b));
    delivery_destroy(a);
    delivery_destroy(b);
}
END_TEST

START_TEST(test_match_endpoint)
{
    struct delivery_filter f;
    filter_init(&f);
    struct delivery *gh = make(1, "github", "POST");
    struct delivery *gh2 = make(2, "github2", "POST");
    struct delivery *ca = make(3, NULL, "POST");
    f.endpoint = "github";
    ck_assert(filter_match(&f, gh));
    ck_assert(!filter_match(&f, gh2));
    ck_assert(!filter_match(&f, ca));
    f.endpoint = "GitHub"; /* names are case-sensitive */
    ck_assert(!filter_match(&f, gh));
    f.endpoint = FILTER_CATCH_ALL;
    ck_assert(!filter_match(&f, gh));
    ck_assert(!filter_match(&f, gh2));
    ck_assert(filter_match(&f, ca));
    delivery_destroy(gh);
    delivery_destroy(gh2);
    delivery_destroy(ca);
}
END_TEST

START_TEST(test_match_method)
{
    struct delivery_filter f;
    filter_init(&f);
    struct delivery *p = make(1, "a", "POST");
    struct delivery *g = make(2, "a", "GET");
    f.method = "POST";
    ck_assert(filter_match(&f, p));
    ck_assert(!filter_match(&f, g));
    f.method = "post"; /* exact, case-sensitive */
    ck_assert(!filter_match(&f, p));
    f.method = "POS";
    ck_assert(!filter_match(&f, p));
    delivery_destroy(p);
    delivery_destroy(g);
}
END_TEST

START_TEST(test_match_ids)
{
    struct delivery_filter f;
    filter_init(&f);
    struct delivery *d[6];
    for (int i = 0; i < 6; i++)
        d[i] = make(i + 1, NULL, "POST");
    f.since_id = 2;
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(filter_match(&f, d[i]), i + 1 > 2);
    f.upto_id = 4;
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(filter_match(&f, d[i]), i + 1 > 2 && i + 1 <= 4);
    f.since_id = 0;
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(filter_match(&f, d[i]), i + 1 <= 4);
    f.since_id = 4; /* empty range */
    for (int i = 0; i < 6; i++)
        ck_assert(!filter_match(&f, d[i]));
    f.since_id = 3;
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(filter_match(&f, d[i]), i + 1 == 4);
    for (int i = 0; i < 6; i++)
        delivery_destroy(d[i]);
}
END_TEST

START_TEST(test_match_combined)
{
    struct delivery_filter f;
    filter_init(&f);
    f.endpoint = "a";
    f.method = "PUT";
    f.since_id = 10;
    f.limit = 1;   /* ignored by filter_match */
    f.desc = true; /* ignored by filter_match */
    struct delivery *ok = make(11, "a", "PUT");
    struct delivery *old = make(10, "a", "PUT");
    struct delivery *wrong_ep = make(12, "b", "PUT");
    struct delivery *wrong_m = make(13, "a", "POST");
    ck_assert(filter_match(&f, ok));
    ck_assert(!filter_match(&f, old));
    ck_assert(!filter_match(&f, wrong_ep));
    ck_assert(!filter_match(&f, wrong_m));
    delivery_destroy(ok);
    delivery_destroy(old);
    delivery_destroy(wrong_ep);
    delivery_destroy(wrong_m);
}
END_TEST

START_TEST(test_set_arg_ok)
{
    struct delivery_filter f;
    struct wh_error err = {0};
    filter_init(&f);
    ck_assert_int_eq(filter_set_arg(&f, "endpoint", "github", &err), 1);
    ck_assert_str_eq(f.endpoint, "github");
    ck_assert_int_eq(filter_set_arg(&f, "method", "POST", &err), 1);
    ck_assert_str_eq(f.method, "POST");
    ck_assert_int_eq(filter_set_arg(&f, "since_id", "17", &err), 1);
    ck_assert_int_eq(f.since_id, 17);
    ck_assert_int_eq(filter_set_arg(&f, "since_id", "0", &err), 1);
    ck_assert_int_eq(f.since_id, 0);
    ck_assert_int_eq(filter_set_arg(&f, "since_id", "9223372036854775807", &err), 1);
    ck_assert_int_eq(f.since_id, INT64_MAX);
    ck_assert_int_eq(filter_set_arg(&f, "limit", "1", &err), 1);
    ck_assert_int_eq(f.limit, 1);
    ck_assert_int_eq(filter_set_arg(&f, "limit", "1000", &err), 1);
    ck_assert_int_eq(f.limit, FILTER_MAX_LIMIT);
    ck_assert_int_eq(filter_set_arg(&f, "order", "desc", &err), 1);
    ck_assert(f.desc);
    ck_assert_int_eq(filter_set_arg(&f, "order", "asc", &err), 1);
    ck_assert(!f.desc);
    ck_assert_int_eq(filter_set_arg(&f, "endpoint", FILTER_CATCH_ALL, &err), 1);
    ck_assert_str_eq(f.endpoint, "-");
}
END_TEST

START_TEST(test_set_arg_unknown)
{
    struct delivery_filter f;
    struct wh_error err = {0};
    filter_init(&f);
    ck_assert_int_eq(filter_set_arg(&f, "timeout", "5", &err), 0);
    ck_assert_int_eq(filter_set_arg(&f, "Limit", "5", &err), 0);
    ck_assert_int_eq(filter_set_arg(&f, "", "5", &err), 0);
    ck_assert_int_eq(f.limit, 0);
    ck_assert_ptr_null(f.endpoint);
}
END_TEST

/* The inspection page's filters: event, verdicts, body text, before_id. */
START_TEST(test_match_page_filters)
{
    struct delivery *d = make(10, "github", "POST");
    d->event = strdup("push");
    d->sig_status = strdup("invalid");
    ck_assert_int_eq(buf_append_str(&d->body, "{\"a\":\"needle\"}"), 0);
    struct delivery_filter f;
    struct wh_error err = {0};
    filter_init(&f);
    ck_assert_int_eq(filter_set_arg(&f, "event", "push", &err), 1);
    ck_assert_int_eq(filter_set_arg(&f, "signature", "invalid", &err), 1);
    ck_assert_int_eq(filter_set_arg(&f, "schema", FILTER_NOT_CONFIGURED, &err), 1);
    ck_assert_int_eq(filter_set_arg(&f, "q", "needle", &err), 1);
    ck_assert_int_eq(filter_set_arg(&f, "before_id", "11", &err), 1);
    ck_assert(filter_match(&f, d));
    f.before_id = 10;
    ck_assert(!filter_match(&f, d));
    f.before_id = 0;
    f.text = "haystack";
    ck_assert(!filter_match(&f, d));
    f.text = NULL;
    f.signature = "valid";
    ck_assert(!filter_match(&f, d));
    f.signature = NULL;
    f.schema = "valid";
    ck_assert(!filter_match(&f, d));
    f.schema = NULL;
    f.event = "pull_request";
    ck_assert(!filter_match(&f, d));
    /* an empty q matches everything */
    filter_init(&f);
    ck_assert_int_eq(filter_set_arg(&f, "q", "", &err), 1);
    ck_assert_ptr_null(f.text);
    ck_assert_int_eq(filter_set_arg(&f, "before_id", "0", &err), -EINVAL);
    ck_assert_msg(strstr(err.msg, "before_id") != NULL, "%s", err.msg);
    delivery_destroy(d);
}
END_TEST

static void check_bad_arg(const char *key, const char *value)
{
    struct delivery_filter f, before;
    struct wh_error err = {0};
    filter_init(&f);
    f.limit = 5;
    f.since_id = 3;
    before = f;
    ck_assert_int_eq(filter_set_arg(&f, key, value, &err), -EINVAL);
    ck_assert_int_eq(err.code, -EINVAL);
    ck_assert_msg(strstr(err.msg, key) != NULL, "message '%s' should name '%s'", err.msg, key);
    /* a failed argument leaves the field alone */
    ck_assert_int_eq(f.limit, before.limit);
    ck_assert_int_eq(f.since_id, before.since_id);
    ck_assert_int_eq(f.desc, before.desc);
}

START_TEST(test_set_arg_errors)
{
    check_bad_arg("limit", "0");
    check_bad_arg("limit", "1001");
    check_bad_arg("limit", "abc");
    check_bad_arg("limit", "");
    check_bad_arg("limit", "-1");
    check_bad_arg("limit", "10x");
    check_bad_arg("limit", " 10");
    check_bad_arg("limit", "99999999999999999999999");
    check_bad_arg("since_id", "-1");
    check_bad_arg("since_id", "abc");
    check_bad_arg("since_id", "");
    check_bad_arg("since_id", "9223372036854775808");
    check_bad_arg("order", "up");
    check_bad_arg("order", "");
    check_bad_arg("order", "DESC");
}
END_TEST

START_TEST(test_set_arg_messages)
{
    struct delivery_filter f;
    struct wh_error err = {0};
    filter_init(&f);
    ck_assert_int_eq(filter_set_arg(&f, "limit", "1001", &err), -EINVAL);
    /* names the accepted range and echoes the bad value */
    ck_assert_ptr_nonnull(strstr(err.msg, "1000"));
    ck_assert_ptr_nonnull(strstr(err.msg, "1001"));
    ck_assert_int_eq(filter_set_arg(&f, "order", "up", &err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "asc"));
    ck_assert_ptr_nonnull(strstr(err.msg, "desc"));
    ck_assert_ptr_nonnull(strstr(err.msg, "up"));
    /* a NULL error struct is allowed */
    ck_assert_int_eq(filter_set_arg(&f, "limit", "abc", NULL), -EINVAL);
}
END_TEST

START_TEST(test_parse_int)
{
    int64_t v = 0;
    ck_assert_int_eq(filter_parse_int("0", 0, 10, &v), 0);
    ck_assert_int_eq(v, 0);
    ck_assert_int_eq(filter_parse_int("10", 0, 10, &v), 0);
    ck_assert_int_eq(v, 10);
    ck_assert_int_eq(filter_parse_int("-5", -10, 10, &v), 0);
    ck_assert_int_eq(v, -5);
    ck_assert_int_eq(filter_parse_int("9223372036854775807", 0, INT64_MAX, &v), 0);
    ck_assert_int_eq(v, INT64_MAX);
    ck_assert_int_eq(filter_parse_int("-9223372036854775808", INT64_MIN, 0, &v), 0);
    ck_assert_int_eq(v, INT64_MIN);
}
END_TEST

START_TEST(test_parse_int_rejects)
{
    static const char *const bad[] = {
        "",
        "-",
        "+",
        "+1",
        " 1",
        "1 ",
        "1x",
        "x1",
        "0x10",
        "1.0",
        "1e3",
        "--1",
        "\t1",
        "9223372036854775808",
        "-9223372036854775809",
        "99999999999999999999999",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t v = 777;
        ck_assert_msg(filter_parse_int(bad[i], INT64_MIN, INT64_MAX, &v) == -EINVAL,
                      "'%s' should be rejected", bad[i]);
        ck_assert_msg(v == 777, "'%s' must not write the result", bad[i]);
    }
    int64_t v = 777;
    ck_assert_int_eq(filter_parse_int(NULL, 0, 10, &v), -EINVAL);
    /* range */
    ck_assert_int_eq(filter_parse_int("11", 0, 10, &v), -EINVAL);
    ck_assert_int_eq(filter_parse_int("-1", 0, 10, &v), -EINVAL);
    ck_assert_int_eq(filter_parse_int("0", 1, 1000, &v), -EINVAL);
    ck_assert_int_eq(filter_parse_int("1001", 1, 1000, &v), -EINVAL);
    ck_assert_int_eq(v, 777);
}
END_TEST

static Suite *filter_suite(void)
{
    Suite *s = suite_create("filter");
    TCase *tc = tcase_create("match");
    tcase_add_test(tc, test_init);
    tcase_add_test(tc, test_match_all);
    tcase_add_test(tc, test_match_endpoint);
    tcase_add_test(tc, test_match_method);
    tcase_add_test(tc, test_match_ids);
    tcase_add_test(tc, test_match_combined);
    tcase_add_test(tc, test_match_page_filters);
    suite_add_tcase(s, tc);

    tc = tcase_create("args");
    tcase_add_test(tc, test_set_arg_ok);
    tcase_add_test(tc, test_set_arg_unknown);
    tcase_add_test(tc, test_set_arg_errors);
    tcase_add_test(tc, test_set_arg_messages);
    tcase_add_test(tc, test_parse_int);
    tcase_add_test(tc, test_parse_int_rejects);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(filter_suite());
}
