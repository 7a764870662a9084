/* Concurrency: 8 keep-alive clients x 500 deliveries each; every one is stored exactly once
 * under the id it was answered with. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

enum { THREADS = 8, PER_THREAD = 500, TOTAL = THREADS * PER_THREAD };

static struct wh_server srv;
static int64_t answered_id[TOTAL]; /* by sequence number; 0 = not answered 200 */

struct client {
    int index;
    long connections; /* connections curl opened */
    int failures;
    char first_failure[256];
    pthread_t thread;
};

static void *client_main(void *arg)
{
    struct client *c = arg;
    CURL *h = wh_curl();
    const char *hdrs[] = {"Content-Type: text/plain", NULL};
    for (int i = 0; i < PER_THREAD; i++) {
        int seq = c->index * PER_THREAD + i;
        char body[64];
        int n = snprintf(body, sizeof(body), "seq=%d", seq);
        struct wh_response r;
        wh_request(h, &srv, "POST", "/load", hdrs, body, (size_t)n, &r);
        c->connections += r.new_connections;
        json_t *v = r.status == 200 ? json_loadb(r.body, r.body_len, 0, NULL) : NULL;
        int64_t id = v ? json_integer_value(json_object_get(v, "id")) : 0;
        if (id > 0) {
            answered_id[seq] = id;
        } else if (c->failures++ == 0) {
            snprintf(c->first_failure, sizeof(c->first_failure), "seq %d: %s, status %ld, %.100s",
                     seq, curl_easy_strerror(r.rc), r.status, r.body);
        }
        json_decref(v);
        wh_response_free(&r);
    }
    curl_easy_cleanup(h);
    return NULL;
}

START_TEST(every_delivery_stored_once)
{
    char *dir = wh_tmpdir();
    char *db = wh_path(dir, "load.db");
    wh_server_start(&srv, dir, db, (const char *const[]){"--quiet", NULL}, NULL);

    struct client c[THREADS];
    int64_t t0 = wh_now_ms();
    for (int i = 0; i < THREADS; i++) {
        memset(&c[i], 0, sizeof(c[i]));
        c[i].index = i;
        ck_assert_int_eq(pthread_create(&c[i].thread, NULL, client_main, &c[i]), 0);
    }
    long connections = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(c[i].thread, NULL);
        connections += c[i].connections;
    }
    int64_t ms = wh_now_ms() - t0;
    fprintf(stderr, "%d deliveries from %d clients in %lld ms (%.0f/s), %ld connections\n", TOTAL,
            THREADS, (long long)ms, TOTAL * 1000.0 / (double)(ms ? ms : 1), connections);
    for (int i = 0; i < THREADS; i++)
        ck_assert_msg(c[i].failures == 0, "client %d: %d requests not answered 200; first: %s", i,
                      c[i].failures, c[i].first_failure);
    ck_assert_msg(connections <= THREADS * 2,
                  "%ld connections for %d keep-alive clients: keep-alive is not working",
                  connections, THREADS);

    /* page through the API: exactly TOTAL rows, each sequence number once, under its id */
    json_t *all = wh_all_deliveries(&srv, 0);
    ck_assert_uint_eq(json_array_size(all), TOTAL);
    static unsigned char seen[TOTAL];
    memset(seen, 0, sizeof(seen));
    size_t i;
    json_t *d;
    int64_t prev = 0;
    json_array_foreach(all, i, d)
    {
        int64_t id = json_integer_value(json_object_get(d, "id"));
        ck_assert_msg(id > prev, "ids not strictly increasing: %lld after %lld", (long long)id,
                      (long long)prev);
        prev = id;
        const char *body = json_string_value(json_object_get(d, "body"));
        ck_assert_msg(body && strncmp(body, "seq=", 4) == 0, "delivery %lld has body '%s'",
                      (long long)id, body ? body : "(not text)");
        char *end;
        long seq = strtol(body + 4, &end, 10);
        ck_assert_msg(*end == '\0' && seq >= 0 && seq < TOTAL, "bad body '%s'", body);
        ck_assert_msg(seen[seq] == 0, "sequence number %ld stored twice", seq);
        seen[seq] = 1;
        ck_assert_msg(answered_id[seq] == id,
                      "seq %ld was answered with id %lld but stored as %lld", seq,
                      (long long)answered_id[seq], (long long)id);
    }
    for (int s = 0; s < TOTAL; s++)
        ck_assert_msg(seen[s], "sequence number %d missing", s);
    json_decref(all);

    /* the CLI, reading the same file while the server runs, agrees */
    struct wh_run r;
    wh_run(&r, NULL, 30000, "deliveries", "count", "--db", db, NULL);
    ck_assert_int_eq(r.status, 0);
    ck_assert_str_eq(r.out, "4000\n");
    wh_run_free(&r);

    wh_server_finish(&srv);
    free(db);
    wh_tmpdir_remove(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("concurrency");
    TCase *tc = wh_tcase("concurrency", 100);
    tcase_add_test(tc, every_delivery_stored_once);
    suite_add_tcase(s, tc);
    return wh_run_suite(s);
}
