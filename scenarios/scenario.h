/* scenario: one scenario file, loaded and validated before anything runs.
 *
 * A scenario file is JSON (the format is described in scenarios/README.md and, as a JSON
 * Schema, in scenarios/scenario.schema.json). Loading checks it completely: JSON syntax,
 * step and assertion kinds, every key and type (by the format's own schema, with the
 * project's validator), the mock's endpoints (the same loader as `serve --config`) and
 * every ${...} variable. Every problem is one sentence "FILE:LINE:COLUMN: key.path: what is
 * wrong". A loaded scenario is immutable; the runner reads the steps' JSON as validated.
 *
 * Not here: running it (runner.h), the assertions' semantics (checks.h). */
#ifndef WEBHOOKY_SCENARIO_H
#define WEBHOOKY_SCENARIO_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mockserver/config.h"
#include "mockserver/wh_error.h"

/* Scenario files are written by people: refuse larger ones. */
#define SCENARIO_MAX_BYTES (4u << 20)
#define SCENARIO_MAX_STEPS 1000
/* Default timeout of exec, http, send and wait steps. */
#define SCENARIO_DEFAULT_TIMEOUT_MS 10000

enum step_kind {
    STEP_EXEC,
    STEP_HTTP,
    STEP_SEND,
    STEP_RESPOND,
    STEP_WAIT,
    STEP_SLEEP,
    STEP_EXPECT
};

struct step {
    enum step_kind kind;
    char *label;  /* owned: "exec (step 1)", or the step's "name" */
    char *name;   /* owned: the step's "name", NULL when none */
    json_t *spec; /* borrowed from the scenario's root: the value of the kind's key */
    json_t *obj;  /* borrowed: the whole step object */
};

struct scenario {
    char *file;         /* owned: the path as given */
    char *dir;          /* owned: the file's folder ("." when it has none) */
    char *name;         /* owned */
    char *description;  /* owned; NULL when none */
    json_t *root;       /* owned reference: the document as written */
    json_t *vars;       /* owned reference: NAME -> string (file "vars" with --var on top) */
    char *secret;       /* owned, substituted; NULL when the scenario sets none */
    char *event;        /* owned, substituted; NULL when none */
    int64_t timeout_ms; /* default step timeout */
    /* the receiver: embedded (config != NULL) or external (mock_url != NULL) */
    struct config *config; /* owned; the mock's endpoints, variables substituted */
    char *config_text;     /* owned: the text config was loaded from */
    char *mock_url;        /* owned; no trailing '/' */
    char *mock_token;      /* owned; admin token for an external receiver, NULL when none */
    json_t *responses;     /* borrowed: the mock's "responses" object {NAME|"-": spec}, or NULL */
    struct step *steps;    /* owned array, including the final "expect" when the file has one */
    size_t n_steps;
};

/* What the loader knows besides the file. */
struct scenario_load_options {
    json_t *vars; /* borrowed: NAME -> string from --var (wins over the file's), or NULL */
};

/* Load and validate a scenario file. *ret is a new scenario (scenario_destroy it). Errors:
 * -EINVAL for a broken file (the message locates it), -ENOENT/-EACCES/-E2BIG reading it,
 * -ENOMEM. */
int scenario_load_file(const char *path, const struct scenario_load_options *opts,
                       struct scenario **ret, struct wh_error *err);

/* The same from text; `source` names it in messages and relative schema paths in the mock
 * are taken from its folder. */
int scenario_load_text(const char *text, size_t len, const char *source,
                       const struct scenario_load_options *opts, struct scenario **ret,
                       struct wh_error *err);

void scenario_destroy(struct scenario *s); /* NULL-safe */

/* "exec", "http", ... (static). */
const char *step_kind_name(enum step_kind k);

/* The format's own JSON Schema, as text (static, NUL-terminated). */
extern const char scenario_schema_text[];

#endif
