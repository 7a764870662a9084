/* Unit tests for seen: first sight, repeats, bounded memory with oldest-first eviction, and a
 * cross-check against a plain list under heavy churn. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seen.h"
#include "unit.h"

static seen_set *make(size_t capacity)
{
    seen_set *s = NULL;
    struct wh_error err = {0};
    ck_assert_int_eq(seen_set_create(capacity, &s, &err), 0);
    return s;
}

START_TEST(test_first_and_repeat)
{
    seen_set *s = make(8);
    ck_assert(!seen_set_check_add(s, "abc", 3));
    ck_assert(seen_set_check_add(s, "abc", 3));
    ck_assert(!seen_set_check_add(s, "abd", 3));
    ck_assert(!seen_set_check_add(s, "ab", 2)); /* a prefix is another key */
    ck_assert(!seen_set_check_add(s, "", 0));
    ck_assert(seen_set_check_add(s, "", 0));
    seen_set_destroy(s);
}
END_TEST

START_TEST(test_oldest_forgotten_first)
{
    seen_set *s = make(3);
    ck_assert(!seen_set_check_add(s, "1", 1));
    ck_assert(!seen_set_check_add(s, "2", 1));
    ck_assert(!seen_set_check_add(s, "3", 1));
    ck_assert(!seen_set_check_add(s, "4", 1)); /* forgets 1 */
    ck_assert(seen_set_check_add(s, "2", 1));
    ck_assert(seen_set_check_add(s, "3", 1));
    ck_assert(seen_set_check_add(s, "4", 1));
    ck_assert(!seen_set_check_add(s, "1", 1)); /* forgotten, so new again (forgets 2) */
    ck_assert(!seen_set_check_add(s, "2", 1));
    seen_set_destroy(s);
}
END_TEST

/* Against a reference: the last `cap` distinct keys inserted are exactly the known ones. */
START_TEST(test_churn_matches_reference)
{
    enum { CAP = 64, KEYS = 200, STEPS = 20000 };
    seen_set *s = make(CAP);
    int order[CAP]; /* reference ring of keys, oldest first */
    int n = 0;
    unsigned rng = 12345;
    for (int step = 0; step < STEPS; step++) {
        rng = rng * 1103515245u + 12345u;
        int k = (int)((rng >> 8) % KEYS);
        char key[16];
        int len = snprintf(key, sizeof(key), "nonce-%d", k);
        bool want = false;
        for (int i = 0; i < n; i++)
            want |= order[i] == k;
        bool got = seen_set_check_add(s, key, (size_t)len);
        ck_assert_msg(got == want, "step %d key %d: got %d want %d", step, k, got, want);
        if (!want) {
            if (n == CAP) {
                memmove(order, order + 1, (CAP - 1) * sizeof(order[0]));
                n--;
            }
            order[n++] = k;
        }
    }
    seen_set_destroy(s);
}
END_TEST

START_TEST(test_long_keys_are_capped)
{
    seen_set *s = make(4);
    char a[400], b[400];
    memset(a, 'x', sizeof(a));
    memcpy(b, a, sizeof(b));
    b[399] = 'y'; /* differs only past the first 80 bytes */
    ck_assert(!seen_set_check_add(s, "x", 1));
    ck_assert(!seen_set_check_add(s, a, sizeof(a)));
    ck_assert(seen_set_check_add(s, b, sizeof(b)));
    seen_set_destroy(s);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("seen");
    TCase *tc = tcase_create("seen");
    tcase_add_test(tc, test_first_and_repeat);
    tcase_add_test(tc, test_oldest_forgotten_first);
    tcase_add_test(tc, test_churn_matches_reference);
    tcase_add_test(tc, test_long_keys_are_capped);
    suite_add_tcase(su, tc);
    return unit_run(su);
}
