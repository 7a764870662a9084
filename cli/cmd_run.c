/* webhooky run: run scenario files against the sender under test and report.
 *
 * Also home of what `run` and `conform` share (cli_scenarios_run): finding scenario files,
 * loading them all before anything runs, the reporters, the exit status. */
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "mockserver/buf.h"
#include "reporters/reporter.h"
#include "mockserver/regex.h"
#include "scenarios/runner.h"
#include "scenarios/scenario.h"

static int run(int argc, char **argv);

const struct cli_command cmd_run = {
    .name = "run",
    .summary = "run scenarios: drive a sender, check what arrives, report",
    .usage =
        "usage: webhooky run [OPTIONS] PATH...\n"
        "\n"
        "Run scenario files (or every scenario in folders, recursively, in name order). Each\n"
        "scenario starts its own receiver on 127.0.0.1 with an ephemeral port (or uses the\n"
        "running `webhooky serve` its \"mock\": {\"url\"} names), runs its steps (exec, http,\n"
        "send, respond, wait, sleep, expect) and checks what arrived. The format is in\n"
        "scenarios/README.md. In folders, *.json files without \"steps\" are not scenarios\n"
        "and are passed over (payload files next to a scenario).\n"
        "\n"
        "  webhooky run scenarios/examples\n"
        "  webhooky run --reporter console --reporter junit=report.xml ci/webhooks.json\n"
        "\n"
        "options:\n"
        "  -r, --reporter NAME[=FILE]  a report format, repeatable: console, junit, tap, json,\n"
        "                          html; FILE '-' or none: stdout (default: console)\n"
        "  -j, --jobs N            run N scenarios at once, each with its own receiver and\n"
        "                          database (default 1)\n"
        "  -f, --filter REGEX      only scenarios whose name or file matches (PCRE2)\n"
        "  -v, --var NAME=VALUE    set ${vars.NAME}, over the file's \"vars\"; repeatable\n"
        "      --keep-db DIR       keep each scenario's deliveries in DIR/NN-NAME.db, for\n"
        "                          `webhooky deliveries list --db DIR/NN-NAME.db`\n"
        "      --timeout-scale F   multiply every step timeout by F (slow CI: 2); sleeps only\n"
        "                          grow with it (F > 1), they never shrink\n"
        "  -h, --help              show this help\n"
        "\n"
        "Exit status: 0 every check passed, 1 a check failed (or a scenario could not run),\n"
        "2 a scenario file is broken (FILE:LINE:COLUMN: key.path: why) or the usage is wrong,\n"
        "3 a report could not be written.\n",
    .run = run,
};

void cli_scenarios_init(struct cli_scenarios *a)
{
    memset(a, 0, sizeof(*a));
    a->vars = json_object();
    a->timeout_scale = 1.0;
}

void cli_scenarios_finish(struct cli_scenarios *a)
{
    for (size_t i = 0; i < a->n_reporters; i++)
        reporter_destroy(a->reporters[i]);
    free(a->reporters);
    json_decref(a->vars);
    free(a->paths);
}

/* One option run and conform share; 1 taken, 0 not ours, -1 after a usage error. */
int cli_scenarios_option(const struct cli_command *cmd, struct cli_scenarios *a, int c,
                         const char *arg)
{
    switch (c) {
    case 'r': {
        reporter *rp = NULL;
        struct wh_error err = {0};
        if (reporter_create(arg, &rp, &err) < 0) {
            cli_usage_error(cmd, "--reporter %s: %s", arg, err.msg);
            return -1;
        }
        reporter **bigger = realloc(a->reporters, (a->n_reporters + 1) * sizeof(*bigger));
        if (!bigger) {
            reporter_destroy(rp);
            fprintf(stderr, "webhooky %s: out of memory\n", cmd->name);
            return -1;
        }
        a->reporters = bigger;
        a->reporters[a->n_reporters++] = rp;
        return 1;
    }
    case 'j': {
        int64_t n;
        if (!cli_parse_int(cmd, "--jobs", arg, 1, 64, &n))
            return -1;
        a->jobs = (unsigned)n;
        return 1;
    }
    case 'f':
        a->filter = arg;
        return 1;
    case 'v': {
        const char *eq = strchr(arg, '=');
        if (!eq || eq == arg) {
            cli_usage_error(cmd, "--var must be NAME=VALUE, not '%s'", arg);
            return -1;
        }
        char name[128];
        snprintf(name, sizeof(name), "%.*s", (int)(eq - arg), arg);
        json_t *v = json_string(eq + 1);
        if (!v || !a->vars || json_object_set_new(a->vars, name, v) < 0) {
            cli_usage_error(cmd, "--var %s: the value is not UTF-8", name);
            return -1;
        }
        return 1;
    }
    case 'K':
        a->keep_db = arg;
        return 1;
    case 'T': {
        char *end;
        errno = 0;
        double f = strtod(arg, &end);
        if (errno || *end || !(f >= 0.01 && f <= 1000)) {
            cli_usage_error(cmd, "--timeout-scale must be a number from 0.01 to 1000, not '%s'",
                            arg);
            return -1;
        }
        a->timeout_scale = f;
        return 1;
    }
    default:
        return 0;
    }
}

struct found {
    char **files;
    size_t n;
};

static int add_file(struct found *f, const char *path)
{
    char **bigger = realloc(f->files, (f->n + 1) * sizeof(*bigger));
    if (!bigger)
        return -ENOMEM;
    f->files = bigger;
    if (!(f->files[f->n] = strdup(path)))
        return -ENOMEM;
    f->n++;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool ends_with(const char *s, const char *sfx)
{
    size_t n = strlen(s), m = strlen(sfx);
    return n >= m && strcmp(s + n - m, sfx) == 0;
}

/* Is a .json file in a folder a scenario: a JSON object with "steps" (or broken JSON, which
 * the loader will then report)? */
static bool looks_like_scenario(const char *path)
{
    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr);
    if (!doc)
        return true;
    bool yes = json_is_object(doc) && json_object_get(doc, "steps");
    json_decref(doc);
    return yes;
}

static int walk(struct found *f, const char *dir, int depth)
{
    if (depth > 16)
        return 0;
    DIR *d = opendir(dir);
    if (!d)
        return -errno;
    struct dirent *e;
    struct found here = {0};
    int r = 0;
    while (r == 0 && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[4096];
        size_t dl = strlen(dir);
        while (dl > 1 && dir[dl - 1] == '/')
            dl--;
        snprintf(path, sizeof(path), "%.*s/%s", (int)dl, dir, e->d_name);
        struct stat st;
        if (stat(path, &st) < 0)
            continue;
        if (S_ISDIR(st.st_mode) ||
            (ends_with(e->d_name, ".json") && !ends_with(e->d_name, ".schema.json")))
            r = add_file(&here, path);
    }
    closedir(d);
    if (here.n)
        qsort(here.files, here.n, sizeof(*here.files), cmp_str);
    for (size_t i = 0; i < here.n; i++) {
        struct stat st;
        if (r == 0 && stat(here.files[i], &st) == 0) {
            if (S_ISDIR(st.st_mode))
                r = walk(f, here.files[i], depth + 1);
            else if (looks_like_scenario(here.files[i]))
                r = add_file(f, here.files[i]);
        }
        free(here.files[i]);
    }
    free(here.files);
    return r;
}

int cli_scenarios_run(const struct cli_command *cmd, struct cli_scenarios *a, const char *title)
{
    struct found f = {0};
    struct scenario **sc = NULL;
    size_t n_sc = 0;
    struct results *res = NULL;
    regex *re = NULL;
    int rc = EXIT_USAGE;
    struct wh_error err = {0};
    if (!a->vars) {
        fprintf(stderr, "webhooky %s: out of memory\n", cmd->name);
        return EXIT_RUNTIME;
    }
    if (a->filter && regex_compile(a->filter, strlen(a->filter), &re, &err) < 0) {
        rc = cli_usage_error(cmd, "--filter: %s", err.msg);
        goto out;
    }
    if (a->n_reporters == 0 && cli_scenarios_option(cmd, a, 'r', "console") < 0)
        goto out;
    for (size_t i = 0; i < a->n_paths; i++) {
        struct stat st;
        if (stat(a->paths[i], &st) < 0) {
            fprintf(stderr, "webhooky %s: %s: %s\n", cmd->name, a->paths[i], strerror(errno));
            goto out;
        }
        int r = S_ISDIR(st.st_mode) ? walk(&f, a->paths[i], 0) : add_file(&f, a->paths[i]);
        if (r < 0) {
            fprintf(stderr, "webhooky %s: %s: %s\n", cmd->name, a->paths[i], strerror(-r));
            goto out;
        }
    }
    sc = f.n ? calloc(f.n, sizeof(*sc)) : NULL;
    if (f.n && !sc) {
        rc = EXIT_RUNTIME;
        goto out;
    }
    /* every file is loaded before anything runs: a broken one stops the run */
    struct scenario_load_options lo = {.vars = a->vars};
    size_t broken = 0;
    for (size_t i = 0; i < f.n; i++) {
        struct scenario *s = NULL;
        if (scenario_load_file(f.files[i], &lo, &s, &err) < 0) {
            fprintf(stderr, "webhooky %s: %s\n", cmd->name, err.msg);
            broken++;
            continue;
        }
        if (re && !regex_search(re, s->name, strlen(s->name)) &&
            !regex_search(re, s->file, strlen(s->file))) {
            scenario_destroy(s);
            continue;
        }
        sc[n_sc++] = s;
    }
    if (broken) {
        fprintf(stderr, "webhooky %s: %zu broken scenario file%s; nothing was run\n", cmd->name,
                broken, broken == 1 ? "" : "s");
        goto out;
    }
    if (n_sc == 0) {
        fprintf(stderr, "webhooky %s: no scenario%s to run\n", cmd->name,
                a->filter ? " matches --filter" : "");
        goto out;
    }
    res = results_create(title);
    if (!res) {
        rc = EXIT_RUNTIME;
        goto out;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct runner_options ro = {.reporters = a->reporters,
                                .n_reporters = a->n_reporters,
                                .jobs = a->jobs,
                                .keep_db_dir = a->keep_db,
                                .timeout_scale = a->timeout_scale,
                                .max_interval_ms = a->max_interval_ms};
    int64_t t0 = 0;
    {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        t0 = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    }
    res->started_us = t0;
    if (runner_run(sc, n_sc, &ro, res, &err) < 0) {
        fprintf(stderr, "webhooky %s: %s\n", cmd->name, err.msg);
        rc = EXIT_RUNTIME;
        goto out;
    }
    {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        res->duration_ms = (double)((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000 - t0) / 1000.0;
    }
    rc = EXIT_OK;
    for (size_t i = 0; i < a->n_reporters; i++) {
        if (reporter_finish(a->reporters[i], res, &err) < 0) {
            fprintf(stderr, "webhooky %s: writing a report: %s\n", cmd->name, err.msg);
            rc = EXIT_RUNTIME;
        }
    }
    struct results_totals tot;
    results_totals(res, &tot);
    if (rc == EXIT_OK && tot.scenarios_failed)
        rc = EXIT_PROBLEM;
out:
    for (size_t i = 0; i < n_sc; i++)
        scenario_destroy(sc[i]);
    free(sc);
    for (size_t i = 0; i < f.n; i++)
        free(f.files[i]);
    free(f.files);
    results_destroy(res);
    regex_destroy(re);
    return rc;
}

static int run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"reporter", required_argument, NULL, 'r'}, {"jobs", required_argument, NULL, 'j'},
        {"filter", required_argument, NULL, 'f'},   {"var", required_argument, NULL, 'v'},
        {"keep-db", required_argument, NULL, 'K'},  {"timeout-scale", required_argument, NULL, 'T'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    struct cli_scenarios a;
    cli_scenarios_init(&a);
    int c, rc = EXIT_USAGE;
    while ((c = cli_getopt(&cmd_run, argc, argv, "r:j:f:v:h", opts)) != -1) {
        if (c == 'h') {
            fputs(cmd_run.usage, stdout);
            rc = EXIT_OK;
            goto out;
        }
        if (c == '?' || cli_scenarios_option(&cmd_run, &a, c, optarg) <= 0)
            goto out;
    }
    if (optind >= argc) {
        rc = cli_usage_error(&cmd_run, "give at least one scenario file or folder");
        goto out;
    }
    a.paths = calloc((size_t)(argc - optind), sizeof(*a.paths));
    if (!a.paths) {
        rc = EXIT_RUNTIME;
        goto out;
    }
    for (int i = optind; i < argc; i++)
        a.paths[a.n_paths++] = argv[i];
    rc = cli_scenarios_run(&cmd_run, &a, "webhooky run");
out:
    cli_scenarios_finish(&a);
    return rc;
}
