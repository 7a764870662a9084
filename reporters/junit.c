/* junit: JUnit XML as Jenkins (junit and xunit plugins), GitLab and GitHub test-report actions
 * read it.
 *
 * <testsuites> holds one <testsuite> per scenario and one <testcase> per check (classname: the
 * scenario's name); a failing check carries <failure message type>, a check that could not run
 * <error>, a skipped one <skipped/>; a scenario-level error becomes one more testcase with an
 * <error>. The sender's output goes into the suite's <system-out>. Only the elements and
 * attributes of the Jenkins schema (tests/reporters/jenkins-junit.xsd) are written. Every text
 * and attribute value goes through encode_markup, so the file is well-formed whatever was
 * captured. */
#include <string.h>

#include "mockserver/encode.h"
#include "reporter_priv.h"

static int text(struct buf *out, const char *s)
{
    return s ? encode_markup(out, s, strlen(s), false) : 0;
}

static int attr(struct buf *out, const char *name, const char *value)
{
    int r = buf_printf(out, " %s=\"", name);
    if (r == 0 && value)
        r = encode_markup(out, value, strlen(value), true);
    return r < 0 ? r : buf_append_byte(out, '"');
}

/* Seconds with millisecond precision, as the schema's time pattern wants ("12.345"). */
static int seconds(struct buf *out, const char *name, double ms)
{
    if (!(ms >= 0))
        ms = 0;
    return buf_printf(out, " %s=\"%.3f\"", name, ms / 1000);
}

/* The body of a <failure> or <error>: the message, expected and actual, where, and the
 * deliveries the check looked at. */
static int details(struct buf *out, const struct result_scenario *s, const struct result_check *c)
{
    struct buf tmp;
    buf_init(&tmp, 0);
    int r = 0;
    if (c->message && (r = buf_append_str(&tmp, c->message)) == 0)
        r = buf_append_byte(&tmp, '\n');
    if (r == 0 && c->expected)
        r = buf_printf(&tmp, "expected: %s\n", c->expected);
    if (r == 0 && c->actual)
        r = buf_printf(&tmp, "actual:   %s\n", c->actual);
    if (r == 0 && c->step)
        r = buf_printf(&tmp, "step:     %s\n", c->step);
    if (r == 0 && c->n_delivery_ids) {
        r = buf_append_str(&tmp, "deliveries:");
        for (size_t i = 0; i < c->n_delivery_ids && r == 0; i++)
            r = buf_printf(&tmp, "%s #%lld", i ? "," : "", (long long)c->delivery_ids[i]);
        if (r == 0)
            r = buf_append_byte(&tmp, '\n');
    }
    for (size_t i = 0; i < c->n_delivery_ids && i < REP_DELIVERIES_MAX && r == 0; i++) {
        const json_t *d = rep_find_delivery(s, c->delivery_ids[i]);
        if (d && (r = buf_append_byte(&tmp, '\n')) == 0)
            r = rep_delivery_text(&tmp, d, 0);
    }
    if (r == 0)
        r = encode_markup(out, tmp.data ? tmp.data : "", tmp.len, false);
    buf_finish(&tmp);
    return r;
}

static int testcase(struct buf *out, const struct result_scenario *s, const struct result_check *c)
{
    int r = buf_append_str(out, "    <testcase");
    if (r == 0)
        r = attr(out, "name", c->name);
    if (r == 0)
        r = attr(out, "classname", s->name);
    if (r == 0)
        r = seconds(out, "time", c->duration_ms);
    if (r < 0)
        return r;
    switch (c->status) {
    case CHECK_PASS:
        return buf_append_str(out, "/>\n");
    case CHECK_SKIP:
        if ((r = buf_append_str(out, ">\n      <skipped")) == 0 && c->message)
            r = attr(out, "message", c->message);
        return r < 0 ? r : buf_append_str(out, "/>\n    </testcase>\n");
    case CHECK_FAIL:
    case CHECK_ERROR:
        break;
    }
    const char *el = c->status == CHECK_FAIL ? "failure" : "error";
    if ((r = buf_printf(out, ">\n      <%s", el)) == 0)
        r = attr(out, "message", c->message ? c->message : c->name);
    if (r == 0)
        r = attr(out, "type", c->status == CHECK_FAIL ? "CheckFailed" : "CheckError");
    if (r == 0)
        r = buf_append_byte(out, '>');
    if (r == 0)
        r = details(out, s, c);
    return r < 0 ? r : buf_printf(out, "</%s>\n    </testcase>\n", el);
}

static int system_out(struct buf *out, const struct result_scenario *s)
{
    if (!s->n_outputs)
        return 0;
    int r = buf_append_str(out, "    <system-out>");
    for (size_t i = 0; i < s->n_outputs && r == 0; i++) {
        const struct result_output *o = &s->outputs[i];
        if ((r = buf_append_str(out, i ? "\n$ " : "$ ")) == 0 && (r = text(out, o->command)) == 0 &&
            (r = buf_append_str(out, "  [")) == 0 &&
            (r = text(out, o->step ? o->step : "exec")) == 0)
            r = o->exit_status >= 0 ? buf_printf(out, ", exit %d, ", o->exit_status)
                                    : buf_append_str(out, ", killed, ");
        if (r == 0)
            r = rep_duration(out, o->duration_ms);
        if (r == 0)
            r = buf_append_str(out, "]\n");
        if (r == 0)
            r = text(out, o->out);
    }
    return r < 0 ? r : buf_append_str(out, "</system-out>\n");
}

static int testsuite(struct buf *out, const struct result_scenario *s, size_t index)
{
    size_t failures = 0, errors = 0, skipped = 0;
    for (size_t i = 0; i < s->n_checks; i++) {
        failures += s->checks[i].status == CHECK_FAIL;
        errors += s->checks[i].status == CHECK_ERROR;
        skipped += s->checks[i].status == CHECK_SKIP;
    }
    size_t tests = s->n_checks + (s->error != NULL);
    errors += s->error != NULL;
    int r = buf_append_str(out, "  <testsuite");
    if (r == 0)
        r = attr(out, "name", s->name);
    if (r == 0)
        r = buf_printf(out, " tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\"", tests,
                       failures, errors, skipped);
    if (r == 0)
        r = seconds(out, "time", s->duration_ms);
    if (r == 0)
        r = buf_append_str(out, " timestamp=\"");
    if (r == 0)
        r = rep_time(out, s->started_us, false);
    if (r == 0)
        r = buf_printf(out, "\" id=\"%zu\"", index);
    if (r == 0 && s->file)
        r = attr(out, "file", s->file);
    if (r == 0)
        r = buf_append_str(out, ">\n");
    if (r == 0 && (s->file || s->description)) {
        r = buf_append_str(out, "    <properties>\n");
        if (r == 0 && s->file) {
            if ((r = buf_append_str(out, "      <property name=\"file\"")) == 0 &&
                (r = attr(out, "value", s->file)) == 0)
                r = buf_append_str(out, "/>\n");
        }
        if (r == 0 && s->description) {
            if ((r = buf_append_str(out, "      <property name=\"description\"")) == 0 &&
                (r = attr(out, "value", s->description)) == 0)
                r = buf_append_str(out, "/>\n");
        }
        if (r == 0)
            r = buf_append_str(out, "    </properties>\n");
    }
    for (size_t i = 0; i < s->n_checks && r == 0; i++)
        r = testcase(out, s, &s->checks[i]);
    if (r == 0 && s->error) {
        if ((r = buf_append_str(out, "    <testcase name=\"scenario\"")) == 0 &&
            (r = attr(out, "classname", s->name)) == 0 &&
            (r = buf_append_str(out, " time=\"0.000\">\n      <error")) == 0 &&
            (r = attr(out, "message", s->error)) == 0 &&
            (r = buf_append_str(out, " type=\"ScenarioError\">")) == 0 &&
            (r = text(out, s->error)) == 0)
            r = buf_append_str(out, "</error>\n    </testcase>\n");
    }
    if (r == 0)
        r = system_out(out, s);
    return r < 0 ? r : buf_append_str(out, "  </testsuite>\n");
}

static int render(reporter *rp, const struct results *r, struct buf *out)
{
    struct results_totals t;
    results_totals(r, &t);
    int ret = buf_append_str(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites");
    if (ret == 0)
        ret = attr(out, "name", r->title ? r->title : "webhooky");
    size_t scenario_errors = 0;
    for (size_t i = 0; i < r->n_scenarios; i++)
        scenario_errors += r->scenarios[i].error != NULL;
    if (ret == 0)
        ret = buf_printf(out, " tests=\"%zu\" failures=\"%zu\" errors=\"%zu\"",
                         t.checks + scenario_errors, t.failed, t.errors + scenario_errors);
    if (ret == 0)
        ret = seconds(out, "time", r->duration_ms);
    if (ret == 0)
        ret = buf_append_str(out, ">\n");
    for (size_t i = 0; i < r->n_scenarios && ret == 0; i++)
        ret = testsuite(out, &r->scenarios[i], i);
    (void)rp;
    return ret < 0 ? ret : buf_append_str(out, "</testsuites>\n");
}

const struct reporter_ops reporter_junit_ops = {
    .name = "junit",
    .render = render,
};
