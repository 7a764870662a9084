/* runner: run loaded scenarios, each against its own receiver, into one results model.
 *
 * Each scenario gets a receiver: the same code as `webhooky serve`, started in-process on
 * 127.0.0.1 with an ephemeral port and its own database (":memory:", or a file under
 * keep_db_dir), or the running receiver named by the scenario's "mock": {"url"}. Either way
 * the runner talks to it only through its HTTP API. Steps run in order; `wait` long-polls the
 * API (no sleeping loops); `expect` evaluates its assertions (checks.h) on what arrived.
 * With jobs > 1, scenarios run on that many threads; calls into the results and the
 * reporters are serialised.
 *
 * Not here: loading files (scenario.h), formats (reporters/). */
#ifndef WEBHOOKY_RUNNER_H
#define WEBHOOKY_RUNNER_H

#include <stddef.h>
#include <stdint.h>

#include "reporters/reporter.h"
#include "reporters/results.h"
#include "scenario.h"

struct runner_options {
    reporter **reporters; /* borrowed; live hooks are called as things happen */
    size_t n_reporters;
    unsigned jobs;           /* scenarios at once; 0 or 1: one after the other */
    const char *keep_db_dir; /* NULL: in-memory databases; else DIR/NN-NAME.db per scenario */
    double timeout_scale;    /* multiplies every step timeout; sleeps only when > 1 (a sleep
                                is a window in which nothing must arrive); 0 means 1 */
    int64_t max_interval_ms; /* > 0: a wait for retries that are further apart than this is
                                given up, and the rest of its scenario skipped (conform) */
    const char *self_exe;    /* the webhooky executable (first on PATH for commands, and
                                WEBHOOKY_BIN); NULL: /proc/self/exe */
};

/* Run the scenarios (borrowed) and append one result_scenario per scenario to res, in the
 * given order. Returns 0 when everything ran (checks may have failed: see the results), or
 * -errno when the runner itself could not go on (err says why). */
int runner_run(struct scenario *const *scenarios, size_t n, const struct runner_options *opts,
               struct results *res, struct wh_error *err);

#endif
