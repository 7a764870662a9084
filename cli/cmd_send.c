/* webhooky send: deliver one webhook like a careful sender (signed, retried with backoff,
 * honouring Retry-After and 410), or misbehave on purpose to check a harness. The work is done
 * by scenarios/sender.c; this file parses options and prints each attempt. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mockserver/buf.h"
#include "mockserver/encode.h"
#include "mockserver/signature.h"
#include "scenarios/sender.h"

static int run(int argc, char **argv);

const struct cli_command cmd_send = {
    .name = "send",
    .summary = "deliver a webhook like a careful sender (or a misbehaving one)",
    .usage =
        "usage: webhooky send URL [OPTIONS]\n"
        "\n"
        "POST one webhook to URL, signed with --scheme and --secret, and retry it the way a\n"
        "careful sender does: on 5xx, 429, 408, timeouts and connection errors, with a backoff,\n"
        "waiting at least what Retry-After asks (seconds or an HTTP date), and never after a 2xx\n"
        "or a 410. Every attempt carries a fresh timestamp and signature and the same message\n"
        "id. Each attempt and its outcome is printed on one line.\n"
        "\n"
        "  webhooky send http://127.0.0.1:8787/hooks/twenty --scheme twenty --secret s3cret \\\n"
        "      --event person.created --retries 5 --backoff exponential:500:2:8000\n"
        "\n"
        "options:\n"
        "  -s, --scheme S          sign with this scheme: twenty, standard-webhooks, github,\n"
        "                          stripe, slack, shopify or hmac (default: unsigned)\n"
        "  -k, --secret SECRET     the signing secret (repeatable, as for webhooky sign)\n"
        "      --secret-file PATH  read secrets from a file, one per line\n"
        "  -o, --option KEY=VALUE  a scheme option, as for webhooky sign\n"
        "  -e, --event NAME        the event of the built-in sample body (default\n"
        "                          person.created with twenty, else contact.created)\n"
        "  -d, --data FILE         the body, byte for byte; '-' reads stdin (default: a sample\n"
        "                          body for the event: Twenty's shape with the twenty scheme,\n"
        "                          Standard Webhooks' {type, timestamp, data} otherwise)\n"
        "      --id ID             the message id (webhook-id, X-GitHub-Delivery, ...); Twenty's\n"
        "                          nonce of the first attempt (later ones get fresh nonces)\n"
        "  -H, --header 'N: V'     an extra header (repeatable); replaces the sender's own\n"
        "                          Content-Type or User-Agent\n"
        "  -r, --retries N         attempts after the first (default 3, at most 100)\n"
        "  -b, --backoff SPEC      fixed:MS or exponential:BASE_MS:FACTOR[:MAX_MS]\n"
        "                          (default exponential:500:2:30000)\n"
        "  -t, --timeout MS        per attempt (default 10000)\n"
        "      --max-retry-after MS  cut a longer Retry-After to this (default: one day)\n"
        "      --misbehave MODE    do one thing wrong, to check that a harness notices:\n"
        "                          bad-signature (signs other bytes), double-encoded (signs\n"
        "                          JSON.stringify(body), the Twenty docs' bug), stale-timestamp\n"
        "                          (an hour old), no-retry, retry-after-success (once more after\n"
        "                          a 2xx), new-id-per-attempt, same-timestamp-per-attempt,\n"
        "                          wrong-content-type (text/plain), schema-violation (drops the\n"
        "                          body's first member), ignore-retry-after, ignore-410,\n"
        "                          no-backoff\n"
        "  -q, --quiet             print nothing but errors\n"
        "  -h, --help              show this help\n"
        "\n"
        "Exit status: 0 delivered (a 2xx), 1 gave up, 2 usage error, 3 runtime failure.\n",
    .run = run,
};

static atomic_bool stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    atomic_store(&stop_flag, true);
}

struct printer {
    bool quiet;
    int64_t unit_ms;     /* of the scheme's timestamps: 1000 (seconds) or 1 */
    const char *id_name; /* what the id is called: "id", or "nonce" for twenty */
};

static void print_attempt(void *ctx, const struct sender_attempt *a)
{
    const struct printer *p = ctx;
    if (p->quiet)
        return;
    struct buf line;
    buf_init(&line, 0);
    int r = buf_printf(&line, "attempt %d: ", a->number);
    if (r == 0) {
        if (a->status)
            r = buf_printf(&line, "%ld in %.0f ms", a->status, a->duration_ms);
        else if ((r = buf_append_str(&line, "no answer (")) == 0 &&
                 (r = encode_terminal(&line, a->error, strlen(a->error), false)) == 0)
            r = buf_printf(&line, ") after %.0f ms", a->duration_ms);
    }
    if (r == 0 && a->retry_after_ms >= 0)
        r = buf_printf(&line, ", Retry-After %lld ms", (long long)a->retry_after_ms);
    if (r == 0 && (a->id[0] || a->timestamp_ms)) {
        r = buf_append_str(&line, " [");
        if (r == 0 && a->id[0]) {
            if ((r = buf_printf(&line, "%s ", p->id_name)) == 0)
                r = encode_terminal(&line, a->id, strlen(a->id), false);
        }
        if (r == 0 && a->timestamp_ms)
            r = buf_printf(&line, "%stimestamp %lld", a->id[0] ? ", " : "",
                           (long long)(a->timestamp_ms / p->unit_ms));
        if (r == 0)
            r = buf_append_byte(&line, ']');
    }
    if (r == 0)
        r = buf_printf(&line, ": %s", a->why);
    if (r == 0 && a->next == SENDER_NEXT_RETRY)
        r = buf_printf(&line, ", next attempt in %lld ms", (long long)a->wait_ms);
    else if (r == 0 && a->next == SENDER_NEXT_GIVE_UP)
        r = buf_append_str(&line, ", giving up");
    if (r == 0) {
        buf_append_byte(&line, '\n');
        fwrite(line.data, 1, line.len, stdout);
        fflush(stdout);
    }
    buf_finish(&line);
}

enum {
    OPT_SECRET_FILE = 256,
    OPT_ID,
    OPT_MISBEHAVE,
    OPT_MAX_RETRY_AFTER,
};

static int run(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"scheme", required_argument, NULL, 's'},
        {"secret", required_argument, NULL, 'k'},
        {"secret-file", required_argument, NULL, OPT_SECRET_FILE},
        {"option", required_argument, NULL, 'o'},
        {"event", required_argument, NULL, 'e'},
        {"data", required_argument, NULL, 'd'},
        {"id", required_argument, NULL, OPT_ID},
        {"header", required_argument, NULL, 'H'},
        {"retries", required_argument, NULL, 'r'},
        {"backoff", required_argument, NULL, 'b'},
        {"timeout", required_argument, NULL, 't'},
        {"max-retry-after", required_argument, NULL, OPT_MAX_RETRY_AFTER},
        {"misbehave", required_argument, NULL, OPT_MISBEHAVE},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct cli_sig s;
    cli_sig_init(&s);
    bool signing = false;
    const char *data = NULL;
    const char *headers[SENDER_MAX_HEADERS];
    struct sender_options o = {
        .retries = 3,
        .backoff = {.exponential = true, .base_ms = 500, .factor = 2, .max_ms = 30000},
    };
    struct printer pr = {0};
    sig_config *cfg = NULL;
    struct buf body;
    buf_init(&body, 0);
    int c, rc = EXIT_USAGE;
    int64_t v;
    struct wh_error err = {0};
    while ((c = cli_getopt(&cmd_send, argc, argv, "s:k:o:e:d:H:r:b:t:qh", longopts)) != -1) {
        bool ok = true;
        switch (c) {
        case 's':
            signing = true;
            ok = cli_sig_set(&cmd_send, &s, "scheme", optarg);
            break;
        case 'k':
            signing = true;
            ok = cli_sig_set(&cmd_send, &s, "secret", optarg);
            break;
        case 'o':
            signing = true;
            ok = cli_sig_set(&cmd_send, &s, "option", optarg);
            break;
        case OPT_SECRET_FILE:
            signing = true;
            ok = cli_sig_secret_file(&cmd_send, &s, optarg);
            break;
        case 'e':
            o.event = optarg;
            break;
        case 'd':
            data = optarg;
            break;
        case OPT_ID:
            o.id = optarg;
            break;
        case 'H':
            if (o.n_headers == SENDER_MAX_HEADERS) {
                cli_usage_error(&cmd_send, "at most %d --header options", SENDER_MAX_HEADERS);
                goto out;
            }
            headers[o.n_headers++] = optarg;
            break;
        case 'r':
            ok = cli_parse_int(&cmd_send, "--retries", optarg, 0, SENDER_MAX_RETRIES, &v);
            o.retries = (int)v;
            break;
        case 'b':
            if (sender_backoff_parse(optarg, &o.backoff, &err) < 0) {
                cli_usage_error(&cmd_send, "--backoff: %s", err.msg);
                goto out;
            }
            break;
        case 't':
            ok = cli_parse_int(&cmd_send, "--timeout", optarg, 1, 3600000, &v);
            o.timeout_ms = v;
            break;
        case OPT_MAX_RETRY_AFTER:
            ok = cli_parse_int(&cmd_send, "--max-retry-after", optarg, 1, SENDER_MAX_WAIT_MS, &v);
            o.max_retry_after_ms = v;
            break;
        case OPT_MISBEHAVE:
            if (sender_misbehave_parse(optarg, &o.misbehave) < 0) {
                cli_usage_error(&cmd_send, "--misbehave: unknown mode '%s' (one of: %s)", optarg,
                                sender_misbehave_names());
                goto out;
            }
            break;
        case 'q':
            pr.quiet = true;
            break;
        case 'h':
            fputs(cmd_send.usage, stdout);
            rc = EXIT_OK;
            goto out;
        default:
            goto out;
        }
        if (!ok)
            goto out;
    }
    if (optind >= argc) {
        cli_usage_error(&cmd_send, "missing URL");
        goto out;
    }
    if (optind + 1 < argc) {
        cli_usage_error(&cmd_send, "unexpected argument '%s'", argv[optind + 1]);
        goto out;
    }
    o.url = argv[optind];
    if (signing && !(cfg = cli_sig_compile(&cmd_send, &s)))
        goto out;
    o.sig = cfg;
    pr.unit_ms = cfg && sig_config_timestamp_unit_ms(cfg) ? sig_config_timestamp_unit_ms(cfg) : 1;
    pr.id_name = cfg && strcmp(sig_config_scheme(cfg), "twenty") == 0 ? "nonce" : "id";
    if (data) {
        if (!cli_read_input(&cmd_send, data, &body))
            goto out;
        o.body = body.data ? body.data : "";
        o.body_len = body.len;
    }
    o.headers = headers;
    o.on_attempt = print_attempt;
    o.ctx = &pr;
    o.stop = &stop_flag;

    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    struct sender_result res;
    int r = sender_run(&o, &res, &err);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    if (r == -EINVAL) {
        cli_usage_error(&cmd_send, "%s", err.msg);
        goto out;
    }
    if (r < 0) {
        fprintf(stderr, "webhooky send: %s\n", err.msg);
        rc = EXIT_RUNTIME;
        goto out;
    }
    if (res.delivered) {
        if (!pr.quiet)
            printf("delivered after %d attempt%s\n", res.attempts, res.attempts == 1 ? "" : "s");
        rc = EXIT_OK;
    } else {
        fprintf(stderr, "webhooky send: %s\n", res.why);
        rc = EXIT_PROBLEM;
    }
out:
    sig_config_destroy(cfg);
    buf_finish(&body);
    cli_sig_finish(&s);
    return rc;
}
