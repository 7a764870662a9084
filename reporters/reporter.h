/* reporter: one output format for results (console, junit, tap, json, html).
 *
 * `webhooky run --reporter NAME[=FILE]` creates one reporter per flag. The runner calls the
 * live hooks as things happen (all optional; only `console` uses them) and `finish` once at
 * the end with the whole results. Calls into one reporter are serialised by the runner. */
#ifndef WEBHOOKY_REPORTER_H
#define WEBHOOKY_REPORTER_H

#include <stdbool.h>
#include <stdio.h>

#include "results.h"
#include "wh_error.h"

typedef struct reporter reporter;

/* Parse "NAME" or "NAME=FILE" and create the reporter. FILE "-" or no FILE: stdout. Names:
 * console, junit, tap, json, html. -EINVAL with a message for an unknown name. The file is
 * opened (created) at once so a bad path fails before anything runs. */
int reporter_create(const char *spec, reporter **ret, struct wh_error *err);
void reporter_destroy(reporter *rp); /* closes the file; NULL-safe */

/* Create the reporter called name (no "=FILE") writing to f, which stays the caller's (borrowed
 * until reporter_destroy, which flushes but does not close it). tty: treat f as a terminal
 * (console: progress lines, and colours unless NO_COLOR is set and not empty). Errors as
 * reporter_create. */
int reporter_create_stream(const char *name, FILE *f, bool tty, reporter **ret,
                           struct wh_error *err);

/* The format's name ("console", ...; static string). */
const char *reporter_name(const reporter *rp);

/* Live hooks (no-ops for the file formats). */
void reporter_scenario_start(reporter *rp, const struct result_scenario *s);
void reporter_check(reporter *rp, const struct result_scenario *s, const struct result_check *c);
/* While a step waits: deliveries seen so far, how many are wanted (-1: unknown), time left. */
void reporter_progress(reporter *rp, const struct result_scenario *s, const char *what,
                       long seen, long wanted, double seconds_left);
void reporter_scenario_end(reporter *rp, const struct result_scenario *s);

/* Write the whole report. 0, or -errno when writing failed. */
int reporter_finish(reporter *rp, const struct results *r, struct wh_error *err);

/* The names, for --help and messages: "console, junit, tap, json, html". */
const char *reporter_names(void);

#endif
