/* checks: the assertions of an `expect` step, evaluated on the deliveries that arrived.
 *
 * The input is the receiver's own JSON for each delivery (GET /_webhooky/api/deliveries), so
 * the checks see exactly what a person sees in the API. Each assertion yields one named check
 * with a status, a sentence, expected and actual values and the ids of the deliveries it looked
 * at (the offending ones first). What each assertion means is documented in
 * scenarios/README.md; the timing rules in one place:
 *
 * - attempts of one message are the deliveries with the same message key ("message_key", else
 *   "message_id", else the body bytes), in arrival order;
 * - the interval before an attempt is measured from the previous attempt's answer
 *   ("responded_at") when it was answered with a status, else from its arrival;
 * - Retry-After is read from the scripted rule that answered (the runner keeps the history of
 *   scripts, see struct check_env).
 *
 * Not here: fetching deliveries, running steps, reporting. */
#ifndef WEBHOOKY_CHECKS_H
#define WEBHOOKY_CHECKS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reporters/results.h"
#include "mockserver/wh_error.h"

/* One delivery, read once from its JSON. Strings are borrowed from `json`. */
struct dview {
    json_t *json; /* borrowed */
    int64_t id;
    int64_t received_us;  /* wall clock */
    int64_t responded_us; /* when it was answered; received_us when unknown */
    const char *endpoint; /* "-" for the catch-all */
    const char *event;    /* NULL when none */
    const char *method;
    const char *key;    /* the message key (see above) */
    char key_buf[48];   /* storage for a body-hash key */
    char body_hash[40]; /* hex digest of the body text, for grouping by body */
    int status;         /* answered status, 0 when a fault answered */
    const char *fault;  /* NULL when none */
    int rule;           /* the scripted rule that answered, -1 when none */
    json_t *body;       /* owned reference: the body parsed as JSON, NULL when it is not */
};

struct dset {
    struct dview *v; /* owned array, oldest first */
    size_t n;
};

/* Read the API's delivery array (borrowed; must outlive the set). 0 or -ENOMEM. */
int dset_build(json_t *deliveries, struct dset *ret);
void dset_finish(struct dset *s);

/* The messages of a set: groups of indices into s->v with the same key, each in arrival
 * order, the groups ordered by their first attempt. */
struct dgroup {
    const char *key;      /* borrowed from the set */
    const char *endpoint; /* of the first attempt */
    size_t *idx;          /* owned */
    size_t n;
};
/* Group the deliveries where mask[i] (mask NULL: all). by_body groups by body bytes instead
 * of the message key. *ret is a new array (dgroups_free it). */
int dset_group(const struct dset *s, const bool *mask, bool by_body, struct dgroup **ret,
               size_t *ret_n);
void dgroups_free(struct dgroup *g, size_t n);

/* What checks need besides the deliveries. */
struct check_env {
    json_t *scripts; /* borrowed: [{"endpoint": NAME|"-", "after_id": N, "script": {...}}],
                        the scripts in force, oldest first; NULL: none known */
    const int64_t *step_started_us; /* wall-clock start of each step, by step index */
    const char *const *step_names;  /* the steps' "name"s (NULL entries when none) */
    size_t n_steps;
};

/* Does delivery v pass the filter object (borrowed; NULL passes everything)? */
bool check_filter_match(json_t *filter, const struct dview *v);

/* The outcome of one assertion; all owned. */
struct check_outcome {
    enum check_status status;
    char *name;
    char *message;
    char *expected; /* NULL when not applicable */
    char *actual;
    int64_t *ids;
    size_t n_ids;
};

/* Evaluate one assertion object (borrowed, as validated by scenario.c) at step `step_index`.
 * 0 with *ret filled in (free it with check_outcome_finish), or -ENOMEM. */
int check_eval(json_t *assertion, const struct dset *ds, const struct check_env *env,
               size_t step_index, struct check_outcome *ret);
void check_outcome_finish(struct check_outcome *o);

/* Microseconds since the epoch from "2026-11-27T06:54:38.899103Z"; -1 when it is not one. */
int64_t checks_parse_time(const char *s);

/* A short description of a filter for check names: " to hook, event person.created"
 * ("" for none). Appended to out. */
struct buf;
int checks_describe_filter(json_t *filter, struct buf *out);

#endif
