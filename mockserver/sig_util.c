#include "sig_util.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "delivery.h"
#include "encode.h"

/* ---- digests and encodings ---- */

size_t sig_alg_size(enum sig_alg a)
{
    return a == SIG_SHA1 ? 20 : a == SIG_SHA512 ? 64 : 32;
}

const char *sig_alg_name(enum sig_alg a)
{
    return a == SIG_SHA1 ? "sha1" : a == SIG_SHA512 ? "sha512" : "sha256";
}

int sig_hmac(enum sig_alg alg, const void *key, size_t key_len, const struct sig_part *parts,
             size_t n_parts, unsigned char *out)
{
    static const unsigned char no_key[1];
    char digest[8]; /* OSSL_PARAM wants a mutable string */
    snprintf(digest, sizeof(digest), "%s",
             alg == SIG_SHA1 ? "SHA1" : alg == SIG_SHA512 ? "SHA512" : "SHA256");
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    int r = -ENOMEM;
    size_t outl = 0;
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
    /* a NULL key would mean "keep the previous key", so an empty key is a valid pointer */
    if (!ctx || !EVP_MAC_init(ctx, key_len ? key : no_key, key_len, params))
        goto out;
    for (size_t i = 0; i < n_parts; i++)
        if (parts[i].len && !EVP_MAC_update(ctx, parts[i].data, parts[i].len))
            goto out;
    if (!EVP_MAC_final(ctx, out, &outl, SIG_MAC_MAX) || outl != sig_alg_size(alg))
        goto out;
    r = 0;
out:
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    return r;
}

void sig_hex(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

size_t sig_base64(const unsigned char *in, size_t n, bool url, char *out, size_t size)
{
    static const char std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    static const char safe[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const char *tbl = url ? safe : std;
    size_t need = (n + 2) / 3 * 4 + 1;
    if (size < need) {
        if (size)
            out[0] = '\0';
        return 0;
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        out[o++] = tbl[(v >> 18) & 63];
        out[o++] = tbl[(v >> 12) & 63];
        if (i + 1 < n)
            out[o++] = tbl[(v >> 6) & 63];
        else if (!url)
            out[o++] = '=';
        if (i + 2 < n)
            out[o++] = tbl[v & 63];
        else if (!url)
            out[o++] = '=';
    }
    out[o] = '\0';
    return o;
}

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int sig_base64_decode(const char *in, size_t len, unsigned char *out, size_t cap,
                      size_t *ret_len)
{
    size_t pad = 0;
    while (len > 0 && in[len - 1] == '=' && pad < 2) {
        len--;
        pad++;
    }
    if ((pad && (len + pad) % 4 != 0) || len % 4 == 1)
        return -EINVAL;
    size_t n = len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0);
    if (n > cap)
        return -EINVAL;
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64_value((unsigned char)in[i]);
        if (v < 0)
            return -EINVAL;
        acc = ((acc << 6) | (uint32_t)v) & 0xFFFFFF;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    *ret_len = o;
    return 0;
}

bool sig_all_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return false;
    }
    return true;
}

bool sig_equal(const char *a, size_t alen, const char *b, size_t blen)
{
    return alen == blen && CRYPTO_memcmp(a, b, alen) == 0;
}

static char lower(char c)
{
    return (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
}

bool sig_equal_nocase(const char *a, size_t alen, const char *b, size_t blen)
{
    char la[SIG_TEXT_MAX], lb[SIG_TEXT_MAX];
    if (alen != blen || alen > sizeof(la))
        return false;
    for (size_t i = 0; i < alen; i++) {
        la[i] = lower(a[i]);
        lb[i] = lower(b[i]);
    }
    return CRYPTO_memcmp(la, lb, alen) == 0;
}

int sig_json_quote(struct buf *out, const void *data, size_t len)
{
    if (!encode_utf8_valid(data, len))
        return -EINVAL;
    const unsigned char *p = data;
    int r = buf_reserve(out, len + 2);
    if (r == 0)
        r = buf_append_byte(out, '"');
    size_t run = 0; /* bytes copied as they are, appended in one go */
    for (size_t i = 0; i < len && r == 0; i++) {
        unsigned char c = p[i];
        const char *esc = NULL;
        char u[8];
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        default:
            if (c < 0x20) {
                snprintf(u, sizeof(u), "\\u%04x", c);
                esc = u;
            }
        }
        if (!esc) {
            run++;
            continue;
        }
        r = buf_append(out, p + i - run, run);
        run = 0;
        if (r == 0)
            r = buf_append_str(out, esc);
    }
    if (r == 0)
        r = buf_append(out, p + len - run, run);
    if (r == 0)
        r = buf_append_byte(out, '"');
    return r;
}

/* ---- headers ---- */

int sig_header_get(const struct sig_request *req, const char *name, struct sig_verdict *v,
                   const char **ret, size_t *ret_len)
{
    struct header_iter it;
    const char *n, *hv, *val = NULL;
    size_t nl, hvl, vl = 0, want = strlen(name);
    unsigned count = 0;
    header_iter_init(&it, req->headers, req->headers_len);
    while (header_iter_next(&it, &n, &nl, &hv, &hvl)) {
        if (nl == want && strncasecmp(n, name, nl) == 0 && memchr(n, '\0', nl) == NULL) {
            if (count++ == 0) {
                val = hv;
                vl = hvl;
            }
        }
    }
    if (count == 0)
        return 0;
    if (count > 1) {
        sig_verdict_set(v, SIG_MALFORMED, "%s appears %u times; a sender sends it once", name,
                        count);
        return -1;
    }
    while (vl > 0 && (val[0] == ' ' || val[0] == '\t')) {
        val++;
        vl--;
    }
    while (vl > 0 && (val[vl - 1] == ' ' || val[vl - 1] == '\t'))
        vl--;
    if (vl > SIG_HEADER_MAX) {
        sig_verdict_set(v, SIG_MALFORMED, "%s is %zu bytes long, more than the %d allowed", name,
                        vl, SIG_HEADER_MAX);
        return -1;
    }
    *ret = val;
    *ret_len = vl;
    return 1;
}

bool sig_header_need(const struct sig_request *req, const char *name, const char *hint,
                     struct sig_verdict *v, const char **ret, size_t *ret_len)
{
    int r = sig_header_get(req, name, v, ret, ret_len);
    if (r < 0)
        return false;
    if (r == 0) {
        sig_verdict_set(v, SIG_MISSING, "no %s header%s%s", name, hint ? " " : "",
                        hint ? hint : "");
        return false;
    }
    if (*ret_len == 0) {
        sig_verdict_set(v, SIG_MALFORMED, "%s is empty", name);
        return false;
    }
    return true;
}

void sig_copy_text(char *dst, size_t size, const char *s, size_t n)
{
    dst[0] = '\0';
    if (n >= size)
        return;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return;
    memcpy(dst, s, n);
    dst[n] = '\0';
}

void sig_header_copy(const struct sig_request *req, const char *name, char *dst, size_t size)
{
    struct sig_verdict scratch;
    const char *val;
    size_t len;
    dst[0] = '\0';
    if (sig_header_get(req, name, &scratch, &val, &len) == 1)
        sig_copy_text(dst, size, val, len);
}

/* ---- timestamps ---- */

int sig_parse_timestamp(const char *s, size_t n, int64_t *ret)
{
    if (n == 0 || n > 15)
        return -EINVAL;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -EINVAL;
        v = v * 10 + (s[i] - '0');
    }
    *ret = v;
    return 0;
}

int64_t sig_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t sig_request_now_ms(const struct sig_request *req)
{
    return req->now_ms ? req->now_ms : sig_now_ms();
}

bool sig_time_check(const struct sig_config *c, const struct sig_request *req, int64_t ts,
                    int64_t unit_ms, bool future_too, char *why, size_t why_size)
{
    why[0] = '\0';
    if (c->tolerance_s <= 0)
        return true;
    int64_t now = sig_request_now_ms(req);
    /* whole seconds for schemes that sign seconds, as their libraries compare */
    if (unit_ms == 1000)
        now = now / 1000 * 1000;
    int64_t age = now - ts * unit_ms;
    int64_t tol = c->tolerance_s * 1000;
    int n;
    if (age > tol) {
        n = snprintf(why, why_size, "timestamp %" PRId64 " is %" PRId64
                     " s older than the %" PRId64 " s tolerance",
                     ts, (age + 999) / 1000, c->tolerance_s);
    } else if (future_too && -age > tol) {
        n = snprintf(why, why_size, "timestamp %" PRId64 " is %" PRId64
                     " s in the future, beyond the %" PRId64 " s tolerance",
                     ts, (-age + 999) / 1000, c->tolerance_s);
    } else {
        return true;
    }
    /* the commonest cause of a wildly wrong timestamp: the wrong unit */
    size_t used = n > 0 && (size_t)n < why_size ? (size_t)n : why_size - 1;
    if (unit_ms == 1 && ts < 100000000000)
        snprintf(why + used, why_size - used,
                 "; it looks like seconds, but this scheme's timestamp is in milliseconds");
    else if (unit_ms == 1000 && ts >= 100000000000)
        snprintf(why + used, why_size - used,
                 "; it looks like milliseconds, but this scheme's timestamp is in seconds");
    return false;
}

/* ---- verdicts ---- */

void sig_verdict_set(struct sig_verdict *v, enum sig_status st, const char *fmt, ...)
{
    va_list ap;
    v->status = st;
    va_start(ap, fmt);
    vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
    va_end(ap);
}

void sig_verdict_add(struct sig_verdict *v, const char *fmt, ...)
{
    size_t used = strnlen(v->reason, sizeof(v->reason));
    if (used >= sizeof(v->reason) - 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->reason + used, sizeof(v->reason) - used, fmt, ap);
    va_end(ap);
}

void sig_verdict_expire(struct sig_verdict *v, const char *why)
{
    char before[sizeof(v->reason)];
    memcpy(before, v->reason, sizeof(before));
    if (v->status == SIG_VALID)
        sig_verdict_set(v, SIG_EXPIRED, "%s; the signature itself matches secrets[%d]", why,
                        v->secret_index);
    else
        sig_verdict_set(v, SIG_EXPIRED, "%s; the signature does not match either: %s", why,
                        before);
}

void sig_verdict_no_match(struct sig_verdict *v, size_t n_sigs, const char *what,
                          size_t n_secrets)
{
    const char *sp = what ? " " : "";
    what = what ? what : "";
    v->secret_index = -1;
    if (n_sigs == 1 && n_secrets == 1)
        sig_verdict_set(v, SIG_INVALID, "the %s%ssignature does not match the secret", what, sp);
    else if (n_sigs == 1)
        sig_verdict_set(v, SIG_INVALID, "the %s%ssignature matches none of the %zu secrets", what,
                        sp, n_secrets);
    else if (n_secrets == 1)
        sig_verdict_set(v, SIG_INVALID, "none of %zu %s%ssignatures matched the secret", n_sigs,
                        what, sp);
    else
        sig_verdict_set(v, SIG_INVALID, "none of %zu %s%ssignatures matched any of %zu secrets",
                        n_sigs, what, sp, n_secrets);
}

void sig_verdict_note_truncated(struct sig_verdict *v, const struct sig_request *req)
{
    if (req->body_truncated)
        sig_verdict_add(v, "; only the first %zu bytes of the body were kept (it was larger than "
                           "the receiver's --max-body), so no signature can match",
                        req->body_len);
}

void sig_excerpt(char *out, size_t size, const void *s, size_t n)
{
    const unsigned char *p = s;
    size_t o = 0, i = 0;
    for (; i < n && i < 24; i++) {
        unsigned char c = p[i];
        bool plain = c >= 0x20 && c < 0x7f && c != '\\' && c != '\'';
        if (o + (plain ? 1 : 4) + 4 > size)
            break;
        if (plain)
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, size - o, "\\x%02x", c);
    }
    if (i < n && o + 4 <= size) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

/* ---- signing ---- */

int sig_add_header(struct buf *out, const char *name, const char *fmt, ...)
{
    int r = buf_printf(out, "%s: ", name);
    if (r < 0)
        return r;
    va_list ap;
    va_start(ap, fmt);
    r = buf_vprintf(out, fmt, ap);
    va_end(ap);
    return r < 0 ? r : buf_append_byte(out, '\n');
}

int sig_random_hex(char *out, size_t nbytes)
{
    unsigned char raw[64];
    if (nbytes > sizeof(raw) || RAND_bytes(raw, (int)nbytes) != 1)
        return -EIO;
    sig_hex(raw, nbytes, out);
    return 0;
}

int sig_random_uuid(char *out)
{
    unsigned char u[16];
    if (RAND_bytes(u, sizeof(u)) != 1)
        return -EIO;
    u[6] = (unsigned char)((u[6] & 0x0F) | 0x40);
    u[8] = (unsigned char)((u[8] & 0x3F) | 0x80);
    char hex[33];
    sig_hex(u, sizeof(u), hex);
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
    return 0;
}

int sig_random_msg_id(char *out)
{
    static const char alnum[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    memcpy(out, "msg_", 4);
    size_t o = 4;
    while (o < 31) {
        unsigned char raw[64];
        if (RAND_bytes(raw, sizeof(raw)) != 1)
            return -EIO;
        for (size_t i = 0; i < sizeof(raw) && o < 31; i++)
            if (raw[i] < 248) /* 4 * 62: no bias */
                out[o++] = alnum[raw[i] % 62];
    }
    out[31] = '\0';
    return 0;
}

bool sig_header_safe(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
            return false;
    return true;
}

/* ---- shared matching ---- */

int sig_mac_text(enum sig_alg alg, enum sig_enc enc, const void *key, size_t key_len,
                 const struct sig_part *parts, size_t n_parts, char *out, size_t *ret_len)
{
    unsigned char mac[SIG_MAC_MAX];
    int r = sig_hmac(alg, key, key_len, parts, n_parts, mac);
    if (r < 0)
        return r;
    size_t n = sig_alg_size(alg);
    if (enc == SIG_ENC_HEX) {
        sig_hex(mac, n, out);
        *ret_len = 2 * n;
    } else {
        *ret_len = sig_base64(mac, n, enc == SIG_ENC_BASE64URL, out, SIG_TEXT_MAX);
    }
    OPENSSL_cleanse(mac, sizeof(mac));
    return 0;
}

size_t sig_hmac_keys(const struct sig_config *c)
{
    size_t n = 0;
    for (size_t i = 0; i < c->n_keys; i++)
        n += c->keys[i].kind == SIG_KEY_HMAC;
    return n;
}

int sig_match_hmac(const struct sig_config *c, enum sig_alg alg, enum sig_enc enc,
                   const struct sig_part *parts, size_t n_parts, const char *sig, size_t sig_len,
                   int *ret_match, int *ret_nocase)
{
    *ret_match = -1;
    if (ret_nocase)
        *ret_nocase = -1;
    for (size_t i = 0; i < c->n_keys; i++) {
        const struct sig_key *k = &c->keys[i];
        if (k->kind != SIG_KEY_HMAC)
            continue;
        char text[SIG_TEXT_MAX];
        size_t len;
        int r = sig_mac_text(alg, enc, k->bytes, k->len, parts, n_parts, text, &len);
        if (r < 0)
            return r;
        if (sig_equal(text, len, sig, sig_len)) {
            *ret_match = (int)i;
            return 0;
        }
        if (ret_nocase && *ret_nocase < 0 && sig_equal_nocase(text, len, sig, sig_len))
            *ret_nocase = (int)i;
    }
    return 0;
}

/* ---- headers and config ---- */

bool sig_header_present(const struct sig_request *req, const char *name)
{
    struct header_iter it;
    const char *n, *v;
    size_t nl, vl, want = strlen(name);
    header_iter_init(&it, req->headers, req->headers_len);
    while (header_iter_next(&it, &n, &nl, &v, &vl))
        if (nl == want && strncasecmp(n, name, nl) == 0 && memchr(n, '\0', nl) == NULL)
            return true;
    return false;
}

bool sig_valid_header_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 128)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              strchr("!#$%&'*+-.^_`|~", *s)))
            return false;
    return true;
}


int sig_config_problem(char *p, size_t size, const char *pointer, struct wh_error *err,
                       const char *fmt, ...)
{
    if (p && size)
        snprintf(p, size, "%s", pointer);
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
        err->code = -EINVAL;
    }
    return -EINVAL;
}
