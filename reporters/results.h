/* results: what a scenario run found, the one model every reporter reads.
 *
 * The runner builds it as it goes (results_scenario_add, scenario_add_check, ...); reporters
 * turn it into console text, JUnit XML, TAP, JSON or HTML. Everything in it is owned by the
 * `results` and freed by results_destroy; the add functions copy the strings they are given
 * (NULL stays NULL). Captured data (delivery JSON, command output) is stored as received:
 * reporters escape it for their format.
 *
 * Not thread-safe: with -j N the runner serialises calls into one results. */
#ifndef WEBHOOKY_RESULTS_H
#define WEBHOOKY_RESULTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum check_status {
    CHECK_PASS,
    CHECK_FAIL,  /* the sender did something the check forbids */
    CHECK_ERROR, /* the check could not be run (step failed, receiver error) */
    CHECK_SKIP,  /* not run (an earlier step failed, or not applicable) */
};

struct result_check {
    char *name;     /* "signature valid on every delivery" */
    char *step;     /* where it was asserted: "expect (step 4)"; NULL at scenario level */
    enum check_status status;
    char *message;  /* one sentence; on failure, what was wrong */
    char *expected; /* text, NULL when not applicable */
    char *actual;   /* text, NULL when not applicable */
    int64_t *delivery_ids; /* the deliveries the check looked at (failing ones first) */
    size_t n_delivery_ids;
    double duration_ms;
};

/* Output of an `exec` step (the sender under test). */
struct result_output {
    char *step;      /* "exec (step 1)" */
    char *command;
    int exit_status; /* -1: killed by the timeout or a signal */
    char *out;       /* stdout + stderr as captured, possibly shortened; NULL when none */
    double duration_ms;
};

/* One attempt of a message, for timelines. */
struct result_attempt {
    int64_t delivery_id;
    int64_t received_us; /* wall clock, microseconds */
    int status;          /* status answered; 0 when a fault answered instead */
    char *fault;         /* "reset", ... or NULL */
    int64_t delay_ms;    /* scripted delay applied */
};

struct result_message {
    char *endpoint; /* NULL: the catch-all */
    char *key;      /* message key (message id, or body hash) */
    struct result_attempt *attempts;
    size_t n_attempts;
    bool delivered; /* one attempt got a 2xx */
};

struct result_scenario {
    char *name;
    char *file;        /* the scenario file, as given */
    char *description; /* NULL when none */
    int64_t started_us;/* wall clock */
    double duration_ms;
    char *error;       /* scenario-level error (broken file, receiver failed); NULL when none */
    struct result_check *checks;
    size_t n_checks;
    struct result_output *outputs;
    size_t n_outputs;
    json_t *deliveries; /* owned reference: array of delivery objects (the API's shape) */
    struct result_message *messages;
    size_t n_messages;
};

struct results {
    char *title;  /* "webhooky run" or "conform standard-webhooks" */
    int64_t started_us;
    double duration_ms;
    struct result_scenario *scenarios;
    size_t n_scenarios;
};

struct results_totals {
    size_t scenarios, scenarios_failed; /* a scenario fails with any FAIL/ERROR check or an error */
    size_t checks, passed, failed, errors, skipped;
};

/* New, empty results; NULL on out of memory. */
struct results *results_create(const char *title);
void results_destroy(struct results *r); /* NULL-safe */

/* Append a scenario; returns it (owned by r; valid until the next results_add_scenario), or
 * NULL on out of memory. */
struct result_scenario *results_add_scenario(struct results *r, const char *name,
                                             const char *file, const char *description);
/* Returns the new check (owned by the scenario; valid until the next add), NULL on OOM. */
struct result_check *scenario_add_check(struct result_scenario *s, const char *name,
                                        const char *step, enum check_status status,
                                        const char *message, const char *expected,
                                        const char *actual, const int64_t *ids, size_t n_ids);
struct result_output *scenario_add_output(struct result_scenario *s, const char *step,
                                          const char *command, int exit_status, const char *out,
                                          double duration_ms);
struct result_message *scenario_add_message(struct result_scenario *s, const char *endpoint,
                                            const char *key, bool delivered);
int message_add_attempt(struct result_message *m, int64_t delivery_id, int64_t received_us,
                        int status, const char *fault, int64_t delay_ms);
/* Set the scenario error (copied). 0 or -ENOMEM. */
int scenario_set_error(struct result_scenario *s, const char *error);

void results_totals(const struct results *r, struct results_totals *ret);
bool scenario_failed(const struct result_scenario *s);
const char *check_status_name(enum check_status st); /* "pass", "fail", "error", "skip" */

#endif
