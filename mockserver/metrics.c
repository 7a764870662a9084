#include "metrics.h"

#include "signature.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define STATUS_MIN 100
#define STATUS_MAX 599
#define N_STATUS (STATUS_MAX - STATUS_MIN + 1)

static const double duration_bounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                          0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5,
                                          5,      10,      30,     60};
#define N_BOUNDS (sizeof(duration_bounds) / sizeof(duration_bounds[0]))

#define N_VERDICTS 6
static const char *const schema_statuses[] = {"valid", "invalid", "no_schema", "not_json"};
#define N_SCHEMA 4
/* scripted faults, in the order of enum script_fault from FAULT_RESET */
static const char *const fault_names[] = {"reset", "close", "hang", "dribble", "partial",
                                          "malformed"};
#define N_FAULTS 6

struct slot {
    atomic_uint_fast64_t by_status[N_STATUS];
    atomic_uint_fast64_t by_verdict[N_VERDICTS];
    atomic_uint_fast64_t by_schema[N_SCHEMA];
    atomic_uint_fast64_t schema_failures;
    atomic_uint_fast64_t by_fault[N_FAULTS];
    atomic_uint_fast64_t bytes;
};

struct metrics {
    const struct config *cfg;
    size_t n_slots;
    struct slot *slots;
    atomic_uint_fast64_t duration_buckets[N_BOUNDS + 1]; /* last: +Inf */
    atomic_uint_fast64_t duration_sum_us;
    atomic_uint_fast64_t store_errors;
};

int metrics_create(const struct config *cfg, metrics **ret, struct wh_error *err)
{
    metrics *m = calloc(1, sizeof(*m));
    if (!m)
        return wh_error_set(err, -ENOMEM, "out of memory");
    m->cfg = cfg;
    m->n_slots = cfg->n_endpoints + 1;
    m->slots = calloc(m->n_slots, sizeof(*m->slots));
    if (!m->slots) {
        free(m);
        return wh_error_set(err, -ENOMEM, "out of memory");
    }
    *ret = m;
    return 0;
}

void metrics_destroy(metrics *m)
{
    if (!m)
        return;
    free(m->slots);
    free(m);
}

void metrics_observe_delivery(metrics *m, size_t slot, int status, uint64_t bytes,
                              int64_t duration_us)
{
    if (slot >= m->n_slots)
        slot = 0;
    if (status >= STATUS_MIN && status <= STATUS_MAX)
        atomic_fetch_add_explicit(&m->slots[slot].by_status[status - STATUS_MIN], 1,
                                  memory_order_relaxed);
    atomic_fetch_add_explicit(&m->slots[slot].bytes, bytes, memory_order_relaxed);
    if (duration_us < 0)
        duration_us = 0;
    double s = (double)duration_us / 1e6;
    size_t b = 0;
    while (b < N_BOUNDS && s > duration_bounds[b])
        b++;
    atomic_fetch_add_explicit(&m->duration_buckets[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->duration_sum_us, (uint64_t)duration_us, memory_order_relaxed);
}

void metrics_observe_signature(metrics *m, size_t slot, int status)
{
    if (slot < m->n_slots && status >= 0 && status < N_VERDICTS)
        atomic_fetch_add_explicit(&m->slots[slot].by_verdict[status], 1, memory_order_relaxed);
}

void metrics_observe_schema(metrics *m, size_t slot, const char *status, bool failed)
{
    if (slot >= m->n_slots)
        return;
    for (size_t i = 0; i < N_SCHEMA; i++)
        if (strcmp(status, schema_statuses[i]) == 0)
            atomic_fetch_add_explicit(&m->slots[slot].by_schema[i], 1, memory_order_relaxed);
    if (failed)
        atomic_fetch_add_explicit(&m->slots[slot].schema_failures, 1, memory_order_relaxed);
}

void metrics_observe_fault(metrics *m, size_t slot, const char *fault)
{
    for (size_t i = 0; slot < m->n_slots && i < N_FAULTS; i++)
        if (strcmp(fault, fault_names[i]) == 0)
            atomic_fetch_add_explicit(&m->slots[slot].by_fault[i], 1, memory_order_relaxed);
}

void metrics_observe_store_error(metrics *m)
{
    atomic_fetch_add_explicit(&m->store_errors, 1, memory_order_relaxed);
}

static const char *slot_name(const metrics *m, size_t i)
{
    /* endpoint names are restricted to [A-Za-z0-9._-], so they need no label escaping */
    return i == 0 ? "" : m->cfg->endpoints[i - 1].name;
}

int metrics_render(metrics *m, const struct writer_stats *ws, struct buf *out)
{
    int r = 0;
    r |= buf_append_str(out, "# HELP webhooky_deliveries_total Deliveries answered, by endpoint "
                             "(\"\" is the catch-all) and HTTP status (those closed without an "
                             "answer are in webhooky_scripted_faults_total).\n"
                             "# TYPE webhooky_deliveries_total counter\n");
    for (size_t i = 0; i < m->n_slots; i++)
        for (int s = 0; s < N_STATUS; s++) {
            uint64_t v = atomic_load_explicit(&m->slots[i].by_status[s], memory_order_relaxed);
            if (v)
                r |= buf_printf(out, "webhooky_deliveries_total{endpoint=\"%s\",status=\"%d\"} %llu\n",
                                slot_name(m, i), s + STATUS_MIN, (unsigned long long)v);
        }
    r |= buf_append_str(out, "# HELP webhooky_signature_verdicts_total Signature verdicts, by "
                             "endpoint and status.\n"
                             "# TYPE webhooky_signature_verdicts_total counter\n");
    for (size_t i = 0; i < m->n_slots; i++)
        for (int v = 0; v < N_VERDICTS; v++) {
            uint64_t n = atomic_load_explicit(&m->slots[i].by_verdict[v], memory_order_relaxed);
            if (n)
                r |= buf_printf(out,
                                "webhooky_signature_verdicts_total{endpoint=\"%s\",status=\"%s\"} "
                                "%llu\n", slot_name(m, i), sig_status_name((enum sig_status)v),
                                (unsigned long long)n);
        }
    r |= buf_append_str(out, "# HELP webhooky_schema_verdicts_total Payload schema verdicts, by "
                             "endpoint and status.\n"
                             "# TYPE webhooky_schema_verdicts_total counter\n");
    for (size_t i = 0; i < m->n_slots; i++)
        for (size_t v = 0; v < N_SCHEMA; v++) {
            uint64_t n = atomic_load_explicit(&m->slots[i].by_schema[v], memory_order_relaxed);
            if (n)
                r |= buf_printf(out,
                                "webhooky_schema_verdicts_total{endpoint=\"%s\",status=\"%s\"} "
                                "%llu\n", slot_name(m, i), schema_statuses[v],
                                (unsigned long long)n);
        }
    r |= buf_append_str(out, "# HELP webhooky_schema_failures_total Deliveries whose payload "
                             "failed its schema (no schema counts only with require).\n"
                             "# TYPE webhooky_schema_failures_total counter\n");
    for (size_t i = 0; i < m->n_slots; i++) {
        uint64_t n = atomic_load_explicit(&m->slots[i].schema_failures, memory_order_relaxed);
        if (n)
            r |= buf_printf(out, "webhooky_schema_failures_total{endpoint=\"%s\"} %llu\n",
                            slot_name(m, i), (unsigned long long)n);
    }
    r |= buf_append_str(out, "# HELP webhooky_scripted_faults_total Deliveries a response "
                             "script answered with a fault instead of (or while) answering, by "
                             "endpoint and fault.\n"
                             "# TYPE webhooky_scripted_faults_total counter\n");
    for (size_t i = 0; i < m->n_slots; i++)
        for (size_t f = 0; f < N_FAULTS; f++) {
            uint64_t n = atomic_load_explicit(&m->slots[i].by_fault[f], memory_order_relaxed);
            if (n)
                r |= buf_printf(out,
                                "webhooky_scripted_faults_total{endpoint=\"%s\",fault=\"%s\"} "
                                "%llu\n", slot_name(m, i), fault_names[f], (unsigned long long)n);
        }
    r |= buf_append_str(out, "# HELP webhooky_received_bytes_total Body bytes received, by "
                             "endpoint.\n# TYPE webhooky_received_bytes_total counter\n");
    for (size_t i = 0; i < m->n_slots; i++)
        r |= buf_printf(out, "webhooky_received_bytes_total{endpoint=\"%s\"} %llu\n",
                        slot_name(m, i),
                        (unsigned long long)atomic_load_explicit(&m->slots[i].bytes,
                                                                 memory_order_relaxed));

    r |= buf_append_str(out, "# HELP webhooky_request_duration_seconds Time from a delivery's "
                             "headers to its answer being queued.\n"
                             "# TYPE webhooky_request_duration_seconds histogram\n");
    uint64_t cum = 0;
    for (size_t b = 0; b <= N_BOUNDS; b++) {
        cum += atomic_load_explicit(&m->duration_buckets[b], memory_order_relaxed);
        if (b < N_BOUNDS)
            r |= buf_printf(out, "webhooky_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
                            duration_bounds[b], (unsigned long long)cum);
        else
            r |= buf_printf(out, "webhooky_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
                            (unsigned long long)cum);
    }
    r |= buf_printf(out, "webhooky_request_duration_seconds_sum %.6f\n",
                    (double)atomic_load(&m->duration_sum_us) / 1e6);
    r |= buf_printf(out, "webhooky_request_duration_seconds_count %llu\n", (unsigned long long)cum);

    r |= buf_append_str(out, "# HELP webhooky_commit_batch_size Jobs committed per transaction.\n"
                             "# TYPE webhooky_commit_batch_size histogram\n");
    cum = 0;
    static const int batch_le[] = {1, 3, 7, 15, 31, 63, 127};
    for (size_t b = 0; b < 7; b++) {
        cum += ws->batch_hist[b];
        r |= buf_printf(out, "webhooky_commit_batch_size_bucket{le=\"%d\"} %llu\n", batch_le[b],
                        (unsigned long long)cum);
    }
    cum += ws->batch_hist[7];
    r |= buf_printf(out, "webhooky_commit_batch_size_bucket{le=\"+Inf\"} %llu\n",
                    (unsigned long long)cum);
    r |= buf_printf(out, "webhooky_commit_batch_size_sum %llu\n", (unsigned long long)ws->jobs);
    r |= buf_printf(out, "webhooky_commit_batch_size_count %llu\n", (unsigned long long)cum);
    r |= buf_printf(out, "# HELP webhooky_store_commits_total Transactions committed.\n"
                         "# TYPE webhooky_store_commits_total counter\n"
                         "webhooky_store_commits_total %llu\n",
                    (unsigned long long)ws->commits);
    r |= buf_printf(out,
                    "# HELP webhooky_wal_restarts_total Times the write-ahead log started over "
                    "after being copied back into the database.\n"
                    "# TYPE webhooky_wal_restarts_total counter\n"
                    "webhooky_wal_restarts_total %llu\n"
                    "# HELP webhooky_writer_checkpoints_total Copies of the write-ahead log back "
                    "into the database that the writer made itself: the short rest behind the "
                    "background checkpointer (tail), or all of it once the log reached its limit "
                    "because the checkpointer fell behind (limit; deliveries wait meanwhile).\n"
                    "# TYPE webhooky_writer_checkpoints_total counter\n"
                    "webhooky_writer_checkpoints_total{kind=\"tail\"} %llu\n"
                    "webhooky_writer_checkpoints_total{kind=\"limit\"} %llu\n",
                    (unsigned long long)ws->wal_restarts, (unsigned long long)ws->tail_checkpoints,
                    (unsigned long long)ws->limit_checkpoints);
    r |= buf_printf(out, "# HELP webhooky_store_errors_total Deliveries that could not be stored "
                         "(answered 500).\n# TYPE webhooky_store_errors_total counter\n"
                         "webhooky_store_errors_total %llu\n",
                    (unsigned long long)atomic_load(&m->store_errors));
    return r ? -ENOMEM : 0;
}
