/* readers: a few threads that run the admin API's reads, off the HTTP threads.
 *
 * A query over a large database (a body search, the messages view, a filter that matches
 * nothing) can take seconds; run on an HTTP thread it would hold up every delivery on that
 * thread's connections. The handler parks the connection, submits a job, and the job resumes
 * the connection when it is done; the answer is queued when the handler runs again (see
 * server_offload).
 *
 * Jobs are caller-owned and must stay alive until their run function has returned; a job is
 * never touched by the pool after that, so run may hand its memory to another thread. */
#ifndef WEBHOOKY_READERS_H
#define WEBHOOKY_READERS_H

#include "wh_error.h"

typedef struct readers readers;

struct reader_job {
    void (*run)(struct reader_job *job); /* called on a pool thread */
    struct reader_job *next;             /* the pool's list link */
};

/* Start n threads (at least 1). */
int readers_create(unsigned n, readers **ret, struct wh_error *err);

/* Queue a job. Thread-safe. Returns 0, or -ESHUTDOWN after readers_seal (run is then not
 * called). */
int readers_submit(readers *r, struct reader_job *job);

/* Refuse further jobs; queued ones still run. */
void readers_seal(readers *r);

/* Wait until every job submitted so far has run. */
void readers_flush(readers *r);

/* Run what is queued, stop the threads, free the pool. NULL-safe. */
void readers_destroy(readers *r);

#endif
