/* Unit tests for hash: the published vectors of FNV-1a and SipHash-2-4, and for
 * hash_digest128 that every input bit, the length and the seed change the result, that it is
 * stable across calls, and that it spreads a million similar inputs without a collision. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "unit.h"

START_TEST(test_fnv1a64_vectors)
{
    ck_assert_uint_eq(hash_fnv1a64("", 0), 0xcbf29ce484222325ull);
    ck_assert_uint_eq(hash_fnv1a64("a", 1), 0xaf63dc4c8601ec8cull);
    ck_assert_uint_eq(hash_fnv1a64("foobar", 6), 0x85944171f73967e8ull);
}
END_TEST

/* The vectors of the SipHash paper's reference code: key 00..0f, messages 00..(n-1). */
START_TEST(test_siphash24_vectors)
{
    uint64_t k[2] = {0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull};
    unsigned char m[64];
    for (size_t i = 0; i < sizeof(m); i++)
        m[i] = (unsigned char)i;
    ck_assert_uint_eq(hash_siphash24(k, m, 0), 0x726fdb47dd0e0e31ull);
    ck_assert_uint_eq(hash_siphash24(k, m, 1), 0x74f839c593dc67fdull);
    ck_assert_uint_eq(hash_siphash24(k, m, 8), 0x93f5f5799a932462ull);
    ck_assert_uint_eq(hash_siphash24(k, m, 15), 0xa129ca6149be45e5ull);
    ck_assert_uint_eq(hash_siphash24(k, m, 63), 0x958a324ceb064572ull);
}
END_TEST

static void digest(const void *p, size_t n, uint64_t seed, uint64_t out[2])
{
    hash_digest128(p, n, seed, out);
}

static int same(const uint64_t a[2], const uint64_t b[2])
{
    return a[0] == b[0] && a[1] == b[1];
}

START_TEST(test_digest_stable)
{
    const char *s = "{\"id\":\"evt_1\",\"type\":\"order.paid\"}";
    uint64_t a[2], b[2];
    digest(s, strlen(s), 7, a);
    char *copy = strdup(s); /* another address, same bytes */
    digest(copy, strlen(copy), 7, b);
    free(copy);
    ck_assert(same(a, b));
    ck_assert(a[0] != a[1]);
}
END_TEST

/* Flipping any one bit of inputs of every length up to 80 bytes changes both halves. */
START_TEST(test_digest_every_bit_counts)
{
    unsigned char buf[80];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (unsigned char)(i * 37 + 11);
    for (size_t len = 1; len <= sizeof(buf); len++) {
        uint64_t base[2];
        digest(buf, len, 0, base);
        for (size_t bit = 0; bit < len * 8; bit++) {
            uint64_t h[2];
            buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
            digest(buf, len, 0, h);
            buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
            ck_assert_msg(h[0] != base[0] && h[1] != base[1], "len %zu bit %zu", len, bit);
        }
    }
}
END_TEST

/* Trailing zero bytes and the seed are part of what is hashed. */
START_TEST(test_digest_length_and_seed)
{
    unsigned char zeros[40] = {0};
    uint64_t prev[2];
    digest(zeros, 0, 0, prev);
    for (size_t len = 1; len <= sizeof(zeros); len++) {
        uint64_t h[2];
        digest(zeros, len, 0, h);
        ck_assert_msg(!same(h, prev), "len %zu", len);
        prev[0] = h[0];
        prev[1] = h[1];
    }
    uint64_t a[2], b[2];
    digest("body", 4, 1, a);
    digest("body", 4, 2, b);
    ck_assert(!same(a, b));
}
END_TEST

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

/* A million bodies that differ only in a counter: no two share even the first 64 bits. */
START_TEST(test_digest_no_collisions)
{
    enum { N = 1000000 };
    uint64_t *v = malloc(N * sizeof(*v));
    ck_assert_ptr_nonnull(v);
    char body[64];
    for (int i = 0; i < N; i++) {
        int n = snprintf(body, sizeof(body), "{\"id\":\"evt_%d\",\"n\":1}", i);
        uint64_t h[2];
        digest(body, (size_t)n, 0, h);
        v[i] = h[0];
    }
    qsort(v, N, sizeof(*v), cmp_u64);
    for (int i = 1; i < N; i++)
        ck_assert_msg(v[i] != v[i - 1], "collision at %d", i);
    free(v);
}
END_TEST

/* An empty body may come as a null pointer (a delivery without one): it hashes as "" does,
 * and (in the sanitized build, which aborts on undefined behaviour) without pointer
 * arithmetic on null. */
START_TEST(test_empty_input_may_be_null)
{
    const uint64_t k[2] = {1, 2};
    ck_assert_uint_eq(hash_siphash24(k, NULL, 0), hash_siphash24(k, "", 0));
    ck_assert_uint_eq(hash_fnv1a64(NULL, 0), hash_fnv1a64("", 0));
    uint64_t a[2], b[2];
    hash_digest128(NULL, 0, 7, a);
    hash_digest128("", 0, 7, b);
    ck_assert_uint_eq(a[0], b[0]);
    ck_assert_uint_eq(a[1], b[1]);
    hash_digest128("x", 1, 7, b);
    ck_assert(a[0] != b[0] || a[1] != b[1]);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("hash");
    TCase *tc = tcase_create("hash");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_fnv1a64_vectors);
    tcase_add_test(tc, test_siphash24_vectors);
    tcase_add_test(tc, test_digest_stable);
    tcase_add_test(tc, test_digest_every_bit_counts);
    tcase_add_test(tc, test_digest_length_and_seed);
    tcase_add_test(tc, test_digest_no_collisions);
    tcase_add_test(tc, test_empty_input_may_be_null);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
