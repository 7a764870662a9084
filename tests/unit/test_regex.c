/* regex: compile errors, searches in bytes that are not UTF-8, and bounded time on hostile
 * input. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "regex.h"
#include "unit.h"

static regex *compile_ok(const char *pattern)
{
    regex *re = NULL;
    struct wh_error err = {0};
    int r = regex_compile(pattern, strlen(pattern), &re, &err);
    ck_assert_msg(r == 0, "%s: %s", pattern, err.msg);
    return re;
}

START_TEST(test_search)
{
    regex *re = compile_ok("^prod-[0-9]+$");
    ck_assert(regex_search(re, "prod-42", 7));
    ck_assert(!regex_search(re, "xprod-42", 8));
    ck_assert_str_eq(regex_source(re), "^prod-[0-9]+$");
    regex_destroy(re);
    re = compile_ok("order\\.(paid|refunded)");
    ck_assert(regex_search(re, "evt: order.paid!", 16));
    ck_assert(!regex_search(re, "order-paid", 10));
    ck_assert(!regex_search(re, "", 0));
    regex_destroy(re);
    regex_destroy(NULL);
}
END_TEST

START_TEST(test_bytes_that_are_not_utf8)
{
    /* a match is found after an invalid byte, and never spans one */
    regex *re = compile_ok("a.c");
    ck_assert(regex_search(re, "\xff" "abc", 4));
    ck_assert(regex_search(re, "abc\xfe", 4));
    ck_assert(!regex_search(re, "a\xff" "c", 3));
    regex_destroy(re);
    re = compile_ok("^abc");
    ck_assert(!regex_search(re, "\xff" "abc", 4)); /* anchored at the very start */
    regex_destroy(re);
    re = compile_ok("é+");
    ck_assert(regex_search(re, "caf\xc3\xa9", 5));
    regex_destroy(re);
}
END_TEST

START_TEST(test_compile_errors)
{
    regex *re = (regex *)0x1;
    struct wh_error err = {0};
    ck_assert_int_eq(regex_compile("a(b", 3, &re, &err), -EINVAL);
    ck_assert_ptr_eq(re, (regex *)0x1);
    ck_assert_msg(strstr(err.msg, "invalid regular expression at offset 3") != NULL, "%s",
                  err.msg);
    ck_assert_int_eq(regex_compile("a\0b", 3, &re, &err), -EINVAL);
    ck_assert_msg(strstr(err.msg, "offset 1: a NUL byte") != NULL, "%s", err.msg);
    ck_assert_int_eq(regex_compile("\xff", 1, &re, &err), -EINVAL); /* not UTF-8 */
}
END_TEST

START_TEST(test_bounded_on_hostile_input)
{
    /* catastrophic backtracking: stopped by the match limit, reported as no match */
    regex *re = compile_ok("(a+)+$");
    size_t n = 20000;
    char *s = malloc(n + 1);
    memset(s, 'a', n);
    s[n - 1] = '!';
    s[n] = '\0';
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ck_assert(!regex_search(re, s, n));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    ck_assert_msg(ms < 2000, "the search took %.0f ms", ms);
    free(s);
    regex_destroy(re);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("regex");
    TCase *tc = tcase_create("regex");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_search);
    tcase_add_test(tc, test_bytes_that_are_not_utf8);
    tcase_add_test(tc, test_compile_errors);
    tcase_add_test(tc, test_bounded_on_hostile_input);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
