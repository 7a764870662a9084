/* Unit tests for timer: deadline order, cancelling, and many entries.
 *
 * Nothing here sleeps to wait for the timer thread. A "gate" entry whose callback blocks until
 * the test opens it holds the timer thread while the test schedules, so every ordering check
 * is deterministic; completion is awaited on a condition variable. */
#include <check.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>

#include "timer.h"
#include "unit.h"

/* Shared state for one test; callbacks run on the timer thread. */
struct log {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int fired;                  /* entries fired so far */
    struct timer_entry **order; /* entries in firing order */
    size_t cap;
    bool gate_entered, gate_open;
};

static void log_init(struct log *l, size_t cap)
{
    memset(l, 0, sizeof(*l));
    pthread_mutex_init(&l->lock, NULL);
    pthread_cond_init(&l->cond, NULL);
    l->order = calloc(cap ? cap : 1, sizeof(*l->order));
    ck_assert_ptr_nonnull(l->order);
    l->cap = cap;
}

static void log_finish(struct log *l)
{
    free(l->order);
    pthread_mutex_destroy(&l->lock);
    pthread_cond_destroy(&l->cond);
}

static void on_fire(struct timer_entry *e, void *arg)
{
    struct log *l = arg;
    pthread_mutex_lock(&l->lock);
    if ((size_t)l->fired < l->cap)
        l->order[l->fired] = e;
    l->fired++;
    pthread_cond_broadcast(&l->cond);
    pthread_mutex_unlock(&l->lock);
}

static void wait_fired(struct log *l, int n)
{
    pthread_mutex_lock(&l->lock);
    while (l->fired < n)
        pthread_cond_wait(&l->cond, &l->lock);
    pthread_mutex_unlock(&l->lock);
}

/* The gate: blocks the timer thread until gate_release(). */
static void gate_fire(struct timer_entry *e, void *arg)
{
    struct log *l = arg;
    pthread_mutex_lock(&l->lock);
    l->gate_entered = true;
    pthread_cond_broadcast(&l->cond);
    while (!l->gate_open)
        pthread_cond_wait(&l->cond, &l->lock);
    pthread_mutex_unlock(&l->lock);
}

static void gate_hold(timers *t, struct timer_entry *gate, struct log *l)
{
    ck_assert_int_eq(timer_schedule(t, gate, timer_now_us(), gate_fire, l), 0);
    pthread_mutex_lock(&l->lock);
    while (!l->gate_entered)
        pthread_cond_wait(&l->cond, &l->lock);
    pthread_mutex_unlock(&l->lock);
}

static void gate_release(struct log *l)
{
    pthread_mutex_lock(&l->lock);
    l->gate_open = true;
    pthread_cond_broadcast(&l->cond);
    pthread_mutex_unlock(&l->lock);
}

static timers *create(void)
{
    timers *t = NULL;
    struct wh_error err = {0};
    ck_assert_int_eq(timers_create(&t, &err), 0);
    ck_assert_ptr_nonnull(t);
    return t;
}

START_TEST(test_now_monotonic)
{
    int64_t a = timer_now_us();
    int64_t b = timer_now_us();
    ck_assert_int_gt(a, 0);
    ck_assert_int_ge(b, a);
}
END_TEST

START_TEST(test_create_destroy)
{
    timers *t = create();
    timers_destroy(t);
    timers_destroy(NULL);
}
END_TEST

START_TEST(test_deadline_order)
{
    timers *t = create();
    struct log l;
    log_init(&l, 8);
    struct timer_entry gate = {0}, e[4];
    memset(e, 0, sizeof(e));
    gate_hold(t, &gate, &l);
    /* scheduled out of order, all due by the time the gate opens */
    int64_t now = timer_now_us();
    ck_assert_int_eq(timer_schedule(t, &e[2], now - 10, on_fire, &l), 0);
    ck_assert_int_eq(timer_schedule(t, &e[0], now - 30, on_fire, &l), 0);
    ck_assert_int_eq(timer_schedule(t, &e[3], now + 2000, on_fire, &l), 0);
    ck_assert_int_eq(timer_schedule(t, &e[1], now - 20, on_fire, &l), 0);
    ck_assert_int_eq(e[0].deadline_us, now - 30);
    gate_release(&l);
    wait_fired(&l, 4);
    for (int i = 0; i < 4; i++)
        ck_assert_ptr_eq(l.order[i], &e[i]);
    ck_assert_int_eq(l.fired, 4);
    /* the last one was not early */
    ck_assert_int_ge(timer_now_us(), now + 2000);
    timers_destroy(t);
    log_finish(&l);
}
END_TEST

START_TEST(test_fires_after_deadline)
{
    timers *t = create();
    struct log l;
    log_init(&l, 1);
    struct timer_entry e = {0};
    int64_t deadline = timer_now_us() + 20000;
    ck_assert_int_eq(timer_schedule(t, &e, deadline, on_fire, &l), 0);
    wait_fired(&l, 1);
    ck_assert_int_ge(timer_now_us(), deadline);
    ck_assert_ptr_eq(l.order[0], &e);
    /* cancel after it fired is harmless */
    timer_cancel(t, &e);
    timers_destroy(t);
    log_finish(&l);
}
END_TEST

START_TEST(test_earlier_entry_preempts_wait)
{
    /* the thread is waiting for a far deadline; a nearer one must still fire on time */
    timers *t = create();
    struct log l;
    log_init(&l, 2);
    struct timer_entry far = {0}, near = {0};
    ck_assert_int_eq(timer_schedule(t, &far, timer_now_us() + 3600LL * 1000000, on_fire, &l), 0);
    ck_assert_int_eq(timer_schedule(t, &near, timer_now_us(), on_fire, &l), 0);
    wait_fired(&l, 1);
    ck_assert_ptr_eq(l.order[0], &near);
    timer_cancel(t, &far);
    ck_assert_int_eq(l.fired, 1);
    timers_destroy(t);
    log_finish(&l);
}
END_TEST

START_TEST(test_cancel_before_firing)
{
    timers *t = create();
    struct log l;
    log_init(&l, 4);
    struct timer_entry gate = {0}, a = {0}, b = {0}, c = {0};
    gate_hold(t, &gate, &l);
    int64_t now = timer_now_us();
    ck_assert_int_eq(timer_schedule(t, &a, now - 3, on_fire, &l), 0);
    ck_assert_int_eq(timer_schedule(t, &b, now - 2, on_fire, &l), 0);
    ck_assert_int_eq(timer_schedule(t, &c, now - 1, on_fire, &l), 0);
    timer_cancel(t, &a); /* the head of the heap */
    timer_cancel(t, &b);
    timer_cancel(t, &b); /* twice is fine */
    gate_release(&l);
    wait_fired(&l, 1);
    /* c fires after a and b would have; neither did */
    ck_assert_int_eq(l.fired, 1);
    ck_assert_ptr_eq(l.order[0], &c);
    /* a cancelled entry can be scheduled again */
    ck_assert_int_eq(timer_schedule(t, &a, timer_now_us(), on_fire, &l), 0);
    wait_fired(&l, 2);
    ck_assert_ptr_eq(l.order[1], &a);
    timers_destroy(t);
    log_finish(&l);
}
END_TEST

START_TEST(test_cancel_never_scheduled)
{
    timers *t = create();
    struct timer_entry e;
    memset(&e, 0, sizeof(e));
    timer_cancel(t, &e);
    ck_assert_uint_eq(e.slot, 0);
    /* and the timer still works afterwards */
    struct log l;
    log_init(&l, 1);
    ck_assert_int_eq(timer_schedule(t, &e, timer_now_us(), on_fire, &l), 0);
    wait_fired(&l, 1);
    timers_destroy(t);
    log_finish(&l);
}
END_TEST

START_TEST(test_destroy_with_pending)
{
    timers *t = create();
    struct log l;
    log_init(&l, 4);
    struct timer_entry e[4];
    memset(e, 0, sizeof(e));
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(timer_schedule(t, &e[i], timer_now_us() + 3600LL * 1000000, on_fire, &l),
                         0);
    timers_destroy(t);
    ck_assert_int_eq(l.fired, 0);
    log_finish(&l);
}
END_TEST

/* timer_cancel waits for a running callback */
struct slow {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool entered, release, finished;
    timers *t;
    struct timer_entry e;
    bool finished_seen_by_cancel;
};

static void slow_fire(struct timer_entry *e, void *arg)
{
    struct slow *s = arg;
    pthread_mutex_lock(&s->lock);
    s->entered = true;
    pthread_cond_broadcast(&s->cond);
    while (!s->release)
        pthread_cond_wait(&s->cond, &s->lock);
    s->finished = true;
    pthread_mutex_unlock(&s->lock);
}

static void *canceller(void *arg)
{
    struct slow *s = arg;
    timer_cancel(s->t, &s->e);
    pthread_mutex_lock(&s->lock);
    s->finished_seen_by_cancel = s->finished;
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

START_TEST(test_cancel_waits_for_running_callback)
{
    struct slow s;
    memset(&s, 0, sizeof(s));
    pthread_mutex_init(&s.lock, NULL);
    pthread_cond_init(&s.cond, NULL);
    s.t = create();
    ck_assert_int_eq(timer_schedule(s.t, &s.e, timer_now_us(), slow_fire, &s), 0);
    pthread_mutex_lock(&s.lock);
    while (!s.entered)
        pthread_cond_wait(&s.cond, &s.lock);
    pthread_mutex_unlock(&s.lock);

    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, canceller, &s), 0);
    sched_yield();
    pthread_mutex_lock(&s.lock);
    s.release = true;
    pthread_cond_broadcast(&s.cond);
    pthread_mutex_unlock(&s.lock);
    pthread_join(th, NULL);
    /* when timer_cancel returned, the callback had finished */
    ck_assert(s.finished_seen_by_cancel);
    timers_destroy(s.t);
    pthread_mutex_destroy(&s.lock);
    pthread_cond_destroy(&s.cond);
}
END_TEST

static int cmp_deadline(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

START_TEST(test_many_random)
{
    enum { N = 1000 };
    timers *t = create();
    struct log l;
    log_init(&l, N);
    struct timer_entry gate = {0};
    struct timer_entry *e = calloc(N, sizeof(*e));
    int64_t *deadlines = calloc(N, sizeof(*deadlines));
    ck_assert_ptr_nonnull(e);
    ck_assert_ptr_nonnull(deadlines);
    gate_hold(t, &gate, &l);
    unsigned seed = 12345;
    int64_t now = timer_now_us();
    for (int i = 0; i < N; i++) {
        seed = seed * 1103515245u + 12345u;
        /* between 2 ms in the past and 20 ms in the future, with some equal deadlines */
        int64_t dl = now - 2000 + (int64_t)((seed >> 8) % 22000);
        if (i % 50 == 0)
            dl = now;
        deadlines[i] = dl;
        ck_assert_int_eq(timer_schedule(t, &e[i], dl, on_fire, &l), 0);
    }
    /* cancel a few, from the middle of the heap */
    for (int i = 7; i < N; i += 97)
        timer_cancel(t, &e[i]);
    int cancelled = 0;
    for (int i = 7; i < N; i += 97)
        cancelled++;
    gate_release(&l);
    wait_fired(&l, N - cancelled);
    timers_destroy(t); /* joins the thread: nothing can fire late */
    ck_assert_int_eq(l.fired, N - cancelled);

    /* each remaining entry exactly once, in non-decreasing deadline order */
    int *seen = calloc(N, sizeof(*seen));
    ck_assert_ptr_nonnull(seen);
    for (int k = 0; k < l.fired; k++) {
        struct timer_entry *x = l.order[k];
        ptrdiff_t i = x - e;
        ck_assert(i >= 0 && i < N);
        ck_assert_int_eq((i - 7) % 97 == 0 && i >= 7, 0);
        seen[i]++;
        if (k > 0)
            ck_assert_int_le(l.order[k - 1]->deadline_us, x->deadline_us);
        ck_assert_int_eq(x->deadline_us, deadlines[i]);
    }
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(seen[i], (i >= 7 && (i - 7) % 97 == 0) ? 0 : 1);

    /* the firing order is exactly the sorted deadlines */
    int64_t *sorted = calloc(N, sizeof(*sorted));
    ck_assert_ptr_nonnull(sorted);
    int m = 0;
    for (int i = 0; i < N; i++)
        if (!(i >= 7 && (i - 7) % 97 == 0))
            sorted[m++] = deadlines[i];
    qsort(sorted, (size_t)m, sizeof(*sorted), cmp_deadline);
    for (int k = 0; k < m; k++)
        ck_assert_int_eq(l.order[k]->deadline_us, sorted[k]);

    free(sorted);
    free(seen);
    free(deadlines);
    free(e);
    log_finish(&l);
}
END_TEST

static Suite *timer_suite(void)
{
    Suite *s = suite_create("timer");
    TCase *tc = tcase_create("timer");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_now_monotonic);
    tcase_add_test(tc, test_create_destroy);
    tcase_add_test(tc, test_deadline_order);
    tcase_add_test(tc, test_fires_after_deadline);
    tcase_add_test(tc, test_earlier_entry_preempts_wait);
    tcase_add_test(tc, test_cancel_before_firing);
    tcase_add_test(tc, test_cancel_never_scheduled);
    tcase_add_test(tc, test_destroy_with_pending);
    tcase_add_test(tc, test_cancel_waits_for_running_callback);
    tcase_add_test(tc, test_many_random);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(timer_suite());
}
