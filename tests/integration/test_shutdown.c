/* Graceful shutdown: SIGTERM or SIGINT while deliveries are arriving and a long-poll is parked.
 * The process exits 0 within 3 s, the long-poll is answered, and every delivery that was
 * answered 200 is in the database. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

enum { SENDERS = 3, MAX_PER_SENDER = 200000 };

static struct wh_server srv;
static atomic_bool stop_sending;
static atomic_int answered_total;

struct sender {
    int index;
    int64_t *ids; /* ids answered 200 */
    int n;
    pthread_t thread;
};

static void *sender_main(void *arg)
{
    struct sender *s = arg;
    CURL *h = wh_curl();
    for (int i = 0; !atomic_load(&stop_sending) && s->n < MAX_PER_SENDER; i++) {
        char body[64];
        int len = snprintf(body, sizeof(body), "sender=%d n=%d", s->index, i);
        struct wh_response r;
        wh_request(h, &srv, "POST", "/shutdown", NULL, body, (size_t)len, &r);
        if (r.status == 200) {
            json_t *v = json_loadb(r.body, r.body_len, 0, NULL);
            int64_t id = json_integer_value(json_object_get(v, "id"));
            json_decref(v);
            if (id > 0) {
                s->ids[s->n++] = id;
                atomic_fetch_add(&answered_total, 1);
            }
        }
        wh_response_free(&r);
    }
    curl_easy_cleanup(h);
    return NULL;
}

struct poll_state {
    atomic_bool request_sent; /* curl has written the whole request */
    struct wh_response r;
    int64_t end_us;
    pthread_t thread;
};

static int on_debug(CURL *h, curl_infotype type, char *data, size_t size, void *arg)
{
    struct poll_state *p = arg;
    if (type == CURLINFO_HEADER_OUT)
        atomic_store(&p->request_sent, true);
    return 0;
}

static void *poll_main(void *arg)
{
    struct poll_state *p = arg;
    CURL *h = wh_curl();
    char url[160];
    snprintf(url, sizeof(url), "%s/_webhooky/api/deliveries?wait_ms=60000&min_count=1000000",
             srv.url);
    memset(&p->r, 0, sizeof(p->r));
    /* the harness's wh_request resets handles, so this one is set up by hand for the debug hook */
    FILE *body = open_memstream(&p->r.body, &p->r.body_len);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 60000L);
    curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, on_debug);
    curl_easy_setopt(h, CURLOPT_DEBUGDATA, p);
    curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
    p->r.rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &p->r.status);
    p->end_us = wh_now_us();
    fclose(body);
    curl_easy_cleanup(h);
    return NULL;
}

/* Wait (polling a counter, at most 20 s) until `target` deliveries have been answered. */
static void wait_answered(int target)
{
    int64_t deadline = wh_now_ms() + 20000;
    while (atomic_load(&answered_total) < target) {
        ck_assert_msg(wh_now_ms() < deadline, "only %d of %d deliveries answered in 20 s",
                      atomic_load(&answered_total), target);
        wh_sleep_ms(5);
    }
}

static const int signals[] = {SIGTERM, SIGINT};

START_TEST(stops_cleanly_without_losing_answered_deliveries)
{
    int sig = signals[_i];
    char *dir = wh_tmpdir();
    char *db = wh_path(dir, "shutdown.db");
    wh_server_start(&srv, dir, db, NULL, NULL);
    atomic_store(&stop_sending, false);
    atomic_store(&answered_total, 0);

    struct poll_state poll;
    memset(&poll, 0, sizeof(poll));
    ck_assert_int_eq(pthread_create(&poll.thread, NULL, poll_main, &poll), 0);
    int64_t deadline = wh_now_ms() + 10000;
    while (!atomic_load(&poll.request_sent)) {
        ck_assert_msg(wh_now_ms() < deadline, "the long-poll request was not sent in 10 s");
        wh_sleep_ms(2);
    }

    struct sender s[SENDERS];
    for (int i = 0; i < SENDERS; i++) {
        memset(&s[i], 0, sizeof(s[i]));
        s[i].index = i;
        s[i].ids = calloc(MAX_PER_SENDER, sizeof(int64_t));
        ck_assert_ptr_nonnull(s[i].ids);
        ck_assert_int_eq(pthread_create(&s[i].thread, NULL, sender_main, &s[i]), 0);
    }
    /* the long-poll was sent before any of these: by now the server has long parked it */
    wait_answered(200);

    int64_t signal_us = wh_now_us();
    int64_t ms = 0;
    int status = wh_server_stop(&srv, sig, 3000, &ms);
    atomic_store(&stop_sending, true);
    for (int i = 0; i < SENDERS; i++)
        pthread_join(s[i].thread, NULL);
    pthread_join(poll.thread, NULL);

    char *err = wh_server_stderr(&srv);
    ck_assert_msg(status == 0, "%s: exit status %d after %lld ms (WH_TIMED_OUT is %d); stderr:\n%s",
                  sig == SIGTERM ? "SIGTERM" : "SIGINT", status, (long long)ms, WH_TIMED_OUT, err);
    ck_assert_msg(ms < 3000, "stopping took %lld ms", (long long)ms);
    ck_assert_msg(strstr(err, sig == SIGTERM ? "SIGTERM received" : "SIGINT received"),
                  "stderr does not say which signal stopped it:\n%s", err);
    free(err);

    /* the parked long-poll was answered, not dropped */
    ck_assert_msg(poll.r.status == 200, "the parked long-poll got status %ld (%s) at shutdown",
                  poll.r.status, curl_easy_strerror(poll.r.rc));
    ck_assert_msg(poll.end_us >= signal_us, "the long-poll returned before the signal");
    json_t *pv = json_loadb(poll.r.body, poll.r.body_len, 0, NULL);
    ck_assert_msg(pv && json_is_array(json_object_get(pv, "deliveries")),
                  "the long-poll's answer is not a list: %s", poll.r.body);
    json_decref(pv);
    free(poll.r.body);

    /* every delivery answered 200 is in the database */
    struct wh_run r;
    wh_run(&r, NULL, 30000, "deliveries", "export", "--db", db, NULL);
    ck_assert_msg(r.status == 0, "export: status %d: %s", r.status, r.err);
    int64_t max_id = 0;
    size_t rows = 0;
    for (char *line = r.out, *nl; *line; line = nl + 1) {
        nl = strchr(line, '\n');
        ck_assert_ptr_nonnull(nl);
        json_t *d = json_loadb(line, (size_t)(nl - line), 0, NULL);
        ck_assert_msg(d != NULL, "export line %zu is not JSON", rows + 1);
        int64_t id = json_integer_value(json_object_get(d, "id"));
        if (id > max_id)
            max_id = id;
        rows++;
        json_decref(d);
    }
    unsigned char *present = calloc((size_t)max_id + 1, 1);
    ck_assert_ptr_nonnull(present);
    for (char *line = r.out, *nl; *line; line = nl + 1) {
        nl = strchr(line, '\n');
        json_t *d = json_loadb(line, (size_t)(nl - line), 0, NULL);
        present[json_integer_value(json_object_get(d, "id"))] = 1;
        json_decref(d);
    }
    int answered = 0;
    for (int i = 0; i < SENDERS; i++) {
        for (int k = 0; k < s[i].n; k++) {
            int64_t id = s[i].ids[k];
            ck_assert_msg(id <= max_id && present[id],
                          "delivery %lld was answered 200 but is not in the database",
                          (long long)id);
        }
        answered += s[i].n;
        free(s[i].ids);
    }
    ck_assert_msg(rows >= (size_t)answered, "%zu rows stored, %d answered 200", rows, answered);
    fprintf(stderr, "%s: exit 0 after %lld ms; %d deliveries answered 200, %zu stored\n",
            sig == SIGTERM ? "SIGTERM" : "SIGINT", (long long)ms, answered, rows);
    free(present);
    wh_run_free(&r);
    free(db);
    wh_tmpdir_remove(dir);
}
END_TEST

/* Scripted waits do not hold up a stop: with deliveries parked on a 60 s delay and a 60 s
 * hang, SIGTERM ends the process within 2 s; the delayed one is answered, the hung one closed,
 * and both are in the database. */
struct waiting {
    const char *path;
    struct wh_response r;
    pthread_t thread;
};

static void *waiting_main(void *arg)
{
    struct waiting *w = arg;
    wh_request_timeout(NULL, &srv, "POST", w->path, NULL, "{}", 2, 30000, &w->r);
    return NULL;
}

START_TEST(stop_ends_scripted_waits)
{
    char *dir = wh_tmpdir();
    char *cfg = wh_path(dir, "slow.json");
    wh_write_file(cfg, "{\"endpoints\": [{\"name\": \"slow\", \"path\": \"/slow\", "
                       "\"responses\": \"200@60s\"}, {\"name\": \"hung\", \"path\": \"/hung\", "
                       "\"responses\": \"hang:60s\"}]}");
    char *db = wh_path(dir, "slow.db");
    wh_server_start(&srv, dir, db, (const char *const[]){"--config", cfg, NULL}, NULL);
    struct waiting w[2] = {{.path = "/slow"}, {.path = "/hung"}};
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&w[i].thread, NULL, waiting_main, &w[i]), 0);
    /* readiness: both are stored (and so parked on their waits) */
    json_t *v = wh_api(&srv, 200, "/_webhooky/api/deliveries?wait_ms=10000&min_count=2");
    ck_assert_uint_eq(json_array_size(json_object_get(v, "deliveries")), 2);
    json_decref(v);
    int64_t ms = 0;
    int status = wh_server_stop(&srv, SIGTERM, 10000, &ms);
    ck_assert_msg(status == 0, "exit status %d", status);
    ck_assert_msg(ms < 2000, "stopping with scripted waits took %lld ms", (long long)ms);
    for (int i = 0; i < 2; i++)
        pthread_join(w[i].thread, NULL);
    ck_assert_msg(w[0].r.status == 200, "the delayed delivery got %ld (%s)", w[0].r.status,
                  curl_easy_strerror(w[0].r.rc));
    ck_assert_msg(w[1].r.rc == CURLE_GOT_NOTHING, "the hung delivery: %s",
                  curl_easy_strerror(w[1].r.rc));
    for (int i = 0; i < 2; i++)
        wh_response_free(&w[i].r);
    struct wh_run r;
    wh_run(&r, NULL, 10000, "deliveries", "count", "--db", db, NULL);
    ck_assert_int_eq(r.status, 0);
    ck_assert_str_eq(r.out, "2\n");
    wh_run_free(&r);
    free(cfg);
    free(db);
    wh_tmpdir_remove(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("shutdown");
    TCase *tc = wh_tcase("shutdown", 40);
    tcase_add_loop_test(tc, stops_cleanly_without_losing_answered_deliveries, 0, 2);
    tcase_add_test(tc, stop_ends_scripted_waits);
    suite_add_tcase(s, tc);
    return wh_run_suite(s);
}
