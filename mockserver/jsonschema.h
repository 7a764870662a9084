/* jsonschema: JSON Schema draft-07 validation over jansson values: compile once, validate many.
 *
 * A schema is compiled once (every "$ref" resolved, every pattern compiled by PCRE2 with a
 * match limit) into an immutable jsonschema, which any number of threads may then use at the
 * same time to validate instances. A validation reports every error (up to a cap) with the
 * instance's JSON pointer, the schema keyword and a sentence saying what is wrong.
 *
 * All of draft-07 is implemented: type, enum, const, the numeric, string, array and object
 * keywords, allOf/anyOf/oneOf/not, if/then/else, boolean schemas, definitions, "$ref" with
 * JSON pointers (percent and ~ escapes) or "$id" names, "$id" changing the base URI, and
 * "format" as an assertion for the formats in jsonschema_format.h (unknown formats are
 * ignored). Numbers compare exactly (1.0 equals 1; integers beyond 2^53 are not rounded),
 * multipleOf works on decimals, string lengths count code points. A reference to another
 * document is resolved only from local files, through a map from URI prefixes to folders;
 * nothing is ever fetched from the network. The draft-07 meta-schema is built in.
 *
 * Not here: which schema goes with which delivery (the receiver decides), output formats. */
#ifndef WEBHOOKY_JSONSCHEMA_H
#define WEBHOOKY_JSONSCHEMA_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wh_error.h"

typedef struct jsonschema jsonschema;

/* Errors one validation records, at most this many by default. */
#define JSONSCHEMA_MAX_ERRORS 50
/* Schema applications nested deeper than this in one validation are an error (-ELOOP). */
#define JSONSCHEMA_MAX_DEPTH 4096
/* Documents (files) one compile may load through the ref map. */
#define JSONSCHEMA_MAX_DOCUMENTS 1000
/* Largest schema file read. */
#define JSONSCHEMA_MAX_FILE (64u << 20)

/* One entry of the ref map: a reference to an absolute URI that starts with prefix is read
 * from the file dir/REST, where REST is the remainder of the URI (without its fragment,
 * percent-decoded; a ".." segment or a query is refused). Options and map are borrowed: they
 * are read only while compiling. */
struct jsonschema_ref_map {
    const char *prefix; /* e.g. "http://localhost:1234/" */
    const char *dir;    /* e.g. "/usr/share/json-schema-test-suite/remotes" */
};

struct jsonschema_options {
    const char *base_uri; /* the schema's URI before any "$id"; NULL: none, so relative refs
                             to other documents do not resolve (jsonschema_load_file: the
                             file's file:// URI, and the file's folder is mapped) */
    const struct jsonschema_ref_map *ref_map; /* n_ref_map entries; the longest prefix wins */
    size_t n_ref_map;
    uint32_t regex_match_limit; /* PCRE2 match limit per search; 0: the default (1,000,000) */
};

struct jsonschema_error {
    char *pointer;       /* owned: RFC 6901 pointer into the instance ("" is the whole) */
    const char *keyword; /* static: the keyword that failed ("format", "required"; "false
                            schema" where the schema is false) */
    char *message;       /* owned: one sentence; instance text in it is quoted and
                            JSON-escaped (controls, DEL and C1 controls as \uXXXX) */
};

/* A caller-owned list of errors: jsonschema_errors_init, then any number of validations (each
 * starts by clearing it), then jsonschema_errors_finish. */
struct jsonschema_errors {
    struct jsonschema_error *v; /* owned, in the order found */
    size_t n;
    size_t max;          /* at most this many are recorded */
    bool truncated;      /* there were more than max errors; the rest were not recorded */
    struct wh_error err; /* why, when a validation returned < 0 */
};

void jsonschema_errors_init(struct jsonschema_errors *e, size_t max /* 0: the default */);
/* Drop the recorded errors (keeps max). */
void jsonschema_errors_clear(struct jsonschema_errors *e);
void jsonschema_errors_finish(struct jsonschema_errors *e);
/* [{"pointer", "keyword", "message"}, ...] as a new reference; NULL on out of memory. */
json_t *jsonschema_errors_to_json(const struct jsonschema_errors *e);

/* Compile a schema (borrowed: it is deep-copied, so the caller may change or free it after).
 * opts may be NULL. On success *ret is a new compiled schema (jsonschema_destroy it). Errors
 * name the schema location ("#/properties/id/pattern: invalid regular expression ...",
 * "#/items: cannot resolve $ref ..."): -EINVAL for a schema that is not valid draft-07 or a
 * "$ref" that does not resolve, -ELOOP for a "$ref" loop that never looks deeper into the
 * instance, -ENOENT/-EIO for a referenced file, -ENOMEM. */
int jsonschema_compile(json_t *schema, const struct jsonschema_options *opts, jsonschema **ret,
                       struct wh_error *err);

/* Read and compile a schema file. Unless opts says otherwise the base URI is the file's
 * absolute file:// URI and that URI's folder is mapped to the file's folder, so relative refs
 * ("common.json#/definitions/id") load sibling files. Every error starts with the path; a
 * JSON syntax error is "PATH:LINE:COLUMN: why". */
int jsonschema_load_file(const char *path, const struct jsonschema_options *opts, jsonschema **ret,
                         struct wh_error *err);

/* The built-in draft-07 meta-schema, compiled (for checking schemas). */
int jsonschema_compile_metaschema(jsonschema **ret, struct wh_error *err);

void jsonschema_destroy(jsonschema *s);

/* Read a JSON file (any JSON value) into *ret (a new reference). Integers too big for jansson
 * are read as doubles. "PATH:LINE:COLUMN: why" for a syntax error, "PATH: why" for a file
 * that cannot be read or is bigger than JSONSCHEMA_MAX_FILE. */
int jsonschema_read_file(const char *path, json_t **ret, struct wh_error *err);

/* Validate an instance (borrowed, not changed). Returns 0 when it is valid, 1 when it is not
 * (the errors are in *ret), or < 0 when it could not be decided: -E2BIG when a pattern hit
 * its match limit, -ELOOP when nested deeper than JSONSCHEMA_MAX_DEPTH, -ENOMEM; ret->err
 * says why. ret may be NULL to learn only the verdict (faster: it stops at the first error).
 * Safe to call from many threads at once with the same s. */
int jsonschema_validate(const jsonschema *s, json_t *instance, struct jsonschema_errors *ret);

/* The same for JSON text, parsed by a fast parser of its own (no jansson values are made;
 * integers of any size are read). -EBADMSG with "line L, column C: why" in ret->err when the
 * text is not JSON. */
int jsonschema_validate_text(const jsonschema *s, const char *text, size_t len,
                             struct jsonschema_errors *ret);

#endif
