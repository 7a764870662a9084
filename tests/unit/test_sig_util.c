/* Unit tests for sig_util: HMAC against RFC 4231, hex and base64 both ways, the JSON.stringify
 * quoting the Twenty diagnosis relies on, header lookup (case, trimming, repeats, size cap),
 * timestamps and tolerance messages, excerpts of hostile bytes, random ids. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "delivery.h"
#include "sig_util.h"
#include "unit.h"

START_TEST(test_hmac_rfc4231)
{
    /* RFC 4231 test case 2 */
    struct sig_part p = {"what do ya want for nothing?", 28};
    unsigned char mac[SIG_MAC_MAX];
    char hex[2 * SIG_MAC_MAX + 1];
    ck_assert_int_eq(sig_hmac(SIG_SHA256, "Jefe", 4, &p, 1, mac), 0);
    sig_hex(mac, 32, hex);
    ck_assert_str_eq(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    ck_assert_int_eq(sig_hmac(SIG_SHA512, "Jefe", 4, &p, 1, mac), 0);
    sig_hex(mac, 64, hex);
    ck_assert_str_eq(hex, "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
                          "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737");
    /* the same content in pieces */
    struct sig_part parts[] = {{"what do ya", 10}, {"", 0}, {" want for nothing?", 18}};
    ck_assert_int_eq(sig_hmac(SIG_SHA256, "Jefe", 4, parts, 3, mac), 0);
    sig_hex(mac, 32, hex);
    ck_assert_str_eq(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    /* an empty key is a key */
    ck_assert_int_eq(sig_hmac(SIG_SHA1, "", 0, &p, 1, mac), 0);
    ck_assert_uint_eq(sig_alg_size(SIG_SHA1), 20);
    ck_assert_str_eq(sig_alg_name(SIG_SHA512), "sha512");
}
END_TEST

START_TEST(test_base64)
{
    static const struct {
        const char *raw, *std, *url;
    } cases[] = {
        {"", "", ""},
        {"f", "Zg==", "Zg"},
        {"fo", "Zm8=", "Zm8"},
        {"foo", "Zm9v", "Zm9v"},
        {"foob", "Zm9vYg==", "Zm9vYg"},
        {"\xfb\xff", "+/8=", "-_8"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[32];
        size_t n = strlen(cases[i].raw);
        ck_assert_uint_eq(
            sig_base64((const unsigned char *)cases[i].raw, n, false, out, sizeof(out)),
            strlen(cases[i].std));
        ck_assert_str_eq(out, cases[i].std);
        sig_base64((const unsigned char *)cases[i].raw, n, true, out, sizeof(out));
        ck_assert_str_eq(out, cases[i].url);
        unsigned char dec[32];
        size_t len = 99;
        ck_assert_int_eq(
            sig_base64_decode(cases[i].std, strlen(cases[i].std), dec, sizeof(dec), &len), 0);
        ck_assert_uint_eq(len, n);
        ck_assert(memcmp(dec, cases[i].raw, n) == 0);
        /* padding is optional */
        size_t bare = strcspn(cases[i].std, "=");
        ck_assert_int_eq(sig_base64_decode(cases[i].std, bare, dec, sizeof(dec), &len), 0);
        ck_assert_uint_eq(len, n);
    }
    char small[4];
    ck_assert_uint_eq(sig_base64((const unsigned char *)"foo", 3, false, small, sizeof(small)), 0);
    ck_assert_str_eq(small, "");

    static const char *const bad[] = {"Z",    "Zg=",   "Zg===", "Z===",   "Zm9v YmFy",
                                      "Zm9-", "=Zm9v", "Zm=v",  "Zm9v\n", "Zg==Zg=="};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        unsigned char dec[32];
        size_t len;
        ck_assert_msg(sig_base64_decode(bad[i], strlen(bad[i]), dec, sizeof(dec), &len) == -EINVAL,
                      "'%s' should not decode", bad[i]);
    }
    unsigned char tiny[2];
    size_t len;
    ck_assert_int_eq(sig_base64_decode("Zm9v", 4, tiny, sizeof(tiny), &len), -EINVAL);
}
END_TEST

START_TEST(test_hex_and_compare)
{
    char out[9];
    sig_hex((const unsigned char *)"\x00\x9f\xab\xff", 4, out);
    ck_assert_str_eq(out, "009fabff");
    ck_assert(sig_all_hex("09afAF", 6));
    ck_assert(!sig_all_hex("09ag", 4));
    ck_assert(sig_equal("abc", 3, "abc", 3));
    ck_assert(!sig_equal("abc", 3, "abd", 3));
    ck_assert(!sig_equal("abc", 3, "ab", 2));
    ck_assert(sig_equal_nocase("ABC", 3, "abc", 3));
    ck_assert(!sig_equal_nocase("ABC", 3, "abd", 3));
}
END_TEST

/* What JavaScript's JSON.stringify(string) writes. */
START_TEST(test_json_quote)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"", "\"\""},
        {"{\"a\":\"b\\\\c\"}", "\"{\\\"a\\\":\\\"b\\\\\\\\c\\\"}\""},
        {"\b\f\n\r\t", "\"\\b\\f\\n\\r\\t\""},
        {"\x01\x1f\x7f", "\"\\u0001\\u001f\x7f\""},
        {"/caf\xc3\xa9 \xe2\x80\xa8", "\"/caf\xc3\xa9 \xe2\x80\xa8\""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct buf b;
        buf_init(&b, 0);
        ck_assert_int_eq(sig_json_quote(&b, cases[i].in, strlen(cases[i].in)), 0);
        ck_assert_str_eq(b.data, cases[i].out);
        buf_finish(&b);
    }
    struct buf b;
    buf_init(&b, 0);
    ck_assert_int_eq(sig_json_quote(&b, "a\0b", 3), 0);
    ck_assert_str_eq(b.data, "\"a\\u0000b\"");
    buf_reset(&b);
    ck_assert_int_eq(sig_json_quote(&b, "\xff", 1), -EINVAL);
    buf_finish(&b);
    buf_init(&b, 4);
    ck_assert_int_eq(sig_json_quote(&b, "abcdef", 6), -E2BIG);
    buf_finish(&b);
}
END_TEST

static struct delivery *headers(const char *const *pairs)
{
    struct delivery *d = delivery_create();
    for (; *pairs; pairs += 2)
        delivery_add_header(d, pairs[0], strlen(pairs[0]), pairs[1], strlen(pairs[1]));
    return d;
}

START_TEST(test_header_lookup)
{
    char big[9000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    struct delivery *d =
        headers((const char *const[]){"X-One", " \t value one \t", "x-two", "2", "X-TWO", "again",
                                      "X-Big", big, "X-Empty", "", "X-Ctl",
                                      "a\x01"
                                      "b",
                                      NULL});
    struct sig_request req = {.headers = d->headers.data, .headers_len = d->headers.len};
    struct sig_verdict v = {0};
    const char *val;
    size_t len;
    ck_assert_int_eq(sig_header_get(&req, "x-one", &v, &val, &len), 1);
    ck_assert_uint_eq(len, 9);
    ck_assert(memcmp(val, "value one", 9) == 0);
    ck_assert_int_eq(sig_header_get(&req, "X-Two", &v, &val, &len), -1);
    ck_assert_int_eq(v.status, SIG_MALFORMED);
    ck_assert_str_eq(v.reason, "X-Two appears 2 times; a sender sends it once");
    ck_assert_int_eq(sig_header_get(&req, "X-Big", &v, &val, &len), -1);
    ck_assert_ptr_nonnull(strstr(v.reason, "8999 bytes long"));
    ck_assert_int_eq(sig_header_get(&req, "X-None", &v, &val, &len), 0);
    ck_assert(!sig_header_need(&req, "X-None", "(hint)", &v, &val, &len));
    ck_assert_int_eq(v.status, SIG_MISSING);
    ck_assert_str_eq(v.reason, "no X-None header (hint)");
    ck_assert(!sig_header_need(&req, "X-Empty", NULL, &v, &val, &len));
    ck_assert_int_eq(v.status, SIG_MALFORMED);
    ck_assert_str_eq(v.reason, "X-Empty is empty");
    ck_assert(sig_header_present(&req, "x-two"));
    ck_assert(!sig_header_present(&req, "x-three"));

    char dst[8];
    sig_header_copy(&req, "X-One", dst, sizeof(dst)); /* 9 bytes do not fit in 8 */
    ck_assert_str_eq(dst, "");
    sig_header_copy(&req, "X-Ctl", dst, sizeof(dst));
    ck_assert_str_eq(dst, "");
    char wide[32];
    sig_header_copy(&req, "X-One", wide, sizeof(wide));
    ck_assert_str_eq(wide, "value one");
    delivery_destroy(d);

    /* no blob at all */
    struct sig_request empty = {0};
    ck_assert_int_eq(sig_header_get(&empty, "X", &v, &val, &len), 0);
    ck_assert(sig_valid_header_name("X-Hub-Signature-256"));
    ck_assert(!sig_valid_header_name("X Sig"));
    ck_assert(!sig_valid_header_name(""));
}
END_TEST

START_TEST(test_timestamps)
{
    int64_t t;
    ck_assert_int_eq(sig_parse_timestamp("1736935200", 10, &t), 0);
    ck_assert_int_eq(t, 1736935200);
    ck_assert_int_eq(sig_parse_timestamp("0017", 4, &t), 0);
    ck_assert_int_eq(t, 17);
    ck_assert_int_eq(sig_parse_timestamp("", 0, &t), -EINVAL);
    ck_assert_int_eq(sig_parse_timestamp("-5", 2, &t), -EINVAL);
    ck_assert_int_eq(sig_parse_timestamp("+5", 2, &t), -EINVAL);
    ck_assert_int_eq(sig_parse_timestamp("1 ", 2, &t), -EINVAL);
    ck_assert_int_eq(sig_parse_timestamp("1234567890123456", 16, &t), -EINVAL);
    ck_assert_int_eq(sig_parse_timestamp("999999999999999", 15, &t), 0);

    struct sig_config c = {.tolerance_s = 300};
    struct sig_request req = {.now_ms = 1736935612345};
    char why[200];
    /* seconds compare in whole seconds: now is 1736935612 */
    ck_assert(sig_time_check(&c, &req, 1736935312, 1000, true, why, sizeof(why)));
    ck_assert_str_eq(why, "");
    ck_assert(!sig_time_check(&c, &req, 1736935200, 1000, true, why, sizeof(why)));
    ck_assert_str_eq(why, "timestamp 1736935200 is 412 s older than the 300 s tolerance");
    ck_assert(!sig_time_check(&c, &req, 1736936024, 1000, true, why, sizeof(why)));
    ck_assert_str_eq(why,
                     "timestamp 1736936024 is 412 s in the future, beyond the 300 s tolerance");
    ck_assert(sig_time_check(&c, &req, 1736936024, 1000, false, why, sizeof(why)));
    /* milliseconds: a part second counts as a whole one in the message */
    ck_assert(!sig_time_check(&c, &req, 1736935312344, 1, true, why, sizeof(why)));
    ck_assert_str_eq(why, "timestamp 1736935312344 is 301 s older than the 300 s tolerance");
    ck_assert(sig_time_check(&c, &req, 1736935312345, 1, true, why, sizeof(why)));
    /* the wrong unit */
    ck_assert(!sig_time_check(&c, &req, 1736935612, 1, true, why, sizeof(why)));
    ck_assert_ptr_nonnull(strstr(why, "; it looks like seconds"));
    ck_assert(!sig_time_check(&c, &req, 1736935612345, 1000, true, why, sizeof(why)));
    ck_assert_ptr_nonnull(strstr(why, "; it looks like milliseconds"));
    /* far out of range stays arithmetic */
    ck_assert(!sig_time_check(&c, &req, 999999999999999, 1000, true, why, sizeof(why)));
    ck_assert(!sig_time_check(&c, &req, 0, 1000, true, why, sizeof(why)));
    /* tolerance 0: no check */
    c.tolerance_s = 0;
    ck_assert(sig_time_check(&c, &req, 0, 1000, true, why, sizeof(why)));
    /* a tiny buffer still ends in NUL */
    c.tolerance_s = 300;
    char tiny[10];
    ck_assert(!sig_time_check(&c, &req, 1736935200, 1000, true, tiny, sizeof(tiny)));
    ck_assert_uint_eq(strlen(tiny), 9);
    ck_assert(sig_now_ms() > 1700000000000);
    struct sig_request now = {0};
    ck_assert(sig_request_now_ms(&now) > 1700000000000);
}
END_TEST

START_TEST(test_verdict_text)
{
    struct sig_verdict v = {.secret_index = 3};
    sig_verdict_no_match(&v, 2, "v1", 3);
    ck_assert_int_eq(v.status, SIG_INVALID);
    ck_assert_int_eq(v.secret_index, -1);
    ck_assert_str_eq(v.reason, "none of 2 v1 signatures matched any of 3 secrets");
    sig_verdict_no_match(&v, 1, NULL, 1);
    ck_assert_str_eq(v.reason, "the signature does not match the secret");
    sig_verdict_no_match(&v, 1, "sha256", 2);
    ck_assert_str_eq(v.reason, "the sha256 signature matches none of the 2 secrets");
    sig_verdict_no_match(&v, 3, "v1", 1);
    ck_assert_str_eq(v.reason, "none of 3 v1 signatures matched the secret");
    sig_verdict_expire(&v, "timestamp 1 is 2 s older than the 3 s tolerance");
    ck_assert_int_eq(v.status, SIG_EXPIRED);
    ck_assert_str_eq(v.reason, "timestamp 1 is 2 s older than the 3 s tolerance; the signature "
                               "does not match either: none of 3 v1 signatures matched the secret");
    sig_verdict_set(&v, SIG_VALID, "ok");
    v.secret_index = 1;
    sig_verdict_expire(&v, "old");
    ck_assert_str_eq(v.reason, "old; the signature itself matches secrets[1]");
    /* appending never overflows */
    for (int i = 0; i < 100; i++)
        sig_verdict_add(&v, " more text");
    ck_assert_uint_eq(strlen(v.reason), sizeof(v.reason) - 1);
}
END_TEST

START_TEST(test_excerpt)
{
    char out[48];
    sig_excerpt(out, sizeof(out), "abc", 3);
    ck_assert_str_eq(out, "abc");
    sig_excerpt(out, sizeof(out), "a\x1b[31m\\'\xff", 9);
    ck_assert_str_eq(out, "a\\x1b[31m\\x5c\\x27\\xff");
    sig_excerpt(out, sizeof(out), "0123456789012345678901234567890123456789", 40);
    ck_assert_str_eq(out, "012345678901234567890123...");
    char small[8];
    sig_excerpt(small, sizeof(small), "\x01\x02\x03", 3);
    ck_assert_str_eq(small, "\\x01...");
    sig_excerpt(out, sizeof(out), "", 0);
    ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(test_random_ids)
{
    char a[37], b[37], hex[33], msg[32];
    ck_assert_int_eq(sig_random_uuid(a), 0);
    ck_assert_int_eq(sig_random_uuid(b), 0);
    ck_assert_uint_eq(strlen(a), 36);
    ck_assert_str_ne(a, b);
    ck_assert_int_eq(a[8], '-');
    ck_assert_int_eq(a[14], '4');
    ck_assert(strchr("89ab", a[19]) != NULL);
    ck_assert_int_eq(sig_random_hex(hex, 16), 0);
    ck_assert_uint_eq(strlen(hex), 32);
    ck_assert(sig_all_hex(hex, 32));
    ck_assert_int_eq(sig_random_msg_id(msg), 0);
    ck_assert_uint_eq(strlen(msg), 31);
    for (size_t i = 4; i < 31; i++)
        ck_assert_msg((msg[i] >= '0' && msg[i] <= '9') || (msg[i] >= 'a' && msg[i] <= 'z') ||
                          (msg[i] >= 'A' && msg[i] <= 'Z'),
                      "%s", msg);
    ck_assert(sig_header_safe("abc def"));
    ck_assert(!sig_header_safe(""));
    ck_assert(!sig_header_safe("a\nb"));
    ck_assert(!sig_header_safe("caf\xc3\xa9"));

    struct buf b2;
    buf_init(&b2, 0);
    ck_assert_int_eq(sig_add_header(&b2, "X-A", "%d", 5), 0);
    ck_assert_str_eq(b2.data, "X-A: 5\n");
    buf_finish(&b2);
}
END_TEST

static Suite *sig_util_suite(void)
{
    Suite *s = suite_create("sig_util");
    TCase *tc = tcase_create("all");
    tcase_add_test(tc, test_hmac_rfc4231);
    tcase_add_test(tc, test_base64);
    tcase_add_test(tc, test_hex_and_compare);
    tcase_add_test(tc, test_json_quote);
    tcase_add_test(tc, test_header_lookup);
    tcase_add_test(tc, test_timestamps);
    tcase_add_test(tc, test_verdict_text);
    tcase_add_test(tc, test_excerpt);
    tcase_add_test(tc, test_random_ids);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(sig_util_suite());
}
