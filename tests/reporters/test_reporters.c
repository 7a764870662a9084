/* The reporters on a fixed results model: each format's output equals its golden file
 * (tests/reporters/golden/), JUnit validates against the Jenkins schema with xmllint, TAP
 * passes `prove` when everything passed and fails it when not, JSON validates against
 * reporters/results.schema.json, HTML never carries captured markup unescaped, and the console's
 * live output (progress line, colours) follows the terminal and NO_COLOR.
 *
 * The model holds hostile captured data on purpose: exec output with <script>, "]]>", control
 * bytes and invalid UTF-8, deliveries whose path, headers and body carry markup.
 *
 * WEBHOOKY_UPDATE_GOLDEN=1 rewrites the golden files from the current output (check them by
 * eye before committing). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mockserver/buf.h"
#include "mockserver/encode.h"
#include "mockserver/jsonschema.h"
#include "reporters/reporter.h"
#include "reporters/results.h"

#define T0 1767225600000000LL /* 2026-01-01T00:00:00Z */
#define MS 1000LL

static char tmpdir[64];

static const char *source_root(void)
{
    const char *s = getenv("WEBHOOKY_SOURCE_ROOT");
    ck_assert_msg(s && *s, "WEBHOOKY_SOURCE_ROOT is not set (run through meson test)");
    return s;
}

/* The hostile exec output: markup, a CDATA end, ANSI colours, other C0 controls, DEL, a C1
 * control, invalid UTF-8, a fake TAP line. */
static const char hostile_output[] =
    "sending to http://127.0.0.1:1234/hooks/retry\n"
    "<script>alert(1)</script> & ]]> done\n"
    "\x1b[31mred\x1b[0m bell\x07 nul-free \x01\x02 del\x7f c1\xc2\x9b\n"
    "invalid utf-8: \xff\xfe \xc3( tab\tend\r\n"
    "not ok 99 - a fake TAP line\n"
    "# a fake comment\n";

static json_t *header(const char *name, const char *value)
{
    return json_pack("[ss]", name, value);
}

static json_t *delivery(int id, int64_t us, const char *endpoint, const char *path, json_t *headers,
                        const char *body, int status, const char *sig_status,
                        const char *sig_reason)
{
    struct buf when;
    buf_init(&when, 0);
    ck_assert_int_eq(encode_rfc3339_us(&when, us), 0);
    bool valid = sig_status && strcmp(sig_status, "valid") == 0;
    json_t *d =
        json_pack("{s:I, s:s, s:s?, s:s, s:s, s:s, s:o, s:s, s:I, s:b, s:s, s:{s:o},"
                  " s:{s:s?, s:s, s:s, s:o}, s:s, s:s, s:{s:s, s:n, s:[]}}",
                  "id", (json_int_t)id, "received_at", when.data, "endpoint", endpoint, "method",
                  "POST", "path", path, "query", "", "headers", headers, "body", body, "body_size",
                  (json_int_t)strlen(body), "truncated", 0, "remote_addr", "127.0.0.1", "response",
                  "status", status ? json_integer(status) : json_null(), "signature", "scheme",
                  sig_status ? "standard-webhooks" : NULL, "status",
                  sig_status ? sig_status : "not_configured", "reason",
                  sig_reason ? sig_reason : "no signature scheme is configured for this endpoint",
                  "secret_index", valid ? json_integer(0) : json_null(), "message_id", "msg_2Zk",
                  "event", "order.paid", "schema", "status", "not_configured", "schema", "errors");
    buf_finish(&when);
    ck_assert_ptr_nonnull(d);
    return d;
}

static void add_passing(struct results *r)
{
    struct result_scenario *s =
        results_add_scenario(r, "signed delivery arrives", "scenarios/examples/signed.json",
                             "A curl one-liner signed with webhooky sign.");
    ck_assert_ptr_nonnull(s);
    s->started_us = T0;
    s->duration_ms = 812.25;
    int64_t id1 = 1;
    ck_assert_ptr_nonnull(scenario_add_check(s, "exactly 1 delivery to hooks", "wait (step 2)",
                                             CHECK_PASS, "1 delivery arrived", "1", "1", &id1, 1));
    ck_assert_ptr_nonnull(scenario_add_check(s, "signature valid on every delivery",
                                             "expect (step 3)", CHECK_PASS, NULL, NULL, NULL, &id1,
                                             1));
    struct result_check *c = scenario_add_check(s, "Content-Type is JSON", "expect (step 3)",
                                                CHECK_PASS, NULL, NULL, NULL, NULL, 0);
    ck_assert_ptr_nonnull(c);
    c->duration_ms = 0.125;
    ck_assert_ptr_nonnull(scenario_add_output(s, "exec (step 1)", "sh send.sh", 0, "sent\n", 41.5));
    s->deliveries = json_array();
    json_array_append_new(s->deliveries,
                          delivery(1, T0 + 100 * MS, "hooks", "/hooks",
                                   json_pack("[oo]", header("Content-Type", "application/json"),
                                             header("webhook-id", "msg_1")),
                                   "{\"type\":\"order.paid\"}", 200, "valid",
                                   "signature v1 matches secret 1"));
    struct result_message *m = scenario_add_message(s, "hooks", "msg_1", true);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(message_add_attempt(m, 1, T0 + 100 * MS, 200, NULL, 0), 0);
}

static void add_failing(struct results *r)
{
    struct result_scenario *s = results_add_scenario(
        r, "retries with backoff & <b>tags</b>", "scenarios/examples/retry \"1\".json",
        "Answers 503 twice, resets once; the sender must back off. <i>quoted</i> \"x\" & 'y'");
    ck_assert_ptr_nonnull(s);
    s->started_us = T0 + 900 * MS;
    s->duration_ms = 3400;
    int64_t all[] = {2, 3, 4, 5};
    int64_t bad_intervals[] = {4, 3};
    int64_t bad_sig[] = {3};
    ck_assert_ptr_nonnull(scenario_add_check(s, "at least 3 attempts", "expect (step 3)",
                                             CHECK_PASS, "4 attempts", ">= 3", "4", all, 4));
    struct result_check *c =
        scenario_add_check(s, "intervals grow by a factor within [1.5, 3]", "expect (step 3)",
                           CHECK_FAIL, "interval 2 is 250 ms, 0.25 times interval 1 (1000 ms)",
                           "factor in [1.5, 3]", "factors: 0.25, 8.00", bad_intervals, 2);
    ck_assert_ptr_nonnull(c);
    c->duration_ms = 1.5;
    ck_assert_ptr_nonnull(scenario_add_check(
        s, "signature valid on every delivery # standard-webhooks", "expect (step 3)", CHECK_FAIL,
        "delivery #3: signature invalid: <script>alert(1)</script>\nsecond line", "valid",
        "invalid \"x\" & ]]>", bad_sig, 1));
    ck_assert_ptr_nonnull(scenario_add_check(
        s, "no delivery after a 410", "expect (step 3)", CHECK_ERROR,
        "the receiver stopped answering: connection refused", NULL, NULL, NULL, 0));
    ck_assert_ptr_nonnull(scenario_add_check(s, "Retry-After honoured", NULL, CHECK_SKIP,
                                             "no Retry-After was scripted", NULL, NULL, NULL, 0));
    ck_assert_ptr_nonnull(scenario_add_output(s, "exec (step 1)",
                                              "./sender --url \"$WEBHOOKY_URL\" <in.json", 1,
                                              hostile_output, 2500.75));
    ck_assert_ptr_nonnull(scenario_add_output(s, "exec (step 4)", "sleep 100", -1, NULL, 30000));

    s->deliveries = json_array();
    json_array_append_new(s->deliveries,
                          delivery(2, T0 + 1000 * MS, "retry", "/hooks/retry",
                                   json_pack("[ooo]", header("Content-Type", "application/json"),
                                             header("webhook-id", "msg_2Zk"),
                                             header("webhook-timestamp", "1767225601")),
                                   "{\"n\":1}", 503, "valid", "signature v1 matches secret 1"));
    json_array_append_new(
        s->deliveries,
        delivery(3, T0 + 2000 * MS, "retry", "/hooks/retry/<img src=x onerror=alert(1)>",
                 json_pack("[ooo]", header("Content-Type", "application/json"),
                           header("X-Evil\"'", "</td><script>alert(2)</script>"),
                           header("X-Ctl", "a\x1b[2Jb\x7f"
                                           "c")),
                 "{\"note\":\"</pre><script>alert(3)</script>]]>\",\"ctl\":\"\x1b[2J\xc2\x85\"}",
                 503, "invalid", "no signature matches <b>any</b> secret"));
    json_array_append_new(s->deliveries,
                          delivery(4, T0 + 2250 * MS, "retry", "/hooks/retry",
                                   json_pack("[o]", header("Content-Type", "application/json")),
                                   "{\"n\":3}", 0, "valid", "signature v1 matches secret 1"));
    json_t *d5 = delivery(5, T0 + 4250 * MS, "retry", "/hooks/retry",
                          json_pack("[o]", header("Content-Type", "application/octet-stream")), "",
                          200, "valid", "signature v1 matches secret 1");
    json_object_del(d5, "body");
    json_object_set_new(d5, "body_base64", json_string("/+48c2NyaXB0Pg=="));
    json_object_set_new(d5, "body_size", json_integer(10));
    json_array_append_new(s->deliveries, d5);
    json_array_append_new(s->deliveries,
                          delivery(6, T0 + 4500 * MS, NULL, "/other",
                                   json_pack("[o]", header("Content-Type", "text/plain")), "gone?",
                                   410, NULL, NULL));

    struct result_message *m = scenario_add_message(s, "retry", "msg_2Zk<script>", true);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(message_add_attempt(m, 2, T0 + 1000 * MS, 503, NULL, 0), 0);
    ck_assert_int_eq(message_add_attempt(m, 3, T0 + 2000 * MS, 503, NULL, 0), 0);
    ck_assert_int_eq(message_add_attempt(m, 4, T0 + 2250 * MS, 0, "reset", 0), 0);
    ck_assert_int_eq(message_add_attempt(m, 5, T0 + 4250 * MS, 200, NULL, 150), 0);
    m = scenario_add_message(s, NULL, "sha256:9f86d081", false);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(message_add_attempt(m, 6, T0 + 4500 * MS, 410, NULL, 0), 0);
}

static void add_broken(struct results *r)
{
    struct result_scenario *s =
        results_add_scenario(r, "broken scenario", "scenarios/broken.json", NULL);
    ck_assert_ptr_nonnull(s);
    s->started_us = T0 + 4300 * MS;
    s->duration_ms = 0.5;
    ck_assert_int_eq(
        scenario_set_error(s, "scenarios/broken.json:3:15: /steps/0: unknown step \"exce\""), 0);
}

/* The model: a passing scenario, a failing one (fail, error, skip, hostile data), and with
 * all_pass false a third that could not run. */
static struct results *model(bool all_pass)
{
    struct results *r = results_create("webhooky run");
    ck_assert_ptr_nonnull(r);
    r->started_us = T0;
    r->duration_ms = 4321.5;
    add_passing(r);
    if (!all_pass) {
        add_failing(r);
        add_broken(r);
    }
    return r;
}

/* ---- files and processes ---- */

static char *read_all(const char *path, size_t *ret_len)
{
    struct buf b;
    buf_init(&b, 0);
    int r = buf_read_file(&b, path);
    ck_assert_msg(r == 0, "cannot read %s: %s", path, strerror(-r));
    char *s = buf_steal(&b, ret_len);
    if (!s) {
        s = strdup("");
        if (ret_len)
            *ret_len = 0;
    }
    ck_assert_ptr_nonnull(s);
    return s;
}

static void write_all(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "cannot write %s: %s", path, strerror(errno));
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
}

/* Render r with reporter spec NAME into tmpdir/file; the output (malloc'd). */
static char *render(const char *name, const struct results *r, const char *file, size_t *ret_len)
{
    char path[256], spec[300];
    snprintf(path, sizeof(path), "%s/%s", tmpdir, file);
    snprintf(spec, sizeof(spec), "%s=%s", name, path);
    reporter *rp = NULL;
    struct wh_error err = {0};
    ck_assert_msg(reporter_create(spec, &rp, &err) == 0, "%s: %s", spec, err.msg);
    ck_assert_str_eq(reporter_name(rp), name);
    ck_assert_msg(reporter_finish(rp, r, &err) == 0, "%s: %s", spec, err.msg);
    reporter_destroy(rp);
    return read_all(path, ret_len);
}

/* Run argv with stdout and stderr into *ret_out (malloc'd); the exit status (-1: signal). */
static int run(const char *const *argv, char **ret_out)
{
    char out_path[256];
    snprintf(out_path, sizeof(out_path), "%s/run.out", tmpdir);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
            _exit(127);
        char *args[16] = {0};
        for (size_t i = 0; i < 15 && argv[i]; i++)
            memcpy(&args[i], &argv[i], sizeof(args[i])); /* execvp's argv is not const */
        execvp(args[0], args);
        _exit(127);
    }
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    *ret_out = read_all(out_path, NULL);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static const char *tool(const char *env, const char *package)
{
    const char *p = getenv(env);
    ck_assert_msg(p && *p,
                  "%s was not found when the build was configured; scripts/install-deps "
                  "installs %s",
                  env, package);
    return p;
}

/* Compare out with the golden file, or rewrite it with WEBHOOKY_UPDATE_GOLDEN=1. */
static void golden(const char *file, const char *out, size_t len)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/tests/reporters/golden/%s", source_root(), file);
    const char *update = getenv("WEBHOOKY_UPDATE_GOLDEN");
    if (update && strcmp(update, "1") == 0) {
        write_all(path, out, len);
        return;
    }
    size_t glen;
    char *want = read_all(path, &glen);
    if (glen != len || memcmp(want, out, len) != 0) {
        char got[256];
        snprintf(got, sizeof(got), "%s/%s.got", tmpdir, file);
        write_all(got, out, len);
        size_t i = 0;
        while (i < len && i < glen && want[i] == out[i])
            i++;
        free(want);
        ck_abort_msg("%s differs from the golden file at byte %zu (output kept in %s; "
                     "WEBHOOKY_UPDATE_GOLDEN=1 rewrites it)",
                     file, i, got);
    }
    free(want);
}

static void setup(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/webhooky-rep-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    unsetenv("TAP_VERSION");
    unsetenv("NO_COLOR");
}

static void teardown(void)
{
    char *argv[] = {"rm", "-rf", tmpdir, NULL};
    pid_t pid = fork();
    if (pid == 0) {
        execvp(argv[0], argv);
        _exit(127);
    }
    if (pid > 0)
        waitpid(pid, NULL, 0);
}

/* ---- the model itself ---- */

START_TEST(test_totals)
{
    struct results *r = model(false);
    struct results_totals t;
    results_totals(r, &t);
    ck_assert_uint_eq(t.scenarios, 3);
    ck_assert_uint_eq(t.scenarios_failed, 2);
    ck_assert_uint_eq(t.checks, 8);
    ck_assert_uint_eq(t.passed, 4);
    ck_assert_uint_eq(t.failed, 2);
    ck_assert_uint_eq(t.errors, 1);
    ck_assert_uint_eq(t.skipped, 1);
    ck_assert(!scenario_failed(&r->scenarios[0]));
    ck_assert(scenario_failed(&r->scenarios[1]));
    ck_assert(scenario_failed(&r->scenarios[2]));
    ck_assert_str_eq(check_status_name(CHECK_SKIP), "skip");
    ck_assert_int_eq(r->scenarios[1].checks[1].delivery_ids[1], 3);
    results_destroy(r);
    results_destroy(NULL);
}
END_TEST

START_TEST(test_create_errors)
{
    reporter *rp = NULL;
    struct wh_error err = {0};
    ck_assert_int_eq(reporter_create("xml=out.xml", &rp, &err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "unknown reporter 'xml'"));
    ck_assert_ptr_nonnull(strstr(err.msg, reporter_names()));
    ck_assert_int_eq(reporter_create("junit=", &rp, &err), -EINVAL);
    ck_assert_int_eq(reporter_create("junit=/nonexistent/dir/report.xml", &rp, &err), -ENOENT);
    ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent/dir/report.xml"));
    ck_assert_int_eq(reporter_create_stream("nope", stdout, false, &rp, &err), -EINVAL);
    /* a bad path fails at once, before anything runs; a good one is created at once */
    char path[256];
    snprintf(path, sizeof(path), "%s/early.xml", tmpdir);
    char spec[300];
    snprintf(spec, sizeof(spec), "junit=%s", path);
    ck_assert_int_eq(reporter_create(spec, &rp, &err), 0);
    ck_assert_int_eq(access(path, F_OK), 0);
    reporter_destroy(rp);
    reporter_destroy(NULL);
}
END_TEST

/* ---- each format ---- */

START_TEST(test_console)
{
    struct results *r = model(false);
    size_t len;
    char *out = render("console", r, "console.txt", &len);
    golden("console.txt", out, len);
    ck_assert_ptr_null(strchr(out, '\033')); /* not a terminal: no colours */
    ck_assert_ptr_null(strchr(out, '\r'));
    ck_assert_ptr_nonnull(strstr(out, "\\e[31mred\\e[0m")); /* escaped, not interpreted */
    free(out);
    results_destroy(r);
}
END_TEST

/* The live hooks on a pretend terminal: progress lines rewritten in place, colours unless
 * NO_COLOR; finish then adds only failures and the summary. */
static char *live_console(bool tty)
{
    struct results *r = model(false);
    char path[256];
    snprintf(path, sizeof(path), "%s/live.txt", tmpdir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    reporter *rp = NULL;
    struct wh_error err = {0};
    ck_assert_int_eq(reporter_create_stream("console", f, tty, &rp, &err), 0);
    for (size_t i = 0; i < r->n_scenarios; i++) {
        const struct result_scenario *s = &r->scenarios[i];
        reporter_scenario_start(rp, s);
        reporter_progress(rp, s, "wait (step 2)", 0, 3, 9.5);
        reporter_progress(rp, s, "wait (step 2)", 2, 3, 4.25);
        for (size_t j = 0; j < s->n_checks; j++)
            reporter_check(rp, s, &s->checks[j]);
        reporter_scenario_end(rp, s);
    }
    ck_assert_int_eq(reporter_finish(rp, r, &err), 0);
    reporter_destroy(rp);
    fclose(f);
    results_destroy(r);
    return read_all(path, NULL);
}

START_TEST(test_console_live_terminal)
{
    char *out = live_console(true);
    ck_assert_ptr_nonnull(
        strstr(out, "\r\033[K  \033[2mwait (step 2): 2/3 deliveries, 4.2 s left"));
    ck_assert_ptr_nonnull(strstr(out, "\033[32m\xe2\x9c\x93\033[0m exactly 1 delivery"));
    ck_assert_ptr_nonnull(strstr(out, "\033[31m\xe2\x9c\x97\033[0m intervals grow"));
    /* each progress line is wiped before the next regular line */
    ck_assert_ptr_nonnull(strstr(out, "4.2 s left\033[0m\r\033[K  \033[32m"));
    /* the listing is not repeated at the end */
    const char *fail = strstr(out, "Failures");
    ck_assert_ptr_nonnull(fail);
    ck_assert_ptr_null(strstr(fail, "exactly 1 delivery"));
    ck_assert_ptr_nonnull(strstr(out, "FAILED\033[0m: 3 scenarios (2 failed)"));
    free(out);
}
END_TEST

START_TEST(test_console_live_no_color)
{
    setenv("NO_COLOR", "1", 1);
    char *out = live_console(true);
    ck_assert_ptr_nonnull(strstr(out, "\r\033[K  wait (step 2): 2/3 deliveries"));
    ck_assert_ptr_null(strstr(out, "\033[3"));
    ck_assert_ptr_null(strstr(out, "\033[0m"));
    free(out);
    /* an empty NO_COLOR does not count */
    setenv("NO_COLOR", "", 1);
    out = live_console(true);
    ck_assert_ptr_nonnull(strstr(out, "\033[32m"));
    free(out);
}
END_TEST

START_TEST(test_console_live_pipe)
{
    char *out = live_console(false);
    ck_assert_ptr_null(strchr(out, '\033'));
    ck_assert_ptr_null(strchr(out, '\r'));
    ck_assert_ptr_null(strstr(out, "deliveries, ")); /* no progress lines off a terminal */
    ck_assert_ptr_nonnull(strstr(out, "\xe2\x97\x8f signed delivery arrives"));
    free(out);
}
END_TEST

START_TEST(test_junit)
{
    struct results *r = model(false);
    size_t len;
    char *out = render("junit", r, "junit.xml", &len);
    golden("junit.xml", out, len);
    ck_assert_ptr_null(strstr(out, "<script>"));
    ck_assert_ptr_null(strstr(out, "]]>"));
    ck_assert_ptr_nonnull(strstr(out, "&lt;script&gt;alert(1)&lt;/script&gt;"));
    free(out);

    char xsd[4096], xml[256];
    snprintf(xsd, sizeof(xsd), "%s/tests/reporters/jenkins-junit.xsd", source_root());
    snprintf(xml, sizeof(xml), "%s/junit.xml", tmpdir);
    const char *argv[] = {tool("XMLLINT", "libxml2-utils"), "--noout", "--schema", xsd, xml, NULL};
    char *msg;
    int st = run(argv, &msg);
    ck_assert_msg(st == 0, "xmllint: exit %d: %s", st, msg);
    free(msg);

    /* the all-pass model validates too */
    results_destroy(r);
    r = model(true);
    free(render("junit", r, "junit.xml", NULL));
    st = run(argv, &msg);
    ck_assert_msg(st == 0, "xmllint (all pass): exit %d: %s", st, msg);
    free(msg);
    results_destroy(r);
}
END_TEST

START_TEST(test_tap)
{
    struct results *r = model(false);
    size_t len;
    char *out = render("tap", r, "tap.tap", &len);
    golden("tap.tap", out, len);
    ck_assert(strncmp(out, "TAP version 14\n1..3\n", 20) == 0);
    /* the fake TAP line in the sender's output stays a comment */
    ck_assert_ptr_null(strstr(out, "\nnot ok 99"));
    ck_assert_ptr_null(strstr(out, "\n    not ok 99"));
    free(out);
    results_destroy(r);
}
END_TEST

/* prove on the TAP a harness gets: Debian's prove (Test::Harness 3.44) knows TAP 13 and says
 * so with TAP_VERSION=13, which the reporter honours. */
static int prove(bool all_pass, char **ret_out)
{
    setenv("TAP_VERSION", "13", 1);
    struct results *r = model(all_pass);
    char *out = render("tap", r, "report.tap", NULL);
    ck_assert(strncmp(out, "TAP version 13\n", 15) == 0);
    free(out);
    results_destroy(r);
    unsetenv("TAP_VERSION");
    char file[256];
    snprintf(file, sizeof(file), "%s/report.tap", tmpdir);
    const char *argv[] = {tool("PROVE", "perl"), "-e", "cat", file, NULL};
    return run(argv, ret_out);
}

START_TEST(test_tap_prove_pass)
{
    char *msg;
    int st = prove(true, &msg);
    ck_assert_msg(st == 0, "prove: exit %d: %s", st, msg);
    ck_assert_ptr_nonnull(strstr(msg, "Result: PASS"));
    free(msg);
}
END_TEST

START_TEST(test_tap_prove_fail)
{
    char *msg;
    int st = prove(false, &msg);
    ck_assert_msg(st != 0, "prove passed a failing report: %s", msg);
    ck_assert_ptr_nonnull(strstr(msg, "Failed tests:  2-3"));
    ck_assert_ptr_null(strstr(msg, "Parse errors"));
    free(msg);
}
END_TEST

START_TEST(test_json)
{
    struct results *r = model(false);
    size_t len;
    char *out = render("json", r, "results.json", &len);
    golden("results.json", out, len);

    json_error_t jerr;
    json_t *doc = json_loadb(out, len, 0, &jerr);
    ck_assert_msg(doc != NULL, "not JSON: %s", jerr.text);
    char schema_path[4096];
    snprintf(schema_path, sizeof(schema_path), "%s/reporters/results.schema.json", source_root());
    jsonschema *schema = NULL;
    struct wh_error err = {0};
    ck_assert_msg(jsonschema_load_file(schema_path, NULL, &schema, &err) == 0, "%s", err.msg);
    struct jsonschema_errors errs;
    jsonschema_errors_init(&errs, 0);
    int v = jsonschema_validate(schema, doc, &errs);
    ck_assert_msg(v == 0, "not valid against the schema: %s %s", errs.n ? errs.v[0].pointer : "",
                  errs.n ? errs.v[0].message : errs.err.msg);

    /* what a tool reads */
    ck_assert_str_eq(json_string_value(json_object_get(doc, "status")), "fail");
    json_t *s1 = json_array_get(json_object_get(doc, "scenarios"), 1);
    ck_assert_str_eq(json_string_value(json_object_get(s1, "name")),
                     "retries with backoff & <b>tags</b>");
    json_t *att = json_object_get(json_array_get(json_object_get(s1, "messages"), 0), "attempts");
    ck_assert(json_real_value(json_object_get(json_array_get(att, 2), "interval_ms")) == 250.0);
    ck_assert(json_is_null(json_object_get(json_array_get(att, 2), "status")));
    /* the output's invalid UTF-8 byte 0xFF reads as U+00FF */
    const char *o = json_string_value(
        json_object_get(json_array_get(json_object_get(s1, "outputs"), 0), "output"));
    ck_assert_ptr_nonnull(strstr(o, "invalid utf-8: \xc3\xbf\xc3\xbe"));

    /* and a broken document is caught: the schema has teeth */
    json_object_set_new(json_array_get(json_object_get(s1, "checks"), 0), "status",
                        json_string("maybe"));
    ck_assert_int_eq(jsonschema_validate(schema, doc, NULL), 1);

    jsonschema_errors_finish(&errs);
    jsonschema_destroy(schema);
    json_decref(doc);
    free(out);
    results_destroy(r);
}
END_TEST

START_TEST(test_html)
{
    struct results *r = model(false);
    size_t len;
    char *out = render("html", r, "report.html", &len);
    golden("report.html", out, len);
    /* no script at all: captured markup only ever appears escaped */
    ck_assert_ptr_null(strstr(out, "<script"));
    ck_assert_ptr_null(strstr(out, "<img"));
    ck_assert_ptr_null(strstr(out, "<b>"));
    ck_assert_ptr_null(strstr(out, "</pre><script"));
    ck_assert_ptr_nonnull(strstr(out, "&lt;script&gt;alert(1)&lt;/script&gt;"));
    ck_assert_ptr_nonnull(strstr(out, "&lt;/td&gt;&lt;script&gt;alert(2)&lt;/script&gt;"));
    ck_assert_ptr_nonnull(strstr(out, "&lt;/pre&gt;&lt;script&gt;alert(3)&lt;/script&gt;"));
    ck_assert_ptr_nonnull(strstr(out, "/hooks/retry/&lt;img src=x onerror=alert(1)&gt;"));
    ck_assert_ptr_nonnull(strstr(out, "X-Evil&quot;&#39;"));
    ck_assert_ptr_nonnull(strstr(out, "retries with backoff &amp; &lt;b&gt;tags&lt;/b&gt;"));
    /* self-contained: no references out of the file */
    ck_assert_ptr_null(strstr(out, " src=\""));
    ck_assert_ptr_null(strstr(out, "href=\"http"));
    ck_assert_ptr_null(strstr(out, "<link"));
    ck_assert_ptr_null(strstr(out, "url("));
    ck_assert_ptr_nonnull(strstr(out, "Content-Security-Policy"));
    /* no control characters and valid UTF-8 throughout */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)out[i];
        ck_assert_msg(c >= 0x20 || c == '\n' || c == '\t', "control byte 0x%02x at %zu", c, i);
    }
    /* the timeline: four marks for the retried message, coloured by outcome, intervals */
    ck_assert_ptr_nonnull(strstr(out, "class=\"bad\"><title>#2 at +0 ms: 503</title>"));
    ck_assert_ptr_nonnull(strstr(out, "class=\"fault\"><title>#4 at +1.25 s: reset</title>"));
    ck_assert_ptr_nonnull(strstr(
        out, "class=\"ok\"><title>#5 at +3.25 s: 200 after a scripted delay of 150 ms</title>"));
    ck_assert_ptr_nonnull(strstr(out, ">+250 ms</text>"));
    ck_assert_ptr_nonnull(strstr(out, "intervals 1.00 s, 250 ms, 2.00 s"));
    free(out);
    results_destroy(r);
}
END_TEST

/* Every format is well-formed on an empty run and on a scenario with nothing in it. */
START_TEST(test_empty)
{
    static const char *const names[] = {"console", "junit", "tap", "json", "html"};
    struct results *r = results_create(NULL);
    ck_assert_ptr_nonnull(r);
    ck_assert_ptr_nonnull(results_add_scenario(r, NULL, NULL, NULL));
    for (size_t i = 0; i < 5; i++) {
        char file[64];
        snprintf(file, sizeof(file), "empty.%s", names[i]);
        size_t len;
        char *out = render(names[i], r, file, &len);
        ck_assert_uint_gt(len, 0);
        free(out);
    }
    char xml[256];
    snprintf(xml, sizeof(xml), "%s/empty.junit", tmpdir);
    const char *argv[] = {tool("XMLLINT", "libxml2-utils"), "--noout", xml, NULL};
    char *msg;
    int st = run(argv, &msg);
    ck_assert_msg(st == 0, "xmllint: exit %d: %s", st, msg);
    free(msg);
    results_destroy(r);
}
END_TEST

static Suite *reporters_suite(void)
{
    Suite *s = suite_create("reporters");
    TCase *tc = tcase_create("model");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_totals);
    tcase_add_test(tc, test_create_errors);
    tcase_add_test(tc, test_empty);
    suite_add_tcase(s, tc);

    tc = tcase_create("formats");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_console);
    tcase_add_test(tc, test_console_live_terminal);
    tcase_add_test(tc, test_console_live_no_color);
    tcase_add_test(tc, test_console_live_pipe);
    tcase_add_test(tc, test_junit);
    tcase_add_test(tc, test_tap);
    tcase_add_test(tc, test_tap_prove_pass);
    tcase_add_test(tc, test_tap_prove_fail);
    tcase_add_test(tc, test_json);
    tcase_add_test(tc, test_html);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(reporters_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
