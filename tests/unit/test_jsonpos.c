/* Unit tests for jsonpos: locating RFC 6901 pointers in JSON text, and pointer formatting. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "jsonpos.h"
#include "unit.h"

static void expect_at(const char *text, const char *ptr, int line, int col)
{
    int l = -1, c = -1;
    int r = jsonpos_find(text, strlen(text), ptr, &l, &c);
    ck_assert_msg(r == 0, "pointer '%s' not found (r=%d)", ptr, r);
    ck_assert_msg(l == line && c == col, "pointer '%s': got %d:%d, want %d:%d", ptr, l, c, line,
                  col);
}

static void expect_missing(const char *text, size_t len, const char *ptr)
{
    int l = -7, c = -7;
    int r = jsonpos_find(text, len, ptr, &l, &c);
    ck_assert_msg(r == -ENOENT, "pointer '%s' should not be found (r=%d, at %d:%d)", ptr, r, l, c);
}

static const char t1[] = "{\n"
                         "  \"a\": 1,\n"
                         "  \"b\": {\"c\": [10, 20, {\"d\": true}]}\n"
                         "}";

START_TEST(test_find_depth)
{
    expect_at(t1, "", 1, 1);
    expect_at(t1, "/a", 2, 3);
    expect_at(t1, "/b", 3, 3);
    expect_at(t1, "/b/c", 3, 9);
    expect_at(t1, "/b/c/0", 3, 15);
    expect_at(t1, "/b/c/1", 3, 19);
    expect_at(t1, "/b/c/2", 3, 23);
    expect_at(t1, "/b/c/2/d", 3, 24);
}
END_TEST

START_TEST(test_find_missing)
{
    size_t n = strlen(t1);
    expect_missing(t1, n, "/x");
    expect_missing(t1, n, "/b/x");
    expect_missing(t1, n, "/b/c/3");
    expect_missing(t1, n, "/b/c/-");
    expect_missing(t1, n, "/b/c/x");
    expect_missing(t1, n, "/b/c/");
    expect_missing(t1, n, "/a/x");     /* into a number */
    expect_missing(t1, n, "/b/c/0/x"); /* into an array element that is a number */
    expect_missing(t1, n, "/A");       /* keys are case-sensitive */
    expect_missing(t1, n, "a");        /* not a pointer */
    expect_missing("[]", 2, "/0");
    expect_missing("{}", 2, "/a");
    expect_missing("\"str\"", 5, "/a");
}
END_TEST

START_TEST(test_find_document_offset)
{
    /* the empty pointer is the document itself, after leading whitespace */
    expect_at("  \n   {\"a\": 1}", "", 2, 4);
    expect_at("  \n   {\"a\": 1}", "/a", 2, 5);
}
END_TEST

START_TEST(test_find_top_level_not_nested)
{
    static const char t3[] = "{\n"
                             "\t\"x\": {\"k\": 1},\r\n"
                             "\t\"s\": \"\\\"k\\\": 0\",\n"
                             "  \"k\": [ true , \"\xC3\xB6\" ,\n"
                             "   {\"zz\": null}]}";
    /* the nested "k" and the one inside a string value are not the top-level "k" */
    expect_at(t3, "/k", 4, 3);
    expect_at(t3, "/k/0", 4, 10);
    expect_at(t3, "/k/1", 4, 17); /* columns count the o-umlaut as one */
    expect_at(t3, "/k/2", 5, 4);
    expect_at(t3, "/k/2/zz", 5, 5);
    expect_at(t3, "/x/k", 2, 8);
    expect_at(t3, "/s", 3, 2); /* a tab is one column */
}
END_TEST

START_TEST(test_find_arrays)
{
    static const char t5[] = "[[1,2],[3,[4,5]]]";
    expect_at(t5, "/0", 1, 2);
    expect_at(t5, "/0/1", 1, 5);
    expect_at(t5, "/1", 1, 8);
    expect_at(t5, "/1/1", 1, 11);
    expect_at(t5, "/1/1/0", 1, 12);
    expect_missing(t5, strlen(t5), "/2");
    expect_missing(t5, strlen(t5), "/1/1/2");
    /* a numeric segment is a key in an object */
    expect_at("{\"0\": [true]}", "/0", 1, 2);
    expect_at("{\"0\": [true]}", "/0/0", 1, 8);
}
END_TEST

START_TEST(test_find_noncanonical_index)
{
    /* RFC 6901: an array index is "0" or digits without a leading zero; anything else names
     * no element of an array */
    static const char t[] = "[10, 20, 30]";
    size_t n = strlen(t);
    expect_at(t, "/1", 1, 6);
    expect_at(t, "/0", 1, 2);
    expect_missing(t, n, "/01");
    expect_missing(t, n, "/00");
    expect_missing(t, n, "/+1");
    expect_missing(t, n, "/ 1");
    expect_missing(t, n, "/-1");
    expect_missing(t, n, "/1x");
}
END_TEST

START_TEST(test_find_utf8_columns)
{
    /* e-acute, u-umlaut, euro, emoji: each one column */
    static const char t2[] = "{\"\xC3\xA9\": \"\xC3\xBC\xE2\x82\xAC\xF0\x9F\x98\x80\", \"k\": 1}";
    expect_at(t2, "/k", 1, 14);
    expect_at(t2, "/\xC3\xA9", 1, 2);
    static const char multi[] =
        "{\n"
        "  \"\xE2\x82\xAC\xE2\x82\xAC\": {\"\xF0\x9F\x98\x80\": 0, \"n\": 1}\n"
        "}";
    expect_at(multi, "/\xE2\x82\xAC\xE2\x82\xAC", 2, 3);
    expect_at(multi, "/\xE2\x82\xAC\xE2\x82\xAC/\xF0\x9F\x98\x80", 2, 10);
    expect_at(multi, "/\xE2\x82\xAC\xE2\x82\xAC/n", 2, 18);
}
END_TEST

START_TEST(test_find_escaped_keys)
{
    static const char t4[] = "{\"a\\\"b\": 1, \"caf\\u00e9\": 2, \"x/y\": 3, \"m~n\": 4, \"\": 5, "
                             "\"\\u00C9t\\u00e9\": 6, \"\\ud83d\\ude00\": 7}";
    expect_at(t4, "/a\"b", 1, 2);
    expect_at(t4, "/caf\xC3\xA9", 1, 13);
    expect_at(t4, "/x~1y", 1, 29);
    expect_at(t4, "/m~0n", 1, 39);
    expect_at(t4, "/", 1, 49);
    expect_at(t4, "/\xC3\x89t\xC3\xA9", 1, 56);
    expect_at(t4, "/\xF0\x9F\x98\x80", 1, 76); /* a surrogate pair in the key */
    size_t n = strlen(t4);
    expect_missing(t4, n, "/x/y");
    expect_missing(t4, n, "/m~n~");
    expect_missing(t4, n, "/caf\\u00e9"); /* the pointer holds the decoded key */
}
END_TEST

START_TEST(test_find_other_escapes)
{
    static const char t[] = "{\"a\\\\b\": 1, \"t\\tn\\n\": 2, \"sl\\/\": 3, \"k\": 4}";
    expect_at(t, "/a\\b", 1, 2);
    expect_at(t, "/t\tn\n", 1, 13);
    expect_at(t, "/sl~1", 1, 26);
    expect_at(t, "/k", 1, (int)strlen(t) - 6);
}
END_TEST

START_TEST(test_find_malformed)
{
    /* malformed text is "not found", never a crash or a read past len */
    static const char *const bad[] = {
        "",
        "{",
        "{\"a\"",
        "{\"a\":",
        "{\"a\": 1",
        "{\"a\": 1,",
        "{\"a\" 1, \"b\": 2}",
        "{\"x\": \"unterminated, \"b\": 2",
        "{\"x\": [1, 2, \"b\": 2}",
        "{\"x\": \"\\u12\", \"b\": 1}",
        "[1, 2",
        "nope",
        "{\"x\": @, \"b\": 1}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t len = strlen(bad[i]);
        char *copy = malloc(len ? len : 1); /* exact size: ASan sees any overread */
        ck_assert_ptr_nonnull(copy);
        memcpy(copy, bad[i], len);
        expect_missing(copy, len, "/b");
        expect_missing(copy, len, "/a/0");
        expect_missing(copy, len, "/5");
        free(copy);
    }
    /* len, not the NUL, ends the text: "b" is past it */
    static const char cut[] = "{\"a\": 1, \"b\": 2}";
    expect_missing(cut, 8, "/b");
    int l, c;
    ck_assert_int_eq(jsonpos_find(cut, 8, "/a", &l, &c), 0);
    ck_assert_int_eq(l, 1);
    ck_assert_int_eq(c, 2);
}
END_TEST

START_TEST(test_find_deep_nesting)
{
    /* deep nesting in a value that is skipped must not blow the stack */
    size_t depth = 100000;
    size_t len = 2 * depth + 32;
    char *t = malloc(len);
    ck_assert_ptr_nonnull(t);
    size_t p = 0;
    p += (size_t)snprintf(t + p, len - p, "{\"x\": ");
    for (size_t i = 0; i < depth; i++)
        t[p++] = '[';
    for (size_t i = 0; i < depth; i++)
        t[p++] = ']';
    p += (size_t)snprintf(t + p, len - p, ", \"b\": 1}");
    int l, c;
    int r = jsonpos_find(t, p, "/b", &l, &c);
    ck_assert(r == 0 || r == -ENOENT);
    free(t);
}
END_TEST

static void expect_path(const char *ptr, const char *want)
{
    struct buf b;
    buf_init(&b, 0);
    ck_assert_int_eq(jsonpos_pointer_to_path(&b, ptr), 0);
    ck_assert_ptr_nonnull(b.data);
    ck_assert_str_eq(b.data, want);
    buf_finish(&b);
}

START_TEST(test_pointer_to_path)
{
    expect_path("", "(top level)");
    expect_path("/endpoints/1/name", "endpoints[1].name");
    expect_path("/endpoints", "endpoints");
    expect_path("/a/b/c", "a.b.c");
    expect_path("/0", "[0]");
    expect_path("/endpoints/0/x/12", "endpoints[0].x[12]");
    expect_path("/a~1b/c~0d", "a/b.c~d");
    expect_path("/1a", "1a");

    struct buf b;
    buf_init(&b, 0);
    ck_assert_int_eq(buf_append_str(&b, "at "), 0);
    ck_assert_int_eq(jsonpos_pointer_to_path(&b, "/x/3"), 0);
    ck_assert_str_eq(b.data, "at x[3]");
    buf_finish(&b);
}
END_TEST

START_TEST(test_pointer_append)
{
    struct buf p;
    buf_init(&p, 0);
    ck_assert_int_eq(jsonpos_pointer_append(&p, "endpoints"), 0);
    ck_assert_int_eq(jsonpos_pointer_append(&p, "0"), 0);
    ck_assert_str_eq(p.data, "/endpoints/0");
    ck_assert_int_eq(jsonpos_pointer_append(&p, "a/b~c"), 0);
    ck_assert_str_eq(p.data, "/endpoints/0/a~1b~0c");
    ck_assert_int_eq(jsonpos_pointer_append(&p, ""), 0);
    ck_assert_str_eq(p.data, "/endpoints/0/a~1b~0c/");
    buf_finish(&p);

    /* what append builds, find locates */
    static const char t[] = "{\"a/b~c\": {\"~1\": 5}}";
    buf_init(&p, 0);
    ck_assert_int_eq(jsonpos_pointer_append(&p, "a/b~c"), 0);
    ck_assert_int_eq(jsonpos_pointer_append(&p, "~1"), 0);
    ck_assert_str_eq(p.data, "/a~1b~0c/~01");
    expect_at(t, p.data, 1, 12);
    buf_finish(&p);
}
END_TEST

static Suite *jsonpos_suite(void)
{
    Suite *s = suite_create("jsonpos");
    TCase *tc = tcase_create("find");
    tcase_add_test(tc, test_find_depth);
    tcase_add_test(tc, test_find_missing);
    tcase_add_test(tc, test_find_document_offset);
    tcase_add_test(tc, test_find_top_level_not_nested);
    tcase_add_test(tc, test_find_arrays);
    tcase_add_test(tc, test_find_noncanonical_index);
    tcase_add_test(tc, test_find_utf8_columns);
    tcase_add_test(tc, test_find_escaped_keys);
    tcase_add_test(tc, test_find_other_escapes);
    tcase_add_test(tc, test_find_malformed);
    tcase_add_test(tc, test_find_deep_nesting);
    suite_add_tcase(s, tc);

    tc = tcase_create("pointer");
    tcase_add_test(tc, test_pointer_to_path);
    tcase_add_test(tc, test_pointer_append);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(jsonpos_suite());
}
