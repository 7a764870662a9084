/* webhooky schema validate / check: output lines, exit codes, stdin, --ref-map, usage errors,
 * the error cap, terminal safety and a pattern that hits its match limit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define RUN_MS 30000

static char *dir;

static const char schema_text[] =
    "{\"$schema\": \"http://json-schema.org/draft-07/schema#\",\n"
    " \"type\": \"object\",\n"
    " \"required\": [\"eventName\", \"record\"],\n"
    " \"properties\": {\n"
    "  \"eventName\": {\"const\": \"person.created\"},\n"
    "  \"record\": {\"type\": \"object\", \"required\": [\"id\"],\n"
    "             \"properties\": {\"id\": {\"type\": \"string\", \"format\": \"uuid\"}}},\n"
    "  \"tags\": {\"type\": \"array\", \"items\": {\"type\": \"string\"}}}}\n";

static const char good_text[] = "{\"eventName\": \"person.created\", \"record\": {\"id\": "
                                "\"a3c1e6b2-7d4f-4e8a-b1c9-0f2d3e4a5b6c\"}}";

static char *file(const char *name, const char *text)
{
    char *p = wh_path(dir, name);
    wh_write_file(p, text);
    return p;
}

static void setup(void)
{
    dir = wh_tmpdir();
}

static void teardown(void)
{
    wh_tmpdir_remove(dir);
}

static void expect_status(const struct wh_run *r, int status, const char *what)
{
    ck_assert_msg(r->status == status, "%s: exit %d, expected %d\nstdout: %s\nstderr: %s", what,
                  r->status, status, r->out, r->err);
}

static void expect_out(const struct wh_run *r, const char *needle)
{
    ck_assert_msg(strstr(r->out, needle), "stdout should contain '%s':\n%s", needle, r->out);
}

static void expect_err(const struct wh_run *r, const char *needle)
{
    ck_assert_msg(strstr(r->err, needle), "stderr should contain '%s':\n%s", needle, r->err);
}

START_TEST(validate_prints_verdicts_and_errors)
{
    char *schema = file("s.json", schema_text);
    char *good = file("good.json", good_text);
    char *bad = file("bad.json", "{\"eventName\": \"person.updated\", \"record\": {\"id\": \"42\"},"
                                 " \"tags\": [\"a\", 1]}");
    char *missing = file("missing.json", "{\"record\": {\"id\": "
                                         "\"a3c1e6b2-7d4f-4e8a-b1c9-0f2d3e4a5b6c\"}}");
    struct wh_run r;
    wh_run(&r, NULL, RUN_MS, "schema", "validate", schema, good, NULL);
    expect_status(&r, 0, "one valid instance");
    char want[4096];
    snprintf(want, sizeof(want), "%s: valid\n", good);
    ck_assert_str_eq(r.out, want);
    wh_run_free(&r);

    wh_run(&r, NULL, RUN_MS, "schema", "validate", schema, good, bad, missing, NULL);
    expect_status(&r, 1, "an invalid instance");
    snprintf(want, sizeof(want),
             "%s: valid\n"
             "%s: invalid\n"
             "  /eventName: must be \"person.created\", not \"person.updated\"\n"
             "  /record/id: must be a UUID such as 123e4567-e89b-12d3-a456-426614174000 (format "
             "\"uuid\"), not \"42\"\n"
             "  /tags/1: must be a string, not an integer\n"
             "%s: invalid\n"
             "  (root): required property \"eventName\" is missing\n",
             good, bad, missing);
    ck_assert_str_eq(r.out, want);
    ck_assert_str_eq(r.err, "");
    wh_run_free(&r);
    free(schema);
    free(good);
    free(bad);
    free(missing);
}
END_TEST

START_TEST(validate_not_json_stdin_and_unreadable)
{
    char *schema = file("s.json", schema_text);
    char *broken = file("broken.json", "{\"eventName\": \n  \"x\",,}");
    char *good = file("good.json", good_text);
    struct wh_run r;
    wh_run(&r, NULL, RUN_MS, "schema", "validate", schema, broken, NULL);
    expect_status(&r, 1, "not JSON");
    expect_out(&r, ": invalid\n  (not JSON) line 2, column 7: unexpected ','");
    wh_run_free(&r);

    /* '-' reads stdin (here /dev/null: empty, so not JSON) */
    wh_run(&r, NULL, RUN_MS, "schema", "validate", schema, "-", NULL);
    expect_status(&r, 1, "empty stdin");
    expect_out(&r, "-: invalid\n  (not JSON) line 1, column 1: unexpected end of input");
    wh_run_free(&r);

    char *nofile = wh_path(dir, "nope.json");
    wh_run(&r, NULL, RUN_MS, "schema", "validate", schema, nofile, good, NULL);
    expect_status(&r, 2, "an unreadable instance");
    expect_err(&r, "cannot open");
    expect_err(&r, "nope.json");
    expect_out(&r, ": valid\n"); /* the others are still checked */
    wh_run_free(&r);
    free(schema);
    free(broken);
    free(good);
    free(nofile);
}
END_TEST

START_TEST(broken_schema_is_exit_2_with_reason)
{
    char *good = file("good.json", good_text);
    char *syntax = file("syntax.json", "{\n  \"type\": \"object\",\n  \"required\": [\"a\",]\n}\n");
    char *regex =
        file("regex.json", "{\n  \"properties\": {\n    \"a\": {\"pattern\": \"(\"}\n  }\n}\n");
    char *dangling = file("dangling.json", "{\"$ref\": \"common.json#/definitions/id\"}");
    struct wh_run r;
    wh_run(&r, NULL, RUN_MS, "schema", "validate", syntax, good, NULL);
    expect_status(&r, 2, "schema syntax error");
    expect_err(&r, "syntax.json:3:");
    ck_assert_str_eq(r.out, "");
    wh_run_free(&r);

    wh_run(&r, NULL, RUN_MS, "schema", "validate", regex, good, NULL);
    expect_status(&r, 2, "bad pattern");
    expect_err(&r, "regex.json:3:11: #/properties/a/pattern: invalid regular expression");
    wh_run_free(&r);

    wh_run(&r, NULL, RUN_MS, "schema", "validate", dangling, good, NULL);
    expect_status(&r, 2, "dangling ref");
    expect_err(&r, "dangling.json");
    expect_err(&r, "cannot resolve $ref \"common.json#/definitions/id\"");
    wh_run_free(&r);
    free(good);
    free(syntax);
    free(regex);
    free(dangling);
}
END_TEST

START_TEST(ref_map_and_relative_refs)
{
    char *good = file("good.json", "{\"id\": \"a3c1e6b2-7d4f-4e8a-b1c9-0f2d3e4a5b6c\"}");
    char *bad = file("bad.json", "{\"id\": \"x\"}");
    char *sub = wh_path(dir, "defs");
    char cmd[4096];
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", sub);
    ck_assert_int_eq(system(cmd), 0);
    char *defs = wh_path(sub, "common.json");
    wh_write_file(defs,
                  "{\"definitions\": {\"id\": {\"type\": \"string\", \"format\": \"uuid\"}}}");
    char *remote =
        file("remote.json", "{\"properties\": {\"id\": {\"$ref\": "
                            "\"https://schemas.example/common.json#/definitions/id\"}}}");
    char *relative = file("relative.json", "{\"properties\": {\"id\": {\"$ref\": "
                                           "\"defs/common.json#/definitions/id\"}}}");
    char map[4200];
    snprintf(map, sizeof(map), "https://schemas.example/=%s", sub);
    struct wh_run r;
    wh_run(&r, NULL, RUN_MS, "schema", "validate", remote, good, bad, "--ref-map", map, NULL);
    expect_status(&r, 1, "ref-map");
    expect_out(&r, "good.json: valid\n");
    expect_out(&r, "bad.json: invalid\n  /id: must be a UUID");
    wh_run_free(&r);

    wh_run(&r, NULL, RUN_MS, "schema", "validate", remote, good, NULL);
    expect_status(&r, 2, "no ref-map");
    expect_err(&r, "no ref-map prefix matches");
    wh_run_free(&r);

    wh_run(&r, NULL, RUN_MS, "schema", "validate", relative, good, NULL);
    expect_status(&r, 0, "a relative ref to a sibling folder");
    wh_run_free(&r);

    wh_run(&r, NULL, RUN_MS, "schema", "check", remote, "-r", map, NULL);
    expect_status(&r, 0, "check with a ref-map");
    expect_out(&r, "remote.json: valid\n");
    wh_run_free(&r);
    free(good);
    free(bad);
    free(sub);
    free(defs);
    free(remote);
    free(relative);
}
END_TEST

START_TEST(check_against_the_metaschema)
{
    char *ok = file("ok.json", schema_text);
    char *bad =
        file("bad.json", "{\"type\": \"strng\", \"properties\": {\"a\": {\"minLength\": -1}}}");
    char *dangling = file("dangling.json", "{\"items\": {\"$ref\": \"#/definitions/nope\"}}");
    char *notjson = file("notjson.json", "{");
    struct wh_run r;
    wh_run(&r, NULL, RUN_MS, "schema", "check", ok, NULL);
    expect_status(&r, 0, "a good schema");
    expect_out(&r, "ok.json: valid\n");
    wh_run_free(&r);

    wh_run(&r, NULL, RUN_MS, "schema", "check", bad, NULL);
    expect_status(&r, 1, "a schema the meta-schema rejects");
    expect_out(&r, "bad.json: invalid\n  /type: must match at least one schema in anyOf");
    expect_out(&r, "  /properties/a/minLength: must be at least 0, not -1\n");
    wh_run_free(&r);

    wh_run(&r, NULL, RUN_MS, "schema", "check", dangling, NULL);
    expect_status(&r, 1, "a dangling ref");
    expect_out(&r, "dangling.json: invalid\n");
    expect_out(&r, "cannot resolve $ref \"#/definitions/nope\"");
    wh_run_free(&r);

    wh_run(&r, NULL, RUN_MS, "schema", "check", notjson, NULL);
    expect_status(&r, 2, "not JSON");
    expect_err(&r, "notjson.json:1:");
    wh_run_free(&r);
    free(ok);
    free(bad);
    free(dangling);
    free(notjson);
}
END_TEST

START_TEST(usage_errors_and_help)
{
    char *schema = file("s.json", schema_text);
    static const struct {
        const char *args[6];
        const char *msg;
    } cases[] = {
        {{"schema", NULL}, "missing subcommand"},
        {{"schema", "frobnicate", NULL}, "unknown subcommand 'frobnicate'"},
        {{"schema", "validate", NULL}, "validate needs a SCHEMA"},
        {{"schema", "validate", "S", NULL}, "needs an INSTANCE"},
        {{"schema", "validate", "S", "-", "-", NULL}, "only once"},
        {{"schema", "check", NULL}, "check needs a SCHEMA"},
        {{"schema", "check", "a", "b", NULL}, "check takes one SCHEMA"},
        {{"schema", "validate", "S", "x", "--ref-map", "nothing"},
         "--ref-map wants URI_PREFIX=DIR"},
        {{"schema", "validate", "--bogus", NULL}, "unknown option '--bogus'"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *args[8];
        size_t n = 0;
        for (; n < 6 && cases[i].args[n]; n++)
            args[n] = strcmp(cases[i].args[n], "S") == 0 ? schema : cases[i].args[n];
        args[n] = NULL;
        struct wh_run r;
        wh_runv(&r, NULL, RUN_MS, args);
        expect_status(&r, 2, cases[i].msg);
        expect_err(&r, cases[i].msg);
        expect_err(&r, "usage: webhooky schema validate");
        wh_run_free(&r);
    }
    struct wh_run r;
    wh_run(&r, NULL, RUN_MS, "schema", "--help", NULL);
    expect_status(&r, 0, "--help");
    expect_out(&r, "usage: webhooky schema validate SCHEMA INSTANCE... [--ref-map URI_PREFIX=DIR]");
    wh_run_free(&r);
    wh_run(&r, NULL, RUN_MS, "help", "schema", NULL);
    expect_status(&r, 0, "help schema");
    expect_out(&r, "webhooky schema check SCHEMA");
    wh_run_free(&r);
    wh_run(&r, NULL, RUN_MS, "--help", NULL);
    expect_out(&r, "schema ");
    wh_run_free(&r);
    free(schema);
}
END_TEST

START_TEST(error_cap_and_terminal_safety)
{
    char *schema = file("s.json", "{\"items\": {\"type\": \"string\"}, \"contains\": {\"const\": "
                                  "\"ok\"}}");
    char text[1024];
    size_t n = (size_t)snprintf(text, sizeof(text), "[");
    for (int i = 0; i < 70; i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n, "%s%d", i ? "," : "", i);
    snprintf(text + n, sizeof(text) - n, "]");
    char *many = file("many.json", text);
    char *evil = file("evil.json", "[\"\\u001b[31mred\\u0007\", \"\\u009b2J\"]");
    struct wh_run r;
    wh_run(&r, NULL, RUN_MS, "schema", "validate", schema, many, NULL);
    expect_status(&r, 1, "70 errors");
    size_t lines = 0;
    for (const char *p = r.out; (p = strstr(p, "\n  /")); p++)
        lines++;
    ck_assert_uint_eq(lines, 50);
    expect_out(&r, "  ... more errors; only the first 50 are shown\n");
    wh_run_free(&r);

    wh_run(&r, NULL, RUN_MS, "schema", "validate", schema, evil, NULL);
    expect_status(&r, 1, "control characters in the instance");
    for (size_t i = 0; i < r.out_len; i++) {
        unsigned char c = (unsigned char)r.out[i];
        ck_assert_msg(c == '\n' || (c >= 0x20 && c != 0x7f), "raw byte 0x%02x in the output", c);
        ck_assert_msg(!(c == 0xC2 && i + 1 < r.out_len && (unsigned char)r.out[i + 1] < 0xA0),
                      "a raw C1 control in the output");
    }
    expect_out(&r, "\\u001b[31mred\\u0007");
    wh_run_free(&r);
    free(schema);
    free(many);
    free(evil);
}
END_TEST

START_TEST(hostile_pattern_is_exit_3)
{
    char *schema = file("s.json", "{\"properties\": {\"s\": {\"pattern\": \"^(a+)+$\"}}}");
    char *inst = file("i.json", "{\"s\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!\"}");
    struct wh_run r;
    int64_t t0 = wh_now_ms();
    wh_run(&r, NULL, RUN_MS, "schema", "validate", schema, inst, NULL);
    expect_status(&r, 3, "a pattern that hits its match limit");
    expect_out(&r, "i.json: error: /s: the pattern \"^(a+)+$\" gave up: it hit its match limit");
    ck_assert_int_lt(wh_now_ms() - t0, 10000);
    wh_run_free(&r);
    free(schema);
    free(inst);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("schema");
    TCase *tc = wh_tcase("schema", 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, validate_prints_verdicts_and_errors);
    tcase_add_test(tc, validate_not_json_stdin_and_unreadable);
    tcase_add_test(tc, broken_schema_is_exit_2_with_reason);
    tcase_add_test(tc, ref_map_and_relative_refs);
    tcase_add_test(tc, check_against_the_metaschema);
    tcase_add_test(tc, usage_errors_and_help);
    tcase_add_test(tc, error_cap_and_terminal_safety);
    tcase_add_test(tc, hostile_pattern_is_exit_3);
    suite_add_tcase(s, tc);
    return wh_run_suite(s);
}
