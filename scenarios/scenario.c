#include "scenario.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mockserver/buf.h"
#include "mockserver/encode.h"
#include "mockserver/jsonpos.h"
#include "mockserver/jsonptr.h"
#include "mockserver/jsonschema.h"
#include "mockserver/regex.h"
#include "vars.h"

static const char *const step_kinds[] = {"exec", "http",  "send",  "respond",
                                         "wait", "sleep", "expect"};
#define N_STEP_KINDS (sizeof(step_kinds) / sizeof(step_kinds[0]))

static const char *const assertion_kinds[] = {"count",
                                              "signature",
                                              "schema",
                                              "header",
                                              "body",
                                              "content_type",
                                              "timestamp_within_s",
                                              "attempts",
                                              "intervals_ms",
                                              "intervals_non_decreasing",
                                              "interval_growth",
                                              "retry_after_honoured",
                                              "idempotency_key_constant",
                                              "fresh_signature_per_attempt",
                                              "no_attempt_after_success",
                                              "no_delivery_after_410",
                                              "order",
                                              "latency_ms",
                                              NULL};

const char *step_kind_name(enum step_kind k)
{
    return (size_t)k < N_STEP_KINDS ? step_kinds[k] : "?";
}

struct ctx {
    const char *text;
    size_t len;
    const char *source;
    struct wh_error *err;
};

static int problem(const struct ctx *cx, const char *ptr, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int problem(const struct ctx *cx, const char *ptr, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = jsonpos_error(cx->err, cx->text, cx->len, cx->source, ptr, fmt, ap);
    va_end(ap);
    return r;
}

static int oom(const struct ctx *cx)
{
    return wh_error_set(cx->err, -ENOMEM, "out of memory");
}

/* ---- the format's schema, compiled once ---- */

static pthread_once_t schema_once = PTHREAD_ONCE_INIT;
static jsonschema *schema_compiled;
static struct wh_error schema_err;

static void compile_schema(void)
{
    json_error_t jerr;
    json_t *doc = json_loads(scenario_schema_text, 0, &jerr);
    if (!doc) {
        wh_error_set(&schema_err, -EINVAL, "scenario.schema.json: %d:%d: %s", jerr.line,
                     jerr.column, jerr.text);
        return;
    }
    jsonschema_compile(doc, NULL, &schema_compiled, &schema_err);
    json_decref(doc);
}

/* ---- hand checks that give better messages than the schema could ---- */

static int kind_of(const struct ctx *cx, const char *ptr, json_t *obj, const char *const *kinds,
                   size_t n_kinds, const char *what, const char *const *extra, int *ret)
{
    if (!json_is_object(obj))
        return problem(cx, ptr, "a %s must be an object, not %s", what, encode_json_type(obj));
    int found = -1;
    const char *key;
    json_t *v;
    struct buf list;
    buf_init(&list, 0);
    for (size_t i = 0; i < n_kinds; i++)
        buf_printf(&list, "%s%s", i ? ", " : "", kinds[i]);
    int r = 0;
    json_object_foreach(obj, key, v)
    {
        bool known = false;
        for (const char *const *e = extra; *e && !known; e++)
            known = strcmp(*e, key) == 0;
        if (known)
            continue;
        int k = -1;
        for (size_t i = 0; i < n_kinds && k < 0; i++)
            if (strcmp(kinds[i], key) == 0)
                k = (int)i;
        char sub[512];
        snprintf(sub, sizeof(sub), "%s/%s", ptr, key);
        if (k < 0) {
            struct buf p;
            buf_init(&p, 0);
            buf_append_str(&p, ptr);
            jsonpos_pointer_append(&p, key);
            r = problem(cx, p.data ? p.data : ptr, "unknown %s '%.64s' (%ss are %s)", what, key,
                        what, list.data ? list.data : "");
            buf_finish(&p);
            break;
        }
        if (found >= 0) {
            r = problem(cx, sub, "a %s has one kind, not both '%s' and '%s'", what, kinds[found],
                        kinds[k]);
            break;
        }
        found = k;
    }
    if (r == 0 && found < 0)
        r = problem(cx, ptr, "the %s says what to do with one key of: %s", what,
                    list.data ? list.data : "");
    buf_finish(&list);
    if (r == 0)
        *ret = found;
    return r;
}

static int check_kinds(const struct ctx *cx, json_t *root)
{
    static const char *const step_extra[] = {"name", NULL};
    static const char *const assert_extra[] = {"name", "where", NULL};
    json_t *steps = json_object_get(root, "steps");
    char ptr[128];
    int r = 0, k;
    size_t i;
    json_t *st;
    if (json_is_array(steps)) {
        json_array_foreach(steps, i, st)
        {
            snprintf(ptr, sizeof(ptr), "/steps/%zu", i);
            if ((r = kind_of(cx, ptr, st, step_kinds, N_STEP_KINDS, "step", step_extra, &k)) < 0)
                return r;
            if (k != STEP_EXPECT)
                continue;
            json_t *list = json_object_get(st, "expect");
            size_t j;
            json_t *a;
            size_t n_assert = 0;
            while (assertion_kinds[n_assert])
                n_assert++;
            json_array_foreach(list, j, a)
            {
                snprintf(ptr, sizeof(ptr), "/steps/%zu/expect/%zu", i, j);
                if ((r = kind_of(cx, ptr, a, assertion_kinds, n_assert, "assertion", assert_extra,
                                 &k)) < 0)
                    return r;
            }
        }
    }
    json_t *list = json_object_get(root, "expect");
    json_t *a;
    size_t n_assert = 0;
    while (assertion_kinds[n_assert])
        n_assert++;
    json_array_foreach(list, i, a)
    {
        snprintf(ptr, sizeof(ptr), "/expect/%zu", i);
        if ((r = kind_of(cx, ptr, a, assertion_kinds, n_assert, "assertion", assert_extra, &k)) < 0)
            return r;
    }
    return 0;
}

static int check_schema(const struct ctx *cx, json_t *root)
{
    pthread_once(&schema_once, compile_schema);
    if (!schema_compiled)
        return wh_error_set(cx->err, schema_err.code ? schema_err.code : -EINVAL,
                            "the built-in scenario schema does not compile: %s", schema_err.msg);
    struct jsonschema_errors errs;
    jsonschema_errors_init(&errs, 20);
    int r = jsonschema_validate(schema_compiled, root, &errs);
    if (r == 1 && errs.n) {
        /* the deepest error is the most specific one */
        size_t best = 0;
        for (size_t i = 1; i < errs.n; i++)
            if (strlen(errs.v[i].pointer) > strlen(errs.v[best].pointer))
                best = i;
        r = problem(cx, errs.v[best].pointer, "%s", errs.v[best].message);
    } else if (r < 0) {
        r = wh_error_set(cx->err, r, "%s: %s", cx->source, errs.err.msg);
    }
    jsonschema_errors_finish(&errs);
    return r;
}

/* ---- the mock ---- */

/* A config error "SOURCE:L:C: endpoints[1].signature: why" located in the serialised mock
 * text becomes the same error located in the scenario file. */
static int remap_config_error(const struct ctx *cx, json_t *mock_cfg, const char *msg)
{
    size_t sl = strlen(cx->source);
    const char *p = msg;
    if (strncmp(p, cx->source, sl) == 0 && p[sl] == ':') {
        p += sl + 1;
        while (*p >= '0' && *p <= '9')
            p++;
        if (*p == ':')
            p++;
        while (*p >= '0' && *p <= '9')
            p++;
        if (*p == ':')
            p++;
        if (*p == ' ')
            p++;
    } else {
        return problem(cx, "/mock", "%s", msg);
    }
    const char *colon = strstr(p, ": ");
    struct buf ptr;
    buf_init(&ptr, 0);
    buf_append_str(&ptr, "/mock");
    if (colon && strncmp(p, "(top level)", 11) != 0) {
        /* "endpoints[1].signature.secrets[0]" -> "/endpoints/1/signature/secrets/0" */
        for (const char *q = p; q < colon;) {
            const char *e = q;
            if (*q == '[') {
                e = memchr(q, ']', (size_t)(colon - q));
                if (!e)
                    break;
                buf_printf(&ptr, "/%.*s", (int)(e - q - 1), q + 1);
                q = e + 1;
            } else {
                while (e < colon && *e != '.' && *e != '[')
                    e++;
                buf_printf(&ptr, "/%.*s", (int)(e - q), q);
                q = e;
            }
            if (q < colon && *q == '.')
                q++;
        }
    }
    const char *why = colon ? colon + 2 : p;
    json_t *wrap = json_pack("{sO}", "mock", mock_cfg);
    const char *where = ptr.data && wrap && jsonptr_get(wrap, ptr.data) ? ptr.data : "/mock";
    int r = problem(cx, where, "%s", why);
    json_decref(wrap);
    buf_finish(&ptr);
    return r;
}

static int load_mock(const struct ctx *cx, struct scenario *s, const struct vars_ctx *vc)
{
    json_t *mock = json_object_get(s->root, "mock");
    s->responses = json_object_get(mock, "responses");
    json_t *url = json_object_get(mock, "url");
    char eptr[256] = "";
    int r;
    if (url) {
        if ((r = vars_expand(vc, json_string_value(url), &s->mock_url, cx->err)) < 0)
            return problem(cx, "/mock/url", "%s", cx->err->msg);
        if (strncmp(s->mock_url, "http://", 7) != 0 && strncmp(s->mock_url, "https://", 8) != 0)
            return problem(cx, "/mock/url",
                           "the receiver's URL must start with http:// or "
                           "https://, not '%.80s'",
                           s->mock_url);
        size_t n = strlen(s->mock_url);
        while (n > 0 && s->mock_url[n - 1] == '/')
            s->mock_url[--n] = '\0';
        json_t *tok = json_object_get(mock, "token");
        if (tok && (r = vars_expand(vc, json_string_value(tok), &s->mock_token, cx->err)) < 0)
            return problem(cx, "/mock/token", "%s", cx->err->msg);
        return 0;
    }
    json_t *eps = json_object_get(mock, "endpoints");
    json_t *cfg = json_object();
    json_t *expanded = NULL;
    if (!cfg)
        return oom(cx);
    if (eps) {
        if ((r = vars_expand_json(vc, eps, &expanded, eptr, sizeof(eptr), cx->err)) < 0) {
            json_decref(cfg);
            char p[300];
            snprintf(p, sizeof(p), "/mock/endpoints%s", eptr);
            return r == -EINVAL ? problem(cx, p, "%s", cx->err->msg) : r;
        }
        if (json_object_set_new(cfg, "endpoints", expanded) < 0) {
            json_decref(cfg);
            return oom(cx);
        }
    }
    s->config_text = json_dumps(cfg, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (!s->config_text) {
        json_decref(cfg);
        return oom(cx);
    }
    struct wh_error cerr = {0};
    r = config_load_text(s->config_text, strlen(s->config_text), cx->source, &s->config, &cerr);
    if (r == -EINVAL)
        r = remap_config_error(cx, cfg, cerr.msg);
    else if (r < 0)
        r = wh_error_set(cx->err, r, "%s", cerr.msg);
    json_decref(cfg);
    return r;
}

static bool endpoint_known(const struct scenario *s, const char *name)
{
    if (!s->config || strcmp(name, "-") == 0)
        return true; /* an external receiver's names are learnt when it runs */
    for (size_t i = 0; i < s->config->n_endpoints; i++)
        if (strcmp(s->config->endpoints[i].name, name) == 0)
            return true;
    return false;
}

static int check_endpoint_ref(const struct ctx *cx, const struct scenario *s, json_t *obj,
                              const char *key, const char *ptr)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_string(v) || endpoint_known(s, json_string_value(v)))
        return 0;
    struct buf list;
    buf_init(&list, 0);
    for (size_t i = 0; i < s->config->n_endpoints; i++)
        buf_printf(&list, "%s%s", i ? ", " : "", s->config->endpoints[i].name);
    char p[300];
    snprintf(p, sizeof(p), "%s/%s", ptr, key);
    int r = problem(cx, p,
                    "there is no endpoint named '%.64s' in the mock (endpoints: %s; '-' "
                    "is the catch-all)",
                    json_string_value(v), list.data ? list.data : "none");
    buf_finish(&list);
    return r;
}

static int check_regex(const struct ctx *cx, json_t *v, const char *ptr)
{
    if (!json_is_string(v))
        return 0;
    regex *re = NULL;
    struct wh_error rerr = {0};
    int r = regex_compile(json_string_value(v), json_string_length(v), &re, &rerr);
    regex_destroy(re);
    return r == -EINVAL ? problem(cx, ptr, "%s", rerr.msg) : r == 0 ? 0 : oom(cx);
}

static int check_filter(const struct ctx *cx, const struct scenario *s, json_t *f, const char *ptr)
{
    if (!f)
        return 0;
    int r;
    if ((r = check_endpoint_ref(cx, s, f, "endpoint", ptr)) < 0)
        return r;
    static const char *const maps[] = {"header", "body"};
    for (size_t m = 0; m < 2; m++) {
        json_t *obj = json_object_get(f, maps[m]);
        const char *key;
        json_t *v;
        json_object_foreach(obj, key, v)
        {
            struct buf p;
            buf_init(&p, 0);
            buf_printf(&p, "%s/%s", ptr, maps[m]);
            jsonpos_pointer_append(&p, key);
            buf_append_str(&p, "/regex");
            r = check_regex(cx, json_object_get(v, "regex"), p.data ? p.data : ptr);
            buf_finish(&p);
            if (r < 0)
                return r;
        }
    }
    return 0;
}

static int check_assertions(const struct ctx *cx, const struct scenario *s, json_t *list,
                            const char *ptr, size_t step_index)
{
    size_t i;
    json_t *a;
    char p[400];
    int r;
    json_array_foreach(list, i, a)
    {
        snprintf(p, sizeof(p), "%s/%zu/where", ptr, i);
        if ((r = check_filter(cx, s, json_object_get(a, "where"), p)) < 0)
            return r;
        snprintf(p, sizeof(p), "%s/%zu/header/matches", ptr, i);
        if ((r = check_regex(cx, json_object_get(json_object_get(a, "header"), "matches"), p)) < 0)
            return r;
        snprintf(p, sizeof(p), "%s/%zu/body/matches", ptr, i);
        if ((r = check_regex(cx, json_object_get(json_object_get(a, "body"), "matches"), p)) < 0)
            return r;
        json_t *lat = json_object_get(a, "latency_ms");
        json_t *from = json_object_get(lat, "from");
        if (from) {
            snprintf(p, sizeof(p), "%s/%zu/latency_ms/from", ptr, i);
            bool found = false;
            if (json_is_integer(from))
                found = (size_t)json_integer_value(from) <= step_index;
            for (size_t k = 0; k < step_index && !found && json_is_string(from); k++)
                found = s->steps[k].name && strcmp(s->steps[k].name, json_string_value(from)) == 0;
            if (!found)
                return problem(cx, p,
                               "'from' must name an earlier step (its \"name\", or its number "
                               "counting from 1)");
        }
        static const char *const bnames[] = {"count", "attempts"};
        for (size_t k = 0; k < 2; k++) {
            json_t *bb = json_object_get(a, bnames[k]);
            if (!bb)
                continue;
            json_t *lo = json_object_get(bb, "at_least"), *hi = json_object_get(bb, "at_most");
            snprintf(p, sizeof(p), "%s/%zu/%s", ptr, i, bnames[k]);
            if (json_object_get(bb, "exactly") && (lo || hi))
                return problem(cx, p, "'exactly' cannot be combined with 'at_least' or 'at_most'");
            if (lo && hi && json_integer_value(lo) > json_integer_value(hi))
                return problem(cx, p, "'at_least' is larger than 'at_most'");
        }
    }
    return 0;
}

/* Check every ${...} in the steps against what will exist when they run. */
static int check_step_vars(const struct ctx *cx, const struct scenario *s, json_t *endpoints)
{
    struct vars_ctx vc = {.vars = s->vars,
                          .endpoints = endpoints,
                          .any_endpoint = s->mock_url != NULL,
                          .mock_url = "http://127.0.0.1:1",
                          .scenario_dir = s->dir};
    json_t *steps = json_object_get(s->root, "steps");
    json_t *out = NULL;
    char sub[256] = "";
    int r = vars_expand_json(&vc, steps, &out, sub, sizeof(sub), cx->err);
    json_decref(out);
    if (r == -EINVAL) {
        char p[300];
        snprintf(p, sizeof(p), "/steps%s", sub);
        return problem(cx, p, "%s", cx->err->msg);
    }
    return r;
}

static int build_steps(const struct ctx *cx, struct scenario *s)
{
    json_t *steps = json_object_get(s->root, "steps");
    json_t *final = json_object_get(s->root, "expect");
    size_t n = json_array_size(steps) + (final ? 1 : 0);
    s->steps = calloc(n, sizeof(*s->steps));
    if (!s->steps)
        return oom(cx);
    for (size_t i = 0; i < n; i++) {
        struct step *st = &s->steps[i];
        s->n_steps = i + 1;
        json_t *obj = i < json_array_size(steps) ? json_array_get(steps, i) : NULL;
        if (obj) {
            for (size_t k = 0; k < N_STEP_KINDS; k++)
                if (json_object_get(obj, step_kinds[k])) {
                    st->kind = (enum step_kind)k;
                    st->spec = json_object_get(obj, step_kinds[k]);
                }
            st->obj = obj;
        } else {
            st->kind = STEP_EXPECT;
            st->spec = final;
            st->obj = s->root;
        }
        json_t *name = obj ? json_object_get(obj, "name") : NULL;
        char label[300];
        if (name) {
            st->name = strdup(json_string_value(name));
            snprintf(label, sizeof(label), "%s", json_string_value(name));
        } else if (obj) {
            snprintf(label, sizeof(label), "%s (step %zu)", step_kinds[st->kind], i + 1);
        } else {
            snprintf(label, sizeof(label), "expect (end)");
        }
        st->label = strdup(label);
        if (!st->label || (name && !st->name))
            return oom(cx);
        for (size_t k = 0; k < i && st->name; k++)
            if (s->steps[k].name && strcmp(s->steps[k].name, st->name) == 0) {
                char p[64];
                snprintf(p, sizeof(p), "/steps/%zu/name", i);
                return problem(cx, p, "two steps are named '%.64s' (also step %zu)", st->name,
                               k + 1);
            }
    }
    return 0;
}

static int check_steps(const struct ctx *cx, struct scenario *s)
{
    char p[128];
    int r;
    for (size_t i = 0; i < s->n_steps; i++) {
        struct step *st = &s->steps[i];
        bool final = st->obj == s->root;
        snprintf(p, sizeof(p), final ? "/expect" : "/steps/%zu/%s", i, step_kinds[st->kind]);
        switch (st->kind) {
        case STEP_EXPECT:
            if ((r = check_assertions(cx, s, st->spec, p, i)) < 0)
                return r;
            break;
        case STEP_WAIT:
            snprintf(p, sizeof(p), "/steps/%zu/wait/where", i);
            if ((r = check_filter(cx, s, json_object_get(st->spec, "where"), p)) < 0)
                return r;
            break;
        case STEP_RESPOND:
        case STEP_SEND:
        case STEP_EXEC:
            if (json_is_object(st->spec) &&
                (r = check_endpoint_ref(cx, s, st->spec, "endpoint", p)) < 0)
                return r;
            if (st->kind == STEP_SEND && !json_object_get(st->spec, "url") &&
                !json_object_get(st->spec, "endpoint") && s->config && s->config->n_endpoints == 0)
                return problem(cx, p, "a send step needs a \"url\" or an \"endpoint\"");
            break;
        default:
            break;
        }
    }
    json_t *resp = s->responses;
    const char *key;
    json_t *v;
    json_object_foreach(resp, key, v)
    {
        if (!endpoint_known(s, key)) {
            struct buf bp;
            buf_init(&bp, 0);
            buf_append_str(&bp, "/mock/responses");
            jsonpos_pointer_append(&bp, key);
            r = problem(cx, bp.data ? bp.data : "/mock/responses",
                        "there is no endpoint named '%.64s' in the mock ('-' is the catch-all)",
                        key);
            buf_finish(&bp);
            return r;
        }
    }
    return 0;
}

static int load_vars(const struct ctx *cx, struct scenario *s,
                     const struct scenario_load_options *opts)
{
    s->vars = json_object();
    if (!s->vars)
        return oom(cx);
    json_t *file_vars = json_object_get(s->root, "vars");
    const char *key;
    json_t *v;
    json_object_foreach(file_vars, key, v)
    {
        json_t *sv;
        if (json_is_string(v) || json_is_null(v)) {
            sv = json_incref(v);
        } else {
            char *text = json_dumps(v, JSON_ENCODE_ANY);
            sv = text ? json_string(text) : NULL;
            free(text);
        }
        if (!sv || json_object_set_new(s->vars, key, sv) < 0)
            return oom(cx);
    }
    if (opts && opts->vars && json_object_update(s->vars, opts->vars) < 0)
        return oom(cx);
    return 0;
}

static int load(const struct ctx *cx, struct scenario *s, const struct scenario_load_options *opts)
{
    json_error_t jerr;
    s->root = json_loadb(cx->text, cx->len, JSON_REJECT_DUPLICATES, &jerr);
    if (!s->root)
        return wh_error_set(cx->err, -EINVAL, "%s:%d:%d: invalid JSON: %s", cx->source, jerr.line,
                            jerr.column, jerr.text);
    if (!json_is_object(s->root))
        return problem(cx, "", "a scenario must be a JSON object, not %s",
                       encode_json_type(s->root));
    int r;
    if ((r = check_kinds(cx, s->root)) < 0 || (r = check_schema(cx, s->root)) < 0 ||
        (r = load_vars(cx, s, opts)) < 0)
        return r;
    s->name = strdup(json_string_value(json_object_get(s->root, "name")));
    json_t *d = json_object_get(s->root, "description");
    s->description = d ? strdup(json_string_value(d)) : NULL;
    if (!s->name || (d && !s->description))
        return oom(cx);
    json_t *t = json_object_get(s->root, "timeout_ms");
    s->timeout_ms = t ? json_integer_value(t) : SCENARIO_DEFAULT_TIMEOUT_MS;

    struct vars_ctx vc = {.vars = s->vars, .scenario_dir = s->dir};
    static const char *const top[] = {"secret", "event"};
    for (size_t i = 0; i < 2; i++) {
        json_t *v = json_object_get(s->root, top[i]);
        char **dst = i == 0 ? &s->secret : &s->event;
        if (v && (r = vars_expand(&vc, json_string_value(v), dst, cx->err)) < 0) {
            char p[16];
            snprintf(p, sizeof(p), "/%s", top[i]);
            return r == -EINVAL ? problem(cx, p, "%s", cx->err->msg) : r;
        }
    }
    if ((r = load_mock(cx, s, &vc)) < 0 || (r = build_steps(cx, s)) < 0 ||
        (r = check_steps(cx, s)) < 0)
        return r;
    json_t *eps = json_object();
    if (!eps)
        return oom(cx);
    for (size_t i = 0; s->config && i < s->config->n_endpoints; i++)
        if (json_object_set_new(eps, s->config->endpoints[i].name,
                                json_string("http://127.0.0.1:1/x")) < 0) {
            json_decref(eps);
            return oom(cx);
        }
    r = check_step_vars(cx, s, eps);
    json_decref(eps);
    return r;
}

int scenario_load_text(const char *text, size_t len, const char *source,
                       const struct scenario_load_options *opts, struct scenario **ret,
                       struct wh_error *err)
{
    struct scenario *s = calloc(1, sizeof(*s));
    if (!s || !(s->file = strdup(source))) {
        free(s);
        return wh_error_set(err, -ENOMEM, "out of memory");
    }
    const char *slash = strrchr(source, '/');
    s->dir = slash == source ? strdup("/")
             : slash         ? strndup(source, (size_t)(slash - source))
                             : strdup(".");
    if (!s->dir) {
        scenario_destroy(s);
        return wh_error_set(err, -ENOMEM, "out of memory");
    }
    struct wh_error local = {0};
    struct ctx cx = {text, len, source, err ? err : &local};
    int r = load(&cx, s, opts);
    if (r < 0) {
        scenario_destroy(s);
        return r;
    }
    *ret = s;
    return 0;
}

int scenario_load_file(const char *path, const struct scenario_load_options *opts,
                       struct scenario **ret, struct wh_error *err)
{
    struct buf b;
    buf_init(&b, SCENARIO_MAX_BYTES);
    int r = buf_read_file(&b, path);
    if (r == -E2BIG)
        r = wh_error_set(err, r, "%s: larger than %u MiB", path, SCENARIO_MAX_BYTES >> 20);
    else if (r < 0)
        r = wh_error_set(err, r, "%s: cannot read: %s", path, strerror(-r));
    else
        r = scenario_load_text(b.data ? b.data : "", b.len, path, opts, ret, err);
    buf_finish(&b);
    return r;
}

void scenario_destroy(struct scenario *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_steps; i++) {
        free(s->steps[i].label);
        free(s->steps[i].name);
    }
    free(s->steps);
    config_destroy(s->config);
    free(s->config_text);
    free(s->mock_url);
    free(s->mock_token);
    free(s->secret);
    free(s->event);
    json_decref(s->vars);
    json_decref(s->root);
    free(s->description);
    free(s->name);
    free(s->file);
    free(s->dir);
    free(s);
}
