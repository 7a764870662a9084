#include "runner.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "checks.h"
#include "client.h"
#include "mockserver/buf.h"
#include "mockserver/server.h"
#include "mockserver/signature.h"
#include "proc.h"
#include "sender.h"
#include "vars.h"

/* longest single long-poll the API allows */
#define LONGPOLL_MAX_MS 300000

struct shared {
    const struct runner_options *opts;
    struct results *res;
    struct scenario *const *sc;
    size_t n;
    atomic_size_t next;
    pthread_mutex_t lock; /* results and reporters */
};

/* One scenario being run. */
struct run {
    struct shared *sh;
    const struct scenario *sc;
    struct result_scenario *rs;
    size_t index;
    server *srv;
    client *api;
    char base[256];      /* receiver base URL */
    int64_t baseline;    /* deliveries with ids above this belong to the scenario */
    json_t *endpoints;   /* NAME -> URL */
    json_t *first_url;   /* borrowed from endpoints; NULL: none */
    json_t *scripts;     /* script history for checks */
    int64_t *started_us; /* per step */
    const char **names;  /* per step */
    pid_t *groups;       /* process groups of commands, killed at the end */
    size_t n_groups;
    bool broken; /* an earlier step could not run: skip the rest */
    const char *broken_why;
};

static int64_t wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double scale(const struct run *rn)
{
    double f = rn->sh->opts->timeout_scale;
    return f > 0 ? f : 1.0;
}

static int64_t scaled(const struct run *rn, int64_t ms)
{
    double v = (double)ms * scale(rn);
    return v > 86400000.0 ? 86400000 : (int64_t)v;
}

/* ---- results, under the lock ---- */

static void add_check(struct run *rn, const char *name, const char *step, enum check_status st,
                      const char *message, const char *expected, const char *actual,
                      const int64_t *ids, size_t n_ids)
{
    struct shared *sh = rn->sh;
    pthread_mutex_lock(&sh->lock);
    struct result_check *c =
        scenario_add_check(rn->rs, name, step, st, message, expected, actual, ids, n_ids);
    for (size_t i = 0; c && i < sh->opts->n_reporters; i++)
        reporter_check(sh->opts->reporters[i], rn->rs, c);
    pthread_mutex_unlock(&sh->lock);
}

static void add_output(struct run *rn, const char *step, const char *command,
                       const struct proc_result *pr)
{
    struct buf out;
    buf_init(&out, 0);
    buf_append(&out, pr->out ? pr->out : "", pr->out_len);
    if (pr->out_dropped)
        buf_printf(&out, "\n[... %zu more bytes not kept]\n", pr->out_dropped);
    pthread_mutex_lock(&rn->sh->lock);
    scenario_add_output(rn->rs, step, command, pr->exit_status, out.data, pr->duration_ms);
    pthread_mutex_unlock(&rn->sh->lock);
    buf_finish(&out);
}

static void progress(struct run *rn, const char *what, long seen, long wanted, double left)
{
    struct shared *sh = rn->sh;
    pthread_mutex_lock(&sh->lock);
    for (size_t i = 0; i < sh->opts->n_reporters; i++)
        reporter_progress(sh->opts->reporters[i], rn->rs, what, seen, wanted, left);
    pthread_mutex_unlock(&sh->lock);
}

static void step_error(struct run *rn, const struct step *st, const char *what, const char *why)
{
    add_check(rn, what, st->label, CHECK_ERROR, why, NULL, NULL, NULL, 0);
    rn->broken = true;
    rn->broken_why = "an earlier step could not run";
}

/* ---- the receiver ---- */

static void sanitize(char *dst, size_t n, const char *name)
{
    size_t k = 0;
    for (const char *p = name; *p && k + 1 < n; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || c == '.';
        dst[k++] = ok ? c : '-';
    }
    dst[k] = '\0';
}

static int record_scripts(struct run *rn, int64_t after_id, struct wh_error *err)
{
    long status = 0;
    json_t *doc = NULL;
    int r = client_api(rn->api, "GET", "/_webhooky/api/endpoints", NULL, 10000, &status, &doc, err);
    if (r < 0)
        return r;
    json_t *eps = json_object_get(doc, "endpoints");
    if (status != 200 || !json_is_array(eps)) {
        json_decref(doc);
        return wh_error_set(err, -EIO,
                            "the receiver answered %ld to GET /_webhooky/api/endpoints"
                            " (is it webhooky serve, recent enough?)",
                            status);
    }
    size_t i;
    json_t *e;
    json_array_foreach(eps, i, e)
    {
        const char *name = json_string_value(json_object_get(e, "name"));
        const char *path = json_string_value(json_object_get(e, "path"));
        json_t *scr = json_object_get(json_object_get(e, "responses"), "script");
        if (!name)
            continue;
        if (json_is_object(scr)) {
            json_t *entry = json_pack("{sssIsO}", "endpoint", name, "after_id",
                                      (json_int_t)after_id, "script", scr);
            if (!entry || json_array_append_new(rn->scripts, entry) < 0) {
                json_decref(doc);
                return wh_error_set(err, -ENOMEM, "out of memory");
            }
        }
        if (path && strcmp(name, "-") != 0 && !json_object_get(rn->endpoints, name)) {
            size_t pl = strlen(path);
            if (pl && path[pl - 1] == '*')
                pl--;
            char url[1024];
            snprintf(url, sizeof(url), "%s%.*s", rn->base, (int)pl, path);
            if (json_object_set_new(rn->endpoints, name, json_string(url)) < 0) {
                json_decref(doc);
                return wh_error_set(err, -ENOMEM, "out of memory");
            }
            if (!rn->first_url)
                rn->first_url = json_object_get(rn->endpoints, name);
        }
    }
    json_decref(doc);
    return 0;
}

static int put_responses(struct run *rn, const char *endpoint, json_t *spec, struct wh_error *err)
{
    char *body =
        json_is_string(spec) ? strdup(json_string_value(spec)) : json_dumps(spec, JSON_COMPACT);
    char path[300];
    if (!body)
        return wh_error_set(err, -ENOMEM, "out of memory");
    snprintf(path, sizeof(path), "/_webhooky/api/endpoints/%s/responses", endpoint);
    long status = 0;
    json_t *doc = NULL;
    int r = client_api(rn->api, "PUT", path, body, 10000, &status, &doc, err);
    free(body);
    if (r == 0 && status != 200) {
        const char *why = json_string_value(json_object_get(doc, "error"));
        r = wh_error_set(err, -EINVAL,
                         "setting the responses of '%s': the receiver answered %ld%s%s", endpoint,
                         status, why ? ": " : "", why ? why : "");
    }
    json_decref(doc);
    if (r < 0)
        return r;
    /* deliveries from now on are answered by the new script */
    json_t *list = NULL;
    int64_t last = 0;
    if ((r = client_deliveries(rn->api, NULL, INT64_MAX - 1, 1, 0, 0, &list, &last, err)) < 0)
        return r;
    json_decref(list);
    return record_scripts(rn, last, err);
}

static int start_receiver(struct run *rn, struct wh_error *err)
{
    const struct scenario *sc = rn->sc;
    int r;
    if (sc->config) {
        char db[PATH_MAX] = ":memory:";
        if (rn->sh->opts->keep_db_dir) {
            char nm[80];
            sanitize(nm, sizeof(nm), sc->name);
            snprintf(db, sizeof(db), "%s/%02zu-%s.db", rn->sh->opts->keep_db_dir, rn->index + 1,
                     nm);
            static const char *const sfx[] = {"", "-wal", "-shm"};
            for (size_t i = 0; i < 3; i++) {
                char f[PATH_MAX + 8];
                snprintf(f, sizeof(f), "%s%s", db, sfx[i]);
                unlink(f);
            }
        }
        struct server_options so;
        server_options_init(&so);
        so.listen = "127.0.0.1:0";
        so.db_path = db;
        so.config = sc->config;
        so.log_format = LOG_NONE;
        so.threads = 2;
        if ((r = server_start(&so, &rn->srv, err)) < 0)
            return wh_error_prefix(err, "starting the receiver: ");
        snprintf(rn->base, sizeof(rn->base), "http://%s", server_address(rn->srv));
    } else {
        snprintf(rn->base, sizeof(rn->base), "%s", sc->mock_url);
    }
    if ((r = client_create(rn->base, sc->mock_token, &rn->api, err)) < 0)
        return r;
    json_t *list = NULL;
    if ((r = client_deliveries(rn->api, NULL, INT64_MAX - 1, 1, 0, 0, &list, &rn->baseline, err)) <
        0)
        return wh_error_prefix(err, "the receiver at %s: ", rn->base);
    json_decref(list);
    if ((r = record_scripts(rn, rn->baseline, err)) < 0)
        return r;
    const char *key;
    json_t *spec;
    json_object_foreach(sc->responses, key, spec)
    {
        if ((r = put_responses(rn, key, spec, err)) < 0)
            return r;
    }
    return 0;
}

/* ---- steps ---- */

static int expand(struct run *rn, const char *text, char **ret, struct wh_error *err)
{
    struct vars_ctx vc = {.vars = rn->sc->vars,
                          .endpoints = rn->endpoints,
                          .mock_url = rn->base,
                          .scenario_dir = rn->sc->dir};
    return vars_expand(&vc, text, ret, err);
}

static int expand_json(struct run *rn, json_t *in, json_t **ret, struct wh_error *err)
{
    struct vars_ctx vc = {.vars = rn->sc->vars,
                          .endpoints = rn->endpoints,
                          .mock_url = rn->base,
                          .scenario_dir = rn->sc->dir};
    return vars_expand_json(&vc, in, ret, NULL, 0, err);
}

static const char *endpoint_url(struct run *rn, const char *name)
{
    json_t *u = name ? json_object_get(rn->endpoints, name) : rn->first_url;
    return u ? json_string_value(u) : NULL;
}

/* The webhooky executable (for `send` steps and for commands that call webhooky). */
static void self_exe(const struct run *rn, char *exe, size_t size)
{
    if (rn->sh->opts->self_exe) {
        snprintf(exe, size, "%s", rn->sh->opts->self_exe);
        return;
    }
    ssize_t n = readlink("/proc/self/exe", exe, size - 1);
    exe[n > 0 ? n : 0] = '\0';
}

static void remember_group(struct run *rn, pid_t pgid)
{
    pid_t *g = realloc(rn->groups, (rn->n_groups + 1) * sizeof(*g));
    if (!g)
        return;
    rn->groups = g;
    rn->groups[rn->n_groups++] = pgid;
}

/* the check of a command's exit status; want < 0: any */
static void exit_check(struct run *rn, const struct step *st, const char *what, int want,
                       const struct proc_result *pr, int64_t timeout_ms)
{
    char name[256], exp[64] = "any", act[128];
    if (want >= 0)
        snprintf(exp, sizeof(exp), "exit status %d", want);
    snprintf(name, sizeof(name), "%s exits with %s", what, want >= 0 ? exp + 12 : "any status");
    if (pr->timed_out)
        snprintf(act, sizeof(act), "killed after the %" PRId64 " ms timeout", timeout_ms);
    else if (pr->exit_status < 0)
        snprintf(act, sizeof(act), "killed by signal %d", pr->signal);
    else
        snprintf(act, sizeof(act), "exit status %d", pr->exit_status);
    bool ok = !pr->timed_out && (want < 0 || pr->exit_status == want);
    char msg[256];
    snprintf(msg, sizeof(msg), "%s after %.0f ms", ok ? "finished" : act, pr->duration_ms);
    add_check(rn, name, st->label, ok ? CHECK_PASS : CHECK_FAIL, msg, exp, act, NULL, 0);
}

static int want_exit(json_t *v, int dflt)
{
    if (!v)
        return dflt;
    return json_is_integer(v) ? (int)json_integer_value(v) : -1;
}

static void step_exec(struct run *rn, const struct step *st)
{
    json_t *spec = st->spec;
    const char *cmd_t = json_is_string(spec) ? json_string_value(spec)
                                             : json_string_value(json_object_get(spec, "command"));
    json_t *t = json_object_get(spec, "timeout_ms");
    int64_t timeout = scaled(rn, t ? json_integer_value(t) : rn->sc->timeout_ms);
    struct wh_error err = {0};
    char *cmd = NULL, *event = NULL;
    json_t *env = NULL;
    char **envp = NULL;
    size_t n_env = 0;
    const char *ev_t = json_string_value(json_object_get(spec, "event"));
    if (expand(rn, cmd_t, &cmd, &err) < 0 || (ev_t && expand(rn, ev_t, &event, &err) < 0) ||
        (json_object_get(spec, "env") &&
         expand_json(rn, json_object_get(spec, "env"), &env, &err) < 0)) {
        step_error(rn, st, "exec", err.msg);
        goto out;
    }
    const char *ep = json_string_value(json_object_get(spec, "endpoint"));
    const char *url = endpoint_url(rn, ep);
    if (ep && !url) {
        char m[200];
        snprintf(m, sizeof(m), "the receiver has no endpoint named '%.64s'", ep);
        step_error(rn, st, "exec", m);
        goto out;
    }
    envp = calloc(8 + json_object_size(env), sizeof(*envp));
    if (!envp) {
        step_error(rn, st, "exec", "out of memory");
        goto out;
    }
    char root_url[300], exe[PATH_MAX], path[PATH_MAX + 4096];
    snprintf(root_url, sizeof(root_url), "%s/", rn->base);
    /* `webhooky` in a command is this webhooky */
    self_exe(rn, exe, sizeof(exe));
    char *slash = strrchr(exe, '/');
    const char *old_path = getenv("PATH");
    snprintf(path, sizeof(path), "%.*s:%s", slash ? (int)(slash - exe) : 0, exe,
             old_path ? old_path : "/usr/bin:/bin");
    struct {
        const char *k, *v;
    } fixed[] = {
        {"WEBHOOKY_URL", url ? url : root_url}, {"WEBHOOKY_MOCK_URL", rn->base},
        {"WEBHOOKY_SECRET", rn->sc->secret},    {"WEBHOOKY_EVENT", event ? event : rn->sc->event},
        {"WEBHOOKY_BIN", exe[0] ? exe : NULL},  {"PATH", slash ? path : NULL}};
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        if (!fixed[i].v)
            continue;
        size_t n = strlen(fixed[i].k) + strlen(fixed[i].v) + 2;
        if (!(envp[n_env] = malloc(n)))
            break;
        snprintf(envp[n_env++], n, "%s=%s", fixed[i].k, fixed[i].v);
    }
    const char *k;
    json_t *v;
    json_object_foreach(env, k, v)
    {
        size_t n = strlen(k) + strlen(json_string_value(v)) + 2;
        if (!(envp[n_env] = malloc(n)))
            break;
        snprintf(envp[n_env++], n, "%s=%s", k, json_string_value(v));
    }
    struct proc_result pr;
    if (proc_run_shell(cmd, envp, timeout, &pr, &err) < 0) {
        step_error(rn, st, "exec", err.msg);
        goto out;
    }
    remember_group(rn, pr.pgid);
    add_output(rn, st->label, cmd, &pr);
    exit_check(rn, st, "command", want_exit(json_object_get(spec, "exit"), 0), &pr, timeout);
    proc_result_finish(&pr);
out:
    for (size_t i = 0; envp && i < n_env; i++)
        free(envp[i]);
    free(envp);
    json_decref(env);
    free(cmd);
    free(event);
}

static void step_http(struct run *rn, const struct step *st)
{
    json_t *spec = NULL;
    struct wh_error err = {0};
    char *body = NULL, *answer = NULL;
    if (expand_json(rn, st->spec, &spec, &err) < 0) {
        step_error(rn, st, "http", err.msg);
        return;
    }
    const char *method = json_string_value(json_object_get(spec, "method"));
    const char *url = json_string_value(json_object_get(spec, "url"));
    json_t *b = json_object_get(spec, "body");
    json_t *headers = json_object_get(spec, "headers");
    json_t *hdrs = headers ? json_deep_copy(headers) : json_object();
    if (!method)
        method = b ? "POST" : "GET";
    if (b) {
        body = json_is_string(b) ? strdup(json_string_value(b)) : json_dumps(b, JSON_COMPACT);
        bool has_ct = false;
        const char *k;
        json_t *v;
        json_object_foreach(hdrs, k, v) has_ct |= strcasecmp(k, "Content-Type") == 0;
        if (!json_is_string(b) && !has_ct && hdrs)
            json_object_set_new(hdrs, "Content-Type", json_string("application/json"));
    }
    json_t *t = json_object_get(spec, "timeout_ms");
    int64_t timeout = scaled(rn, t ? json_integer_value(t) : rn->sc->timeout_ms);
    long status = 0;
    char name[300];
    snprintf(name, sizeof(name), "%s %.200s", method, url);
    if ((b && !body) || !hdrs ||
        client_http(method, url, hdrs, body, body ? strlen(body) : 0, (long)timeout, &status,
                    &answer, &err) < 0) {
        step_error(rn, st, name, err.msg[0] ? err.msg : "out of memory");
        goto out;
    }
    json_t *want = json_object_get(spec, "status");
    bool ok;
    char exp[128] = "";
    if (!want) {
        ok = status >= 200 && status <= 299;
        snprintf(exp, sizeof(exp), "2xx");
    } else if (json_is_integer(want)) {
        ok = status == json_integer_value(want);
        snprintf(exp, sizeof(exp), "%" JSON_INTEGER_FORMAT, json_integer_value(want));
    } else if (json_is_array(want)) {
        ok = false;
        size_t i;
        json_t *s;
        size_t n = 0;
        json_array_foreach(want, i, s)
        {
            ok |= status == json_integer_value(s);
            n +=
                (size_t)snprintf(exp + n, n < sizeof(exp) ? sizeof(exp) - n : 0,
                                 "%s%" JSON_INTEGER_FORMAT, i ? " or " : "", json_integer_value(s));
            if (n >= sizeof(exp))
                n = sizeof(exp) - 1;
        }
    } else {
        ok = true;
        snprintf(exp, sizeof(exp), "any");
    }
    char act[64], full[400];
    snprintf(act, sizeof(act), "%ld", status);
    snprintf(full, sizeof(full), "%s answers %s", name, exp);
    char msg[300];
    snprintf(msg, sizeof(msg), "answered %ld: %.200s", status, answer ? answer : "");
    add_check(rn, full, st->label, ok ? CHECK_PASS : CHECK_FAIL, msg, exp, act, NULL, 0);
out:
    json_decref(hdrs);
    json_decref(spec);
    free(body);
    free(answer);
}

/* Each attempt of the built-in sender, as a line of the step's output. */
static void send_attempt(void *ctx, const struct sender_attempt *a)
{
    struct buf *out = ctx;
    buf_printf(out, "attempt %d: ", a->number);
    if (a->status)
        buf_printf(out, "%ld in %.0f ms", a->status, a->duration_ms);
    else
        buf_printf(out, "no answer (%s) after %.0f ms", a->error, a->duration_ms);
    if (a->retry_after_ms >= 0)
        buf_printf(out, ", Retry-After %" PRId64 " ms", a->retry_after_ms);
    if (a->id[0])
        buf_printf(out, " [id %s]", a->id);
    buf_printf(out, ": %s", a->why);
    if (a->next == SENDER_NEXT_RETRY)
        buf_printf(out, ", next attempt in %" PRId64 " ms", a->wait_ms);
    buf_append_byte(out, '\n');
}

/* One webhook from the reference sender (sender.h), in this thread. */
static void step_send(struct run *rn, const struct step *st)
{
    json_t *spec = NULL, *sigobj = NULL;
    struct wh_error err = {0};
    sig_config *sig = NULL;
    char *data = NULL;
    struct buf out, cmd;
    buf_init(&out, PROC_MAX_OUTPUT);
    buf_init(&cmd, 0);
    if (expand_json(rn, st->spec, &spec, &err) < 0) {
        step_error(rn, st, "send", err.msg);
        goto done;
    }
    const char *url = json_string_value(json_object_get(spec, "url"));
    const char *ep = json_string_value(json_object_get(spec, "endpoint"));
    if (!url)
        url = endpoint_url(rn, ep);
    if (!url) {
        step_error(rn, st, "send",
                   ep ? "the receiver has no such endpoint"
                      : "no url, and the receiver has no endpoint to send to");
        goto done;
    }
    const char *scheme = json_string_value(json_object_get(spec, "scheme"));
    const char *secret = json_string_value(json_object_get(spec, "secret"));
    const char *event = json_string_value(json_object_get(spec, "event"));
    const char *mis = json_string_value(json_object_get(spec, "misbehave"));
    const char *backoff = json_string_value(json_object_get(spec, "backoff"));
    json_t *retries = json_object_get(spec, "retries"), *t = json_object_get(spec, "timeout_ms");
    json_t *d = json_object_get(spec, "data");
    struct sender_options so = {.url = url, .on_attempt = send_attempt, .ctx = &out};
    so.event = event ? event : rn->sc->event;
    so.id = json_string_value(json_object_get(spec, "id"));
    so.retries = retries ? (int)json_integer_value(retries) : 0;
    so.timeout_ms = scaled(rn, t ? json_integer_value(t) : rn->sc->timeout_ms);
    /* a Retry-After longer than the scenario's patience is cut to it */
    so.max_retry_after_ms = scaled(rn, rn->sc->timeout_ms);
    if (!secret)
        secret = rn->sc->secret;
    if (scheme) {
        sigobj = json_pack("{s:s, s:[s]}", "scheme", scheme, "secrets", secret ? secret : "");
        if (!sigobj || sig_config_parse(sigobj, &sig, NULL, 0, &err) < 0) {
            step_error(rn, st, "send", err.msg[0] ? err.msg : "out of memory");
            goto done;
        }
        so.sig = sig;
    }
    if ((backoff && sender_backoff_parse(backoff, &so.backoff, &err) < 0) ||
        (mis && sender_misbehave_parse(mis, &so.misbehave) < 0)) {
        if (!err.msg[0])
            snprintf(err.msg, sizeof(err.msg), "unknown misbehave mode '%.64s' (one of: %s)", mis,
                     sender_misbehave_names());
        step_error(rn, st, "send", err.msg);
        goto done;
    }
    if (!backoff)
        so.backoff = (struct sender_backoff){.exponential = true,
                                             .base_ms = 500,
                                             .factor = 2,
                                             .max_ms = 30000}; /* as webhooky send */
    if (d) {
        data = json_is_string(d) ? strdup(json_string_value(d)) : json_dumps(d, JSON_COMPACT);
        if (!data) {
            step_error(rn, st, "send", "out of memory");
            goto done;
        }
        so.body = data;
        so.body_len = strlen(data);
    }
    buf_printf(&cmd, "send %s%s%s%s%s%s%s, %d retr%s", url, scheme ? " --scheme " : "",
               scheme ? scheme : "", so.event ? " --event " : "", so.event ? so.event : "",
               mis ? " --misbehave " : "", mis ? mis : "", so.retries,
               so.retries == 1 ? "y" : "ies");
    struct sender_result res = {0};
    double t0 = (double)mono_ms();
    if (sender_run(&so, &res, &err) < 0) {
        step_error(rn, st, "send", err.msg);
        goto done;
    }
    buf_printf(&out, "%s after %d attempt%s\n", res.why, res.attempts,
               res.attempts == 1 ? "" : "s");
    /* the output and exit status of `webhooky send`: 0 when delivered */
    struct proc_result pr = {.exit_status = res.delivered ? 0 : 1,
                             .out = out.data,
                             .out_len = out.len,
                             .duration_ms = (double)mono_ms() - t0};
    add_output(rn, st->label, cmd.data, &pr);
    exit_check(rn, st, "webhooky send", want_exit(json_object_get(spec, "exit"), 0), &pr,
               so.timeout_ms);
done:
    buf_finish(&out);
    buf_finish(&cmd);
    free(data);
    sig_config_destroy(sig);
    json_decref(sigobj);
    json_decref(spec);
}

static void step_respond(struct run *rn, const struct step *st)
{
    const char *ep = json_string_value(json_object_get(st->spec, "endpoint"));
    if (!ep) {
        json_t *first = NULL;
        const char *k;
        json_t *v;
        json_object_foreach(rn->endpoints, k, v)
        {
            if (!first) {
                first = v;
                ep = k;
            }
        }
    }
    struct wh_error err = {0};
    json_t *spec = NULL;
    if (expand_json(rn, json_object_get(st->spec, "responses"), &spec, &err) < 0 ||
        put_responses(rn, ep ? ep : "-", spec, &err) < 0)
        step_error(rn, st, "respond", err.msg);
    json_decref(spec);
}

static void step_sleep(struct run *rn, const struct step *st)
{
    int64_t ms;
    if (json_is_integer(st->spec)) {
        ms = json_integer_value(st->spec);
    } else {
        const char *s = json_string_value(st->spec);
        char *end;
        ms = strtoll(s, &end, 10);
        if (strcmp(end, "s") == 0)
            ms *= 1000;
    }
    /* a sleep is a window in which something must not happen: it may grow, never shrink */
    if (scale(rn) > 1.0)
        ms = scaled(rn, ms);
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Count deliveries matching `where` until `count` have arrived or the time is up, by
 * long-polling the API for anything new. */
static void step_wait(struct run *rn, const struct step *st)
{
    json_t *where = json_object_get(st->spec, "where");
    json_t *c = json_object_get(st->spec, "count");
    json_t *t = json_object_get(st->spec, "timeout_ms");
    long want = c ? (long)json_integer_value(c) : 1;
    int64_t timeout = scaled(rn, t ? json_integer_value(t) : rn->sc->timeout_ms);
    int64_t max_iv = rn->sh->opts->max_interval_ms;
    const char *ep = json_string_value(json_object_get(where, "endpoint"));
    int64_t t0 = mono_ms(), deadline = t0 + timeout;
    int64_t cursor = rn->baseline, last_arrival = 0;
    long seen = 0;
    struct wh_error err = {0};
    struct buf name;
    buf_init(&name, 0);
    buf_printf(&name, "%ld deliver%s arrive%s", want, want == 1 ? "y" : "ies",
               want == 1 ? "s" : "");
    checks_describe_filter(where, &name);
    int64_t *ids = NULL;
    size_t n_ids = 0;
    bool gave_up = false, first = true; /* the first look does not wait */
    for (;; first = false) {
        json_t *page = NULL;
        int64_t now = mono_ms();
        int64_t left = deadline - now;
        long wait =
            first || seen >= want ? 0 : (long)(left > LONGPOLL_MAX_MS ? LONGPOLL_MAX_MS : left);
        if (max_iv > 0 && seen >= 1 && want > 1 && last_arrival && now - last_arrival > max_iv) {
            gave_up = true;
            break;
        }
        if (max_iv > 0 && seen >= 1 && want > 1 && wait > 0) {
            int64_t until = last_arrival + max_iv - now + 1;
            if (until < wait)
                wait = (long)(until > 1 ? until : 1);
        }
        if (!first && seen < want && left <= 0)
            break;
        if (client_deliveries(rn->api, ep, cursor, 1000, wait > 0 ? wait : 0, 1, &page, NULL,
                              &err) < 0) {
            step_error(rn, st, name.data ? name.data : "wait", err.msg);
            goto out;
        }
        struct dset ds;
        if (dset_build(page, &ds) < 0) {
            json_decref(page);
            step_error(rn, st, "wait", "out of memory");
            goto out;
        }
        for (size_t i = 0; i < ds.n; i++) {
            if (ds.v[i].id > cursor)
                cursor = ds.v[i].id;
            if (check_filter_match(where, &ds.v[i])) {
                seen++;
                last_arrival = mono_ms();
                int64_t *bigger = n_ids < 200 ? realloc(ids, (n_ids + 1) * sizeof(*ids)) : NULL;
                if (bigger) {
                    ids = bigger;
                    ids[n_ids++] = ds.v[i].id;
                }
            }
        }
        dset_finish(&ds);
        json_decref(page);
        if (seen >= want)
            break;
        progress(rn, name.data ? name.data : "waiting", seen, want,
                 (double)(deadline - mono_ms()) / 1000.0);
    }
    char exp[64], act[128], msg[256];
    snprintf(exp, sizeof(exp), "%ld within %" PRId64 " ms", want, timeout);
    snprintf(act, sizeof(act), "%ld after %" PRId64 " ms", seen, mono_ms() - t0);
    if (gave_up) {
        snprintf(msg, sizeof(msg),
                 "%ld of %ld arrived; the next is more than --max-interval-ms %" PRId64
                 " ms away, so the rest of this scenario is skipped",
                 seen, want, max_iv);
        add_check(rn, name.data ? name.data : "wait", st->label, CHECK_SKIP, msg, exp, act, ids,
                  n_ids);
        rn->broken = true;
        rn->broken_why = "the sender's retries are further apart than --max-interval-ms";
    } else if (seen >= want) {
        snprintf(msg, sizeof(msg), "%ld arrived", seen);
        add_check(rn, name.data ? name.data : "wait", st->label, CHECK_PASS, msg, exp, act, ids,
                  n_ids);
    } else {
        snprintf(msg, sizeof(msg), "timed out after %" PRId64 " ms with %ld of %ld", timeout, seen,
                 want);
        add_check(rn, name.data ? name.data : "wait", st->label, CHECK_FAIL, msg, exp, act, ids,
                  n_ids);
    }
out:
    free(ids);
    buf_finish(&name);
}

static int fetch_all(struct run *rn, json_t **ret, struct wh_error *err)
{
    return client_all_deliveries(rn->api, rn->baseline, ret, err);
}

static void step_expect(struct run *rn, const struct step *st, size_t index)
{
    json_t *all = NULL;
    struct wh_error err = {0};
    if (fetch_all(rn, &all, &err) < 0) {
        step_error(rn, st, "expect", err.msg);
        return;
    }
    struct dset ds;
    if (dset_build(all, &ds) < 0) {
        json_decref(all);
        step_error(rn, st, "expect", "out of memory");
        return;
    }
    struct check_env env = {.scripts = rn->scripts,
                            .step_started_us = rn->started_us,
                            .step_names = rn->names,
                            .n_steps = rn->sc->n_steps};
    size_t i;
    json_t *a;
    json_array_foreach(st->spec, i, a)
    {
        struct check_outcome o;
        if (check_eval(a, &ds, &env, index, &o) < 0) {
            add_check(rn, "expect", st->label, CHECK_ERROR, "out of memory", NULL, NULL, NULL, 0);
            continue;
        }
        add_check(rn, o.name, st->label, o.status, o.message, o.expected, o.actual, o.ids, o.n_ids);
        check_outcome_finish(&o);
    }
    dset_finish(&ds);
    json_decref(all);
}

static void skip_step(struct run *rn, const struct step *st)
{
    if (st->kind == STEP_EXPECT) {
        size_t i;
        json_t *a;
        json_array_foreach(st->spec, i, a)
        {
            struct check_outcome o;
            struct dset empty = {0};
            struct check_env env = {0};
            /* the name the check would have had */
            if (check_eval(a, &empty, &env, 0, &o) == 0) {
                add_check(rn, o.name, st->label, CHECK_SKIP, rn->broken_why, NULL, NULL, NULL, 0);
                check_outcome_finish(&o);
            }
        }
    } else if (st->kind != STEP_SLEEP && st->kind != STEP_RESPOND) {
        add_check(rn, st->label, st->label, CHECK_SKIP, rn->broken_why, NULL, NULL, NULL, 0);
    }
}

/* The scenario's deliveries and messages into the results, for the reports. */
static void collect(struct run *rn)
{
    json_t *all = NULL;
    struct wh_error err = {0};
    if (fetch_all(rn, &all, &err) < 0)
        return;
    struct dset ds;
    struct dgroup *g = NULL;
    size_t ng = 0;
    if (dset_build(all, &ds) < 0) {
        json_decref(all);
        return;
    }
    pthread_mutex_lock(&rn->sh->lock);
    if (dset_group(&ds, NULL, false, &g, &ng) == 0) {
        for (size_t m = 0; m < ng; m++) {
            bool delivered = false;
            for (size_t k = 0; k < g[m].n; k++) {
                const struct dview *v = &ds.v[g[m].idx[k]];
                delivered |= v->status >= 200 && v->status <= 299 && !v->fault;
            }
            struct result_message *msg = scenario_add_message(
                rn->rs, strcmp(g[m].endpoint, "-") ? g[m].endpoint : NULL, g[m].key, delivered);
            for (size_t k = 0; msg && k < g[m].n; k++) {
                const struct dview *v = &ds.v[g[m].idx[k]];
                message_add_attempt(msg, v->id, v->received_us, v->status, v->fault,
                                    json_integer_value(json_object_get(
                                        json_object_get(v->json, "response"), "delay_ms")));
            }
        }
        dgroups_free(g, ng);
    }
    json_decref(rn->rs->deliveries);
    rn->rs->deliveries = json_incref(all);
    pthread_mutex_unlock(&rn->sh->lock);
    dset_finish(&ds);
    json_decref(all);
}

static void run_one(struct shared *sh, size_t index)
{
    struct run rn = {.sh = sh, .sc = sh->sc[index], .index = index};
    rn.rs = &sh->res->scenarios[index];
    int64_t t0 = wall_us();
    pthread_mutex_lock(&sh->lock);
    rn.rs->started_us = t0;
    for (size_t i = 0; i < sh->opts->n_reporters; i++)
        reporter_scenario_start(sh->opts->reporters[i], rn.rs);
    pthread_mutex_unlock(&sh->lock);

    size_t ns = rn.sc->n_steps;
    rn.endpoints = json_object();
    rn.scripts = json_array();
    rn.started_us = calloc(ns, sizeof(*rn.started_us));
    rn.names = calloc(ns, sizeof(*rn.names));
    struct wh_error err = {0};
    int r = 0;
    if (!rn.endpoints || !rn.scripts || !rn.started_us || !rn.names)
        r = wh_error_set(&err, -ENOMEM, "out of memory");
    if (r == 0)
        r = start_receiver(&rn, &err);
    if (r < 0) {
        pthread_mutex_lock(&sh->lock);
        scenario_set_error(rn.rs, err.msg);
        pthread_mutex_unlock(&sh->lock);
        rn.broken = true;
        rn.broken_why = "the receiver could not be used";
    }
    for (size_t i = 0; i < ns; i++)
        rn.names[i] = rn.sc->steps[i].name;
    for (size_t i = 0; i < ns; i++) {
        const struct step *st = &rn.sc->steps[i];
        if (rn.broken) {
            skip_step(&rn, st);
            continue;
        }
        rn.started_us[i] = wall_us();
        switch (st->kind) {
        case STEP_EXEC:
            step_exec(&rn, st);
            break;
        case STEP_HTTP:
            step_http(&rn, st);
            break;
        case STEP_SEND:
            step_send(&rn, st);
            break;
        case STEP_RESPOND:
            step_respond(&rn, st);
            break;
        case STEP_WAIT:
            step_wait(&rn, st);
            break;
        case STEP_SLEEP:
            step_sleep(&rn, st);
            break;
        case STEP_EXPECT:
            step_expect(&rn, st, i);
            break;
        }
    }
    for (size_t i = 0; i < rn.n_groups; i++)
        proc_kill_group(rn.groups[i], 500);
    if (rn.api)
        collect(&rn);
    client_destroy(rn.api);
    server_stop(rn.srv);
    pthread_mutex_lock(&sh->lock);
    rn.rs->duration_ms = (double)(wall_us() - t0) / 1000.0;
    for (size_t i = 0; i < sh->opts->n_reporters; i++)
        reporter_scenario_end(sh->opts->reporters[i], rn.rs);
    pthread_mutex_unlock(&sh->lock);
    free(rn.groups);
    free(rn.started_us);
    free(rn.names);
    json_decref(rn.endpoints);
    json_decref(rn.scripts);
}

static void *worker(void *arg)
{
    struct shared *sh = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&sh->next, 1);
        if (i >= sh->n)
            break;
        run_one(sh, i);
    }
    return NULL;
}

int runner_run(struct scenario *const *scenarios, size_t n, const struct runner_options *opts,
               struct results *res, struct wh_error *err)
{
    size_t first = res->n_scenarios;
    for (size_t i = 0; i < n; i++)
        if (!results_add_scenario(res, scenarios[i]->name, scenarios[i]->file,
                                  scenarios[i]->description))
            return wh_error_set(err, -ENOMEM, "out of memory");
    if (opts->keep_db_dir && mkdir(opts->keep_db_dir, 0755) < 0 && errno != EEXIST)
        return wh_error_set(err, -errno, "--keep-db %s: %s", opts->keep_db_dir, strerror(errno));
    struct shared sh = {.opts = opts, .res = res, .sc = scenarios, .n = n};
    atomic_init(&sh.next, 0);
    pthread_mutex_init(&sh.lock, NULL);
    /* results_add_scenario may move the array: the runner's indices start at `first` */
    struct results view = *res;
    view.scenarios = res->scenarios + first;
    view.n_scenarios = n;
    sh.res = &view;
    unsigned jobs = opts->jobs > 1 ? opts->jobs : 1;
    if (jobs > n)
        jobs = (unsigned)n;
    pthread_t *th = jobs > 1 ? calloc(jobs, sizeof(*th)) : NULL;
    unsigned started = 0;
    for (unsigned j = 0; th && j < jobs; j++)
        if (pthread_create(&th[j], NULL, worker, &sh) == 0)
            started++;
    if (started == 0)
        worker(&sh);
    for (unsigned j = 0; j < started; j++)
        pthread_join(th[j], NULL);
    free(th);
    pthread_mutex_destroy(&sh.lock);
    return 0;
}
