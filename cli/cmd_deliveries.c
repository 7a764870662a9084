/* webhooky deliveries: read (and clear) the capture database directly, also while serve runs. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "mockserver/buf.h"
#include "mockserver/encode.h"
#include "mockserver/filter.h"
#include "mockserver/messages.h"
#include "mockserver/har.h"
#include "mockserver/store.h"

static int run(int argc, char **argv);

const struct cli_command cmd_deliveries = {
    .name = "deliveries",
    .summary = "list, show, export, count, clear or group captured deliveries into messages",
    .usage =
        "usage: webhooky deliveries list   [--db PATH] [--limit N] [--endpoint NAME]\n"
        "                                  [--method M] [--since-id N] [--json]\n"
        "       webhooky deliveries show   ID [--db PATH] [--json]\n"
        "       webhooky deliveries export [--db PATH] [--format jsonl|har] [--endpoint NAME]\n"
        "                                  [--since-id N]\n"
        "       webhooky deliveries count  [--db PATH] [--endpoint NAME] [--since-id N]\n"
        "       webhooky deliveries clear  [--db PATH] [--endpoint NAME]\n"
        "       webhooky deliveries messages [--db PATH] [--endpoint NAME] [--limit N] [--json]\n"
        "\n"
        "Reads the database that 'webhooky serve' writes; safe while it runs.\n"
        "\n"
        "  list    a table, oldest first with the newest at the bottom: the last N deliveries\n"
        "          (--limit, default 100); --json prints the API's JSON instead\n"
        "  show    one delivery: headers and body (JSON pretty-printed); --json for the API's JSON\n"
        "  export  every selected delivery as one JSON object per line (the API's JSON), or\n"
        "          with --format har as an HTTP Archive (HAR 1.2) for browser dev tools\n"
        "  count   how many deliveries are selected\n"
        "  clear   delete the selected deliveries (all, or --endpoint)\n"
        "  messages  deliveries grouped into messages: each message's attempts, what they were\n"
        "          answered and the time between them, and whether one got a 2xx\n"
        "\n"
        "options:\n"
        "  -d, --db PATH         database file (default webhooky.db)\n"
        "  -n, --limit N         at most N deliveries (list)\n"
        "  -e, --endpoint NAME   only this endpoint ('-' for the catch-all)\n"
        "  -m, --method M        only this HTTP method (list)\n"
        "      --since-id N      only deliveries with an id greater than N\n"
        "      --json            JSON output (list, show)\n"
        "      --format FMT      export format: jsonl (default) or har\n"
        "  -h, --help            show this help\n"
        "\n"
        "Captured bytes are escaped for the terminal (control characters as \\xNN).\n",
    .run = run,
};

enum { OPT_SINCE = 256, OPT_JSON, OPT_FORMAT };

struct opts {
    const char *db;
    struct delivery_filter f;
    bool json;
    bool limit_set;
    const char *format;
};

static int open_store(const struct opts *o, store **ret)
{
    struct wh_error err;
    int r = store_open(o->db, 0, ret, &err);
    if (r < 0)
        fprintf(stderr, "webhooky deliveries: %s\n", err.msg);
    return r;
}

/* JSON text to stdout, terminal-safe and still the same JSON. */
static int put_json_text(const char *text)
{
    struct buf b;
    buf_init(&b, 0);
    int r = encode_terminal_json(&b, text, strlen(text));
    if (r == 0 && b.data)
        r = fwrite(b.data, 1, b.len, stdout) == b.len ? 0 : -EIO;
    buf_finish(&b);
    return r;
}

static void print_json(json_t *v, size_t flags)
{
    char *text = v ? json_dumps(v, flags | JSON_REAL_PRECISION(12)) : NULL;
    if (text) {
        put_json_text(text);
        fputc('\n', stdout);
    }
    free(text);
}

/* ---- list ---- */

struct rows {
    struct delivery **v;
    size_t n, cap;
};

static int collect(void *arg, const struct delivery *d)
{
    struct rows *rows = arg;
    if (rows->n == rows->cap) {
        size_t cap = rows->cap ? rows->cap * 2 : 64;
        struct delivery **v = realloc(rows->v, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        rows->v = v;
        rows->cap = cap;
    }
    /* the store reuses its delivery between rows: take a copy of what the table shows */
    struct delivery *c = delivery_create();
    if (!c)
        return -ENOMEM;
    c->id = d->id;
    c->received_us = d->received_us;
    c->endpoint = d->endpoint ? strdup(d->endpoint) : NULL;
    c->method = strdup(d->method);
    c->path = strdup(d->path);
    c->query = d->query ? strdup(d->query) : NULL;
    c->status = d->status;
    c->fault = d->fault ? strdup(d->fault) : NULL;
    c->sig_status = d->sig_status ? strdup(d->sig_status) : NULL;
    c->schema_status = d->schema_status ? strdup(d->schema_status) : NULL;
    c->body_size = d->body_size;
    c->truncated = d->truncated;
    rows->v[rows->n++] = c;
    if (!c->method || !c->path || (d->endpoint && !c->endpoint) || (d->query && !c->query) ||
        (d->sig_status && !c->sig_status) || (d->schema_status && !c->schema_status) ||
        (d->fault && !c->fault))
        return -ENOMEM;
    return 0;
}

static int json_row(void *arg, const struct delivery *d)
{
    json_t *o = delivery_to_json(d);
    return o && json_array_append_new(arg, o) == 0 ? 0 : -ENOMEM;
}

/* Shorten s to at most max display cells, with an ellipsis. Works on the escaped text. */
static void fit(struct buf *b, size_t max)
{
    size_t cells = 0, i = 0, cut = 0;
    for (; i < b->len; i++) {
        if (((unsigned char)b->data[i] & 0xC0) == 0x80)
            continue;
        if (cells == max - 1)
            cut = i;
        cells++;
    }
    if (cells > max) {
        b->len = cut;
        buf_append_str(b, "\xE2\x80\xA6");
    }
}

static int list(const struct opts *o)
{
    store *st;
    if (open_store(o, &st) < 0)
        return EXIT_RUNTIME;
    struct wh_error err = {0};
    struct delivery_filter f = o->f;
    f.desc = true; /* the newest N, shown oldest first */
    if (!o->limit_set)
        f.limit = FILTER_DEFAULT_LIMIT;
    int r;
    if (o->json) {
        json_t *arr = json_array();
        int64_t last = 0;
        r = arr ? store_foreach(st, &f, json_row, arr, &err) : -ENOMEM;
        if (r == 0)
            r = store_last_id(st, &last, &err);
        store_close(st);
        if (r < 0) {
            json_decref(arr);
            fprintf(stderr, "webhooky deliveries: %s\n", r == -ENOMEM ? "out of memory" : err.msg);
            return EXIT_RUNTIME;
        }
        /* oldest first, as the table */
        json_t *asc = json_array();
        for (size_t i = json_array_size(arr); i-- > 0;)
            json_array_append(asc, json_array_get(arr, i));
        json_decref(arr);
        json_t *out = json_pack("{sosI}", "deliveries", asc, "last_id", (json_int_t)last);
        print_json(out, JSON_INDENT(2));
        json_decref(out);
        return EXIT_OK;
    }
    struct rows rows = {0};
    r = store_foreach(st, &f, collect, &rows, &err);
    store_close(st);
    if (r < 0) {
        fprintf(stderr, "webhooky deliveries: %s\n", r == -ENOMEM ? "out of memory" : err.msg);
    } else if (rows.n == 0) {
        printf("no deliveries\n");
    } else {
        printf("%-8s %-23s %-16s %-7s %-40s %9s %9s  %-10s %s\n", "ID", "RECEIVED (UTC)",
               "ENDPOINT", "METHOD", "PATH", "STATUS", "SIZE", "SIGNATURE", "SCHEMA");
        struct buf cell;
        buf_init(&cell, 0);
        for (size_t i = rows.n; i-- > 0;) {
            const struct delivery *d = rows.v[i];
            struct buf t;
            buf_init(&t, 0);
            encode_rfc3339_us(&t, d->received_us);
            /* "2026-11-27T06:39:54.123456Z" -> "2026-11-27 06:39:54.123" */
            if (t.len >= 23)
                t.data[10] = ' ', t.data[23] = '\0';
            printf("%-8" PRId64 " %-23s ", d->id, t.data ? t.data : "");
            buf_finish(&t);
            buf_reset(&cell);
            if (d->endpoint)
                encode_terminal(&cell, d->endpoint, strlen(d->endpoint), false);
            else
                buf_append_str(&cell, "-");
            printf("%-16s ", cell.data);
            buf_reset(&cell);
            encode_terminal(&cell, d->method, strlen(d->method), false);
            fit(&cell, 7);
            printf("%-7s ", cell.data);
            buf_reset(&cell);
            encode_terminal(&cell, d->path, strlen(d->path), false);
            if (d->query) {
                buf_append_byte(&cell, '?');
                encode_terminal(&cell, d->query, strlen(d->query), false);
            }
            fit(&cell, 40);
            /* pad by display cells, not bytes */
            size_t cells = 0;
            for (size_t k = 0; k < cell.len; k++)
                cells += ((unsigned char)cell.data[k] & 0xC0) != 0x80;
            printf("%s%*s ", cell.data, (int)(cells < 40 ? 40 - cells : 0), "");
            /* a scripted fault is what the sender saw (show has the status it carried) */
            if (d->fault)
                printf("%9.9s ", d->fault);
            else if (d->status)
                printf("%9d ", d->status);
            else
                printf("%9s ", "closed");
            printf("%8" PRIu64 "%s  %-10s %s\n", d->body_size, d->truncated ? "+" : " ",
                   d->sig_status ? d->sig_status : "-", d->schema_status ? d->schema_status : "-");
        }
        buf_finish(&cell);
    }
    for (size_t i = 0; i < rows.n; i++)
        delivery_destroy(rows.v[i]);
    free(rows.v);
    return r < 0 ? EXIT_RUNTIME : EXIT_OK;
}

/* ---- show ---- */

static int show(const struct opts *o, const char *idtext)
{
    int64_t id;
    if (filter_parse_int(idtext, 1, INT64_MAX, &id) < 0)
        return cli_usage_error(&cmd_deliveries, "a delivery id is a whole number >= 1, not '%s'",
                               idtext);
    store *st;
    if (open_store(o, &st) < 0)
        return EXIT_RUNTIME;
    struct wh_error err = {0};
    struct delivery *d = NULL;
    int r = store_get(st, id, &d, &err);
    store_close(st);
    if (r < 0) {
        fprintf(stderr, "webhooky deliveries: %s\n", err.msg);
        return r == -ENOENT ? EXIT_PROBLEM : EXIT_RUNTIME;
    }
    if (o->json) {
        json_t *v = delivery_to_json(d);
        print_json(v, JSON_INDENT(2));
        json_decref(v);
        delivery_destroy(d);
        return EXIT_OK;
    }
    struct buf t;
    buf_init(&t, 0);
    encode_rfc3339_us(&t, d->received_us);
    printf("delivery %" PRId64 "  received %s from %s\n", d->id, t.data ? t.data : "",
           d->remote_addr);
    buf_finish(&t);
    printf("endpoint %s\n", d->endpoint ? d->endpoint : "- (catch-all)");
    cli_print_escaped(d->method, strlen(d->method), false);
    putchar(' ');
    cli_print_escaped(d->path, strlen(d->path), false);
    if (d->query) {
        putchar('?');
        cli_print_escaped(d->query, strlen(d->query), false);
    }
    if (d->fault && d->status)
        printf("\nanswered %d with the fault %s", d->status, d->fault);
    else if (d->fault)
        printf("\nnot answered: fault %s", d->fault);
    else if (d->status)
        printf("\nanswered %d", d->status);
    else
        printf("\nclosed without an answer");
    if (d->delay_ms)
        printf(" after %lld ms", (long long)d->delay_ms);
    if (d->rule >= 0)
        printf(" (response rule %d)", d->rule);
    putchar('\n');
    if (d->attempt > 0) {
        printf("attempt   %lld of message ", (long long)d->attempt);
        cli_print_escaped(d->message_key ? d->message_key : "", d->message_key ? strlen(d->message_key) : 0,
                      false);
        if (d->since_previous_us >= 0)
            printf(", %.3f s after the previous one", (double)d->since_previous_us / 1e6);
        putchar('\n');
    }
    if (d->sig_status) {
        printf("signature %s %s", d->sig_scheme ? d->sig_scheme : "?", d->sig_status);
        if (d->sig_secret_index >= 0)
            printf(" (secrets[%d])", d->sig_secret_index);
        if (d->sig_reason) {
            fputs(": ", stdout);
            cli_print_escaped(d->sig_reason, strlen(d->sig_reason), false);
        }
        putchar('\n');
    }
    if (d->message_id) {
        fputs("message id ", stdout);
        cli_print_escaped(d->message_id, strlen(d->message_id), false);
        putchar('\n');
    }
    if (d->event) {
        fputs("event     ", stdout);
        cli_print_escaped(d->event, strlen(d->event), false);
        putchar('\n');
    }
    if (d->schema_status) {
        printf("schema    %s", d->schema_status);
        if (d->schema_name) {
            fputs(" (", stdout);
            cli_print_escaped(d->schema_name, strlen(d->schema_name), false);
            putchar(')');
        }
        putchar('\n');
        json_t *errs = d->schema_errors ? json_loads(d->schema_errors, 0, NULL) : NULL;
        size_t i;
        json_t *e;
        json_array_foreach(errs, i, e) {
            const char *ptr = json_string_value(json_object_get(e, "pointer"));
            const char *msg = json_string_value(json_object_get(e, "message"));
            const char *kw = json_string_value(json_object_get(e, "keyword"));
            fputs("  ", stdout);
            cli_print_escaped(ptr && *ptr ? ptr : "(whole body)", ptr && *ptr ? strlen(ptr) : 12,
                          false);
            printf(" [%s]: ", kw ? kw : "?");
            if (msg)
                cli_print_escaped(msg, strlen(msg), false);
            putchar('\n');
        }
        json_decref(errs);
    }
    putchar('\n');
    struct header_iter it;
    const char *n, *v;
    size_t nl, vl;
    header_iter_init(&it, d->headers.data, d->headers.len);
    while (header_iter_next(&it, &n, &nl, &v, &vl)) {
        cli_print_escaped(n, nl, false);
        fputs(": ", stdout);
        cli_print_escaped(v, vl, false);
        putchar('\n');
    }
    printf("\n");
    json_t *doc = NULL;
    if (d->body.len)
        doc = json_loadb(d->body.data, d->body.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (doc) {
        /* jansson escapes C0 controls in strings; DEL and C1 are escaped here */
        char *pretty = json_dumps(doc, JSON_INDENT(2) | JSON_ENCODE_ANY);
        if (pretty)
            put_json_text(pretty);
        free(pretty);
        json_decref(doc);
        putchar('\n');
    } else if (d->body.len) {
        cli_print_escaped(d->body.data, d->body.len, true);
        if (d->body.data[d->body.len - 1] != '\n')
            putchar('\n');
    } else {
        printf("(empty body)\n");
    }
    if (d->truncated)
        printf("\n[truncated: %" PRIu64 " bytes sent, first %zu stored]\n", d->body_size,
               d->body.len);
    delivery_destroy(d);
    return EXIT_OK;
}

/* ---- export, count, clear ---- */

static int jsonl_row(void *arg, const struct delivery *d)
{
    json_t *v = delivery_to_json(d);
    char *text = v ? json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(12)) : NULL;
    json_decref(v);
    if (!text)
        return -ENOMEM;
    int r = put_json_text(text);
    free(text);
    if (r < 0 || fputc('\n', stdout) == EOF)
        return -EIO;
    return 0;
}

/* One HAR entry to stdout; arg counts the entries written. */
static int har_row(void *arg, const struct delivery *d)
{
    size_t *n = arg;
    struct buf b;
    buf_init(&b, 0);
    int r = har_append_entry(&b, d, "localhost", *n == 0);
    if (r == 0)
        r = put_json_text(b.data);
    buf_finish(&b);
    (*n)++;
    return r;
}

static int export_har(store *st, const struct delivery_filter *f, struct wh_error *err)
{
    struct buf b;
    buf_init(&b, 0);
    size_t n = 0;
    int r = har_begin(&b);
    if (r == 0)
        r = put_json_text(b.data);
    if (r == 0)
        r = store_foreach(st, f, har_row, &n, err);
    buf_reset(&b);
    if (r == 0 && (r = har_end(&b)) == 0)
        r = put_json_text(b.data);
    buf_finish(&b);
    return r;
}

static int export(const struct opts *o)
{
    bool har = o->format && strcmp(o->format, "har") == 0;
    if (o->format && !har && strcmp(o->format, "jsonl") != 0)
        return cli_usage_error(&cmd_deliveries, "--format must be 'jsonl' or 'har', not '%s'",
                               o->format);
    store *st;
    if (open_store(o, &st) < 0)
        return EXIT_RUNTIME;
    struct wh_error err = {0};
    int r = har ? export_har(st, &o->f, &err) : store_foreach(st, &o->f, jsonl_row, NULL, &err);
    store_close(st);
    if (fflush(stdout) != 0 && r == 0)
        r = -EIO;
    if (r < 0) {
        fprintf(stderr, "webhooky deliveries: %s\n",
                r == -EIO ? "cannot write the output" : r == -ENOMEM ? "out of memory" : err.msg);
        return EXIT_RUNTIME;
    }
    return EXIT_OK;
}

static int count(const struct opts *o)
{
    store *st;
    if (open_store(o, &st) < 0)
        return EXIT_RUNTIME;
    struct wh_error err = {0};
    int64_t n = 0;
    int r = store_count(st, &o->f, &n, &err);
    store_close(st);
    if (r < 0) {
        fprintf(stderr, "webhooky deliveries: %s\n", err.msg);
        return EXIT_RUNTIME;
    }
    printf("%" PRId64 "\n", n);
    return EXIT_OK;
}

static int clear(const struct opts *o)
{
    store *st;
    if (open_store(o, &st) < 0)
        return EXIT_RUNTIME;
    struct wh_error err = {0};
    int64_t n = 0;
    struct delivery_filter f;
    filter_init(&f);
    f.endpoint = o->f.endpoint;
    f.since_id = o->f.since_id;
    int r = store_delete(st, &f, &n, &err);
    store_close(st);
    if (r < 0) {
        fprintf(stderr, "webhooky deliveries: %s\n", err.msg);
        return EXIT_RUNTIME;
    }
    printf("deleted %" PRId64 " deliveries\n", n);
    return EXIT_OK;
}

/* ---- messages ---- */

/* "503", "reset", or "-" for an attempt of a message. */
static void put_answer(struct buf *b, json_t *attempt)
{
    json_t *fault = json_object_get(attempt, "fault");
    json_t *status = json_object_get(attempt, "status");
    if (json_is_string(fault))
        buf_append_str(b, json_string_value(fault));
    else if (json_is_integer(status))
        buf_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(status));
    else
        buf_append_str(b, "-");
}

static int messages(const struct opts *o)
{
    store *st;
    if (open_store(o, &st) < 0)
        return EXIT_RUNTIME;
    struct wh_error err = {0};
    json_t *list = NULL;
    struct delivery_filter f = o->f;
    int r = messages_collect(st, &f, &list, &err);
    store_close(st);
    if (r < 0) {
        fprintf(stderr, "webhooky deliveries: %s\n", err.msg);
        return EXIT_RUNTIME;
    }
    if (o->json) {
        print_json(list, JSON_INDENT(2));
        json_decref(list);
        return EXIT_OK;
    }
    printf("%-38s %-16s %8s  %-10s %s\n", "MESSAGE", "ENDPOINT", "ATTEMPTS", "OUTCOME",
           "ANSWERS (time since the previous attempt)");
    struct buf line, cell;
    buf_init(&line, 0);
    buf_init(&cell, 0);
    size_t i;
    json_t *m;
    json_array_foreach(list, i, m) {
        buf_reset(&line);
        buf_reset(&cell);
        const char *key = json_string_value(json_object_get(m, "key"));
        encode_terminal(&cell, key ? key : "", key ? strlen(key) : 0, false);
        fit(&cell, 38);
        buf_printf(&line, "%-38s ", cell.data ? cell.data : "");
        buf_reset(&cell);
        const char *ep = json_string_value(json_object_get(m, "endpoint"));
        buf_append_str(&cell, ep ? ep : "-");
        fit(&cell, 16);
        json_t *attempts = json_object_get(m, "attempts");
        buf_printf(&line, "%-16s %8zu  %-10s ", cell.data ? cell.data : "",
                   json_array_size(attempts),
                   json_string_value(json_object_get(m, "outcome")));
        size_t j;
        json_t *a;
        json_array_foreach(attempts, j, a) {
            if (j) {
                double ms = json_number_value(
                    json_array_get(json_object_get(m, "intervals_ms"), j - 1));
                if (ms >= 1000)
                    buf_printf(&line, "  +%.2fs ", ms / 1000.0);
                else
                    buf_printf(&line, "  +%.0fms ", ms);
            }
            put_answer(&line, a);
        }
        if (line.data)
            puts(line.data);
    }
    printf("%zu messages\n", json_array_size(list));
    buf_finish(&line);
    buf_finish(&cell);
    json_decref(list);
    return EXIT_OK;
}

static int run(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"db", required_argument, NULL, 'd'},
        {"limit", required_argument, NULL, 'n'},
        {"endpoint", required_argument, NULL, 'e'},
        {"method", required_argument, NULL, 'm'},
        {"since-id", required_argument, NULL, OPT_SINCE},
        {"json", no_argument, NULL, OPT_JSON},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct opts o = {.db = "webhooky.db"};
    filter_init(&o.f);
    int c;
    int64_t n;
    while ((c = cli_getopt(&cmd_deliveries, argc, argv, "d:n:e:m:h", longopts)) != -1) {
        switch (c) {
        case 'd': o.db = optarg; break;
        case 'n':
            if (!cli_parse_int(&cmd_deliveries, "--limit", optarg, 1, INT32_MAX, &n))
                return EXIT_USAGE;
            o.f.limit = n;
            o.limit_set = true;
            break;
        case 'e': o.f.endpoint = optarg; break;
        case 'm': o.f.method = optarg; break;
        case OPT_SINCE:
            if (!cli_parse_int(&cmd_deliveries, "--since-id", optarg, 0, INT64_MAX, &n))
                return EXIT_USAGE;
            o.f.since_id = n;
            break;
        case OPT_JSON: o.json = true; break;
        case OPT_FORMAT: o.format = optarg; break;
        case 'h': fputs(cmd_deliveries.usage, stdout); return EXIT_OK;
        default: return EXIT_USAGE;
        }
    }
    if (optind >= argc)
        return cli_usage_error(&cmd_deliveries, "missing subcommand (list, show, export, count, "
                                                "clear or messages)");
    const char *sub = argv[optind++];
    if (strcmp(sub, "show") == 0) {
        if (optind >= argc)
            return cli_usage_error(&cmd_deliveries, "show needs a delivery id");
        const char *id = argv[optind++];
        if (optind < argc)
            return cli_usage_error(&cmd_deliveries, "unexpected argument '%s'", argv[optind]);
        return show(&o, id);
    }
    if (optind < argc)
        return cli_usage_error(&cmd_deliveries, "unexpected argument '%s'", argv[optind]);
    if (strcmp(sub, "list") == 0)
        return list(&o);
    if (strcmp(sub, "export") == 0)
        return export(&o);
    if (strcmp(sub, "count") == 0)
        return count(&o);
    if (strcmp(sub, "clear") == 0)
        return clear(&o);
    if (strcmp(sub, "messages") == 0)
        return messages(&o);
    return cli_usage_error(&cmd_deliveries, "unknown subcommand '%s' (list, show, export, count, "
                                            "clear or messages)", sub);
}
