#include "checks.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "mockserver/buf.h"
#include "mockserver/hash.h"
#include "mockserver/jsonptr.h"
#include "mockserver/regex.h"

/* ids listed per check, at most */
#define MAX_IDS 200
/* failures spelled out in `actual`, at most */
#define MAX_SHOWN 5
/* Timing noise tolerated when comparing intervals (clock reads, scheduling). */
#define SLACK_MS 20.0

/* ---- reading deliveries ---- */

int64_t checks_parse_time(const char *s)
{
    if (!s)
        return -1;
    int Y, M, D, h, m, sec, n = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &Y, &M, &D, &h, &m, &sec, &n) != 6)
        return -1;
    int64_t frac = 0, scale = 1000000;
    const char *p = s + n;
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++) {
            if (scale > 1) {
                scale /= 10;
                frac += (*p - '0') * scale;
            }
        }
    }
    if (*p != 'Z')
        return -1;
    struct tm tm = {.tm_year = Y - 1900,
                    .tm_mon = M - 1,
                    .tm_mday = D,
                    .tm_hour = h,
                    .tm_min = m,
                    .tm_sec = sec};
    time_t t = timegm(&tm);
    return (int64_t)t * 1000000 + frac;
}

static const char *str(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static void fnv_hex(const char *s, size_t n, char *out, size_t out_size)
{
    snprintf(out, out_size, "%016" PRIx64 "%08zx", hash_fnv1a64(s, n), n & 0xffffffffu);
}

int dset_build(json_t *deliveries, struct dset *ret)
{
    size_t n = json_array_size(deliveries);
    ret->n = 0;
    ret->v = n ? calloc(n, sizeof(*ret->v)) : NULL;
    if (n && !ret->v)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        json_t *d = json_array_get(deliveries, i);
        struct dview *v = &ret->v[ret->n++];
        v->json = d;
        v->id = json_integer_value(json_object_get(d, "id"));
        v->received_us = checks_parse_time(str(d, "received_at"));
        int64_t resp = checks_parse_time(str(d, "responded_at"));
        v->responded_us = resp > 0 ? resp : v->received_us;
        v->endpoint = str(d, "endpoint") ? str(d, "endpoint") : "-";
        v->event = str(d, "event");
        v->method = str(d, "method") ? str(d, "method") : "";
        json_t *r = json_object_get(d, "response");
        v->status = (int)json_integer_value(json_object_get(r, "status"));
        v->fault = str(r, "fault");
        if (v->fault && !v->fault[0])
            v->fault = NULL;
        json_t *rule = json_object_get(r, "rule");
        v->rule = json_is_integer(rule) ? (int)json_integer_value(rule) : -1;
        const char *body = str(d, "body");
        const char *b64 = str(d, "body_base64");
        const char *raw = body ? body : b64 ? b64 : "";
        size_t raw_len = body ? json_string_length(json_object_get(d, "body")) : strlen(raw);
        fnv_hex(raw, raw_len, v->body_hash, sizeof(v->body_hash));
        if (body)
            v->body = json_loadb(body, raw_len, JSON_DECODE_ANY, NULL);
        v->key = str(d, "message_key");
        if (!v->key || !v->key[0])
            v->key = str(d, "message_id");
        if (!v->key || !v->key[0]) {
            snprintf(v->key_buf, sizeof(v->key_buf), "body:%s", v->body_hash);
            v->key = v->key_buf;
        }
    }
    return 0;
}

void dset_finish(struct dset *s)
{
    for (size_t i = 0; i < s->n; i++)
        json_decref(s->v[i].body);
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

void dgroups_free(struct dgroup *g, size_t n)
{
    for (size_t i = 0; g && i < n; i++)
        free(g[i].idx);
    free(g);
}

int dset_group(const struct dset *s, const bool *mask, bool by_body, struct dgroup **ret,
               size_t *ret_n)
{
    struct dgroup *g = NULL;
    size_t n = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (mask && !mask[i])
            continue;
        const char *key = by_body ? s->v[i].body_hash : s->v[i].key;
        size_t k = 0;
        while (k < n && (strcmp(g[k].key, key) != 0 || strcmp(g[k].endpoint, s->v[i].endpoint)))
            k++;
        if (k == n) {
            struct dgroup *bigger = realloc(g, (n + 1) * sizeof(*g));
            if (!bigger) {
                dgroups_free(g, n);
                return -ENOMEM;
            }
            g = bigger;
            g[n++] = (struct dgroup){.key = key, .endpoint = s->v[i].endpoint};
        }
        size_t *idx = realloc(g[k].idx, (g[k].n + 1) * sizeof(*idx));
        if (!idx) {
            dgroups_free(g, n);
            return -ENOMEM;
        }
        g[k].idx = idx;
        g[k].idx[g[k].n++] = i;
    }
    *ret = g;
    *ret_n = n;
    return 0;
}

/* The first header named `name` (case-insensitive), or NULL. */
static const char *header(const struct dview *v, const char *name)
{
    json_t *hs = json_object_get(v->json, "headers");
    size_t i;
    json_t *h;
    json_array_foreach(hs, i, h)
    {
        const char *n = json_string_value(json_array_get(h, 0));
        if (n && strcasecmp(n, name) == 0)
            return json_string_value(json_array_get(h, 1));
    }
    return NULL;
}

/* ---- filters ---- */

/* text form of a JSON value for string comparisons: strings as they are, others as JSON */
static char *value_text(json_t *v)
{
    if (json_is_string(v))
        return strdup(json_string_value(v));
    return json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
}

/* Does `have` (NULL: absent) satisfy V (a string, or {"equals"|"regex"|"exists": ...})? */
static bool value_match(json_t *want, json_t *have)
{
    if (json_is_string(want)) {
        if (!have)
            return false;
        if (json_is_string(have))
            return strcmp(json_string_value(have), json_string_value(want)) == 0;
        char *t = value_text(have);
        bool ok = t && strcmp(t, json_string_value(want)) == 0;
        free(t);
        return ok;
    }
    json_t *ex = json_object_get(want, "exists");
    if (ex)
        return json_is_true(ex) == (have != NULL);
    if (!have)
        return false;
    json_t *eq = json_object_get(want, "equals");
    if (eq)
        return json_equal(eq, have);
    json_t *re = json_object_get(want, "regex");
    if (json_is_string(re)) {
        regex *rx = NULL;
        if (regex_compile(json_string_value(re), json_string_length(re), &rx, NULL) < 0)
            return false;
        char *t = value_text(have);
        bool ok = t && regex_search(rx, t, strlen(t));
        free(t);
        regex_destroy(rx);
        return ok;
    }
    return false;
}

bool check_filter_match(json_t *filter, const struct dview *v)
{
    if (!filter)
        return true;
    const char *ep = str(filter, "endpoint");
    if (ep && strcmp(ep, v->endpoint) != 0)
        return false;
    const char *ev = str(filter, "event");
    if (ev && (!v->event || strcmp(ev, v->event) != 0))
        return false;
    const char *m = str(filter, "method");
    if (m && strcmp(m, v->method) != 0)
        return false;
    const char *key;
    json_t *want;
    json_object_foreach(json_object_get(filter, "header"), key, want)
    {
        const char *h = header(v, key);
        json_t *have = h ? json_string(h) : NULL;
        bool ok = value_match(want, have);
        json_decref(have);
        if (!ok)
            return false;
    }
    json_object_foreach(json_object_get(filter, "body"), key, want)
    {
        if (!value_match(want, v->body ? jsonptr_get(v->body, key) : NULL))
            return false;
    }
    return true;
}

int checks_describe_filter(json_t *filter, struct buf *out)
{
    int r = 0;
    const char *sep = " (";
    static const char *const keys[] = {"endpoint", "event", "method"};
    for (size_t i = 0; i < 3 && r == 0; i++) {
        const char *v = str(filter, keys[i]);
        if (v) {
            r = buf_printf(out, "%s%s %s", sep, keys[i], v);
            sep = ", ";
        }
    }
    const char *key;
    json_t *val;
    json_object_foreach(json_object_get(filter, "header"), key, val)
    {
        r = r ? r : buf_printf(out, "%sheader %s", sep, key);
        sep = ", ";
    }
    json_object_foreach(json_object_get(filter, "body"), key, val)
    {
        r = r ? r : buf_printf(out, "%sbody %s", sep, key);
        sep = ", ";
    }
    if (r == 0 && sep[0] == ',')
        r = buf_append_str(out, ")");
    return r;
}

/* ---- building an outcome ---- */

struct out {
    struct check_outcome *o;
    struct buf name, msg, exp, act;
    size_t shown; /* failures written into act */
    size_t failed;
    int64_t *bad, *good;
    size_t n_bad, n_good;
    bool oom;
};

static void out_init(struct out *w, struct check_outcome *o)
{
    memset(w, 0, sizeof(*w));
    w->o = o;
    memset(o, 0, sizeof(*o));
    buf_init(&w->name, 0);
    buf_init(&w->msg, 0);
    buf_init(&w->exp, 0);
    buf_init(&w->act, 0);
}

static void add_id(struct out *w, int64_t id, bool bad)
{
    for (size_t i = 0; i < w->n_bad; i++)
        if (w->bad[i] == id)
            return;
    for (size_t i = 0; i < w->n_good; i++) {
        if (w->good[i] != id)
            continue;
        if (!bad)
            return;
        /* a delivery found wrong moves to the front list */
        memmove(w->good + i, w->good + i + 1, (w->n_good - i - 1) * sizeof(*w->good));
        w->n_good--;
        break;
    }
    int64_t **arr = bad ? &w->bad : &w->good;
    size_t *n = bad ? &w->n_bad : &w->n_good;
    if (w->n_bad + w->n_good >= MAX_IDS)
        return;
    int64_t *bigger = realloc(*arr, (*n + 1) * sizeof(**arr));
    if (!bigger) {
        w->oom = true;
        return;
    }
    *arr = bigger;
    (*arr)[(*n)++] = id;
}

/* One failure: counted, its id recorded, spelled out in `actual` for the first few. */
static void fail_one(struct out *w, int64_t id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail_one(struct out *w, int64_t id, const char *fmt, ...)
{
    w->failed++;
    if (id > 0)
        add_id(w, id, true);
    if (w->shown++ >= MAX_SHOWN)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if ((w->act.len && buf_append_str(&w->act, "; ") < 0) || buf_append_str(&w->act, line) < 0)
        w->oom = true;
}

static int out_finish(struct out *w, enum check_status st)
{
    struct check_outcome *o = w->o;
    if (w->shown > MAX_SHOWN)
        buf_printf(&w->act, "; and %zu more", w->shown - MAX_SHOWN);
    o->status = st;
    o->name = buf_steal(&w->name, NULL);
    o->message = buf_steal(&w->msg, NULL);
    o->expected = buf_steal(&w->exp, NULL);
    o->actual = buf_steal(&w->act, NULL);
    o->n_ids = w->n_bad + w->n_good;
    o->ids = o->n_ids ? malloc(o->n_ids * sizeof(*o->ids)) : NULL;
    if (o->ids) {
        if (w->n_bad)
            memcpy(o->ids, w->bad, w->n_bad * sizeof(*o->ids));
        if (w->n_good)
            memcpy(o->ids + w->n_bad, w->good, w->n_good * sizeof(*o->ids));
    } else {
        o->n_ids = 0;
    }
    free(w->bad);
    free(w->good);
    buf_finish(&w->name);
    buf_finish(&w->msg);
    buf_finish(&w->exp);
    buf_finish(&w->act);
    if (w->oom || !o->name || !o->message) {
        check_outcome_finish(o);
        return -ENOMEM;
    }
    return 0;
}

void check_outcome_finish(struct check_outcome *o)
{
    free(o->name);
    free(o->message);
    free(o->expected);
    free(o->actual);
    free(o->ids);
    memset(o, 0, sizeof(*o));
}

static void bounds_text(struct buf *b, json_t *bounds)
{
    json_t *ex = json_object_get(bounds, "exactly"), *lo = json_object_get(bounds, "at_least"),
           *hi = json_object_get(bounds, "at_most");
    if (ex)
        buf_printf(b, "exactly %" JSON_INTEGER_FORMAT, json_integer_value(ex));
    else if (lo && hi)
        buf_printf(b, "%" JSON_INTEGER_FORMAT " to %" JSON_INTEGER_FORMAT, json_integer_value(lo),
                   json_integer_value(hi));
    else if (lo)
        buf_printf(b, "at least %" JSON_INTEGER_FORMAT, json_integer_value(lo));
    else if (hi)
        buf_printf(b, "at most %" JSON_INTEGER_FORMAT, json_integer_value(hi));
}

static bool bounds_ok(json_t *bounds, int64_t n)
{
    json_t *ex = json_object_get(bounds, "exactly"), *lo = json_object_get(bounds, "at_least"),
           *hi = json_object_get(bounds, "at_most");
    return (!ex || n == json_integer_value(ex)) && (!lo || n >= json_integer_value(lo)) &&
           (!hi || n <= json_integer_value(hi));
}

/* ---- signature timestamps, per scheme ---- */

struct ts_info {
    bool found;         /* the delivery carries a signed timestamp */
    int64_t unit_ms;    /* 1000 (seconds) or 1 (milliseconds) */
    int64_t value;      /* in unit */
    const char *sig;    /* the signature header's value, NULL when none */
    const char *header; /* the timestamp header's name */
};

static bool parse_i64(const char *s, int64_t *ret)
{
    if (!s || !*s)
        return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || (*end && *end != ','))
        return false;
    *ret = v;
    return true;
}

static void find_timestamp(const struct dview *v, struct ts_info *t)
{
    memset(t, 0, sizeof(*t));
    const char *scheme = str(json_object_get(v->json, "signature"), "scheme");
    const char *h;
    if ((!scheme || strcmp(scheme, "standard-webhooks") == 0) &&
        ((h = header(v, "webhook-timestamp")) || (h = header(v, "svix-timestamp")))) {
        t->header = header(v, "webhook-timestamp") ? "webhook-timestamp" : "svix-timestamp";
        t->unit_ms = 1000;
        t->found = parse_i64(h, &t->value);
        t->sig = header(v, "webhook-signature") ? header(v, "webhook-signature")
                                                : header(v, "svix-signature");
        return;
    }
    if ((!scheme || strcmp(scheme, "twenty") == 0) &&
        (h = header(v, "X-Twenty-Webhook-Timestamp"))) {
        t->header = "X-Twenty-Webhook-Timestamp";
        t->unit_ms = 1;
        t->found = parse_i64(h, &t->value);
        t->sig = header(v, "X-Twenty-Webhook-Signature");
        return;
    }
    if ((!scheme || strcmp(scheme, "stripe") == 0) && (h = header(v, "Stripe-Signature"))) {
        t->header = "Stripe-Signature";
        t->unit_ms = 1000;
        const char *p = strstr(h, "t=");
        t->found = p && (p == h || p[-1] == ',') && parse_i64(p + 2, &t->value);
        t->sig = h;
        return;
    }
    if ((!scheme || strcmp(scheme, "slack") == 0) && (h = header(v, "X-Slack-Request-Timestamp"))) {
        t->header = "X-Slack-Request-Timestamp";
        t->unit_ms = 1000;
        t->found = parse_i64(h, &t->value);
        t->sig = header(v, "X-Slack-Signature");
    }
}

/* ---- the script in force, for Retry-After ---- */

static json_t *rule_for(const struct check_env *env, const struct dview *v)
{
    if (v->rule < 0 || !env->scripts)
        return NULL;
    json_t *best = NULL;
    size_t i;
    json_t *e;
    json_array_foreach(env->scripts, i, e)
    {
        const char *ep = str(e, "endpoint");
        if (ep && strcmp(ep, v->endpoint) == 0 &&
            json_integer_value(json_object_get(e, "after_id")) < v->id)
            best = e;
    }
    json_t *rules = json_object_get(json_object_get(best, "script"), "rules");
    return json_array_get(rules, (size_t)v->rule);
}

/* Retry-After in ms from a rule's headers, -1 when none (or an HTTP date, not read). */
static int64_t retry_after_ms(json_t *rule)
{
    json_t *hs = json_object_get(rule, "headers");
    const char *val = NULL;
    if (json_is_object(hs)) {
        const char *k;
        json_t *x;
        json_object_foreach(hs, k, x) if (strcasecmp(k, "Retry-After") == 0) val =
            json_string_value(x);
    } else if (json_is_array(hs)) {
        size_t i;
        json_t *x;
        json_array_foreach(hs, i, x)
        {
            const char *k =
                json_is_array(x) ? json_string_value(json_array_get(x, 0)) : str(x, "name");
            if (k && strcasecmp(k, "Retry-After") == 0)
                val = json_is_array(x) ? json_string_value(json_array_get(x, 1)) : str(x, "value");
        }
    }
    int64_t s;
    if (!val || !parse_i64(val, &s) || s < 0)
        return -1;
    return s * 1000;
}

/* ---- the assertions ---- */

static double ms_between(int64_t a_us, int64_t b_us)
{
    return (double)(b_us - a_us) / 1000.0;
}

/* interval before attempt g->idx[k] (k >= 1), in ms */
static double interval_ms(const struct dset *ds, const struct dgroup *g, size_t k)
{
    const struct dview *prev = &ds->v[g->idx[k - 1]], *cur = &ds->v[g->idx[k]];
    int64_t base = prev->status && !prev->fault ? prev->responded_us : prev->received_us;
    return ms_between(base, cur->received_us);
}

static const char *kind_of(json_t *a)
{
    const char *key;
    json_t *v;
    json_object_foreach(a, key,
                        v) if (strcmp(key, "name") != 0 && strcmp(key, "where") != 0) return key;
    return "";
}

static void every_delivery(struct out *w, const struct dset *ds, const bool *mask, const char *kind,
                           json_t *spec)
{
    size_t n = 0;
    for (size_t i = 0; i < ds->n; i++) {
        if (!mask[i])
            continue;
        n++;
        const struct dview *v = &ds->v[i];
        if (strcmp(kind, "signature") == 0 || strcmp(kind, "schema") == 0) {
            json_t *o = json_object_get(v->json, kind);
            const char *st = str(o, "status");
            if (!st || strcmp(st, json_string_value(spec)) != 0) {
                const char *why = str(o, "reason");
                json_t *errs = json_object_get(o, "errors");
                if (!why && json_array_size(errs)) {
                    json_t *e0 = json_array_get(errs, 0);
                    why = str(e0, "message");
                }
                fail_one(w, v->id, "#%" PRId64 " %s%s%s", v->id, st ? st : "none", why ? ": " : "",
                         why ? why : "");
            } else {
                add_id(w, v->id, false);
            }
        } else if (strcmp(kind, "header") == 0) {
            const char *name = str(spec, "name");
            const char *h = header(v, name);
            json_t *pres = json_object_get(spec, "present");
            const char *eq = str(spec, "equals"), *re = str(spec, "matches");
            bool ok = true;
            if (pres && json_is_false(pres))
                ok = h == NULL;
            else if (!h)
                ok = false;
            else if (eq)
                ok = strcmp(h, eq) == 0;
            else if (re) {
                regex *rx = NULL;
                ok = regex_compile(re, strlen(re), &rx, NULL) == 0 && regex_search(rx, h, strlen(h));
                regex_destroy(rx);
            }
            if (ok)
                add_id(w, v->id, false);
            else if (h)
                fail_one(w, v->id, "#%" PRId64 " %s: %.120s", v->id, name, h);
            else
                fail_one(w, v->id, "#%" PRId64 " has no %s", v->id, name);
        } else if (strcmp(kind, "body") == 0) {
            const char *ptr = str(spec, "pointer");
            json_t *have = v->body ? jsonptr_get(v->body, ptr) : NULL;
            json_t *ex = json_object_get(spec, "exists"), *eq = json_object_get(spec, "equals");
            const char *re = str(spec, "matches");
            bool ok;
            if (ex && json_is_false(ex))
                ok = have == NULL;
            else if (!have)
                ok = false;
            else if (eq)
                ok = json_equal(eq, have);
            else if (re) {
                regex *rx = NULL;
                char *t = value_text(have);
                ok = t && regex_compile(re, strlen(re), &rx, NULL) == 0 && regex_search(rx, t, strlen(t));
                regex_destroy(rx);
                free(t);
            } else
                ok = true;
            if (ok) {
                add_id(w, v->id, false);
            } else if (!v->body) {
                fail_one(w, v->id, "#%" PRId64 " body is not JSON", v->id);
            } else if (!have) {
                fail_one(w, v->id, "#%" PRId64 " has no %s", v->id, ptr);
            } else {
                char *t = value_text(have);
                fail_one(w, v->id, "#%" PRId64 " %s = %.120s", v->id, ptr, t ? t : "?");
                free(t);
            }
        } else if (strcmp(kind, "content_type") == 0) {
            const char *ct = header(v, "Content-Type");
            const char *want = json_string_value(spec);
            bool ok = false;
            if (ct) {
                size_t n_ct = strcspn(ct, ";");
                while (n_ct && (ct[n_ct - 1] == ' ' || ct[n_ct - 1] == '\t'))
                    n_ct--;
                if (strcmp(want, "json") == 0)
                    ok = (n_ct == 16 && strncasecmp(ct, "application/json", 16) == 0) ||
                         (n_ct > 5 && strncasecmp(ct + n_ct - 5, "+json", 5) == 0);
                else
                    ok = strlen(want) == n_ct && strncasecmp(ct, want, n_ct) == 0;
            }
            if (ok)
                add_id(w, v->id, false);
            else
                fail_one(w, v->id, "#%" PRId64 " Content-Type: %.80s", v->id, ct ? ct : "(none)");
        } else if (strcmp(kind, "timestamp_within_s") == 0) {
            struct ts_info t;
            find_timestamp(v, &t);
            double lim = json_number_value(spec);
            if (!t.found) {
                fail_one(w, v->id, "#%" PRId64 " carries no signed timestamp the scheme knows",
                         v->id);
                continue;
            }
            double diff_s =
                ((double)(t.value * t.unit_ms) - (double)v->received_us / 1000.0) / 1000.0;
            if (fabs(diff_s) > lim + (t.unit_ms == 1000 ? 1.0 : 0.0))
                fail_one(w, v->id, "#%" PRId64 " %s is %.1f s %s its arrival", v->id, t.header,
                         fabs(diff_s), diff_s < 0 ? "before" : "after");
            else
                add_id(w, v->id, false);
        }
    }
    if (n == 0)
        fail_one(w, 0, "no delivery matched, so there was nothing to check");
}

static int count_assert(struct out *w, const struct dset *ds, const bool *mask, json_t *spec)
{
    int64_t n = 0;
    for (size_t i = 0; i < ds->n; i++)
        if (mask[i]) {
            n++;
            add_id(w, ds->v[i].id, false);
        }
    bounds_text(&w->exp, spec);
    buf_printf(&w->act, "%" PRId64, n);
    return bounds_ok(spec, n) ? 1 : 0;
}

/* Per-message assertions. Returns 1 pass, 0 fail; failures described in w. */
static int per_message(struct out *w, const struct dset *ds, const bool *mask, const char *kind,
                       json_t *spec, const struct check_env *env)
{
    struct dgroup *g = NULL;
    size_t ng = 0;
    bool by_body = strcmp(kind, "idempotency_key_constant") == 0;
    if (dset_group(ds, mask, by_body, &g, &ng) < 0)
        return -ENOMEM;
    size_t applicable = 0;
    for (size_t m = 0; m < ng; m++) {
        const struct dgroup *grp = &g[m];
        const struct dview *first = &ds->v[grp->idx[0]];
        for (size_t k = 0; k < grp->n; k++)
            add_id(w, ds->v[grp->idx[k]].id, false);
        if (strcmp(kind, "attempts") == 0) {
            applicable++;
            if (!bounds_ok(spec, (int64_t)grp->n))
                fail_one(w, first->id, "message %.60s: %zu attempt%s", grp->key, grp->n,
                         grp->n == 1 ? "" : "s");
        } else if (strcmp(kind, "intervals_ms") == 0 ||
                   strcmp(kind, "intervals_non_decreasing") == 0 ||
                   strcmp(kind, "interval_growth") == 0) {
            json_t *lo = json_object_get(spec, "min"), *hi = json_object_get(spec, "max");
            double prev = -1;
            for (size_t k = 1; k < grp->n; k++) {
                double iv = interval_ms(ds, grp, k);
                int64_t id = ds->v[grp->idx[k]].id;
                applicable++;
                if (strcmp(kind, "intervals_ms") == 0) {
                    if ((lo && iv + SLACK_MS < json_number_value(lo)) ||
                        (hi && iv > json_number_value(hi) + SLACK_MS))
                        fail_one(w, id, "message %.60s: %.0f ms before attempt %zu", grp->key, iv,
                                 k + 1);
                } else if (strcmp(kind, "intervals_non_decreasing") == 0) {
                    if (prev >= 0 && iv < prev * 0.9 - SLACK_MS)
                        fail_one(w, id, "message %.60s: %.0f ms before attempt %zu after %.0f ms",
                                 grp->key, iv, k + 1, prev);
                } else if (prev >= 0) {
                    /* below 10 ms an interval is noise: immediate retries do not "grow" */
                    double f = (iv > 10 ? iv : 10) / (prev > 10 ? prev : 10);
                    if ((lo && f < json_number_value(lo)) || (hi && f > json_number_value(hi)))
                        fail_one(w, id,
                                 "message %.60s: %.0f ms then %.0f ms before attempt %zu (x%.2f)",
                                 grp->key, prev, iv, k + 1, f);
                }
                prev = iv;
            }
            if (strcmp(kind, "intervals_ms") != 0 && grp->n < 3 && applicable)
                applicable--; /* growth needs two intervals */
        } else if (strcmp(kind, "retry_after_honoured") == 0) {
            for (size_t k = 1; k < grp->n; k++) {
                const struct dview *prev = &ds->v[grp->idx[k - 1]], *cur = &ds->v[grp->idx[k]];
                int64_t ra = retry_after_ms(rule_for(env, prev));
                if (ra < 0)
                    continue;
                applicable++;
                double waited = ms_between(prev->responded_us, cur->received_us);
                if (waited + SLACK_MS < (double)ra)
                    fail_one(w, cur->id,
                             "message %.60s: attempt %zu came %.0f ms after a Retry-After of "
                             "%" PRId64 " s",
                             grp->key, k + 1, waited, ra / 1000);
            }
        } else if (strcmp(kind, "idempotency_key_constant") == 0) {
            if (grp->n < 2)
                continue;
            applicable++;
            for (size_t k = 1; k < grp->n; k++) {
                const struct dview *cur = &ds->v[grp->idx[k]];
                if (strcmp(cur->key, first->key) != 0)
                    fail_one(w, cur->id,
                             "the same body was sent as #%" PRId64 " with key %.60s and as "
                             "#%" PRId64 " with key %.60s",
                             first->id, first->key, cur->id, cur->key);
            }
        } else if (strcmp(kind, "fresh_signature_per_attempt") == 0) {
            for (size_t k = 1; k < grp->n; k++) {
                const struct dview *prev = &ds->v[grp->idx[k - 1]], *cur = &ds->v[grp->idx[k]];
                struct ts_info a, b;
                find_timestamp(prev, &a);
                find_timestamp(cur, &b);
                if (!a.found || !b.found) {
                    if (!b.found)
                        fail_one(w, cur->id, "#%" PRId64 " carries no signed timestamp", cur->id);
                    continue;
                }
                double gap = ms_between(prev->received_us, cur->received_us);
                if (gap <= (double)b.unit_ms + 100.0)
                    continue; /* too close together for the clock to have moved */
                applicable++;
                if (a.value == b.value)
                    fail_one(w, cur->id,
                             "message %.60s: attempt %zu, %.0f ms later, reuses timestamp "
                             "%" PRId64,
                             grp->key, k + 1, gap, b.value);
                else if (a.sig && b.sig && strcmp(a.sig, b.sig) == 0)
                    fail_one(w, cur->id, "message %.60s: attempt %zu reuses the signature",
                             grp->key, k + 1);
            }
        } else if (strcmp(kind, "no_attempt_after_success") == 0) {
            for (size_t k = 0; k < grp->n; k++) {
                const struct dview *v = &ds->v[grp->idx[k]];
                if (v->status < 200 || v->status > 299 || v->fault)
                    continue;
                applicable++;
                if (k + 1 < grp->n)
                    fail_one(w, ds->v[grp->idx[k + 1]].id,
                             "message %.60s: %zu more attempt%s after #%" PRId64 " was answered %d",
                             grp->key, grp->n - k - 1, grp->n - k - 1 == 1 ? "" : "s", v->id,
                             v->status);
                break;
            }
        }
    }
    dgroups_free(g, ng);
    if (applicable == 0 && w->failed == 0) {
        static const struct {
            const char *kind, *why;
        } none[] = {
            {"attempts", "no delivery matched, so there was no message to count"},
            {"intervals_ms", "no message was retried, so there was no interval to check"},
            {"intervals_non_decreasing",
             "no message had three attempts, so there were not two intervals to compare"},
            {"interval_growth",
             "no message had three attempts, so there were not two intervals to compare"},
            {"retry_after_honoured", "no attempt followed an answer with Retry-After"},
            {"idempotency_key_constant",
             "no body was sent twice, so there was no retry to compare"},
            {"fresh_signature_per_attempt",
             "no two attempts of a message were far enough apart for the timestamp to change"},
            {"no_attempt_after_success", "no attempt was answered 2xx"},
        };
        for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++)
            if (strcmp(none[i].kind, kind) == 0)
                fail_one(w, 0, "%s", none[i].why);
    }
    return w->failed ? 0 : 1;
}

static int after_410(struct out *w, const struct dset *ds, const bool *mask)
{
    int64_t first410 = 0;
    for (size_t i = 0; i < ds->n; i++) {
        if (!mask[i])
            continue;
        const struct dview *v = &ds->v[i];
        add_id(w, v->id, false);
        if (first410 && strcmp(v->endpoint, ds->v[0].endpoint) >= 0)
            fail_one(w, v->id, "#%" PRId64 " arrived after #%" PRId64 " was answered 410", v->id,
                     first410);
        if (!first410 && v->status == 410 && !v->fault)
            first410 = v->id;
    }
    if (!first410)
        fail_one(w, 0, "no delivery was answered 410");
    return w->failed ? 0 : 1;
}

static int order_assert(struct out *w, const struct dset *ds, const bool *mask, json_t *spec)
{
    size_t i;
    json_t *e;
    int64_t prev_id = 0;
    const char *prev_ev = NULL;
    json_array_foreach(spec, i, e)
    {
        const char *ev = json_string_value(e);
        int64_t id = 0;
        for (size_t k = 0; k < ds->n && !id; k++)
            if (mask[k] && ds->v[k].event && strcmp(ds->v[k].event, ev) == 0)
                id = ds->v[k].id;
        buf_printf(&w->exp, "%s%s", i ? ", " : "", ev);
        if (!id) {
            fail_one(w, 0, "no %s arrived", ev);
            continue;
        }
        add_id(w, id, false);
        if (prev_id && id < prev_id)
            fail_one(w, id, "%s (#%" PRId64 ") arrived before %s (#%" PRId64 ")", ev, id, prev_ev,
                     prev_id);
        prev_id = id;
        prev_ev = ev;
    }
    return w->failed ? 0 : 1;
}

static int latency_assert(struct out *w, const struct dset *ds, const bool *mask, json_t *spec,
                          const struct check_env *env, size_t step_index)
{
    json_t *from = json_object_get(spec, "from");
    size_t s = SIZE_MAX;
    if (json_is_integer(from))
        s = (size_t)json_integer_value(from) - 1;
    for (size_t k = 0; k < env->n_steps && s == SIZE_MAX && json_is_string(from); k++)
        if (env->step_names[k] && strcmp(env->step_names[k], json_string_value(from)) == 0)
            s = k;
    double max = json_number_value(json_object_get(spec, "max"));
    buf_printf(&w->exp, "at most %.0f ms", max);
    if (s >= env->n_steps || s >= step_index || !env->step_started_us[s]) {
        fail_one(w, 0, "the step it counts from did not run");
        return 0;
    }
    int64_t t0 = env->step_started_us[s];
    for (size_t i = 0; i < ds->n; i++) {
        if (!mask[i] || ds->v[i].received_us < t0)
            continue;
        double ms = ms_between(t0, ds->v[i].received_us);
        add_id(w, ds->v[i].id, ms > max);
        buf_printf(&w->act, "%.0f ms (#%" PRId64 ")", ms, ds->v[i].id);
        return ms <= max ? 1 : 0;
    }
    fail_one(w, 0, "no matching delivery arrived after the step started");
    return 0;
}

static void default_name(struct out *w, const char *kind, json_t *spec, json_t *where)
{
    struct buf *n = &w->name;
    if (strcmp(kind, "count") == 0) {
        buf_append_str(n, "number of deliveries");
        checks_describe_filter(where, n);
        buf_append_str(n, " is ");
        bounds_text(n, spec);
        return;
    }
    if (strcmp(kind, "signature") == 0 || strcmp(kind, "schema") == 0)
        buf_printf(n, "%s %s on every delivery", kind, json_string_value(spec));
    else if (strcmp(kind, "header") == 0) {
        const char *nm = str(spec, "name");
        json_t *pres = json_object_get(spec, "present");
        if (str(spec, "equals"))
            buf_printf(n, "header %s is '%s'", nm, str(spec, "equals"));
        else if (str(spec, "matches"))
            buf_printf(n, "header %s matches /%s/", nm, str(spec, "matches"));
        else
            buf_printf(n, "header %s %s", nm, pres && json_is_false(pres) ? "absent" : "present");
        buf_append_str(n, " on every delivery");
    } else if (strcmp(kind, "body") == 0) {
        const char *p = str(spec, "pointer");
        json_t *ex = json_object_get(spec, "exists"), *eq = json_object_get(spec, "equals");
        if (eq) {
            char *t = value_text(eq);
            buf_printf(n, "body %s equals %.80s", p, t ? t : "?");
            free(t);
        } else if (str(spec, "matches"))
            buf_printf(n, "body %s matches /%s/", p, str(spec, "matches"));
        else
            buf_printf(n, "body %s %s", p, ex && json_is_false(ex) ? "absent" : "present");
        buf_append_str(n, " on every delivery");
    } else if (strcmp(kind, "content_type") == 0)
        buf_printf(n, "Content-Type is %s on every delivery",
                   strcmp(json_string_value(spec), "json") == 0 ? "JSON" : json_string_value(spec));
    else if (strcmp(kind, "timestamp_within_s") == 0)
        buf_printf(n, "signature timestamp within %g s of arrival", json_number_value(spec));
    else if (strcmp(kind, "attempts") == 0) {
        buf_append_str(n, "attempts per message: ");
        bounds_text(n, spec);
    } else if (strcmp(kind, "intervals_ms") == 0) {
        json_t *lo = json_object_get(spec, "min"), *hi = json_object_get(spec, "max");
        if (lo && hi)
            buf_printf(n, "intervals between attempts within [%g, %g] ms", json_number_value(lo),
                       json_number_value(hi));
        else if (lo)
            buf_printf(n, "intervals between attempts at least %g ms", json_number_value(lo));
        else
            buf_printf(n, "intervals between attempts at most %g ms", json_number_value(hi));
    } else if (strcmp(kind, "intervals_non_decreasing") == 0)
        buf_append_str(n, "intervals between attempts never shrink");
    else if (strcmp(kind, "interval_growth") == 0) {
        json_t *lo = json_object_get(spec, "min"), *hi = json_object_get(spec, "max");
        if (lo && hi)
            buf_printf(n, "intervals grow by a factor within [%g, %g]", json_number_value(lo),
                       json_number_value(hi));
        else if (lo)
            buf_printf(n, "intervals grow by a factor of at least %g", json_number_value(lo));
        else
            buf_printf(n, "intervals grow by a factor of at most %g", json_number_value(hi));
    } else if (strcmp(kind, "retry_after_honoured") == 0)
        buf_append_str(n, "Retry-After honoured");
    else if (strcmp(kind, "idempotency_key_constant") == 0)
        buf_append_str(n, "idempotency key constant across attempts");
    else if (strcmp(kind, "fresh_signature_per_attempt") == 0)
        buf_append_str(n, "timestamp and signature recomputed for each attempt");
    else if (strcmp(kind, "no_attempt_after_success") == 0)
        buf_append_str(n, "no attempt after a 2xx answer");
    else if (strcmp(kind, "no_delivery_after_410") == 0)
        buf_append_str(n, "no delivery after a 410 answer");
    else if (strcmp(kind, "order") == 0)
        buf_append_str(n, "events arrive in order");
    else if (strcmp(kind, "latency_ms") == 0) {
        json_t *from = json_object_get(spec, "from");
        if (json_is_string(from))
            buf_printf(n, "delivered within %g ms of '%s'",
                       json_number_value(json_object_get(spec, "max")), json_string_value(from));
        else
            buf_printf(n, "delivered within %g ms of step %" JSON_INTEGER_FORMAT,
                       json_number_value(json_object_get(spec, "max")), json_integer_value(from));
    }
    checks_describe_filter(where, n);
}

static void expected_text(struct out *w, const char *kind, json_t *spec)
{
    struct buf *e = &w->exp;
    if (e->len)
        return;
    if (strcmp(kind, "signature") == 0 || strcmp(kind, "schema") == 0)
        buf_printf(e, "%s on every delivery", json_string_value(spec));
    else if (strcmp(kind, "attempts") == 0)
        bounds_text(e, spec);
    else if (strcmp(kind, "timestamp_within_s") == 0)
        buf_printf(e, "within %g s", json_number_value(spec));
    else if (strcmp(kind, "intervals_ms") == 0 || strcmp(kind, "interval_growth") == 0) {
        char *t = json_dumps(spec, JSON_COMPACT);
        buf_append_str(e, t ? t : "");
        free(t);
    }
}

int check_eval(json_t *assertion, const struct dset *ds, const struct check_env *env,
               size_t step_index, struct check_outcome *ret)
{
    struct out w;
    out_init(&w, ret);
    const char *kind = kind_of(assertion);
    json_t *spec = json_object_get(assertion, kind);
    json_t *where = json_object_get(assertion, "where");
    bool *mask = ds->n ? calloc(ds->n, sizeof(*mask)) : NULL;
    if (ds->n && !mask) {
        w.oom = true;
        buf_append_str(&w.name, "?");
        buf_append_str(&w.msg, "?");
        return out_finish(&w, CHECK_ERROR);
    }
    size_t matched = 0;
    for (size_t i = 0; i < ds->n; i++)
        if ((mask[i] = check_filter_match(where, &ds->v[i])))
            matched++;
    json_t *custom = json_object_get(assertion, "name");
    if (custom)
        buf_append_str(&w.name, json_string_value(custom));
    else
        default_name(&w, kind, spec, where);

    int ok;
    if (strcmp(kind, "count") == 0) {
        ok = count_assert(&w, ds, mask, spec);
    } else if (strcmp(kind, "signature") == 0 || strcmp(kind, "schema") == 0 ||
               strcmp(kind, "header") == 0 || strcmp(kind, "body") == 0 ||
               strcmp(kind, "content_type") == 0 || strcmp(kind, "timestamp_within_s") == 0) {
        every_delivery(&w, ds, mask, kind, spec);
        ok = w.failed ? 0 : 1;
    } else if (strcmp(kind, "no_delivery_after_410") == 0) {
        ok = after_410(&w, ds, mask);
    } else if (strcmp(kind, "order") == 0) {
        ok = order_assert(&w, ds, mask, spec);
    } else if (strcmp(kind, "latency_ms") == 0) {
        ok = latency_assert(&w, ds, mask, spec, env, step_index);
    } else {
        ok = per_message(&w, ds, mask, kind, spec, env);
    }
    free(mask);
    if (ok < 0) {
        w.oom = true;
        return out_finish(&w, CHECK_ERROR);
    }
    expected_text(&w, kind, spec);
    if (ok)
        buf_printf(&w.msg, "%zu deliver%s checked", matched, matched == 1 ? "y" : "ies");
    else if (strcmp(kind, "count") == 0)
        buf_printf(&w.msg, "%zu deliver%s matched", matched, matched == 1 ? "y" : "ies");
    else
        buf_printf(&w.msg, "%zu problem%s in %zu matching deliver%s", w.failed,
                   w.failed == 1 ? "" : "s", matched, matched == 1 ? "y" : "ies");
    if (ok && !w.act.len && strcmp(kind, "count") != 0)
        buf_append_str(&w.act, "as expected");
    return out_finish(&w, ok ? CHECK_PASS : CHECK_FAIL);
}
