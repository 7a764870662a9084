#include "writer.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

struct writer {
    store *store;
    writer_commit_fn on_commit;
    void *arg;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct writer_job *head, *tail; /* queued, not yet taken; guarded by lock */
    bool stopping;                  /* guarded by lock */
    bool sealed;                    /* no new jobs; guarded by lock */
    bool busy;                      /* a batch is being processed; guarded by lock */
    pthread_cond_t idle;            /* signalled when the queue is empty and not busy */
    atomic_int_fast64_t last_id;
    pthread_mutex_t stats_lock;
    struct writer_stats stats;
};

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
    } else {
        j->rc = store_delete(w->store, &j->filter, &j->result, &err);
    }
    return j->rc;
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
    pthread_mutex_lock(&w->stats_lock);
    w->stats.commits += r == 0;
    w->stats.jobs += n;
    w->stats.failed_jobs += failed;
    w->stats.batch_hist[bucket(n)]++;
    pthread_mutex_unlock(&w->stats_lock);
}

static void *writer_main(void *arg)
{
    writer *w = arg;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (!w->head && !w->stopping) {
            pthread_cond_broadcast(&w->idle);
            pthread_cond_wait(&w->wake, &w->lock);
        }
        if (!w->head && w->stopping)
            break;
        struct writer_job *batch = w->head;
        w->head = w->tail = NULL;
        w->busy = true;
        pthread_mutex_unlock(&w->lock);
        process(w, batch);
        pthread_mutex_lock(&w->lock);
        w->busy = false;
    }
    pthread_cond_broadcast(&w->idle);
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

int writer_create(store *s, writer_commit_fn on_commit, void *arg, writer **ret,
                  struct wh_error *err)
{
    writer *w = calloc(1, sizeof(*w));
    if (!w) {
        store_close(s);
        return wh_error_set(err, -ENOMEM, "out of memory");
    }
    w->store = s;
    w->on_commit = on_commit;
    w->arg = arg;
    int64_t last = 0;
    int r = store_last_id(s, &last, err);
    if (r < 0) {
        store_close(s);
        free(w);
        return r;
    }
    atomic_init(&w->last_id, last);
    pthread_mutex_init(&w->lock, NULL);
    pthread_mutex_init(&w->stats_lock, NULL);
    pthread_cond_init(&w->wake, NULL);
    pthread_cond_init(&w->idle, NULL);
    r = pthread_create(&w->thread, NULL, writer_main, w);
    if (r != 0) {
        pthread_mutex_destroy(&w->lock);
        pthread_mutex_destroy(&w->stats_lock);
        pthread_cond_destroy(&w->wake);
        pthread_cond_destroy(&w->idle);
        store_close(s);
        free(w);
        return wh_error_set(err, -r, "cannot start the writer thread");
    }
    *ret = w;
    return 0;
}

int writer_submit(writer *w, struct writer_job *job)
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
    while (w->head || w->busy)
        pthread_cond_wait(&w->idle, &w->lock);
    pthread_mutex_unlock(&w->lock);
}

void writer_destroy(writer *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->stopping = true;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    pthread_mutex_destroy(&w->lock);
    pthread_mutex_destroy(&w->stats_lock);
    pthread_cond_destroy(&w->wake);
    pthread_cond_destroy(&w->idle);
    store_close(w->store);
    free(w);
}
