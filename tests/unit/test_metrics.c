/* Unit tests for metrics: the Prometheus text after known observations. */
#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "unit.h"

static struct config *cfg;

static void load_cfg(void)
{
    static const char text[] = "{\"endpoints\": ["
                               "{\"name\": \"github\", \"path\": \"/gh\"},"
                               "{\"name\": \"stripe\", \"path\": \"/st/*\"}]}";
    struct wh_error err = {0};
    ck_assert_int_eq(config_load_text(text, strlen(text), "m.json", &cfg, &err), 0);
}

static void free_cfg(void)
{
    config_destroy(cfg);
    cfg = NULL;
}

static metrics *create(void)
{
    metrics *m = NULL;
    struct wh_error err = {0};
    ck_assert_int_eq(metrics_create(cfg, &m, &err), 0);
    ck_assert_ptr_nonnull(m);
    return m;
}

static char *render(metrics *m, const struct writer_stats *ws)
{
    struct buf b;
    buf_init(&b, 0);
    ck_assert_int_eq(metrics_render(m, ws, &b), 0);
    ck_assert_ptr_nonnull(b.data);
    ck_assert_uint_gt(b.len, 0);
    ck_assert_int_eq(b.data[b.len - 1], '\n');
    return buf_steal(&b, NULL);
}

/* Is `line` one whole line of text? */
static bool has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
        if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
            return true;
    return false;
}

#define ASSERT_LINE(text, line)                                                                    \
    ck_assert_msg(has_line((text), (line)), "missing line '%s' in:\n%s", (line), (text))
#define ASSERT_NO_LINE(text, line)                                                                 \
    ck_assert_msg(!has_line((text), (line)), "unexpected line '%s' in:\n%s", (line), (text))

/* The value of the sample line starting with `prefix` ("name{labels} "), or -1. */
static long long sample(const char *text, const char *prefix)
{
    size_t n = strlen(prefix);
    for (const char *p = text; (p = strstr(p, prefix)) != NULL; p++)
        if (p == text || p[-1] == '\n')
            return strtoll(p + n, NULL, 10);
    return -1;
}

/* Every line is a comment or "name[{labels}] number". */
static void check_syntax(const char *text)
{
    const char *p = text;
    while (*p) {
        const char *end = strchr(p, '\n');
        ck_assert_ptr_nonnull(end);
        if (*p == '#') {
            ck_assert(strncmp(p, "# HELP ", 7) == 0 || strncmp(p, "# TYPE ", 7) == 0);
        } else {
            ck_assert_int_eq(strncmp(p, "webhooky_", 9), 0);
            const char *sp = end;
            while (sp > p && sp[-1] != ' ')
                sp--;
            ck_assert_ptr_ne(sp, p);
            char *num_end;
            strtod(sp, &num_end);
            ck_assert_msg(num_end == end, "bad sample line: %.*s", (int)(end - p), p);
        }
        p = end + 1;
    }
}

START_TEST(test_empty)
{
    metrics *m = create();
    struct writer_stats ws;
    memset(&ws, 0, sizeof(ws));
    char *t = render(m, &ws);
    check_syntax(t);
    ASSERT_LINE(t, "# TYPE webhooky_deliveries_total counter");
    ASSERT_LINE(t, "# TYPE webhooky_request_duration_seconds histogram");
    ck_assert_ptr_null(strstr(t, "webhooky_deliveries_total{"));
    ASSERT_LINE(t, "webhooky_request_duration_seconds_bucket{le=\"+Inf\"} 0");
    ASSERT_LINE(t, "webhooky_request_duration_seconds_count 0");
    ASSERT_LINE(t, "webhooky_store_errors_total 0");
    ASSERT_LINE(t, "webhooky_store_commits_total 0");
    free(t);
    metrics_destroy(m);
    metrics_destroy(NULL);
}
END_TEST

START_TEST(test_render_after_observations)
{
    metrics *m = create();
    metrics_observe_delivery(m, 1, 200, 100, 50);
    metrics_observe_delivery(m, 1, 200, 200, 100); /* exactly on the 0.0001 bound */
    metrics_observe_delivery(m, 1, 500, 0, 300);
    metrics_observe_delivery(m, 0, 404, 7, 2000000);
    metrics_observe_delivery(m, 0, 200, 1, 100000000); /* past the largest bound */
    metrics_observe_store_error(m);
    metrics_observe_store_error(m);

    struct writer_stats ws;
    memset(&ws, 0, sizeof(ws));
    ws.commits = 3;
    ws.jobs = 10;
    ws.batch_hist[0] = 1; /* 1 job */
    ws.batch_hist[2] = 1; /* 4-7 jobs */
    ws.batch_hist[3] = 1; /* 8-15 jobs */
    ws.wal_restarts = 4;
    ws.tail_checkpoints = 3;
    ws.limit_checkpoints = 1;

    char *t = render(m, &ws);
    check_syntax(t);
    ASSERT_LINE(t, "webhooky_deliveries_total{endpoint=\"github\",status=\"200\"} 2");
    ASSERT_LINE(t, "webhooky_deliveries_total{endpoint=\"github\",status=\"500\"} 1");
    ASSERT_LINE(t, "webhooky_deliveries_total{endpoint=\"\",status=\"404\"} 1");
    ASSERT_LINE(t, "webhooky_deliveries_total{endpoint=\"\",status=\"200\"} 1");
    ck_assert_ptr_null(strstr(t, "webhooky_deliveries_total{endpoint=\"stripe\""));
    ck_assert_ptr_null(strstr(t, "status=\"404\"} 2"));

    ASSERT_LINE(t, "webhooky_received_bytes_total{endpoint=\"github\"} 300");
    ASSERT_LINE(t, "webhooky_received_bytes_total{endpoint=\"\"} 8");
    ASSERT_LINE(t, "webhooky_received_bytes_total{endpoint=\"stripe\"} 0");

    ASSERT_LINE(t, "webhooky_request_duration_seconds_bucket{le=\"0.0001\"} 2");
    ASSERT_LINE(t, "webhooky_request_duration_seconds_bucket{le=\"0.00025\"} 2");
    ASSERT_LINE(t, "webhooky_request_duration_seconds_bucket{le=\"0.0005\"} 3");
    ASSERT_LINE(t, "webhooky_request_duration_seconds_bucket{le=\"1\"} 3");
    ASSERT_LINE(t, "webhooky_request_duration_seconds_bucket{le=\"2.5\"} 4");
    ASSERT_LINE(t, "webhooky_request_duration_seconds_bucket{le=\"60\"} 4");
    ASSERT_LINE(t, "webhooky_request_duration_seconds_bucket{le=\"+Inf\"} 5");
    ASSERT_LINE(t, "webhooky_request_duration_seconds_count 5");
    ASSERT_LINE(t, "webhooky_request_duration_seconds_sum 102.000450");

    ASSERT_LINE(t, "webhooky_commit_batch_size_bucket{le=\"1\"} 1");
    ASSERT_LINE(t, "webhooky_commit_batch_size_bucket{le=\"3\"} 1");
    ASSERT_LINE(t, "webhooky_commit_batch_size_bucket{le=\"7\"} 2");
    ASSERT_LINE(t, "webhooky_commit_batch_size_bucket{le=\"15\"} 3");
    ASSERT_LINE(t, "webhooky_commit_batch_size_bucket{le=\"+Inf\"} 3");
    ASSERT_LINE(t, "webhooky_commit_batch_size_sum 10");
    ASSERT_LINE(t, "webhooky_commit_batch_size_count 3");
    ASSERT_LINE(t, "webhooky_store_commits_total 3");
    ASSERT_LINE(t, "webhooky_store_errors_total 2");
    ASSERT_LINE(t, "webhooky_wal_restarts_total 4");
    ASSERT_LINE(t, "webhooky_writer_checkpoints_total{kind=\"tail\"} 3");
    ASSERT_LINE(t, "webhooky_writer_checkpoints_total{kind=\"limit\"} 1");
    free(t);
    metrics_destroy(m);
}
END_TEST

/* Walk the bucket lines of histogram `name`: cumulative, ending in +Inf == _count. */
static void check_histogram(const char *t, const char *name, long long want_count)
{
    char prefix[128];
    snprintf(prefix, sizeof(prefix), "%s_bucket{le=\"", name);
    long long prev = -1, inf = -1;
    double prev_le = -1;
    int buckets = 0;
    for (const char *p = t; (p = strstr(p, prefix)) != NULL; p++) {
        if (p != t && p[-1] != '\n')
            continue;
        const char *le = p + strlen(prefix);
        const char *close = strstr(le, "\"} ");
        ck_assert_ptr_nonnull(close);
        long long v = strtoll(close + 3, NULL, 10);
        ck_assert_int_ge(v, prev);
        prev = v;
        buckets++;
        if (strncmp(le, "+Inf\"", 5) == 0) {
            inf = v;
        } else {
            ck_assert_int_eq(inf, -1); /* +Inf comes last */
            double bound = strtod(le, NULL);
            ck_assert(bound > prev_le);
            prev_le = bound;
        }
    }
    ck_assert_int_ge(buckets, 2);
    ck_assert_int_eq(inf, prev);
    snprintf(prefix, sizeof(prefix), "%s_count ", name);
    ck_assert_int_eq(sample(t, prefix), inf);
    ck_assert_int_eq(inf, want_count);
}

START_TEST(test_histogram_cumulative)
{
    metrics *m = create();
    static const int64_t us[] = {0,       1,       99,       100,      101,   250,    999,
                                 1000,    1001,    4999,     25000,    99999, 250000, 1000000,
                                 4000000, 9000000, 29000000, 61000000, -5};
    for (size_t i = 0; i < sizeof(us) / sizeof(us[0]); i++)
        metrics_observe_delivery(m, 2, 200, 1, us[i]);
    struct writer_stats ws;
    memset(&ws, 0, sizeof(ws));
    for (int i = 0; i < 8; i++)
        ws.batch_hist[i] = (uint64_t)i + 1;
    ws.commits = 36;
    char *t = render(m, &ws);
    check_syntax(t);
    long long n = (long long)(sizeof(us) / sizeof(us[0]));
    check_histogram(t, "webhooky_request_duration_seconds", n);
    check_histogram(t, "webhooky_commit_batch_size", 36);
    /* bounds are inclusive (le): 0, 1, 99 and 100 us and the negative one are <= 0.0001 s */
    ASSERT_LINE(t, "webhooky_request_duration_seconds_bucket{le=\"0.0001\"} 5");
    ASSERT_LINE(t, "webhooky_request_duration_seconds_bucket{le=\"0.001\"} 9");
    ASSERT_LINE(t, "webhooky_request_duration_seconds_bucket{le=\"60\"} 18");
    ASSERT_LINE(t, "webhooky_deliveries_total{endpoint=\"stripe\",status=\"200\"} 19");
    free(t);
    metrics_destroy(m);
}
END_TEST

struct hammer {
    metrics *m;
    int n;
};

static void *hammer_main(void *arg)
{
    struct hammer *h = arg;
    for (int i = 0; i < h->n; i++)
        metrics_observe_delivery(h->m, 1, 200, 3, 10);
    return NULL;
}

START_TEST(test_concurrent_observations)
{
    metrics *m = create();
    enum { THREADS = 4, N = 20000 };
    pthread_t th[THREADS];
    struct hammer h = {m, N};
    for (int i = 0; i < THREADS; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, hammer_main, &h), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    struct writer_stats ws;
    memset(&ws, 0, sizeof(ws));
    char *t = render(m, &ws);
    ck_assert_int_eq(sample(t, "webhooky_deliveries_total{endpoint=\"github\",status=\"200\"} "),
                     THREADS * N);
    ck_assert_int_eq(sample(t, "webhooky_received_bytes_total{endpoint=\"github\"} "),
                     3LL * THREADS * N);
    ck_assert_int_eq(sample(t, "webhooky_request_duration_seconds_count "), THREADS * N);
    free(t);
    metrics_destroy(m);
}
END_TEST

START_TEST(test_render_appends)
{
    metrics *m = create();
    struct writer_stats ws;
    memset(&ws, 0, sizeof(ws));
    struct buf b;
    buf_init(&b, 0);
    ck_assert_int_eq(buf_append_str(&b, "# prefix\n"), 0);
    ck_assert_int_eq(metrics_render(m, &ws, &b), 0);
    ck_assert_int_eq(strncmp(b.data, "# prefix\n# HELP ", 16), 0);
    buf_finish(&b);

    /* a buffer too small for the text: an error, not a crash */
    buf_init(&b, 64);
    ck_assert_int_lt(metrics_render(m, &ws, &b), 0);
    buf_finish(&b);
    metrics_destroy(m);
}
END_TEST

static Suite *metrics_suite(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("metrics");
    tcase_add_checked_fixture(tc, load_cfg, free_cfg);
    tcase_add_test(tc, test_empty);
    tcase_add_test(tc, test_render_after_observations);
    tcase_add_test(tc, test_histogram_cumulative);
    tcase_add_test(tc, test_concurrent_observations);
    tcase_add_test(tc, test_render_appends);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(metrics_suite());
}
