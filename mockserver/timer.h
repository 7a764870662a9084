/* timer: one thread that fires callbacks at deadlines, for parked connections.
 *
 * Long-polls (and later scripted delays and hangs) park a connection and ask to be woken at a
 * deadline; no thread sleeps per request. Entries are caller-owned storage. After
 * timer_cancel() returns, the entry's callback is not running and will not run, so the caller
 * may free the entry. Callbacks run on the timer thread, one at a time, and must be short. */
#ifndef WEBHOOKY_TIMER_H
#define WEBHOOKY_TIMER_H

#include <stddef.h>
#include <stdint.h>

#include "wh_error.h"

typedef struct timers timers;

struct timer_entry {
    int64_t deadline_us; /* CLOCK_MONOTONIC microseconds */
    void (*fire)(struct timer_entry *e, void *arg);
    void *arg;
    size_t slot; /* position in the heap + 1; 0 when not scheduled (private) */
};

/* Monotonic clock in microseconds. */
int64_t timer_now_us(void);

int timers_create(timers **ret, struct wh_error *err);
/* Stop the thread; entries still scheduled never fire. NULL-safe. */
void timers_destroy(timers *t);

/* Schedule e to fire at deadline_us (monotonic). e must not be scheduled already.
 * Returns 0 or -ENOMEM. */
int timer_schedule(timers *t, struct timer_entry *e, int64_t deadline_us,
                   void (*fire)(struct timer_entry *, void *), void *arg);

/* Unschedule e if it is pending and wait until its callback is not running. Safe to call
 * for an entry that was never scheduled or already fired (zero-initialised entries are fine).
 * Must not be called from inside a timer callback. */
void timer_cancel(timers *t, struct timer_entry *e);

#endif
