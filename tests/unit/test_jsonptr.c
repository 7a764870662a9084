/* Unit tests for jsonptr: RFC 6901 section 5's examples, validity, canonical indices. */
#include <check.h>
#include <string.h>

#include "jsonptr.h"
#include "unit.h"

static const char rfc_doc[] = "{\"foo\": [\"bar\", \"baz\"], \"\": 0, \"a/b\": 1, \"c%d\": 2,"
                              " \"e^f\": 3, \"g|h\": 4, \"i\\\\j\": 5, \"k\\\"l\": 6, \" \": 7,"
                              " \"m~n\": 8}";

START_TEST(test_rfc6901_examples)
{
    json_t *doc = json_loads(rfc_doc, 0, NULL);
    ck_assert_ptr_nonnull(doc);
    ck_assert_ptr_eq(jsonptr_get(doc, ""), doc);
    ck_assert(json_is_array(jsonptr_get(doc, "/foo")));
    ck_assert_str_eq(json_string_value(jsonptr_get(doc, "/foo/0")), "bar");
    static const struct {
        const char *ptr;
        int want;
    } ints[] = {{"/", 0},    {"/a~1b", 1}, {"/c%d", 2}, {"/e^f", 3}, {"/g|h", 4},
                {"/i\\j", 5}, {"/k\"l", 6}, {"/ ", 7},    {"/m~0n", 8}};
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        json_t *v = jsonptr_get(doc, ints[i].ptr);
        ck_assert_msg(json_is_integer(v), "%s", ints[i].ptr);
        ck_assert_int_eq(json_integer_value(v), ints[i].want);
    }
    json_decref(doc);
}
END_TEST

START_TEST(test_missing_and_invalid)
{
    json_t *doc = json_loads("{\"a\": {\"b\": [10, 20]}, \"s\": \"x\"}", 0, NULL);
    ck_assert_ptr_null(jsonptr_get(doc, "/nope"));
    ck_assert_ptr_null(jsonptr_get(doc, "/a/b/2"));
    ck_assert_ptr_null(jsonptr_get(doc, "/a/b/01"));
    ck_assert_ptr_null(jsonptr_get(doc, "/a/b/-"));
    ck_assert_ptr_null(jsonptr_get(doc, "/a/b/"));
    ck_assert_ptr_null(jsonptr_get(doc, "/s/0")); /* not a container */
    ck_assert_ptr_null(jsonptr_get(doc, "a"));    /* no leading slash */
    ck_assert_ptr_null(jsonptr_get(doc, "/a~2"));
    ck_assert_int_eq(json_integer_value(jsonptr_get(doc, "/a/b/1")), 20);
    ck_assert(!jsonptr_valid("x"));
    ck_assert(!jsonptr_valid("/~"));
    ck_assert(jsonptr_valid(""));
    ck_assert(jsonptr_valid("/a~0~1"));
    json_decref(doc);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("jsonptr");
    TCase *tc = tcase_create("jsonptr");
    tcase_add_test(tc, test_rfc6901_examples);
    tcase_add_test(tc, test_missing_and_invalid);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
