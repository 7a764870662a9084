/* schemaset: an endpoint's payload schemas, and which one a delivery's event selects.
 *
 * Built from an endpoint's "schemas" object:
 *   {"dir": "schemas/twenty", "files": {"person.created": "p.json"}, "event": "/eventName",
 *    "event_header": "X-GitHub-Event", "event_suffix": "/action", "require": false}
 * Every *.json file of `dir` is compiled when the set is loaded (so a broken file is an error
 * at load, naming it); `files` adds or overrides single events. For an event E the schema is
 * E.json (or files[E]), else default.json, else none. Relative paths are taken from the
 * config file's folder. A set is immutable and reference-counted, so a reload (SIGHUP) can
 * swap in a new one while requests still use the old. */
#ifndef WEBHOOKY_SCHEMASET_H
#define WEBHOOKY_SCHEMASET_H

#include <jansson.h>
#include <stdbool.h>

#include "delivery.h"
#include "jsonschema.h"
#include "wh_error.h"

typedef struct schema_set schema_set;

/* Where the event name comes from (owned strings, NULL when unset). */
struct event_rule {
    char *pointer;       /* JSON pointer into the body */
    char *header;        /* a header */
    char *suffix_pointer; /* appended as ".VALUE" when it holds a string (GitHub's /action) */
};

/* Parse and load `obj` (borrowed). base_dir: folder relative paths start from. On error,
 * -EINVAL/-ENOENT/-EIO/-ENOMEM with err saying why, and err_pointer (ptr_size bytes, may be
 * NULL) receiving the RFC 6901 pointer of the offending value relative to obj. */
int schema_set_load(json_t *obj, const char *base_dir, schema_set **ret, char *err_pointer,
                    size_t ptr_size, struct wh_error *err);

/* Load the same definition again from the files (for SIGHUP); old is not changed. */
int schema_set_reload(const schema_set *old, schema_set **ret, struct wh_error *err);

/* Take and drop references; unref of the last one frees. NULL-safe. */
schema_set *schema_set_ref(schema_set *s);
void schema_set_unref(schema_set *s);

/* Does a delivery without a schema count as a failure ("require": true)? */
bool schema_set_required(const schema_set *s);
/* How many schema files are loaded. */
size_t schema_set_count(const schema_set *s);

/* The event name of a delivery: from the rule (s NULL: no rule), or else the first of
 * /eventName, /event, /type that holds a string. doc is the parsed body or NULL. A new string (free it), or NULL. */
char *schema_set_event(const schema_set *s, const struct delivery *d, json_t *doc);

/* The schema for an event (borrowed from the set, valid while the caller holds a reference),
 * or NULL; *ret_name (may be NULL) gets its file name ("person.created.json"). */
const jsonschema *schema_set_find(const schema_set *s, const char *event, const char **ret_name);

#endif
