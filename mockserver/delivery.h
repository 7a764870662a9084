/* delivery: one captured request, exactly as it arrived, and its JSON form.
 *
 * A delivery owns all of its memory. Headers are kept in arrival order with duplicates, as a
 * compact blob (name and value lengths as 32-bit little-endian numbers, then the bytes), which
 * is also how the store keeps them; header_iter walks it. delivery_to_json produces the API
 * shape, which later features extend but never change:
 *   id, received_at, endpoint, method, path, query, headers [[name, value]...],
 *   body | body_base64, body_size, truncated, remote_addr, response {status},
 *   signature {scheme, status, reason, secret_index}, message_id, event,
 *   schema {status, schema, errors}; response also has delay_ms, fault and rule, and
 *   responded_at, message_key, attempt, since_previous_ms follow. */
#ifndef WEBHOOKY_DELIVERY_H
#define WEBHOOKY_DELIVERY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct delivery {
    int64_t id;          /* assigned by the store when committed; 0 before */
    int64_t received_us; /* wall clock, microseconds since the Unix epoch */
    char *endpoint;      /* owned; configured endpoint name, NULL for the catch-all */
    char *method;        /* owned; never NULL */
    char *path;          /* owned; raw path as received (not percent-decoded) */
    char *query;         /* owned; raw query string without '?', NULL when the URI had none */
    struct buf headers;  /* header blob, see header_iter */
    size_t n_headers;    /* number of header pairs in the blob */
    struct buf body;     /* the stored body bytes (all of them unless truncated) */
    uint64_t body_size;  /* bytes the client sent or declared; > body.len when truncated */
    bool truncated;      /* the body was larger than the limit and only a prefix is stored */
    char remote_addr[64];/* "ip:port", "[ipv6]:port" */
    int status;          /* HTTP status answered; 0 when the connection was closed instead */
    /* signature verdict (all owned; sig_status NULL: no scheme configured) */
    char *sig_scheme;     /* "stripe", ... */
    char *sig_status;     /* "valid", "invalid", "expired", "missing", "malformed" */
    char *sig_reason;     /* a sentence a person can act on */
    int sig_secret_index; /* which configured secret matched; -1 when none */
    char *message_id;     /* owned; the idempotency key, NULL when there is none */
    char *event;          /* owned; the event name, NULL when none was found */
    /* payload schema verdict (all owned; schema_status NULL: no schemas configured) */
    char *schema_status;  /* "valid", "invalid", "no_schema", "not_json", "error" */
    char *schema_name;    /* the schema file used, "person.created.json" */
    char *schema_errors;  /* JSON text: [{"pointer", "keyword", "message"}, ...] */
    /* what the response script gave it */
    char *fault;          /* owned; "reset", "hang", ... or NULL when it was answered */
    int rule;             /* index of the script rule that answered; -1: the default answer */
    int64_t delay_ms;     /* delay applied before the answer (or how long a hang held) */
    int64_t responded_us; /* wall clock when the answer or fault went out; 0: not yet/unknown */
    bool respond_now;     /* private to the receiver: answered right after the commit, so the
                             store takes the commit time as responded_us */
    /* its place among its message's attempts */
    char *message_key;    /* owned; message_id, the endpoint's message_key, or a body hash */
    int64_t attempt;      /* 1, 2, ...; 0: unknown (stored before attempts were counted) */
    int64_t since_previous_us; /* time since the message's previous attempt; -1: first */
};

/* A new, empty delivery (all strings NULL, limits unset), or NULL on out of memory. */
struct delivery *delivery_create(void);
/* Free a delivery and everything it owns. NULL-safe. */
void delivery_destroy(struct delivery *d);

/* Append one header to the blob. 0, -ENOMEM. */
int delivery_add_header(struct delivery *d, const char *name, size_t name_len,
                        const char *value, size_t value_len);

/* Walk a header blob: header_iter_init, then header_iter_next until it returns false. The
 * name and value pointers are borrowed from the blob and are not NUL-terminated. A truncated
 * or corrupt blob simply ends the walk. */
struct header_iter {
    const unsigned char *p, *end;
};
void header_iter_init(struct header_iter *it, const void *blob, size_t len);
bool header_iter_next(struct header_iter *it, const char **name, size_t *name_len,
                      const char **value, size_t *value_len);

/* First header named `name` (ASCII case-insensitive) in the blob; borrowed pointer, not
 * NUL-terminated; NULL when absent. */
const char *delivery_header(const struct delivery *d, const char *name, size_t *ret_len);

/* The API's JSON for a delivery: a new reference, or NULL on out of memory. */
json_t *delivery_to_json(const struct delivery *d);

#endif
