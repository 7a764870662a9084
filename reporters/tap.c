/* tap: the Test Anything Protocol, version 14.
 *
 * One subtest per scenario ("# Subtest: NAME", indented four spaces, its own plan), one test
 * point per check, the scenario's own line after it; a check that is not ok carries a YAML
 * diagnostics block (message, severity, step, expected, actual, deliveries, the first
 * delivery), a skipped one "# SKIP reason". A scenario error is one more failing test point in
 * its subtest. The sender's output of a failing scenario follows as comments.
 *
 * Harnesses older than TAP 14 (Test::Harness before 3.48, as in Debian 12) reject the version
 * line "TAP version 14" even though the rest reads as TAP 13; they set TAP_VERSION=13 in the
 * environment of what they run, and with TAP_VERSION=13 the reporter writes "TAP version 13"
 * and otherwise the same stream.
 *
 * Descriptions are one line of terminal-safe text with '#' escaped as "\#" (backslashes are
 * already doubled); YAML values are double-quoted JSON strings, printable only. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mockserver/encode.h"
#include "reporter_priv.h"

/* Append a test point description: one line, no control characters, '#' escaped. */
static int description(struct buf *out, const char *s)
{
    if (!s)
        return 0;
    struct buf tmp;
    buf_init(&tmp, 0);
    int r = encode_terminal(&tmp, s, strlen(s), false);
    for (size_t i = 0; i < tmp.len && r == 0; i++)
        r = tmp.data[i] == '#' ? buf_append_str(out, "\\#") : buf_append_byte(out, tmp.data[i]);
    buf_finish(&tmp);
    return r;
}

/* Append `  key: "value"\n` at indent; the value as a JSON string that is printable YAML. */
static int yaml_str(struct buf *out, int indent, const char *key, const char *value, size_t len)
{
    json_t *v = encode_json_string(value, len);
    char *dump = v ? json_dumps(v, JSON_ENCODE_ANY) : NULL;
    json_decref(v);
    if (!dump)
        return -ENOMEM;
    int r = buf_printf(out, "%*s%s: ", indent, "", key);
    if (r == 0)
        r = encode_terminal_json(out, dump, strlen(dump));
    free(dump);
    return r < 0 ? r : buf_append_byte(out, '\n');
}

static int yaml_opt(struct buf *out, int indent, const char *key, const char *value)
{
    return value ? yaml_str(out, indent, key, value, strlen(value)) : 0;
}

static int diagnostics(struct buf *out, int indent, const struct result_scenario *s,
                       const struct result_check *c)
{
    int r = buf_printf(out, "%*s---\n", indent, "");
    if (r == 0)
        r = yaml_opt(out, indent, "message", c->message);
    if (r == 0)
        r = buf_printf(out, "%*sseverity: %s\n", indent, "",
                       c->status == CHECK_FAIL ? "fail" : "error");
    if (r == 0)
        r = yaml_opt(out, indent, "step", c->step);
    if (r == 0)
        r = yaml_opt(out, indent, "expected", c->expected);
    if (r == 0)
        r = yaml_opt(out, indent, "actual", c->actual);
    if (r == 0 && c->n_delivery_ids) {
        r = buf_printf(out, "%*sdeliveries: [", indent, "");
        for (size_t i = 0; i < c->n_delivery_ids && r == 0; i++)
            r = buf_printf(out, "%s%lld", i ? ", " : "", (long long)c->delivery_ids[i]);
        if (r == 0)
            r = buf_append_str(out, "]\n");
        const json_t *d = rep_find_delivery(s, c->delivery_ids[0]);
        if (r == 0 && d) {
            struct buf tmp;
            buf_init(&tmp, 0);
            r = rep_delivery_text(&tmp, d, 0);
            if (r == 0)
                r = yaml_str(out, indent, "delivery", tmp.data, tmp.len);
            buf_finish(&tmp);
        }
    }
    if (r == 0 && c->duration_ms > 0)
        r = buf_printf(out, "%*sduration_ms: %.3f\n", indent, "", c->duration_ms);
    return r < 0 ? r : buf_printf(out, "%*s...\n", indent, "");
}

/* The sender's output as comment lines at indent. */
static int output_comments(struct buf *out, int indent, const struct result_output *o)
{
    struct buf tmp;
    buf_init(&tmp, 0);
    int r = buf_printf(out, "%*s# output of ", indent, "");
    if (r == 0)
        r = encode_terminal(out, o->step ? o->step : "exec", strlen(o->step ? o->step : "exec"),
                            false);
    if (r == 0)
        r = buf_append_str(out, ": ");
    if (r == 0 && o->command)
        r = encode_terminal(out, o->command, strlen(o->command), false);
    if (r == 0)
        r = o->exit_status >= 0 ? buf_printf(out, " (exit %d)\n", o->exit_status)
                                : buf_append_str(out, " (killed)\n");
    if (r == 0 && o->out)
        r = rep_display(&tmp, o->out, strlen(o->out), REP_OUTPUT_MAX, true);
    size_t start = 0;
    for (size_t i = 0; i <= tmp.len && r == 0; i++) {
        if (i < tmp.len && tmp.data[i] != '\n')
            continue;
        if (i == tmp.len && i == start)
            break;
        /* tabs are fine in a comment; nothing else is left that could end it */
        if ((r = buf_printf(out, "%*s#   ", indent, "")) == 0)
            r = buf_append(out, tmp.data + start, i - start);
        if (r == 0)
            r = buf_append_byte(out, '\n');
        start = i + 1;
    }
    buf_finish(&tmp);
    return r;
}

static int subtest(struct buf *out, const struct result_scenario *s, size_t number)
{
    int r = buf_append_str(out, "# Subtest: ");
    if (r == 0)
        r = description(out, s->name);
    if (r == 0)
        r = buf_append_byte(out, '\n');
    size_t plan = s->n_checks + (s->error != NULL);
    if (r == 0)
        r = plan ? buf_printf(out, "    1..%zu\n", plan) : buf_append_str(out, "    1..0\n");
    for (size_t i = 0; i < s->n_checks && r == 0; i++) {
        const struct result_check *c = &s->checks[i];
        bool ok = c->status == CHECK_PASS || c->status == CHECK_SKIP;
        if ((r = buf_printf(out, "    %s %zu - ", ok ? "ok" : "not ok", i + 1)) == 0)
            r = description(out, c->name);
        if (r == 0 && c->status == CHECK_SKIP) {
            if ((r = buf_append_str(out, " # SKIP")) == 0 && c->message) {
                if ((r = buf_append_byte(out, ' ')) == 0)
                    r = description(out, c->message);
            }
        }
        if (r == 0)
            r = buf_append_byte(out, '\n');
        if (r == 0 && !ok)
            r = diagnostics(out, 6, s, c);
    }
    if (r == 0 && s->error) {
        if ((r = buf_printf(out, "    not ok %zu - scenario\n", s->n_checks + 1)) == 0 &&
            (r = buf_append_str(out, "      ---\n")) == 0 &&
            (r = yaml_str(out, 6, "message", s->error, strlen(s->error))) == 0)
            r = buf_append_str(out, "      severity: error\n      ...\n");
    }
    bool failed = scenario_failed(s);
    for (size_t i = 0; failed && i < s->n_outputs && r == 0; i++)
        r = output_comments(out, 4, &s->outputs[i]);
    if (r == 0)
        r = buf_printf(out, "%s %zu - ", failed ? "not ok" : "ok", number);
    if (r == 0)
        r = description(out, s->name);
    if (r == 0 && !plan)
        r = buf_append_str(out, " # SKIP no checks");
    if (r == 0 && s->file) {
        /* where the scenario came from, for a reader of a failing line */
        if (failed && (r = buf_append_str(out, "\n  ---\n")) == 0 &&
            (r = yaml_str(out, 2, "file", s->file, strlen(s->file))) == 0)
            r = buf_append_str(out, "  ...");
    }
    return r < 0 ? r : buf_append_byte(out, '\n');
}

static int render(reporter *rp, const struct results *r, struct buf *out)
{
    int ret = buf_printf(out, "TAP version %d\n1..%zu\n", rp->tap_version, r->n_scenarios);
    if (ret == 0 && r->title) {
        if ((ret = buf_append_str(out, "# ")) == 0 &&
            (ret = encode_terminal(out, r->title, strlen(r->title), false)) == 0)
            ret = buf_append_byte(out, '\n');
    }
    for (size_t i = 0; i < r->n_scenarios && ret == 0; i++)
        ret = subtest(out, &r->scenarios[i], i + 1);
    return ret;
}

const struct reporter_ops reporter_tap_ops = {
    .name = "tap",
    .render = render,
};
