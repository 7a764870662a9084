/* script: an endpoint's scripted responses, and the state that picks a rule per delivery.
 *
 * A script is an ordered list of rules. It is written as JSON (config "responses", the API's
 * PUT) or as the shorthand grammar ("503x2,200", "429x1[Retry-After=2],200", "200@150ms",
 * "reset,200", "410"); both compile to the same immutable, reference-counted `script`.
 *
 * JSON forms of "responses":
 *   "503x2,200"                                 the shorthand
 *   [rule, ...]                                 a list of rules
 *   {"rules": [rule, ...] | "shorthand", "cycle": bool, "seed": N}
 * A rule:
 *   {"status": 100..599, "headers": {"Name": "value"}, "body": "text" | any JSON (serialised),
 *    "delay_ms": N | {"min": a, "max": b} | {"median": m, "sigma": s},
 *    "fault": "reset" | "close" | "hang" | "dribble" | "partial" | "malformed",
 *    "hang_max_ms": N (default 120000), "dribble_ms": N (default 2000),
 *    "times": N (>= 1), "scope": "endpoint" | "message",
 *    "match": {"event": V, "headers": {"Name": V}, "body": {"/json/pointer": V}}}
 *   where V is a string (equal), {"equals": any JSON} or {"regex": "PCRE2 pattern"}.
 *
 * Shorthand (whitespace around items is ignored):
 *   spec  := ["cycle:"] item ("," item)*
 *   item  := head ("x" TIMES | "[" header (";" header)* "]" | "@" delay | "/" scope)*
 *   head  := STATUS | fault [":" duration]      fault duration is hang_max_ms or dribble_ms
 *   header:= NAME "=" VALUE                      VALUE up to the next ';' or ']'
 *   delay := duration | duration "-" duration | duration "~" SIGMA
 *   duration := NUMBER ("ms" | "s")             bare NUMBER means ms
 *   scope := "message" | "endpoint"
 * A syntax error names the 1-based character position: "position 5: expected ...".
 *
 * Selection (script_state_choose): walk the rules in order; skip rules whose `match` fails
 * (without using their `times`) and rules whose `times` is used up in their scope (the
 * endpoint's counter, or this message's counter with scope "message"); the first rule left
 * answers and its counter goes up by one. The last rule without `times` never runs out. When
 * every matching rule is used up: with "cycle" the counters (of the delivery's scope) start
 * over; otherwise the last matching rule answers again. No rule matching: the default answer
 * (rule index -1). In a JSON list, `times` defaults to 1 for every rule but the last; in the
 * shorthand, an item without "x" answers once unless it is the last.
 *
 * Threads: a script is immutable and may be shared; a script_state serialises choose() with
 * its own lock and may be used from any thread. */
#ifndef WEBHOOKY_SCRIPT_H
#define WEBHOOKY_SCRIPT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "delivery.h"
#include "wh_error.h"

typedef struct script script;
typedef struct script_state script_state;

enum script_fault {
    FAULT_NONE = 0,
    FAULT_RESET,     /* close with a TCP RST, no response */
    FAULT_CLOSE,     /* close cleanly (FIN), no response */
    FAULT_HANG,      /* never answer; close after hang_max_ms or when the client leaves */
    FAULT_DRIBBLE,   /* send the response a few bytes at a time over dribble_ms */
    FAULT_PARTIAL,   /* send the headers and part of the body, then close */
    FAULT_MALFORMED, /* send bytes that are not HTTP, then close */
};

enum script_delay { DELAY_NONE = 0, DELAY_FIXED, DELAY_UNIFORM, DELAY_LOGNORMAL };
enum script_scope { SCOPE_ENDPOINT = 0, SCOPE_MESSAGE };

struct script_header {
    char *name;  /* owned; a valid header token */
    char *value; /* owned; no CR, LF or NUL */
};

enum script_match_on { MATCH_EVENT, MATCH_HEADER, MATCH_BODY };

struct script_match {
    enum script_match_on on;
    char *key;       /* owned; header name (MATCH_HEADER) or JSON pointer (MATCH_BODY) */
    json_t *equals;  /* owned reference; NULL when regex is used */
    struct regex *regex; /* owned (regex.h); NULL when equals is used */
};

struct script_rule {
    int status;                      /* 100..599; the status sent (also for dribble, partial) */
    struct script_header *headers;   /* owned array */
    size_t n_headers;
    char *body;                      /* owned; NULL: the receiver's default JSON answer */
    size_t body_len;
    enum script_delay delay;
    double delay_a, delay_b;         /* fixed: a; uniform: [a, b]; lognormal: median a, sigma b */
    enum script_fault fault;
    int64_t hang_max_ms;             /* FAULT_HANG: longest hold (default 120000) */
    int64_t dribble_ms;              /* FAULT_DRIBBLE: time to send the whole response (2000) */
    int64_t times;                   /* deliveries this rule answers; 0: unlimited */
    enum script_scope scope;
    struct script_match *match;      /* owned array; every condition must hold */
    size_t n_match;
};

struct script {
    struct script_rule *rules; /* owned array, in order; n_rules >= 1 */
    size_t n_rules;
    bool cycle;
    bool has_seed;
    uint64_t seed;
    /* private: reference count */
    int refs;
};

/* Compile the shorthand. On error: -EINVAL and err says "position N: ..." (1-based). */
int script_parse_shorthand(const char *spec, script **ret, struct wh_error *err);

/* Compile any JSON form above (a string is the shorthand). On error: -EINVAL, err has the
 * message and err_pointer gets the JSON pointer of the offending value relative to `v`
 * ("/1/delay_ms/min"; "" for v itself; for a shorthand string, the string's own pointer),
 * so the config can turn it into FILE:LINE:COL. -ENOMEM on out of memory. */
int script_parse_json(json_t *v, script **ret, char *err_pointer, size_t ptr_size,
                      struct wh_error *err);

/* Compile a request body from the API: JSON (any form above) when it parses as JSON, else the
 * shorthand as text. */
int script_parse_text(const char *text, size_t len, script **ret, struct wh_error *err);

/* The script as canonical JSON: {"rules": [...full rule objects...], "cycle": b[, "seed": n]}.
 * New reference, NULL on out of memory. */
json_t *script_to_json(const script *s);

script *script_ref(script *s);  /* NULL-safe; returns s */
void script_unref(script *s);   /* NULL-safe */

/* The name of a fault ("reset", ...; "" for FAULT_NONE). */
const char *script_fault_name(enum script_fault f);

/* ---- run-time state: which rule answers the next delivery ---- */

/* What the receiver knows about a delivery when it picks a rule. All borrowed. */
struct script_input {
    const struct delivery *d; /* headers (delivery_header) */
    const char *event;        /* NULL when none */
    const json_t *body;       /* the parsed body, NULL when it is not JSON / not parsed */
    const char *message_key;  /* the delivery's message (never NULL) */
};

struct script_choice {
    script *script;               /* a reference the caller must script_unref; NULL: no script */
    const struct script_rule *rule; /* borrowed from choice.script; NULL: the default answer */
    int rule_index;               /* -1 for the default answer */
    int64_t delay_ms;             /* the delay drawn for this delivery (0 when none) */
    /* the message's attempt number (1, 2, ...) and the time since its previous attempt
     * (-1 for the first), counted per message key across script changes */
    int64_t attempt;
    int64_t since_previous_us;
};

/* A state with a script (borrowed reference taken; may be NULL: always the default answer).
 * Messages remembered: the last `max_messages` keys (older ones start over at attempt 1). */
int script_state_create(script *s, size_t max_messages, script_state **ret,
                        struct wh_error *err);
void script_state_destroy(script_state *st); /* NULL-safe */

/* Replace the script (a new reference is taken; NULL removes it) and reset the rule counters;
 * message attempt counts are kept. */
void script_state_set(script_state *st, script *s);
/* Reset the rule counters (endpoint and per-message); attempt counts are kept. */
void script_state_reset(script_state *st);

/* Pick the rule for a delivery received at now_us (wall clock, microseconds), count it, and
 * draw its delay. Returns 0 or -ENOMEM. */
int script_state_choose(script_state *st, const struct script_input *in, int64_t now_us,
                        struct script_choice *out);

/* Counters for the API: {"script": script_to_json or null, "deliveries": N,
 * "rules": [{"index": i, "used": n}], "messages": N}. New reference. */
json_t *script_state_to_json(script_state *st);

#endif
