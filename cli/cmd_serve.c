/* webhooky serve: run the receiver until SIGINT or SIGTERM. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "cli.h"
#include "mockserver/config.h"
#include "mockserver/script.h"
#include "mockserver/server.h"

static int run(int argc, char **argv);

const struct cli_command cmd_serve = {
    .name = "serve",
    .summary = "run the mock receiver: capture every request into SQLite",
    .usage =
        "usage: webhooky serve [OPTIONS]\n"
        "\n"
        "Capture every request to any path outside /_webhooky/ into the database, commit it,\n"
        "then answer 200 {\"ok\":true,\"id\":N}, or what the endpoint's response script says.\n"
        "The admin API is under /_webhooky/.\n"
        "\n"
        "options:\n"
        "  -l, --listen HOST:PORT   address to listen on (default $WEBHOOKY_LISTEN or\n"
        "                           127.0.0.1:8787; port 0 picks a free port; the address is\n"
        "                           printed on start)\n"
        "  -d, --db PATH            SQLite database file (default $WEBHOOKY_DB or webhooky.db;\n"
        "                           ':memory:' keeps nothing after exit)\n"
        "  -c, --config FILE        JSON config with endpoints (default $WEBHOOKY_CONFIG; see\n"
        "                           README); without one, $WEBHOOKY_CONFIG_JSON may hold the\n"
        "                           config itself (for service containers)\n"
        "      --max-body SIZE      largest body accepted, e.g. 1048576, 512k, 10M (default 10M);\n"
        "                           larger ones are answered 413 and recorded truncated\n"
        "  -q, --quiet              no access log\n"
        "      --log-format FMT     access log on stderr: text (default) or json\n"
        "      --admin-token TOKEN  require 'Authorization: Bearer TOKEN' on /_webhooky/api/*\n"
        "                           (default: $WEBHOOKY_ADMIN_TOKEN; unset means open)\n"
        "      --threads N          HTTP threads (default: CPUs, at most 4)\n"
        "      --max-connections N  concurrent connections before new ones are refused\n"
        "                           (default 1000)\n"
        "      --timeout SECONDS    close a connection idle or stalled this long (default 30)\n"
        "      --fsync              fsync every commit (survives power loss, not only crashes)\n"
        "  -r, --respond SPEC       the catch-all's response script (default $WEBHOOKY_RESPOND),\n"
        "                           e.g. '503x2,200', '429x1[Retry-After=2],200', '200@150ms',\n"
        "                           'reset,200', 'hang:30s', or JSON rules (see README)\n"
        "\n"
        "SIGINT or SIGTERM stops it cleanly; SIGHUP reloads the endpoints' payload schemas.\n"
        "  -h, --help               show this help\n",
    .run = run,
};

enum { OPT_MAX_BODY = 256, OPT_LOG_FORMAT, OPT_ADMIN_TOKEN, OPT_THREADS, OPT_MAX_CONN,
       OPT_TIMEOUT, OPT_FSYNC };

static int run(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"db", required_argument, NULL, 'd'},
        {"config", required_argument, NULL, 'c'},
        {"max-body", required_argument, NULL, OPT_MAX_BODY},
        {"quiet", no_argument, NULL, 'q'},
        {"log-format", required_argument, NULL, OPT_LOG_FORMAT},
        {"admin-token", required_argument, NULL, OPT_ADMIN_TOKEN},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"max-connections", required_argument, NULL, OPT_MAX_CONN},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"fsync", no_argument, NULL, OPT_FSYNC},
        {"respond", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct server_options o;
    server_options_init(&o);
    /* the environment first (for containers), flags over it */
    o.admin_token = cli_env("WEBHOOKY_ADMIN_TOKEN", NULL);
    o.listen = cli_env("WEBHOOKY_LISTEN", o.listen);
    o.db_path = cli_env("WEBHOOKY_DB", o.db_path);
    const char *config_file = cli_env("WEBHOOKY_CONFIG", NULL);
    const char *respond = cli_env("WEBHOOKY_RESPOND", NULL);
    bool quiet = false;
    int c;
    int64_t n;
    uint64_t size;
    while ((c = cli_getopt(&cmd_serve, argc, argv, "l:d:c:qr:h", longopts)) != -1) {
        switch (c) {
        case 'l': o.listen = optarg; break;
        case 'd': o.db_path = optarg; break;
        case 'c': config_file = optarg; break;
        case 'q': quiet = true; break;
        case 'r': respond = optarg; break;
        case 'h': fputs(cmd_serve.usage, stdout); return EXIT_OK;
        case OPT_MAX_BODY:
            if (!cli_parse_size(&cmd_serve, "--max-body", optarg, &size))
                return EXIT_USAGE;
            o.max_body = (size_t)size;
            break;
        case OPT_LOG_FORMAT:
            if (strcmp(optarg, "text") == 0)
                o.log_format = LOG_TEXT;
            else if (strcmp(optarg, "json") == 0)
                o.log_format = LOG_JSON;
            else
                return cli_usage_error(&cmd_serve, "--log-format must be 'text' or 'json', not '%s'",
                                       optarg);
            break;
        case OPT_ADMIN_TOKEN: o.admin_token = optarg; break;
        case OPT_THREADS:
            if (!cli_parse_int(&cmd_serve, "--threads", optarg, 1, 64, &n))
                return EXIT_USAGE;
            o.threads = (unsigned)n;
            break;
        case OPT_MAX_CONN:
            if (!cli_parse_int(&cmd_serve, "--max-connections", optarg, 1, 100000, &n))
                return EXIT_USAGE;
            o.connection_limit = (unsigned)n;
            break;
        case OPT_TIMEOUT:
            if (!cli_parse_int(&cmd_serve, "--timeout", optarg, 1, 86400, &n))
                return EXIT_USAGE;
            o.connection_timeout_s = (unsigned)n;
            break;
        case OPT_FSYNC: o.sync_full = true; break;
        default: return EXIT_USAGE;
        }
    }
    if (optind < argc)
        return cli_usage_error(&cmd_serve, "unexpected argument '%s'", argv[optind]);
    if (quiet)
        o.log_format = LOG_NONE;
    if (o.admin_token && !*o.admin_token)
        o.admin_token = NULL;

    struct wh_error err = {0};
    script *catch_all = NULL;
    if (respond && *respond &&
        script_parse_text(respond, strlen(respond), &catch_all, &err) < 0) {
        fprintf(stderr, "webhooky serve: --respond: %s\n", err.msg);
        return EXIT_USAGE;
    }
    o.respond = catch_all;
    struct config *cfg = NULL;
    /* a service container may have no file to mount: the config text in the environment */
    const char *config_json = cli_env("WEBHOOKY_CONFIG_JSON", NULL);
    int r;
    if (config_file)
        r = config_load_file(config_file, &cfg, &err);
    else if (config_json && *config_json)
        r = config_load_text(config_json, strlen(config_json), "$WEBHOOKY_CONFIG_JSON", &cfg, &err);
    else
        r = config_create_empty(&cfg, &err);
    if (r < 0) {
        fprintf(stderr, "webhooky serve: %s\n", err.msg);
        script_unref(catch_all);
        return EXIT_USAGE;
    }
    o.config = cfg;

    /* SIGINT/SIGTERM are taken synchronously by this thread; every other thread inherits
     * the blocked mask, so none of them is interrupted. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* every connection is a descriptor: take what the hard limit allows */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }

    server *srv = NULL;
    if ((r = server_start(&o, &srv, &err)) < 0) {
        fprintf(stderr, "webhooky serve: %s\n", err.msg);
        config_destroy(cfg);
        script_unref(catch_all);
        return EXIT_USAGE;
    }
    printf("listening on http://%s\n", server_address(srv));
    printf("  page       http://%s/_webhooky/%s\n", server_address(srv),
           o.admin_token ? " (admin token required)" : "");
    if (!quiet) {
        printf("  database   %s\n", o.db_path);
        printf("  endpoints  %zu configured%s\n", cfg->n_endpoints,
               cfg->n_endpoints ? "" : " (everything goes to the catch-all)");
        for (size_t i = 0; i < cfg->n_endpoints; i++) {
            const struct endpoint_config *e = &cfg->endpoints[i];
            printf("             %-16s ", e->name);
            cli_print_escaped(e->path, strlen(e->path), false);
            if (e->responses) {
                json_t *spec = json_object_get(e->json, "responses");
                fputs("  responses ", stdout);
                if (json_is_string(spec))
                    cli_print_escaped(json_string_value(spec), json_string_length(spec), false);
                else
                    printf("(%zu rules)", e->responses->n_rules);
            }
            putchar('\n');
        }
        if (catch_all)
            printf("  responses  catch-all: %s\n", respond);
        printf("  api        http://%s/_webhooky/api/deliveries%s\n", server_address(srv),
               o.admin_token ? " (admin token required)" : "");
    }
    fflush(stdout);

    int sig = 0;
    for (;;) {
        sigwait(&stop, &sig);
        if (sig != SIGHUP)
            break;
        /* SIGHUP: load the payload schemas again; a failure keeps the old ones */
        size_t loaded = 0;
        struct wh_error rerr = {0};
        if (server_reload_schemas(srv, &loaded, &rerr) < 0)
            fprintf(stderr, "webhooky serve: SIGHUP: schema reload failed: %s\n", rerr.msg);
        else if (!quiet)
            fprintf(stderr, "webhooky serve: SIGHUP: reloaded %zu schema files\n", loaded);
    }
    if (!quiet)
        fprintf(stderr, "webhooky serve: %s received, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    server_stop(srv);
    config_destroy(cfg);
    script_unref(catch_all);
    return EXIT_OK;
}
