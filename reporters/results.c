/* results: the builders of the results model, its totals and names. See results.h. */
#include "results.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A copy of s (NULL stays NULL); *failed is set when the copy could not be made. */
static char *dup_opt(const char *s, bool *failed)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *failed = true;
    return d;
}

/* Make room for one more element in *arr (of *n elements of size `size`); false on OOM. The
 * array grows by doubling, so its capacity is the next power of two at or above n. */
static bool grow(void **arr, size_t n, size_t size)
{
    if (n & (n - 1)) /* not a power of two (and not 0): there is room */
        return true;
    size_t cap = n ? n * 2 : 1;
    if (cap > SIZE_MAX / size)
        return false;
    void *p = realloc(*arr, cap * size);
    if (!p)
        return false;
    *arr = p;
    return true;
}

struct results *results_create(const char *title)
{
    struct results *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    bool failed = false;
    r->title = dup_opt(title, &failed);
    if (failed) {
        free(r);
        return NULL;
    }
    return r;
}

static void check_finish(struct result_check *c)
{
    free(c->name);
    free(c->step);
    free(c->message);
    free(c->expected);
    free(c->actual);
    free(c->delivery_ids);
}

static void output_finish(struct result_output *o)
{
    free(o->step);
    free(o->command);
    free(o->out);
}

static void message_finish(struct result_message *m)
{
    free(m->endpoint);
    free(m->key);
    for (size_t i = 0; i < m->n_attempts; i++)
        free(m->attempts[i].fault);
    free(m->attempts);
}

static void scenario_finish(struct result_scenario *s)
{
    free(s->name);
    free(s->file);
    free(s->description);
    free(s->error);
    for (size_t i = 0; i < s->n_checks; i++)
        check_finish(&s->checks[i]);
    free(s->checks);
    for (size_t i = 0; i < s->n_outputs; i++)
        output_finish(&s->outputs[i]);
    free(s->outputs);
    json_decref(s->deliveries);
    for (size_t i = 0; i < s->n_messages; i++)
        message_finish(&s->messages[i]);
    free(s->messages);
}

void results_destroy(struct results *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_scenarios; i++)
        scenario_finish(&r->scenarios[i]);
    free(r->scenarios);
    free(r->title);
    free(r);
}

struct result_scenario *results_add_scenario(struct results *r, const char *name, const char *file,
                                             const char *description)
{
    if (!grow((void **)&r->scenarios, r->n_scenarios, sizeof(*r->scenarios)))
        return NULL;
    struct result_scenario *s = &r->scenarios[r->n_scenarios];
    memset(s, 0, sizeof(*s));
    bool failed = false;
    s->name = dup_opt(name, &failed);
    s->file = dup_opt(file, &failed);
    s->description = dup_opt(description, &failed);
    if (failed) {
        scenario_finish(s);
        return NULL;
    }
    r->n_scenarios++;
    return s;
}

struct result_check *scenario_add_check(struct result_scenario *s, const char *name,
                                        const char *step, enum check_status status,
                                        const char *message, const char *expected,
                                        const char *actual, const int64_t *ids, size_t n_ids)
{
    if (!grow((void **)&s->checks, s->n_checks, sizeof(*s->checks)))
        return NULL;
    struct result_check *c = &s->checks[s->n_checks];
    memset(c, 0, sizeof(*c));
    bool failed = false;
    c->name = dup_opt(name, &failed);
    c->step = dup_opt(step, &failed);
    c->status = status;
    c->message = dup_opt(message, &failed);
    c->expected = dup_opt(expected, &failed);
    c->actual = dup_opt(actual, &failed);
    if (n_ids && ids) {
        if (n_ids > SIZE_MAX / sizeof(*ids) || !(c->delivery_ids = malloc(n_ids * sizeof(*ids))))
            failed = true;
        else {
            memcpy(c->delivery_ids, ids, n_ids * sizeof(*ids));
            c->n_delivery_ids = n_ids;
        }
    }
    if (failed) {
        check_finish(c);
        return NULL;
    }
    s->n_checks++;
    return c;
}

struct result_output *scenario_add_output(struct result_scenario *s, const char *step,
                                          const char *command, int exit_status, const char *out,
                                          double duration_ms)
{
    if (!grow((void **)&s->outputs, s->n_outputs, sizeof(*s->outputs)))
        return NULL;
    struct result_output *o = &s->outputs[s->n_outputs];
    memset(o, 0, sizeof(*o));
    bool failed = false;
    o->step = dup_opt(step, &failed);
    o->command = dup_opt(command, &failed);
    o->exit_status = exit_status;
    o->out = dup_opt(out, &failed);
    o->duration_ms = duration_ms;
    if (failed) {
        output_finish(o);
        return NULL;
    }
    s->n_outputs++;
    return o;
}

struct result_message *scenario_add_message(struct result_scenario *s, const char *endpoint,
                                            const char *key, bool delivered)
{
    if (!grow((void **)&s->messages, s->n_messages, sizeof(*s->messages)))
        return NULL;
    struct result_message *m = &s->messages[s->n_messages];
    memset(m, 0, sizeof(*m));
    bool failed = false;
    m->endpoint = dup_opt(endpoint, &failed);
    m->key = dup_opt(key, &failed);
    m->delivered = delivered;
    if (failed) {
        message_finish(m);
        return NULL;
    }
    s->n_messages++;
    return m;
}

int message_add_attempt(struct result_message *m, int64_t delivery_id, int64_t received_us,
                        int status, const char *fault, int64_t delay_ms)
{
    if (!grow((void **)&m->attempts, m->n_attempts, sizeof(*m->attempts)))
        return -ENOMEM;
    bool failed = false;
    char *f = dup_opt(fault, &failed);
    if (failed)
        return -ENOMEM;
    m->attempts[m->n_attempts++] = (struct result_attempt){
        .delivery_id = delivery_id,
        .received_us = received_us,
        .status = status,
        .fault = f,
        .delay_ms = delay_ms,
    };
    return 0;
}

int scenario_set_error(struct result_scenario *s, const char *error)
{
    bool failed = false;
    char *e = dup_opt(error, &failed);
    if (failed)
        return -ENOMEM;
    free(s->error);
    s->error = e;
    return 0;
}

bool scenario_failed(const struct result_scenario *s)
{
    if (s->error)
        return true;
    for (size_t i = 0; i < s->n_checks; i++)
        if (s->checks[i].status == CHECK_FAIL || s->checks[i].status == CHECK_ERROR)
            return true;
    return false;
}

void results_totals(const struct results *r, struct results_totals *ret)
{
    memset(ret, 0, sizeof(*ret));
    for (size_t i = 0; i < r->n_scenarios; i++) {
        const struct result_scenario *s = &r->scenarios[i];
        ret->scenarios++;
        if (scenario_failed(s))
            ret->scenarios_failed++;
        for (size_t j = 0; j < s->n_checks; j++) {
            ret->checks++;
            switch (s->checks[j].status) {
            case CHECK_PASS:
                ret->passed++;
                break;
            case CHECK_FAIL:
                ret->failed++;
                break;
            case CHECK_ERROR:
                ret->errors++;
                break;
            case CHECK_SKIP:
                ret->skipped++;
                break;
            }
        }
    }
}

const char *check_status_name(enum check_status st)
{
    switch (st) {
    case CHECK_PASS:
        return "pass";
    case CHECK_FAIL:
        return "fail";
    case CHECK_ERROR:
        return "error";
    case CHECK_SKIP:
        return "skip";
    }
    return "unknown";
}
