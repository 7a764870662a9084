/* webhooky replay: send a captured delivery again, to another URL, from the database. */
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mockserver/buf.h"
#include "mockserver/encode.h"
#include "mockserver/filter.h"
#include "mockserver/replay.h"
#include "mockserver/store.h"

static int run(int argc, char **argv);

const struct cli_command cmd_replay = {
    .name = "replay",
    .summary = "send a captured delivery again, to another URL",
    .usage =
        "usage: webhooky replay ID --to URL [--db PATH] [--json]\n"
        "\n"
        "Send delivery ID again as it was received: the same method, headers (in their order,\n"
        "duplicates kept) and body bytes, to URL (http or https; its path and query are used\n"
        "as given). Host, Content-Length, Connection and the other hop-by-hop headers are\n"
        "made anew. Redirects are not followed; the exchange may take 10 s at most. A delivery\n"
        "stored truncated (over --max-body) is sent with the bytes that were kept.\n"
        "Prints the answer's status line, headers and body (escaped for the terminal).\n"
        "\n"
        "options:\n"
        "  -t, --to URL          where to send it (required)\n"
        "  -d, --db PATH         database file (default webhooky.db)\n"
        "      --json            print the answer as JSON (as the API's replay answers)\n"
        "  -h, --help            show this help\n"
        "\n"
        "Exit status: 0 when an answer came (whatever its status), 1 when no delivery has that\n"
        "id, 3 when the URL could not be reached.\n",
    .run = run,
};

enum { OPT_JSON = 256 };

static void print_result(const struct replay_result *res, const char *url)
{
    printf("%ld from ", res->status);
    cli_print_escaped(url, strlen(url), false);
    printf(" in %.1f ms\n", (double)res->duration_us / 1000.0);
    struct header_iter it;
    const char *n, *v;
    size_t nl, vl;
    header_iter_init(&it, res->headers.data, res->headers.len);
    while (header_iter_next(&it, &n, &nl, &v, &vl)) {
        cli_print_escaped(n, nl, false);
        fputs(": ", stdout);
        cli_print_escaped(v, vl, false);
        putchar('\n');
    }
    putchar('\n');
    if (res->body.len) {
        cli_print_escaped(res->body.data, res->body.len, true);
        if (res->body.data[res->body.len - 1] != '\n')
            putchar('\n');
    }
    if (res->body_size > res->body.len)
        printf("[%" PRIu64 " bytes in all; the first %zu shown]\n", res->body_size, res->body.len);
}

static int run(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"to", required_argument, NULL, 't'},
        {"db", required_argument, NULL, 'd'},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *db = "webhooky.db", *url = NULL;
    bool json = false;
    int c;
    while ((c = cli_getopt(&cmd_replay, argc, argv, "t:d:h", longopts)) != -1) {
        switch (c) {
        case 't': url = optarg; break;
        case 'd': db = optarg; break;
        case OPT_JSON: json = true; break;
        case 'h': fputs(cmd_replay.usage, stdout); return EXIT_OK;
        default: return EXIT_USAGE;
        }
    }
    if (optind >= argc)
        return cli_usage_error(&cmd_replay, "missing the delivery id");
    const char *idtext = argv[optind++];
    if (optind < argc)
        return cli_usage_error(&cmd_replay, "unexpected argument '%s'", argv[optind]);
    int64_t id;
    if (filter_parse_int(idtext, 1, INT64_MAX, &id) < 0)
        return cli_usage_error(&cmd_replay, "a delivery id is a whole number >= 1, not '%s'",
                               idtext);
    if (!url)
        return cli_usage_error(&cmd_replay, "missing --to URL");
    struct wh_error err = {0};
    if (replay_check_url(url, &err) < 0)
        return cli_usage_error(&cmd_replay, "--to: %s", err.msg);

    store *st = NULL;
    if (store_open(db, STORE_READONLY, &st, &err) < 0) {
        fprintf(stderr, "webhooky replay: %s\n", err.msg);
        return EXIT_RUNTIME;
    }
    struct delivery *d = NULL;
    int r = store_get(st, id, &d, &err);
    store_close(st);
    if (r < 0) {
        fprintf(stderr, "webhooky replay: %s\n", err.msg);
        return r == -ENOENT ? EXIT_PROBLEM : EXIT_RUNTIME;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        delivery_destroy(d);
        fprintf(stderr, "webhooky replay: cannot initialise libcurl\n");
        return EXIT_RUNTIME;
    }
    struct replay_result res;
    replay_result_init(&res);
    r = replay_send(d, url, NULL, &res, &err);
    if (r < 0) {
        fprintf(stderr, "webhooky replay: %s\n", err.msg);
    } else if (json) {
        json_t *v = replay_result_to_json(&res, id, url);
        char *text = v ? json_dumps(v, JSON_INDENT(2)) : NULL;
        struct buf b;
        buf_init(&b, 0);
        if (text && encode_terminal_json(&b, text, strlen(text)) == 0 && b.data)
            printf("%s\n", b.data);
        else
            r = -ENOMEM;
        buf_finish(&b);
        free(text);
        json_decref(v);
    } else {
        print_result(&res, url);
    }
    replay_result_finish(&res);
    delivery_destroy(d);
    curl_global_cleanup();
    return r < 0 ? EXIT_RUNTIME : EXIT_OK;
}
