/* Unit tests for script: every rule field in JSON, the shorthand and its error positions, JSON
 * errors with their pointers, the canonical JSON round trip, selection (times, repeat, cycle,
 * match, scope), per-message attempts and their bounded memory, delays, and threads. */
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "regex.h"
#include "script.h"
#include "unit.h"

static script *shorthand(const char *spec)
{
    script *s = NULL;
    struct wh_error err = {0};
    int rc = script_parse_shorthand(spec, &s, &err);
    ck_assert_msg(rc == 0, "%s: %s", spec, err.msg);
    return s;
}

static script *from_json(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    ck_assert_msg(v != NULL, "%s: %s", text, jerr.text);
    script *s = NULL;
    struct wh_error err = {0};
    char ptr[128] = "";
    int rc = script_parse_json(v, &s, ptr, sizeof(ptr), &err);
    ck_assert_msg(rc == 0, "%s: %s: %s", text, ptr, err.msg);
    json_decref(v);
    return s;
}

/* The shorthand's error message. */
static void bad_spec(const char *spec, const char *want)
{
    script *s = NULL;
    struct wh_error err = {0};
    ck_assert_int_eq(script_parse_shorthand(spec, &s, &err), -EINVAL);
    ck_assert_ptr_null(s);
    ck_assert_msg(strcmp(err.msg, want) == 0, "spec \"%s\":\n got  %s\n want %s", spec, err.msg,
                  want);
}

/* A JSON error: its pointer, and the start of its message. */
static void bad_json(const char *text, const char *want_ptr, const char *want_msg)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    ck_assert_msg(v != NULL, "%s: %s", text, jerr.text);
    script *s = NULL;
    struct wh_error err = {0};
    char ptr[128] = "unset";
    ck_assert_int_eq(script_parse_json(v, &s, ptr, sizeof(ptr), &err), -EINVAL);
    ck_assert_ptr_null(s);
    ck_assert_msg(strcmp(ptr, want_ptr) == 0, "%s: pointer \"%s\", want \"%s\" (%s)", text, ptr,
                  want_ptr, err.msg);
    ck_assert_msg(strncmp(err.msg, want_msg, strlen(want_msg)) == 0, "%s:\n got  %s\n want %s...",
                  text, err.msg, want_msg);
    json_decref(v);
}

#define HEAD_EXPECTED                                                                              \
    "expected a status (100 to 599) or a fault (reset, close, hang, dribble, partial, malformed)"
#define SUFFIX_EXPECTED "expected 'x', '[', '@', '/', ',' or the end"

static void round_trip(script *s)
{
    json_t *j = script_to_json(s);
    ck_assert_ptr_nonnull(j);
    script *again = NULL;
    struct wh_error err = {0};
    char ptr[128] = "";
    char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    ck_assert_msg(script_parse_json(j, &again, ptr, sizeof(ptr), &err) == 0, "%s: %s: %s", text,
                  ptr, err.msg);
    json_t *j2 = script_to_json(again);
    char *text2 = json_dumps(j2, JSON_COMPACT | JSON_SORT_KEYS);
    ck_assert_msg(json_equal(j, j2), "\n%s\n%s", text, text2);
    ck_assert_uint_eq(again->n_rules, s->n_rules);
    ck_assert(again->cycle == s->cycle && again->has_seed == s->has_seed && again->seed == s->seed);
    for (size_t i = 0; i < s->n_rules; i++) {
        const struct script_rule *a = &s->rules[i], *b = &again->rules[i];
        ck_assert_int_eq(a->status, b->status);
        ck_assert_int_eq(a->times, b->times);
        ck_assert_int_eq(a->fault, b->fault);
        ck_assert_int_eq(a->scope, b->scope);
        ck_assert_int_eq(a->delay, b->delay);
        ck_assert(a->delay_a == b->delay_a && a->delay_b == b->delay_b);
        ck_assert_int_eq(a->hang_max_ms, b->hang_max_ms);
        ck_assert_int_eq(a->dribble_ms, b->dribble_ms);
        ck_assert_uint_eq(a->n_headers, b->n_headers);
        ck_assert_uint_eq(a->n_match, b->n_match);
        ck_assert_uint_eq(a->body_len, b->body_len);
        ck_assert((a->body == NULL) == (b->body == NULL));
        if (a->body)
            ck_assert_mem_eq(a->body, b->body, a->body_len);
    }
    free(text);
    free(text2);
    json_decref(j);
    json_decref(j2);
    script_unref(again);
}

/* ---- parsing ---- */

START_TEST(test_json_every_field)
{
    script *s = from_json(
        "[{\"status\": 429, \"headers\": {\"Retry-After\": \"2\", \"X-A\": \"b c\"},"
        "  \"body\": \"slow down\", \"delay_ms\": 150, \"times\": 3, \"scope\": \"message\","
        "  \"match\": {\"event\": \"person.created\", \"headers\": {\"X-Env\": {\"regex\": "
        "\"^prod\"}},"
        "             \"body\": {\"/data/id\": {\"equals\": 7}, \"/name\": \"x\"}}},"
        " {\"fault\": \"hang\", \"hang_max_ms\": 5000, \"delay_ms\": {\"min\": 10, \"max\": 20}},"
        " {\"fault\": \"dribble\", \"dribble_ms\": 700, \"body\": {\"ok\": true},"
        "  \"delay_ms\": {\"median\": 100, \"sigma\": 0.5}}]");
    ck_assert_uint_eq(s->n_rules, 3);
    ck_assert(!s->cycle);
    ck_assert(!s->has_seed);
    const struct script_rule *r = &s->rules[0];
    ck_assert_int_eq(r->status, 429);
    ck_assert_uint_eq(r->n_headers, 2);
    ck_assert_str_eq(r->headers[0].name, "Retry-After");
    ck_assert_str_eq(r->headers[0].value, "2");
    ck_assert_str_eq(r->headers[1].name, "X-A");
    ck_assert_str_eq(r->headers[1].value, "b c");
    ck_assert_str_eq(r->body, "slow down");
    ck_assert_uint_eq(r->body_len, 9);
    ck_assert_int_eq(r->delay, DELAY_FIXED);
    ck_assert(r->delay_a == 150);
    ck_assert_int_eq(r->fault, FAULT_NONE);
    ck_assert_int_eq(r->times, 3);
    ck_assert_int_eq(r->scope, SCOPE_MESSAGE);
    ck_assert_int_eq(r->hang_max_ms, 120000);
    ck_assert_int_eq(r->dribble_ms, 2000);
    ck_assert_uint_eq(r->n_match, 4);
    ck_assert_int_eq(r->match[0].on, MATCH_EVENT);
    ck_assert_ptr_null(r->match[0].key);
    ck_assert_str_eq(json_string_value(r->match[0].equals), "person.created");
    ck_assert_int_eq(r->match[1].on, MATCH_HEADER);
    ck_assert_str_eq(r->match[1].key, "X-Env");
    ck_assert_ptr_nonnull(r->match[1].regex);
    ck_assert_ptr_null(r->match[1].equals);
    ck_assert_str_eq(regex_source(r->match[1].regex), "^prod");
    ck_assert_int_eq(r->match[2].on, MATCH_BODY);
    ck_assert_str_eq(r->match[2].key, "/data/id");
    ck_assert_int_eq(json_integer_value(r->match[2].equals), 7);
    ck_assert_str_eq(r->match[3].key, "/name");
    ck_assert_str_eq(json_string_value(r->match[3].equals), "x");

    r = &s->rules[1];
    ck_assert_int_eq(r->fault, FAULT_HANG);
    ck_assert_int_eq(r->status, 0); /* a hang sends nothing */
    ck_assert_int_eq(r->hang_max_ms, 5000);
    ck_assert_int_eq(r->delay, DELAY_UNIFORM);
    ck_assert(r->delay_a == 10 && r->delay_b == 20);
    ck_assert_int_eq(r->times, 1); /* not the last: once */
    ck_assert_int_eq(r->scope, SCOPE_ENDPOINT);
    ck_assert_ptr_null(r->body);

    r = &s->rules[2];
    ck_assert_int_eq(r->fault, FAULT_DRIBBLE);
    ck_assert_int_eq(r->status, 200);
    ck_assert_int_eq(r->dribble_ms, 700);
    ck_assert_str_eq(r->body, "{\"ok\":true}");
    ck_assert_int_eq(r->delay, DELAY_LOGNORMAL);
    ck_assert(r->delay_a == 100 && r->delay_b == 0.5);
    ck_assert_int_eq(r->times, 0); /* the last: unlimited */
    script_unref(s);
}
END_TEST

START_TEST(test_json_forms_and_defaults)
{
    script *s = from_json("\"503x2,200\"");
    ck_assert_uint_eq(s->n_rules, 2);
    ck_assert_int_eq(s->rules[0].times, 2);
    script_unref(s);

    s = from_json("{\"rules\": [{\"status\": 201}, {}], \"cycle\": true, \"seed\": 42}");
    ck_assert(s->cycle);
    ck_assert(s->has_seed);
    ck_assert_uint_eq(s->seed, 42);
    ck_assert_int_eq(s->rules[0].status, 201);
    ck_assert_int_eq(s->rules[1].status, 200); /* the default answer */
    ck_assert_int_eq(s->rules[1].times, 1);    /* with cycle, the last answers once too */
    script_unref(s);

    s = from_json("{\"rules\": \"503,200\", \"cycle\": true}");
    ck_assert(s->cycle);
    ck_assert_int_eq(s->rules[1].times, 1);
    script_unref(s);

    s = from_json("{\"rules\": \"cycle:503,200\"}");
    ck_assert(s->cycle);
    script_unref(s);

    /* faults: reset, close, hang, malformed send no status unless given one */
    s = from_json("[{\"fault\": \"reset\"}, {\"fault\": \"close\", \"status\": 503},"
                  " {\"fault\": \"partial\"}, {\"fault\": \"malformed\"}, {\"body\": null}]");
    ck_assert_int_eq(s->rules[0].status, 0);
    ck_assert_int_eq(s->rules[0].fault, FAULT_RESET);
    ck_assert_int_eq(s->rules[1].status, 503);
    ck_assert_int_eq(s->rules[1].fault, FAULT_CLOSE);
    ck_assert_int_eq(s->rules[2].status, 200);
    ck_assert_int_eq(s->rules[2].fault, FAULT_PARTIAL);
    ck_assert_int_eq(s->rules[3].status, 0);
    ck_assert_int_eq(s->rules[3].fault, FAULT_MALFORMED);
    ck_assert_str_eq(s->rules[4].body, "null");
    script_unref(s);
}
END_TEST

START_TEST(test_fault_names)
{
    ck_assert_str_eq(script_fault_name(FAULT_NONE), "");
    ck_assert_str_eq(script_fault_name(FAULT_RESET), "reset");
    ck_assert_str_eq(script_fault_name(FAULT_CLOSE), "close");
    ck_assert_str_eq(script_fault_name(FAULT_HANG), "hang");
    ck_assert_str_eq(script_fault_name(FAULT_DRIBBLE), "dribble");
    ck_assert_str_eq(script_fault_name(FAULT_PARTIAL), "partial");
    ck_assert_str_eq(script_fault_name(FAULT_MALFORMED), "malformed");
}
END_TEST

START_TEST(test_shorthand_examples)
{
    script *s = shorthand("503x2,200");
    ck_assert_uint_eq(s->n_rules, 2);
    ck_assert_int_eq(s->rules[0].status, 503);
    ck_assert_int_eq(s->rules[0].times, 2);
    ck_assert_int_eq(s->rules[1].status, 200);
    ck_assert_int_eq(s->rules[1].times, 0);
    ck_assert(!s->cycle);
    script_unref(s);

    s = shorthand("429x1[Retry-After=2],200");
    ck_assert_int_eq(s->rules[0].status, 429);
    ck_assert_int_eq(s->rules[0].times, 1);
    ck_assert_uint_eq(s->rules[0].n_headers, 1);
    ck_assert_str_eq(s->rules[0].headers[0].name, "Retry-After");
    ck_assert_str_eq(s->rules[0].headers[0].value, "2");
    script_unref(s);

    s = shorthand("200@150ms");
    ck_assert_uint_eq(s->n_rules, 1);
    ck_assert_int_eq(s->rules[0].delay, DELAY_FIXED);
    ck_assert(s->rules[0].delay_a == 150);
    ck_assert_int_eq(s->rules[0].times, 0);
    script_unref(s);

    s = shorthand("reset,200");
    ck_assert_int_eq(s->rules[0].fault, FAULT_RESET);
    ck_assert_int_eq(s->rules[0].status, 0);
    ck_assert_int_eq(s->rules[0].times, 1);
    ck_assert_int_eq(s->rules[1].status, 200);
    script_unref(s);

    s = shorthand("410");
    ck_assert_uint_eq(s->n_rules, 1);
    ck_assert_int_eq(s->rules[0].status, 410);
    ck_assert_int_eq(s->rules[0].fault, FAULT_NONE);
    ck_assert_ptr_null(s->rules[0].body);
    script_unref(s);

    s = shorthand("cycle:503,200");
    ck_assert(s->cycle);
    ck_assert_int_eq(s->rules[0].times, 1);
    ck_assert_int_eq(s->rules[1].times, 1);
    script_unref(s);

    s = shorthand("503x2/message,200");
    ck_assert_int_eq(s->rules[0].scope, SCOPE_MESSAGE);
    ck_assert_int_eq(s->rules[1].scope, SCOPE_ENDPOINT);
    script_unref(s);

    s = shorthand("200@100-300ms");
    ck_assert_int_eq(s->rules[0].delay, DELAY_UNIFORM);
    ck_assert(s->rules[0].delay_a == 100 && s->rules[0].delay_b == 300);
    script_unref(s);

    s = shorthand("200@150ms~0.5");
    ck_assert_int_eq(s->rules[0].delay, DELAY_LOGNORMAL);
    ck_assert(s->rules[0].delay_a == 150 && s->rules[0].delay_b == 0.5);
    script_unref(s);

    s = shorthand("hang:30s");
    ck_assert_int_eq(s->rules[0].fault, FAULT_HANG);
    ck_assert_int_eq(s->rules[0].hang_max_ms, 30000);
    ck_assert_int_eq(s->rules[0].status, 0);
    script_unref(s);

    s = shorthand("dribble:5s");
    ck_assert_int_eq(s->rules[0].fault, FAULT_DRIBBLE);
    ck_assert_int_eq(s->rules[0].dribble_ms, 5000);
    ck_assert_int_eq(s->rules[0].status, 200);
    script_unref(s);

    s = shorthand("200[Content-Type=text/plain;X-A=b]");
    ck_assert_uint_eq(s->rules[0].n_headers, 2);
    ck_assert_str_eq(s->rules[0].headers[0].name, "Content-Type");
    ck_assert_str_eq(s->rules[0].headers[0].value, "text/plain");
    ck_assert_str_eq(s->rules[0].headers[1].name, "X-A");
    ck_assert_str_eq(s->rules[0].headers[1].value, "b");
    script_unref(s);
}
END_TEST

START_TEST(test_shorthand_details)
{
    /* whitespace around items and between parts */
    script *s = shorthand("  503 x2 , 429 [ Retry-After = 2 ] @ 1.5s / message ,\t200  ");
    ck_assert_uint_eq(s->n_rules, 3);
    ck_assert_int_eq(s->rules[0].times, 2);
    ck_assert_str_eq(s->rules[1].headers[0].name, "Retry-After");
    ck_assert_str_eq(s->rules[1].headers[0].value, "2");
    ck_assert(s->rules[1].delay_a == 1500);
    ck_assert_int_eq(s->rules[1].scope, SCOPE_MESSAGE);
    ck_assert_int_eq(s->rules[1].times, 1);
    ck_assert_int_eq(s->rules[2].times, 0);
    script_unref(s);

    /* units: bare is ms; a bare minimum takes the maximum's unit; fractions */
    s = shorthand("200@250,200@1-2s,200@0.3s,200@2s~1,partial,malformedx3,closex2");
    ck_assert(s->rules[0].delay_a == 250);
    ck_assert(s->rules[1].delay_a == 1000 && s->rules[1].delay_b == 2000);
    ck_assert(s->rules[2].delay_a == 300);
    ck_assert(s->rules[3].delay_a == 2000 && s->rules[3].delay_b == 1);
    ck_assert_int_eq(s->rules[4].fault, FAULT_PARTIAL);
    ck_assert_int_eq(s->rules[4].status, 200);
    ck_assert_int_eq(s->rules[5].fault, FAULT_MALFORMED);
    ck_assert_int_eq(s->rules[5].times, 3);
    ck_assert_int_eq(s->rules[6].fault, FAULT_CLOSE);
    ck_assert_int_eq(s->rules[6].times, 2);
    script_unref(s);

    /* a fault duration with the suffixes after it; the last item with x keeps its times */
    s = shorthand("hang:1500msx2,dribble:250/endpoint,503x4");
    ck_assert_int_eq(s->rules[0].hang_max_ms, 1500);
    ck_assert_int_eq(s->rules[0].times, 2);
    ck_assert_int_eq(s->rules[1].dribble_ms, 250);
    ck_assert_int_eq(s->rules[2].times, 4);
    script_unref(s);

    /* a header value keeps '=' and inner spaces; several header groups add up */
    s = shorthand("200[X-U=caf\xc3\xa9]");
    ck_assert_str_eq(s->rules[0].headers[0].value, "caf\xc3\xa9");
    round_trip(s);
    script_unref(s);

    s = shorthand("200[X-Q=a=b c][Y=]");
    ck_assert_str_eq(s->rules[0].headers[0].value, "a=b c");
    ck_assert_str_eq(s->rules[0].headers[1].name, "Y");
    ck_assert_str_eq(s->rules[0].headers[1].value, "");
    script_unref(s);
}
END_TEST

START_TEST(test_shorthand_errors)
{
    bad_spec("", "position 1: " HEAD_EXPECTED ", found the end");
    bad_spec("   ", "position 4: " HEAD_EXPECTED ", found the end");
    bad_spec("200,x", "position 5: " HEAD_EXPECTED ", found 'x'");
    bad_spec("abc", "position 1: " HEAD_EXPECTED ", found 'abc'");
    bad_spec("99", "position 1: " HEAD_EXPECTED ", found '99'");
    bad_spec("600", "position 1: " HEAD_EXPECTED ", found '600'");
    bad_spec("2000", "position 1: " HEAD_EXPECTED ", found '2000'");
    bad_spec("503,,200", "position 5: " HEAD_EXPECTED ", found ','");
    bad_spec("503,", "position 5: " HEAD_EXPECTED ", found the end");
    bad_spec("rest,200", "position 1: " HEAD_EXPECTED ", found 'rest'");
    bad_spec("503x", "position 5: expected a number of times (1 to 1000000000), found the end");
    bad_spec("503x0", "position 5: expected a number of times (1 to 1000000000), found '0'");
    bad_spec("503x99999999999",
             "position 5: expected a number of times (1 to 1000000000), found '99999999999'");
    bad_spec("503x2x3", "position 6: expected one 'x' per item, found a second 'x'");
    bad_spec("503y", "position 4: " SUFFIX_EXPECTED ", found 'y'");
    bad_spec("503 200", "position 5: " SUFFIX_EXPECTED ", found '200'");
    bad_spec("reset:5s",
             "position 6: " SUFFIX_EXPECTED " (only hang and dribble take a duration), found ':'");
    bad_spec("hang:0",
             "position 6: expected a hang time from 1 ms to 3600000 ms (whole milliseconds), "
             "found '0'");
    bad_spec("hang:", "position 6: expected a hang time from 1 ms to 3600000 ms, found the end");
    bad_spec("dribble:601s",
             "position 9: expected a dribble time from 1 ms to 600000 ms (whole milliseconds), "
             "found '601s'");
    bad_spec("200[Retry-After 2]", "position 17: expected '=' after the header name, found '2'");
    bad_spec("200[]", "position 5: expected a header name, found ']'");
    bad_spec("200[A=1", "position 8: expected ';' or ']' after the header value, found the end");
    bad_spec("200[A=1;]", "position 9: expected a header name, found ']'");
    bad_spec("200[A=1;a=2]",
             "position 9: expected each header once, found a header given twice (names are "
             "case-insensitive)");
    bad_spec("200@", "position 5: expected a delay (150ms, 2s, 100-300ms or 150ms~0.5), found the "
                     "end");
    bad_spec("200@5h", "position 6: expected a unit (ms or s), found 'h'");
    bad_spec("200@4000s", "position 5: expected a delay from 0 to 3600000 ms, found '4000s'");
    bad_spec("200@300-100",
             "position 9: expected a maximum delay of at least the minimum (300 ms), found '100'");
    bad_spec("200@1-", "position 7: expected a delay from 0 to 3600000 ms, found the end");
    bad_spec("200@150ms~11", "position 11: expected a sigma from 0 to 10, found '11'");
    bad_spec("200@150ms~", "position 11: expected a sigma from 0 to 10, found the end");
    bad_spec("200@1@2", "position 6: expected one delay per item, found a second '@'");
    bad_spec("200/msg", "position 5: expected a scope (message or endpoint), found 'msg'");
    bad_spec("200/message/message", "position 12: expected one scope per item, found a second '/'");
    bad_spec("cycle 503", "position 7: expected ':' after cycle, found '503'");
    bad_spec("cycle:", "position 7: " HEAD_EXPECTED ", found the end");
    bad_spec("200\x01", "position 4: " SUFFIX_EXPECTED ", found '\\x01'");
    /* header values are UTF-8, and positions count characters */
    bad_spec("200[X-A=\xff]", "position 9: expected a header value in UTF-8, found '\\xff'");
    bad_spec("200[X-A=caf\xc3\xa9]y", "position 14: " SUFFIX_EXPECTED ", found 'y'");
}
END_TEST

START_TEST(test_shorthand_nul_and_limits)
{
    script *s = NULL;
    struct wh_error err = {0};
    ck_assert_int_eq(script_parse_text("200\0x", 5, &s, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "position 4: " SUFFIX_EXPECTED ", found '\\x00'");

    char big[256 * 4 + 16];
    size_t o = 0;
    for (int i = 0; i < 257; i++)
        o += (size_t)snprintf(big + o, sizeof(big) - o, "%s200", i ? "," : "");
    ck_assert_int_eq(script_parse_shorthand(big, &s, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "position 1025: expected at most 256 items, found more");
    big[1023] = '\0'; /* 256 items */
    s = shorthand(big);
    ck_assert_uint_eq(s->n_rules, 256);
    script_unref(s);
}
END_TEST

START_TEST(test_json_errors)
{
    bad_json("42", "", "must be a shorthand string, a list of rules or an object with \"rules\"");
    bad_json("\"503x\"", "", "position 5: expected a number of times");
    bad_json("[]", "", "must have at least one rule");
    bad_json("[3]", "/0", "must be a rule object");
    bad_json("[{\"status\": 99}]", "/0/status", "must be an integer from 100 to 599");
    bad_json("[{\"status\": \"200\"}]", "/0/status", "must be an integer from 100 to 599");
    bad_json("[{\"status\": 200}, {\"delay_ms\": {\"min\": 5, \"max\": 1}}]", "/1/delay_ms/min",
             "must not be larger than \"max\" (1)");
    bad_json("[{\"delay_ms\": -1}]", "/0/delay_ms",
             "must be a number of milliseconds from 0 to 3600000");
    bad_json("[{\"delay_ms\": {\"min\": 1}}]", "/0/delay_ms", "needs both \"min\" and \"max\"");
    bad_json("[{\"delay_ms\": {\"min\": 1, \"max\": 5000000}}]", "/0/delay_ms/max",
             "must be a number of milliseconds from 0 to 3600000");
    bad_json("[{\"delay_ms\": {\"median\": 100, \"sigma\": 11}}]", "/0/delay_ms/sigma",
             "must be a number from 0 to 10");
    bad_json("[{\"delay_ms\": {\"median\": 100, \"max\": 1}}]", "/0/delay_ms/median",
             "cannot be combined with \"max\"");
    bad_json("[{\"delay_ms\": {\"mean\": 100}}]", "/0/delay_ms/mean", "unknown key \"mean\"");
    bad_json("[{\"delay_ms\": \"1s\"}]", "/0/delay_ms", "must be a number of milliseconds, {");
    bad_json("{\"rules\": [{\"bogus\": 1}]}", "/rules/0/bogus",
             "unknown key \"bogus\" (known keys: status, headers, body, delay_ms, fault, "
             "hang_max_ms, dribble_ms, times, scope, match)");
    bad_json("{\"rules\": \"503x\"}", "/rules",
             "position 5: expected a number of times (1 to 1000000000), found the end");
    bad_json("{\"rules\": []}", "/rules", "must have at least one rule");
    bad_json("{\"rules\": 5}", "/rules", "must be a list of rules or a shorthand string");
    bad_json("{\"cycle\": true}", "", "\"rules\" is missing");
    bad_json("{\"rules\": \"200\", \"cycle\": 1}", "/cycle", "must be true or false");
    bad_json("{\"rules\": \"200\", \"seed\": 1.5}", "/seed", "must be an integer");
    bad_json("{\"rules\": \"cycle:503,200\", \"cycle\": false}", "/cycle",
             "is false but the shorthand starts with \"cycle:\"");
    bad_json("{\"rules\": \"200\", \"loop\": true}", "/loop",
             "unknown key \"loop\" (known keys: rules, cycle, seed)");
    bad_json("[{\"headers\": {\"X-A\": \"a\\nb\"}}]", "/0/headers/X-A",
             "must not contain CR, LF or NUL");
    bad_json("[{\"headers\": {\"X-A\": \"a\\u0000b\"}}]", "/0/headers/X-A",
             "must not contain CR, LF or NUL");
    bad_json("[{\"headers\": {\"bad name\": \"x\"}}]", "/0/headers/bad name",
             "\"bad name\" is not a valid header name");
    bad_json("[{\"headers\": {\"X-A\": 1}}]", "/0/headers/X-A", "must be a string");
    bad_json("[{\"headers\": {\"X-A\": \"1\", \"x-a\": \"2\"}}]", "/0/headers/x-a",
             "header \"x-a\" is given twice");
    bad_json("[{\"headers\": []}]", "/0/headers", "must be an object");
    bad_json("[{\"fault\": \"explode\"}]", "/0/fault",
             "must be one of reset, close, hang, dribble, partial, malformed");
    bad_json("[{\"times\": 0}]", "/0/times", "must be an integer from 1 to 1000000000");
    bad_json("[{\"hang_max_ms\": 0}]", "/0/hang_max_ms", "must be an integer from 1 to 3600000");
    bad_json("[{\"hang_max_ms\": 3600001}]", "/0/hang_max_ms",
             "must be an integer from 1 to 3600000");
    bad_json("[{\"dribble_ms\": 600001}]", "/0/dribble_ms", "must be an integer from 1 to 600000");
    bad_json("[{\"scope\": \"global\"}]", "/0/scope", "must be \"endpoint\" or \"message\"");
    bad_json("[{\"match\": []}]", "/0/match", "must be an object with");
    bad_json("[{\"match\": {\"path\": \"/x\"}}]", "/0/match/path",
             "unknown key \"path\" (known keys: event, headers, body)");
    bad_json("[{\"match\": {\"event\": {\"equals\": 5}}}]", "/0/match/event/equals",
             "must be a string (event names are text)");
    bad_json("[{\"match\": {\"headers\": {\"X-A\": {\"equals\": true}}}}]",
             "/0/match/headers/X-A/equals", "must be a string (header values are text)");
    bad_json("[{\"match\": {\"headers\": {\"X A\": \"x\"}}}]", "/0/match/headers/X A",
             "\"X A\" is not a valid header name");
    bad_json("[{\"match\": {\"event\": 5}}]", "/0/match/event",
             "must be a string, {\"equals\": value} or {\"regex\": pattern}");
    bad_json("[{\"match\": {\"event\": {\"equals\": \"a\", \"regex\": \"b\"}}}]", "/0/match/event",
             "must be a string, {\"equals\": value} or {\"regex\": pattern}");
    bad_json("[{\"match\": {\"body\": {\"a\": \"x\"}}}]", "/0/match/body/a",
             "\"a\" is not a valid JSON pointer");
    bad_json("[{\"match\": {\"body\": {\"/a~2\": \"x\"}}}]", "/0/match/body/~1a~02",
             "\"/a~2\" is not a valid JSON pointer");
    bad_json("[{\"match\": {\"body\": {\"/a/b\": {\"regex\": \"(\"}}}}]",
             "/0/match/body/~1a~1b/regex",
             "invalid regular expression at offset 1: missing closing parenthesis");
    bad_json("[{\"match\": {\"body\": {\"/a\": {\"regex\": \"a\\u0000\"}}}}]",
             "/0/match/body/~1a/regex", "must not contain a NUL character");
    bad_json("[{\"match\": {\"body\": {\"/a\": {\"regex\": 5}}}}]", "/0/match/body/~1a/regex",
             "must be a string (a PCRE2 pattern)");
    bad_json("[{\"match\": {\"body\": {\"/a\": {\"regexp\": \"x\"}}}}]", "/0/match/body/~1a",
             "must be a string, {\"equals\": value} or {\"regex\": pattern}");
}
END_TEST

START_TEST(test_parse_text)
{
    script *s = NULL;
    struct wh_error err = {0};
    const char *t = "410";
    ck_assert_int_eq(script_parse_text(t, strlen(t), &s, &err), 0);
    ck_assert_int_eq(s->rules[0].status, 410);
    script_unref(s);

    t = " [{\"status\": 202, \"times\": 2}, {\"fault\": \"reset\"}] ";
    ck_assert_int_eq(script_parse_text(t, strlen(t), &s, &err), 0);
    ck_assert_int_eq(s->rules[0].status, 202);
    ck_assert_int_eq(s->rules[1].fault, FAULT_RESET);
    script_unref(s);

    t = "\"cycle:503,200\"";
    ck_assert_int_eq(script_parse_text(t, strlen(t), &s, &err), 0);
    ck_assert(s->cycle);
    script_unref(s);

    t = "503x2,200";
    ck_assert_int_eq(script_parse_text(t, strlen(t), &s, &err), 0);
    ck_assert_uint_eq(s->n_rules, 2);
    script_unref(s);

    t = "[{\"status\": 200},]";
    ck_assert_int_eq(script_parse_text(t, strlen(t), &s, &err), -EINVAL);
    ck_assert_msg(strncmp(err.msg, "invalid JSON at line 1, column", 30) == 0, "%s", err.msg);

    t = "{\"rules\": [{\"status\": 1}]}";
    ck_assert_int_eq(script_parse_text(t, strlen(t), &s, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "/rules/0/status: must be an integer from 100 to 599");

    t = "{\"rules\": \"200\", \"rules\": \"201\"}";
    ck_assert_int_eq(script_parse_text(t, strlen(t), &s, &err), -EINVAL);
    ck_assert_msg(strstr(err.msg, "duplicate") != NULL, "%s", err.msg);

    t = "true";
    ck_assert_int_eq(script_parse_text(t, strlen(t), &s, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "position 1: " HEAD_EXPECTED ", found 'true'");
}
END_TEST

/* ---- canonical JSON ---- */

START_TEST(test_to_json_round_trip)
{
    static const char *const specs[] = {
        "503x2,200",
        "429x1[Retry-After=2],200",
        "200@150ms",
        "reset,200",
        "410",
        "cycle:503,200",
        "503x2/message,200",
        "200@100-300ms",
        "200@150ms~0.5",
        "hang:30s",
        "dribble:5s",
        "200[Content-Type=text/plain;X-A=b]",
        "close,partial,malformed,200@0.25",
        "cycle:503x3/message,hang:1s,200",
    };
    for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
        script *s = shorthand(specs[i]);
        round_trip(s);
        script_unref(s);
    }
    script *s = from_json(
        "{\"rules\": [{\"status\": 429, \"headers\": {\"Retry-After\": \"2\"}, \"body\": {\"a\": "
        "[1, 2]}, \"delay_ms\": 12.5, \"times\": 2, \"scope\": \"message\", \"match\": {\"event\": "
        "\"e\", \"headers\": {\"X-A\": {\"regex\": \"^a\"}, \"X-B\": {\"equals\": \"b\"}}, "
        "\"body\": {\"/x\": {\"equals\": {\"y\": null}}, \"/s\": {\"regex\": \"\\\\d+\"}}}},"
        " {\"fault\": \"reset\", \"status\": 500}, {\"fault\": \"hang\", \"hang_max_ms\": 10},"
        " {\"body\": \"a\\u0000b\", \"delay_ms\": {\"median\": 3, \"sigma\": 0}}],"
        " \"cycle\": false, \"seed\": -5}");
    round_trip(s);
    json_t *j = script_to_json(s);
    json_t *r0 = json_array_get(json_object_get(j, "rules"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(r0, "body")), "{\"a\":[1,2]}");
    ck_assert(json_real_value(json_object_get(r0, "delay_ms")) == 12.5);
    json_t *m = json_object_get(r0, "match");
    ck_assert_str_eq(json_string_value(json_object_get(m, "event")), "e");
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_object_get(json_object_get(m, "headers"), "X-A"), "regex")),
                     "^a");
    ck_assert_int_eq(json_integer_value(json_object_get(j, "seed")), -5);
    json_t *r3 = json_array_get(json_object_get(j, "rules"), 3);
    ck_assert_uint_eq(json_string_length(json_object_get(r3, "body")), 3);
    ck_assert_ptr_null(json_object_get(r3, "times")); /* the last: unlimited */
    json_t *r1 = json_array_get(json_object_get(j, "rules"), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(r1, "times")), 1);
    json_decref(j);
    script_unref(s);

    /* the shape of one full rule */
    s = shorthand("200");
    j = script_to_json(s);
    char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    ck_assert_str_eq(text, "{\"cycle\":false,\"rules\":[{\"dribble_ms\":2000,\"hang_max_ms\":"
                           "120000,\"headers\":{},\"scope\":\"endpoint\",\"status\":200}]}");
    free(text);
    json_decref(j);
    script_unref(s);
}
END_TEST

/* ---- selection ---- */

struct req {
    const char *key;
    const char *event;
    const char *body; /* JSON text or NULL */
    const char *hname, *hvalue;
};

static int64_t g_now = 1000000;

/* The status the script answers for one delivery (-1: the default answer). */
static int choose_req(script_state *st, const struct req *q, struct script_choice *out)
{
    struct delivery *d = delivery_create();
    ck_assert_ptr_nonnull(d);
    if (q->hname)
        ck_assert_int_eq(
            delivery_add_header(d, q->hname, strlen(q->hname), q->hvalue, strlen(q->hvalue)), 0);
    json_t *body = q->body ? json_loads(q->body, JSON_DECODE_ANY, NULL) : NULL;
    struct script_input in = {
        .d = d, .event = q->event, .body = body, .message_key = q->key ? q->key : "m"};
    struct script_choice c;
    ck_assert_int_eq(script_state_choose(st, &in, g_now, &c), 0);
    g_now += 1000;
    int status = c.rule ? c.rule->status : -1;
    ck_assert_int_eq(c.rule_index < 0, c.rule == NULL);
    if (out)
        *out = c;
    script_unref(c.script);
    json_decref(body);
    delivery_destroy(d);
    return status;
}

static int choose_key(script_state *st, const char *key)
{
    struct req q = {.key = key};
    return choose_req(st, &q, NULL);
}

static script_state *state_for(script *s, size_t max)
{
    script_state *st = NULL;
    struct wh_error err = {0};
    ck_assert_int_eq(script_state_create(s, max, &st, &err), 0);
    script_unref(s); /* the state holds its own reference */
    return st;
}

static void expect_sequence(const char *spec, const int *want, size_t n)
{
    script_state *st = state_for(shorthand(spec), 16);
    for (size_t i = 0; i < n; i++) {
        int got = choose_key(st, "m");
        ck_assert_msg(got == want[i], "%s: delivery %zu got %d want %d", spec, i + 1, got, want[i]);
    }
    script_state_destroy(st);
}

START_TEST(test_select_times_and_repeat)
{
    static const int a[] = {503, 503, 200, 200, 200};
    expect_sequence("503x2,200", a, 5);
    static const int b[] = {503, 503, 503, 503};
    expect_sequence("503x2", b, 4); /* the last rule answers again */
    static const int c[] = {500, 429, 429, 200, 200};
    expect_sequence("500,429x2,200", c, 5);
    static const int d[] = {503, 200, 503, 200, 503};
    expect_sequence("cycle:503,200", d, 5);
    static const int e[] = {503, 503, 200, 503, 503, 200, 503};
    expect_sequence("cycle:503x2,200", e, 7);
    static const int f[] = {410, 410, 410};
    expect_sequence("410", f, 3);
    static const int g[] = {0, 200, 200};
    expect_sequence("reset,200", g, 3);
}
END_TEST

START_TEST(test_select_no_script)
{
    script_state *st = NULL;
    ck_assert_int_eq(script_state_create(NULL, 4, &st, NULL), 0);
    struct script_choice c;
    struct req q = {.key = "k"};
    ck_assert_int_eq(choose_req(st, &q, &c), -1);
    ck_assert_ptr_null(c.script);
    ck_assert_int_eq(c.rule_index, -1);
    ck_assert_int_eq(c.delay_ms, 0);
    ck_assert_int_eq(c.attempt, 1);
    json_t *j = script_state_to_json(st);
    ck_assert(json_is_null(json_object_get(j, "script")));
    ck_assert_int_eq(json_integer_value(json_object_get(j, "deliveries")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "messages")), 1);
    ck_assert_uint_eq(json_array_size(json_object_get(j, "rules")), 0);
    json_decref(j);
    script_state_destroy(st);
}
END_TEST

START_TEST(test_select_match_event)
{
    /* created: 500 twice, then the catch-all; deleted never uses rule 0's times */
    script_state *st =
        state_for(from_json("[{\"status\": 500, \"times\": 2, \"match\": {\"event\": \"created\"}},"
                            " {\"status\": 404, \"match\": {\"event\": {\"regex\": \"^del\"}}},"
                            " {\"status\": 200}]"),
                  16);
    struct req created = {.event = "created"}, deleted = {.event = "deleted"}, none = {0};
    ck_assert_int_eq(choose_req(st, &deleted, NULL), 404);
    ck_assert_int_eq(choose_req(st, &none, NULL), 200);
    ck_assert_int_eq(choose_req(st, &created, NULL), 500);
    ck_assert_int_eq(choose_req(st, &deleted, NULL), 200); /* 404 had times 1 */
    ck_assert_int_eq(choose_req(st, &created, NULL), 500);
    ck_assert_int_eq(choose_req(st, &created, NULL), 200);
    json_t *j = script_state_to_json(st);
    json_t *rules = json_object_get(j, "rules");
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(rules, 0), "used")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(rules, 1), "used")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(rules, 2), "used")), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "deliveries")), 6);
    json_decref(j);
    script_state_destroy(st);
}
END_TEST

START_TEST(test_select_match_no_rule)
{
    /* only conditional rules: a delivery none of them matches gets the default answer; when
     * the matching ones are used up, the last matching one answers again */
    script_state *st =
        state_for(from_json("[{\"status\": 500, \"match\": {\"event\": \"a\"}},"
                            " {\"status\": 501, \"match\": {\"event\": \"a\"}},"
                            " {\"status\": 502, \"times\": 1, \"match\": {\"event\": \"b\"}}]"),
                  16);
    struct req a = {.event = "a"}, b = {.event = "b"}, c = {.event = "c"};
    struct script_choice ch;
    ck_assert_int_eq(choose_req(st, &c, &ch), -1);
    ck_assert_ptr_null(ch.rule);
    ck_assert_int_eq(ch.rule_index, -1);
    ck_assert_int_eq(choose_req(st, &a, NULL), 500);
    ck_assert_int_eq(choose_req(st, &a, NULL), 501);
    ck_assert_int_eq(choose_req(st, &a, NULL), 501);
    ck_assert_int_eq(choose_req(st, &b, NULL), 502);
    ck_assert_int_eq(choose_req(st, &b, NULL), 502);
    script_state_destroy(st);

    /* with cycle, only the counters of the rules this delivery matches start over */
    st = state_for(from_json("{\"rules\": [{\"status\": 500, \"match\": {\"event\": \"a\"}},"
                             " {\"status\": 501, \"match\": {\"event\": \"a\"}},"
                             " {\"status\": 502, \"times\": 2, \"match\": {\"event\": \"b\"}}],"
                             " \"cycle\": true}"),
                   16);
    ck_assert_int_eq(choose_req(st, &b, NULL), 502);
    ck_assert_int_eq(choose_req(st, &a, NULL), 500);
    ck_assert_int_eq(choose_req(st, &a, NULL), 501);
    ck_assert_int_eq(choose_req(st, &a, NULL), 500);
    ck_assert_int_eq(choose_req(st, &b, NULL), 502);
    ck_assert_int_eq(choose_req(st, &b, NULL), 502);
    ck_assert_int_eq(choose_req(st, &a, NULL), 501);
    script_state_destroy(st);
}
END_TEST

START_TEST(test_select_match_headers)
{
    script_state *st =
        state_for(from_json("[{\"status\": 401, \"times\": 5, \"match\": {\"headers\": {\"x-env\": "
                            "\"prod\"}}},"
                            " {\"status\": 402, \"times\": 5, \"match\": {\"headers\": {\"X-Env\": "
                            "{\"regex\": \"^st(a|g)\"}}}},"
                            " {\"status\": 403, \"times\": 5, \"match\": {\"headers\": {\"X-Env\": "
                            "{\"equals\": \"Prod\"}}}},"
                            " {\"status\": 200}]"),
                  16);
    struct req prod = {.hname = "X-ENV", .hvalue = "prod"};
    struct req prod2 = {.hname = "X-Env", .hvalue = "Prod"};
    struct req stage = {.hname = "x-env", .hvalue = "stage"};
    struct req stg = {.hname = "x-env", .hvalue = "stg-1"};
    struct req other = {.hname = "x-env", .hvalue = "dev stage"};
    struct req absent = {.hname = "X-Other", .hvalue = "prod"};
    ck_assert_int_eq(choose_req(st, &prod, NULL), 401);
    ck_assert_int_eq(choose_req(st, &prod2, NULL), 403); /* equals is case-sensitive */
    ck_assert_int_eq(choose_req(st, &stage, NULL), 402);
    ck_assert_int_eq(choose_req(st, &stg, NULL), 402);
    ck_assert_int_eq(choose_req(st, &other, NULL), 200); /* ^ anchors at the start */
    ck_assert_int_eq(choose_req(st, &absent, NULL), 200);
    json_t *j = script_state_to_json(st);
    json_t *rules = json_object_get(j, "rules");
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(rules, 0), "used")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(rules, 1), "used")), 2);
    json_decref(j);
    script_state_destroy(st);

    /* a regex on raw bytes that are not UTF-8 */
    st = state_for(
        from_json("[{\"status\": 418, \"times\": 9, \"match\": {\"headers\": {\"X-B\": {\"regex\": "
                  "\"a.c\"}}}}, {\"status\": 200}]"),
        4);
    struct req raw = {.hname = "X-B",
                      .hvalue = "a\xff\xfe"
                                "c"};
    struct req raw2 = {.hname = "X-B",
                       .hvalue = "\xff"
                                 "abc"};
    ck_assert_int_eq(choose_req(st, &raw, NULL), 200);
    ck_assert_int_eq(choose_req(st, &raw2, NULL), 418);
    struct req raw3 = {.hname = "X-B",
                       .hvalue = "\xc3(\xe2\x82"
                                 "abc\xf0"};
    ck_assert_int_eq(choose_req(st, &raw3, NULL), 418);
    script_state_destroy(st);
}
END_TEST

/* A pattern that backtracks without end, on long hostile values (valid UTF-8 and not): the
 * search stops at the match limit and counts as no match. */
START_TEST(test_select_regex_bounded)
{
    script_state *st =
        state_for(from_json("[{\"status\": 500, \"times\": 99, \"match\": {\"headers\": {\"X-A\": "
                            "{\"regex\": \"(a|aa)+$\"}}}},"
                            " {\"status\": 501, \"times\": 99, \"match\": {\"body\": {\"/s\": "
                            "{\"regex\": \"^(a|aa)+$\"}}}}, {\"status\": 200}]"),
                  4);
    enum { N = 20000 };
    char *v = malloc(N + 2);
    ck_assert_ptr_nonnull(v);
    memset(v, 'a', N);
    v[N] = '!';
    v[N + 1] = '\0';
    struct req q = {.hname = "X-A", .hvalue = v};
    ck_assert_int_eq(choose_req(st, &q, NULL), 200);
    for (size_t i = 0; i < N; i += 40)
        v[i] = (char)0xff; /* 500 invalid bytes: 501 tries sharing the limit */
    ck_assert_int_eq(choose_req(st, &q, NULL), 200);
    v[N] = '\0';
    v[N - 1] = 'a';
    ck_assert_int_eq(choose_req(st, &q, NULL), 500); /* "aa...a" at the end does match */
    memset(v, 'a', N);
    v[N] = '!';
    char *body = malloc(N + 32);
    ck_assert_ptr_nonnull(body);
    snprintf(body, N + 32, "{\"s\": \"%s\"}", v);
    struct req b = {.body = body};
    ck_assert_int_eq(choose_req(st, &b, NULL), 200);
    free(body);
    free(v);
    script_state_destroy(st);
}
END_TEST

START_TEST(test_select_match_body)
{
    script_state *st = state_for(
        from_json("[{\"status\": 501, \"times\": 9, \"match\": {\"body\": {\"/type\": "
                  "\"refund\"}}},"
                  " {\"status\": 502, \"times\": 9, \"match\": {\"body\": {\"/amount\": "
                  "{\"equals\": 5}}}},"
                  " {\"status\": 503, \"times\": 9, \"match\": {\"body\": {\"/tags\": "
                  "{\"equals\": [\"a\", \"b\"]}}}},"
                  " {\"status\": 504, \"times\": 9, \"match\": {\"body\": {\"/id\": {\"regex\": "
                  "\"^ev_[0-9]+$\"}}}},"
                  " {\"status\": 505, \"times\": 9, \"match\": {\"body\": {\"/n\": {\"regex\": "
                  "\"^4[0-9]$\"}}}},"
                  " {\"status\": 506, \"times\": 9, \"match\": {\"body\": {\"/o\": {\"regex\": "
                  "\"\\\"k\\\":1\"}}}},"
                  " {\"status\": 507, \"times\": 9, \"match\": {\"event\": \"x\", \"body\": "
                  "{\"/a~1b\": \"y\"}}},"
                  " {\"status\": 200}]"),
        16);
    struct req q[] = {
        {.body = "{\"type\": \"refund\"}"},
        {.body = "{\"type\": \"charge\"}"},
        {.body = "{\"type\": 5}"},
        {.body = "{\"amount\": 5.0}"}, /* json_equal: a real is not an integer */
        {.body = "{\"amount\": 5}"},
        {.body = "{\"amount\": \"5\"}"},
        {.body = "{\"tags\": [\"a\", \"b\"]}"},
        {.body = "{\"tags\": [\"b\", \"a\"]}"},
        {.body = "{\"id\": \"ev_123\"}"},
        {.body = "{\"id\": \"ev_12x\"}"},
        {.body = "{\"n\": 42}"}, /* a regex on a number's JSON text */
        {.body = "{\"o\": {\"k\": 1}}"},
        {.body = "{\"a/b\": \"y\"}", .event = "x"},
        {.body = "{\"a/b\": \"y\"}"},
        {.body = NULL, .event = "x"},
        {.body = "[1]"},
    };
    static const int want[] = {501, 200, 200, 200, 502, 200, 503, 200,
                               504, 200, 505, 506, 507, 200, 200, 200};
    for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++)
        ck_assert_msg(choose_req(st, &q[i], NULL) == want[i], "case %zu (%s)", i, q[i].body);
    script_state_destroy(st);
}
END_TEST

START_TEST(test_scope_message)
{
    script_state *st = state_for(shorthand("503x2/message,200"), 16);
    static const char *const keys[] = {"A", "B", "A", "B", "A", "B"};
    static const int want[] = {503, 503, 503, 503, 200, 200};
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(choose_key(st, keys[i]), want[i]);
    ck_assert_int_eq(choose_key(st, "C"), 503); /* a new message starts its own count */
    script_state_reset(st);
    ck_assert_int_eq(choose_key(st, "A"), 503); /* reset clears per-message counters */
    script_state_destroy(st);

    /* endpoint scope on the same spec shares one counter */
    st = state_for(shorthand("503x2,200"), 16);
    ck_assert_int_eq(choose_key(st, "A"), 503);
    ck_assert_int_eq(choose_key(st, "B"), 503);
    ck_assert_int_eq(choose_key(st, "A"), 200);
    script_state_destroy(st);

    /* cycle restarts this message's counters only */
    st = state_for(shorthand("cycle:503/message,200/message"), 16);
    ck_assert_int_eq(choose_key(st, "A"), 503);
    ck_assert_int_eq(choose_key(st, "A"), 200);
    ck_assert_int_eq(choose_key(st, "B"), 503);
    ck_assert_int_eq(choose_key(st, "A"), 503);
    ck_assert_int_eq(choose_key(st, "B"), 200);
    ck_assert_int_eq(choose_key(st, "B"), 503);
    script_state_destroy(st);
}
END_TEST

START_TEST(test_attempts_across_set_and_reset)
{
    script_state *st = state_for(shorthand("503,200"), 16);
    struct script_choice c;
    struct req a = {.key = "A"}, b = {.key = "B"};
    g_now = 5000000;
    choose_req(st, &a, &c);
    ck_assert_int_eq(c.attempt, 1);
    ck_assert_int_eq(c.since_previous_us, -1);
    ck_assert_int_eq(c.rule->status, 503);
    choose_req(st, &b, &c); /* now 5001000 */
    ck_assert_int_eq(c.attempt, 1);
    g_now = 5500000;
    choose_req(st, &a, &c);
    ck_assert_int_eq(c.attempt, 2);
    ck_assert_int_eq(c.since_previous_us, 500000);
    ck_assert_int_eq(c.rule->status, 200);

    script_state_reset(st);
    g_now = 6000000;
    choose_req(st, &a, &c);
    ck_assert_int_eq(c.attempt, 3);
    ck_assert_int_eq(c.since_previous_us, 500000);
    ck_assert_int_eq(c.rule->status, 503);

    script *other = shorthand("418");
    script_state_set(st, other); /* the state takes its own reference */
    script_unref(other);
    choose_req(st, &a, &c);
    ck_assert_int_eq(c.attempt, 4);
    ck_assert_int_eq(c.rule->status, 418);
    choose_req(st, &b, &c);
    ck_assert_int_eq(c.attempt, 2);

    /* a clock that goes back gives 0, never a negative time */
    g_now = 1;
    choose_req(st, &b, &c);
    ck_assert_int_eq(c.since_previous_us, 0);

    script_state_set(st, NULL);
    choose_req(st, &a, &c);
    ck_assert_int_eq(c.attempt, 5);
    ck_assert_ptr_null(c.script);
    json_t *j = script_state_to_json(st);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "messages")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "deliveries")), 1);
    json_decref(j);
    script_state_destroy(st);
}
END_TEST

START_TEST(test_set_keeps_choice_script_alive)
{
    script_state *st = state_for(shorthand("201[X-A=1]"), 4);
    struct script_input in = {.message_key = "k"};
    struct script_choice c;
    ck_assert_int_eq(script_state_choose(st, &in, 1, &c), 0);
    script *other = shorthand("202");
    script_state_set(st, other); /* the state drops the old script */
    script_unref(other);
    ck_assert_int_eq(c.rule->status, 201); /* still valid through the choice's reference */
    ck_assert_str_eq(c.rule->headers[0].value, "1");
    script_unref(c.script);
    script_state_destroy(st);
}
END_TEST

START_TEST(test_lru_eviction)
{
    script_state *st = state_for(shorthand("503x1/message,200"), 3);
    struct script_choice c;
    struct req q[5] = {{.key = "k1"}, {.key = "k2"}, {.key = "k3"}, {.key = "k4"}, {.key = "k5"}};
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(choose_req(st, &q[i], &c), 503);
        ck_assert_int_eq(c.attempt, 1);
    }
    choose_req(st, &q[0], &c); /* k1 becomes the most recent: k2 is now the oldest */
    ck_assert_int_eq(c.attempt, 2);
    ck_assert_int_eq(c.rule->status, 200);
    choose_req(st, &q[3], &c); /* k4 in, k2 out */
    ck_assert_int_eq(c.attempt, 1);
    choose_req(st, &q[0], &c);
    ck_assert_int_eq(c.attempt, 3);
    choose_req(st, &q[2], &c);
    ck_assert_int_eq(c.attempt, 2);
    choose_req(st, &q[1], &c); /* forgotten: starts over, counters too (k4 out) */
    ck_assert_int_eq(c.attempt, 1);
    ck_assert_int_eq(c.rule->status, 503);
    json_t *j = script_state_to_json(st);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "messages")), 3);
    json_decref(j);
    choose_req(st, &q[3], &c);
    ck_assert_int_eq(c.attempt, 1);
    script_state_destroy(st);

    /* many keys through a small memory, checked against a reference list */
    enum { CAP = 50, KEYS = 120, STEPS = 20000 };
    st = state_for(shorthand("200"), CAP);
    int order[CAP], attempts[KEYS] = {0}, n = 0;
    unsigned rng = 99;
    for (int step = 0; step < STEPS; step++) {
        rng = rng * 1103515245u + 12345u;
        int k = (int)((rng >> 8) % KEYS);
        char key[16];
        snprintf(key, sizeof(key), "key-%d", k);
        struct req r = {.key = key};
        choose_req(st, &r, &c);
        int pos = -1;
        for (int i = 0; i < n; i++)
            if (order[i] == k)
                pos = i;
        if (pos >= 0) {
            memmove(order + pos, order + pos + 1, (size_t)(n - pos - 1) * sizeof(int));
            n--;
        } else {
            attempts[k] = 0;
            if (n == CAP) {
                attempts[order[0]] = 0;
                memmove(order, order + 1, (CAP - 1) * sizeof(int));
                n--;
            }
        }
        order[n++] = k;
        attempts[k]++;
        ck_assert_msg(c.attempt == attempts[k], "step %d key %d: %lld vs %d", step, k,
                      (long long)c.attempt, attempts[k]);
    }
    script_state_destroy(st);
}
END_TEST

/* ---- delays ---- */

static void draw(script_state *st, int64_t *out, size_t n)
{
    struct script_input in = {.message_key = "m"};
    for (size_t i = 0; i < n; i++) {
        struct script_choice c;
        ck_assert_int_eq(script_state_choose(st, &in, 1, &c), 0);
        out[i] = c.delay_ms;
        script_unref(c.script);
    }
}

START_TEST(test_delays_seeded)
{
    script *s = from_json("{\"rules\": \"200@100-300ms\", \"seed\": 42}");
    script_state *st = state_for(script_ref(s), 4);
    enum { N = 1000 };
    static int64_t a[N], b[N], c[N];
    draw(st, a, N);
    bool varied = false;
    for (size_t i = 0; i < N; i++) {
        ck_assert_msg(a[i] >= 100 && a[i] <= 300, "%lld", (long long)a[i]);
        varied |= a[i] != a[0];
    }
    ck_assert(varied);
    script_state_reset(st);
    draw(st, b, N);
    ck_assert_mem_eq(a, b, sizeof(a));
    script_state_set(st, s);
    draw(st, c, N);
    ck_assert_mem_eq(a, c, sizeof(a));
    script_state_destroy(st);

    st = state_for(script_ref(s), 4); /* another state, same script: the same delays */
    draw(st, b, N);
    ck_assert_mem_eq(a, b, sizeof(a));
    script_state_destroy(st);
    script_unref(s);

    /* another seed: another sequence */
    st = state_for(from_json("{\"rules\": \"200@100-300ms\", \"seed\": 43}"), 4);
    draw(st, b, N);
    ck_assert(memcmp(a, b, sizeof(a)) != 0);
    script_state_destroy(st);

    /* fixed and none */
    st = state_for(shorthand("200@1.5s,200"), 4);
    draw(st, a, 2);
    ck_assert_int_eq(a[0], 1500);
    ck_assert_int_eq(a[1], 0);
    script_state_destroy(st);
}
END_TEST

static int cmp64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

START_TEST(test_delays_lognormal)
{
    enum { N = 10000 };
    static int64_t d[N];
    script_state *st = state_for(from_json("{\"rules\": \"200@200ms~0.5\", \"seed\": 7}"), 4);
    draw(st, d, N);
    qsort(d, N, sizeof(d[0]), cmp64);
    int64_t median = (d[N / 2 - 1] + d[N / 2]) / 2;
    ck_assert_msg(median >= 190 && median <= 210, "median %lld", (long long)median);
    /* sigma 0.5: about 84% below median * e^0.5 */
    int64_t p84 = d[(N * 8413) / 10000];
    ck_assert_msg(p84 >= 310 && p84 <= 350, "p84 %lld", (long long)p84);
    ck_assert(d[0] >= 0 && d[N - 1] <= 3600000);
    script_state_destroy(st);

    /* unseeded: still within bounds; a large sigma is clamped to an hour */
    st = state_for(shorthand("200@3000s~10"), 4);
    draw(st, d, N);
    bool clamped = false;
    for (size_t i = 0; i < N; i++) {
        ck_assert(d[i] >= 0 && d[i] <= 3600000);
        clamped |= d[i] == 3600000;
    }
    ck_assert(clamped);
    script_state_destroy(st);

    /* uniform, unseeded: in [a, b] with a mean near the middle */
    st = state_for(shorthand("200@1-3s"), 4);
    draw(st, d, N);
    double sum = 0;
    for (size_t i = 0; i < N; i++) {
        ck_assert(d[i] >= 1000 && d[i] <= 3000);
        sum += (double)d[i];
    }
    ck_assert_msg(sum / N > 1950 && sum / N < 2050, "mean %f", sum / N);
    script_state_destroy(st);
}
END_TEST

/* ---- threads ---- */

struct worker {
    script_state *st;
    int id;
    int counts[4]; /* 503, 429, 200, other */
};

static void *work(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < 20000; i++) {
        char key[32];
        snprintf(key, sizeof(key), "t%d-%d", w->id, i % 97);
        struct script_input in = {.message_key = key};
        struct script_choice c;
        if (script_state_choose(w->st, &in, i, &c) != 0)
            return NULL;
        int s = c.rule ? c.rule->status : 0;
        w->counts[s == 503 ? 0 : s == 429 ? 1 : s == 200 ? 2 : 3]++;
        script_unref(c.script);
    }
    return w;
}

START_TEST(test_concurrent_choose)
{
    script_state *st = state_for(shorthand("503x1000,429x3000[Retry-After=1],200"), 64);
    struct worker w[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){.st = st, .id = i};
        ck_assert_int_eq(pthread_create(&t[i], NULL, work, &w[i]), 0);
    }
    int total[4] = {0};
    for (int i = 0; i < 4; i++) {
        void *ret;
        pthread_join(t[i], &ret);
        ck_assert_ptr_eq(ret, &w[i]);
        for (int k = 0; k < 4; k++)
            total[k] += w[i].counts[k];
    }
    ck_assert_int_eq(total[0], 1000);
    ck_assert_int_eq(total[1], 3000);
    ck_assert_int_eq(total[2], 80000 - 4000);
    ck_assert_int_eq(total[3], 0);
    json_t *j = script_state_to_json(st);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "deliveries")), 80000);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "messages")), 64);
    json_t *rules = json_object_get(j, "rules");
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(rules, 2), "used")), 76000);
    json_decref(j);
    script_state_destroy(st);
}
END_TEST

static Suite *script_suite(void)
{
    Suite *s = suite_create("script");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, test_json_every_field);
    tcase_add_test(tc, test_json_forms_and_defaults);
    tcase_add_test(tc, test_fault_names);
    tcase_add_test(tc, test_shorthand_examples);
    tcase_add_test(tc, test_shorthand_details);
    tcase_add_test(tc, test_shorthand_errors);
    tcase_add_test(tc, test_shorthand_nul_and_limits);
    tcase_add_test(tc, test_json_errors);
    tcase_add_test(tc, test_parse_text);
    tcase_add_test(tc, test_to_json_round_trip);
    suite_add_tcase(s, tc);
    tc = tcase_create("select");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_select_times_and_repeat);
    tcase_add_test(tc, test_select_no_script);
    tcase_add_test(tc, test_select_match_event);
    tcase_add_test(tc, test_select_match_no_rule);
    tcase_add_test(tc, test_select_match_headers);
    tcase_add_test(tc, test_select_match_body);
    tcase_add_test(tc, test_select_regex_bounded);
    tcase_add_test(tc, test_scope_message);
    tcase_add_test(tc, test_attempts_across_set_and_reset);
    tcase_add_test(tc, test_set_keeps_choice_script_alive);
    tcase_add_test(tc, test_lru_eviction);
    tcase_add_test(tc, test_delays_seeded);
    tcase_add_test(tc, test_delays_lognormal);
    tcase_add_test(tc, test_concurrent_choose);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(script_suite());
}
