/* html: one self-contained page for a person: no network, no script, inline CSS.
 *
 * A summary, then each scenario with its checks (expected, actual, links to the deliveries
 * they looked at), a timeline per message (inline SVG: attempts as marks on a time axis,
 * coloured by outcome, labelled with the answer and the interval since the previous attempt,
 * so the backoff shows at a glance), the sender's output and the captured deliveries (headers
 * and body). Everything captured goes through encode_markup (text and attribute values), and a
 * Content-Security-Policy forbids scripts and network loads should anything slip through. */
#include <string.h>

#include "mockserver/encode.h"
#include "reporter_priv.h"

#define HTML_BODY_MAX 65536        /* bytes of a body shown */
#define HTML_HEADER_VALUE_MAX 8192 /* bytes of one header value shown */
#define HTML_OUTPUT_MAX 65536      /* bytes of an exec output shown (the end is kept) */

/* Timeline geometry, in SVG user units. */
#define TL_WIDTH 760
#define TL_HEIGHT 116
#define TL_LEFT 56
#define TL_RIGHT 72
#define TL_AXIS_Y 62

static const char css[] =
    "body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;"
    "color:#1d1d1f;background:#fafafa}"
    "header,main,footer{max-width:1100px;margin:0 auto;padding:0 20px}"
    "h1{font-size:22px;margin:20px 0 8px}h2{font-size:18px;margin:0 0 6px}"
    "h3{font-size:15px;margin:18px 0 6px}"
    "code,pre{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}"
    "pre{background:#f1f1f1;border:1px solid #ddd;padding:8px;overflow:auto;max-height:420px;"
    "white-space:pre-wrap;word-break:break-all}"
    ".verdict{display:inline-block;font-weight:600;padding:2px 10px;border-radius:4px;color:#fff}"
    ".pass .verdict,.verdict.pass,.badge.pass{background:#2e7d32}"
    ".fail .verdict,.verdict.fail,.badge.fail{background:#c62828}"
    ".badge{display:inline-block;color:#fff;font-size:12px;padding:1px 7px;border-radius:3px;"
    "vertical-align:middle}"
    "table{border-collapse:collapse}th,td{text-align:left;vertical-align:top;padding:3px 8px}"
    ".summary th{font-weight:500;color:#555}"
    "nav ul{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:6px}"
    "nav a{text-decoration:none;padding:2px 8px;border-radius:3px;border:1px solid #ccc;"
    "color:inherit}nav a.fail{border-color:#c62828;color:#c62828}"
    ".scenario{background:#fff;border:1px solid #ddd;border-left:5px solid #2e7d32;"
    "border-radius:4px;padding:14px 18px;margin:16px 0}"
    ".scenario.fail{border-left-color:#c62828}"
    ".file,.description{color:#555;margin:2px 0}"
    ".scenario-error{color:#c62828;font-weight:600}"
    ".checks{width:100%}.checks td,.checks th{border-top:1px solid #eee}"
    ".mark{font-weight:700;width:1.5em}"
    "tr.pass .mark{color:#2e7d32}tr.fail .mark{color:#c62828}"
    "tr.error .mark{color:#e65100}tr.skip{color:#777}"
    "dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 10px;margin:6px 0}"
    "dt{color:#555}dd{margin:0}"
    "details{margin:6px 0}summary{cursor:pointer}"
    ".headers th{font-weight:500;white-space:nowrap}.headers td{word-break:break-all}"
    "figure{margin:10px 0}figcaption{color:#333;margin-bottom:4px}"
    "svg{max-width:100%;height:auto;background:#fff;border:1px solid #eee}"
    "svg text{font:11px system-ui,sans-serif;fill:#333}"
    ".ok{fill:#2e7d32}.bad{fill:#c62828}.fault{fill:#757575}.other{fill:#f9a825}"
    "footer{color:#777;padding:20px}";

static int text(struct buf *out, const char *s)
{
    return s ? encode_markup(out, s, strlen(s), false) : 0;
}

static int textn(struct buf *out, const char *s, size_t len)
{
    return encode_markup(out, s, len, false);
}

static int attrv(struct buf *out, const char *s)
{
    return s ? encode_markup(out, s, strlen(s), true) : 0;
}

/* Up to max bytes of s (the start, or with keep_end the end), cut at a character boundary,
 * escaped, with a note of what was left out. */
static int shortened(struct buf *out, const char *s, size_t len, size_t max, bool keep_end)
{
    if (len <= max)
        return textn(out, s, len);
    const unsigned char *p = (const unsigned char *)s;
    int r;
    if (keep_end) {
        size_t start = len - max;
        for (int k = 0; k < 3 && start < len && (p[start] & 0xC0) == 0x80; k++)
            start++;
        if ((r = buf_printf(out, "[... %zu bytes left out ...]\n", start)) < 0)
            return r;
        return textn(out, s + start, len - start);
    }
    size_t n = max;
    for (int k = 0; k < 3 && n > 0 && (p[n] & 0xC0) == 0x80; k++)
        n--;
    if ((r = textn(out, s, n)) < 0)
        return r;
    return buf_printf(out, "\n[... %zu more bytes]", len - n);
}

static const char *status_class(enum check_status st)
{
    return check_status_name(st);
}

static const char *mark(enum check_status st)
{
    switch (st) {
    case CHECK_PASS:
        return "&#10003;";
    case CHECK_FAIL:
        return "&#10007;";
    case CHECK_ERROR:
        return "!";
    case CHECK_SKIP:
        return "&#8211;";
    }
    return "?";
}

/* The class of an attempt's mark: 2xx ok, 4xx/5xx bad, a fault grey, anything else other. */
static const char *outcome_class(const struct result_attempt *a)
{
    if (a->fault)
        return "fault";
    if (a->status >= 200 && a->status < 300)
        return "ok";
    if (a->status >= 400)
        return "bad";
    return "other";
}

/* An attempt's answer as label text (escaped): "503", "reset", "no answer". */
static int answer(struct buf *out, const struct result_attempt *a)
{
    if (a->fault)
        return text(out, a->fault);
    if (a->status > 0)
        return buf_printf(out, "%d", a->status);
    return buf_append_str(out, "no answer");
}

static int timeline(struct buf *out, const struct result_message *m)
{
    if (!m->n_attempts)
        return buf_append_str(out, "<p>No attempts.</p>\n");
    int64_t first = m->attempts[0].received_us, last = first;
    for (size_t i = 0; i < m->n_attempts; i++) {
        if (m->attempts[i].received_us < first)
            first = m->attempts[i].received_us;
        if (m->attempts[i].received_us > last)
            last = m->attempts[i].received_us;
    }
    double span_ms = (double)(last - first) / 1000;
    double usable = TL_WIDTH - TL_LEFT - TL_RIGHT;
    int r =
        buf_printf(out,
                   "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
                   "width=\"%d\" height=\"%d\" role=\"img\" aria-label=\"attempts over time\">\n"
                   "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#999\"/>\n",
                   TL_WIDTH, TL_HEIGHT, TL_WIDTH, TL_HEIGHT, TL_LEFT, TL_AXIS_Y,
                   TL_WIDTH - TL_RIGHT, TL_AXIS_Y);
    /* the axis: 0 at the first attempt, the span at the end */
    if (r == 0)
        r = buf_printf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">0</text>\n", TL_LEFT,
                       TL_HEIGHT - 6);
    if (r == 0 && m->n_attempts > 1) {
        if ((r = buf_printf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">",
                            TL_WIDTH - TL_RIGHT, TL_HEIGHT - 6)) == 0 &&
            (r = rep_duration(out, span_ms)) == 0)
            r = buf_append_str(out, "</text>\n");
    }
    double prev_x = 0;
    for (size_t i = 0; i < m->n_attempts && r == 0; i++) {
        const struct result_attempt *a = &m->attempts[i];
        double t = (double)(a->received_us - first) / 1000;
        double x = TL_LEFT + (span_ms > 0 ? usable * t / span_ms : 0);
        /* the interval since the previous attempt, below the axis between the two marks */
        if (i > 0) {
            double gap = (double)(a->received_us - m->attempts[i - 1].received_us) / 1000;
            if ((r = buf_printf(out,
                                "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
                                "stroke=\"#bbb\" stroke-dasharray=\"2 2\"/>\n"
                                "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">+",
                                prev_x, TL_AXIS_Y + 14, x, TL_AXIS_Y + 14, (prev_x + x) / 2,
                                TL_AXIS_Y + (i % 2 ? 28 : 40))) == 0 &&
                (r = rep_duration(out, gap)) == 0)
                r = buf_append_str(out, "</text>\n");
        }
        /* the mark, with a tooltip, and its answer above it */
        if (r == 0)
            r = buf_printf(out,
                           "<circle cx=\"%.1f\" cy=\"%d\" r=\"7\" class=\"%s\"><title>#%lld at +",
                           x, TL_AXIS_Y, outcome_class(a), (long long)a->delivery_id);
        if (r == 0)
            r = rep_duration(out, t);
        if (r == 0)
            r = buf_append_str(out, ": ");
        if (r == 0)
            r = answer(out, a);
        if (r == 0 && a->delay_ms > 0)
            r = buf_printf(out, " after a scripted delay of %lld ms", (long long)a->delay_ms);
        if (r == 0)
            r = buf_printf(out,
                           "</title></circle>\n<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">",
                           x, TL_AXIS_Y - (i % 2 ? 30 : 16));
        if (r == 0)
            r = answer(out, a);
        if (r == 0 && a->delay_ms > 0) {
            if ((r = buf_append_str(out, " (")) == 0 &&
                (r = rep_duration(out, (double)a->delay_ms)) == 0)
                r = buf_append_str(out, " delay)");
        }
        if (r == 0)
            r = buf_append_str(out, "</text>\n");
        prev_x = x;
    }
    return r < 0 ? r : buf_append_str(out, "</svg>\n");
}

static int message_figure(struct buf *out, const struct result_message *m)
{
    int r = buf_append_str(out, "<figure class=\"message\"><figcaption><strong>");
    if (r == 0)
        r = m->endpoint ? text(out, m->endpoint) : buf_append_str(out, "(catch-all)");
    if (r == 0)
        r = buf_append_str(out, "</strong> &#183; message <code>");
    if (r == 0)
        r = text(out, m->key);
    if (r == 0)
        r = buf_printf(out, "</code> &#183; %zu attempt%s &#183; %s", m->n_attempts,
                       m->n_attempts == 1 ? "" : "s", m->delivered ? "delivered" : "not delivered");
    if (r == 0 && m->n_attempts > 1) {
        r = buf_append_str(out, " &#183; intervals ");
        for (size_t i = 1; i < m->n_attempts && r == 0; i++) {
            if (i > 1 && (r = buf_append_str(out, ", ")) < 0)
                break;
            r = rep_duration(
                out, (double)(m->attempts[i].received_us - m->attempts[i - 1].received_us) / 1000);
        }
    }
    if (r == 0)
        r = buf_append_str(out, "</figcaption>\n");
    if (r == 0)
        r = timeline(out, m);
    return r < 0 ? r : buf_append_str(out, "</figure>\n");
}

static int check_row(struct buf *out, size_t si, const struct result_scenario *s,
                     const struct result_check *c)
{
    int r = buf_printf(out, "<tr class=\"%s\"><td class=\"mark\" title=\"%s\">%s</td><td>",
                       status_class(c->status), check_status_name(c->status), mark(c->status));
    if (r == 0)
        r = text(out, c->name);
    if (r == 0)
        r = buf_append_str(out, "</td><td>");
    if (r == 0)
        r = text(out, c->step);
    if (r == 0)
        r = buf_append_str(out, "</td><td>");
    if (r == 0)
        r = text(out, c->message);
    if (r == 0 && (c->expected || c->actual || c->n_delivery_ids)) {
        r = buf_append_str(out, "<dl>");
        if (r == 0 && c->expected) {
            if ((r = buf_append_str(out, "<dt>expected</dt><dd><code>")) == 0 &&
                (r = text(out, c->expected)) == 0)
                r = buf_append_str(out, "</code></dd>");
        }
        if (r == 0 && c->actual) {
            if ((r = buf_append_str(out, "<dt>actual</dt><dd><code>")) == 0 &&
                (r = text(out, c->actual)) == 0)
                r = buf_append_str(out, "</code></dd>");
        }
        if (r == 0 && c->n_delivery_ids) {
            r = buf_append_str(out, "<dt>deliveries</dt><dd>");
            for (size_t i = 0; i < c->n_delivery_ids && r == 0; i++) {
                long long id = (long long)c->delivery_ids[i];
                r = rep_find_delivery(s, c->delivery_ids[i])
                        ? buf_printf(out, "%s<a href=\"#s%zu-d%lld\">#%lld</a>", i ? ", " : "", si,
                                     id, id)
                        : buf_printf(out, "%s#%lld", i ? ", " : "", id);
            }
            if (r == 0)
                r = buf_append_str(out, "</dd>");
        }
        if (r == 0)
            r = buf_append_str(out, "</dl>");
    }
    if (r == 0)
        r = buf_append_str(out, "</td><td>");
    if (r == 0)
        r = rep_duration(out, c->duration_ms);
    return r < 0 ? r : buf_append_str(out, "</td></tr>\n");
}

static int output_block(struct buf *out, const struct result_output *o, bool open)
{
    int r = buf_printf(out, "<details%s><summary>", open ? " open" : "");
    if (r == 0)
        r = text(out, o->step ? o->step : "exec");
    if (r == 0)
        r = buf_append_str(out, ": <code>");
    if (r == 0)
        r = text(out, o->command);
    if (r == 0)
        r = o->exit_status >= 0 ? buf_printf(out, "</code> &#8212; exit %d, ", o->exit_status)
                                : buf_append_str(out, "</code> &#8212; killed, ");
    if (r == 0)
        r = rep_duration(out, o->duration_ms);
    if (r == 0)
        r = buf_append_str(out, "</summary>");
    if (r == 0 && (!o->out || !*o->out))
        return buf_append_str(out, "<p>No output.</p></details>\n");
    if (r == 0)
        r = buf_append_str(out, "<pre>");
    if (r == 0)
        r = shortened(out, o->out, strlen(o->out), HTML_OUTPUT_MAX, true);
    return r < 0 ? r : buf_append_str(out, "</pre></details>\n");
}

/* A string member as escaped text, shortened. */
static int member(struct buf *out, const json_t *v, size_t max)
{
    if (!json_is_string(v))
        return 0;
    return shortened(out, json_string_value(v), json_string_length(v), max, false);
}

static int delivery_block(struct buf *out, size_t si, const json_t *d)
{
    long long id = (long long)json_integer_value(json_object_get(d, "id"));
    int r = buf_printf(out, "<details id=\"s%zu-d%lld\"><summary><code>#%lld ", si, id, id);
    if (r == 0)
        r = member(out, json_object_get(d, "method"), 64);
    if (r == 0)
        r = buf_append_byte(out, ' ');
    if (r == 0)
        r = member(out, json_object_get(d, "path"), 1024);
    const json_t *q = json_object_get(d, "query");
    if (r == 0 && json_string_length(q) > 0) {
        if ((r = buf_append_byte(out, '?')) == 0)
            r = member(out, q, 1024);
    }
    const json_t *st = json_object_get(json_object_get(d, "response"), "status");
    if (r == 0)
        r = json_is_integer(st)
                ? buf_printf(out, " &#8594; %lld", (long long)json_integer_value(st))
                : buf_append_str(out, " &#8594; fault");
    if (r == 0)
        r = buf_append_str(out, "</code> &#183; ");
    if (r == 0)
        r = member(out, json_object_get(d, "received_at"), 64);
    const json_t *sig = json_object_get(d, "signature");
    const char *sst = json_string_value(json_object_get(sig, "status"));
    if (r == 0 && sst && strcmp(sst, "not_configured") != 0) {
        if ((r = buf_append_str(out, " &#183; signature ")) == 0)
            r = member(out, json_object_get(sig, "status"), 64);
    }
    if (r == 0)
        r = buf_append_str(out, "</summary>\n<table class=\"headers\">\n");
    size_t i;
    const json_t *pair;
    json_array_foreach(json_object_get(d, "headers"), i, pair)
    {
        if (r < 0)
            break;
        if ((r = buf_append_str(out, "<tr><th>")) == 0 &&
            (r = member(out, json_array_get(pair, 0), 1024)) == 0 &&
            (r = buf_append_str(out, "</th><td>")) == 0 &&
            (r = member(out, json_array_get(pair, 1), HTML_HEADER_VALUE_MAX)) == 0)
            r = buf_append_str(out, "</td></tr>\n");
    }
    if (r == 0)
        r = buf_append_str(out, "</table>\n");
    if (r == 0 && sst && strcmp(sst, "not_configured") != 0) {
        if ((r = buf_append_str(out, "<p>signature <strong>")) == 0 &&
            (r = member(out, json_object_get(sig, "status"), 64)) == 0 &&
            (r = buf_append_str(out, "</strong>: ")) == 0 &&
            (r = member(out, json_object_get(sig, "reason"), 1024)) == 0)
            r = buf_append_str(out, "</p>\n");
    }
    const json_t *sch = json_object_get(d, "schema");
    const char *cst = json_string_value(json_object_get(sch, "status"));
    if (r == 0 && cst && strcmp(cst, "not_configured") != 0) {
        if ((r = buf_append_str(out, "<p>schema <strong>")) == 0 &&
            (r = member(out, json_object_get(sch, "status"), 64)) == 0)
            r = buf_append_str(out, "</strong>");
        const json_t *e;
        size_t k;
        json_array_foreach(json_object_get(sch, "errors"), k, e)
        {
            if (r < 0)
                break;
            if ((r = buf_append_str(out, k ? "; <code>" : ": <code>")) == 0 &&
                (r = member(out, json_object_get(e, "pointer"), 512)) == 0 &&
                (r = buf_append_str(out, "</code> ")) == 0)
                r = member(out, json_object_get(e, "message"), 1024);
        }
        if (r == 0)
            r = buf_append_str(out, "</p>\n");
    }
    const json_t *body = json_object_get(d, "body");
    const json_t *b64 = json_object_get(d, "body_base64");
    if (r == 0)
        r = buf_printf(out, "<p>body, %lld bytes%s%s</p>\n",
                       (long long)json_integer_value(json_object_get(d, "body_size")),
                       json_is_true(json_object_get(d, "truncated")) ? ", truncated" : "",
                       json_is_string(b64) ? ", not UTF-8, shown as base64" : "");
    if (r == 0 && (json_string_length(body) > 0 || json_string_length(b64) > 0)) {
        if ((r = buf_append_str(out, "<pre>")) == 0)
            r = member(out, json_is_string(body) ? body : b64, HTML_BODY_MAX);
        if (r == 0)
            r = buf_append_str(out, "</pre>\n");
    }
    return r < 0 ? r : buf_append_str(out, "</details>\n");
}

static int scenario_section(struct buf *out, size_t si, const struct result_scenario *s)
{
    bool failed = scenario_failed(s);
    int r = buf_printf(out,
                       "<section id=\"s%zu\" class=\"scenario %s\">\n<h2><span class=\"badge "
                       "%s\">%s</span> ",
                       si, failed ? "fail" : "pass", failed ? "fail" : "pass",
                       failed ? "FAIL" : "PASS");
    if (r == 0)
        r = text(out, s->name);
    if (r == 0)
        r = buf_append_str(out, "</h2>\n<p class=\"file\">");
    if (r == 0 && s->file) {
        if ((r = buf_append_str(out, "<code>")) == 0 && (r = text(out, s->file)) == 0)
            r = buf_append_str(out, "</code> &#183; ");
    }
    if (r == 0)
        r = rep_time(out, s->started_us, false);
    if (r == 0)
        r = buf_append_str(out, " &#183; ");
    if (r == 0)
        r = rep_duration(out, s->duration_ms);
    if (r == 0)
        r = buf_append_str(out, "</p>\n");
    if (r == 0 && s->description) {
        if ((r = buf_append_str(out, "<p class=\"description\">")) == 0 &&
            (r = text(out, s->description)) == 0)
            r = buf_append_str(out, "</p>\n");
    }
    if (r == 0 && s->error) {
        if ((r = buf_append_str(out, "<p class=\"scenario-error\">scenario error: ")) == 0 &&
            (r = text(out, s->error)) == 0)
            r = buf_append_str(out, "</p>\n");
    }
    if (r == 0 && s->n_checks) {
        r = buf_append_str(out, "<table class=\"checks\">\n<thead><tr><th></th><th>check</th>"
                                "<th>step</th><th>result</th><th>time</th></tr></thead>\n"
                                "<tbody>\n");
        for (size_t i = 0; i < s->n_checks && r == 0; i++)
            r = check_row(out, si, s, &s->checks[i]);
        if (r == 0)
            r = buf_append_str(out, "</tbody>\n</table>\n");
    }
    if (r == 0 && s->n_messages) {
        r = buf_append_str(out, "<h3>Messages</h3>\n");
        for (size_t i = 0; i < s->n_messages && r == 0; i++)
            r = message_figure(out, &s->messages[i]);
    }
    if (r == 0 && s->n_outputs) {
        r = buf_append_str(out, "<h3>Sender output</h3>\n");
        for (size_t i = 0; i < s->n_outputs && r == 0; i++)
            r = output_block(out, &s->outputs[i], failed);
    }
    if (r == 0 && json_array_size(s->deliveries)) {
        r = buf_printf(out, "<h3>Deliveries (%zu)</h3>\n", json_array_size(s->deliveries));
        size_t i;
        const json_t *d;
        json_array_foreach(s->deliveries, i, d)
        {
            if (r < 0)
                break;
            r = delivery_block(out, si, d);
        }
    }
    return r < 0 ? r : buf_append_str(out, "</section>\n");
}

static int render(reporter *rp, const struct results *r, struct buf *out)
{
    (void)rp;
    struct results_totals t;
    results_totals(r, &t);
    const char *title = r->title ? r->title : "webhooky";
    int ret = buf_append_str(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
                                  "<meta charset=\"utf-8\">\n"
                                  "<meta name=\"viewport\" content=\"width=device-width, "
                                  "initial-scale=1\">\n"
                                  "<meta http-equiv=\"Content-Security-Policy\" "
                                  "content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
                                  "<title>");
    if (ret == 0)
        ret = text(out, title);
    if (ret == 0)
        ret = buf_printf(out, " &#8212; %s</title>\n<style>%s</style>\n</head>\n<body>\n",
                         t.scenarios_failed ? "FAILED" : "passed", css);
    if (ret == 0)
        ret = buf_printf(out, "<header class=\"%s\">\n<h1>", t.scenarios_failed ? "fail" : "pass");
    if (ret == 0)
        ret = text(out, title);
    if (ret == 0)
        ret =
            buf_printf(out,
                       "</h1>\n<p><span class=\"verdict\">%s</span></p>\n"
                       "<table class=\"summary\">\n"
                       "<tr><th>scenarios</th><td>%zu (%zu failed)</td></tr>\n"
                       "<tr><th>checks</th><td>%zu: %zu passed, %zu failed, %zu error%s, "
                       "%zu skipped</td></tr>\n<tr><th>started</th><td>",
                       t.scenarios_failed ? "FAILED" : "PASSED", t.scenarios, t.scenarios_failed,
                       t.checks, t.passed, t.failed, t.errors, t.errors == 1 ? "" : "s", t.skipped);
    if (ret == 0)
        ret = rep_time(out, r->started_us, false);
    if (ret == 0)
        ret = buf_append_str(out, "</td></tr>\n<tr><th>duration</th><td>");
    if (ret == 0)
        ret = rep_duration(out, r->duration_ms);
    if (ret == 0)
        ret = buf_append_str(out, "</td></tr>\n</table>\n<nav><ul>\n");
    for (size_t i = 0; i < r->n_scenarios && ret == 0; i++) {
        const struct result_scenario *s = &r->scenarios[i];
        if ((ret = buf_printf(out, "<li><a href=\"#s%zu\" class=\"%s\" title=\"", i,
                              scenario_failed(s) ? "fail" : "pass")) == 0 &&
            (ret = attrv(out, s->file)) == 0 && (ret = buf_append_str(out, "\">")) == 0 &&
            (ret = text(out, s->name)) == 0)
            ret = buf_append_str(out, "</a></li>\n");
    }
    if (ret == 0)
        ret = buf_append_str(out, "</ul></nav>\n</header>\n<main>\n");
    for (size_t i = 0; i < r->n_scenarios && ret == 0; i++)
        ret = scenario_section(out, i, &r->scenarios[i]);
    if (ret == 0)
        ret = buf_append_str(out, "</main>\n<footer>Written by webhooky.</footer>\n</body>\n"
                                  "</html>\n");
    return ret;
}

const struct reporter_ops reporter_html_ops = {
    .name = "html",
    .render = render,
};
