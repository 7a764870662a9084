/* sig_util: what the signature schemes share: HMAC, hex and base64, header lookup in the
 * captured blob, timestamp parsing and tolerance messages, verdict text, random ids.
 *
 * Internal to mockserver/sig_*.c and signature.c. Nothing here allocates except sig_hmac (inside
 * OpenSSL, freed before it returns) and the buf-based helpers (through the buf they are handed).
 * Text written into a verdict is printable ASCII: bytes from a request go through sig_excerpt. */
#ifndef WEBHOOKY_SIG_UTIL_H
#define WEBHOOKY_SIG_UTIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "sig_scheme.h"
#include "signature.h"

/* ---- digests and encodings ---- */

enum sig_alg { SIG_SHA1, SIG_SHA256, SIG_SHA512 };
#define SIG_MAC_MAX 64 /* bytes of the largest digest (SHA-512) */

/* 20, 32, 64 */
size_t sig_alg_size(enum sig_alg a);
/* "sha1", "sha256", "sha512" */
const char *sig_alg_name(enum sig_alg a);

/* One piece of the signed content; the pieces are MACed in order, as if concatenated. */
struct sig_part {
    const void *data;
    size_t len;
};

/* HMAC(key, parts...) into out (SIG_MAC_MAX bytes; sig_alg_size(alg) are written). key_len may
 * be 0. Returns 0, or -ENOMEM when OpenSSL fails. */
int sig_hmac(enum sig_alg alg, const void *key, size_t key_len, const struct sig_part *parts,
             size_t n_parts, unsigned char *out);

/* Lowercase hex of in[0..n) into out (2n + 1 bytes, NUL-terminated). */
void sig_hex(const unsigned char *in, size_t n, char *out);
/* Base64 of in[0..n) into out (size bytes, NUL-terminated): standard alphabet with padding, or
 * with url the RFC 4648 URL alphabet without padding. Returns the length, or 0 when out is too
 * small (then out is ""). */
size_t sig_base64(const unsigned char *in, size_t n, bool url, char *out, size_t size);
/* Decode standard base64 (padding optional, no whitespace) into out (cap bytes). Returns 0 and
 * *ret_len, or -EINVAL (not base64, or longer than cap). */
int sig_base64_decode(const char *in, size_t len, unsigned char *out, size_t cap,
                      size_t *ret_len);
/* Are all n bytes hex digits (either case)? */
bool sig_all_hex(const char *s, size_t n);
/* How a MAC is written in a header. */
enum sig_enc { SIG_ENC_HEX, SIG_ENC_BASE64, SIG_ENC_BASE64URL };
#define SIG_TEXT_MAX 129 /* bytes for the longest encoded MAC (hex SHA-512) and its NUL */

/* The HMAC of parts under key k, encoded (hex lowercase; base64 padded; base64url unpadded)
 * into out (SIG_TEXT_MAX bytes). 0 or -ENOMEM. */
int sig_mac_text(enum sig_alg alg, enum sig_enc enc, const void *key, size_t key_len,
                 const struct sig_part *parts, size_t n_parts, char *out, size_t *ret_len);
/* For schemes with one signature: which HMAC key of c gives exactly sig (constant-time
 * comparison)? *ret_match is its index or -1; *ret_nocase (may be NULL) the first key that
 * matches ignoring ASCII case (a diagnosis), or -1. 0 or -ENOMEM. */
int sig_match_hmac(const struct sig_config *c, enum sig_alg alg, enum sig_enc enc,
                   const struct sig_part *parts, size_t n_parts, const char *sig, size_t sig_len,
                   int *ret_match, int *ret_nocase);
/* How many keys of c are HMAC keys. */
size_t sig_hmac_keys(const struct sig_config *c);

/* Equal strings, compared in constant time for equal lengths (CRYPTO_memcmp). */
bool sig_equal(const char *a, size_t alen, const char *b, size_t blen);
/* Equal ignoring ASCII case, also in constant time (at most SIG_TEXT_MAX bytes; longer is
 * unequal). For diagnosing uppercase hex. */
bool sig_equal_nocase(const char *a, size_t alen, const char *b, size_t blen);

/* The body as a JSON string literal, exactly as JavaScript's JSON.stringify(string) writes it
 * (", \ and C0 controls escaped, everything else as is). -EINVAL when the body is not UTF-8
 * (a JavaScript string would have replaced bytes), else 0, -ENOMEM or -E2BIG. */
int sig_json_quote(struct buf *out, const void *data, size_t len);

/* ---- headers ---- */

/* Is a header called name there at all (any value, any number of times)? */
bool sig_header_present(const struct sig_request *req, const char *name);
/* Is s an RFC 9110 header name (token characters, 1..128 bytes)? */
bool sig_valid_header_name(const char *s);

/* Look up header `name` (ASCII case-insensitive), its value trimmed of spaces and tabs.
 * Returns 1 and the borrowed value when it is there once and at most SIG_HEADER_MAX bytes;
 * 0 when absent (v untouched); -1 after making v `malformed` (repeated, too long). */
int sig_header_get(const struct sig_request *req, const char *name, struct sig_verdict *v,
                   const char **ret, size_t *ret_len);
/* The same for a header the scheme needs: absent makes v `missing` ("no NAME header" + hint,
 * hint may be NULL), and an empty value `malformed`. Returns true when usable. */
bool sig_header_need(const struct sig_request *req, const char *name, const char *hint,
                     struct sig_verdict *v, const char **ret, size_t *ret_len);
/* Copy an optional header's value into dst (size bytes) when present, it fits and holds no NUL
 * or control bytes; else dst is "". Used for message ids and nonces. */
void sig_header_copy(const struct sig_request *req, const char *name, char *dst, size_t size);
/* Copy s[0..n) into dst under the same rules. */
void sig_copy_text(char *dst, size_t size, const char *s, size_t n);

/* ---- timestamps ---- */

/* A whole number of 1..15 decimal digits (no sign, no spaces). 0 or -EINVAL. */
int sig_parse_timestamp(const char *s, size_t n, int64_t *ret);

/* Is timestamp ts (unit_ms milliseconds per unit, 1000 or 1) inside c's tolerance around the
 * request's now? future_too: also refuse timestamps too far ahead (schemes whose reference
 * libraries check both directions). Returns true inside (or tolerance 0); false with a reason
 * in why (size bytes), e.g. "timestamp 1736935200 is 412 s older than the 300 s tolerance". */
bool sig_time_check(const struct sig_config *c, const struct sig_request *req, int64_t ts,
                    int64_t unit_ms, bool future_too, char *why, size_t why_size);

/* The request's clock: req->now_ms, or the wall clock when it is 0. */
int64_t sig_request_now_ms(const struct sig_request *req);
/* Wall clock, milliseconds since the epoch. */
int64_t sig_now_ms(void);

/* ---- verdicts ---- */

void sig_verdict_set(struct sig_verdict *v, enum sig_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Append to the reason (truncated at the reason's size). */
void sig_verdict_add(struct sig_verdict *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Make v `expired` with `why` first, keeping what the signature check found after it. */
void sig_verdict_expire(struct sig_verdict *v, const char *why);
/* `invalid`: "the sha256 signature does not match the secret", "none of 3 v1 signatures matched
 * any of 2 secrets", ... what names the kind of signature ("v1", "sha256") or is NULL. */
void sig_verdict_no_match(struct sig_verdict *v, size_t n_sigs, const char *what,
                          size_t n_secrets);
/* When the body was truncated, say that no signature could match. */
void sig_verdict_note_truncated(struct sig_verdict *v, const struct sig_request *req);

/* s[0..n) quoted for a reason: at most 24 bytes, printable ASCII as is, others as \xNN, and
 * "..." when cut; always NUL-terminated (size >= 8). */
void sig_excerpt(char *out, size_t size, const void *s, size_t n);

/* ---- config ---- */

/* Write pointer (RFC 6901, relative to the signature object) into p (size bytes; p may be
 * NULL) and the message into err; returns -EINVAL. */
int sig_config_problem(char *p, size_t size, const char *pointer, struct wh_error *err,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* ---- signing ---- */

/* Append "Name: value\n". */
int sig_add_header(struct buf *out, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Random lowercase hex of nbytes random bytes into out (2 * nbytes + 1). 0 or -EIO. */
int sig_random_hex(char *out, size_t nbytes);
/* A random version-4 UUID into out (37 bytes). 0 or -EIO. */
int sig_random_uuid(char *out);
/* "msg_" + 27 random alphanumerics into out (32 bytes). 0 or -EIO. */
int sig_random_msg_id(char *out);
/* Is s non-empty printable ASCII without control characters (safe in a header line)? */
bool sig_header_safe(const char *s);

#endif
