/* signature: verify (and produce) webhook signatures: Twenty, Standard Webhooks (and Svix),
 * GitHub, Stripe, Slack, Shopify, and a configurable generic HMAC.
 *
 * An endpoint's "signature" object is compiled once into a sig_config (sig_config_parse); each
 * delivery is then checked with sig_verify, which always yields a verdict with a reason a person
 * can act on, never an error for bad input. Verification works on the raw body bytes and the
 * header blob as captured (see delivery.h), so the receiver, `webhooky verify` and the scenario
 * runner share it. sig_sign produces the headers a correct sender would send.
 *
 * Not here: replay tracking of nonces (the caller keeps a seen_set), the endpoint-level
 * message_id override, storing or showing verdicts.
 *
 * Ownership: a sig_config is a new object the caller destroys; it owns copies of everything it
 * needs and keeps no reference to the JSON it was parsed from. Everything in a sig_request is
 * borrowed for the call. A verdict is caller-owned storage, filled in completely by sig_verify.
 * A sig_config is immutable once parsed and may be used from several threads at once. */
#ifndef WEBHOOKY_SIGNATURE_H
#define WEBHOOKY_SIGNATURE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "wh_error.h"

/* Limits on what a sender controls: longer header values and more signatures than this are
 * `malformed`, not parsed. */
#define SIG_HEADER_MAX 8192
#define SIG_MAX_SIGNATURES 16
/* Limits on the config. */
#define SIG_MAX_SECRETS 16
#define SIG_SECRET_MAX 1024

enum sig_status {
    SIG_VALID,         /* a signature matched one of the secrets, inside the time window */
    SIG_INVALID,       /* well-formed, but nothing matched */
    SIG_EXPIRED,       /* the signed timestamp is outside the tolerance window */
    SIG_MISSING,       /* a header the scheme needs is absent */
    SIG_MALFORMED,     /* a header is there but cannot be parsed (the reason names the part) */
    SIG_NOT_CONFIGURED /* no scheme for this endpoint */
};

/* "valid", "invalid", "expired", "missing", "malformed", "not_configured" (static strings). */
const char *sig_status_name(enum sig_status s);

/* The scheme names sig_config_parse knows, as one static string for messages:
 * "twenty, standard-webhooks, github, stripe, slack, shopify, hmac". */
const char *sig_scheme_names(void);

typedef struct sig_config sig_config;

/* Compile an endpoint's "signature" object (borrowed; not kept):
 *   {"scheme": NAME, "secrets": ["...", ...], "tolerance_s": 300, scheme options...}
 * Common keys: scheme (required), secrets (required, 1..16 non-empty strings, several for
 * rotation), tolerance_s (0..31536000, default 300; 0 switches the timestamp check off).
 * Scheme options:
 *   github: allow_sha1 (bool, default false): accept X-Hub-Signature (sha1) when there is no
 *           X-Hub-Signature-256.
 *   hmac:   header (required), algorithm (sha1 | sha256 | sha512, default sha256),
 *           encoding (hex | base64 | base64url, default hex), prefix (default ""), template
 *           (default "{body}"; placeholders {body} {timestamp} {id} {method} {path}, "{{" and
 *           "}}" for literal braces), timestamp_header, timestamp_unit ("s" | "ms", default
 *           "s"), id_header.
 * "secrets_env": names of environment variables holding more secrets (after "secrets"), read
 * here, at parse time.
 * Secrets: standard-webhooks takes "whsec_" + base64 (HMAC, v1), "whpk_" + base64 of an
 * ed25519 public key (v1a) or "whsk_" + base64 of an ed25519 seed (v1a; can also sign); the
 * other schemes use the secret's bytes as the HMAC key (Stripe: the whole "whsec_..." text).
 *
 * On success *ret is a new config (sig_config_destroy it). On error, -EINVAL (or -ENOMEM) with
 * err saying what is wrong in words, and err_pointer (ptr_size bytes, may be NULL) receiving the
 * RFC 6901 pointer of the offending value relative to the signature object ("/secrets/1",
 * "/scheme", "" for the object itself), for the caller to turn into FILE:LINE:COLUMN. */
int sig_config_parse(json_t *obj, sig_config **ret, char *err_pointer, size_t ptr_size,
                     struct wh_error *err);
/* NULL-safe. */
void sig_config_destroy(sig_config *c);

/* The scheme's name (static string). */
const char *sig_config_scheme(const sig_config *c);
/* The tolerance in seconds (0: not checked). */
int64_t sig_config_tolerance(const sig_config *c);
/* Milliseconds per unit of the timestamp the scheme signs: 1000 (seconds), 1 (milliseconds:
 * twenty, hmac with timestamp_unit "ms"), or 0 when the scheme has no timestamp. */
int64_t sig_config_timestamp_unit_ms(const sig_config *c);

struct sig_request {                /* all borrowed */
    const char *method;             /* "POST"; NULL is read as "" */
    const char *path;               /* the path without the query; NULL is read as "" */
    const void *headers;            /* header blob, see delivery.h header_iter */
    size_t headers_len;
    const void *body;               /* the raw body bytes as received */
    size_t body_len;
    bool body_truncated;            /* only a prefix of the body was kept: no match possible */
    int64_t now_ms;                 /* wall clock for tolerance checks; 0: the current time */
};

struct sig_verdict {
    enum sig_status status;
    char scheme[32];       /* the scheme's name */
    char reason[320];      /* a sentence a person can act on; printable ASCII only */
    int secret_index;      /* which configured secret matched (0-based), -1 when none */
    char message_id[160];  /* the scheme's idempotency key when it has one and it fits, else "" */
    char nonce[80];        /* twenty: X-Twenty-Webhook-Nonce when present and it fits, else "";
                              replay tracking is the caller's */
};

/* Check one request. c may be NULL (verdict not_configured). Returns 0 with *ret filled in
 * completely (every bad input is a verdict, not an error), or -ENOMEM (-EINVAL for NULL
 * req/ret). Hostile bytes in headers never reach the reason unescaped. */
int sig_verify(const sig_config *c, const struct sig_request *req, struct sig_verdict *ret);

/* Append the headers a sender of this body would send, one "Name: value\n" line each, to out.
 * timestamp_ms 0 means now (schemes signing seconds use timestamp_ms / 1000); id NULL means a
 * generated one (Standard Webhooks "msg_...", GitHub and Shopify a UUID, Twenty a 32-hex nonce,
 * hmac with id_header a UUID); schemes without an id ignore it. Standard Webhooks and Stripe
 * carry one signature per secret (as during a rotation); the others sign with the first.
 * method and path (NULL: "POST", "/") matter only for hmac templates. Errors: -EINVAL (an id
 * with control characters; standard-webhooks with only whpk_ public keys), -ENOMEM, -E2BIG
 * (out's limit). */
int sig_sign(const sig_config *c, const char *method, const char *path, const void *body,
             size_t body_len, int64_t timestamp_ms, const char *id, struct buf *out,
             struct wh_error *err);

#endif
