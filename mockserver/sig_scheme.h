/* sig_scheme: the internal interface between signature.c and one module per scheme.
 *
 * signature.c parses the common keys (scheme, secrets, tolerance_s), asks the scheme to turn
 * each secret into a key and to parse its own options, and dispatches verify and sign. A scheme
 * module defines one `const struct sig_scheme` and keeps everything else static. Not for use
 * outside mockserver/sig_*.c and signature.c. */
#ifndef WEBHOOKY_SIG_SCHEME_H
#define WEBHOOKY_SIG_SCHEME_H

#include <jansson.h>
#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "signature.h"
#include "wh_error.h"

enum sig_key_kind {
    SIG_KEY_HMAC,            /* bytes: the HMAC key */
    SIG_KEY_ED25519_PUBLIC,  /* pkey: verify only */
    SIG_KEY_ED25519_PRIVATE, /* pkey: a private key (verifies through its public half too) */
};

struct sig_key {
    enum sig_key_kind kind;
    char *text;           /* owned; the secret as configured (for diagnoses), NUL-terminated */
    size_t text_len;
    unsigned char *bytes; /* owned; HMAC key */
    size_t len;
    EVP_PKEY *pkey;       /* owned; ed25519 keys */
};

struct sig_config {
    const struct sig_scheme *scheme;
    struct sig_key keys[SIG_MAX_SECRETS];
    size_t n_keys;
    int64_t tolerance_s; /* 0: off */
    void *opts;          /* owned by the scheme (free_options) */
};

/* What sig_sign hands a scheme, with the defaults already filled in. */
struct sig_sign_input {
    const char *method, *path; /* never NULL */
    const void *body;
    size_t body_len;
    int64_t timestamp_ms; /* > 0 */
    const char *id;       /* NULL: the scheme generates one */
};

struct sig_scheme {
    const char *name;
    /* Option keys besides scheme, secrets and tolerance_s; NULL-terminated. */
    const char *const *options;
    /* Fill in a key from its text (ret->text, non-empty, already set). NULL: the text's bytes
     * are the HMAC key. On error, -EINVAL and a sentence in err (no pointer: the caller knows
     * which secret). */
    int (*load_key)(struct sig_key *ret, struct wh_error *err);
    /* Read the scheme's options from obj into c->opts. On error, -EINVAL, the offending key's
     * relative pointer in ptr (ptr_size bytes) and a sentence in err. NULL: no options. */
    int (*parse_options)(struct sig_config *c, json_t *obj, char *ptr, size_t ptr_size,
                         struct wh_error *err);
    void (*free_options)(void *opts);
    /* Milliseconds per timestamp unit (see sig_config_timestamp_unit_ms). */
    int64_t (*timestamp_unit_ms)(const struct sig_config *c);
    /* Fill v (status, reason, secret_index, message_id, nonce; scheme and defaults are set by
     * the caller). Returns 0 or -ENOMEM. */
    int (*verify)(const struct sig_config *c, const struct sig_request *req,
                  struct sig_verdict *v);
    int (*sign)(const struct sig_config *c, const struct sig_sign_input *in, struct buf *out,
                struct wh_error *err);
};

extern const struct sig_scheme sig_scheme_twenty;
extern const struct sig_scheme sig_scheme_stdwebhooks;
extern const struct sig_scheme sig_scheme_github;
extern const struct sig_scheme sig_scheme_stripe;
extern const struct sig_scheme sig_scheme_slack;
extern const struct sig_scheme sig_scheme_shopify;
extern const struct sig_scheme sig_scheme_hmac;

#endif
