/* Unit tests for checks and vars: the assertions on hand-made deliveries (timing to the
 * microsecond, so every rule is exercised without a sender), and ${...} substitution. */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenarios/checks.h"
#include "scenarios/vars.h"

/* "2026-11-19T10:13:SS.UUUUUUZ" for ms after 10:13:20 (less than 40 s). */
static void at(char *out, size_t size, double ms)
{
    int64_t us = (int64_t)(ms * 1000.0);
    snprintf(out, size, "2026-11-19T10:13:%02d.%06dZ", 20 + (int)(us / 1000000),
             (int)(us % 1000000));
}

/* A delivery: id, arrival and answer in ms, status, message key, body, webhook-timestamp. */
static json_t *dl(int64_t id, double at_ms, double answered_ms, int status, const char *key,
                  const char *body, const char *ts_header)
{
    char recv[64], resp[64];
    at(recv, sizeof(recv), at_ms);
    at(resp, sizeof(resp), answered_ms);
    json_t *headers = json_pack("[[ss]]", "Content-Type", "application/json");
    if (ts_header)
        json_array_append_new(headers, json_pack("[ss]", "webhook-timestamp", ts_header));
    return json_pack("{sI ss ss ss ss so s{si sn sI} so ss so s{ss ss}}", "id", (json_int_t)id,
                     "received_at", recv, "responded_at", resp, "endpoint", "e", "method", "POST",
                     "headers", headers, "response", "status", status, "fault", "rule",
                     (json_int_t)0, "message_key", key ? json_string(key) : json_null(), "body",
                     body ? body : "{}", "event", json_null(), "signature", "scheme",
                     "standard-webhooks", "status", "valid");
}

static enum check_status eval(json_t *deliveries, const char *assertion, json_t *scripts,
                              char **ret_actual)
{
    struct dset ds;
    ck_assert_int_eq(dset_build(deliveries, &ds), 0);
    json_t *a = json_loads(assertion, 0, NULL);
    ck_assert_ptr_nonnull(a);
    struct check_env env = {.scripts = scripts};
    struct check_outcome o;
    ck_assert_int_eq(check_eval(a, &ds, &env, 0, &o), 0);
    ck_assert_ptr_nonnull(o.name);
    enum check_status st = o.status;
    if (ret_actual)
        *ret_actual = o.actual ? strdup(o.actual) : NULL;
    check_outcome_finish(&o);
    json_decref(a);
    dset_finish(&ds);
    return st;
}

/* 3 attempts of m1 answered 503, 503, 200; waits of 50 and 100 ms after each answer */
static json_t *backoff_ok(void)
{
    return json_pack("[ooo]", dl(1, 0, 1, 503, "m1", NULL, NULL),
                     dl(2, 51, 52, 503, "m1", NULL, NULL), dl(3, 152, 153, 200, "m1", NULL, NULL));
}

START_TEST(time_parse)
{
    ck_assert_int_eq(checks_parse_time("1970-01-01T00:00:01.5Z"), 1500000);
    ck_assert_int_eq(checks_parse_time("1970-01-01T00:00:00.000001Z"), 1);
    ck_assert_int_eq(checks_parse_time("nope"), -1);
    ck_assert_int_eq(checks_parse_time("1970-01-01T00:00:00+01:00"), -1);
}
END_TEST

START_TEST(counts)
{
    json_t *d = backoff_ok();
    ck_assert_int_eq(eval(d, "{\"count\": {\"exactly\": 3}}", NULL, NULL), CHECK_PASS);
    ck_assert_int_eq(eval(d, "{\"count\": {\"at_most\": 2}}", NULL, NULL), CHECK_FAIL);
    ck_assert_int_eq(
        eval(d, "{\"count\": {\"exactly\": 0}, \"where\": {\"endpoint\": \"x\"}}", NULL, NULL),
        CHECK_PASS);
    ck_assert_int_eq(eval(d, "{\"attempts\": {\"exactly\": 3}}", NULL, NULL), CHECK_PASS);
    ck_assert_int_eq(eval(d, "{\"attempts\": {\"at_least\": 4}}", NULL, NULL), CHECK_FAIL);
    json_decref(d);
}
END_TEST

START_TEST(intervals)
{
    json_t *d = backoff_ok();
    char *act = NULL;
    ck_assert_int_eq(eval(d, "{\"intervals_ms\": {\"min\": 40, \"max\": 120}}", NULL, NULL),
                     CHECK_PASS);
    ck_assert_int_eq(eval(d, "{\"intervals_ms\": {\"max\": 60}}", NULL, &act), CHECK_FAIL);
    ck_assert_msg(strstr(act, "100 ms before attempt 3"), "%s", act);
    free(act);
    ck_assert_int_eq(eval(d, "{\"intervals_non_decreasing\": true}", NULL, NULL), CHECK_PASS);
    ck_assert_int_eq(eval(d, "{\"interval_growth\": {\"min\": 1.5, \"max\": 2.5}}", NULL, NULL),
                     CHECK_PASS);
    ck_assert_int_eq(eval(d, "{\"interval_growth\": {\"min\": 2.5}}", NULL, NULL), CHECK_FAIL);
    json_decref(d);
    /* immediate retries (1 ms apart) do not "grow", whatever the noise */
    d = json_pack("[ooo]", dl(1, 0, 0, 503, "m", NULL, NULL), dl(2, 0.4, 0.4, 503, "m", NULL, NULL),
                  dl(3, 1.4, 1.4, 200, "m", NULL, NULL));
    ck_assert_int_eq(eval(d, "{\"interval_growth\": {\"min\": 1.3}}", NULL, NULL), CHECK_FAIL);
    json_decref(d);
    /* shrinking waits */
    d = json_pack("[ooo]", dl(1, 0, 0, 503, "m", NULL, NULL), dl(2, 200, 200, 503, "m", NULL, NULL),
                  dl(3, 250, 250, 200, "m", NULL, NULL));
    ck_assert_int_eq(eval(d, "{\"intervals_non_decreasing\": true}", NULL, NULL), CHECK_FAIL);
    json_decref(d);
}
END_TEST

START_TEST(success_and_gone)
{
    json_t *d =
        json_pack("[oo]", dl(1, 0, 1, 200, "m", NULL, NULL), dl(2, 50, 51, 200, "m", NULL, NULL));
    ck_assert_int_eq(eval(d, "{\"no_attempt_after_success\": true}", NULL, NULL), CHECK_FAIL);
    json_decref(d);
    d = backoff_ok();
    ck_assert_int_eq(eval(d, "{\"no_attempt_after_success\": true}", NULL, NULL), CHECK_PASS);
    /* no 410 at all: nothing to check is a failure, not a vacuous pass */
    ck_assert_int_eq(eval(d, "{\"no_delivery_after_410\": true}", NULL, NULL), CHECK_FAIL);
    json_decref(d);
    d = json_pack("[o]", dl(1, 0, 1, 410, "m", NULL, NULL));
    ck_assert_int_eq(eval(d, "{\"no_delivery_after_410\": true}", NULL, NULL), CHECK_PASS);
    json_decref(d);
    d = json_pack("[oo]", dl(1, 0, 1, 410, "m", NULL, NULL), dl(2, 60, 61, 410, "m", NULL, NULL));
    ck_assert_int_eq(eval(d, "{\"no_delivery_after_410\": true}", NULL, NULL), CHECK_FAIL);
    json_decref(d);
}
END_TEST

START_TEST(idempotency_and_fresh)
{
    /* the same body under two keys: a new id per attempt */
    json_t *d = json_pack("[oo]", dl(1, 0, 1, 503, "a", "{\"x\":1}", NULL),
                          dl(2, 50, 51, 200, "b", "{\"x\":1}", NULL));
    ck_assert_int_eq(eval(d, "{\"idempotency_key_constant\": true}", NULL, NULL), CHECK_FAIL);
    json_decref(d);
    d = backoff_ok();
    ck_assert_int_eq(eval(d, "{\"idempotency_key_constant\": true}", NULL, NULL), CHECK_PASS);
    json_decref(d);
    /* 1.5 s apart with the same timestamp (seconds): not recomputed */
    d = json_pack("[oo]", dl(1, 0, 1, 503, "m", NULL, "1795000000"),
                  dl(2, 1500, 1501, 200, "m", NULL, "1795000000"));
    ck_assert_int_eq(eval(d, "{\"fresh_signature_per_attempt\": true}", NULL, NULL), CHECK_FAIL);
    json_decref(d);
    d = json_pack("[oo]", dl(1, 0, 1, 503, "m", NULL, "1795000000"),
                  dl(2, 1500, 1501, 200, "m", NULL, "1795000001"));
    ck_assert_int_eq(eval(d, "{\"fresh_signature_per_attempt\": true}", NULL, NULL), CHECK_PASS);
    json_decref(d);
    /* too close together to tell: nothing to check */
    d = json_pack("[oo]", dl(1, 0, 1, 503, "m", NULL, "1795000000"),
                  dl(2, 50, 51, 200, "m", NULL, "1795000000"));
    ck_assert_int_eq(eval(d, "{\"fresh_signature_per_attempt\": true}", NULL, NULL), CHECK_FAIL);
    json_decref(d);
}
END_TEST

START_TEST(retry_after)
{
    json_t *scripts = json_loads(
        "[{\"endpoint\": \"e\", \"after_id\": 0, \"script\": {\"rules\": "
        "[{\"status\": 429, \"headers\": {\"Retry-After\": \"1\"}}, {\"status\": 200}]}}]",
        0, NULL);
    json_t *d = json_pack("[oo]", dl(1, 0, 10, 429, "m", NULL, NULL),
                          dl(2, 1015, 1016, 200, "m", NULL, NULL));
    ck_assert_int_eq(eval(d, "{\"retry_after_honoured\": true}", scripts, NULL), CHECK_PASS);
    json_decref(d);
    char *act = NULL;
    d = json_pack("[oo]", dl(1, 0, 10, 429, "m", NULL, NULL), dl(2, 70, 71, 200, "m", NULL, NULL));
    ck_assert_int_eq(eval(d, "{\"retry_after_honoured\": true}", scripts, &act), CHECK_FAIL);
    ck_assert_msg(strstr(act, "60 ms after a Retry-After of 1 s"), "%s", act);
    free(act);
    json_decref(d);
    json_decref(scripts);
}
END_TEST

START_TEST(every_delivery)
{
    json_t *d = backoff_ok();
    ck_assert_int_eq(eval(d, "{\"signature\": \"valid\"}", NULL, NULL), CHECK_PASS);
    ck_assert_int_eq(eval(d, "{\"content_type\": \"json\"}", NULL, NULL), CHECK_PASS);
    ck_assert_int_eq(eval(d, "{\"content_type\": \"text/plain\"}", NULL, NULL), CHECK_FAIL);
    ck_assert_int_eq(
        eval(d, "{\"header\": {\"name\": \"content-type\", \"matches\": \"json$\"}}", NULL, NULL),
        CHECK_PASS);
    ck_assert_int_eq(eval(d, "{\"header\": {\"name\": \"X-Nope\"}}", NULL, NULL), CHECK_FAIL);
    ck_assert_int_eq(eval(d, "{\"body\": {\"pointer\": \"/x\", \"exists\": false}}", NULL, NULL),
                     CHECK_PASS);
    /* nothing matched: nothing was checked, which fails */
    ck_assert_int_eq(
        eval(d, "{\"signature\": \"valid\", \"where\": {\"endpoint\": \"z\"}}", NULL, NULL),
        CHECK_FAIL);
    json_decref(d);
}
END_TEST

START_TEST(vars)
{
    json_t *vv = json_pack("{ss sn}", "a", "A", "req");
    json_t *eps = json_pack("{ss}", "h", "http://127.0.0.1:9/hooks/h");
    struct vars_ctx v = {
        .vars = vv, .endpoints = eps, .mock_url = "http://127.0.0.1:9", .scenario_dir = "/d"};
    struct wh_error err = {0};
    char *out = NULL;
    ck_assert_int_eq(vars_expand(&v,
                                 "${vars.a}-${endpoint.h.url}|${endpoint.h.path}|${mock.url}"
                                 "|${scenario.dir}|$${x}|${env.WH_NOPE:-dflt}",
                                 &out, &err),
                     0);
    ck_assert_str_eq(out, "A-http://127.0.0.1:9/hooks/h|/hooks/h|http://127.0.0.1:9|/d|${x}|dflt");
    free(out);
    ck_assert_int_eq(vars_expand(&v, "${vars.req}", &out, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "${vars.req} has no value: give it with --var req=VALUE");
    ck_assert_int_eq(vars_expand(&v, "${env.WH_NOPE}", &out, &err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "is not set"));
    ck_assert_int_eq(vars_expand(&v, "${endpoint.x.url}", &out, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "${endpoint.x.url}: there is no endpoint named 'x' (endpoints: h)");
    struct vars_ctx none = {0};
    ck_assert_int_eq(vars_expand(&none, "${mock.url}", &out, &err), -EINVAL);
    json_t *in = json_pack("{s[s]}", "k", "x${vars.a}"), *res = NULL;
    char ptr[64];
    ck_assert_int_eq(vars_expand_json(&v, in, &res, ptr, sizeof(ptr), &err), 0);
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(res, "k"), 0)), "xA");
    json_decref(res);
    json_decref(in);
    in = json_pack("{s[ss]}", "k", "ok", "${vars.zz}");
    ck_assert_int_eq(vars_expand_json(&v, in, &res, ptr, sizeof(ptr), &err), -EINVAL);
    ck_assert_str_eq(ptr, "/k/1");
    json_decref(in);
    json_decref(vv);
    json_decref(eps);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("checks");
    TCase *tc = tcase_create("checks");
    tcase_add_test(tc, time_parse);
    tcase_add_test(tc, counts);
    tcase_add_test(tc, intervals);
    tcase_add_test(tc, success_and_gone);
    tcase_add_test(tc, idempotency_and_fresh);
    tcase_add_test(tc, retry_after);
    tcase_add_test(tc, every_delivery);
    tcase_add_test(tc, vars);
    suite_add_tcase(su, tc);
    SRunner *sr = srunner_create(su);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
