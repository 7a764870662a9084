#include "writer.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "walvfs.h"

/* Ask for a checkpoint once the WAL holds this many frames (4 KiB pages): about 4 MiB. Each
 * round takes a CPU for as long as it copies: with 16 MiB rounds (about 13 a second at
 * bench/run's 16 connections) p99 was 4.4-4.7 ms there, with 4 MiB rounds 2.8-2.9 ms, at the
 * same CPU per delivery. */
#define CHECKPOINT_FRAMES 1000
/* The writer finishes a checkpoint itself when at most this many frames are left to copy
 * (about 1 MiB, well under a millisecond), so that the WAL can start over. */
#define CHECKPOINT_TAIL 256
/* When the WAL reaches this many frames (about 256 MiB) because the checkpointer keeps falling
 * behind (on a machine short of CPU, under a sustained flood), the writer waits for its round
 * to end and copies the rest itself, holding up deliveries for that long, rather than let the
 * WAL grow without bound. At 48 MiB this stalled the writer for 15-25 ms several times a
 * second under bench/run's 64 connections; at 256 MiB a 40 s flood does not reach it. */
#define CHECKPOINT_LIMIT 64000

struct writer {
    store *store;
    writer_commit_fn on_commit;
    writer_done_fn on_done; /* after every done callback of a batch; may be NULL */
    writer_done_fn on_idle; /* after a thread stops running batches; may be NULL */
    void *arg;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct writer_job *head, *tail; /* queued, not yet taken; guarded by lock */
    bool stopping;                  /* guarded by lock */
    bool sealed;                    /* no new jobs; guarded by lock */
    bool busy;                      /* a batch is being processed; guarded by lock */
    unsigned hooks;                 /* on_idle calls running; guarded by lock */
    pthread_cond_t idle;            /* signalled when the queue is empty and not busy */
    atomic_int_fast64_t last_id;
    pthread_mutex_t stats_lock;
    struct writer_stats stats;

    /* checkpointer: NULL ckpt_store for in-memory databases */
    store *ckpt_store;
    pthread_t ckpt_thread;
    bool ckpt_wanted, ckpt_stop; /* guarded by lock */
    bool ckpt_running;           /* a checkpoint round is going on; guarded by lock */
    pthread_cond_t ckpt_done;    /* signalled when a round ends */
    uint32_t ckpt_gen;           /* the WAL generation the request is for; guarded by lock */
    /* what the checkpointer last reported: (WAL generation << 32) | frames it had copied */
    atomic_uint_fast64_t ckpt_progress;
    /* the batch runner's own (busy): the WAL starts over (its frame count drops) after a complete
     * checkpoint, and a count of frames copied means nothing for another generation */
    uint32_t wal_gen;
    int last_frames;
    int wal_limit; /* CHECKPOINT_LIMIT, or what writer_set_wal_limit set */
    pthread_cond_t ckpt_wake;
};

static void yield_cpu(void)
{
    sched_yield();
}

static void *checkpointer_main(void *arg)
{
    writer *w = arg;
    /* a round copies up to thousands of pages: let the loops in between (walvfs.h) */
    walvfs_give_way(yield_cpu);
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (!w->ckpt_wanted && !w->ckpt_stop)
            pthread_cond_wait(&w->ckpt_wake, &w->lock);
        if (w->ckpt_stop)
            break;
        w->ckpt_wanted = false;
        w->ckpt_running = true;
        uint64_t gen = w->ckpt_gen;
        pthread_mutex_unlock(&w->lock);
        struct wh_error err;
        int done = 0;
        /* a failed passive checkpoint is simply retried on the next request */
        if (store_checkpoint(w->ckpt_store, &done, &err) == 0 && done >= 0)
            atomic_store(&w->ckpt_progress, gen << 32 | (uint32_t)done);
        pthread_mutex_lock(&w->lock);
        w->ckpt_running = false;
        pthread_cond_broadcast(&w->ckpt_done);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

static unsigned bucket(unsigned n)
{
    unsigned b = 0;
    while (n > 1 && b < 7) {
        n >>= 1;
        b++;
    }
    return b;
}

static int run_job(writer *w, struct writer_job *j)
{
    struct wh_error err;
    if (j->kind == WRITER_INSERT) {
        j->rc = store_insert(w->store, j->delivery, &err);
        if (j->rc == 0)
            j->result = j->delivery->id;
    } else if (j->kind == WRITER_SET_RESPONSE) {
        j->rc = store_set_response(w->store, j->id, j->status, j->delay_ms, j->responded_us,
                                   &err);
    } else {
        j->rc = store_delete(w->store, &j->filter, &j->result, &err);
    }
    return j->rc;
}

/* What one batch's checkpoint step did, for the stats. */
struct checkpoint_step {
    bool restarted; /* the WAL had started over since the last batch */
    bool tailed;    /* the writer copied the rest behind the checkpointer */
    bool forced;    /* the WAL was at its limit: the writer copied it back */
    int tail_gap;   /* frames left for the tail copy */
};

/* After a batch (by whoever runs it, file databases only): keep the WAL short. */
static void checkpoint_step(writer *w, struct checkpoint_step *cs)
{
    int frames = store_wal_frames(w->store);
    cs->restarted = frames < w->last_frames;
    if (cs->restarted)
        w->wal_gen++; /* the WAL started over */
    w->last_frames = frames;
    uint64_t progress = atomic_load(&w->ckpt_progress);
    int copied = (uint32_t)(progress >> 32) == w->wal_gen ? (int)(uint32_t)progress : 0;
    struct wh_error cerr;
    if (frames >= w->wal_limit) {
        /* the checkpointer cannot keep up: wait for its round (a checkpoint of our own would
         * only find its lock taken), then copy the rest here */
        pthread_mutex_lock(&w->lock);
        w->ckpt_wanted = false;
        while (w->ckpt_running)
            pthread_cond_wait(&w->ckpt_done, &w->lock);
        pthread_mutex_unlock(&w->lock);
        store_checkpoint(w->store, NULL, &cerr);
        cs->forced = true;
    } else if (frames >= CHECKPOINT_FRAMES && copied > 0 && frames - copied <= CHECKPOINT_TAIL) {
        /* Under steady load a background checkpoint never quite reaches the end of the WAL,
         * and the WAL can only start over once one has. When the checkpointer is close behind,
         * the writer copies the short rest between two batches, so the next commit rewinds the
         * WAL instead of growing the file for ever. (A count from an earlier generation of the
         * WAL would make it copy the whole WAL itself, holding up every delivery for 10-20 ms:
         * so counts are tagged with their generation.) */
        store_checkpoint(w->store, NULL, &cerr);
        cs->tailed = true;
        cs->tail_gap = frames - copied;
    } else if (frames >= CHECKPOINT_FRAMES) {
        pthread_mutex_lock(&w->lock);
        if (!w->ckpt_wanted) {
            w->ckpt_wanted = true;
            w->ckpt_gen = w->wal_gen;
            pthread_cond_signal(&w->ckpt_wake);
        }
        pthread_mutex_unlock(&w->lock);
    }
}

static void process(writer *w, struct writer_job *batch)
{
    struct wh_error err;
    unsigned n = 0;
    int r = store_begin(w->store, &err);
    for (struct writer_job *j = batch; j; j = j->next) {
        n++;
        if (r < 0)
            j->rc = r;
        else
            run_job(w, j);
    }
    if (r == 0)
        r = store_commit(w->store, &err);
    if (r < 0) {
        /* the whole batch is lost: no job may report success */
        store_rollback(w->store);
        for (struct writer_job *j = batch; j; j = j->next)
            if (j->rc == 0)
                j->rc = r;
    }
    int64_t last = atomic_load(&w->last_id);
    for (struct writer_job *j = batch; j; j = j->next)
        if (j->rc == 0 && j->kind == WRITER_INSERT && j->result > last)
            last = j->result;
    atomic_store(&w->last_id, last);

    if (w->on_commit)
        w->on_commit(w->arg, batch, last);

    unsigned failed = 0;
    for (struct writer_job *j = batch, *next; j; j = next) {
        next = j->next; /* j may be freed by another thread once done() returns */
        if (j->rc < 0)
            failed++;
        j->done(j, j->arg);
    }
    if (w->on_done)
        w->on_done(w->arg);

    /* checkpoint work comes after the batch's answers are on their way */
    struct checkpoint_step cs = {0};
    if (w->ckpt_store)
        checkpoint_step(w, &cs);

    pthread_mutex_lock(&w->stats_lock);
    w->stats.commits += r == 0;
    w->stats.jobs += n;
    w->stats.failed_jobs += failed;
    w->stats.batch_hist[bucket(n)]++;
    w->stats.wal_restarts += cs.restarted;
    w->stats.limit_checkpoints += cs.forced;
    if (cs.tailed) {
        if (!w->stats.tail_checkpoints++ || cs.tail_gap < w->stats.tail_gap_min)
            w->stats.tail_gap_min = cs.tail_gap;
        if (cs.tail_gap > w->stats.tail_gap_max)
            w->stats.tail_gap_max = cs.tail_gap;
    }
    pthread_mutex_unlock(&w->stats_lock);
}

/* Run queued batches on the calling thread until the queue is empty. Called with w->lock held
 * and w->busy clear; returns with the lock held and busy clear. Whoever holds busy runs every
 * job queued meanwhile before letting go of it, so a job queued while another thread ran a
 * batch is never left behind. */
static unsigned run_batches(writer *w)
{
    unsigned n = 0;
    while (w->head) {
        struct writer_job *batch = w->head;
        w->head = w->tail = NULL;
        w->busy = true;
        pthread_mutex_unlock(&w->lock);
        process(w, batch);
        n++;
        pthread_mutex_lock(&w->lock);
        w->busy = false;
    }
    pthread_cond_broadcast(&w->idle);
    if (w->stopping)
        pthread_cond_signal(&w->wake); /* the writer thread may be waiting to end */
    return n;
}

/* Call the on_idle hook (w->lock held, released meanwhile). writer_flush waits for it too, so
 * that once it returns on a sealed writer no hook runs any more. */
static void call_on_idle(writer *w)
{
    if (!w->on_idle)
        return;
    w->hooks++;
    pthread_mutex_unlock(&w->lock);
    w->on_idle(w->arg);
    pthread_mutex_lock(&w->lock);
    if (--w->hooks == 0)
        pthread_cond_broadcast(&w->idle);
}

static void *writer_main(void *arg)
{
    writer *w = arg;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        if (w->head && !w->busy) {
            run_batches(w);
            call_on_idle(w);
            continue;
        }
        if (!w->head && !w->busy && w->stopping)
            break;
        /* nothing queued, or another thread is running batches (writer_run_if_idle) */
        pthread_cond_wait(&w->wake, &w->lock);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

int writer_run_if_idle(writer *w, struct writer_job *jobs)
{
    pthread_mutex_lock(&w->lock);
    if (w->busy) {
        pthread_mutex_unlock(&w->lock);
        return 0;
    }
    if (w->stopping || w->sealed) {
        pthread_mutex_unlock(&w->lock);
        return -ESHUTDOWN;
    }
    struct writer_job *last = jobs;
    for (struct writer_job *j = jobs; j; j = j->next) {
        j->rc = 0;
        j->result = 0;
        last = j;
    }
    if (w->tail)
        w->tail->next = jobs;
    else
        w->head = jobs;
    w->tail = last;
    run_batches(w);
    call_on_idle(w);
    pthread_mutex_unlock(&w->lock);
    return 1;
}

static void free_writer(writer *w)
{
    pthread_mutex_destroy(&w->lock);
    pthread_mutex_destroy(&w->stats_lock);
    pthread_cond_destroy(&w->wake);
    pthread_cond_destroy(&w->idle);
    pthread_cond_destroy(&w->ckpt_wake);
    pthread_cond_destroy(&w->ckpt_done);
    store_close(w->ckpt_store);
    store_close(w->store);
    free(w);
}

int writer_create(const char *path, int store_flags, writer_commit_fn on_commit, void *arg,
                  writer **ret, struct wh_error *err)
{
    writer *w = calloc(1, sizeof(*w));
    if (!w)
        return wh_error_set(err, -ENOMEM, "out of memory");
    w->on_commit = on_commit;
    w->arg = arg;
    w->wal_limit = CHECKPOINT_LIMIT;
    pthread_mutex_init(&w->lock, NULL);
    pthread_mutex_init(&w->stats_lock, NULL);
    pthread_cond_init(&w->wake, NULL);
    pthread_cond_init(&w->idle, NULL);
    pthread_cond_init(&w->ckpt_wake, NULL);
    pthread_cond_init(&w->ckpt_done, NULL);
    bool memory = strncmp(path, "file:", 5) == 0 && strstr(path, "mode=memory");
    int64_t last = 0;
    bool no_checkpointer = store_flags & WRITER_NO_CHECKPOINTER;
    store_flags &= ~WRITER_NO_CHECKPOINTER;
    int r = store_open(path, store_flags | STORE_CREATE | (memory ? 0 : STORE_MANUAL_CHECKPOINT),
                       &w->store, err);
    if (r == 0)
        r = store_last_id(w->store, &last, err);
    if (r == 0 && !memory)
        r = store_open(path, 0, &w->ckpt_store, err);
    if (r < 0) {
        free_writer(w);
        return r;
    }
    atomic_init(&w->last_id, last);
    if ((r = pthread_create(&w->thread, NULL, writer_main, w)) != 0) {
        free_writer(w);
        return wh_error_set(err, -r, "cannot start the writer thread");
    }
    if (w->ckpt_store && !no_checkpointer &&
        (r = pthread_create(&w->ckpt_thread, NULL, checkpointer_main, w)) != 0) {
        writer_destroy(w);
        return wh_error_set(err, -r, "cannot start the checkpoint thread");
    }
    *ret = w;
    return 0;
}

static int enqueue(writer *w, struct writer_job *job)
{
    job->next = NULL;
    job->rc = 0;
    job->result = 0;
    pthread_mutex_lock(&w->lock);
    if (w->stopping || w->sealed) {
        pthread_mutex_unlock(&w->lock);
        return -ESHUTDOWN;
    }
    bool was_empty = !w->head;
    if (w->tail)
        w->tail->next = job;
    else
        w->head = job;
    w->tail = job;
    pthread_mutex_unlock(&w->lock);
    if (was_empty)
        pthread_cond_signal(&w->wake);
    return 0;
}

int writer_submit(writer *w, struct writer_job *job)
{
    return enqueue(w, job);
}

void writer_set_wal_limit(writer *w, int frames)
{
    w->wal_limit = frames;
}

void writer_on_batch_done(writer *w, writer_done_fn fn)
{
    w->on_done = fn;
}

void writer_on_idle(writer *w, writer_done_fn fn)
{
    w->on_idle = fn;
}

int64_t writer_last_id(writer *w)
{
    return atomic_load(&w->last_id);
}

void writer_get_stats(writer *w, struct writer_stats *ret)
{
    pthread_mutex_lock(&w->stats_lock);
    *ret = w->stats;
    pthread_mutex_unlock(&w->stats_lock);
}

void writer_seal(writer *w)
{
    pthread_mutex_lock(&w->lock);
    w->sealed = true;
    pthread_mutex_unlock(&w->lock);
}

void writer_flush(writer *w)
{
    pthread_mutex_lock(&w->lock);
    while (w->head || w->busy || w->hooks)
        pthread_cond_wait(&w->idle, &w->lock);
    pthread_mutex_unlock(&w->lock);
}

void writer_destroy(writer *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->stopping = true;
    w->ckpt_stop = true;
    pthread_cond_signal(&w->wake);
    pthread_cond_signal(&w->ckpt_wake);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    if (w->ckpt_store && w->ckpt_thread)
        pthread_join(w->ckpt_thread, NULL);
    free_writer(w);
}
