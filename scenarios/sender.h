/* sender: the reference webhook sender, `webhooky send` and the scenario runner's `send` step.
 *
 * Delivers one message to a URL the way a careful sender does: signed with a signature scheme
 * (a fresh timestamp and signature on every attempt, the message id constant), retried on 5xx,
 * 429, 408, timeouts and connection errors with a fixed or exponential backoff, honouring
 * Retry-After (seconds or an HTTP date), stopping at a 2xx, at 410 Gone and at other 4xx. For
 * testing the harness it can misbehave in one chosen way (enum sender_misbehave).
 *
 * Not here: printing (each attempt is handed to a callback), option parsing, scenario files.
 * The run blocks the calling thread for the whole delivery, waits included; set *stop from
 * another thread (or a signal handler) to end it early.
 *
 * Ownership: everything in sender_options is borrowed for the duration of sender_run; the
 * attempt handed to the callback is valid only during the call. */
#ifndef WEBHOOKY_SENDER_H
#define WEBHOOKY_SENDER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mockserver/buf.h"
#include "mockserver/signature.h"
#include "mockserver/wh_error.h"

/* Limits: attempts at most SENDER_MAX_RETRIES + 1, waits at most SENDER_MAX_WAIT_MS each. */
#define SENDER_MAX_RETRIES 100
#define SENDER_MAX_WAIT_MS (24LL * 3600 * 1000)
#define SENDER_MAX_HEADERS 64

/* One wrong thing to do, for checking that the harness notices. */
enum sender_misbehave {
    SENDER_CORRECT = 0,
    SENDER_BAD_SIGNATURE,       /* sign other bytes than the body sent */
    SENDER_DOUBLE_ENCODED,      /* sign JSON.stringify(body), the Twenty docs' bug */
    SENDER_STALE_TIMESTAMP,     /* sign with a timestamp an hour old */
    SENDER_NO_RETRY,            /* give up after the first failed attempt */
    SENDER_RETRY_AFTER_SUCCESS, /* send once more after a 2xx */
    SENDER_NEW_ID_PER_ATTEMPT,  /* a new message id on every attempt */
    SENDER_SAME_TIMESTAMP,      /* reuse the first attempt's timestamp (and signature) */
    SENDER_WRONG_CONTENT_TYPE,  /* Content-Type: text/plain */
    SENDER_SCHEMA_VIOLATION,    /* drop the first member of the body's top-level object */
    SENDER_IGNORE_RETRY_AFTER,  /* wait the backoff even when Retry-After says longer */
    SENDER_IGNORE_410,          /* retry after 410 Gone as after a 5xx */
    SENDER_NO_BACKOFF,          /* retry at once */
};

/* "bad-signature", ... (static string), or NULL for an unknown value. */
const char *sender_misbehave_name(enum sender_misbehave m);
/* The mode called name: 0, or -EINVAL when there is none (for messages: sender_misbehave_names). */
int sender_misbehave_parse(const char *name, enum sender_misbehave *ret);
/* "bad-signature, double-encoded, ...": every name, one static string. */
const char *sender_misbehave_names(void);

struct sender_backoff {
    bool exponential; /* false: fixed */
    int64_t base_ms;  /* fixed: every wait; exponential: the first */
    double factor;    /* exponential: each wait is the previous one times this (>= 1) */
    int64_t max_ms;   /* exponential: cap on one wait; 0: SENDER_MAX_WAIT_MS */
};

/* Parse "fixed:MS" or "exponential:BASE_MS:FACTOR[:MAX_MS]". 0, or -EINVAL with err saying
 * what is wrong. */
int sender_backoff_parse(const char *text, struct sender_backoff *ret, struct wh_error *err);

/* What the sender does after an attempt. */
enum sender_next {
    SENDER_NEXT_DONE,  /* delivered (2xx) */
    SENDER_NEXT_RETRY, /* another attempt after wait_ms */
    SENDER_NEXT_GIVE_UP,
};

struct sender_attempt {
    int number;         /* 1, 2, ... */
    int64_t sent_us;    /* wall clock, microseconds, when the request started */
    double duration_ms; /* until the answer or the error */
    long status;        /* the HTTP status; 0 when no answer arrived */
    bool timed_out;     /* no answer within the timeout */
    char error[256];    /* transport error in words ("Connection refused"); "" with a status */
    int64_t
        retry_after_ms;   /* the answer's Retry-After in milliseconds; -1 when none or unreadable */
    char id[160];         /* the message id (Twenty: the nonce) sent; "" when none */
    int64_t timestamp_ms; /* the signed timestamp in milliseconds; 0 when unsigned */
    enum sender_next next;
    int64_t wait_ms; /* with SENDER_NEXT_RETRY: the wait before the next attempt */
    const char *why; /* static: why `next`: "delivered", "server error", "gone (410)", ... */
};

struct sender_options {
    const char *url;       /* http:// or https:// */
    const sig_config *sig; /* NULL: unsigned */
    const char *event;     /* the event for the built-in sample body; NULL: "person.created"
                              with the twenty scheme, else "contact.created" */
    const void *body;      /* NULL: the built-in sample for the event (sender_sample_body) */
    size_t body_len;
    const char *id;             /* the message id; NULL: a generated one. Twenty has no message
                                   id: this is the first attempt's nonce, and later attempts
                                   get fresh nonces (a nonce is never reused) */
    const char *const *headers; /* n_headers extra "Name: value" lines; they replace the
                                   sender's own Content-Type and User-Agent */
    size_t n_headers;
    int retries; /* attempts after the first, 0..SENDER_MAX_RETRIES */
    struct sender_backoff backoff;
    int64_t timeout_ms;         /* per attempt (connect and answer); 0: 10000 */
    int64_t max_retry_after_ms; /* a longer Retry-After is cut to this; 0: SENDER_MAX_WAIT_MS */
    enum sender_misbehave misbehave;
    const atomic_bool *stop; /* may be NULL; when it becomes true the run ends after the
                                current request, without waiting ("stopped") */
    /* Called after each attempt (may be NULL), with ctx. */
    void (*on_attempt)(void *ctx, const struct sender_attempt *a);
    void *ctx;
};

struct sender_result {
    bool delivered;   /* an attempt got a 2xx */
    int attempts;     /* how many were made */
    long last_status; /* of the last attempt; 0 when it got no answer */
    char why[160];    /* why the run ended, a sentence: "delivered", "gave up: gone (410)", ... */
};

/* The body to send when none is given: Twenty's payload shape (as schemas/twenty) for the
 * twenty scheme, otherwise Standard Webhooks' {"type", "timestamp", "data"}; fresh ids, the
 * current time, url as Twenty's targetUrl. Appended to out. 0, -ENOMEM or -EIO (no random). */
int sender_sample_body(const char *scheme, const char *event, const char *url, struct buf *out,
                       struct wh_error *err);

/* A Retry-After value (v[0..len), spaces around allowed) in milliseconds from now_us (wall
 * clock, microseconds): delay-seconds, or an HTTP date in any of the three forms RFC 9110
 * allows (a date in the past is 0). -1 when it is neither. Capped at SENDER_MAX_WAIT_MS. */
int64_t sender_retry_after_ms(const char *v, size_t len, int64_t now_us);

/* Deliver the message. 0 when the run ended (delivered or not: see *ret), or -EINVAL for
 * options that cannot work (not an http(s) URL, a misbehaviour that needs a signature scheme
 * without one, schema-violation with a body that is not a JSON object), -ENOMEM, -EIO; err
 * says why. */
int sender_run(const struct sender_options *o, struct sender_result *ret, struct wh_error *err);

#endif
