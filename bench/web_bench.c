/* web_bench: how long the inspection page's queries take on a large capture database.
 *
 * usage: web_bench DB [N]   (bench/web builds and runs it)
 * Fills DB with N deliveries (default 100000) shaped like real traffic: four endpoints,
 * 1 KiB JSON bodies with one of twelve event names, 90% valid signatures, some schema errors,
 * mostly POST. Then it times each query the page makes (best of 5, in ms): the first page of
 * summaries and the count of what matched, for no filter and for each filter, a deep page
 * (before_id), the text search, and the event stream's catch-up read. It also times inserts,
 * the receiver's hot path, in batches of 64 as the writer commits them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "delivery.h"
#include "filter.h"
#include "store.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static const char *const endpoints[] = {"twenty", "github", "stripe", NULL};
static const char *const events[] = {"person.created", "person.updated", "company.created",
                                     "push",           "pull_request",   "issues",
                                     "invoice.paid",   "charge.failed",  "customer.created",
                                     "note.created",   "task.updated",   "opportunity.deleted"};

static struct delivery *make(unsigned i)
{
    struct delivery *d = delivery_create();
    d->received_us = 1790000000000000LL + (int64_t)i * 1000;
    const char *ep = endpoints[i % 4];
    d->endpoint = ep ? strdup(ep) : NULL;
    d->method = strdup(i % 50 == 0 ? "PUT" : "POST");
    d->path = strdup(ep ? "/webhooks/x" : "/other");
    const char *ev = events[(i * 7) % 12];
    d->event = strdup(ev);
    delivery_add_header(d, "Content-Type", 12, "application/json", 16);
    delivery_add_header(d, "User-Agent", 10, "bench/1.0", 9);
    char body[1100];
    int n = snprintf(body, sizeof(body),
                     "{\"eventName\":\"%s\",\"id\":\"evt_%08u\",\"data\":{"
                     "\"name\":\"customer %u\",\"pad\":\"",
                     ev, i, i * 31);
    while (n < 1000)
        body[n++] = (char)('a' + (i + (unsigned)n) % 26);
    n += snprintf(body + n, sizeof(body) - (size_t)n, "\"}}");
    buf_append(&d->body, body, (size_t)n);
    d->body_size = (uint64_t)n;
    snprintf(d->remote_addr, sizeof(d->remote_addr), "127.0.0.1:%u", 30000 + i % 30000);
    d->status = 200;
    if (ep) {
        d->sig_scheme = strdup(ep);
        d->sig_status = strdup(i % 20 == 0 ? "invalid" : i % 20 == 1 ? "missing" : "valid");
        d->sig_reason = strdup("bench");
        d->schema_status = strdup(i % 25 == 0 ? "invalid" : "valid");
    }
    return d;
}

static int count_row(void *arg, const struct delivery *d)
{
    (*(size_t *)arg)++;
    return 0;
}

/* Best of 5 of the page's two queries: a page of summaries, then the count. */
static void measure(store *st, const char *what, struct delivery_filter f, bool with_count)
{
    double best_list = 1e9, best_count = 1e9;
    size_t rows = 0;
    int64_t matched = 0;
    struct wh_error err;
    for (int k = 0; k < 5; k++) {
        rows = 0;
        double t0 = now_ms();
        if (store_foreach(st, &f, count_row, &rows, &err) < 0) {
            fprintf(stderr, "%s: %s\n", what, err.msg);
            exit(1);
        }
        double t1 = now_ms();
        if (with_count) {
            struct delivery_filter all = f;
            all.limit = 0;
            all.before_id = 0;
            store_count(st, &all, &matched, &err);
        }
        double t2 = now_ms();
        if (t1 - t0 < best_list)
            best_list = t1 - t0;
        if (t2 - t1 < best_count)
            best_count = t2 - t1;
    }
    if (with_count)
        printf("%-34s page %8.2f ms (%3zu rows)  count %8.2f ms (%lld)\n", what, best_list, rows,
               best_count, (long long)matched);
    else
        printf("%-34s page %8.2f ms (%3zu rows)\n", what, best_list, rows);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: web_bench DB [N]\n");
        return 2;
    }
    long n = argc > 2 ? strtol(argv[2], NULL, 10) : 100000;
    struct wh_error err;
    store *w = NULL;
    if (store_open(argv[1], STORE_CREATE, &w, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    int64_t have = 0;
    store_last_id(w, &have, &err);
    double t0 = now_ms();
    double worst_batch = 0;
    for (long i = have; i < n; i += 64) {
        double b0 = now_ms();
        store_begin(w, &err);
        for (long j = i; j < i + 64 && j < n; j++) {
            struct delivery *d = make((unsigned)j);
            if (store_insert(w, d, &err) < 0) {
                fprintf(stderr, "%s\n", err.msg);
                return 1;
            }
            delivery_destroy(d);
        }
        store_commit(w, &err);
        double b = now_ms() - b0;
        if (b > worst_batch)
            worst_batch = b;
    }
    if (n > have)
        printf("inserted %ld deliveries in %.0f ms (%.1f us each; slowest batch of 64: %.2f ms)\n",
               n - have, now_ms() - t0, (now_ms() - t0) * 1000.0 / (double)(n - have), worst_batch);
    store_close(w);

    store *st = NULL;
    if (store_open(argv[1], 0, &st, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    struct delivery_filter f;
    filter_init(&f);
    f.desc = true;
    f.no_body = true;
    f.limit = 50;
    measure(st, "no filter", f, true);
    struct delivery_filter g = f;
    g.endpoint = "github";
    measure(st, "endpoint=github", g, true);
    g = f;
    g.endpoint = FILTER_CATCH_ALL;
    measure(st, "endpoint=- (catch-all)", g, true);
    g = f;
    g.signature = "invalid";
    measure(st, "signature=invalid (5%)", g, true);
    g = f;
    g.schema = "invalid";
    measure(st, "schema=invalid (3%)", g, true);
    g = f;
    g.event = "push";
    measure(st, "event=push", g, true);
    g = f;
    g.method = "PUT";
    measure(st, "method=PUT (2%)", g, true);
    g = f;
    g.event = "push";
    g.signature = "invalid";
    g.endpoint = "github";
    measure(st, "endpoint+event+signature", g, true);
    g = f;
    g.text = "customer 310";
    measure(st, "q=customer 310 (text search)", g, true);
    g = f;
    g.text = "no such text anywhere";
    measure(st, "q=<absent>", g, true);
    g = f;
    g.before_id = n / 2;
    measure(st, "before_id=N/2 (deep page)", g, false);
    g = f;
    g.before_id = n / 2;
    g.signature = "invalid";
    measure(st, "before_id=N/2 + signature=invalid", g, false);
    g = f;
    g.desc = false;
    g.since_id = n - 50;
    g.upto_id = n;
    measure(st, "stream catch-up (since_id)", g, false);
    f.no_body = false;
    measure(st, "no filter, with bodies", f, false);
    store_close(st);
    return 0;
}
