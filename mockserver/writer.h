/* writer: the one connection that writes to the store, committing in groups.
 *
 * Request handlers submit jobs (store this delivery, delete these deliveries) and park their
 * connection; the writer takes every job queued so far, runs them in one transaction, commits,
 * and only then reports each job done. So a delivery is acknowledged only once its row is
 * committed, no request waits on a transaction of its own, and under load one commit covers
 * many deliveries.
 *
 * Batches run one at a time: on the writer's own thread, or on a thread that calls
 * writer_run_if_idle while none is running (an HTTP loop, with the deliveries it has read: the
 * batch then runs where its requests were read, with no hand-off to another thread). Whichever
 * thread runs batches runs every job queued meanwhile before it stops, so no job waits for a
 * thread that is not coming.
 *
 * Jobs are caller-owned (typically embedded in a request) and must stay alive until their done
 * callback has run. The writer never touches a job after calling its done callback, so the
 * callback may hand the job's memory back to another thread. */
#ifndef WEBHOOKY_WRITER_H
#define WEBHOOKY_WRITER_H

#include <stdint.h>

#include "delivery.h"
#include "filter.h"
#include "store.h"
#include "wh_error.h"

typedef struct writer writer;

enum writer_job_kind {
    WRITER_INSERT, /* store job->delivery; result: its id */
    WRITER_DELETE, /* delete job->filter's deliveries; result: how many */
    WRITER_SET_RESPONSE, /* record delivery `id`'s status, delay_ms and responded_us */
};

struct writer_job {
    enum writer_job_kind kind;
    struct delivery *delivery;     /* WRITER_INSERT: borrowed until done */
    struct delivery_filter filter; /* WRITER_DELETE: borrowed strings, until done */
    int64_t id, delay_ms, responded_us; /* WRITER_SET_RESPONSE */
    int status;                         /* WRITER_SET_RESPONSE */
    int rc;                        /* out: 0 or a negative errno-style code */
    int64_t result;                /* out: see kind */
    void (*done)(struct writer_job *job, void *arg); /* on the thread running the batch */
    void *arg;
    struct writer_job *next; /* the writer's list link */
};

/* Called on the thread running the batch after each commit, before any of the batch's done
 * callbacks, with the batch's jobs linked through ->next (inserts that failed have rc < 0). */
typedef void (*writer_commit_fn)(void *arg, const struct writer_job *batch, int64_t last_id);

/* Called on the thread running the batch after the last done callback of each batch (with
 * writer_create's arg): lets done callbacks gather work and act on it once per batch. */
typedef void (*writer_done_fn)(void *arg);

struct writer_stats {
    uint64_t commits;     /* transactions committed */
    uint64_t jobs;        /* jobs completed */
    uint64_t failed_jobs; /* jobs completed with an error */
    uint64_t batch_hist[8]; /* commits with batch size 1, 2-3, 4-7, ..., 64-127, >= 128 */
    uint64_t wal_restarts;  /* times the WAL started over after a complete checkpoint */
    uint64_t tail_checkpoints; /* checkpoints the writer ran itself, to finish the WAL */
    uint64_t limit_checkpoints; /* ... because the checkpointer had fallen too far behind */
    int tail_gap_min, tail_gap_max; /* WAL frames left for those to copy: least and most */
};

/* For writer_create, beside the store flags: start no checkpointer thread, so that only the
 * writer's own checkpoints keep the WAL in bounds (for tests of that backstop). */
#define WRITER_NO_CHECKPOINTER (1 << 16)

/* Open (creating when needed) the database at path and start the writer on it. store_flags
 * are passed to store_open (STORE_SYNC_FULL), WRITER_NO_CHECKPOINTER aside. For a file
 * database the writer also runs a checkpointer thread with a connection of its own, so copying
 * the WAL back into the file never holds up a commit. on_commit may be NULL. */
int writer_create(const char *path, int store_flags, writer_commit_fn on_commit, void *arg,
                  writer **ret, struct wh_error *err);

/* The WAL size, in frames of one page, at which the writer copies the WAL back itself when the
 * checkpointer has fallen behind (default about 256 MiB); call before the first job (tests
 * lower it). */
void writer_set_wal_limit(writer *w, int frames);

/* Set the batch-done hook; call before the first job is submitted. */
void writer_on_batch_done(writer *w, writer_done_fn fn);

/* Queue a job. Thread-safe. Returns 0, or -ESHUTDOWN after writer_destroy began (the done
 * callback is then not called). */
int writer_submit(writer *w, struct writer_job *job);

/* Run jobs (linked through ->next, caller-owned as for writer_submit) on the calling thread,
 * with whatever else is queued, unless a batch is running elsewhere. Returns 1 when they were
 * run (done callbacks called here), 0 when another thread is running batches (nothing was
 * queued: try again after the on_idle hook), -ESHUTDOWN when sealed. Thread-safe. */
int writer_run_if_idle(writer *w, struct writer_job *jobs);

/* Set a hook called (with writer_create's arg) each time a thread stops running batches, after
 * it has let go: a writer_run_if_idle that returned 0 before may now succeed. Call before the
 * first job. */
void writer_on_idle(writer *w, writer_done_fn fn);

/* The largest id committed so far (published after each commit). Thread-safe. */
int64_t writer_last_id(writer *w);

void writer_get_stats(writer *w, struct writer_stats *ret);

/* Refuse further jobs (writer_submit then returns -ESHUTDOWN); queued ones still complete. */
void writer_seal(writer *w);

/* Wait until every job submitted so far has been completed (done callbacks returned) and no
 * on_idle hook is running. */
void writer_flush(writer *w);

/* Finish every queued job, stop the thread, close the store. NULL-safe. */
void writer_destroy(writer *w);

#endif
