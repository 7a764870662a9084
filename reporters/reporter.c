/* reporter: parsing NAME[=FILE], dispatch to the formats, and the text helpers they share.
 * See reporter.h and reporter_priv.h. */
#include "reporter.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mockserver/encode.h"
#include "reporter_priv.h"

static const struct reporter_ops *const formats[] = {
    &reporter_console_ops, &reporter_junit_ops, &reporter_tap_ops,
    &reporter_json_ops,    &reporter_html_ops,
};
#define N_FORMATS (sizeof(formats) / sizeof(formats[0]))

const char *reporter_names(void)
{
    return "console, junit, tap, json, html";
}

static const struct reporter_ops *find_format(const char *name, size_t len)
{
    for (size_t i = 0; i < N_FORMATS; i++)
        if (strlen(formats[i]->name) == len && memcmp(formats[i]->name, name, len) == 0)
            return formats[i];
    return NULL;
}

static int make(const struct reporter_ops *ops, FILE *f, bool own, bool tty, reporter **ret)
{
    reporter *rp = calloc(1, sizeof(*rp));
    if (!rp)
        return -ENOMEM;
    rp->ops = ops;
    rp->f = f;
    rp->own_file = own;
    rp->tty = tty;
    const char *nc = getenv("NO_COLOR");
    rp->color = tty && !(nc && *nc);
    const char *tv = getenv("TAP_VERSION");
    rp->tap_version = tv && strcmp(tv, "13") == 0 ? 13 : 14;
    *ret = rp;
    return 0;
}

int reporter_create(const char *spec, reporter **ret, struct wh_error *err)
{
    const char *eq = strchr(spec, '=');
    size_t len = eq ? (size_t)(eq - spec) : strlen(spec);
    const struct reporter_ops *ops = find_format(spec, len);
    if (!ops)
        return wh_error_set(err, -EINVAL, "unknown reporter '%.*s' (one of: %s)",
                            (int)(len > 64 ? 64 : len), spec, reporter_names());
    const char *path = eq ? eq + 1 : NULL;
    if (path && !*path)
        return wh_error_set(err, -EINVAL, "reporter %s: empty file name after '='", ops->name);
    if (!path || strcmp(path, "-") == 0)
        return reporter_create_stream(ops->name, stdout, isatty(STDOUT_FILENO) == 1, ret, err);
    FILE *f = fopen(path, "w");
    if (!f) {
        int e = errno;
        return wh_error_set(err, -e, "reporter %s: cannot create %s: %s", ops->name, path,
                            strerror(e));
    }
    int r = make(ops, f, true, false, ret);
    if (r < 0) {
        fclose(f);
        return wh_error_set(err, r, "out of memory");
    }
    return 0;
}

int reporter_create_stream(const char *name, FILE *f, bool tty, reporter **ret,
                           struct wh_error *err)
{
    const struct reporter_ops *ops = find_format(name, strlen(name));
    if (!ops)
        return wh_error_set(err, -EINVAL, "unknown reporter '%s' (one of: %s)", name,
                            reporter_names());
    int r = make(ops, f, false, tty, ret);
    return r < 0 ? wh_error_set(err, r, "out of memory") : 0;
}

void reporter_destroy(reporter *rp)
{
    if (!rp)
        return;
    if (rp->own_file)
        fclose(rp->f);
    else
        fflush(rp->f);
    free(rp);
}

const char *reporter_name(const reporter *rp)
{
    return rp->ops->name;
}

void reporter_scenario_start(reporter *rp, const struct result_scenario *s)
{
    if (rp->ops->scenario_start)
        rp->ops->scenario_start(rp, s);
}

void reporter_check(reporter *rp, const struct result_scenario *s, const struct result_check *c)
{
    if (rp->ops->check)
        rp->ops->check(rp, s, c);
}

void reporter_progress(reporter *rp, const struct result_scenario *s, const char *what, long seen,
                       long wanted, double seconds_left)
{
    if (rp->ops->progress)
        rp->ops->progress(rp, s, what, seen, wanted, seconds_left);
}

void reporter_scenario_end(reporter *rp, const struct result_scenario *s)
{
    if (rp->ops->scenario_end)
        rp->ops->scenario_end(rp, s);
}

int reporter_finish(reporter *rp, const struct results *r, struct wh_error *err)
{
    struct buf out;
    buf_init(&out, 0);
    int ret = rp->ops->render(rp, r, &out);
    if (ret < 0) {
        buf_finish(&out);
        return wh_error_set(err, ret, "reporter %s: out of memory", rp->ops->name);
    }
    errno = 0;
    if ((out.len && fwrite(out.data, 1, out.len, rp->f) != out.len) || fflush(rp->f) != 0) {
        int e = errno ? errno : EIO;
        buf_finish(&out);
        return wh_error_set(err, -e, "reporter %s: cannot write the report: %s", rp->ops->name,
                            strerror(e));
    }
    buf_finish(&out);
    return 0;
}

/* ---- shared text helpers ---- */

json_t *rep_find_delivery(const struct result_scenario *s, int64_t id)
{
    size_t i;
    json_t *d;
    json_array_foreach(s->deliveries, i, d)
    {
        if (json_integer_value(json_object_get(d, "id")) == id)
            return d;
    }
    return NULL;
}

/* How many bytes of text[0..len) to keep so that at most max are kept, not splitting a UTF-8
 * sequence: from the start (or, with from_end, the offset to start at). */
static size_t cut_at_char(const char *text, size_t len, size_t max, bool from_end)
{
    const unsigned char *p = (const unsigned char *)text;
    if (!from_end) {
        size_t n = max;
        for (int k = 0; k < 3 && n > 0 && n < len && (p[n] & 0xC0) == 0x80; k++)
            n--;
        return n;
    }
    size_t start = len - max;
    for (int k = 0; k < 3 && start < len && (p[start] & 0xC0) == 0x80; k++)
        start++;
    return start;
}

int rep_display(struct buf *out, const char *text, size_t len, size_t max, bool keep_end)
{
    if (len <= max)
        return encode_terminal(out, text, len, true);
    int r;
    if (keep_end) {
        size_t start = cut_at_char(text, len, max, true);
        if ((r = buf_printf(out, "[... %zu bytes left out ...]\n", start)) < 0)
            return r;
        return encode_terminal(out, text + start, len - start, true);
    }
    size_t n = cut_at_char(text, len, max, false);
    if ((r = encode_terminal(out, text, n, true)) < 0)
        return r;
    return buf_printf(out, " [... %zu more bytes]", len - n);
}

static int indent_to(struct buf *out, int indent)
{
    return buf_printf(out, "%*s", indent, "");
}

/* Append a JSON string member as one line of display text (no newlines), shortened. */
static int line_text(struct buf *out, const json_t *v, size_t max)
{
    if (!json_is_string(v))
        return 0;
    const char *t = json_string_value(v);
    size_t len = json_string_length(v);
    if (len <= max)
        return encode_terminal(out, t, len, false);
    size_t n = cut_at_char(t, len, max, false);
    int r = encode_terminal(out, t, n, false);
    return r < 0 ? r : buf_printf(out, " [... %zu more bytes]", len - n);
}

/* Append text with every line after the first indented. */
static int indented(struct buf *out, const char *text, size_t len, int indent)
{
    size_t start = 0;
    int r = 0;
    for (size_t i = 0; i < len && r == 0; i++) {
        if (text[i] != '\n')
            continue;
        if ((r = buf_append(out, text + start, i + 1 - start)) == 0 && i + 1 < len &&
            text[i + 1] != '\n')
            r = indent_to(out, indent);
        start = i + 1;
    }
    return r < 0 ? r : buf_append(out, text + start, len - start);
}

int rep_delivery_text(struct buf *out, const json_t *d, int indent)
{
    struct buf tmp;
    buf_init(&tmp, 0);
    int r = indent_to(out, indent);
    if (r == 0)
        r = buf_printf(out, "#%lld ", (long long)json_integer_value(json_object_get(d, "id")));
    if (r == 0)
        r = line_text(out, json_object_get(d, "method"), 32);
    if (r == 0)
        r = buf_append_byte(out, ' ');
    if (r == 0)
        r = line_text(out, json_object_get(d, "path"), REP_HEADER_VALUE_MAX);
    const json_t *q = json_object_get(d, "query");
    if (r == 0 && json_string_length(q) > 0) {
        if ((r = buf_append_byte(out, '?')) == 0)
            r = line_text(out, q, REP_HEADER_VALUE_MAX);
    }
    const json_t *status = json_object_get(json_object_get(d, "response"), "status");
    if (r == 0)
        r = json_is_integer(status)
                ? buf_printf(out, " -> %lld\n", (long long)json_integer_value(status))
                : buf_append_str(out, " -> no status (fault)\n");

    const json_t *headers = json_object_get(d, "headers");
    size_t i;
    const json_t *pair;
    json_array_foreach(headers, i, pair)
    {
        if (r < 0)
            break;
        if (i == REP_HEADERS_MAX) {
            if ((r = indent_to(out, indent + 2)) == 0)
                r = buf_printf(out, "[... %zu more headers]\n", json_array_size(headers) - i);
            break;
        }
        if ((r = indent_to(out, indent + 2)) == 0 &&
            (r = line_text(out, json_array_get(pair, 0), REP_HEADER_VALUE_MAX)) == 0 &&
            (r = buf_append_str(out, ": ")) == 0 &&
            (r = line_text(out, json_array_get(pair, 1), REP_HEADER_VALUE_MAX)) == 0)
            r = buf_append_byte(out, '\n');
    }

    const json_t *sig = json_object_get(d, "signature");
    const char *sst = json_string_value(json_object_get(sig, "status"));
    if (r == 0 && sst && strcmp(sst, "not_configured") != 0) {
        if ((r = indent_to(out, indent + 2)) == 0 &&
            (r = buf_append_str(out, "[signature ")) == 0 &&
            (r = line_text(out, json_object_get(sig, "status"), 32)) == 0 &&
            (r = buf_append_str(out, ": ")) == 0 &&
            (r = line_text(out, json_object_get(sig, "reason"), 512)) == 0)
            r = buf_append_str(out, "]\n");
    }
    const json_t *sch = json_object_get(d, "schema");
    const char *cst = json_string_value(json_object_get(sch, "status"));
    if (r == 0 && cst && strcmp(cst, "not_configured") != 0) {
        if ((r = indent_to(out, indent + 2)) == 0 && (r = buf_append_str(out, "[schema ")) == 0 &&
            (r = line_text(out, json_object_get(sch, "status"), 32)) == 0) {
            const json_t *errs = json_object_get(sch, "errors");
            size_t k;
            const json_t *e;
            json_array_foreach(errs, k, e)
            {
                if (r < 0)
                    break;
                if (k == 3) {
                    r = buf_printf(out, "; %zu more", json_array_size(errs) - k);
                    break;
                }
                const json_t *msg = json_is_object(e) ? json_object_get(e, "message") : e;
                const json_t *at = json_is_object(e) ? json_object_get(e, "pointer") : NULL;
                if ((r = buf_append_str(out, k ? "; " : ": ")) == 0 && json_string_length(at) > 0) {
                    if ((r = line_text(out, at, 128)) == 0)
                        r = buf_append_str(out, " ");
                }
                if (r == 0)
                    r = line_text(out, msg, 256);
            }
            if (r == 0)
                r = buf_append_str(out, "]\n");
        }
    }

    const json_t *body = json_object_get(d, "body");
    const json_t *b64 = json_object_get(d, "body_base64");
    long long size = json_integer_value(json_object_get(d, "body_size"));
    if (r == 0 && (json_is_string(body) || json_is_string(b64))) {
        const json_t *text = json_is_string(body) ? body : b64;
        if ((r = indent_to(out, indent + 2)) == 0)
            r = buf_printf(out, "[body, %lld bytes%s%s]\n", size,
                           json_is_true(json_object_get(d, "truncated")) ? ", truncated" : "",
                           text == b64 ? ", not UTF-8, as base64" : "");
        if (r == 0 && json_string_length(text) > 0) {
            if ((r = rep_display(&tmp, json_string_value(text), json_string_length(text),
                                 REP_BODY_MAX, false)) == 0 &&
                (r = indent_to(out, indent + 2)) == 0 &&
                (r = indented(out, tmp.data, tmp.len, indent + 2)) == 0)
                r = buf_append_byte(out, '\n');
        }
    }
    buf_finish(&tmp);
    return r;
}

int rep_duration(struct buf *out, double ms)
{
    if (!(ms >= 0) || !isfinite(ms))
        ms = 0;
    if (ms < 1000)
        return buf_printf(out, "%.0f ms", ms);
    if (ms < 60000)
        return buf_printf(out, "%.2f s", ms / 1000);
    long long s = (long long)(ms / 1000);
    return buf_printf(out, "%lld min %lld s", s / 60, s % 60);
}

int rep_time(struct buf *out, int64_t us, bool with_us)
{
    if (with_us)
        return encode_rfc3339_us(out, us);
    int64_t secs = us / 1000000 - (us % 1000000 < 0);
    time_t t = (time_t)secs;
    struct tm tm;
    if (!gmtime_r(&t, &tm))
        return buf_append_str(out, "1970-01-01T00:00:00Z");
    return buf_printf(out, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                      tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

int rep_answer(struct buf *out, int status, const char *fault)
{
    if (fault) {
        int r = buf_append_str(out, "fault ");
        return r < 0 ? r : encode_terminal(out, fault, strlen(fault), false);
    }
    if (status > 0)
        return buf_printf(out, "%d", status);
    return buf_append_str(out, "no answer");
}
