/* Unit tests for writer: group commit from many threads, the commit hook, sealing, deletes,
 * flushing and shutting down. Completion is awaited with condition variables, never sleeps. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "writer.h"
#include "unit.h"

static char dir[64];

static void make_dir(void)
{
    unit_mkdtemp(dir, sizeof(dir));
}

static void remove_dir(void)
{
    unit_rmtree(dir);
}

static void db_path(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s/%s", dir, name);
}

/* One job and what the test saw of it. The writer_job comes first so a job pointer is a
 * record pointer. */
struct rec {
    struct writer_job job;
    struct ctx *ctx;
    bool committed_seen; /* set by the commit hook */
    int64_t hook_last_id;
    bool done;
    bool done_after_commit;
};

struct ctx {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int done;       /* done callbacks run */
    int hook_calls; /* commit hook calls */
    int hook_jobs;  /* jobs seen by the hook */
    int hook_bad;   /* hook saw a job it should not have, or a bad last_id */
    int64_t max_hook_last_id;
    const char *verify_path; /* when set, done() reads the row back from its own connection */
    int verify_failures;
};

static void ctx_init(struct ctx *c)
{
    memset(c, 0, sizeof(*c));
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->cond, NULL);
}

static void ctx_finish(struct ctx *c)
{
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->cond);
}

static void on_commit(void *arg, const struct writer_job *batch, int64_t last_id)
{
    struct ctx *c = arg;
    int n = 0, bad = 0;
    for (const struct writer_job *j = batch; j; j = j->next) {
        struct rec *r = j->arg; /* every job of these tests points at its record */
        if (r->ctx != c || r->done || r->committed_seen)
            bad++;
        r->committed_seen = true;
        r->hook_last_id = last_id;
        if (j->kind == WRITER_INSERT && j->rc == 0 && j->result > last_id)
            bad++;
        n++;
    }
    pthread_mutex_lock(&c->lock);
    c->hook_calls++;
    c->hook_jobs += n;
    c->hook_bad += bad;
    if (last_id < c->max_hook_last_id)
        c->hook_bad++; /* the published last id never goes back */
    c->max_hook_last_id = last_id;
    pthread_mutex_unlock(&c->lock);
}

static void on_done(struct writer_job *job, void *arg)
{
    struct rec *r = arg;
    struct ctx *c = r->ctx;
    ck_assert_ptr_eq(&r->job, job);
    r->done_after_commit = r->committed_seen;
    int verify_failed = 0;
    if (c->verify_path && job->kind == WRITER_INSERT && job->rc == 0) {
        /* the row is committed: a connection of our own already sees it */
        store *s = NULL;
        struct delivery *d = NULL;
        struct wh_error err;
        if (store_open(c->verify_path, STORE_READONLY, &s, &err) < 0 ||
            store_get(s, job->result, &d, &err) < 0)
            verify_failed = 1;
        delivery_destroy(d);
        store_close(s);
    }
    pthread_mutex_lock(&c->lock);
    r->done = true;
    c->done++;
    c->verify_failures += verify_failed;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
}

static void wait_done(struct ctx *c, int n)
{
    pthread_mutex_lock(&c->lock);
    while (c->done < n)
        pthread_cond_wait(&c->cond, &c->lock);
    pthread_mutex_unlock(&c->lock);
}

static struct delivery *make(const char *endpoint, int i)
{
    struct delivery *d = delivery_create();
    ck_assert_ptr_nonnull(d);
    d->received_us = 1700000000000000LL + i;
    if (endpoint) {
        d->endpoint = strdup(endpoint);
        ck_assert_ptr_nonnull(d->endpoint);
    }
    d->method = strdup("POST");
    d->path = strdup("/w");
    ck_assert_ptr_nonnull(d->method);
    ck_assert_ptr_nonnull(d->path);
    char body[32];
    int n = snprintf(body, sizeof(body), "job %d", i);
    ck_assert_int_eq(buf_append(&d->body, body, (size_t)n), 0);
    d->body_size = (uint64_t)n;
    snprintf(d->remote_addr, sizeof(d->remote_addr), "127.0.0.1:%d", 1000 + i % 1000);
    d->status = 200;
    return d;
}

static void rec_insert(struct rec *r, struct ctx *c, struct delivery *d)
{
    memset(r, 0, sizeof(*r));
    r->ctx = c;
    r->job.kind = WRITER_INSERT;
    r->job.delivery = d;
    r->job.done = on_done;
    r->job.arg = r;
}

static writer *create(const char *path, struct ctx *c)
{
    writer *w = NULL;
    struct wh_error err = {0};
    int r = writer_create(path, 0, c ? on_commit : NULL, c, &w, &err);
    ck_assert_msg(r == 0, "writer_create = %d: %s", r, err.msg);
    ck_assert_ptr_nonnull(w);
    return w;
}

static int64_t count_rows(const char *path)
{
    store *s = NULL;
    struct wh_error err = {0};
    int r = store_open(path, 0, &s, &err);
    ck_assert_msg(r == 0, "store_open = %d: %s", r, err.msg);
    struct delivery_filter f;
    filter_init(&f);
    int64_t n = -1;
    ck_assert_int_eq(store_count(s, &f, &n, &err), 0);
    store_close(s);
    return n;
}

enum { THREADS = 4, PER_THREAD = 250, TOTAL = THREADS * PER_THREAD };

struct submitter {
    writer *w;
    struct rec *recs; /* PER_THREAD of them */
    int failures;
};

static void *submit_main(void *arg)
{
    struct submitter *s = arg;
    for (int i = 0; i < PER_THREAD; i++)
        if (writer_submit(s->w, &s->recs[i].job) != 0)
            s->failures++;
    return NULL;
}

/* Under steady load the WAL keeps starting over: the checkpointer copies it back in the
 * background and the writer finishes only the last few frames itself. A count of copied
 * frames from an earlier generation of the WAL must never make the writer copy a whole WAL
 * (it held every delivery up for 10-20 ms). */
enum { CKPT_JOBS = 60000, CKPT_BATCH = 40 };

/* Push CKPT_JOBS deliveries of 1 KiB through a writer made with flags; return its stats and the
 * size the WAL file reached. */
static void push_through_wal(const char *name, int flags, int wal_limit, struct writer_stats *st,
                             long *wal_size)
{
    char path[128];
    db_path(path, sizeof(path), name);
    struct ctx c;
    ctx_init(&c);
    writer *w = NULL;
    struct wh_error err = {0};
    int r = writer_create(path, flags, on_commit, &c, &w, &err);
    ck_assert_msg(r == 0, "writer_create = %d: %s", r, err.msg);
    if (wal_limit)
        writer_set_wal_limit(w, wal_limit);
    struct rec *recs = calloc(CKPT_BATCH, sizeof(*recs));
    ck_assert_ptr_nonnull(recs);
    char body[1024];
    memset(body, 'b', sizeof(body));
    for (int i = 0; i < CKPT_JOBS; i += CKPT_BATCH) {
        for (int k = 0; k < CKPT_BATCH; k++) {
            struct delivery *d = make(NULL, i + k);
            ck_assert_int_eq(buf_append(&d->body, body, sizeof(body)), 0);
            d->body_size = d->body.len;
            rec_insert(&recs[k], &c, d);
            ck_assert_int_eq(writer_submit(w, &recs[k].job), 0);
        }
        wait_done(&c, i + CKPT_BATCH);
        for (int k = 0; k < CKPT_BATCH; k++)
            delivery_destroy(recs[k].job.delivery);
    }
    writer_get_stats(w, st);
    char wal[160];
    snprintf(wal, sizeof(wal), "%s-wal", path);
    FILE *f = fopen(wal, "rb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
    *wal_size = ftell(f);
    fclose(f);
    writer_destroy(w);
    free(recs);
    ck_assert_int_eq(count_rows(path), CKPT_JOBS);
    ctx_finish(&c);
}

/* The WAL limit the tests set: 12 000 frames of 4 KiB (plus a 24-byte header), under
 * 48 MiB with one batch over it. */
#define TEST_WAL_LIMIT 12000
#define WAL_BOUND (48L * 1024 * 1024)

START_TEST(test_checkpoint_keeps_wal_short)
{
    struct writer_stats st;
    long wal_size;
    push_through_wal("ckpt.db", 0, TEST_WAL_LIMIT, &st, &wal_size);
    /* about 66 MB went through the WAL: it started over and stayed short. (How often depends
     * on how much CPU the checkpointer got: on an idle machine every few MiB; starved, at the
     * limit the test sets.) */
    ck_assert_msg(st.wal_restarts >= 1, "the WAL never started over");
    ck_assert_msg(wal_size < WAL_BOUND, "the WAL grew to %ld bytes", wal_size);
    if (st.tail_checkpoints)
        ck_assert_msg(st.tail_gap_min >= 0 && st.tail_gap_max <= 256,
                      "the writer copied between %d and %d frames itself", st.tail_gap_min,
                      st.tail_gap_max);
}
END_TEST

/* With no checkpointer at all (as when it gets no CPU), the writer's own checkpoint at the
 * limit still keeps the WAL from growing without bound. */
START_TEST(test_checkpoint_limit_without_checkpointer)
{
    struct writer_stats st;
    long wal_size;
    push_through_wal("nockpt.db", WRITER_NO_CHECKPOINTER, TEST_WAL_LIMIT, &st, &wal_size);
    ck_assert_msg(st.limit_checkpoints >= 1, "the writer never copied the WAL back itself");
    ck_assert_msg(st.wal_restarts >= 1, "the WAL never started over");
    ck_assert_msg(wal_size < WAL_BOUND, "the WAL grew to %ld bytes", wal_size);
}
END_TEST

START_TEST(test_many_threads)
{
    char path[128];
    db_path(path, sizeof(path), "many.db");
    struct ctx c;
    ctx_init(&c);
    writer *w = create(path, &c);
    ck_assert_int_eq(writer_last_id(w), 0);

    struct rec *recs = calloc(TOTAL, sizeof(*recs));
    ck_assert_ptr_nonnull(recs);
    for (int i = 0; i < TOTAL; i++)
        rec_insert(&recs[i], &c, make(i % 2 ? "a" : NULL, i));

    pthread_t th[THREADS];
    struct submitter sub[THREADS];
    for (int t = 0; t < THREADS; t++) {
        sub[t] = (struct submitter){w, recs + t * PER_THREAD, 0};
        ck_assert_int_eq(pthread_create(&th[t], NULL, submit_main, &sub[t]), 0);
    }
    for (int t = 0; t < THREADS; t++) {
        pthread_join(th[t], NULL);
        ck_assert_int_eq(sub[t].failures, 0);
    }
    wait_done(&c, TOTAL);

    char *seen = calloc(TOTAL + 1, 1);
    ck_assert_ptr_nonnull(seen);
    for (int i = 0; i < TOTAL; i++) {
        struct rec *r = &recs[i];
        ck_assert_msg(r->job.rc == 0, "job %d rc %d", i, r->job.rc);
        ck_assert(r->done);
        ck_assert_msg(r->done_after_commit, "job %d: done before the commit hook saw it", i);
        int64_t id = r->job.result;
        ck_assert_int_eq(id, r->job.delivery->id);
        ck_assert_int_ge(id, 1);
        ck_assert_int_le(id, TOTAL);
        ck_assert_msg(!seen[id], "id %lld given twice", (long long)id);
        seen[id] = 1;
        ck_assert_int_le(id, r->hook_last_id);
    }
    ck_assert_int_eq(writer_last_id(w), TOTAL);
    ck_assert_int_eq(c.hook_jobs, TOTAL);
    ck_assert_int_eq(c.hook_bad, 0);
    ck_assert_int_eq(c.max_hook_last_id, TOTAL);

    struct writer_stats st;
    writer_flush(w); /* stats are updated after the done callbacks */
    writer_get_stats(w, &st);
    ck_assert_uint_eq(st.jobs, TOTAL);
    ck_assert_uint_eq(st.failed_jobs, 0);
    ck_assert_uint_ge(st.commits, 1);
    ck_assert_uint_le(st.commits, TOTAL);
    ck_assert_uint_eq(st.commits, (uint64_t)c.hook_calls);
    uint64_t hist = 0;
    for (int i = 0; i < 8; i++)
        hist += st.batch_hist[i];
    ck_assert_uint_eq(hist, st.commits);

    writer_destroy(w);
    ck_assert_int_eq(count_rows(path), TOTAL);

    for (int i = 0; i < TOTAL; i++)
        delivery_destroy(recs[i].job.delivery);
    free(seen);
    free(recs);
    ctx_finish(&c);
}
END_TEST

START_TEST(test_done_after_commit)
{
    char path[128];
    db_path(path, sizeof(path), "durable.db");
    struct ctx c;
    ctx_init(&c);
    c.verify_path = path;
    writer *w = create(path, &c);
    struct rec recs[20];
    for (int i = 0; i < 20; i++) {
        rec_insert(&recs[i], &c, make("x", i));
        ck_assert_int_eq(writer_submit(w, &recs[i].job), 0);
    }
    wait_done(&c, 20);
    ck_assert_int_eq(c.verify_failures, 0);
    writer_destroy(w);
    for (int i = 0; i < 20; i++) {
        ck_assert_int_eq(recs[i].job.rc, 0);
        delivery_destroy(recs[i].job.delivery);
    }
    ctx_finish(&c);
}
END_TEST

START_TEST(test_no_hook)
{
    char path[128];
    db_path(path, sizeof(path), "nohook.db");
    struct ctx c;
    ctx_init(&c);
    writer *w = create(path, NULL);
    struct rec r;
    rec_insert(&r, &c, make(NULL, 1));
    ck_assert_int_eq(writer_submit(w, &r.job), 0);
    writer_flush(w);
    ck_assert(r.done);
    ck_assert_int_eq(r.job.rc, 0);
    ck_assert_int_eq(r.job.result, 1);
    ck_assert_int_eq(writer_last_id(w), 1);
    writer_destroy(w);
    delivery_destroy(r.job.delivery);
    ctx_finish(&c);
}
END_TEST

START_TEST(test_flush)
{
    char path[128];
    db_path(path, sizeof(path), "flush.db");
    struct ctx c;
    ctx_init(&c);
    writer *w = create(path, &c);
    writer_flush(w); /* nothing queued: returns */
    struct rec recs[100];
    for (int i = 0; i < 100; i++) {
        rec_insert(&recs[i], &c, make("f", i));
        ck_assert_int_eq(writer_submit(w, &recs[i].job), 0);
    }
    writer_flush(w);
    pthread_mutex_lock(&c.lock);
    ck_assert_int_eq(c.done, 100);
    pthread_mutex_unlock(&c.lock);
    ck_assert_int_eq(writer_last_id(w), 100);
    ck_assert_int_eq(count_rows(path), 100);
    writer_destroy(w);
    for (int i = 0; i < 100; i++)
        delivery_destroy(recs[i].job.delivery);
    ctx_finish(&c);
}
END_TEST

/* writer_flush waits for a batch that is being processed, not only for the queue */
struct gate {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool entered, release, finished, flushing, finished_at_flush_return;
    writer *w;
};

static void gate_done(struct writer_job *job, void *arg)
{
    struct gate *g = arg;
    pthread_mutex_lock(&g->lock);
    g->entered = true;
    pthread_cond_broadcast(&g->cond);
    while (!g->release)
        pthread_cond_wait(&g->cond, &g->lock);
    g->finished = true;
    pthread_mutex_unlock(&g->lock);
}

static void *flusher(void *arg)
{
    struct gate *g = arg;
    pthread_mutex_lock(&g->lock);
    g->flushing = true;
    pthread_cond_broadcast(&g->cond);
    pthread_mutex_unlock(&g->lock);
    writer_flush(g->w);
    pthread_mutex_lock(&g->lock);
    g->finished_at_flush_return = g->finished;
    pthread_mutex_unlock(&g->lock);
    return NULL;
}

START_TEST(test_flush_waits_for_running_batch)
{
    char path[128];
    db_path(path, sizeof(path), "flush2.db");
    struct gate g;
    memset(&g, 0, sizeof(g));
    pthread_mutex_init(&g.lock, NULL);
    pthread_cond_init(&g.cond, NULL);
    g.w = create(path, NULL);
    struct writer_job job;
    memset(&job, 0, sizeof(job));
    job.kind = WRITER_INSERT;
    job.delivery = make("g", 1);
    job.done = gate_done;
    job.arg = &g;
    ck_assert_int_eq(writer_submit(g.w, &job), 0);
    /* the writer is now inside the batch (in the done callback), the queue is empty */
    pthread_mutex_lock(&g.lock);
    while (!g.entered)
        pthread_cond_wait(&g.cond, &g.lock);
    pthread_mutex_unlock(&g.lock);

    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, flusher, &g), 0);
    pthread_mutex_lock(&g.lock);
    while (!g.flushing)
        pthread_cond_wait(&g.cond, &g.lock);
    pthread_mutex_unlock(&g.lock);
    for (int i = 0; i < 100; i++)
        sched_yield(); /* let the flusher get into writer_flush */
    pthread_mutex_lock(&g.lock);
    g.release = true;
    pthread_cond_broadcast(&g.cond);
    pthread_mutex_unlock(&g.lock);
    pthread_join(th, NULL);
    ck_assert_msg(g.finished_at_flush_return,
                  "writer_flush returned while a done callback was still running");
    ck_assert_int_eq(job.rc, 0);
    writer_destroy(g.w);
    delivery_destroy(job.delivery);
    pthread_mutex_destroy(&g.lock);
    pthread_cond_destroy(&g.cond);
}
END_TEST

/* writer_run_if_idle: runs on the calling thread when no batch is running; while one runs
 * elsewhere it leaves the jobs alone and says so, and the on_idle hook tells when to retry. */
struct idle_ctx {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int calls;
};

static void count_idle(void *arg)
{
    struct idle_ctx *ic = arg;
    pthread_mutex_lock(&ic->lock);
    ic->calls++;
    pthread_cond_broadcast(&ic->cond);
    pthread_mutex_unlock(&ic->lock);
}

struct here {
    struct writer_job job;
    pthread_t ran_on;
    bool done;
};

static void note_thread(struct writer_job *job, void *arg)
{
    struct here *h = arg;
    ck_assert_ptr_eq(&h->job, job);
    h->ran_on = pthread_self();
    h->done = true;
}

START_TEST(test_run_if_idle)
{
    char path[128];
    db_path(path, sizeof(path), "idle.db");
    struct idle_ctx ic;
    memset(&ic, 0, sizeof(ic));
    pthread_mutex_init(&ic.lock, NULL);
    pthread_cond_init(&ic.cond, NULL);
    writer *w = NULL;
    struct wh_error err = {0};
    ck_assert_int_eq(writer_create(path, 0, NULL, &ic, &w, &err), 0);
    writer_on_idle(w, count_idle);

    /* idle: the jobs run here, before the call returns */
    struct here a[2];
    memset(a, 0, sizeof(a));
    for (int i = 0; i < 2; i++) {
        a[i].job.kind = WRITER_INSERT;
        a[i].job.delivery = make("idle", i);
        a[i].job.done = note_thread;
        a[i].job.arg = &a[i];
    }
    a[0].job.next = &a[1].job;
    ck_assert_int_eq(writer_run_if_idle(w, &a[0].job), 1);
    for (int i = 0; i < 2; i++) {
        ck_assert(a[i].done);
        ck_assert(pthread_equal(a[i].ran_on, pthread_self()));
        ck_assert_int_eq(a[i].job.rc, 0);
        ck_assert_int_eq(a[i].job.result, i + 1);
    }

    /* a batch running on the writer's thread (held inside its done callback) */
    struct gate g;
    memset(&g, 0, sizeof(g));
    pthread_mutex_init(&g.lock, NULL);
    pthread_cond_init(&g.cond, NULL);
    struct writer_job gj;
    memset(&gj, 0, sizeof(gj));
    gj.kind = WRITER_INSERT;
    gj.delivery = make("gate", 3);
    gj.done = gate_done;
    gj.arg = &g;
    ck_assert_int_eq(writer_submit(w, &gj), 0);
    pthread_mutex_lock(&g.lock);
    while (!g.entered)
        pthread_cond_wait(&g.cond, &g.lock);
    pthread_mutex_unlock(&g.lock);
    pthread_mutex_lock(&ic.lock);
    int idle_before = ic.calls;
    pthread_mutex_unlock(&ic.lock);

    struct here b;
    memset(&b, 0, sizeof(b));
    b.job.kind = WRITER_INSERT;
    b.job.delivery = make("idle", 4);
    b.job.done = note_thread;
    b.job.arg = &b;
    ck_assert_int_eq(writer_run_if_idle(w, &b.job), 0);
    ck_assert_msg(!b.done, "a job was run while another thread held the batch");

    /* the running batch ends: the hook fires, and a retry runs the job here */
    pthread_mutex_lock(&g.lock);
    g.release = true;
    pthread_cond_broadcast(&g.cond);
    pthread_mutex_unlock(&g.lock);
    pthread_mutex_lock(&ic.lock);
    while (ic.calls == idle_before)
        pthread_cond_wait(&ic.cond, &ic.lock);
    pthread_mutex_unlock(&ic.lock);
    ck_assert_int_eq(writer_run_if_idle(w, &b.job), 1);
    ck_assert(b.done);
    ck_assert(pthread_equal(b.ran_on, pthread_self()));
    ck_assert_int_eq(b.job.rc, 0);
    ck_assert_int_eq(b.job.result, 4);

    writer_seal(w);
    struct here c;
    memset(&c, 0, sizeof(c));
    c.job.kind = WRITER_INSERT;
    c.job.delivery = make("idle", 5);
    c.job.done = note_thread;
    c.job.arg = &c;
    ck_assert_int_eq(writer_run_if_idle(w, &c.job), -ESHUTDOWN);
    ck_assert(!c.done);
    writer_destroy(w);
    ck_assert_int_eq(count_rows(path), 4);
    for (int i = 0; i < 2; i++)
        delivery_destroy(a[i].job.delivery);
    delivery_destroy(gj.delivery);
    delivery_destroy(b.job.delivery);
    delivery_destroy(c.job.delivery);
    pthread_mutex_destroy(&g.lock);
    pthread_cond_destroy(&g.cond);
    pthread_mutex_destroy(&ic.lock);
    pthread_cond_destroy(&ic.cond);
}
END_TEST

/* writer_flush waits for an on_idle hook that is still running: the server frees what the
 * hook touches once flush returns on a sealed writer. */
struct hook_gate {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool entered, release, returned, flushed, hook_done_at_flush;
    writer *w;
};

static void blocking_hook(void *arg)
{
    struct hook_gate *h = arg;
    pthread_mutex_lock(&h->lock);
    if (!h->entered) {
        h->entered = true;
        pthread_cond_broadcast(&h->cond);
        while (!h->release)
            pthread_cond_wait(&h->cond, &h->lock);
        h->returned = true;
    }
    pthread_mutex_unlock(&h->lock);
}

static void *hook_flusher(void *arg)
{
    struct hook_gate *h = arg;
    writer_flush(h->w);
    pthread_mutex_lock(&h->lock);
    h->flushed = true;
    h->hook_done_at_flush = h->returned;
    pthread_mutex_unlock(&h->lock);
    return NULL;
}

START_TEST(test_flush_waits_for_idle_hook)
{
    char path[128];
    db_path(path, sizeof(path), "hook.db");
    struct hook_gate h;
    memset(&h, 0, sizeof(h));
    pthread_mutex_init(&h.lock, NULL);
    pthread_cond_init(&h.cond, NULL);
    struct wh_error err = {0};
    ck_assert_int_eq(writer_create(path, 0, NULL, &h, &h.w, &err), 0);
    writer_on_idle(h.w, blocking_hook);
    struct ctx c;
    ctx_init(&c);
    struct rec r;
    rec_insert(&r, &c, make("hook", 1));
    ck_assert_int_eq(writer_submit(h.w, &r.job), 0);
    /* the writer thread ran the batch and is now inside the hook */
    pthread_mutex_lock(&h.lock);
    while (!h.entered)
        pthread_cond_wait(&h.cond, &h.lock);
    pthread_mutex_unlock(&h.lock);
    writer_seal(h.w);
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, hook_flusher, &h), 0);
    for (int i = 0; i < 100; i++)
        sched_yield(); /* let the flusher get into writer_flush */
    pthread_mutex_lock(&h.lock);
    ck_assert_msg(!h.flushed, "writer_flush returned while the on_idle hook was running");
    h.release = true;
    pthread_cond_broadcast(&h.cond);
    pthread_mutex_unlock(&h.lock);
    pthread_join(th, NULL);
    ck_assert(h.flushed);
    ck_assert(h.hook_done_at_flush);
    ck_assert_int_eq(r.job.rc, 0);
    writer_destroy(h.w);
    delivery_destroy(r.job.delivery);
    ctx_finish(&c);
    pthread_mutex_destroy(&h.lock);
    pthread_cond_destroy(&h.cond);
}
END_TEST

START_TEST(test_seal)
{
    char path[128];
    db_path(path, sizeof(path), "seal.db");
    struct ctx c;
    ctx_init(&c);
    writer *w = create(path, &c);
    struct rec recs[10], late;
    for (int i = 0; i < 10; i++) {
        rec_insert(&recs[i], &c, make("s", i));
        ck_assert_int_eq(writer_submit(w, &recs[i].job), 0);
    }
    writer_seal(w);
    rec_insert(&late, &c, make("s", 99));
    ck_assert_int_eq(writer_submit(w, &late.job), -ESHUTDOWN);
    writer_flush(w);
    /* queued jobs still completed; the refused one never will */
    pthread_mutex_lock(&c.lock);
    ck_assert_int_eq(c.done, 10);
    pthread_mutex_unlock(&c.lock);
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(recs[i].job.rc, 0);
    ck_assert(!late.done);
    ck_assert_int_eq(writer_submit(w, &late.job), -ESHUTDOWN);
    writer_destroy(w);
    ck_assert(!late.done);
    ck_assert_int_eq(count_rows(path), 10);
    for (int i = 0; i < 10; i++)
        delivery_destroy(recs[i].job.delivery);
    delivery_destroy(late.job.delivery);
    ctx_finish(&c);
}
END_TEST

START_TEST(test_delete_job)
{
    char path[128];
    db_path(path, sizeof(path), "delete.db");
    struct ctx c;
    ctx_init(&c);
    writer *w = create(path, &c);
    struct rec recs[5];
    static const char *const eps[5] = {"a", "b", "a", NULL, "a"};
    for (int i = 0; i < 5; i++) {
        rec_insert(&recs[i], &c, make(eps[i], i));
        ck_assert_int_eq(writer_submit(w, &recs[i].job), 0);
    }
    writer_flush(w);
    ck_assert_int_eq(writer_last_id(w), 5);

    struct rec del;
    memset(&del, 0, sizeof(del));
    del.ctx = &c;
    del.job.kind = WRITER_DELETE;
    filter_init(&del.job.filter);
    del.job.filter.endpoint = "a";
    del.job.done = on_done;
    del.job.arg = &del;
    ck_assert_int_eq(writer_submit(w, &del.job), 0);
    wait_done(&c, 6);
    ck_assert_int_eq(del.job.rc, 0);
    ck_assert_int_eq(del.job.result, 3);
    ck_assert(del.done_after_commit);
    ck_assert_int_eq(count_rows(path), 2);

    /* a job can be submitted again once done: delete everything left */
    del.done = del.committed_seen = false;
    filter_init(&del.job.filter);
    ck_assert_int_eq(writer_submit(w, &del.job), 0);
    wait_done(&c, 7);
    ck_assert_int_eq(del.job.rc, 0);
    ck_assert_int_eq(del.job.result, 2);
    ck_assert_int_eq(count_rows(path), 0);
    ck_assert_int_eq(writer_last_id(w), 5);

    /* ids continue after the deletes */
    struct rec more;
    rec_insert(&more, &c, make("a", 9));
    ck_assert_int_eq(writer_submit(w, &more.job), 0);
    wait_done(&c, 8);
    ck_assert_int_eq(more.job.rc, 0);
    ck_assert_int_eq(more.job.result, 6);
    ck_assert_int_eq(writer_last_id(w), 6);
    writer_destroy(w);
    for (int i = 0; i < 5; i++)
        delivery_destroy(recs[i].job.delivery);
    delivery_destroy(more.job.delivery);
    ctx_finish(&c);
}
END_TEST

START_TEST(test_mixed_batch)
{
    /* inserts and a delete queued together; every job completes, ids stay unique */
    char path[128];
    db_path(path, sizeof(path), "mixed.db");
    struct ctx c;
    ctx_init(&c);
    writer *w = create(path, &c);
    struct rec recs[30], del;
    for (int i = 0; i < 15; i++) {
        rec_insert(&recs[i], &c, make("m", i));
        ck_assert_int_eq(writer_submit(w, &recs[i].job), 0);
    }
    memset(&del, 0, sizeof(del));
    del.ctx = &c;
    del.job.kind = WRITER_DELETE;
    filter_init(&del.job.filter);
    del.job.done = on_done;
    del.job.arg = &del;
    ck_assert_int_eq(writer_submit(w, &del.job), 0);
    for (int i = 15; i < 30; i++) {
        rec_insert(&recs[i], &c, make("m", i));
        ck_assert_int_eq(writer_submit(w, &recs[i].job), 0);
    }
    wait_done(&c, 31);
    ck_assert_int_eq(del.job.rc, 0);
    /* the delete ran after the 15 inserts before it and before the 15 after it */
    ck_assert_int_eq(del.job.result, 15);
    ck_assert_int_eq(count_rows(path), 15);
    for (int i = 0; i < 30; i++) {
        ck_assert_int_eq(recs[i].job.rc, 0);
        ck_assert_int_eq(recs[i].job.result, i + 1);
    }
    ck_assert_int_eq(writer_last_id(w), 30);
    writer_destroy(w);
    for (int i = 0; i < 30; i++)
        delivery_destroy(recs[i].job.delivery);
    ctx_finish(&c);
}
END_TEST

START_TEST(test_destroy_completes_queued)
{
    char path[128];
    db_path(path, sizeof(path), "destroy.db");
    struct ctx c;
    ctx_init(&c);
    writer *w = create(path, &c);
    enum { N = 200 };
    struct rec *recs = calloc(N, sizeof(*recs));
    ck_assert_ptr_nonnull(recs);
    for (int i = 0; i < N; i++) {
        rec_insert(&recs[i], &c, make("d", i));
        ck_assert_int_eq(writer_submit(w, &recs[i].job), 0);
    }
    writer_destroy(w);
    ck_assert_int_eq(c.done, N);
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(recs[i].job.rc, 0);
        ck_assert(recs[i].done_after_commit);
        delivery_destroy(recs[i].job.delivery);
    }
    ck_assert_int_eq(count_rows(path), N);
    writer_destroy(NULL);
    free(recs);
    ctx_finish(&c);
}
END_TEST

/* Jobs whose done callback frees them: the writer must not touch them afterwards. */
struct owned {
    struct writer_job job;
    struct ctx *ctx;
};

static void free_on_done(struct writer_job *job, void *arg)
{
    struct owned *o = arg;
    struct ctx *c = o->ctx;
    int ok = job->rc == 0;
    delivery_destroy(job->delivery);
    memset(o, 0xA5, sizeof(*o)); /* poison, for builds without ASan */
    free(o);
    pthread_mutex_lock(&c->lock);
    c->done++;
    c->verify_failures += !ok;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
}

START_TEST(test_done_may_free_job)
{
    char path[128];
    db_path(path, sizeof(path), "free.db");
    struct ctx c;
    ctx_init(&c);
    writer *w = create(path, NULL);
    enum { N = 300 };
    for (int i = 0; i < N; i++) {
        struct owned *o = calloc(1, sizeof(*o));
        ck_assert_ptr_nonnull(o);
        o->ctx = &c;
        o->job.kind = WRITER_INSERT;
        o->job.delivery = make(NULL, i);
        o->job.done = free_on_done;
        o->job.arg = o;
        ck_assert_int_eq(writer_submit(w, &o->job), 0);
    }
    wait_done(&c, N);
    ck_assert_int_eq(c.verify_failures, 0);
    ck_assert_int_eq(writer_last_id(w), N);
    writer_destroy(w);
    ctx_finish(&c);
}
END_TEST

START_TEST(test_existing_database)
{
    char path[128];
    db_path(path, sizeof(path), "existing.db");
    struct ctx c;
    ctx_init(&c);
    writer *w = create(path, &c);
    struct rec recs[3];
    for (int i = 0; i < 3; i++) {
        rec_insert(&recs[i], &c, make("e", i));
        ck_assert_int_eq(writer_submit(w, &recs[i].job), 0);
    }
    writer_destroy(w);

    /* a new writer on the same file starts from the last id */
    w = create(path, &c);
    ck_assert_int_eq(writer_last_id(w), 3);
    struct rec r;
    rec_insert(&r, &c, make("e", 3));
    ck_assert_int_eq(writer_submit(w, &r.job), 0);
    writer_flush(w);
    ck_assert_int_eq(r.job.result, 4);
    ck_assert_int_eq(writer_last_id(w), 4);
    writer_destroy(w);
    for (int i = 0; i < 3; i++)
        delivery_destroy(recs[i].job.delivery);
    delivery_destroy(r.job.delivery);
    ctx_finish(&c);
}
END_TEST

START_TEST(test_memory_database)
{
    char uri[256];
    store_memory_uri(uri, sizeof(uri));
    struct ctx c;
    ctx_init(&c);
    writer *w = create(uri, &c);
    store *reader = NULL;
    struct wh_error err = {0};
    ck_assert_int_eq(store_open(uri, 0, &reader, &err), 0);
    struct rec recs[10];
    for (int i = 0; i < 10; i++) {
        rec_insert(&recs[i], &c, make("mem", i));
        ck_assert_int_eq(writer_submit(w, &recs[i].job), 0);
    }
    writer_flush(w);
    ck_assert_int_eq(writer_last_id(w), 10);
    struct delivery_filter f;
    filter_init(&f);
    int64_t n = -1;
    ck_assert_int_eq(store_count(reader, &f, &n, &err), 0);
    ck_assert_int_eq(n, 10);
    store_close(reader);
    writer_destroy(w);
    for (int i = 0; i < 10; i++)
        delivery_destroy(recs[i].job.delivery);
    ctx_finish(&c);
}
END_TEST

START_TEST(test_file_uri)
{
    /* store.h: a path may be a SQLite URI starting with "file:"; writer_create passes it on */
    char path[128], uri[160];
    db_path(path, sizeof(path), "uri.db");
    snprintf(uri, sizeof(uri), "file:%s", path);
    struct ctx c;
    ctx_init(&c);
    writer *w = NULL;
    struct wh_error err = {0};
    int r = writer_create(uri, 0, on_commit, &c, &w, &err);
    ck_assert_msg(r == 0, "writer_create(%s) = %d: %s", uri, r, err.msg);
    struct rec rec;
    rec_insert(&rec, &c, make("u", 1));
    ck_assert_int_eq(writer_submit(w, &rec.job), 0);
    writer_flush(w);
    ck_assert_int_eq(rec.job.rc, 0);
    ck_assert_int_eq(rec.job.result, 1);
    writer_destroy(w);
    ck_assert_int_eq(count_rows(path), 1);
    delivery_destroy(rec.job.delivery);
    ctx_finish(&c);
}
END_TEST

START_TEST(test_create_error)
{
    writer *w = (writer *)0x1;
    struct wh_error err = {0};
    int r = writer_create("/nonexistent-webhooky-dir/x.db", 0, NULL, NULL, &w, &err);
    ck_assert_int_lt(r, 0);
    ck_assert_int_eq(err.code, r);
    ck_assert_ptr_eq(w, (writer *)0x1);
}
END_TEST

static Suite *writer_suite(void)
{
    Suite *s = suite_create("writer");
    TCase *tc = tcase_create("writer");
    tcase_add_unchecked_fixture(tc, make_dir, remove_dir);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_many_threads);
    tcase_add_test(tc, test_checkpoint_keeps_wal_short);
    tcase_add_test(tc, test_checkpoint_limit_without_checkpointer);
    tcase_add_test(tc, test_done_after_commit);
    tcase_add_test(tc, test_no_hook);
    tcase_add_test(tc, test_flush);
    tcase_add_test(tc, test_flush_waits_for_running_batch);
    tcase_add_test(tc, test_run_if_idle);
    tcase_add_test(tc, test_flush_waits_for_idle_hook);
    tcase_add_test(tc, test_seal);
    tcase_add_test(tc, test_delete_job);
    tcase_add_test(tc, test_mixed_batch);
    tcase_add_test(tc, test_destroy_completes_queued);
    tcase_add_test(tc, test_done_may_free_job);
    tcase_add_test(tc, test_existing_database);
    tcase_add_test(tc, test_memory_database);
    tcase_add_test(tc, test_file_uri);
    tcase_add_test(tc, test_create_error);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(writer_suite());
}
