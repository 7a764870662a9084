/* Unit tests for delivery: the header blob, header lookup and the API's JSON shape. */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "delivery.h"
#include "unit.h"

static char *xstrdup(const char *s)
{
    char *p = strdup(s);
    ck_assert_ptr_nonnull(p);
    return p;
}

static int add(struct delivery *d, const char *name, const char *value)
{
    return delivery_add_header(d, name, strlen(name), value, strlen(value));
}

START_TEST(test_create_empty)
{
    struct delivery *d = delivery_create();
    ck_assert_ptr_nonnull(d);
    ck_assert_int_eq(d->id, 0);
    ck_assert_ptr_null(d->endpoint);
    ck_assert_ptr_null(d->method);
    ck_assert_ptr_null(d->path);
    ck_assert_ptr_null(d->query);
    ck_assert_uint_eq(d->n_headers, 0);
    ck_assert_uint_eq(d->headers.len, 0);
    ck_assert_uint_eq(d->body.len, 0);
    ck_assert(!d->truncated);
    delivery_destroy(d);
    delivery_destroy(NULL);
}
END_TEST

START_TEST(test_headers_round_trip)
{
    static const char bin_value[] = {'\0', (char)0xFF, '\r', '\n', 'x'};
    struct delivery *d = delivery_create();
    ck_assert_ptr_nonnull(d);
    ck_assert_int_eq(add(d, "Host", "example.com"), 0);
    ck_assert_int_eq(add(d, "X-Dup", "one"), 0);
    ck_assert_int_eq(add(d, "Content-Type", "application/json"), 0);
    ck_assert_int_eq(add(d, "x-dup", "two"), 0);
    ck_assert_int_eq(delivery_add_header(d, "X-Bin", 5, bin_value, sizeof(bin_value)), 0);
    ck_assert_int_eq(add(d, "X-Empty", ""), 0);
    ck_assert_int_eq(delivery_add_header(d, "", 0, "v", 1), 0);
    ck_assert_uint_eq(d->n_headers, 7);

    static const struct {
        const char *name;
        size_t name_len;
        const char *value;
        size_t value_len;
    } want[] = {
        {"Host", 4, "example.com", 11},
        {"X-Dup", 5, "one", 3},
        {"Content-Type", 12, "application/json", 16},
        {"x-dup", 5, "two", 3},
        {"X-Bin", 5, bin_value, sizeof(bin_value)},
        {"X-Empty", 7, "", 0},
        {"", 0, "v", 1},
    };
    struct header_iter it;
    const char *n, *v;
    size_t nl, vl, i = 0;
    header_iter_init(&it, d->headers.data, d->headers.len);
    while (header_iter_next(&it, &n, &nl, &v, &vl)) {
        ck_assert_uint_lt(i, 7);
        ck_assert_uint_eq(nl, want[i].name_len);
        ck_assert_mem_eq(n, want[i].name, nl);
        ck_assert_uint_eq(vl, want[i].value_len);
        ck_assert_mem_eq(v, want[i].value, vl);
        i++;
    }
    ck_assert_uint_eq(i, 7);

    /* the blob is self-contained: a copy of the bytes walks the same */
    void *copy = malloc(d->headers.len);
    ck_assert_ptr_nonnull(copy);
    memcpy(copy, d->headers.data, d->headers.len);
    header_iter_init(&it, copy, d->headers.len);
    i = 0;
    while (header_iter_next(&it, &n, &nl, &v, &vl))
        i++;
    ck_assert_uint_eq(i, 7);
    free(copy);
    delivery_destroy(d);
}
END_TEST

START_TEST(test_blob_format)
{
    /* the documented layout: 32-bit little-endian lengths, then the bytes */
    struct delivery *d = delivery_create();
    ck_assert_int_eq(add(d, "AB", "xyz"), 0);
    static const unsigned char want[] = {2, 0, 0, 0, 'A', 'B', 3, 0, 0, 0, 'x', 'y', 'z'};
    ck_assert_uint_eq(d->headers.len, sizeof(want));
    ck_assert_mem_eq(d->headers.data, want, sizeof(want));
    delivery_destroy(d);
}
END_TEST

START_TEST(test_add_header_failure_leaves_blob)
{
    /* a header that cannot be added (here: past a cap on the blob) must not leave half a
     * pair behind, or every header added later would be read wrongly */
    struct delivery *d = delivery_create();
    ck_assert_int_eq(add(d, "A", "1"), 0);
    size_t len = d->headers.len;
    d->headers.limit = len + 20;
    ck_assert_int_lt(add(d, "Name", "a value that does not fit"), 0);
    ck_assert_uint_eq(d->n_headers, 1);
    ck_assert_uint_eq(d->headers.len, len);
    ck_assert_int_eq(add(d, "B", "2"), 0);
    ck_assert_uint_eq(d->n_headers, 2);
    size_t vl = 0;
    const char *v = delivery_header(d, "b", &vl);
    ck_assert_ptr_nonnull(v);
    ck_assert_uint_eq(vl, 1);
    ck_assert_int_eq(v[0], '2');
    delivery_destroy(d);
}
END_TEST

START_TEST(test_iter_empty_and_corrupt)
{
    struct header_iter it;
    const char *n, *v;
    size_t nl, vl;
    header_iter_init(&it, NULL, 0);
    ck_assert(!header_iter_next(&it, &n, &nl, &v, &vl));

    /* a name length running past the end */
    static const unsigned char bad1[] = {10, 0, 0, 0, 'a', 'b'};
    header_iter_init(&it, bad1, sizeof(bad1));
    ck_assert(!header_iter_next(&it, &n, &nl, &v, &vl));

    /* a huge length (0xFFFFFFFF) */
    static const unsigned char bad2[] = {0xFF, 0xFF, 0xFF, 0xFF, 'a'};
    header_iter_init(&it, bad2, sizeof(bad2));
    ck_assert(!header_iter_next(&it, &n, &nl, &v, &vl));

    /* a good pair followed by a truncated one: one pair, then the end */
    static const unsigned char bad3[] = {1, 0, 0, 0, 'a', 1, 0, 0, 0, 'b', 1, 0, 0, 0, 'c', 5, 0};
    header_iter_init(&it, bad3, sizeof(bad3));
    ck_assert(header_iter_next(&it, &n, &nl, &v, &vl));
    ck_assert_uint_eq(nl, 1);
    ck_assert_int_eq(n[0], 'a');
    ck_assert_uint_eq(vl, 1);
    ck_assert_int_eq(v[0], 'b');
    ck_assert(!header_iter_next(&it, &n, &nl, &v, &vl));
    ck_assert(!header_iter_next(&it, &n, &nl, &v, &vl));

    /* a name with no value length at all */
    static const unsigned char bad4[] = {1, 0, 0, 0, 'a'};
    header_iter_init(&it, bad4, sizeof(bad4));
    ck_assert(!header_iter_next(&it, &n, &nl, &v, &vl));
}
END_TEST

START_TEST(test_header_lookup)
{
    struct delivery *d = delivery_create();
    ck_assert_int_eq(add(d, "Content-Type", "text/plain"), 0);
    ck_assert_int_eq(add(d, "X-Dup", "first"), 0);
    ck_assert_int_eq(add(d, "x-dup", "second"), 0);
    ck_assert_int_eq(add(d, "X-Long-Name", "long"), 0);
    size_t len = 0;
    const char *v = delivery_header(d, "content-type", &len);
    ck_assert_ptr_nonnull(v);
    ck_assert_uint_eq(len, 10);
    ck_assert_mem_eq(v, "text/plain", 10);
    v = delivery_header(d, "CONTENT-TYPE", &len);
    ck_assert_ptr_nonnull(v);
    ck_assert_mem_eq(v, "text/plain", 10);
    /* the first of duplicates */
    v = delivery_header(d, "X-DUP", &len);
    ck_assert_ptr_nonnull(v);
    ck_assert_uint_eq(len, 5);
    ck_assert_mem_eq(v, "first", 5);
    /* whole names only: no prefix or extension matches */
    ck_assert_ptr_null(delivery_header(d, "X-Long", &len));
    ck_assert_ptr_null(delivery_header(d, "X-Long-Name-2", &len));
    ck_assert_ptr_null(delivery_header(d, "Content-Length", &len));
    ck_assert_ptr_null(delivery_header(d, "", &len));
    /* ret_len may be NULL */
    ck_assert_ptr_nonnull(delivery_header(d, "x-long-name", NULL));
    delivery_destroy(d);

    d = delivery_create();
    ck_assert_ptr_null(delivery_header(d, "Host", &len));
    delivery_destroy(d);
}
END_TEST

static struct delivery *sample(void)
{
    struct delivery *d = delivery_create();
    ck_assert_ptr_nonnull(d);
    d->id = 42;
    d->received_us = 1795761594123456LL;
    d->endpoint = xstrdup("github");
    d->method = xstrdup("POST");
    d->path = xstrdup("/hooks/github");
    d->query = xstrdup("a=1&b=%20");
    ck_assert_int_eq(add(d, "Content-Type", "application/json"), 0);
    ck_assert_int_eq(add(d, "X-Dup", "1"), 0);
    ck_assert_int_eq(add(d, "X-Dup", "2"), 0);
    ck_assert_int_eq(buf_append_str(&d->body, "{\"ok\":true}"), 0);
    d->body_size = 11;
    d->truncated = false;
    snprintf(d->remote_addr, sizeof(d->remote_addr), "%s", "127.0.0.1:54321");
    d->status = 202;
    return d;
}

static const char *str_member(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    ck_assert_msg(json_is_string(v), "%s should be a string", key);
    return json_string_value(v);
}

START_TEST(test_json_shape)
{
    struct delivery *d = sample();
    json_t *j = delivery_to_json(d);
    ck_assert_ptr_nonnull(j);
    ck_assert(json_is_object(j));

    static const char *const keys[] = {"id",        "received_at", "endpoint",    "method",
                                       "path",      "query",       "headers",     "body",
                                       "body_size", "truncated",   "remote_addr", "response",
                                       "signature", "message_id", "event", "schema",
                                       "responded_at", "message_key", "attempt",
                                       "since_previous_ms"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        ck_assert_msg(json_object_get(j, keys[i]) != NULL, "missing key %s", keys[i]);
    ck_assert_uint_eq(json_object_size(j), sizeof(keys) / sizeof(keys[0]));
    ck_assert_ptr_null(json_object_get(j, "body_base64"));
    /* no scheme configured: a verdict that says so, and no idempotency key */
    json_t *sig = json_object_get(j, "signature");
    ck_assert_str_eq(json_string_value(json_object_get(sig, "status")), "not_configured");
    ck_assert(json_is_null(json_object_get(sig, "scheme")));
    ck_assert(json_is_null(json_object_get(sig, "secret_index")));
    ck_assert(json_is_null(json_object_get(j, "message_id")));
    ck_assert(json_is_null(json_object_get(j, "event")));
    json_t *sch = json_object_get(j, "schema");
    ck_assert_str_eq(json_string_value(json_object_get(sch, "status")), "not_configured");
    ck_assert(json_is_null(json_object_get(sch, "schema")));
    ck_assert_uint_eq(json_array_size(json_object_get(sch, "errors")), 0);

    ck_assert(json_is_integer(json_object_get(j, "id")));
    ck_assert_int_eq(json_integer_value(json_object_get(j, "id")), 42);
    ck_assert_str_eq(str_member(j, "received_at"), "2026-11-27T06:39:54.123456Z");
    ck_assert_str_eq(str_member(j, "endpoint"), "github");
    ck_assert_str_eq(str_member(j, "method"), "POST");
    ck_assert_str_eq(str_member(j, "path"), "/hooks/github");
    ck_assert_str_eq(str_member(j, "query"), "a=1&b=%20");
    ck_assert_str_eq(str_member(j, "body"), "{\"ok\":true}");
    ck_assert(json_is_integer(json_object_get(j, "body_size")));
    ck_assert_int_eq(json_integer_value(json_object_get(j, "body_size")), 11);
    ck_assert(json_is_false(json_object_get(j, "truncated")));
    ck_assert_str_eq(str_member(j, "remote_addr"), "127.0.0.1:54321");
    json_t *resp = json_object_get(j, "response");
    ck_assert(json_is_object(resp));
    ck_assert(json_is_integer(json_object_get(resp, "status")));
    ck_assert_int_eq(json_integer_value(json_object_get(resp, "status")), 202);
    /* answered by the default (no script): no fault, no rule, no delay */
    ck_assert(json_is_null(json_object_get(resp, "fault")));
    ck_assert(json_is_null(json_object_get(resp, "rule")));
    ck_assert_int_eq(json_integer_value(json_object_get(resp, "delay_ms")), 0);
    ck_assert(json_is_null(json_object_get(j, "responded_at")));
    ck_assert(json_is_null(json_object_get(j, "attempt")));
    ck_assert(json_is_null(json_object_get(j, "since_previous_ms")));

    json_t *h = json_object_get(j, "headers");
    ck_assert(json_is_array(h));
    ck_assert_uint_eq(json_array_size(h), 3);
    static const char *const want[3][2] = {
        {"Content-Type", "application/json"}, {"X-Dup", "1"}, {"X-Dup", "2"}};
    for (size_t i = 0; i < 3; i++) {
        json_t *pair = json_array_get(h, i);
        ck_assert(json_is_array(pair));
        ck_assert_uint_eq(json_array_size(pair), 2);
        ck_assert(json_is_string(json_array_get(pair, 0)));
        ck_assert(json_is_string(json_array_get(pair, 1)));
        ck_assert_str_eq(json_string_value(json_array_get(pair, 0)), want[i][0]);
        ck_assert_str_eq(json_string_value(json_array_get(pair, 1)), want[i][1]);
    }
    json_decref(j);
    delivery_destroy(d);
}
END_TEST

START_TEST(test_json_catch_all_and_no_query)
{
    struct delivery *d = sample();
    free(d->endpoint);
    d->endpoint = NULL;
    free(d->query);
    d->query = NULL;
    json_t *j = delivery_to_json(d);
    ck_assert_ptr_nonnull(j);
    ck_assert(json_is_null(json_object_get(j, "endpoint")));
    ck_assert(json_is_null(json_object_get(j, "query")));
    json_decref(j);

    /* "?" with nothing after it is an empty query, not a missing one */
    d->query = xstrdup("");
    j = delivery_to_json(d);
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(str_member(j, "query"), "");
    json_decref(j);
    delivery_destroy(d);
}
END_TEST

START_TEST(test_json_binary_body)
{
    struct delivery *d = sample();
    buf_reset(&d->body);
    ck_assert_int_eq(buf_append(&d->body, "\xFF\x00\x01", 3), 0);
    d->body_size = 3;
    json_t *j = delivery_to_json(d);
    ck_assert_ptr_nonnull(j);
    ck_assert_ptr_null(json_object_get(j, "body"));
    ck_assert_str_eq(str_member(j, "body_base64"), "/wAB");
    ck_assert_int_eq(json_integer_value(json_object_get(j, "body_size")), 3);
    json_decref(j);
    delivery_destroy(d);
}
END_TEST

START_TEST(test_json_empty_body)
{
    struct delivery *d = sample();
    buf_finish(&d->body);
    buf_init(&d->body, 0);
    d->body_size = 0;
    json_t *j = delivery_to_json(d);
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(str_member(j, "body"), "");
    ck_assert_ptr_null(json_object_get(j, "body_base64"));
    ck_assert_int_eq(json_integer_value(json_object_get(j, "body_size")), 0);
    json_decref(j);
    delivery_destroy(d);
}
END_TEST

START_TEST(test_json_utf8_body_with_nul)
{
    struct delivery *d = sample();
    buf_reset(&d->body);
    ck_assert_int_eq(buf_append(&d->body, "caf\xC3\xA9\0!", 7), 0);
    json_t *j = delivery_to_json(d);
    ck_assert_ptr_nonnull(j);
    json_t *body = json_object_get(j, "body");
    ck_assert(json_is_string(body));
    ck_assert_uint_eq(json_string_length(body), 7);
    ck_assert_mem_eq(json_string_value(body), "caf\xC3\xA9\0!", 7);
    json_decref(j);
    delivery_destroy(d);
}
END_TEST

START_TEST(test_json_truncated)
{
    struct delivery *d = sample();
    d->body_size = 1000000;
    d->truncated = true;
    json_t *j = delivery_to_json(d);
    ck_assert_ptr_nonnull(j);
    ck_assert(json_is_true(json_object_get(j, "truncated")));
    ck_assert_int_eq(json_integer_value(json_object_get(j, "body_size")), 1000000);
    ck_assert_str_eq(str_member(j, "body"), "{\"ok\":true}");
    json_decref(j);
    delivery_destroy(d);
}
END_TEST

START_TEST(test_json_no_status)
{
    /* status 0: the connection was closed instead of answered; no status to show */
    struct delivery *d = sample();
    d->status = 0;
    json_t *j = delivery_to_json(d);
    ck_assert_ptr_nonnull(j);
    json_t *resp = json_object_get(j, "response");
    ck_assert(json_is_object(resp));
    ck_assert(json_is_null(json_object_get(resp, "status")));
    json_decref(j);
    delivery_destroy(d);
}
END_TEST

START_TEST(test_json_scripted)
{
    /* what a script gave it, and its place among its message's attempts */
    struct delivery *d = sample();
    d->status = 0;
    d->fault = strdup("reset");
    d->rule = 1;
    d->delay_ms = 250;
    d->responded_us = d->received_us + 250000;
    d->message_key = strdup("msg_1");
    d->attempt = 3;
    d->since_previous_us = 1500250;
    json_t *j = delivery_to_json(d);
    ck_assert_ptr_nonnull(j);
    json_t *resp = json_object_get(j, "response");
    ck_assert(json_is_null(json_object_get(resp, "status")));
    ck_assert_str_eq(json_string_value(json_object_get(resp, "fault")), "reset");
    ck_assert_int_eq(json_integer_value(json_object_get(resp, "rule")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(resp, "delay_ms")), 250);
    ck_assert_str_eq(str_member(j, "responded_at"), "2026-11-27T06:39:54.373456Z");
    ck_assert_str_eq(str_member(j, "message_key"), "msg_1");
    ck_assert_int_eq(json_integer_value(json_object_get(j, "attempt")), 3);
    ck_assert(json_real_value(json_object_get(j, "since_previous_ms")) == 1500.25);
    json_decref(j);
    delivery_destroy(d);
}
END_TEST

START_TEST(test_json_hostile_bytes)
{
    /* invalid UTF-8 in header names/values and the path still gives valid JSON text */
    struct delivery *d = sample();
    ck_assert_int_eq(delivery_add_header(d, "X-L\xE9", 4, "caf\xE9\0", 5), 0);
    free(d->path);
    d->path = xstrdup("/caf\xE9");
    json_t *j = delivery_to_json(d);
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(str_member(j, "path"), "/caf\xC3\xA9");
    json_t *pair = json_array_get(json_object_get(j, "headers"), 3);
    ck_assert_ptr_nonnull(pair);
    ck_assert_str_eq(json_string_value(json_array_get(pair, 0)), "X-L\xC3\xA9");
    json_t *val = json_array_get(pair, 1);
    ck_assert_uint_eq(json_string_length(val), 6);
    ck_assert_mem_eq(json_string_value(val), "caf\xC3\xA9\0", 6);
    char *text = json_dumps(j, 0);
    ck_assert_ptr_nonnull(text);
    json_t *back = json_loads(text, JSON_ALLOW_NUL, NULL);
    ck_assert_ptr_nonnull(back);
    ck_assert(json_equal(back, j));
    json_decref(back);
    free(text);
    json_decref(j);
    delivery_destroy(d);
}
END_TEST

START_TEST(test_json_signature)
{
    struct delivery *d = sample();
    d->sig_scheme = strdup("stripe");
    d->sig_status = strdup("expired");
    d->sig_reason = strdup("timestamp is 412 s older than the 300 s tolerance");
    d->sig_secret_index = 1;
    d->message_id = strdup("evt_1");
    d->event = strdup("person.created");
    d->schema_status = strdup("invalid");
    d->schema_name = strdup("person.created.json");
    d->schema_errors = strdup("[{\"pointer\":\"/record/id\",\"keyword\":\"format\","
                              "\"message\":\"not a uuid\"}]");
    json_t *j = delivery_to_json(d);
    ck_assert_str_eq(json_string_value(json_object_get(j, "event")), "person.created");
    json_t *sch = json_object_get(j, "schema");
    ck_assert_str_eq(json_string_value(json_object_get(sch, "status")), "invalid");
    ck_assert_str_eq(json_string_value(json_object_get(sch, "schema")), "person.created.json");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(sch, "errors"),
                                                                      0), "pointer")),
                     "/record/id");
    json_t *sig = json_object_get(j, "signature");
    ck_assert_str_eq(json_string_value(json_object_get(sig, "scheme")), "stripe");
    ck_assert_str_eq(json_string_value(json_object_get(sig, "status")), "expired");
    ck_assert_str_eq(json_string_value(json_object_get(sig, "reason")),
                     "timestamp is 412 s older than the 300 s tolerance");
    ck_assert_int_eq(json_integer_value(json_object_get(sig, "secret_index")), 1);
    ck_assert_str_eq(json_string_value(json_object_get(j, "message_id")), "evt_1");
    json_decref(j);
    delivery_destroy(d);
}
END_TEST

static Suite *delivery_suite(void)
{
    Suite *s = suite_create("delivery");
    TCase *tc = tcase_create("headers");
    tcase_add_test(tc, test_create_empty);
    tcase_add_test(tc, test_headers_round_trip);
    tcase_add_test(tc, test_blob_format);
    tcase_add_test(tc, test_add_header_failure_leaves_blob);
    tcase_add_test(tc, test_iter_empty_and_corrupt);
    tcase_add_test(tc, test_header_lookup);
    suite_add_tcase(s, tc);

    tc = tcase_create("json");
    tcase_add_test(tc, test_json_shape);
    tcase_add_test(tc, test_json_signature);
    tcase_add_test(tc, test_json_catch_all_and_no_query);
    tcase_add_test(tc, test_json_binary_body);
    tcase_add_test(tc, test_json_empty_body);
    tcase_add_test(tc, test_json_utf8_body_with_nul);
    tcase_add_test(tc, test_json_truncated);
    tcase_add_test(tc, test_json_no_status);
    tcase_add_test(tc, test_json_scripted);
    tcase_add_test(tc, test_json_hostile_bytes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(delivery_suite());
}
