#include "timer.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

struct timers {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;    /* the heap's head changed, or stopping */
    pthread_cond_t settled; /* the running callback returned */
    struct timer_entry **heap;
    size_t n, cap;
    struct timer_entry *running;
    bool stopping;
};

int64_t timer_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void place(timers *t, size_t i, struct timer_entry *e)
{
    t->heap[i] = e;
    e->slot = i + 1;
}

static void sift_up(timers *t, size_t i)
{
    struct timer_entry *e = t->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (t->heap[parent]->deadline_us <= e->deadline_us)
            break;
        place(t, i, t->heap[parent]);
        i = parent;
    }
    place(t, i, e);
}

static void sift_down(timers *t, size_t i)
{
    struct timer_entry *e = t->heap[i];
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        int64_t best = e->deadline_us;
        if (l < t->n && t->heap[l]->deadline_us < best) {
            m = l;
            best = t->heap[l]->deadline_us;
        }
        if (l + 1 < t->n && t->heap[l + 1]->deadline_us < best)
            m = l + 1;
        if (m == i)
            break;
        place(t, i, t->heap[m]);
        i = m;
    }
    place(t, i, e);
}

static void heap_remove(timers *t, struct timer_entry *e)
{
    size_t i = e->slot - 1;
    e->slot = 0;
    t->n--;
    if (i == t->n)
        return;
    struct timer_entry *moved = t->heap[t->n];
    place(t, i, moved);
    sift_down(t, i);
    sift_up(t, moved->slot - 1);
}

static void *timer_main(void *arg)
{
    timers *t = arg;
    pthread_mutex_lock(&t->lock);
    while (!t->stopping) {
        if (t->n == 0) {
            pthread_cond_wait(&t->wake, &t->lock);
            continue;
        }
        struct timer_entry *e = t->heap[0];
        int64_t now = timer_now_us();
        if (e->deadline_us > now) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            int64_t wait = e->deadline_us - now;
            ts.tv_sec += wait / 1000000;
            ts.tv_nsec += (wait % 1000000) * 1000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&t->wake, &t->lock, &ts);
            continue;
        }
        heap_remove(t, e);
        t->running = e;
        pthread_mutex_unlock(&t->lock);
        e->fire(e, e->arg);
        pthread_mutex_lock(&t->lock);
        t->running = NULL;
        pthread_cond_broadcast(&t->settled);
    }
    pthread_mutex_unlock(&t->lock);
    return NULL;
}

int timers_create(timers **ret, struct wh_error *err)
{
    timers *t = calloc(1, sizeof(*t));
    if (!t)
        return wh_error_set(err, -ENOMEM, "out of memory");
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&t->wake, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&t->settled, NULL);
    pthread_mutex_init(&t->lock, NULL);
    int r = pthread_create(&t->thread, NULL, timer_main, t);
    if (r != 0) {
        pthread_cond_destroy(&t->wake);
        pthread_cond_destroy(&t->settled);
        pthread_mutex_destroy(&t->lock);
        free(t);
        return wh_error_set(err, -r, "cannot start the timer thread");
    }
    *ret = t;
    return 0;
}

void timers_destroy(timers *t)
{
    if (!t)
        return;
    pthread_mutex_lock(&t->lock);
    t->stopping = true;
    pthread_cond_signal(&t->wake);
    pthread_mutex_unlock(&t->lock);
    pthread_join(t->thread, NULL);
    for (size_t i = 0; i < t->n; i++)
        t->heap[i]->slot = 0;
    free(t->heap);
    pthread_cond_destroy(&t->wake);
    pthread_cond_destroy(&t->settled);
    pthread_mutex_destroy(&t->lock);
    free(t);
}

int timer_schedule(timers *t, struct timer_entry *e, int64_t deadline_us,
                   void (*fire)(struct timer_entry *, void *), void *arg)
{
    pthread_mutex_lock(&t->lock);
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        struct timer_entry **h = realloc(t->heap, cap * sizeof(*h));
        if (!h) {
            pthread_mutex_unlock(&t->lock);
            return -ENOMEM;
        }
        t->heap = h;
        t->cap = cap;
    }
    e->deadline_us = deadline_us;
    e->fire = fire;
    e->arg = arg;
    t->heap[t->n++] = e;
    sift_up(t, t->n - 1);
    bool head = t->heap[0] == e;
    pthread_mutex_unlock(&t->lock);
    if (head)
        pthread_cond_signal(&t->wake);
    return 0;
}

void timer_cancel(timers *t, struct timer_entry *e)
{
    pthread_mutex_lock(&t->lock);
    if (e->slot)
        heap_remove(t, e);
    while (t->running == e)
        pthread_cond_wait(&t->settled, &t->lock);
    pthread_mutex_unlock(&t->lock);
}
