/* reporter_priv: what the reporter formats share inside reporters/ (not for the runner).
 *
 * Each format is a table of operations (struct reporter_ops) over one struct reporter; the
 * dispatch in reporter.c calls the ones a format has. The text helpers here turn captured
 * deliveries and outputs into display text that is valid UTF-8 and free of control characters
 * other than newline and tab (terminal escapes, see encode_terminal); formats then escape that
 * text once more for their own syntax. */
#ifndef WEBHOOKY_REPORTER_PRIV_H
#define WEBHOOKY_REPORTER_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "mockserver/buf.h"
#include "reporter.h"

/* Console state: what the live hooks have shown. */
struct console_state {
    bool live;             /* a live hook ran: finish prints only failures and the summary */
    bool progress_shown;   /* a progress line is on screen (terminal only) */
    const char *last_name; /* the scenario whose header was printed last (identity of s->name) */
};

struct reporter {
    const struct reporter_ops *ops;
    FILE *f;
    bool own_file;   /* f was opened by reporter_create and is closed by reporter_destroy */
    bool tty;        /* f is a terminal: progress lines */
    bool color;      /* ANSI colours: a terminal and NO_COLOR unset or empty */
    int tap_version; /* 14, or 13 when the TAP_VERSION environment variable says so */
    struct console_state con;
};

struct reporter_ops {
    const char *name;
    void (*scenario_start)(reporter *rp, const struct result_scenario *s);
    void (*check)(reporter *rp, const struct result_scenario *s, const struct result_check *c);
    void (*progress)(reporter *rp, const struct result_scenario *s, const char *what, long seen,
                     long wanted, double seconds_left);
    void (*scenario_end)(reporter *rp, const struct result_scenario *s);
    /* Append the whole report to out; 0 or -ENOMEM. */
    int (*render)(reporter *rp, const struct results *r, struct buf *out);
};

extern const struct reporter_ops reporter_console_ops;
extern const struct reporter_ops reporter_junit_ops;
extern const struct reporter_ops reporter_tap_ops;
extern const struct reporter_ops reporter_json_ops;
extern const struct reporter_ops reporter_html_ops;

/* Limits on how much captured data a report shows per item (the JSON report keeps all). */
#define REP_BODY_MAX 2048        /* bytes of a body */
#define REP_HEADER_VALUE_MAX 256 /* bytes of one header value */
#define REP_HEADERS_MAX 40       /* header lines of one delivery */
#define REP_OUTPUT_MAX 8192      /* bytes of an exec output (the end is kept) */
#define REP_DELIVERIES_MAX 3     /* deliveries shown under one failing check */

/* The delivery with this id in s->deliveries (borrowed), or NULL. */
json_t *rep_find_delivery(const struct result_scenario *s, int64_t id);

/* Append display text for a delivery object (the API's shape): a first line
 * "#ID METHOD PATH?QUERY -> STATUS", then each header "  Name: value", the signature and schema
 * verdicts, and the body, each shortened to the limits above. Every line is indented by
 * `indent` spaces and ends in '\n'. 0 or -ENOMEM. */
int rep_delivery_text(struct buf *out, const json_t *d, int indent);

/* Append text[0..len) as display text (encode_terminal, newlines and tabs kept); when longer
 * than max bytes, only the first max (keep_end: the last max) bytes, cut at a character
 * boundary, with a note of how much was left out. */
int rep_display(struct buf *out, const char *text, size_t len, size_t max, bool keep_end);

/* Append a duration for people: "0 ms", "250 ms", "1.50 s", "2 min 5 s". */
int rep_duration(struct buf *out, double ms);

/* Append "2026-11-27T06:39:54Z" (seconds) or with microseconds. */
int rep_time(struct buf *out, int64_t us, bool with_us);

/* The one-line title of a delivery attempt's answer: "503", "fault reset", "no answer". */
int rep_answer(struct buf *out, int status, const char *fault);

#endif
