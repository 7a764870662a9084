/* json: the results as one JSON document for other tools; format "webhooky-results" version 1,
 * documented in reporters/README.md and described by reporters/results.schema.json.
 *
 * Stable: keys are written in a fixed order, every documented key is always present (null when
 * it does not apply), durations are milliseconds rounded to microseconds, times RFC 3339 with
 * microseconds in UTC. Text that is not UTF-8 (command output, messages) is read byte by byte
 * as ISO-8859-1, as the API does with header bytes; deliveries are the API's objects as the
 * runner stored them. Nothing is shortened. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mockserver/encode.h"
#include "reporter_priv.h"

/* json_object_set_new that also fails on a NULL value (an allocation that failed). */
static bool put(json_t *o, const char *key, json_t *v)
{
    return v && json_object_set_new(o, key, v) == 0;
}

static json_t *str(const char *s)
{
    return s ? encode_json_string(s, strlen(s)) : json_null();
}

static json_t *ms(double v)
{
    if (!isfinite(v) || v < 0)
        v = 0;
    return json_real(round(v * 1000) / 1000);
}

static json_t *when(int64_t us)
{
    struct buf b;
    buf_init(&b, 0);
    json_t *v = encode_rfc3339_us(&b, us) == 0 ? json_stringn(b.data, b.len) : NULL;
    buf_finish(&b);
    return v;
}

static json_t *check_json(const struct result_check *c)
{
    json_t *o = json_object(), *ids = json_array();
    bool ok = o && ids;
    for (size_t i = 0; ok && i < c->n_delivery_ids; i++)
        ok = json_array_append_new(ids, json_integer(c->delivery_ids[i])) == 0;
    ok = ok && put(o, "name", str(c->name)) && put(o, "step", str(c->step)) &&
         put(o, "status", json_string(check_status_name(c->status))) &&
         put(o, "message", str(c->message)) && put(o, "expected", str(c->expected)) &&
         put(o, "actual", str(c->actual)) && put(o, "deliveries", json_incref(ids)) &&
         put(o, "duration_ms", ms(c->duration_ms));
    json_decref(ids);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *output_json(const struct result_output *x)
{
    json_t *o = json_object();
    if (o && put(o, "step", str(x->step)) && put(o, "command", str(x->command)) &&
        put(o, "exit_status", json_integer(x->exit_status)) && put(o, "output", str(x->out)) &&
        put(o, "duration_ms", ms(x->duration_ms)))
        return o;
    json_decref(o);
    return NULL;
}

static json_t *message_json(const struct result_message *m)
{
    json_t *o = json_object(), *attempts = json_array();
    bool ok = o && attempts;
    for (size_t i = 0; ok && i < m->n_attempts; i++) {
        const struct result_attempt *a = &m->attempts[i];
        json_t *x = json_object();
        ok = x && put(x, "delivery_id", json_integer(a->delivery_id)) &&
             put(x, "received_at", when(a->received_us)) &&
             put(x, "status", a->status > 0 ? json_integer(a->status) : json_null()) &&
             put(x, "fault", str(a->fault)) && put(x, "delay_ms", json_integer(a->delay_ms)) &&
             put(x, "interval_ms",
                 i ? ms((double)(a->received_us - m->attempts[i - 1].received_us) / 1000)
                   : json_null());
        if (!ok || json_array_append_new(attempts, x) < 0) {
            json_decref(x);
            ok = false;
        }
    }
    ok = ok && put(o, "endpoint", str(m->endpoint)) && put(o, "key", str(m->key)) &&
         put(o, "delivered", json_boolean(m->delivered)) &&
         put(o, "attempts", json_incref(attempts));
    json_decref(attempts);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *checks_json(const struct result_scenario *s)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < s->n_checks; i++)
        if (json_array_append_new(a, check_json(&s->checks[i])) < 0) {
            json_decref(a);
            a = NULL;
        }
    return a;
}

static json_t *outputs_json(const struct result_scenario *s)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < s->n_outputs; i++)
        if (json_array_append_new(a, output_json(&s->outputs[i])) < 0) {
            json_decref(a);
            a = NULL;
        }
    return a;
}

static json_t *messages_json(const struct result_scenario *s)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < s->n_messages; i++)
        if (json_array_append_new(a, message_json(&s->messages[i])) < 0) {
            json_decref(a);
            a = NULL;
        }
    return a;
}

static json_t *scenario_json(const struct result_scenario *s)
{
    json_t *o = json_object();
    if (o && put(o, "name", str(s->name)) && put(o, "file", str(s->file)) &&
        put(o, "description", str(s->description)) &&
        put(o, "status", json_string(scenario_failed(s) ? "fail" : "pass")) &&
        put(o, "error", str(s->error)) && put(o, "started_at", when(s->started_us)) &&
        put(o, "duration_ms", ms(s->duration_ms)) && put(o, "checks", checks_json(s)) &&
        put(o, "outputs", outputs_json(s)) && put(o, "messages", messages_json(s)) &&
        put(o, "deliveries",
            json_is_array(s->deliveries) ? json_incref(s->deliveries) : json_array()))
        return o;
    json_decref(o);
    return NULL;
}

/* The whole document (a new reference), or NULL on out of memory. */
static json_t *results_json(const struct results *r)
{
    struct results_totals t;
    results_totals(r, &t);
    json_t *o = json_object(), *totals = json_object(), *scenarios = json_array();
    bool ok = o && totals && scenarios &&
              put(totals, "scenarios", json_integer((json_int_t)t.scenarios)) &&
              put(totals, "scenarios_failed", json_integer((json_int_t)t.scenarios_failed)) &&
              put(totals, "checks", json_integer((json_int_t)t.checks)) &&
              put(totals, "passed", json_integer((json_int_t)t.passed)) &&
              put(totals, "failed", json_integer((json_int_t)t.failed)) &&
              put(totals, "errors", json_integer((json_int_t)t.errors)) &&
              put(totals, "skipped", json_integer((json_int_t)t.skipped));
    for (size_t i = 0; ok && i < r->n_scenarios; i++)
        ok = json_array_append_new(scenarios, scenario_json(&r->scenarios[i])) == 0;
    ok = ok && put(o, "format", json_string("webhooky-results")) &&
         put(o, "version", json_integer(1)) && put(o, "title", str(r->title)) &&
         put(o, "status", json_string(t.scenarios_failed ? "fail" : "pass")) &&
         put(o, "started_at", when(r->started_us)) && put(o, "duration_ms", ms(r->duration_ms)) &&
         put(o, "totals", json_incref(totals)) && put(o, "scenarios", json_incref(scenarios));
    json_decref(totals);
    json_decref(scenarios);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static int render(reporter *rp, const struct results *r, struct buf *out)
{
    (void)rp;
    json_t *doc = results_json(r);
    char *text = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_REAL_PRECISION(15)) : NULL;
    json_decref(doc);
    if (!text)
        return -ENOMEM;
    int ret = buf_append_str(out, text);
    free(text);
    return ret < 0 ? ret : buf_append_byte(out, '\n');
}

const struct reporter_ops reporter_json_ops = {
    .name = "json",
    .render = render,
};
