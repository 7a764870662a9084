/* console: the report for a person at a terminal or reading a CI log.
 *
 * One line per check with a mark, failures with expected/actual, the offending deliveries and
 * the sender's output, then a summary. Live: the runner's hooks print scenario headers and check
 * lines as they happen and, on a terminal, a progress line rewritten in place with '\r'; finish
 * then adds only the failures and the summary. Without live hooks (console=FILE, or a runner
 * that reports at the end) finish prints everything. Colours only on a terminal with NO_COLOR
 * unset or empty. Everything captured is terminal-escaped (encode_terminal). */
#include <string.h>

#include "mockserver/encode.h"
#include "reporter_priv.h"

#define GREEN "\033[32m"
#define RED "\033[31m"
#define YELLOW "\033[33m"
#define DIM "\033[2m"
#define BOLD "\033[1m"
#define RESET "\033[0m"

static const char *mark(enum check_status st)
{
    switch (st) {
    case CHECK_PASS:
        return "\xe2\x9c\x93"; /* check mark */
    case CHECK_FAIL:
        return "\xe2\x9c\x97"; /* ballot x */
    case CHECK_ERROR:
        return "!";
    case CHECK_SKIP:
        return "-";
    }
    return "?";
}

static const char *colour_of(enum check_status st)
{
    switch (st) {
    case CHECK_PASS:
        return GREEN;
    case CHECK_FAIL:
        return RED;
    case CHECK_ERROR:
        return YELLOW;
    case CHECK_SKIP:
        return DIM;
    }
    return "";
}

/* Append s (NULL: nothing) as one line of terminal-safe text. */
static int esc(struct buf *out, const char *s)
{
    return s ? encode_terminal(out, s, strlen(s), false) : 0;
}

/* Append `text` in colour `c` when colours are on. */
static int paint(const reporter *rp, struct buf *out, const char *c, const char *text)
{
    if (!rp->color)
        return buf_append_str(out, text);
    return buf_printf(out, "%s%s" RESET, c, text);
}

static int scenario_header(const reporter *rp, struct buf *out, const struct result_scenario *s,
                           bool continued)
{
    int r = buf_append_str(out, rp->color ? BOLD : "");
    if (r == 0)
        r = buf_append_str(out, "\xe2\x97\x8f "); /* black circle */
    if (r == 0)
        r = esc(out, s->name);
    if (r == 0)
        r = buf_append_str(out, rp->color ? RESET : "");
    if (r == 0 && s->file && !continued) {
        if ((r = buf_append_str(out, "  (")) == 0 && (r = esc(out, s->file)) == 0)
            r = buf_append_byte(out, ')');
    }
    if (r == 0 && continued)
        r = buf_append_str(out, "  (continued)");
    return r < 0 ? r : buf_append_byte(out, '\n');
}

static int check_line(const reporter *rp, struct buf *out, const struct result_check *c)
{
    int r = buf_append_str(out, "  ");
    if (r == 0)
        r = paint(rp, out, colour_of(c->status), mark(c->status));
    if (r == 0)
        r = buf_append_byte(out, ' ');
    if (r == 0)
        r = esc(out, c->name);
    if (r == 0 && c->step) {
        if ((r = buf_append_str(out, "  [")) == 0 && (r = esc(out, c->step)) == 0)
            r = buf_append_byte(out, ']');
    }
    if (r == 0 && c->status == CHECK_SKIP && c->message) {
        if ((r = buf_append_str(out, "  skipped: ")) == 0)
            r = esc(out, c->message);
    }
    return r < 0 ? r : buf_append_byte(out, '\n');
}

static int scenario_footer(const reporter *rp, struct buf *out, const struct result_scenario *s)
{
    bool failed = scenario_failed(s);
    int r = buf_append_str(out, "  = ");
    if (r == 0)
        r = paint(rp, out, failed ? RED : GREEN, failed ? "FAIL" : "pass");
    if (r == 0 && s->error) {
        if ((r = buf_append_str(out, ": ")) == 0)
            r = esc(out, s->error);
    }
    if (r == 0)
        r = buf_append_str(out, " (");
    if (r == 0)
        r = rep_duration(out, s->duration_ms);
    return r < 0 ? r : buf_append_str(out, ")\n");
}

/* ---- live hooks ---- */

/* Write out and forget it; on a terminal first wipe a progress line that is showing. */
static void emit(reporter *rp, struct buf *out)
{
    if (rp->con.progress_shown) {
        fputs("\r\033[K", rp->f);
        rp->con.progress_shown = false;
    }
    if (out->len)
        fwrite(out->data, 1, out->len, rp->f);
    fflush(rp->f);
    buf_finish(out);
}

static void live_start(reporter *rp, const struct result_scenario *s)
{
    struct buf out;
    buf_init(&out, 0);
    rp->con.live = true;
    if (scenario_header(rp, &out, s, false) == 0)
        rp->con.last_name = s->name;
    emit(rp, &out);
}

static void live_check(reporter *rp, const struct result_scenario *s, const struct result_check *c)
{
    struct buf out;
    buf_init(&out, 0);
    rp->con.live = true;
    int r = 0;
    if (rp->con.last_name != s->name && (r = scenario_header(rp, &out, s, true)) == 0)
        rp->con.last_name = s->name;
    if (r == 0)
        check_line(rp, &out, c);
    emit(rp, &out);
}

static void live_progress(reporter *rp, const struct result_scenario *s, const char *what,
                          long seen, long wanted, double seconds_left)
{
    rp->con.live = true;
    if (!rp->tty)
        return;
    struct buf out;
    buf_init(&out, 512);
    int r = buf_append_str(&out, "\r\033[K  ");
    if (r == 0)
        r = rp->color ? buf_append_str(&out, DIM) : 0;
    if (r == 0 && what) {
        if ((r = esc(&out, what)) == 0)
            r = buf_append_str(&out, ": ");
    }
    if (r == 0)
        r = wanted >= 0 ? buf_printf(&out, "%ld/%ld deliveries", seen, wanted)
                        : buf_printf(&out, "%ld deliveries", seen);
    if (r == 0 && seconds_left >= 0)
        r = buf_printf(&out, ", %.1f s left", seconds_left);
    if (r == 0 && rp->color)
        r = buf_append_str(&out, RESET);
    (void)s;
    if (r == 0) {
        fwrite(out.data, 1, out.len, rp->f);
        fflush(rp->f);
        rp->con.progress_shown = true;
    }
    buf_finish(&out);
}

static void live_end(reporter *rp, const struct result_scenario *s)
{
    struct buf out;
    buf_init(&out, 0);
    rp->con.live = true;
    int r = 0;
    if (rp->con.last_name != s->name && (r = scenario_header(rp, &out, s, true)) == 0)
        rp->con.last_name = s->name;
    if (r == 0)
        scenario_footer(rp, &out, s);
    emit(rp, &out);
}

/* ---- the report at the end ---- */

static int labelled(struct buf *out, const char *label, const char *text)
{
    if (!text)
        return 0;
    int r = buf_printf(out, "    %s", label);
    if (r == 0)
        r = esc(out, text);
    return r < 0 ? r : buf_append_byte(out, '\n');
}

static int failure(const reporter *rp, struct buf *out, const struct result_scenario *s,
                   const struct result_check *c)
{
    int r = check_line(rp, out, c);
    if (r == 0)
        r = labelled(out, "", c->message);
    if (r == 0)
        r = labelled(out, "expected: ", c->expected);
    if (r == 0)
        r = labelled(out, "actual:   ", c->actual);
    if (r == 0 && c->n_delivery_ids) {
        r = buf_append_str(out, "    deliveries:");
        for (size_t i = 0; i < c->n_delivery_ids && r == 0; i++)
            r = buf_printf(out, "%s #%lld", i ? "," : "", (long long)c->delivery_ids[i]);
        if (r == 0)
            r = buf_append_byte(out, '\n');
    }
    for (size_t i = 0; i < c->n_delivery_ids && i < REP_DELIVERIES_MAX && r == 0; i++) {
        const json_t *d = rep_find_delivery(s, c->delivery_ids[i]);
        if (d)
            r = rep_delivery_text(out, d, 6);
    }
    return r;
}

static int output_text(struct buf *out, const struct result_output *o)
{
    int r = buf_append_str(out, "  output of ");
    if (r == 0)
        r = esc(out, o->step ? o->step : "exec");
    if (r == 0)
        r = buf_append_str(out, ": ");
    if (r == 0)
        r = esc(out, o->command);
    if (r == 0)
        r = o->exit_status >= 0 ? buf_printf(out, " (exit %d, ", o->exit_status)
                                : buf_append_str(out, " (killed, ");
    if (r == 0)
        r = rep_duration(out, o->duration_ms);
    if (r == 0)
        r = buf_append_str(out, ")\n");
    if (r == 0 && o->out && *o->out) {
        struct buf tmp;
        buf_init(&tmp, 0);
        r = rep_display(&tmp, o->out, strlen(o->out), REP_OUTPUT_MAX, true);
        /* indent each line by four spaces (blank lines stay blank) */
        size_t start = 0;
        for (size_t i = 0; i <= tmp.len && r == 0; i++) {
            if (i < tmp.len && tmp.data[i] != '\n')
                continue;
            if (i == tmp.len && i == start)
                break;
            if (i > start && (r = buf_append_str(out, "    ")) == 0)
                r = buf_append(out, tmp.data + start, i - start);
            if (r == 0)
                r = buf_append_byte(out, '\n');
            start = i + 1;
        }
        buf_finish(&tmp);
    }
    return r;
}

static int render(reporter *rp, const struct results *r, struct buf *out)
{
    int ret = 0;
    /* a progress line the live hooks left on screen is wiped first */
    if (rp->con.progress_shown) {
        ret = buf_append_str(out, "\r\033[K");
        rp->con.progress_shown = false;
    }
    if (ret == 0 && !rp->con.live) {
        if (r->title) {
            if ((ret = esc(out, r->title)) == 0)
                ret = buf_append_str(out, "\n\n");
        }
        for (size_t i = 0; i < r->n_scenarios && ret == 0; i++) {
            const struct result_scenario *s = &r->scenarios[i];
            ret = scenario_header(rp, out, s, false);
            for (size_t j = 0; j < s->n_checks && ret == 0; j++)
                ret = check_line(rp, out, &s->checks[j]);
            if (ret == 0)
                ret = scenario_footer(rp, out, s);
            if (ret == 0)
                ret = buf_append_byte(out, '\n');
        }
    }

    struct results_totals t;
    results_totals(r, &t);
    if (ret == 0 && t.scenarios_failed) {
        if ((ret = paint(rp, out, BOLD, "Failures")) == 0)
            ret = buf_append_str(out, "\n\n");
        for (size_t i = 0; i < r->n_scenarios && ret == 0; i++) {
            const struct result_scenario *s = &r->scenarios[i];
            if (!scenario_failed(s))
                continue;
            ret = scenario_header(rp, out, s, false);
            if (ret == 0 && s->error) {
                if ((ret = buf_append_str(out, "  ")) == 0 &&
                    (ret = paint(rp, out, RED, "scenario error: ")) == 0 &&
                    (ret = esc(out, s->error)) == 0)
                    ret = buf_append_byte(out, '\n');
            }
            for (size_t j = 0; j < s->n_checks && ret == 0; j++) {
                const struct result_check *c = &s->checks[j];
                if (c->status == CHECK_FAIL || c->status == CHECK_ERROR)
                    ret = failure(rp, out, s, c);
            }
            for (size_t j = 0; j < s->n_outputs && ret == 0; j++)
                ret = output_text(out, &s->outputs[j]);
            if (ret == 0)
                ret = buf_append_byte(out, '\n');
        }
    }

    if (ret == 0)
        ret = paint(rp, out, t.scenarios_failed ? RED : GREEN,
                    t.scenarios_failed ? "FAILED" : "PASSED");
    if (ret == 0)
        ret = buf_printf(out,
                         ": %zu scenario%s (%zu failed); %zu check%s: %zu passed, %zu failed, "
                         "%zu error%s, %zu skipped; ",
                         t.scenarios, t.scenarios == 1 ? "" : "s", t.scenarios_failed, t.checks,
                         t.checks == 1 ? "" : "s", t.passed, t.failed, t.errors,
                         t.errors == 1 ? "" : "s", t.skipped);
    if (ret == 0)
        ret = rep_duration(out, r->duration_ms);
    if (ret == 0)
        ret = buf_append_byte(out, '\n');
    return ret;
}

const struct reporter_ops reporter_console_ops = {
    .name = "console",
    .scenario_start = live_start,
    .check = live_check,
    .progress = live_progress,
    .scenario_end = live_end,
    .render = render,
};
