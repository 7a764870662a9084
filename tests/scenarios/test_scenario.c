/* Unit tests for scenario files: every case in errors/ (NAME.json must fail with a message
 * starting with the first line of NAME.err, "case.json:LINE:COL: key.path: why"), and valid
 * files: the shipped suites and examples, steps and labels, --var over the file's vars. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mockserver/buf.h"
#include "scenarios/scenario.h"

static char *read_text(const char *path)
{
    struct buf b;
    buf_init(&b, 0);
    ck_assert_msg(buf_read_file(&b, path) == 0, "cannot read %s", path);
    char *s = buf_steal(&b, NULL);
    return s ? s : strdup("");
}

START_TEST(error_cases)
{
    const char *dir = ERRORS_DIR;
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
            continue;
        char path[1024], errpath[1024];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        snprintf(errpath, sizeof(errpath), "%s/%.*s.err", dir, (int)(len - 5), e->d_name);
        char *text = read_text(path), *want = read_text(errpath);
        want[strcspn(want, "\n")] = '\0';
        struct scenario *s = NULL;
        struct wh_error err = {0};
        int r = scenario_load_text(text, strlen(text), "case.json", NULL, &s, &err);
        ck_assert_msg(r == -EINVAL, "%s: expected -EINVAL, got %d (%s)", e->d_name, r, err.msg);
        ck_assert_ptr_null(s);
        ck_assert_msg(strncmp(err.msg, want, strlen(want)) == 0, "%s:\n  got:  %s\n  want: %s",
                      e->d_name, err.msg, want);
        free(text);
        free(want);
        n++;
    }
    closedir(d);
    ck_assert_int_ge(n, 20);
}
END_TEST

static const char full[] =
    "{\"name\": \"all\", \"description\": \"d\", \"vars\": {\"a\": \"x\", \"n\": 3},\n"
    " \"secret\": \"${vars.a}\", \"event\": \"e.${vars.n}\", \"timeout_ms\": 500,\n"
    " \"mock\": {\"endpoints\": [{\"name\": \"h\", \"path\": \"/h\", \"responses\": "
    "\"503,200\"}],\n"
    "          \"responses\": {\"-\": \"410\"}},\n"
    " \"steps\": [\n"
    "  {\"name\": \"go\", \"exec\": {\"command\": \"echo ${endpoint.h.url} ${mock.url}\","
    "   \"env\": {\"X\": \"${vars.a}\"}, \"exit\": \"any\"}},\n"
    "  {\"http\": {\"url\": \"${endpoint.h.url}\", \"body\": {\"k\": 1}, \"status\": [200, "
    "503]}},\n"
    "  {\"send\": {\"endpoint\": \"h\", \"scheme\": \"twenty\", \"secret\": \"s\", \"retries\": "
    "2}},\n"
    "  {\"respond\": {\"endpoint\": \"h\", \"responses\": [{\"status\": 200}]}},\n"
    "  {\"wait\": {\"where\": {\"endpoint\": \"h\", \"header\": {\"X\": {\"regex\": \"^a\"}},"
    "   \"body\": {\"/k\": {\"equals\": 1}}}, \"count\": 2}},\n"
    "  {\"sleep\": \"2s\"},\n"
    "  {\"expect\": [{\"count\": {\"at_least\": 1, \"at_most\": 3}},\n"
    "              {\"latency_ms\": {\"from\": \"go\", \"max\": 100}, \"name\": \"fast\"}]}\n"
    " ],\n"
    " \"expect\": [{\"order\": [\"a\", \"b\"]}, {\"attempts\": {\"exactly\": 2}}]}\n";

START_TEST(full_scenario)
{
    json_t *vars = json_pack("{ss}", "a", "over");
    struct scenario_load_options o = {.vars = vars};
    struct scenario *s = NULL;
    struct wh_error err = {0};
    int r = scenario_load_text(full, strlen(full), "dir/f.json", &o, &s, &err);
    ck_assert_msg(r == 0, "%s", err.msg);
    ck_assert_str_eq(s->name, "all");
    ck_assert_str_eq(s->description, "d");
    ck_assert_str_eq(s->secret, "over"); /* --var wins */
    ck_assert_str_eq(s->event, "e.3");   /* numbers become text */
    ck_assert_int_eq(s->timeout_ms, 500);
    ck_assert_ptr_nonnull(s->config);
    ck_assert_int_eq(s->config->n_endpoints, 1);
    ck_assert_ptr_null(s->mock_url);
    ck_assert_int_eq(s->n_steps, 8); /* 7 steps and the final expect */
    ck_assert_int_eq(s->steps[0].kind, STEP_EXEC);
    ck_assert_str_eq(s->steps[0].label, "go");
    ck_assert_int_eq(s->steps[1].kind, STEP_HTTP);
    ck_assert_str_eq(s->steps[1].label, "http (step 2)");
    ck_assert_int_eq(s->steps[5].kind, STEP_SLEEP);
    ck_assert_int_eq(s->steps[7].kind, STEP_EXPECT);
    ck_assert_str_eq(s->steps[7].label, "expect (end)");
    ck_assert_int_eq(json_array_size(s->steps[7].spec), 2);
    scenario_destroy(s);
    json_decref(vars);
}
END_TEST

START_TEST(external_mock)
{
    static const char text[] =
        "{\"name\": \"ext\", \"mock\": {\"url\": \"${env.WH_TEST_URL:-http://h:1/}\","
        " \"token\": \"t\", \"responses\": {\"any-name\": \"200\"}},"
        " \"steps\": [{\"exec\": \"curl ${endpoint.whatever.url}\"},"
        "  {\"wait\": {\"where\": {\"endpoint\": \"other\"}}}]}";
    struct scenario *s = NULL;
    struct wh_error err = {0};
    int r = scenario_load_text(text, strlen(text), "x.json", NULL, &s, &err);
    ck_assert_msg(r == 0, "%s", err.msg);
    ck_assert_ptr_null(s->config);
    ck_assert_str_eq(s->mock_url, "http://h:1"); /* no trailing slash */
    ck_assert_str_eq(s->mock_token, "t");
    scenario_destroy(s);
}
END_TEST

/* The shipped suites and examples load (with their required vars given). */
START_TEST(shipped_files)
{
    static const char *const dirs[] = {SOURCE_DIR "/scenarios/conformance/standard-webhooks",
                                       SOURCE_DIR "/scenarios/conformance/twenty",
                                       SOURCE_DIR "/scenarios/examples/curl-signed",
                                       SOURCE_DIR "/scenarios/examples/retrying-sender",
                                       SOURCE_DIR "/scenarios/examples/twenty-sender"};
    json_t *vars =
        json_pack("{ssss}", "trigger", "true", "secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    struct scenario_load_options o = {.vars = vars};
    int n = 0;
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        DIR *d = opendir(dirs[i]);
        ck_assert_msg(d != NULL, "%s", dirs[i]);
        struct dirent *e;
        while ((e = readdir(d))) {
            size_t len = strlen(e->d_name);
            if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
                continue;
            char path[2048];
            snprintf(path, sizeof(path), "%s/%s", dirs[i], e->d_name);
            json_t *doc = json_load_file(path, 0, NULL);
            bool is_scenario = json_object_get(doc, "steps") != NULL;
            json_decref(doc);
            if (!is_scenario) /* a payload file next to a scenario */
                continue;
            struct scenario *s = NULL;
            struct wh_error err = {0};
            ck_assert_msg(scenario_load_file(path, &o, &s, &err) == 0, "%s", err.msg);
            scenario_destroy(s);
            n++;
        }
        closedir(d);
    }
    ck_assert_int_ge(n, 15);
    json_decref(vars);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("scenario");
    TCase *tc = tcase_create("load");
    tcase_add_test(tc, error_cases);
    tcase_add_test(tc, full_scenario);
    tcase_add_test(tc, external_mock);
    tcase_add_test(tc, shipped_files);
    suite_add_tcase(su, tc);
    SRunner *sr = srunner_create(su);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
