/* Waiting holds no thread: 2 000 concurrent deliveries, each scripted to wait 1 000 ms, all
 * complete within 1 500 ms, and every one is recorded with its delay. */
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "harness.h"

#define CLIENTS 2000
#define DELAY_MS 1000
#define BOUND_MS 1500

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
    return size * n;
}

START_TEST(two_thousand_delayed_deliveries)
{
    /* this process holds 2 000 sockets at once */
    struct rlimit rl;
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_cur < CLIENTS + 200) {
        rl.rlim_cur = rl.rlim_max;
        ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
    }
    ck_assert_msg(rl.rlim_cur >= CLIENTS + 200, "the file descriptor limit (%llu) is too low",
                  (unsigned long long)rl.rlim_cur);

    char *dir = wh_tmpdir();
    char *db = wh_path(dir, "load.db");
    struct wh_server srv;
    const char *args[] = {"--respond", "200@1000ms", "--max-connections", "4000", "--quiet", NULL};
    wh_server_start(&srv, dir, db, args, NULL);

    char url[128];
    snprintf(url, sizeof(url), "%s/delayed", srv.url);
    CURLM *multi = curl_multi_init();
    curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, 0L);
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long)CLIENTS);
    CURL **easy = calloc(CLIENTS, sizeof(*easy));
    struct curl_slist *hdr = curl_slist_append(NULL, "Expect:");
    for (int i = 0; i < CLIENTS; i++) {
        easy[i] = curl_easy_init();
        curl_easy_setopt(easy[i], CURLOPT_URL, url);
        curl_easy_setopt(easy[i], CURLOPT_POSTFIELDS, "{\"n\":1}");
        curl_easy_setopt(easy[i], CURLOPT_HTTPHEADER, hdr);
        curl_easy_setopt(easy[i], CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(easy[i], CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(easy[i], CURLOPT_PROXY, "");
        curl_easy_setopt(easy[i], CURLOPT_TIMEOUT_MS, 20000L);
        curl_multi_add_handle(multi, easy[i]);
    }
    int64_t t0 = wh_now_ms();
    int running = 1, ok = 0, failed = 0;
    int64_t last_done = t0;
    while (running) {
        curl_multi_perform(multi, &running);
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(multi, &left))) {
            if (m->msg != CURLMSG_DONE)
                continue;
            long status = 0;
            curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
            if (m->data.result == CURLE_OK && status == 200)
                ok++;
            else
                failed++;
            last_done = wh_now_ms();
        }
        if (running)
            curl_multi_poll(multi, NULL, 0, 100, NULL);
    }
    int64_t total = last_done - t0;
    /* the slowest single transfer, and how long connecting all of them took */
    double worst = 0, connected = 0;
    for (int i = 0; i < CLIENTS; i++) {
        double t = 0, c = 0;
        curl_easy_getinfo(easy[i], CURLINFO_TOTAL_TIME, &t);
        curl_easy_getinfo(easy[i], CURLINFO_CONNECT_TIME, &c);
        worst = t > worst ? t : worst;
        connected = c > connected ? c : connected;
    }
    for (int i = 0; i < CLIENTS; i++) {
        curl_multi_remove_handle(multi, easy[i]);
        curl_easy_cleanup(easy[i]);
    }
    free(easy);
    curl_slist_free_all(hdr);
    curl_multi_cleanup(multi);

    fprintf(stderr,
            "%d deliveries delayed %d ms: all answered after %lld ms (%d failed); slowest "
            "transfer %.0f ms, last connection after %.0f ms\n",
            CLIENTS, DELAY_MS, (long long)total, failed, worst * 1000, connected * 1000);
    ck_assert_int_eq(failed, 0);
    ck_assert_int_eq(ok, CLIENTS);
    ck_assert_msg(total >= DELAY_MS, "answered after %lld ms, before the delay", (long long)total);
    ck_assert_msg(total <= BOUND_MS, "%d delayed deliveries took %lld ms (bound %d ms)", CLIENTS,
                  (long long)total, BOUND_MS);
    ck_assert_int_eq(wh_last_id(&srv), CLIENTS);
    wh_server_finish(&srv);
    free(db);
    wh_tmpdir_remove(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("delay_load");
    TCase *tc = wh_tcase("load", 120);
    tcase_add_test(tc, two_thousand_delayed_deliveries);
    suite_add_tcase(s, tc);
    return wh_run_suite(s);
}
