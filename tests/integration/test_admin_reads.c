/* Admin reads run off the HTTP threads: a query that takes long on a large database (the
 * messages view over 131 072 attempts, a long-poll's first count through every body) must not
 * hold up deliveries, even with one HTTP thread. */
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* Copy every row of the deliveries table onto its end, doublings times (ids are new). */
static void grow(const char *db, int doublings)
{
    sqlite3 *h = NULL;
    ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(h, "PRAGMA table_info(deliveries)", -1, &st, NULL),
                     SQLITE_OK);
    char cols[4096] = "";
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 1);
        if (strcmp(name, "id") == 0)
            continue;
        if (cols[0])
            strcat(cols, ",");
        ck_assert_uint_lt(strlen(cols) + strlen(name) + 2, sizeof(cols));
        strcat(cols, name);
    }
    sqlite3_finalize(st);
    char sql[9000];
    snprintf(sql, sizeof(sql), "INSERT INTO deliveries (%s) SELECT %s FROM deliveries", cols,
             cols);
    for (int i = 0; i < doublings; i++) {
        char *msg = NULL;
        int rc = sqlite3_exec(h, sql, NULL, NULL, &msg);
        ck_assert_msg(rc == SQLITE_OK, "growing the database: %s", msg ? msg : "?");
    }
    sqlite3_close(h);
}

struct slow_read {
    const struct wh_server *srv;
    const char *path;
    long status;
    int64_t start_us, end_us;
    atomic_bool done;
};

static void *slow_read_main(void *arg)
{
    struct slow_read *r = arg;
    struct wh_response resp;
    r->start_us = wh_now_us();
    wh_request(NULL, r->srv, "GET", r->path, NULL, NULL, 0, &resp);
    r->end_us = wh_now_us();
    r->status = resp.status;
    wh_response_free(&resp);
    atomic_store(&r->done, true);
    return NULL;
}

static const char *const one_thread[] = {"--quiet", "--threads", "1", NULL};

/* A database of 131 072 copies of one delivery with a 1 KiB body; returns its path in dir. */
static char *big_database(const char *dir)
{
    char *db = wh_path(dir, "big.db");
    struct wh_server srv;
    wh_server_start(&srv, dir, db, one_thread, NULL);
    char body[1100];
    snprintf(body, sizeof(body), "{\"id\":\"evt_1\",\"data\":{\"pad\":\"%01000d\"}}", 0);
    wh_post(&srv, "/seed", body);
    wh_server_finish(&srv);
    grow(db, 17);
    return db;
}

/* Deliveries sent one after another on one connection while a slow read runs. */
struct during {
    int answered;
    int in_window;        /* answered 100 ms or more into the read, before its answer */
    int64_t worst_window_us; /* the slowest of those */
    int64_t worst_us;     /* the slowest of all */
};

/* Start r's read on a thread and send deliveries until it is answered. */
static void deliver_during(const struct wh_server *srv, struct slow_read *r, struct during *out)
{
    memset(out, 0, sizeof(*out));
    atomic_init(&r->done, false);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, slow_read_main, r), 0);
    CURL *h = wh_curl();
    while (!atomic_load(&r->done)) {
        struct wh_response d;
        wh_request(h, srv, "POST", "/during", NULL, "{}", 2, &d);
        int64_t at = wh_now_us();
        ck_assert_int_eq(d.status, 200);
        out->answered++;
        if (d.elapsed_us > out->worst_us)
            out->worst_us = d.elapsed_us;
        if (!atomic_load(&r->done) && r->start_us && at > r->start_us + 100000) {
            out->in_window++;
            if (d.elapsed_us > out->worst_window_us)
                out->worst_window_us = d.elapsed_us;
        }
        wh_response_free(&d);
    }
    curl_easy_cleanup(h);
    pthread_join(t, NULL);
}

START_TEST(deliveries_answered_while_a_long_read_runs)
{
    char *dir = wh_tmpdir();
    char *db = big_database(dir);
    struct wh_server srv;
    wh_server_start(&srv, dir, db, one_thread, NULL);
    struct slow_read r = {.srv = &srv, .path = "/_webhooky/api/messages"};
    struct during d;
    deliver_during(&srv, &r, &d);
    int64_t read_ms = (r.end_us - r.start_us) / 1000;
    ck_assert_int_eq(r.status, 200);
    /* without a long enough read the test shows nothing */
    ck_assert_msg(read_ms >= 300, "the messages view took only %lld ms; grow the database",
                  (long long)read_ms);
    ck_assert_msg(d.in_window >= 100,
                  "only %d of %d deliveries were answered while the %lld ms read ran",
                  d.in_window, d.answered, (long long)read_ms);
    ck_assert_msg(d.worst_window_us < read_ms * 1000 / 2,
                  "a delivery took %lld us while the read ran (%lld ms)",
                  (long long)d.worst_window_us, (long long)read_ms);
    wh_server_finish(&srv);
    free(db);
    wh_tmpdir_remove(dir);
}
END_TEST

/* A long-poll first counts what is stored; with a body search that matches nothing the count
 * reads every body. Deliveries sent meanwhile must not wait for it. */
START_TEST(deliveries_answered_while_a_long_poll_counts)
{
    char *dir = wh_tmpdir();
    char *db = big_database(dir);
    struct wh_server srv;
    wh_server_start(&srv, dir, db, one_thread, NULL);
    /* what one pass through every body costs here, alone */
    int64_t t0 = wh_now_us();
    json_t *v = wh_api(&srv, 200, "/_webhooky/api/deliveries?q=zz-no-match&limit=1");
    int64_t scan_us = wh_now_us() - t0;
    json_decref(v);
    ck_assert_msg(scan_us >= 100000, "a pass through every body took only %lld us; grow the "
                  "database", (long long)scan_us);

    struct slow_read r = {.srv = &srv,
                          .path = "/_webhooky/api/deliveries?q=zz-no-match&wait_ms=1000"};
    struct during d;
    deliver_during(&srv, &r, &d);
    ck_assert_int_eq(r.status, 200);
    /* on the HTTP thread, the count would hold one of them up for about a whole pass */
    ck_assert_msg(d.worst_us < scan_us / 2,
                  "a delivery took %lld us while the long-poll counted (a pass: %lld us; %d sent)",
                  (long long)d.worst_us, (long long)scan_us, d.answered);
    wh_server_finish(&srv);
    free(db);
    wh_tmpdir_remove(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("admin_reads");
    TCase *tc = wh_tcase("admin_reads", 120);
    tcase_add_test(tc, deliveries_answered_while_a_long_read_runs);
    tcase_add_test(tc, deliveries_answered_while_a_long_poll_counts);
    suite_add_tcase(s, tc);
    return wh_run_suite(s);
}
