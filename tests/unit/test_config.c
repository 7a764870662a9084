/* Unit tests for config: loading, validation messages with FILE:LINE:COLUMN and key path,
 * and endpoint matching. */
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "unit.h"

#define SRC "cfg.json"

static struct config *load_ok(const char *text)
{
    struct config *c = NULL;
    struct wh_error err = {0};
    int r = config_load_text(text, strlen(text), SRC, &c, &err);
    ck_assert_msg(r == 0, "config should load, got %d: %s", r, err.msg);
    ck_assert_ptr_nonnull(c);
    return c;
}

/* Loading must fail with -EINVAL and a message that starts with `prefix` ("FILE:L:C: path: ")
 * and contains `needle` (when non-NULL). */
static void expect_error(const char *text, const char *prefix, const char *needle)
{
    struct config *c = (struct config *)0x1;
    struct wh_error err = {0};
    int r = config_load_text(text, strlen(text), SRC, &c, &err);
    ck_assert_msg(r == -EINVAL, "expected -EINVAL for %s, got %d (%s)", text, r, err.msg);
    ck_assert_int_eq(err.code, -EINVAL);
    ck_assert_msg(c == (struct config *)0x1, "*ret must not be written on failure");
    ck_assert_msg(strncmp(err.msg, prefix, strlen(prefix)) == 0,
                  "message '%s' should start with '%s'", err.msg, prefix);
    if (needle)
        ck_assert_msg(strstr(err.msg, needle) != NULL, "message '%s' should contain '%s'", err.msg,
                      needle);
}

static const char valid_text[] =
    "{\n"
    "  \"endpoints\": [\n"
    "    {\"name\": \"github\", \"path\": \"/hooks/github\", \"description\": \"GitHub\"},\n"
    "    {\"name\": \"all-hooks\", \"path\": \"/hooks/*\"},\n"
    "    {\"name\": \"deep\", \"path\": \"/hooks/deep/*\"},\n"
    "    {\"name\": \"root.x_1\", \"path\": \"/x\"}\n"
    "  ]\n"
    "}\n";

START_TEST(test_valid)
{
    struct config *c = load_ok(valid_text);
    ck_assert_str_eq(c->source, SRC);
    ck_assert_uint_eq(c->n_endpoints, 4);
    ck_assert_ptr_nonnull(c->root);

    const struct endpoint_config *e = &c->endpoints[0];
    ck_assert_str_eq(e->name, "github");
    ck_assert_str_eq(e->path, "/hooks/github");
    ck_assert(!e->prefix);
    ck_assert_uint_eq(e->match_len, strlen("/hooks/github"));
    ck_assert_pstr_eq(e->description, "GitHub");
    ck_assert(json_is_object(e->json));
    ck_assert_str_eq(json_string_value(json_object_get(e->json, "name")), "github");

    e = &c->endpoints[1];
    ck_assert_str_eq(e->name, "all-hooks");
    ck_assert_str_eq(e->path, "/hooks/*");
    ck_assert(e->prefix);
    ck_assert_uint_eq(e->match_len, strlen("/hooks/"));
    ck_assert_ptr_null(e->description);
    ck_assert_str_eq(json_string_value(json_object_get(e->json, "path")), "/hooks/*");

    ck_assert_str_eq(c->endpoints[2].name, "deep");
    ck_assert(c->endpoints[2].prefix);
    ck_assert_uint_eq(c->endpoints[2].match_len, strlen("/hooks/deep/"));
    ck_assert_str_eq(c->endpoints[3].name, "root.x_1");
    ck_assert(!c->endpoints[3].prefix);
    config_destroy(c);
    config_destroy(NULL);
}
END_TEST

START_TEST(test_valid_minimal)
{
    struct config *c = load_ok("{}");
    ck_assert_uint_eq(c->n_endpoints, 0);
    ck_assert_ptr_null(config_match(c, "/anything"));
    config_destroy(c);
    c = load_ok(" {\"endpoints\": []} ");
    ck_assert_uint_eq(c->n_endpoints, 0);
    config_destroy(c);

    struct wh_error err = {0};
    c = NULL;
    ck_assert_int_eq(config_create_empty(&c, &err), 0);
    ck_assert_ptr_nonnull(c);
    ck_assert_uint_eq(c->n_endpoints, 0);
    ck_assert_ptr_null(config_match(c, "/"));
    config_destroy(c);
}
END_TEST

START_TEST(test_valid_names)
{
    char name64[65];
    memset(name64, 'n', 64);
    name64[64] = '\0';
    char text[512];
    snprintf(text, sizeof(text),
             "{\"endpoints\": [{\"name\": \"A\", \"path\": \"/1\"},"
             " {\"name\": \"0\", \"path\": \"/2\"},"
             " {\"name\": \"a.b_c-D9\", \"path\": \"/3\"},"
             " {\"name\": \"9-\", \"path\": \"/4\"},"
             " {\"name\": \"%s\", \"path\": \"/5\"}]}",
             name64);
    struct config *c = load_ok(text);
    ck_assert_uint_eq(c->n_endpoints, 5);
    ck_assert_str_eq(c->endpoints[4].name, name64);
    config_destroy(c);
}
END_TEST

START_TEST(test_match_precedence)
{
    struct config *c = load_ok(valid_text);
    const struct endpoint_config *e;
    /* exact beats prefix */
    e = config_match(c, "/hooks/github");
    ck_assert_ptr_nonnull(e);
    ck_assert_str_eq(e->name, "github");
    /* the exact path's extensions fall to the prefix */
    e = config_match(c, "/hooks/github/x");
    ck_assert_ptr_nonnull(e);
    ck_assert_str_eq(e->name, "all-hooks");
    e = config_match(c, "/hooks/githubx");
    ck_assert_ptr_nonnull(e);
    ck_assert_str_eq(e->name, "all-hooks");
    e = config_match(c, "/hooks/");
    ck_assert_ptr_nonnull(e);
    ck_assert_str_eq(e->name, "all-hooks");
    /* longest prefix wins */
    e = config_match(c, "/hooks/deep/1");
    ck_assert_ptr_nonnull(e);
    ck_assert_str_eq(e->name, "deep");
    e = config_match(c, "/hooks/deep/");
    ck_assert_ptr_nonnull(e);
    ck_assert_str_eq(e->name, "deep");
    e = config_match(c, "/hooks/deep");
    ck_assert_ptr_nonnull(e);
    ck_assert_str_eq(e->name, "all-hooks");
    e = config_match(c, "/x");
    ck_assert_ptr_nonnull(e);
    ck_assert_str_eq(e->name, "root.x_1");
    /* catch-all */
    ck_assert_ptr_null(config_match(c, "/hooks"));
    ck_assert_ptr_null(config_match(c, "/x/"));
    ck_assert_ptr_null(config_match(c, "/X"));
    ck_assert_ptr_null(config_match(c, "/y"));
    ck_assert_ptr_null(config_match(c, "/"));
    ck_assert_ptr_null(config_match(c, ""));
    /* the result is borrowed from the config */
    ck_assert_ptr_eq(config_match(c, "/hooks/deep/z"), &c->endpoints[2]);
    config_destroy(c);
}
END_TEST

START_TEST(test_match_order_independent)
{
    /* the exact endpoint comes last and the shorter prefix after the longer one */
    struct config *c = load_ok("{\"endpoints\": ["
                               "{\"name\": \"long\", \"path\": \"/a/b/*\"},"
                               "{\"name\": \"short\", \"path\": \"/a/*\"},"
                               "{\"name\": \"all\", \"path\": \"/*\"},"
                               "{\"name\": \"exact\", \"path\": \"/a/b/c\"}]}");
    ck_assert_str_eq(config_match(c, "/a/b/c")->name, "exact");
    ck_assert_str_eq(config_match(c, "/a/b/cd")->name, "long");
    ck_assert_str_eq(config_match(c, "/a/b/")->name, "long");
    ck_assert_str_eq(config_match(c, "/a/b")->name, "short");
    ck_assert_str_eq(config_match(c, "/a/")->name, "short");
    ck_assert_str_eq(config_match(c, "/a")->name, "all");
    ck_assert_str_eq(config_match(c, "/")->name, "all");
    ck_assert_ptr_null(config_match(c, ""));
    config_destroy(c);
}
END_TEST

START_TEST(test_err_unknown_top_key)
{
    expect_error("{\n"
                 "  \"endpoints\": [],\n"
                 "  \"bogus\": 1\n"
                 "}",
                 SRC ":3:3: bogus: ", "unknown key");
    expect_error("{\"bogus\": 1}", SRC ":1:2: bogus: ", "endpoints");
    /* a key with a '/' and one written with a \u escape are found and shown decoded */
    expect_error("{\"a/b\": 1}", SRC ":1:2: a/b: ", "unknown key");
    expect_error("{\n  \"endpoints\": [],\n  \"caf\\u00e9\": 1}",
                 SRC ":3:3: caf\xC3\xA9: ", "unknown key");
}
END_TEST

START_TEST(test_err_unknown_endpoint_key)
{
    expect_error("{\n"
                 "  \"endpoints\": [\n"
                 "    {\"name\": \"a\", \"path\": \"/a\"},\n"
                 "    {\"name\": \"b\",\n"
                 "     \"path\": \"/b\", \"colour\": \"red\"}\n"
                 "  ]\n"
                 "}",
                 SRC ":5:20: endpoints[1].colour: ", "unknown key");
    /* the message lists the known keys */
    struct config *c = NULL;
    struct wh_error err = {0};
    const char *text = "{\"endpoints\": [{\"name\": \"a\", \"path\": \"/a\", \"x\": 1}]}";
    ck_assert_int_eq(config_load_text(text, strlen(text), SRC, &c, &err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "endpoints[0].x"));
    ck_assert_ptr_nonnull(strstr(err.msg, "name"));
    ck_assert_ptr_nonnull(strstr(err.msg, "path"));
    ck_assert_ptr_nonnull(strstr(err.msg, "description"));
}
END_TEST

START_TEST(test_err_wrong_type)
{
    expect_error("{\"endpoints\": [{\"name\": 5, \"path\": \"/a\"}]}",
                 SRC ":1:17: endpoints[0].name: ", "string");
    expect_error("{\"endpoints\": [{\"name\": \"a\", \"path\": null}]}",
                 SRC ":1:30: endpoints[0].path: ", "string");
    expect_error("{\"endpoints\": [{\"name\": \"a\", \"path\": \"/a\", \"description\": 3}]}",
                 SRC ":1:44: endpoints[0].description: ", "string");
    expect_error("{\"endpoints\": {}}", SRC ":1:2: endpoints: ", "array");
    expect_error("{\"endpoints\": [1]}", SRC ":1:16: endpoints[0]: ", "object");
    expect_error("{\"endpoints\": [{\"name\": \"a\", \"path\": \"/a\"},\n  \"b\"]}",
                 SRC ":2:3: endpoints[1]: ", "object");
    expect_error("[]", SRC ":1:1: (top level): ", "object");
    expect_error("\n  [1]", SRC ":2:3: (top level): ", "object");
}
END_TEST

START_TEST(test_err_missing)
{
    expect_error("{\"endpoints\": [\n"
                 "  {\"path\": \"/a\"}\n"
                 "]}",
                 SRC ":2:3: endpoints[0]: ", "name");
    expect_error("{\"endpoints\": [\n"
                 "  {\"name\": \"a\", \"path\": \"/a\"},\n"
                 "  {\"name\": \"b\"}\n"
                 "]}",
                 SRC ":3:3: endpoints[1]: ", "path");
}
END_TEST

START_TEST(test_err_bad_name)
{
    static const char *const bad[] = {
        "",    "-a",
        ".a",  "_a",
        "a b", "a/b",
        "a*",  "caf\xC3\xA9",
        "a:b", "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn", /* 65 */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char text[256];
        snprintf(text, sizeof(text), "{\"endpoints\": [\n {\"path\": \"/a\", \"name\": \"%s\"}]}",
                 bad[i]);
        expect_error(text, SRC ":2:17: endpoints[0].name: ", NULL);
    }
}
END_TEST

START_TEST(test_err_bad_path)
{
    static const char *const bad[] = {"hooks", "", "*", "hooks/*"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char text[256];
        snprintf(text, sizeof(text), "{\"endpoints\": [\n {\"name\": \"a\", \"path\": \"%s\"}]}",
                 bad[i]);
        expect_error(text, SRC ":2:16: endpoints[0].path: ", "/");
    }
    /* a multi-byte description before the key: the column counts characters */
    expect_error("{\"endpoints\": [{\"description\": \"h\xC3\xA9llo w\xC3\xB6rld \xE2\x82\xAC\","
                 " \"name\": \"x\", \"path\": \"nope\"}]}",
                 SRC ":1:62: endpoints[0].path: ", NULL);
}
END_TEST

START_TEST(test_err_reserved_path)
{
    static const char *const bad[] = {"/_webhooky", "/_webhooky/", "/_webhooky/deliveries",
                                      "/_webhooky/*"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char text[256];
        snprintf(text, sizeof(text), "{\"endpoints\": [\n {\"name\": \"a\", \"path\": \"%s\"}]}",
                 bad[i]);
        expect_error(text, SRC ":2:16: endpoints[0].path: ", "_webhooky");
    }
    /* neighbours of the reserved prefix are ordinary paths */
    struct config *c = load_ok("{\"endpoints\": [{\"name\": \"a\", \"path\": \"/_webhook\"},"
                               "{\"name\": \"b\", \"path\": \"/x/_webhooky/\"}]}");
    ck_assert_uint_eq(c->n_endpoints, 2);
    config_destroy(c);
}
END_TEST

START_TEST(test_reserved_is_a_directory)
{
    /* The admin API owns /_webhooky and /_webhooky/... (the server routes exactly those, and
     * the message says "paths under /_webhooky/"); /_webhooks2 or /_webhookyard are not
     * under it and are ordinary endpoint paths. */
    struct config *c = load_ok("{\"endpoints\": [{\"name\": \"a\", \"path\": \"/_webhookyard\"},"
                               "{\"name\": \"b\", \"path\": \"/_webhooky2/*\"}]}");
    ck_assert_uint_eq(c->n_endpoints, 2);
    ck_assert_str_eq(config_match(c, "/_webhookyard")->name, "a");
    config_destroy(c);
}
END_TEST

START_TEST(test_err_star)
{
    static const char *const bad[] = {"/a*/b", "/*/x", "/a**", "/*a"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char text[256];
        snprintf(text, sizeof(text), "{\"endpoints\": [\n {\"name\": \"a\", \"path\": \"%s\"}]}",
                 bad[i]);
        expect_error(text, SRC ":2:16: endpoints[0].path: ", "*");
    }
}
END_TEST

START_TEST(test_err_duplicates)
{
    expect_error("{\"endpoints\": [\n"
                 "  {\"name\": \"a\", \"path\": \"/a\"},\n"
                 "  {\"name\": \"b\", \"path\": \"/b\"},\n"
                 "  {\"path\": \"/c\", \"name\": \"a\"}\n"
                 "]}",
                 SRC ":4:18: endpoints[2].name: ", "duplicate");
    expect_error("{\"endpoints\": [\n"
                 "  {\"name\": \"a\", \"path\": \"/hooks/*\"},\n"
                 "  {\"name\": \"b\", \"path\": \"/hooks/*\"}\n"
                 "]}",
                 SRC ":3:17: endpoints[1].path: ", "duplicate");
    /* names are compared exactly: case differs, no duplicate */
    struct config *c = load_ok("{\"endpoints\": [{\"name\": \"a\", \"path\": \"/a\"},"
                               "{\"name\": \"A\", \"path\": \"/A\"}]}");
    config_destroy(c);
}
END_TEST

/* jansson's own position for a text it rejects */
static void jansson_pos(const char *text, int *line, int *col)
{
    json_error_t jerr;
    json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    ck_assert_ptr_null(j);
    *line = jerr.line;
    *col = jerr.column;
}

START_TEST(test_err_invalid_json)
{
    const char *text = "{\n"
                       "  \"endpoints\": [\n"
                       "    {\"name\": \"a\",, \"path\": \"/a\"}\n"
                       "  ]\n"
                       "}";
    int line, col;
    jansson_pos(text, &line, &col);
    ck_assert_int_eq(line, 3);
    ck_assert_int_eq(col, 18);
    expect_error(text, SRC ":3:18: ", "invalid JSON");

    text = "{\n  \"a\": tru\n}";
    jansson_pos(text, &line, &col);
    char prefix[64];
    snprintf(prefix, sizeof(prefix), SRC ":%d:%d: ", line, col);
    ck_assert_int_eq(line, 2);
    expect_error(text, prefix, "invalid JSON");

    expect_error("", SRC ":1:", "invalid JSON");
    expect_error("{\"endpoints\": [", SRC ":1:", "invalid JSON");
}
END_TEST

START_TEST(test_message_id)
{
    static const char ok[] = "{\"endpoints\": [{\"name\": \"a\", \"path\": \"/a\", "
                             "\"message_id\": \"X-Id\"}, {\"name\": \"b\", \"path\": \"/b\", "
                             "\"message_id\": \"/data/a~1b\"}]}";
    struct config *c = load_ok(ok);
    ck_assert_str_eq(c->endpoints[0].message_id, "X-Id");
    ck_assert_str_eq(c->endpoints[1].message_id, "/data/a~1b");
    config_destroy(c);
    expect_error("{\"endpoints\": [{\"name\": \"a\", \"path\": \"/a\", \"message_id\": \"a b\"}]}",
                 SRC ":1:44: endpoints[0].message_id: ", "neither a header name nor a JSON pointer");
    expect_error("{\"endpoints\": [{\"name\": \"a\", \"path\": \"/a\", \"message_id\": \"/x~2\"}]}",
                 SRC ":1:44: endpoints[0].message_id: ", NULL);
    expect_error("{\"endpoints\": [{\"name\": \"a\", \"path\": \"/a\", \"message_id\": 5}]}",
                 SRC ":1:44: endpoints[0].message_id: ", "must be a string");
}
END_TEST

START_TEST(test_err_duplicate_json_keys)
{
    const char *text = "{\n"
                       "  \"endpoints\": [],\n"
                       "  \"endpoints\": []\n"
                       "}";
    int line, col;
    jansson_pos(text, &line, &col);
    ck_assert_int_eq(line, 3);
    char prefix[64];
    snprintf(prefix, sizeof(prefix), SRC ":%d:%d: ", line, col);
    expect_error(text, prefix, "duplicate");

    text = "{\"endpoints\": [{\"name\": \"a\", \"path\": \"/a\", \"name\": \"b\"}]}";
    jansson_pos(text, &line, &col);
    snprintf(prefix, sizeof(prefix), SRC ":%d:%d: ", line, col);
    expect_error(text, prefix, "duplicate");
}
END_TEST

static char dir[64];

static void make_dir(void)
{
    unit_mkdtemp(dir, sizeof(dir));
}

static void remove_dir(void)
{
    unit_rmtree(dir);
}

START_TEST(test_load_file)
{
    char file[128];
    snprintf(file, sizeof(file), "%s/webhooky.json", dir);
    FILE *f = fopen(file, "w");
    ck_assert_ptr_nonnull(f);
    fputs(valid_text, f);
    fclose(f);

    struct config *c = NULL;
    struct wh_error err = {0};
    ck_assert_int_eq(config_load_file(file, &c, &err), 0);
    ck_assert_ptr_nonnull(c);
    ck_assert_str_eq(c->source, file);
    ck_assert_uint_eq(c->n_endpoints, 4);
    ck_assert_str_eq(config_match(c, "/hooks/github")->name, "github");
    config_destroy(c);

    /* messages name the file */
    f = fopen(file, "w");
    ck_assert_ptr_nonnull(f);
    fputs("{\n \"endpoints\": [{\"name\": \"a\", \"path\": \"a\"}]\n}\n", f);
    fclose(f);
    c = NULL;
    ck_assert_int_eq(config_load_file(file, &c, &err), -EINVAL);
    ck_assert_ptr_null(c);
    char prefix[192];
    snprintf(prefix, sizeof(prefix), "%s:2:30: endpoints[0].path: ", file);
    ck_assert_msg(strncmp(err.msg, prefix, strlen(prefix)) == 0, "'%s' should start with '%s'",
                  err.msg, prefix);

    /* an empty file is invalid JSON, not a crash */
    f = fopen(file, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    ck_assert_int_eq(config_load_file(file, &c, &err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "invalid JSON"));

    unlink(file);
}
END_TEST

START_TEST(test_load_file_missing)
{
    struct config *c = NULL;
    struct wh_error err = {0};
    const char *file = "/nonexistent-webhooky-dir/none.json";
    ck_assert_int_eq(config_load_file(file, &c, &err), -ENOENT);
    ck_assert_int_eq(err.code, -ENOENT);
    ck_assert_ptr_null(c);
    ck_assert_ptr_nonnull(strstr(err.msg, file));
}
END_TEST

static Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("valid");
    tcase_add_test(tc, test_valid);
    tcase_add_test(tc, test_valid_minimal);
    tcase_add_test(tc, test_valid_names);
    tcase_add_test(tc, test_match_precedence);
    tcase_add_test(tc, test_match_order_independent);
    suite_add_tcase(s, tc);

    tc = tcase_create("errors");
    tcase_add_test(tc, test_err_unknown_top_key);
    tcase_add_test(tc, test_err_unknown_endpoint_key);
    tcase_add_test(tc, test_err_wrong_type);
    tcase_add_test(tc, test_err_missing);
    tcase_add_test(tc, test_err_bad_name);
    tcase_add_test(tc, test_err_bad_path);
    tcase_add_test(tc, test_err_reserved_path);
    tcase_add_test(tc, test_reserved_is_a_directory);
    tcase_add_test(tc, test_err_star);
    tcase_add_test(tc, test_err_duplicates);
    tcase_add_test(tc, test_err_invalid_json);
    tcase_add_test(tc, test_err_duplicate_json_keys);
    tcase_add_test(tc, test_message_id);
    suite_add_tcase(s, tc);

    tc = tcase_create("file");
    tcase_add_unchecked_fixture(tc, make_dir, remove_dir);
    tcase_add_test(tc, test_load_file);
    tcase_add_test(tc, test_load_file_missing);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(config_suite());
}
