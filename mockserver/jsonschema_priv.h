/* jsonschema_priv: the compiled form of a schema, shared by the compiler (jsonschema.c) and the
 * validator (jsonschema_validate.c). Not for use outside those two files.
 *
 * A compiled schema is a graph of nodes, one per schema object reached (refs are edges, so it
 * may have cycles). A node is true, false, a "$ref" to another node, or a list of checks, each
 * one keyword (or a group that must be evaluated together, like properties with
 * patternProperties and additionalProperties). Everything is owned by the struct jsonschema. */
#ifndef WEBHOOKY_JSONSCHEMA_PRIV_H
#define WEBHOOKY_JSONSCHEMA_PRIV_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jsonschema.h"
#include "jsonschema_format.h"
#include "jsonschema_regex.h"
#include "jsonschema_value.h"

enum node_kind { NODE_TRUE, NODE_FALSE, NODE_SCHEMA };

/* the instance classes a check looks at */
enum {
    CLASS_NULL = 1,
    CLASS_BOOL = 2,
    CLASS_NUM = 4,
    CLASS_STR = 8,
    CLASS_ARR = 16,
    CLASS_OBJ = 32,
    CLASS_ANY = 63,
};

/* the names of "type" */
enum {
    TYPE_NULL = 1,
    TYPE_BOOLEAN = 2,
    TYPE_INTEGER = 4,
    TYPE_NUMBER = 8,
    TYPE_STRING = 16,
    TYPE_ARRAY = 32,
    TYPE_OBJECT = 64,
};

enum op {
    OP_TYPE,
    OP_CONST,
    OP_ENUM,
    OP_MULTIPLE_OF,
    OP_MAXIMUM,
    OP_EXCLUSIVE_MAXIMUM,
    OP_MINIMUM,
    OP_EXCLUSIVE_MINIMUM,
    OP_MAX_LENGTH,
    OP_MIN_LENGTH,
    OP_FORMAT,
    OP_PATTERN,
    OP_MAX_ITEMS,
    OP_MIN_ITEMS,
    OP_UNIQUE_ITEMS,
    OP_ITEMS, /* items (one schema or a list) and additionalItems */
    OP_CONTAINS,
    OP_MAX_PROPERTIES,
    OP_MIN_PROPERTIES,
    OP_REQUIRED,
    OP_PROPERTIES, /* properties, patternProperties and additionalProperties */
    OP_DEPENDENCIES,
    OP_PROPERTY_NAMES,
    OP_ALL_OF,
    OP_ANY_OF,
    OP_ONE_OF,
    OP_NOT,
    OP_IF,
};

struct node;

struct key {
    const char *s; /* borrowed from the schema document */
    uint32_t len;
    uint32_t hash; /* jsv_hash_key */
};

struct prop {
    struct key key;
    struct node *node;
};

struct pattern_prop {
    struct jsonschema_regex *re;
    struct node *node;
};

struct props {
    struct prop *v; /* "properties" */
    size_t n;
    uint32_t *index; /* open addressing over v (index + 1), when n > 8; cap slots */
    size_t cap;
    struct pattern_prop *pv; /* "patternProperties" */
    size_t pn;
    struct node *additional; /* "additionalProperties", NULL when absent */
};

struct dep {
    struct key key;
    struct node *node; /* the schema form, or NULL */
    struct key *req;   /* the array form */
    size_t n_req;
};

struct check {
    uint8_t op;      /* enum op */
    uint8_t applies; /* CLASS_* bits of the instances it looks at */
    union {
        uint8_t types;    /* OP_TYPE */
        struct jsv value; /* OP_CONST, the bounds, OP_MULTIPLE_OF */
        struct {
            const struct jsv *v;
            size_t n;
        } en;                          /* OP_ENUM */
        uint64_t count;                /* the length and size limits */
        struct jsonschema_regex *re;   /* OP_PATTERN */
        enum jsonschema_format format; /* OP_FORMAT */
        struct node *sub;              /* OP_CONTAINS, OP_PROPERTY_NAMES, OP_NOT */
        struct {
            struct node **v;
            size_t n;
        } list; /* OP_ALL_OF, OP_ANY_OF, OP_ONE_OF */
        struct {
            struct node *one; /* "items" as one schema, or NULL */
            struct node **v;  /* "items" as a list */
            size_t n;
            struct node *additional; /* "additionalItems" (with the list form only) */
        } items;
        struct {
            struct node *cond, *then, *otherwise;
        } iff;
        struct props *props;
        struct {
            struct key *v;
            size_t n;
        } req;
        struct {
            struct dep *v;
            size_t n;
        } deps;
    } u;
};

struct node {
    uint8_t kind;     /* enum node_kind */
    uint8_t mark;     /* the loop check's colour */
    struct node *ref; /* "$ref": the target; the node has nothing else */
    struct check *checks;
    size_t n_checks;
    struct node **same; /* nodes applied to the same instance location (loop check) */
    size_t n_same;
    const char *where; /* "#/properties/a", or "URI#/pointer" in another document */
};

struct jsonschema {
    struct node *root;
    json_t *docs;           /* URI -> document: every document compiled (owned references) */
    struct jsv_arena arena; /* const, enum and bound values */
    void **allocs;          /* every other block of the compiled schema (owned) */
    size_t n_allocs, cap_allocs;
    struct jsonschema_regex **regexes; /* owned */
    size_t n_regexes, cap_regexes;
};

/* Follow "$ref" to the node that does the work (refs never loop: the compiler refuses). */
static inline const struct node *node_deref(const struct node *n)
{
    while (n->ref)
        n = n->ref;
    return n;
}

#endif
