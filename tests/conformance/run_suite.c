/* run_suite: the official JSON-Schema-Test-Suite (draft-07) against the validator.
 *
 * usage: run_suite [SUITE_DIR] [--verbose]
 *
 * SUITE_DIR is where Debian's json-schema-test-suite package puts the suite
 * (/usr/share/json-schema-test-suite by default). Every case of the files tests/draft7/NAME.json
 * must pass, with refRemote's http://localhost:1234/ read from SUITE_DIR/remotes; so must the cases
 * of tests/draft7/optional/format/ for the formats the validator asserts. A few other optional
 * files are run for information only. Each case is checked twice: on the jansson value and on
 * its JSON text (the validator's own parser); both must give the expected verdict.
 *
 * Prints the pass and fail counts per file and every failing case; exits 0 when all required
 * and format cases pass, 1 otherwise (also when the suite is not installed). */
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "jsonschema.h"

/* The formats asserted, by their file names under optional/format/. */
static const char *const format_files[] = {
    "date-time", "date", "time",          "email", "hostname", "ipv4",
    "ipv6",      "uri",  "uri-reference", "uuid",  "regex",    "json-pointer",
};

/* Run, reported, never failing the test: other optional behaviour. */
static const char *const info_files[] = {"bignum", "zeroTerminatedFloats", "ecmascript-regex",
                                         "content"};

/* Format cases allowed to fail, each with the reason (none at present). */
static const struct {
    const char *file, *description, *why;
} exceptions[] = {{NULL, NULL, NULL}};

static bool verbose;

struct tally {
    int passed, failed, excused;
};

static bool excused(const char *file, const char *description)
{
    for (size_t i = 0; i < sizeof(exceptions) / sizeof(exceptions[0]); i++)
        if (exceptions[i].file && strcmp(exceptions[i].file, file) == 0 &&
            strcmp(exceptions[i].description, description) == 0)
            return true;
    return false;
}

/* -1 error, 0 valid, 1 invalid (errors in e) */
static int verdict_json(const jsonschema *s, json_t *data, struct jsonschema_errors *e)
{
    int r = jsonschema_validate(s, data, e);
    return r < 0 ? -1 : r;
}

static int verdict_text(const jsonschema *s, json_t *data, struct jsonschema_errors *e)
{
    char *text = json_dumps(data, JSON_ENCODE_ANY | JSON_COMPACT);
    if (!text)
        return -1;
    int r = jsonschema_validate_text(s, text, strlen(text), e);
    free(text);
    return r < 0 ? -1 : r;
}

static void run_file(const char *path, const char *name, const struct jsonschema_options *opts,
                     struct tally *t)
{
    struct wh_error err = {0};
    json_t *groups;
    struct tally ft = {0};
    if (jsonschema_read_file(path, &groups, &err) < 0 || !json_is_array(groups)) {
        printf("%s: cannot load: %s\n", name, err.msg);
        t->failed++;
        return;
    }
    struct jsonschema_errors e;
    jsonschema_errors_init(&e, 0);
    size_t gi;
    json_t *g;
    json_array_foreach(groups, gi, g)
    {
        const char *gdesc = json_string_value(json_object_get(g, "description"));
        jsonschema *s = NULL;
        int cr = jsonschema_compile(json_object_get(g, "schema"), opts, &s, &err);
        size_t ti;
        json_t *tc;
        json_array_foreach(json_object_get(g, "tests"), ti, tc)
        {
            const char *tdesc = json_string_value(json_object_get(tc, "description"));
            bool want_valid = json_is_true(json_object_get(tc, "valid"));
            json_t *data = json_object_get(tc, "data");
            char why[600] = "";
            bool ok;
            if (cr < 0) {
                ok = false;
                snprintf(why, sizeof(why), "schema does not compile: %s", err.msg);
            } else {
                int a = verdict_json(s, data, &e);
                if (a < 0)
                    snprintf(why, sizeof(why), "error: %s", e.err.msg);
                else if (a == 1 && e.n)
                    snprintf(why, sizeof(why), "%s: %s", e.v[0].pointer, e.v[0].message);
                int b = verdict_text(s, data, &e);
                ok = a == (want_valid ? 0 : 1) && b == a;
                if (a >= 0 && b != a)
                    snprintf(why + strlen(why), sizeof(why) - strlen(why),
                             " (the JSON text gave %s)",
                             b < 0 ? "an error"
                             : b   ? "invalid"
                                   : "valid");
            }
            if (ok) {
                ft.passed++;
                if (verbose)
                    printf("  ok    %s / %s\n", gdesc, tdesc);
            } else if (excused(name, tdesc)) {
                ft.excused++;
                printf("  EXCUSED %s / %s\n", gdesc, tdesc);
            } else {
                ft.failed++;
                printf("  FAIL  %s / %s: expected %s%s%s\n", gdesc, tdesc,
                       want_valid ? "valid" : "invalid", why[0] ? "; " : "", why);
            }
        }
        jsonschema_destroy(s);
    }
    jsonschema_errors_finish(&e);
    json_decref(groups);
    printf("%-44s %3d/%-3d passed%s\n", name, ft.passed, ft.passed + ft.failed + ft.excused,
           ft.excused ? " (some excused)" : "");
    t->passed += ft.passed;
    t->failed += ft.failed;
    t->excused += ft.excused;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int main(int argc, char **argv)
{
    const char *suite = "/usr/share/json-schema-test-suite";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--verbose") == 0)
            verbose = true;
        else
            suite = argv[i];
    }
    char tests[4096], remotes[4096], path[8192], name[512];
    if (snprintf(tests, sizeof(tests), "%s/tests/draft7", suite) >= (int)sizeof(tests) ||
        snprintf(remotes, sizeof(remotes), "%s/remotes", suite) >= (int)sizeof(remotes)) {
        printf("suite path too long\n");
        return 1;
    }
    if (!is_dir(tests) || !is_dir(remotes)) {
        printf("the JSON Schema Test Suite is not installed: %s is missing.\n"
               "Install it: apt-get install json-schema-test-suite (scripts/install-deps does)\n",
               tests);
        return 1;
    }
    struct jsonschema_ref_map map = {.prefix = "http://localhost:1234/", .dir = remotes};
    struct jsonschema_options opts = {.ref_map = &map, .n_ref_map = 1};

    /* required: every file of tests/draft7 */
    DIR *d = opendir(tests);
    char *files[256];
    size_t n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)) && n < 256) {
        size_t l = strlen(de->d_name);
        if (l > 5 && strcmp(de->d_name + l - 5, ".json") == 0)
            files[n++] = strdup(de->d_name);
    }
    if (d)
        closedir(d);
    qsort(files, n, sizeof(files[0]), cmp_names);
    struct tally req = {0}, fmt = {0}, info = {0};
    printf("== required: tests/draft7/*.json\n");
    for (size_t i = 0; i < n; i++) {
        if (snprintf(path, sizeof(path), "%s/%s", tests, files[i]) < (int)sizeof(path) &&
            snprintf(name, sizeof(name), "draft7/%s", files[i]) < (int)sizeof(name))
            run_file(path, name, &opts, &req);
        free(files[i]);
    }
    printf("\n== formats: tests/draft7/optional/format/\n");
    for (size_t i = 0; i < sizeof(format_files) / sizeof(format_files[0]); i++) {
        if (snprintf(path, sizeof(path), "%s/optional/format/%s.json", tests, format_files[i]) >=
            (int)sizeof(path))
            continue;
        snprintf(name, sizeof(name), "draft7/optional/format/%s.json", format_files[i]);
        struct stat st;
        if (stat(path, &st) != 0) {
            printf("%-44s (no such file in this suite version)\n", name);
            continue;
        }
        run_file(path, name, &opts, &fmt);
    }
    printf("\n== other optional files (for information; they do not fail the test)\n");
    for (size_t i = 0; i < sizeof(info_files) / sizeof(info_files[0]); i++) {
        if (snprintf(path, sizeof(path), "%s/optional/%s.json", tests, info_files[i]) >=
            (int)sizeof(path))
            continue;
        snprintf(name, sizeof(name), "draft7/optional/%s.json", info_files[i]);
        struct stat st;
        if (stat(path, &st) == 0)
            run_file(path, name, &opts, &info);
    }
    printf("\nrequired: %d/%d passed\n", req.passed, req.passed + req.failed);
    printf("formats:  %d/%d passed%s\n", fmt.passed, fmt.passed + fmt.failed + fmt.excused,
           fmt.excused ? " (the rest excused, see above)" : "");
    printf("optional (information only): %d/%d passed\n", info.passed, info.passed + info.failed);
    int failed = req.failed + fmt.failed;
    printf("%d passed, %d failed\n", req.passed + fmt.passed, failed);
    return failed ? 1 : 0;
}
