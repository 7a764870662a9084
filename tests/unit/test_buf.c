/* Unit tests for buf: appending, the limit, printf growth, steal and the NUL terminator. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "unit.h"

START_TEST(test_init_empty)
{
    struct buf b;
    buf_init(&b, 10);
    ck_assert_ptr_null(b.data);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_uint_eq(b.limit, 10);
    buf_finish(&b);
    buf_finish(NULL); /* NULL-safe */
}
END_TEST

START_TEST(test_append_and_nul)
{
    struct buf b;
    buf_init(&b, 0);
    ck_assert_int_eq(buf_append(&b, "abc", 3), 0);
    ck_assert_uint_eq(b.len, 3);
    ck_assert_str_eq(b.data, "abc");
    ck_assert_int_eq(buf_append_str(&b, "de"), 0);
    ck_assert_int_eq(buf_append_byte(&b, 'f'), 0);
    ck_assert_uint_eq(b.len, 6);
    ck_assert_str_eq(b.data, "abcdef");
    ck_assert_int_eq(b.data[b.len], '\0');
    ck_assert_uint_ge(b.cap, b.len + 1);
    buf_finish(&b);
    ck_assert_ptr_null(b.data);
    ck_assert_uint_eq(b.len, 0);
}
END_TEST

START_TEST(test_append_binary)
{
    static const char bin[] = {'a', '\0', 'b', (char)0xFF, '\0'};
    struct buf b;
    buf_init(&b, 0);
    ck_assert_int_eq(buf_append(&b, bin, sizeof(bin)), 0);
    ck_assert_uint_eq(b.len, sizeof(bin));
    ck_assert_mem_eq(b.data, bin, sizeof(bin));
    ck_assert_int_eq(b.data[sizeof(bin)], '\0');
    buf_finish(&b);
}
END_TEST

START_TEST(test_append_empty_terminates)
{
    struct buf b;
    buf_init(&b, 0);
    ck_assert_int_eq(buf_append(&b, "", 0), 0);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_ptr_nonnull(b.data);
    ck_assert_str_eq(b.data, "");
    buf_finish(&b);
}
END_TEST

START_TEST(test_grow_large)
{
    struct buf b;
    buf_init(&b, 0);
    for (int i = 0; i < 10000; i++)
        ck_assert_int_eq(buf_append_byte(&b, (char)('a' + i % 26)), 0);
    ck_assert_uint_eq(b.len, 10000);
    for (int i = 0; i < 10000; i++)
        ck_assert_int_eq(b.data[i], 'a' + i % 26);
    ck_assert_int_eq(b.data[10000], '\0');
    buf_finish(&b);
}
END_TEST

START_TEST(test_limit)
{
    struct buf b;
    buf_init(&b, 5);
    ck_assert_int_eq(buf_append(&b, "abc", 3), 0);
    /* 3 + 3 > 5: refused, nothing appended */
    ck_assert_int_eq(buf_append(&b, "def", 3), -E2BIG);
    ck_assert_uint_eq(b.len, 3);
    ck_assert_str_eq(b.data, "abc");
    /* exactly up to the limit is fine */
    ck_assert_int_eq(buf_append(&b, "de", 2), 0);
    ck_assert_uint_eq(b.len, 5);
    ck_assert_str_eq(b.data, "abcde");
    ck_assert_int_eq(buf_append_byte(&b, 'x'), -E2BIG);
    ck_assert_int_eq(buf_append_str(&b, "x"), -E2BIG);
    ck_assert_int_eq(buf_printf(&b, "%d", 1), -E2BIG);
    ck_assert_uint_eq(b.len, 5);
    ck_assert_str_eq(b.data, "abcde");
    /* an empty append at the limit is still fine */
    ck_assert_int_eq(buf_append(&b, "", 0), 0);
    ck_assert_uint_eq(b.len, 5);
    buf_finish(&b);
}
END_TEST

START_TEST(test_limit_first_append)
{
    struct buf b;
    buf_init(&b, 4);
    ck_assert_int_eq(buf_append(&b, "hello", 5), -E2BIG);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_int_eq(buf_append(&b, "hell", 4), 0);
    ck_assert_str_eq(b.data, "hell");
    buf_finish(&b);
}
END_TEST

START_TEST(test_limit_printf_long)
{
    struct buf b;
    buf_init(&b, 300);
    ck_assert_int_eq(buf_append_str(&b, "xy"), 0);
    char big[400];
    memset(big, 'q', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    ck_assert_int_eq(buf_printf(&b, "%s", big), -E2BIG);
    ck_assert_uint_eq(b.len, 2);
    ck_assert_str_eq(b.data, "xy");
    buf_finish(&b);
}
END_TEST

START_TEST(test_printf)
{
    struct buf b;
    buf_init(&b, 0);
    ck_assert_int_eq(buf_printf(&b, "%d-%s", 42, "x"), 0);
    ck_assert_int_eq(buf_printf(&b, "[%05u]", 7u), 0);
    ck_assert_str_eq(b.data, "42-x[00007]");
    ck_assert_uint_eq(b.len, strlen("42-x[00007]"));
    buf_finish(&b);
}
END_TEST

START_TEST(test_printf_past_256)
{
    char part[1001];
    for (int i = 0; i < 1000; i++)
        part[i] = (char)('A' + i % 23);
    part[1000] = '\0';
    struct buf b;
    buf_init(&b, 0);
    ck_assert_int_eq(buf_append_str(&b, "head:"), 0);
    ck_assert_int_eq(buf_printf(&b, "%s|%d", part, 1234567), 0);
    ck_assert_uint_eq(b.len, 5 + 1000 + 1 + 7);
    ck_assert_mem_eq(b.data, "head:", 5);
    ck_assert_mem_eq(b.data + 5, part, 1000);
    ck_assert_str_eq(b.data + 1005, "|1234567");
    ck_assert_int_eq(b.data[b.len], '\0');
    /* and appending afterwards continues at the right place */
    ck_assert_int_eq(buf_append_str(&b, "!"), 0);
    ck_assert_str_eq(b.data + 1005, "|1234567!");
    buf_finish(&b);
}
END_TEST

START_TEST(test_printf_exact_boundaries)
{
    /* outputs of 255, 256 and 257 characters straddle the small stack buffer */
    for (int n = 250; n <= 260; n++) {
        struct buf b;
        buf_init(&b, 0);
        ck_assert_int_eq(buf_printf(&b, "%*s", n, "z"), 0);
        ck_assert_uint_eq(b.len, (size_t)n);
        ck_assert_uint_eq(strlen(b.data), (size_t)n);
        ck_assert_int_eq(b.data[n - 1], 'z');
        ck_assert_int_eq(b.data[0], ' ');
        buf_finish(&b);
    }
}
END_TEST

START_TEST(test_reset)
{
    struct buf b;
    buf_init(&b, 0);
    ck_assert_int_eq(buf_append_str(&b, "something"), 0);
    buf_reset(&b);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_str_eq(b.data, "");
    ck_assert_int_eq(buf_append_str(&b, "new"), 0);
    ck_assert_str_eq(b.data, "new");
    buf_finish(&b);

    buf_init(&b, 0);
    buf_reset(&b); /* on a never-used buffer */
    ck_assert_uint_eq(b.len, 0);
    buf_finish(&b);
}
END_TEST

START_TEST(test_steal)
{
    struct buf b;
    buf_init(&b, 100);
    size_t len = 99;
    ck_assert_ptr_null(buf_steal(&b, &len));
    ck_assert_uint_eq(len, 0);

    ck_assert_int_eq(buf_append(&b, "st\0eal", 6), 0);
    char *p = buf_steal(&b, &len);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(len, 6);
    ck_assert_mem_eq(p, "st\0eal", 7); /* with the NUL terminator */
    ck_assert_ptr_null(b.data);
    ck_assert_uint_eq(b.len, 0);
    free(p);

    /* the buffer is empty and reusable, with its limit */
    ck_assert_int_eq(buf_append_str(&b, "again"), 0);
    ck_assert_str_eq(b.data, "again");
    p = buf_steal(&b, NULL);
    ck_assert_str_eq(p, "again");
    free(p);
    ck_assert_int_eq(buf_append(&b, "", 0), 0);
    char big[101];
    memset(big, 'x', sizeof(big));
    ck_assert_int_eq(buf_append(&b, big, sizeof(big)), -E2BIG);
    buf_finish(&b);
}
END_TEST

START_TEST(test_reserve)
{
    struct buf b;
    buf_init(&b, 0);
    ck_assert_int_eq(buf_append_str(&b, "abc"), 0);
    ck_assert_int_eq(buf_reserve(&b, 1000), 0);
    /* nothing appended, the contents kept */
    ck_assert_uint_eq(b.len, 3);
    ck_assert_str_eq(b.data, "abc");
    /* room for 1000 more bytes and the NUL: appending them does not move the data */
    ck_assert_uint_ge(b.cap, 3 + 1000 + 1);
    const char *p = b.data;
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(buf_append_byte(&b, 'r'), 0);
    ck_assert_ptr_eq(b.data, p);
    ck_assert_uint_eq(b.len, 1003);
    ck_assert_int_eq(b.data[1003], '\0');
    ck_assert_int_eq(buf_reserve(&b, 0), 0);
    ck_assert_uint_eq(b.len, 1003);
    buf_finish(&b);
}
END_TEST

START_TEST(test_reserve_limit)
{
    struct buf b;
    buf_init(&b, 10);
    ck_assert_int_eq(buf_append_str(&b, "abcd"), 0);
    ck_assert_int_eq(buf_reserve(&b, 7), -E2BIG);
    ck_assert_uint_eq(b.len, 4);
    ck_assert_str_eq(b.data, "abcd");
    ck_assert_int_eq(buf_reserve(&b, 6), 0);
    ck_assert_int_eq(buf_append(&b, "efghij", 6), 0);
    ck_assert_str_eq(b.data, "abcdefghij");
    buf_finish(&b);
}
END_TEST

START_TEST(test_reserve_first_keeps_nul)
{
    /* buf.h: the contents are always followed by a NUL, so text can be used as a C string;
     * that holds for a buffer whose first operation is a reserve too. Put a used chunk of
     * the size the reserve asks for back on the heap first, so the allocation is not
     * fresh zeroed memory by luck. */
    char *dirty = malloc(101);
    ck_assert_ptr_nonnull(dirty);
    memset(dirty, 'X', 101);
    free(dirty);
    struct buf b;
    buf_init(&b, 0);
    ck_assert_int_eq(buf_reserve(&b, 100), 0);
    ck_assert_uint_eq(b.len, 0);
    if (b.data)
        ck_assert_msg(b.data[0] == '\0', "an empty buffer after buf_reserve is not \"\"");
    buf_finish(&b);
}
END_TEST

static Suite *buf_suite(void)
{
    Suite *s = suite_create("buf");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_init_empty);
    tcase_add_test(tc, test_append_and_nul);
    tcase_add_test(tc, test_append_binary);
    tcase_add_test(tc, test_append_empty_terminates);
    tcase_add_test(tc, test_grow_large);
    tcase_add_test(tc, test_limit);
    tcase_add_test(tc, test_limit_first_append);
    tcase_add_test(tc, test_limit_printf_long);
    tcase_add_test(tc, test_printf);
    tcase_add_test(tc, test_printf_past_256);
    tcase_add_test(tc, test_printf_exact_boundaries);
    tcase_add_test(tc, test_reset);
    tcase_add_test(tc, test_steal);
    tcase_add_test(tc, test_reserve);
    tcase_add_test(tc, test_reserve_limit);
    tcase_add_test(tc, test_reserve_first_keeps_nul);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(buf_suite());
}
