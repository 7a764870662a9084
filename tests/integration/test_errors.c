/* Errors a person makes when starting webhooky: each ends with exit 2 and one line on stderr
 * that names the problem (plus the usage for command-line mistakes); --help and --version
 * exit 0. */
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define RUN_MS 15000

static char *dir;

static void setup(void)
{
    dir = wh_tmpdir();
}

static void teardown(void)
{
    wh_tmpdir_remove(dir);
}

/* The first line of text (malloc'd, without the newline). */
static char *first_line(const char *text)
{
    const char *nl = strchr(text, '\n');
    char *line = strndup(text, nl ? (size_t)(nl - text) : strlen(text));
    ck_assert_ptr_nonnull(line);
    return line;
}

/* Is there one line holding both a and b? */
static bool line_with(const char *text, const char *a, const char *b)
{
    for (const char *line = text; *line;) {
        const char *nl = strchr(line, '\n');
        size_t n = nl ? (size_t)(nl - line) : strlen(line);
        char *l = strndup(line, n);
        ck_assert_ptr_nonnull(l);
        bool ok = strstr(l, a) && (!b || strstr(l, b));
        free(l);
        if (ok)
            return true;
        line += n + (nl ? 1 : 0);
    }
    return false;
}

static size_t count_lines(const char *text)
{
    size_t n = 0;
    for (const char *p = text; *p; p++)
        n += *p == '\n';
    return n;
}

/* exit 2, nothing on stdout, and `want` in the first stderr line */
static void expect_usage_error(const struct wh_run *r, const char *want, bool with_usage)
{
    char *line = first_line(r->err);
    ck_assert_msg(r->status == 2, "exit status %d, expected 2; stderr: %s", r->status, r->err);
    ck_assert_msg(strstr(line, want) != NULL, "the first stderr line '%s' does not say '%s'", line,
                  want);
    ck_assert_msg(r->out_len == 0, "stdout is not empty: %s", r->out);
    if (with_usage)
        ck_assert_msg(strstr(r->err, "usage: webhooky") != NULL, "no usage after the error: %s",
                      r->err);
    free(line);
}

START_TEST(config_with_unknown_key)
{
    char *cfg = wh_path(dir, "bad.json");
    wh_write_file(cfg, "{\n"
                       "  \"endpoints\": [\n"
                       "    {\"name\": \"a\", \"path\": \"/a\", \"colour\": \"red\"}\n"
                       "  ]\n"
                       "}\n");
    struct wh_run r;
    wh_run(&r, NULL, RUN_MS, "serve", "--listen", "127.0.0.1:0", "--db", ":memory:", "--config",
           cfg, NULL);
    char want[4200];
    snprintf(want, sizeof(want), "%s:3:33: endpoints[0].colour: unknown key", cfg);
    expect_usage_error(&r, want, false);
    ck_assert_msg(count_lines(r.err) == 1, "more than one line on stderr: %s", r.err);
    wh_run_free(&r);

    wh_write_file(cfg, "{\n  \"endpoints\": [],\n  \"extra\": 1\n}\n");
    wh_run(&r, NULL, RUN_MS, "serve", "--listen", "127.0.0.1:0", "--db", ":memory:", "-c", cfg,
           NULL);
    snprintf(want, sizeof(want), "%s:3:", cfg);
    expect_usage_error(&r, want, false);
    ck_assert_msg(line_with(r.err, "extra", "unknown key"), "the key path is not named: %s", r.err);
    wh_run_free(&r);

    /* invalid JSON and a missing file are named too */
    wh_write_file(cfg, "{\n  \"endpoints\": [\n    {\"name\": \"a\",}\n  ]\n}\n");
    wh_run(&r, NULL, RUN_MS, "serve", "--listen", "127.0.0.1:0", "--db", ":memory:", "-c", cfg,
           NULL);
    snprintf(want, sizeof(want), "%s:3:", cfg);
    expect_usage_error(&r, want, false);
    ck_assert_msg(strstr(r.err, "invalid JSON"), "%s", r.err);
    wh_run_free(&r);

    char *missing = wh_path(dir, "missing.json");
    wh_run(&r, NULL, RUN_MS, "serve", "--listen", "127.0.0.1:0", "--db", ":memory:", "-c", missing,
           NULL);
    expect_usage_error(&r, missing, false);
    ck_assert_msg(line_with(r.err, missing, "No such file"), "%s", r.err);
    wh_run_free(&r);
    free(missing);
    free(cfg);
}
END_TEST

START_TEST(port_in_use)
{
    char *db = wh_path(dir, "first.db");
    char *db2 = wh_path(dir, "second.db");
    struct wh_server first;
    wh_server_start(&first, dir, db, (const char *const[]){"--quiet", NULL}, NULL);
    char listen[64];
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", first.port);
    struct wh_run r;
    wh_run(&r, NULL, RUN_MS, "serve", "--listen", listen, "--db", db2, NULL);
    ck_assert_msg(r.status == 2, "exit status %d, expected 2; stderr: %s", r.status, r.err);
    ck_assert_msg(line_with(r.err, "Address already in use", listen),
                  "no line names the address and 'Address already in use': %s", r.err);
    ck_assert_msg(strstr(r.out, "listening on") == NULL, "it claims to listen: %s", r.out);
    wh_run_free(&r);
    /* the first server is unharmed */
    ck_assert_int_gt(wh_post(&first, "/still", "here"), 0);
    wh_server_finish(&first);
    free(db);
    free(db2);
}
END_TEST

START_TEST(unwritable_database)
{
    static const char *const paths[] = {"/etc/hostname/x.db", "/proc/nope/x.db"};
    for (size_t i = 0; i < 2; i++) {
        struct wh_run r;
        wh_run(&r, NULL, RUN_MS, "serve", "--listen", "127.0.0.1:0", "--db", paths[i], NULL);
        ck_assert_msg(r.status == 2, "--db %s: exit status %d, expected 2; stderr: %s", paths[i],
                      r.status, r.err);
        ck_assert_msg(line_with(r.err, paths[i], "database"),
                      "--db %s: no line names the database: %s", paths[i], r.err);
        ck_assert_msg(count_lines(r.err) == 1, "--db %s: not one line: %s", paths[i], r.err);
        ck_assert_msg(strstr(r.out, "listening on") == NULL, "it claims to listen: %s", r.out);
        wh_run_free(&r);
    }
}
END_TEST

START_TEST(command_line_mistakes)
{
    static const struct {
        const char *args[9];
        const char *want;
    } cases[] = {
        {{"serve", "--listen", "127.0.0.1:0", "--db", ":memory:", "--bogus"},
         "webhooky serve: unknown option '--bogus'"},
        {{"serve", "--listen", "127.0.0.1:0", "--db"},
         "webhooky serve: option '--db' needs a value"},
        {{"serve", "--listen", "127.0.0.1:0", "-d"}, "option '-d' needs a value"},
        {{"serve", "--listen", "127.0.0.1:0", "--db", ":memory:", "--quiet=yes"},
         "option '--quiet' takes no value"},
        {{"serve", "--listen", "127.0.0.1:0", "--db", ":memory:", "--max-body", "0"}, "--max-body"},
        {{"serve", "--listen", "127.0.0.1:0", "--db", ":memory:", "--max-body", "lots"},
         "--max-body"},
        {{"serve", "--listen", "127.0.0.1:0", "--db", ":memory:", "--threads", "0"}, "--threads"},
        {{"serve", "--listen", "127.0.0.1:0", "--db", ":memory:", "--timeout", "abc"}, "--timeout"},
        {{"serve", "--listen", "127.0.0.1:0", "--db", ":memory:", "--log-format", "xml"},
         "--log-format"},
        {{"serve", "--listen", "127.0.0.1:0", "--db", ":memory:", "extra"},
         "unexpected argument 'extra'"},
        {{"frobnicate"}, "webhooky: unknown command 'frobnicate'"},
        {{"--frobnicate"}, "webhooky: unknown option '--frobnicate'"},
        {{"deliveries", "list", "--bogus"}, "webhooky deliveries: unknown option '--bogus'"},
        {{"deliveries", "frob"}, "unknown subcommand 'frob'"},
        {{"deliveries"}, "missing subcommand"},
        {{"deliveries", "show"}, "show needs a delivery id"},
        {{"deliveries", "list", "--limit", "-3"}, "--limit"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *const *a = cases[i].args;
        struct wh_run r;
        wh_runv(&r, NULL, RUN_MS, a);
        char *line = first_line(r.err);
        ck_assert_msg(r.status == 2, "case %zu (%s ...): exit %d, expected 2; stderr: %s", i, a[0],
                      r.status, r.err);
        ck_assert_msg(strstr(line, cases[i].want), "case %zu: first line '%s' lacks '%s'", i, line,
                      cases[i].want);
        ck_assert_msg(strstr(r.err, "usage: webhooky"), "case %zu: no usage: %s", i, r.err);
        ck_assert_msg(r.out_len == 0, "case %zu: stdout not empty: %s", i, r.out);
        free(line);
        wh_run_free(&r);
    }
    /* no command at all */
    struct wh_run r;
    wh_runv(&r, NULL, RUN_MS, (const char *const[]){NULL});
    expect_usage_error(&r, "missing command", true);
    wh_run_free(&r);
}
END_TEST

START_TEST(help_and_version)
{
    static const struct {
        const char *args[4];
        const char *want;
    } cases[] = {
        {{"--help"}, "usage: webhooky [--help] [--version] COMMAND"},
        {{"-h"}, "usage: webhooky [--help] [--version] COMMAND"},
        {{"help", "serve"}, "usage: webhooky serve [OPTIONS]"},
        {{"serve", "--help"}, "usage: webhooky serve [OPTIONS]"},
        {{"deliveries", "--help"}, "usage: webhooky deliveries list"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct wh_run r;
        wh_runv(&r, NULL, RUN_MS, cases[i].args);
        ck_assert_msg(r.status == 0, "%s: exit %d", cases[i].args[0], r.status);
        ck_assert_msg(strncmp(r.out, cases[i].want, strlen(cases[i].want)) == 0,
                      "%s %s: stdout starts '%.60s'", cases[i].args[0],
                      cases[i].args[1] ? cases[i].args[1] : "", r.out);
        ck_assert_msg(r.err_len == 0, "stderr not empty: %s", r.err);
        wh_run_free(&r);
    }
    struct wh_run r;
    wh_run(&r, NULL, RUN_MS, "--version", NULL);
    ck_assert_int_eq(r.status, 0);
    regex_t re;
    ck_assert_int_eq(
        regcomp(&re, "^webhooky [0-9]+\\.[0-9]+\\.[0-9]+\n$", REG_EXTENDED | REG_NOSUB), 0);
    ck_assert_msg(regexec(&re, r.out, 0, NULL, 0) == 0, "--version printed '%s'", r.out);
    regfree(&re);
    wh_run_free(&r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("errors");
    TCase *tc = wh_tcase("errors", 40);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, config_with_unknown_key);
    tcase_add_test(tc, port_in_use);
    tcase_add_test(tc, unwritable_database);
    tcase_add_test(tc, command_line_mistakes);
    tcase_add_test(tc, help_and_version);
    suite_add_tcase(s, tc);
    return wh_run_suite(s);
}
