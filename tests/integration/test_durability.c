/* Durability under SIGKILL: "acknowledged means recorded". Keep-alive loaders send numbered
 * deliveries; after about a second of load the server is killed with SIGKILL; a new server on
 * the same database must hold every number that was answered 2xx, under the id it was answered
 * with. Three kills in a row, on the same file. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

enum { LOADERS = 4, ROUNDS = 3, CAP = 1 << 21, LOAD_MS = 1000, MIN_ANSWERED = 100 };

static struct wh_server srv;
static atomic_int next_number;
static atomic_bool killed;
static atomic_int answered_in_round;
static int64_t *answered_id; /* by number; 0: not answered 2xx */

struct loader {
    int unexpected; /* failures before the kill */
    char first_unexpected[256];
    pthread_t thread;
};

static void *loader_main(void *arg)
{
    struct loader *l = arg;
    CURL *h = wh_curl();
    const char *hdrs[] = {"Content-Type: text/plain", NULL};
    for (;;) {
        int n = atomic_fetch_add(&next_number, 1);
        if (n >= CAP)
            break;
        char body[32];
        int len = snprintf(body, sizeof(body), "n=%d", n);
        struct wh_response r;
        wh_request(h, &srv, "POST", "/durable", hdrs, body, (size_t)len, &r);
        json_t *v =
            r.status >= 200 && r.status < 300 ? json_loadb(r.body, r.body_len, 0, NULL) : NULL;
        int64_t id = v ? json_integer_value(json_object_get(v, "id")) : 0;
        json_decref(v);
        if (id > 0) {
            answered_id[n] = id;
            atomic_fetch_add(&answered_in_round, 1);
        } else {
            if (!atomic_load(&killed) && l->unexpected++ == 0)
                snprintf(l->first_unexpected, sizeof(l->first_unexpected),
                         "n=%d: %s, status %ld, %.100s", n, curl_easy_strerror(r.rc), r.status,
                         r.body);
            wh_response_free(&r);
            break; /* the server is gone (or failing): stop this loader */
        }
        wh_response_free(&r);
    }
    curl_easy_cleanup(h);
    return NULL;
}

/* Check that every number in [from, to) answered 2xx is stored under its id, reading the rows
 * with id > since_id; returns the largest id stored. */
static int64_t verify(int from, int to, int64_t since_id, int round)
{
    json_t *rows = wh_all_deliveries(&srv, since_id);
    int64_t *stored = calloc((size_t)(to - from) + 1, sizeof(int64_t));
    ck_assert_ptr_nonnull(stored);
    int64_t max_id = since_id;
    size_t i;
    json_t *d;
    json_array_foreach(rows, i, d)
    {
        int64_t id = json_integer_value(json_object_get(d, "id"));
        if (id > max_id)
            max_id = id;
        const char *body = json_string_value(json_object_get(d, "body"));
        if (!body || strncmp(body, "n=", 2) != 0)
            continue; /* e.g. the probe delivery below */
        long n = strtol(body + 2, NULL, 10);
        ck_assert_msg(n >= from && n < to, "round %d: a stored number %ld outside [%d, %d)", round,
                      n, from, to);
        ck_assert_msg(stored[n - from] == 0, "round %d: number %ld stored twice", round, n);
        stored[n - from] = id;
    }
    int answered = 0, in_flight_stored = 0;
    for (int n = from; n < to; n++) {
        if (answered_id[n]) {
            answered++;
            ck_assert_msg(stored[n - from] != 0,
                          "round %d: number %d was answered 2xx (id %lld) but is not in the "
                          "database after SIGKILL",
                          round, n, (long long)answered_id[n]);
            ck_assert_msg(stored[n - from] == answered_id[n],
                          "round %d: number %d was answered with id %lld but stored as %lld", round,
                          n, (long long)answered_id[n], (long long)stored[n - from]);
        } else if (stored[n - from]) {
            in_flight_stored++;
        }
    }
    fprintf(stderr,
            "round %d: %d answered 2xx before SIGKILL, all stored (%d more in flight "
            "were stored too)\n",
            round, answered, in_flight_stored);
    free(stored);
    json_decref(rows);
    return max_id;
}

START_TEST(answered_deliveries_survive_sigkill)
{
    answered_id = calloc(CAP, sizeof(int64_t));
    ck_assert_ptr_nonnull(answered_id);
    char *dir = wh_tmpdir();
    char *db = wh_path(dir, "durable.db");
    const char *const args[] = {"--quiet", NULL};
    int64_t verified_upto = 0; /* rows with ids up to this were checked */
    int from = 0;
    atomic_store(&next_number, 0);

    wh_server_start(&srv, dir, db, args, NULL);
    for (int round = 1; round <= ROUNDS; round++) {
        atomic_store(&killed, false);
        atomic_store(&answered_in_round, 0);
        struct loader l[LOADERS];
        for (int i = 0; i < LOADERS; i++) {
            memset(&l[i], 0, sizeof(l[i]));
            ck_assert_int_eq(pthread_create(&l[i].thread, NULL, loader_main, &l[i]), 0);
        }
        /* about a second of load, and at least some deliveries answered */
        int64_t start = wh_now_ms();
        while (wh_now_ms() - start < LOAD_MS || atomic_load(&answered_in_round) < MIN_ANSWERED) {
            ck_assert_msg(wh_now_ms() - start < 20000, "round %d: only %d answered in 20 s", round,
                          atomic_load(&answered_in_round));
            wh_sleep_ms(10);
        }
        atomic_store(&killed, true);
        int st = wh_server_stop(&srv, SIGKILL, 5000, NULL);
        ck_assert_int_eq(st, -SIGKILL);
        for (int i = 0; i < LOADERS; i++) {
            pthread_join(l[i].thread, NULL);
            ck_assert_msg(l[i].unexpected == 0, "round %d, loader %d: failed before the kill: %s",
                          round, i, l[i].first_unexpected);
        }
        int to = atomic_load(&next_number);
        if (to > CAP)
            to = CAP;

        /* a new server on the same file holds every acknowledged delivery */
        wh_server_start(&srv, dir, db, args, NULL);
        verified_upto = verify(from, to, verified_upto, round);
        from = to;
        atomic_store(&next_number, to);

        /* ids are never reused: a new delivery gets an id above everything stored */
        int64_t probe = wh_post(&srv, "/probe", "probe");
        ck_assert_msg(probe > verified_upto,
                      "after restart %d the new id %lld is not above the stored %lld", round,
                      (long long)probe, (long long)verified_upto);
        verified_upto = probe;
    }

    /* nothing acknowledged was lost in total either */
    long total = 0;
    for (int n = 0; n < from; n++)
        total += answered_id[n] != 0;
    struct wh_run r;
    wh_run(&r, NULL, 30000, "deliveries", "count", "--db", db, NULL);
    ck_assert_int_eq(r.status, 0);
    ck_assert_msg(strtol(r.out, NULL, 10) >= total + ROUNDS, "%s rows, %ld answered + %d probes",
                  r.out, total, ROUNDS);
    wh_run_free(&r);

    wh_server_finish(&srv);
    free(db);
    free(answered_id);
    wh_tmpdir_remove(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("durability");
    TCase *tc = wh_tcase("durability", 100);
    tcase_add_test(tc, answered_deliveries_survive_sigkill);
    suite_add_tcase(s, tc);
    return wh_run_suite(s);
}
