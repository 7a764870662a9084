/* webhooky conform: run a shipped conformance suite against a sender, given as a command. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cli/suites.h"

static int run(int argc, char **argv);

const struct cli_command cmd_conform = {
    .name = "conform",
    .summary = "run a conformance suite (standard-webhooks, twenty) against your sender",
    .usage =
        "usage: webhooky conform SUITE --trigger COMMAND --secret SECRET [OPTIONS]\n"
        "       webhooky conform --list\n"
        "\n"
        "Check a webhook sender against a shipped suite: standard-webhooks (headers and\n"
        "signature, timestamps, retries on 5xx, timeouts and resets with growing intervals,\n"
        "a constant webhook-id with a fresh timestamp and signature per attempt, no retry after\n"
        "2xx, 410 stops delivery, Retry-After) or twenty (the X-Twenty-Webhook-* headers, the\n"
        "signature over timestamp:body, the nonce, payloads valid against schemas/twenty).\n"
        "SUITE may also be a folder of scenarios written the same way.\n"
        "\n"
        "Each time a scenario needs an event, it runs COMMAND through /bin/sh with\n"
        "WEBHOOKY_URL (where to deliver), WEBHOOKY_EVENT (which event) and WEBHOOKY_SECRET set;\n"
        "COMMAND makes your sender deliver one event there and may return at once. For example,\n"
        "the reference sender:\n"
        "\n"
        "  webhooky conform standard-webhooks --secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw \\\n"
        "    --trigger 'webhooky send \"$WEBHOOKY_URL\" --scheme standard-webhooks \\\n"
        "               --secret \"$WEBHOOKY_SECRET\" --event \"$WEBHOOKY_EVENT\" \\\n"
        "               --retries 5 --backoff exponential:50:2 --timeout 2000'\n"
        "\n"
        "options:\n"
        "  -t, --trigger COMMAND   the command that makes the sender deliver one event\n"
        "  -k, --secret SECRET     the secret the sender signs with\n"
        "      --max-interval-ms N a sender whose retries are further apart than N ms (hours,\n"
        "                          in production) is not waited for: scenarios that need\n"
        "                          its retries are reported as skipped, the rest run\n"
        "      --suites DIR        where the suites are (default: $WEBHOOKY_SUITES, else the\n"
        "                          installed share/webhooky/scenarios/conformance)\n"
        "      --list              list the suites and exit\n"
        "  -r, --reporter NAME[=FILE], -j, --jobs N, -f, --filter REGEX, -v, --var NAME=VALUE,\n"
        "      --keep-db DIR, --timeout-scale F   as for `webhooky run`\n"
        "  -h, --help              show this help\n"
        "\n"
        "Exit status as for `webhooky run`: 0 conformant, 1 a check failed, 2 usage.\n",
    .run = run,
};

static int list(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "webhooky conform: %s: %s\n", dir, strerror(errno));
        return EXIT_USAGE;
    }
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.' && e->d_type == DT_DIR)
            printf("%s\n", e->d_name);
    closedir(d);
    return EXIT_OK;
}

static int run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"trigger", required_argument, NULL, 't'},
        {"secret", required_argument, NULL, 'k'},
        {"max-interval-ms", required_argument, NULL, 'M'},
        {"suites", required_argument, NULL, 'S'},
        {"list", no_argument, NULL, 'L'},
        {"reporter", required_argument, NULL, 'r'},
        {"jobs", required_argument, NULL, 'j'},
        {"filter", required_argument, NULL, 'f'},
        {"var", required_argument, NULL, 'v'},
        {"keep-db", required_argument, NULL, 'K'},
        {"timeout-scale", required_argument, NULL, 'T'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct cli_scenarios a;
    cli_scenarios_init(&a);
    const char *trigger = NULL, *secret = NULL, *suites = NULL;
    bool do_list = false;
    int c, rc = EXIT_USAGE;
    const char *path = NULL;
    char dir[PATH_MAX];
    while ((c = cli_getopt(&cmd_conform, argc, argv, "t:k:r:j:f:v:h", opts)) != -1) {
        int64_t n;
        switch (c) {
        case 'h':
            fputs(cmd_conform.usage, stdout);
            rc = EXIT_OK;
            goto out;
        case 't':
            trigger = optarg;
            break;
        case 'k':
            secret = optarg;
            break;
        case 'S':
            suites = optarg;
            break;
        case 'L':
            do_list = true;
            break;
        case 'M':
            if (!cli_parse_int(&cmd_conform, "--max-interval-ms", optarg, 1, 86400000, &n))
                goto out;
            a.max_interval_ms = n;
            break;
        case '?':
            goto out;
        default:
            if (cli_scenarios_option(&cmd_conform, &a, c, optarg) <= 0)
                goto out;
        }
    }
    if (!suites && suites_find_dir(argv[0], dir, sizeof(dir)) == 0)
        suites = dir;
    if (do_list) {
        if (!suites) {
            rc = cli_usage_error(&cmd_conform, "no suites folder found: give --suites DIR");
            goto out;
        }
        rc = list(suites);
        goto out;
    }
    if (optind + 1 != argc) {
        rc = cli_usage_error(&cmd_conform,
                             optind >= argc ? "name the suite to run" : "one suite at a time");
        goto out;
    }
    if (!trigger || !secret) {
        rc = cli_usage_error(&cmd_conform, "--trigger and --secret are required");
        goto out;
    }
    const char *name = argv[optind];
    char suite_path[PATH_MAX + 256];
    struct stat st;
    if (strchr(name, '/') && stat(name, &st) == 0 && S_ISDIR(st.st_mode)) {
        path = name;
    } else {
        if (!suites) {
            rc = cli_usage_error(&cmd_conform, "no suites folder found: give --suites DIR");
            goto out;
        }
        snprintf(suite_path, sizeof(suite_path), "%s/%s", suites, name);
        if (stat(suite_path, &st) < 0 || !S_ISDIR(st.st_mode)) {
            rc = cli_usage_error(&cmd_conform, "no suite named '%s' in %s (see --list)", name,
                                 suites);
            goto out;
        }
        path = suite_path;
    }
    json_t *tv = json_string(trigger), *sv = json_string(secret);
    if (!tv || !sv || json_object_set_new(a.vars, "trigger", tv) < 0 ||
        json_object_set_new(a.vars, "secret", sv) < 0) {
        rc = cli_usage_error(&cmd_conform, "--trigger and --secret must be UTF-8");
        goto out;
    }
    a.paths = calloc(1, sizeof(*a.paths));
    if (!a.paths) {
        rc = EXIT_RUNTIME;
        goto out;
    }
    a.paths[a.n_paths++] = path;
    char title[300];
    snprintf(title, sizeof(title), "conform %s", name);
    rc = cli_scenarios_run(&cmd_conform, &a, title);
out:
    cli_scenarios_finish(&a);
    return rc;
}
