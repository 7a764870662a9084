/* config: the receiver's configuration file, validated and ready to use.
 *
 * The file is JSON: {"endpoints": [{"name": "...", "path": "/hooks/x" or "/hooks/" + "*",
 * "description": "...", "message_id": "X-Event-Id" | "/id", "message_key": ..., "responses": ...,
 * "seed": N, "signature": {...}, "schemas": {...}, "reject_invalid": bool}]}. Every problem (bad JSON, an unknown key, a wrong type, a duplicate
 * name or path) is reported as "FILE:LINE:COLUMN: key.path: what is wrong". Later features
 * hang their settings on the endpoint object; they validate their own keys and keep the
 * endpoint's JSON (`json`, borrowed from the config) to read them.
 *
 * A config is immutable once loaded and may be read from any thread. */
#ifndef WEBHOOKY_CONFIG_H
#define WEBHOOKY_CONFIG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wh_error.h"

struct sig_config;
struct schema_set;
struct script;

#define CONFIG_NAME_MAX 64

struct endpoint_config {
    char *name;        /* owned; [A-Za-z0-9][A-Za-z0-9._-]*, unique */
    char *path;        /* owned; as written, e.g. "/hooks/twenty", or "/hooks/" followed by a star */
    size_t match_len;  /* bytes of path that must match (without the trailing '*') */
    bool prefix;       /* the path ended in '*': any path starting with path[0..match_len) */
    char *description; /* owned; NULL when absent */
    char *message_id;  /* owned; where the idempotency key is: a header name, or a JSON pointer
                          into the body when it starts with '/'; NULL: the scheme's own */
    json_t *json;      /* borrowed from the config: the endpoint's object as written */
    struct sig_config *signature; /* owned; compiled "signature" object, NULL when absent */
    bool reject_invalid; /* answer 401 to deliveries whose signature is not valid */
    struct schema_set *schemas; /* one reference; the "schemas" object loaded, or NULL.
                                   Relative paths are from the config file's folder. */
    struct script *responses;   /* one reference; the "responses" script, or NULL (default) */
    char *message_key;          /* owned; groups attempts when there is no message_id: a header
                                   name, or a JSON pointer into the body; NULL: a body hash */
    bool has_seed;              /* "seed": random delays repeat from run to run */
    uint64_t seed;
};

struct config {
    char *source;                     /* owned; file name used in messages */
    struct endpoint_config *endpoints; /* owned array, in file order */
    size_t n_endpoints;
    json_t *root; /* owned reference to the whole document */
};

/* Load and validate a config file. On success *ret is a new config (config_destroy it). */
int config_load_file(const char *file, struct config **ret, struct wh_error *err);

/* The same from text already in memory; `source` names it in messages. */
int config_load_text(const char *text, size_t len, const char *source, struct config **ret,
                     struct wh_error *err);

/* An empty config: no endpoints, everything goes to the catch-all. */
int config_create_empty(struct config **ret, struct wh_error *err);

void config_destroy(struct config *c);

/* The endpoint a request path selects: an exact path wins, then the longest prefix; NULL for
 * the catch-all. The result is borrowed from the config. */
const struct endpoint_config *config_match(const struct config *c, const char *path);

#endif
