/* jsonschema_value: the compact, read-only JSON values the validator works on (jsv).
 *
 * The validator does not walk jansson values directly: an instance is first turned into a jsv
 * tree, either parsed straight from text (fast: one pass, strings without escapes point into
 * the text, no allocation per value) or converted from a json_t (strings point into the json_t).
 * A tree lives in a jsv_arena and is freed with it in one go. Numbers keep their kind: an
 * integer that fits in 64 bits is exact (JSV_INT), any other number is a double (JSV_REAL), so
 * integers too big for jansson still parse. Objects keep the last of duplicate keys, as jansson
 * and JSON.parse do.
 *
 * Also here: the JSON Schema view of equality (1.0 equals 1, key order does not matter), exact
 * comparison of integers and doubles, and multipleOf done on decimals.
 *
 * Not a general JSON library: nothing here writes JSON or changes a value. */
#ifndef WEBHOOKY_JSONSCHEMA_VALUE_H
#define WEBHOOKY_JSONSCHEMA_VALUE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wh_error.h"

/* Nesting deeper than this is refused (jansson's parser has the same limit). */
#define JSV_MAX_DEPTH 2048

enum jsv_type {
    JSV_NULL,
    JSV_FALSE,
    JSV_TRUE,
    JSV_INT,
    JSV_REAL,
    JSV_STRING,
    JSV_ARRAY,
    JSV_OBJECT
};

struct jsv_member;

struct jsv {
    uint8_t type; /* enum jsv_type */
    uint32_t n;   /* bytes of a string (valid UTF-8, may hold NUL), items, members */
    union {
        int64_t i;                        /* JSV_INT */
        double d;                         /* JSV_REAL, always finite */
        const char *s;                    /* JSV_STRING, not NUL-terminated */
        const struct jsv *items;          /* JSV_ARRAY */
        const struct jsv_member *members; /* JSV_OBJECT, unique keys, in document order */
    } u;
};

struct jsv_member {
    const char *key; /* not NUL-terminated */
    uint32_t key_len;
    uint32_t hash; /* jsv_hash_key(key, key_len) */
    struct jsv v;
};

/* ---- arena ---- */

struct jsv_arena_chunk;

struct jsv_arena {
    char *cur, *end;                /* free space of the current block */
    struct jsv_arena_chunk *chunks; /* heap blocks, newest first (owned) */
    size_t next;                    /* size of the next heap block */
};

/* Start an arena. buf[0..size) (borrowed, may be NULL/0) is used first, e.g. stack space. */
void jsv_arena_init(struct jsv_arena *a, void *buf, size_t size);
/* size bytes aligned for any jsv; NULL when out of memory. */
void *jsv_arena_alloc(struct jsv_arena *a, size_t size);
/* Free every heap block; values allocated from the arena are gone. */
void jsv_arena_finish(struct jsv_arena *a);

/* ---- making values ---- */

/* Parse one JSON text (any value, surrounded by optional whitespace) into *ret. Strings without
 * escapes point into text, so text must outlive the tree. -EBADMSG with "line L, column C:
 * what" (columns in characters) when it is not JSON; -ENOMEM. */
int jsv_parse(struct jsv_arena *a, const char *text, size_t len, struct jsv *ret,
              struct wh_error *err);

/* The tree for a jansson value (borrowed: strings and keys point into it, so it must outlive
 * the tree and not change). -ELOOP when nested deeper than JSV_MAX_DEPTH, -E2BIG for a string
 * or container over 4 GiB, -ENOMEM. */
int jsv_from_json(struct jsv_arena *a, json_t *json, struct jsv *ret, struct wh_error *err);

/* FNV-1a over the bytes of a key. */
uint32_t jsv_hash_key(const char *key, size_t len);

/* ---- reading values ---- */

/* The member called key in an object, or NULL. */
const struct jsv *jsv_get(const struct jsv *obj, const char *key, size_t len, uint32_t hash);

/* Numbers: JSV_INT or JSV_REAL. */
static inline bool jsv_is_number(const struct jsv *v)
{
    return v->type == JSV_INT || v->type == JSV_REAL;
}

/* An integer in the JSON Schema sense: JSV_INT, or a double without a fractional part. */
bool jsv_is_integer(const struct jsv *v);

/* <0, 0, >0 as a < b, exactly (an int64 and a double are compared without rounding). */
int jsv_compare_numbers(const struct jsv *a, const struct jsv *b);

/* Is v an integer multiple of divisor (> 0)? Decimal numbers are taken as the shortest decimal
 * that reads back as the same double, so 0.3 is a multiple of 0.1 and 0.0075 of 0.0001. */
bool jsv_multiple_of(const struct jsv *v, const struct jsv *divisor);

/* JSON Schema equality: numbers by value, strings by bytes, arrays item by item, objects by
 * key set and values. */
bool jsv_equal(const struct jsv *a, const struct jsv *b);

/* A hash consistent with jsv_equal (equal values hash alike). */
uint64_t jsv_hash(const struct jsv *v);

/* Characters (code points) of a string. */
size_t jsv_utf8_length(const char *s, size_t len);

/* Write a number as a person would read it ("12", "0.1", "1e+300") into buf (NUL-terminated,
 * cut to size). */
void jsv_format_number(const struct jsv *v, char *buf, size_t size);

#endif
