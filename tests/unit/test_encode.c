/* Unit tests for encode: UTF-8 validity, JSON strings with the Latin-1 fallback, base64,
 * RFC 3339 times and terminal escaping. */
#include <check.h>
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "encode.h"
#include "unit.h"

#define S(lit) (lit), (sizeof(lit) - 1)

/* ---- encode_utf8_valid ---- */

static const struct {
    const char *s;
    size_t len;
    const char *what;
} valid_utf8[] = {
    {S(""), "empty"},
    {S("plain ascii"), "ascii"},
    {S("a\0b"), "NUL is allowed"},
    {S("\0"), "only NUL"},
    {S("\xC2\x80"), "U+0080, smallest 2-byte"},
    {S("\xC3\xA9"), "e acute"},
    {S("\xDF\xBF"), "U+07FF, largest 2-byte"},
    {S("\xE0\xA0\x80"), "U+0800, smallest 3-byte"},
    {S("\xE2\x82\xAC"), "euro sign"},
    {S("\xED\x9F\xBF"), "U+D7FF, just below the surrogates"},
    {S("\xEE\x80\x80"), "U+E000, just above the surrogates"},
    {S("\xEF\xBF\xBF"), "U+FFFF"},
    {S("\xF0\x90\x80\x80"), "U+10000, smallest 4-byte"},
    {S("\xF0\x9F\x98\x80"), "emoji"},
    {S("\xF4\x8F\xBF\xBF"), "U+10FFFF, the largest"},
    {S("x\xC3\xA9y\xE2\x82\xACz\xF0\x9F\x98\x80"), "mixed"},
};

static const struct {
    const char *s;
    size_t len;
    const char *what;
} invalid_utf8[] = {
    {S("\x80"), "lone continuation byte"},
    {S("\xBF"), "lone continuation byte BF"},
    {S("\xC0\x80"), "overlong NUL"},
    {S("\xC0\xAF"), "overlong slash"},
    {S("\xC1\xBF"), "overlong 2-byte C1"},
    {S("\xE0\x80\x80"), "overlong 3-byte NUL"},
    {S("\xE0\x9F\xBF"), "overlong U+07FF in 3 bytes"},
    {S("\xF0\x80\x80\x80"), "overlong 4-byte NUL"},
    {S("\xF0\x8F\xBF\xBF"), "overlong U+FFFF in 4 bytes"},
    {S("\xED\xA0\x80"), "surrogate U+D800"},
    {S("\xED\xB0\x80"), "surrogate U+DC00"},
    {S("\xED\xBF\xBF"), "surrogate U+DFFF"},
    {S("\xED\xA0\xBD\xED\xB8\x80"), "CESU-8 surrogate pair"},
    {S("\xF4\x90\x80\x80"), "U+110000"},
    {S("\xF5\x80\x80\x80"), "lead F5"},
    {S("\xF7\xBF\xBF\xBF"), "lead F7"},
    {S("\xF8\x88\x80\x80\x80"), "5-byte form"},
    {S("\xFC\x84\x80\x80\x80\x80"), "6-byte form"},
    {S("\xFE"), "FE"},
    {S("\xFF"), "FF"},
    {S("\xC2"), "truncated 2-byte"},
    {S("\xE2\x82"), "truncated 3-byte"},
    {S("\xF0\x9F\x98"), "truncated 4-byte"},
    {S("abc\xE2\x82"), "truncated at the end"},
    {S("\xE2\x82x"), "truncated before ascii"},
    {S("\xC2\x41"), "bad continuation"},
    {S("\xF0\x9F\x98\x41"), "bad last continuation"},
    {S("ok\xC3\xA9\xFFok"), "invalid in the middle"},
};

START_TEST(test_utf8_valid)
{
    ck_assert_msg(encode_utf8_valid(valid_utf8[_i].s, valid_utf8[_i].len), "should be valid: %s",
                  valid_utf8[_i].what);
}
END_TEST

START_TEST(test_utf8_invalid)
{
    ck_assert_msg(!encode_utf8_valid(invalid_utf8[_i].s, invalid_utf8[_i].len),
                  "should be invalid: %s", invalid_utf8[_i].what);
}
END_TEST

START_TEST(test_utf8_len_respected)
{
    /* the length, not a NUL, ends the data: a cut multi-byte sequence is invalid */
    ck_assert(!encode_utf8_valid("\xC3\xA9", 1));
    ck_assert(!encode_utf8_valid("\xE2\x82\xAC", 2));
    ck_assert(encode_utf8_valid("ab\xFF", 2));
    ck_assert(encode_utf8_valid(NULL, 0));
}
END_TEST

/* ---- encode_json_string ---- */

static void check_json_string(const char *in, size_t in_len, const char *want, size_t want_len)
{
    json_t *s = encode_json_string(in, in_len);
    ck_assert_ptr_nonnull(s);
    ck_assert(json_is_string(s));
    ck_assert_uint_eq(json_string_length(s), want_len);
    ck_assert_mem_eq(json_string_value(s), want, want_len);
    /* whatever came in, the result is valid UTF-8 and serialisable */
    ck_assert(encode_utf8_valid(json_string_value(s), json_string_length(s)));
    char *dump = json_dumps(s, JSON_ENCODE_ANY);
    ck_assert_ptr_nonnull(dump);
    free(dump);
    json_decref(s);
}

START_TEST(test_json_string_valid_kept)
{
    check_json_string(S("hello"), S("hello"));
    check_json_string(S(""), S(""));
    check_json_string(S("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"),
                      S("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));
    check_json_string(S("a\0b"), S("a\0b"));
}
END_TEST

START_TEST(test_json_string_latin1)
{
    /* 0xE9 alone is invalid UTF-8 and reads as U+00E9 */
    check_json_string(S("\xE9"), S("\xC3\xA9"));
    check_json_string(S("caf\xE9"), S("caf\xC3\xA9"));
    /* valid sequences next to invalid bytes are kept as they are */
    check_json_string(S("\xE9\xE2\x82\xAC"), S("\xC3\xA9\xE2\x82\xAC"));
    check_json_string(S("\xFF\xFE"), S("\xC3\xBF\xC3\xBE"));
    check_json_string(S("\x80"), S("\xC2\x80"));
    /* overlong: each byte of the invalid sequence on its own */
    check_json_string(S("\xC0\xAF"), S("\xC3\x80\xC2\xAF"));
    /* surrogate */
    check_json_string(S("\xED\xA0\x80"), S("\xC3\xAD\xC2\xA0\xC2\x80"));
    /* truncated sequence followed by ASCII */
    check_json_string(S("\xE2\x82x"), S("\xC3\xA2\xC2\x82x"));
    /* NUL next to an invalid byte survives too */
    check_json_string(S("\0\xE9"), S("\0\xC3\xA9"));
}
END_TEST

/* ---- encode_base64 ---- */

static void check_base64(const char *in, size_t len, const char *want)
{
    struct buf b;
    buf_init(&b, 0);
    ck_assert_int_eq(encode_base64(&b, in, len), 0);
    ck_assert_uint_eq(b.len, strlen(want));
    if (b.len)
        ck_assert_str_eq(b.data, want);
    buf_finish(&b);
}

START_TEST(test_base64_rfc4648)
{
    /* RFC 4648 section 10 */
    check_base64(S(""), "");
    check_base64(S("f"), "Zg==");
    check_base64(S("fo"), "Zm8=");
    check_base64(S("foo"), "Zm9v");
    check_base64(S("foob"), "Zm9vYg==");
    check_base64(S("fooba"), "Zm9vYmE=");
    check_base64(S("foobar"), "Zm9vYmFy");
}
END_TEST

START_TEST(test_base64_binary)
{
    check_base64(S("\xFB\xFF"), "+/8=");
    check_base64(S("\xFF\xFF\xFE"), "///+");
    check_base64(S("\0"), "AA==");
    check_base64(S("\0\0\0"), "AAAA");
    check_base64(S("\x14\xFB\x9C\x03\xD9\x7E"), "FPucA9l+");
    check_base64(S("\x14\xFB\x9C\x03\xD9"), "FPucA9k=");
    check_base64(S("\x14\xFB\x9C\x03"), "FPucAw==");
}
END_TEST

START_TEST(test_base64_appends)
{
    struct buf b;
    buf_init(&b, 0);
    ck_assert_int_eq(buf_append_str(&b, "x="), 0);
    ck_assert_int_eq(encode_base64(&b, "foo", 3), 0);
    ck_assert_str_eq(b.data, "x=Zm9v");
    buf_finish(&b);

    /* past the buffer's limit: an error, not a silent truncation */
    buf_init(&b, 4);
    ck_assert_int_lt(encode_base64(&b, "foobar", 6), 0);
    ck_assert_uint_le(b.len, 4);
    buf_finish(&b);
}
END_TEST

/* ---- encode_rfc3339_us ---- */

static void check_time(int64_t us, const char *want)
{
    struct buf b;
    buf_init(&b, 0);
    ck_assert_int_eq(encode_rfc3339_us(&b, us), 0);
    ck_assert_str_eq(b.data, want);
    ck_assert_uint_eq(b.len, strlen(want));
    buf_finish(&b);
}

START_TEST(test_rfc3339)
{
    check_time(0, "1970-01-01T00:00:00.000000Z");
    check_time(1, "1970-01-01T00:00:00.000001Z");
    check_time(999999, "1970-01-01T00:00:00.999999Z");
    check_time(1000000, "1970-01-01T00:00:01.000000Z");
    check_time(1795761594123456LL, "2026-11-27T06:39:54.123456Z");
    check_time(946684800000000LL, "2000-01-01T00:00:00.000000Z");
    check_time(1709251199999999LL, "2024-02-29T23:59:59.999999Z");
    check_time(1709251200000000LL, "2024-03-01T00:00:00.000000Z");
}
END_TEST

START_TEST(test_rfc3339_appends)
{
    struct buf b;
    buf_init(&b, 0);
    ck_assert_int_eq(buf_append_str(&b, "at "), 0);
    ck_assert_int_eq(encode_rfc3339_us(&b, 42), 0);
    ck_assert_str_eq(b.data, "at 1970-01-01T00:00:00.000042Z");
    buf_finish(&b);
}
END_TEST

/* ---- encode_terminal ---- */

/* Hex digits in \xNN escapes may be either case; normalise them to upper case. */
static void upper_hex_escapes(char *s)
{
    for (; *s; s++)
        if (s[0] == '\\' && s[1] == '\\')
            s++;
        else if (s[0] == '\\' && s[1] == 'x' && s[2] && s[3]) {
            s[2] = (char)toupper((unsigned char)s[2]);
            s[3] = (char)toupper((unsigned char)s[3]);
            s += 3;
        }
}

static void check_term(const char *in, size_t len, bool keep, const char *want)
{
    struct buf b;
    buf_init(&b, 0);
    ck_assert_int_eq(encode_terminal(&b, in, len, keep), 0);
    char *got = strdup(b.data ? b.data : "");
    ck_assert_ptr_nonnull(got);
    ck_assert_uint_eq(strlen(got), b.len); /* no raw NUL in the output */
    upper_hex_escapes(got);
    ck_assert_str_eq(got, want);
    free(got);
    buf_finish(&b);
}

START_TEST(test_terminal_plain)
{
    check_term(S("GET /hooks/a?x=1 HTTP/1.1"), false, "GET /hooks/a?x=1 HTTP/1.1");
    check_term(S(""), false, "");
    check_term(S(" ~"), false, " ~");
}
END_TEST

START_TEST(test_terminal_controls)
{
    check_term(S("a\x1b[31mred"), false, "a\\e[31mred");
    check_term(S("\r"), false, "\\r");
    check_term(S("a\nb"), false, "a\\nb");
    check_term(S("a\tb"), false, "a\\tb");
    check_term(S("\0"), false, "\\x00");
    check_term(S("\x07"), false, "\\x07");
    check_term(S("\x08\x0b\x0c\x1f"), false, "\\x08\\x0B\\x0C\\x1F");
    check_term(S("\x7f"), false, "\\x7F");
}
END_TEST

START_TEST(test_terminal_backslash)
{
    check_term(S("\\"), false, "\\\\");
    check_term(S("a\\nb"), false, "a\\\\nb");
    check_term(S("\\x41"), false, "\\\\x41");
    check_term(S("\\\\"), true, "\\\\\\\\");
}
END_TEST

START_TEST(test_terminal_c1)
{
    /* U+0080..U+009F are valid UTF-8 but terminal controls (CSI is U+009B) */
    check_term(S("\xC2\x80"), false, "\\xC2\\x80");
    check_term(S("\xC2\x85"), false, "\\xC2\\x85");
    check_term(S("\xC2\x9B"
                 "31m"),
               false, "\\xC2\\x9B31m");
    check_term(S("\xC2\x9F"), false, "\\xC2\\x9F");
    check_term(S("\xC2\x9B"), true, "\\xC2\\x9B");
    /* U+00A0 is the first character after them and passes */
    check_term(S("\xC2\xA0"), false, "\xC2\xA0");
}
END_TEST

START_TEST(test_terminal_utf8)
{
    check_term(S("caf\xC3\xA9"), false, "caf\xC3\xA9");
    check_term(S("\xE2\x82\xAC"), false, "\xE2\x82\xAC");
    check_term(S("\xF0\x9F\x98\x80!"), false, "\xF0\x9F\x98\x80!");
    check_term(S("\xF4\x8F\xBF\xBF"), false, "\xF4\x8F\xBF\xBF");
}
END_TEST

START_TEST(test_terminal_invalid)
{
    check_term(S("\xFF"), false, "\\xFF");
    check_term(S("caf\xE9"), false, "caf\\xE9");
    check_term(S("\xE2\x82"), false, "\\xE2\\x82");
    check_term(S("\xE2\x82x"), false, "\\xE2\\x82x");
    check_term(S("\xC0\xAF"), false, "\\xC0\\xAF");
    check_term(S("\xED\xA0\x80"), false, "\\xED\\xA0\\x80");
    check_term(S("\xC2"), false, "\\xC2");
}
END_TEST

START_TEST(test_terminal_keep_newlines)
{
    check_term(S("a\nb\tc"), true, "a\nb\tc");
    /* only newline and tab are kept */
    check_term(S("a\r\nb"), true, "a\\r\nb");
    check_term(S("\x1b\n"), true, "\\e\n");
    check_term(S("\x0b"), true, "\\x0B");
    check_term(S("a\r\nb"), false, "a\\r\\nb");
}
END_TEST

START_TEST(test_terminal_appends)
{
    struct buf b;
    buf_init(&b, 0);
    ck_assert_int_eq(buf_append_str(&b, ">"), 0);
    ck_assert_int_eq(encode_terminal(&b, "x\n", 2, false), 0);
    ck_assert_str_eq(b.data, ">x\\n");
    buf_finish(&b);

    buf_init(&b, 3);
    ck_assert_int_lt(encode_terminal(&b, "abcdef", 6, false), 0);
    ck_assert_uint_le(b.len, 3);
    buf_finish(&b);
}
END_TEST

/* JSON for a terminal: same JSON, no raw DEL or C1, backslashes and UTF-8 untouched */
START_TEST(test_terminal_json)
{
    static const char in[] = "{\n  \"a\": \"x\\\"y\\\\z \xc3\xa9 \x7f \xc2\x9b[31m\"\n}";
    struct buf b;
    buf_init(&b, 0);
    ck_assert_int_eq(encode_terminal_json(&b, in, strlen(in)), 0);
    ck_assert_str_eq(b.data, "{\n  \"a\": \"x\\\"y\\\\z \xc3\xa9 \\u007f \\u009b[31m\"\n}");
    json_t *orig = json_loads(in, 0, NULL);
    json_t *back = json_loads(b.data, 0, NULL);
    ck_assert_ptr_nonnull(orig);
    ck_assert_ptr_nonnull(back);
    ck_assert(json_equal(orig, back));
    json_decref(orig);
    json_decref(back);
    buf_finish(&b);
}
END_TEST


/* ---- encode_markup ---- */

static const struct {
    const char *in;
    size_t len;
    bool attr;
    const char *out;
    const char *what;
} markup_cases[] = {
    {S("plain text"), false, "plain text", "plain"},
    {S("<script>alert(1)</script>"), false, "&lt;script&gt;alert(1)&lt;/script&gt;", "tags"},
    {S("a & b \"c\" 'd'"), false, "a &amp; b &quot;c&quot; &#39;d&#39;", "quotes, ampersand"},
    {S("]]>"), false, "]]&gt;", "CDATA end"},
    {S("l1\nl2\tx\r\n"), false, "l1\nl2\tx&#13;\n", "whitespace in content"},
    {S("l1\nl2\tx\r"), true, "l1&#10;l2&#9;x&#13;", "whitespace in an attribute"},
    {S("\x1b[31m\x00\x01"), false, "\xe2\x90\x9b[31m\xe2\x90\x80\xe2\x90\x81", "C0 pictures"},
    {S("a\x7f" "b"), false, "a\xe2\x90\xa1" "b", "DEL"},
    {S("\xc2\x9b" "x"), false, "\xef\xbf\xbd" "x", "C1 control"},
    {S("\xef\xbf\xbe\xef\xbf\xbf"), false, "\xef\xbf\xbd\xef\xbf\xbd", "noncharacters"},
    {S("\xff\xc3(\xe9"), false, "\xef\xbf\xbd\xef\xbf\xbd(\xef\xbf\xbd", "invalid UTF-8"},
    {S("\xed\xa0\x80"), false, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", "surrogate"},
    {S("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"), false, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",
     "valid UTF-8 passes"},
};

START_TEST(test_markup)
{
    struct buf b;
    buf_init(&b, 0);
    ck_assert_int_eq(buf_append_str(&b, "pre:"), 0);
    ck_assert_int_eq(encode_markup(&b, markup_cases[_i].in, markup_cases[_i].len,
                                   markup_cases[_i].attr),
                     0);
    ck_assert_msg(strncmp(b.data, "pre:", 4) == 0 && strcmp(b.data + 4, markup_cases[_i].out) == 0,
                  "%s: got '%s'", markup_cases[_i].what, b.data);
    buf_finish(&b);
}
END_TEST

START_TEST(test_markup_limit)
{
    struct buf b;
    buf_init(&b, 8);
    ck_assert_int_eq(encode_markup(&b, S("<<<<<<"), false), -E2BIG);
    buf_finish(&b);
}
END_TEST

static Suite *encode_suite(void)
{
    Suite *s = suite_create("encode");
    TCase *tc = tcase_create("utf8");
    tcase_add_loop_test(tc, test_utf8_valid, 0, (int)(sizeof(valid_utf8) / sizeof(valid_utf8[0])));
    tcase_add_loop_test(tc, test_utf8_invalid, 0,
                        (int)(sizeof(invalid_utf8) / sizeof(invalid_utf8[0])));
    tcase_add_test(tc, test_utf8_len_respected);
    suite_add_tcase(s, tc);

    tc = tcase_create("json_string");
    tcase_add_test(tc, test_json_string_valid_kept);
    tcase_add_test(tc, test_json_string_latin1);
    suite_add_tcase(s, tc);

    tc = tcase_create("base64");
    tcase_add_test(tc, test_base64_rfc4648);
    tcase_add_test(tc, test_base64_binary);
    tcase_add_test(tc, test_base64_appends);
    suite_add_tcase(s, tc);

    tc = tcase_create("rfc3339");
    tcase_add_test(tc, test_rfc3339);
    tcase_add_test(tc, test_rfc3339_appends);
    suite_add_tcase(s, tc);

    tc = tcase_create("terminal");
    tcase_add_test(tc, test_terminal_plain);
    tcase_add_test(tc, test_terminal_controls);
    tcase_add_test(tc, test_terminal_backslash);
    tcase_add_test(tc, test_terminal_c1);
    tcase_add_test(tc, test_terminal_utf8);
    tcase_add_test(tc, test_terminal_invalid);
    tcase_add_test(tc, test_terminal_keep_newlines);
    tcase_add_test(tc, test_terminal_appends);
    tcase_add_test(tc, test_terminal_json);
    suite_add_tcase(s, tc);

    tc = tcase_create("markup");
    tcase_add_loop_test(tc, test_markup, 0, sizeof(markup_cases) / sizeof(markup_cases[0]));
    tcase_add_test(tc, test_markup_limit);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(encode_suite());
}
