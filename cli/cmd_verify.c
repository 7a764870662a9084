/* webhooky verify: check a signature (given on the command line, or of a stored delivery) and
 * say why it is or is not valid. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mockserver/buf.h"
#include "mockserver/delivery.h"
#include "mockserver/encode.h"
#include "mockserver/filter.h"
#include "mockserver/signature.h"
#include "mockserver/store.h"

static int run(int argc, char **argv);

const struct cli_command cmd_verify = {
    .name = "verify",
    .summary = "check a webhook signature and say why it is or is not valid",
    .usage =
        "usage: webhooky verify --scheme S --secret SECRET [OPTIONS]\n"
        "                       [--header 'Name: value']... [--headers FILE] [--body FILE|-]\n"
        "       webhooky verify --delivery ID [--db PATH] --scheme S --secret SECRET\n"
        "                       [--ignore-timestamp]\n"
        "\n"
        "Check a request's signature the way the receiver does and print the verdict (valid,\n"
        "invalid, expired, missing or malformed) with its reason. With --delivery, re-check a\n"
        "delivery stored by 'webhooky serve' (its headers, body, method and path), with the\n"
        "timestamp judged as of when it was received.\n"
        "\n"
        "Exit status: 0 valid, 1 not valid (or no such delivery), 2 usage error, 3 the database\n"
        "cannot be read.\n"
        "\n"
        "options:\n"
        "  -s, --scheme S            twenty, standard-webhooks, github, stripe, slack, shopify\n"
        "                            or hmac\n"
        "  -k, --secret SECRET       a secret; repeat it for several (as during a rotation)\n"
        "      --secret-file PATH    read secrets from a file, one per line\n"
        "  -H, --header 'N: V'       a request header; repeat it for each\n"
        "      --headers FILE        request headers, one 'Name: value' per line (what\n"
        "                            'webhooky sign' prints); '-' reads stdin\n"
        "  -b, --body FILE           the body as received, byte for byte; '-' reads stdin\n"
        "                            (default: an empty body)\n"
        "      --data TEXT           the body given on the command line\n"
        "      --tolerance SECONDS   how far a signed timestamp may be from now (default 300;\n"
        "                            0: not checked)\n"
        "      --ignore-timestamp    the same as --tolerance 0\n"
        "      --now T               judge the timestamp as of T, in the scheme's unit\n"
        "                            (seconds; milliseconds for twenty), not now\n"
        "      --method M            request method, for hmac templates (default POST)\n"
        "      --path P              request path, for hmac templates (default /)\n"
        "  -o, --option KEY=VALUE    a scheme option, as for 'webhooky sign'\n"
        "  -i, --delivery ID         re-check this stored delivery\n"
        "  -d, --db PATH             its database (default webhooky.db)\n"
        "      --json                print the verdict as JSON (the API's signature object)\n"
        "  -h, --help                show this help\n",
    .run = run,
};

enum {
    OPT_SECRET_FILE = 256, OPT_HEADERS, OPT_DATA, OPT_TOLERANCE, OPT_IGNORE_TS, OPT_NOW,
    OPT_METHOD, OPT_PATH, OPT_JSON
};

/* One "Name: value" into the delivery's header blob; false when it is not that shape. */
static bool add_header(struct delivery *d, const char *line, size_t len, bool *ret_oom)
{
    const char *colon = memchr(line, ':', len);
    *ret_oom = false;
    if (!colon || colon == line)
        return false;
    for (const char *p = line; p < colon; p++)
        if (*p == ' ' || *p == '\t' || (unsigned char)*p < 0x21)
            return false;
    const char *v = colon + 1, *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
        end--;
    if (delivery_add_header(d, line, (size_t)(colon - line), v, (size_t)(end - v)) < 0) {
        *ret_oom = true;
        return false;
    }
    return true;
}

static bool add_header_file(struct delivery *d, const char *path)
{
    struct buf b;
    if (!cli_read_input(&cmd_verify, path, &b))
        return false;
    bool ok = true;
    size_t line_no = 0;
    for (size_t i = 0; i < b.len && ok;) {
        size_t end = i;
        while (end < b.len && b.data[end] != '\n')
            end++;
        line_no++;
        size_t len = end - i;
        bool blank = len == 0 || (len == 1 && b.data[i] == '\r');
        bool oom = false;
        if (!blank && !add_header(d, b.data + i, len, &oom)) {
            if (oom)
                fprintf(stderr, "webhooky verify: out of memory\n");
            else
                cli_usage_error(&cmd_verify, "--headers %s:%zu is not 'Name: value'", path,
                                line_no);
            ok = false;
        }
        i = end + 1;
    }
    buf_finish(&b);
    return ok;
}

static void print_text(const char *label, const char *value)
{
    struct buf b;
    buf_init(&b, 0);
    encode_terminal(&b, value, strlen(value), false);
    printf("%s%s\n", label, b.data ? b.data : "");
    buf_finish(&b);
}

static int report(const struct sig_verdict *v, const struct delivery *stored, bool json)
{
    if (json) {
        json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:o, s:o}", "scheme", v->scheme, "status",
                              sig_status_name(v->status), "reason", v->reason, "secret_index",
                              v->secret_index, "message_id",
                              v->message_id[0] ? encode_json_string(v->message_id,
                                                                    strlen(v->message_id))
                                               : json_null(),
                              "nonce",
                              v->nonce[0] ? encode_json_string(v->nonce, strlen(v->nonce))
                                          : json_null());
        if (o && stored)
            json_object_set_new(o, "delivery", json_integer(stored->id));
        char *text = o ? json_dumps(o, JSON_INDENT(2)) : NULL;
        json_decref(o);
        if (!text) {
            fprintf(stderr, "webhooky verify: out of memory\n");
            return EXIT_RUNTIME;
        }
        struct buf b;
        buf_init(&b, 0);
        encode_terminal_json(&b, text, strlen(text));
        printf("%s\n", b.data ? b.data : "");
        buf_finish(&b);
        free(text);
    } else {
        if (stored)
            printf("delivery %" PRId64 "\n", stored->id);
        printf("%s (%s): %s\n", sig_status_name(v->status), v->scheme, v->reason);
        if (v->message_id[0])
            print_text("message_id: ", v->message_id);
        if (v->nonce[0])
            print_text("nonce: ", v->nonce);
        if (stored && stored->sig_status) {
            struct buf b;
            buf_init(&b, 0);
            buf_printf(&b, "%s (%s): %s", stored->sig_status,
                       stored->sig_scheme ? stored->sig_scheme : "?",
                       stored->sig_reason ? stored->sig_reason : "");
            print_text("recorded at receipt: ", b.data ? b.data : "");
            buf_finish(&b);
        }
    }
    return v->status == SIG_VALID ? EXIT_OK : EXIT_PROBLEM;
}

/* Re-check a stored delivery. */
static int verify_stored(const sig_config *cfg, const char *db, const char *id_text, bool json)
{
    int64_t id;
    if (filter_parse_int(id_text, 1, INT64_MAX, &id) < 0)
        return cli_usage_error(&cmd_verify, "--delivery must be a whole number >= 1, not '%s'",
                               id_text);
    store *st;
    struct wh_error err = {0};
    if (store_open(db, 0, &st, &err) < 0) {
        fprintf(stderr, "webhooky verify: %s\n", err.msg);
        return EXIT_RUNTIME;
    }
    struct delivery *d = NULL;
    int r = store_get(st, id, &d, &err);
    store_close(st);
    if (r < 0) {
        fprintf(stderr, "webhooky verify: %s\n", err.msg);
        return r == -ENOENT ? EXIT_PROBLEM : EXIT_RUNTIME;
    }
    struct sig_request req = {
        .method = d->method,
        .path = d->path,
        .headers = d->headers.data,
        .headers_len = d->headers.len,
        .body = d->body.data,
        .body_len = d->body.len,
        .body_truncated = d->truncated,
        .now_ms = d->received_us / 1000 ? d->received_us / 1000 : 1,
    };
    struct sig_verdict v;
    int rc = sig_verify(cfg, &req, &v) < 0 ? EXIT_RUNTIME : report(&v, d, json);
    delivery_destroy(d);
    return rc;
}

static int run(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"scheme", required_argument, NULL, 's'},
        {"secret", required_argument, NULL, 'k'},
        {"secret-file", required_argument, NULL, OPT_SECRET_FILE},
        {"header", required_argument, NULL, 'H'},
        {"headers", required_argument, NULL, OPT_HEADERS},
        {"body", required_argument, NULL, 'b'},
        {"data", required_argument, NULL, OPT_DATA},
        {"tolerance", required_argument, NULL, OPT_TOLERANCE},
        {"ignore-timestamp", no_argument, NULL, OPT_IGNORE_TS},
        {"now", required_argument, NULL, OPT_NOW},
        {"method", required_argument, NULL, OPT_METHOD},
        {"path", required_argument, NULL, OPT_PATH},
        {"option", required_argument, NULL, 'o'},
        {"delivery", required_argument, NULL, 'i'},
        {"db", required_argument, NULL, 'd'},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct cli_sig s;
    cli_sig_init(&s);
    struct delivery *req_d = delivery_create();
    struct buf body;
    buf_init(&body, 0);
    const char *body_file = NULL, *data = NULL, *headers_file = NULL, *now = NULL;
    const char *method = "POST", *path = "/", *delivery = NULL, *db = NULL, *tolerance = NULL;
    bool json = false, ignore_ts = false, has_headers = false;
    int c, rc = EXIT_USAGE;
    sig_config *cfg = NULL;
    if (!req_d) {
        fprintf(stderr, "webhooky verify: out of memory\n");
        rc = EXIT_RUNTIME;
        goto out;
    }
    while ((c = cli_getopt(&cmd_verify, argc, argv, "s:k:H:b:o:i:d:h", longopts)) != -1) {
        bool ok = true, oom = false;
        switch (c) {
        case 's': ok = cli_sig_set(&cmd_verify, &s, "scheme", optarg); break;
        case 'k': ok = cli_sig_set(&cmd_verify, &s, "secret", optarg); break;
        case 'o': ok = cli_sig_set(&cmd_verify, &s, "option", optarg); break;
        case OPT_SECRET_FILE: ok = cli_sig_secret_file(&cmd_verify, &s, optarg); break;
        case 'H':
            has_headers = true;
            if (!add_header(req_d, optarg, strlen(optarg), &oom)) {
                if (oom)
                    fprintf(stderr, "webhooky verify: out of memory\n");
                else
                    cli_usage_error(&cmd_verify, "--header must be 'Name: value', not '%s'",
                                    optarg);
                ok = false;
            }
            break;
        case OPT_HEADERS:
            headers_file = optarg;
            has_headers = true;
            break;
        case 'b': body_file = optarg; break;
        case OPT_DATA: data = optarg; break;
        case OPT_TOLERANCE: tolerance = optarg; break;
        case OPT_IGNORE_TS: ignore_ts = true; break;
        case OPT_NOW: now = optarg; break;
        case OPT_METHOD: method = optarg; break;
        case OPT_PATH: path = optarg; break;
        case 'i': delivery = optarg; break;
        case 'd': db = optarg; break;
        case OPT_JSON: json = true; break;
        case 'h':
            fputs(cmd_verify.usage, stdout);
            rc = EXIT_OK;
            goto out;
        default: goto out;
        }
        if (!ok)
            goto out;
    }
    if (optind < argc) {
        cli_usage_error(&cmd_verify, "unexpected argument '%s'", argv[optind]);
        goto out;
    }
    if (tolerance && ignore_ts) {
        cli_usage_error(&cmd_verify, "give --tolerance or --ignore-timestamp, not both");
        goto out;
    }
    if (body_file && data) {
        cli_usage_error(&cmd_verify, "give the body with --body or --data, not both");
        goto out;
    }
    if (body_file && headers_file && strcmp(body_file, "-") == 0 &&
        strcmp(headers_file, "-") == 0) {
        cli_usage_error(&cmd_verify, "--body and --headers cannot both read stdin");
        goto out;
    }
    if (db && !delivery) {
        cli_usage_error(&cmd_verify, "--db needs --delivery ID (the delivery to re-check)");
        goto out;
    }
    if (delivery && (has_headers || body_file || data || now)) {
        cli_usage_error(&cmd_verify, "--delivery takes the headers, body and time from the "
                                     "stored delivery; drop --header/--headers/--body/--data/"
                                     "--now");
        goto out;
    }
    if ((tolerance && !cli_sig_set(&cmd_verify, &s, "tolerance", tolerance)) ||
        (ignore_ts && !cli_sig_set(&cmd_verify, &s, "tolerance", "0")))
        goto out;
    if (!(cfg = cli_sig_compile(&cmd_verify, &s)))
        goto out;
    if (delivery) {
        rc = verify_stored(cfg, db ? db : "webhooky.db", delivery, json);
        goto out;
    }

    int64_t now_ms = 0;
    if (now) {
        int64_t unit = sig_config_timestamp_unit_ms(cfg), t;
        if (!unit) {
            cli_usage_error(&cmd_verify, "--now: %s signatures carry no timestamp",
                            sig_config_scheme(cfg));
            goto out;
        }
        if (!cli_parse_int(&cmd_verify, "--now", now, 1,
                           unit == 1 ? 999999999999999 : 999999999999, &t))
            goto out;
        now_ms = t * unit;
    }
    if (headers_file && !add_header_file(req_d, headers_file))
        goto out;
    if (body_file && !cli_read_input(&cmd_verify, body_file, &body))
        goto out;
    struct sig_request req = {
        .method = method,
        .path = path,
        .headers = req_d->headers.data,
        .headers_len = req_d->headers.len,
        .body = data ? data : body.data,
        .body_len = data ? strlen(data) : body.len,
        .now_ms = now_ms,
    };
    struct sig_verdict v;
    rc = sig_verify(cfg, &req, &v) < 0 ? EXIT_RUNTIME : report(&v, NULL, json);
out:
    sig_config_destroy(cfg);
    buf_finish(&body);
    delivery_destroy(req_d);
    cli_sig_finish(&s);
    return rc;
}
