#include "readers.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

struct readers {
    pthread_mutex_t lock;
    pthread_cond_t wake; /* a job was queued, or stopping */
    pthread_cond_t idle; /* the queue ran dry and no job is running */
    struct reader_job *head, *tail; /* guarded by lock */
    unsigned running;               /* jobs being run; guarded by lock */
    bool sealed, stopping;          /* guarded by lock */
    unsigned n_threads;
    pthread_t threads[];
};

static void *reader_main(void *arg)
{
    readers *r = arg;
    pthread_mutex_lock(&r->lock);
    for (;;) {
        while (!r->head && !r->stopping)
            pthread_cond_wait(&r->wake, &r->lock);
        if (!r->head)
            break; /* stopping, and nothing left */
        struct reader_job *job = r->head;
        r->head = job->next;
        if (!r->head)
            r->tail = NULL;
        r->running++;
        pthread_mutex_unlock(&r->lock);
        job->run(job); /* job may be gone after this */
        pthread_mutex_lock(&r->lock);
        if (--r->running == 0 && !r->head)
            pthread_cond_broadcast(&r->idle);
    }
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

int readers_create(unsigned n, readers **ret, struct wh_error *err)
{
    if (n < 1)
        n = 1;
    readers *r = calloc(1, sizeof(*r) + n * sizeof(r->threads[0]));
    if (!r)
        return wh_error_set(err, -ENOMEM, "out of memory");
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->wake, NULL);
    pthread_cond_init(&r->idle, NULL);
    for (; r->n_threads < n; r->n_threads++) {
        int rc = pthread_create(&r->threads[r->n_threads], NULL, reader_main, r);
        if (rc != 0) {
            readers_destroy(r);
            return wh_error_set(err, -rc, "cannot start a reader thread");
        }
    }
    *ret = r;
    return 0;
}

int readers_submit(readers *r, struct reader_job *job)
{
    job->next = NULL;
    pthread_mutex_lock(&r->lock);
    if (r->sealed || r->stopping) {
        pthread_mutex_unlock(&r->lock);
        return -ESHUTDOWN;
    }
    if (r->tail)
        r->tail->next = job;
    else
        r->head = job;
    r->tail = job;
    pthread_cond_signal(&r->wake);
    pthread_mutex_unlock(&r->lock);
    return 0;
}

void readers_seal(readers *r)
{
    pthread_mutex_lock(&r->lock);
    r->sealed = true;
    pthread_mutex_unlock(&r->lock);
}

void readers_flush(readers *r)
{
    pthread_mutex_lock(&r->lock);
    while (r->head || r->running)
        pthread_cond_wait(&r->idle, &r->lock);
    pthread_mutex_unlock(&r->lock);
}

void readers_destroy(readers *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->lock);
    r->stopping = true;
    pthread_cond_broadcast(&r->wake);
    pthread_mutex_unlock(&r->lock);
    for (unsigned i = 0; i < r->n_threads; i++)
        pthread_join(r->threads[i], NULL);
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->wake);
    pthread_cond_destroy(&r->idle);
    free(r);
}
