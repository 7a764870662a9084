/* sig_stdwebhooks: the Standard Webhooks specification (and Svix, which sends the same with
 * svix-* header names).
 *
 * webhook-id, webhook-timestamp (seconds) and webhook-signature, a space-separated list of
 * "VERSION,SIGNATURE" entries. v1 is base64 HMAC-SHA256 keyed with the base64 decoding of the
 * secret after "whsec_"; v1a is a base64 ed25519 signature checked with a "whpk_" public key (or
 * the public half of a "whsk_" seed). Both sign id + "." + timestamp + "." + body. Any matching
 * entry with any key makes the delivery valid; other versions are skipped. The reference
 * libraries reject timestamps too old and too new, so both directions are checked. The
 * idempotency key is webhook-id. */
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "sig_scheme.h"
#include "sig_util.h"

enum { V1, V1A };

struct entry {
    int version;
    const char *sig; /* the base64 text */
    size_t len;
    size_t position; /* 1-based place in the header */
};

static bool starts(const char *s, size_t n, const char *prefix)
{
    size_t pl = strlen(prefix);
    return n >= pl && memcmp(s, prefix, pl) == 0;
}

static int load_key(struct sig_key *k, struct wh_error *err)
{
    unsigned char raw[SIG_SECRET_MAX];
    size_t len = 0;
    const char *t = k->text;
    size_t n = k->text_len;
    int r = -EINVAL;
    if (starts(t, n, "whsec_")) {
        if (sig_base64_decode(t + 6, n - 6, raw, sizeof(raw), &len) < 0 || len == 0) {
            wh_error_set(err, -EINVAL, "secret must start with whsec_ and be base64 (the part "
                                       "after whsec_ is not base64)");
            goto out;
        }
        if (!(k->bytes = OPENSSL_malloc(len))) {
            r = wh_error_set(err, -ENOMEM, "out of memory");
            goto out;
        }
        memcpy(k->bytes, raw, len);
        k->len = len;
        k->kind = SIG_KEY_HMAC;
    } else if (starts(t, n, "whpk_")) {
        if (sig_base64_decode(t + 5, n - 5, raw, sizeof(raw), &len) < 0 || len != 32) {
            wh_error_set(err, -EINVAL, "a whpk_ public key must be whpk_ followed by the base64 "
                                       "of a 32-byte ed25519 public key");
            goto out;
        }
        k->kind = SIG_KEY_ED25519_PUBLIC;
        if (!(k->pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, 32))) {
            wh_error_set(err, -EINVAL, "the whpk_ key is not a usable ed25519 public key");
            goto out;
        }
    } else if (starts(t, n, "whsk_")) {
        if (sig_base64_decode(t + 5, n - 5, raw, sizeof(raw), &len) < 0 ||
            (len != 32 && len != 64)) {
            wh_error_set(err, -EINVAL, "a whsk_ private key must be whsk_ followed by the base64 "
                                       "of a 32-byte ed25519 seed");
            goto out;
        }
        k->kind = SIG_KEY_ED25519_PRIVATE;
        if (!(k->pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, raw, 32))) {
            wh_error_set(err, -EINVAL, "the whsk_ key is not a usable ed25519 private key");
            goto out;
        }
        if (len == 64) { /* seed + public key, as libsodium keeps it: the halves must agree */
            unsigned char pub[32];
            size_t pl = sizeof(pub);
            if (!EVP_PKEY_get_raw_public_key(k->pkey, pub, &pl) || pl != 32 ||
                memcmp(pub, raw + 32, 32) != 0) {
                wh_error_set(err, -EINVAL, "the whsk_ key's second half is not the public key "
                                           "of its first half (give the 32-byte seed)");
                goto out;
            }
        }
    } else {
        wh_error_set(err, -EINVAL, "secret must start with whsec_ and be base64 (or be an "
                                   "ed25519 key for v1a: whpk_ public, whsk_ private)");
        goto out;
    }
    r = 0;
out:
    OPENSSL_cleanse(raw, sizeof(raw));
    return r;
}

/* Is sig a valid ed25519 signature of msg under k? 1 yes, 0 no, -ENOMEM. */
static int ed25519_verify(const struct sig_key *k, const struct entry *e, const struct buf *msg)
{
    unsigned char sig[64];
    size_t len;
    if (sig_base64_decode(e->sig, e->len, sig, sizeof(sig), &len) < 0 || len != 64)
        return 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx)
        return -ENOMEM;
    int ok = EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k->pkey) == 1 &&
             EVP_DigestVerify(ctx, sig, len, (const unsigned char *)msg->data, msg->len) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

static int ed25519_sign(const struct sig_key *k, const struct buf *msg, char *out, size_t size)
{
    unsigned char sig[64];
    size_t len = sizeof(sig);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx)
        return -ENOMEM;
    int ok = EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->pkey) == 1 &&
             EVP_DigestSign(ctx, sig, &len, (const unsigned char *)msg->data, msg->len) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return -ENOMEM;
    return sig_base64(sig, len, false, out, size) ? 0 : -ENOMEM;
}

/* id + "." + ts + "." + body in one piece (ed25519 signs in one shot). */
static int whole_message(struct buf *msg, const char *id, size_t id_len, const char *ts,
                         size_t ts_len, const void *body, size_t body_len)
{
    int r = buf_reserve(msg, id_len + ts_len + body_len + 2);
    if (r == 0)
        r = buf_append(msg, id, id_len);
    if (r == 0)
        r = buf_append_byte(msg, '.');
    if (r == 0)
        r = buf_append(msg, ts, ts_len);
    if (r == 0)
        r = buf_append_byte(msg, '.');
    if (r == 0)
        r = buf_append(msg, body, body_len);
    return r;
}

/* Split the signature header; returns false after a malformed verdict (too many entries).
 * The first unusable entry is described in bad. */
static bool parse_entries(const char *name, const char *sig, size_t sig_len, struct entry *e,
                          size_t *ret_n, size_t *ret_other, char *other, size_t other_size,
                          char *bad, size_t bad_size, struct sig_verdict *v)
{
    size_t n = 0, tokens = 0, n_other = 0;
    char shown[48];
    bad[0] = other[0] = '\0';
    for (size_t i = 0; i < sig_len;) {
        if (sig[i] == ' ') {
            i++;
            continue;
        }
        size_t start = i;
        while (i < sig_len && sig[i] != ' ')
            i++;
        const char *tok = sig + start;
        size_t tl = i - start;
        if (++tokens > SIG_MAX_SIGNATURES) {
            sig_verdict_set(v, SIG_MALFORMED, "%s has more than %d signatures", name,
                            SIG_MAX_SIGNATURES);
            return false;
        }
        const char *comma = memchr(tok, ',', tl);
        sig_excerpt(shown, sizeof(shown), tok, tl);
        if (!comma) {
            if (!bad[0])
                snprintf(bad, bad_size, "%s entry %zu '%s' is not VERSION,SIGNATURE (like v1,...)",
                         name, tokens, shown);
            continue;
        }
        size_t vl = (size_t)(comma - tok);
        const char *s = comma + 1;
        size_t sl = tl - vl - 1;
        int version = vl == 2 && memcmp(tok, "v1", 2) == 0    ? V1
                      : vl == 3 && memcmp(tok, "v1a", 3) == 0 ? V1A
                                                              : -1;
        if (version < 0) {
            if (!n_other++)
                sig_excerpt(other, other_size, tok, vl);
            continue;
        }
        unsigned char raw[64];
        size_t len;
        size_t want = version == V1 ? 32 : 64;
        if (sl == 0) {
            if (!bad[0])
                snprintf(bad, bad_size, "%s entry %zu '%s' has no signature after the comma",
                         name, tokens, shown);
        } else if (sl != (want + 2) / 3 * 4 ||
                   sig_base64_decode(s, sl, raw, sizeof(raw), &len) < 0 || len != want) {
            if (!bad[0])
                snprintf(bad, bad_size, "%s entry %zu '%s' is not the base64 of a %zu-byte %s",
                         name, tokens, shown, want,
                         version == V1 ? "HMAC-SHA256" : "ed25519 signature");
        } else {
            e[n++] = (struct entry){version, s, sl, tokens};
        }
    }
    *ret_n = n;
    *ret_other = n_other;
    return true;
}

/* Diagnose the commonest key mistake: the secret text (or the part after whsec_) used as the
 * HMAC key as it is, without base64-decoding it. */
static int raw_key_used(const struct sig_config *c, const struct sig_part *parts,
                        const struct entry *e, size_t n, int *ret_key, bool *ret_whole)
{
    *ret_key = -1;
    for (size_t i = 0; i < c->n_keys && *ret_key < 0; i++) {
        const struct sig_key *k = &c->keys[i];
        if (k->kind != SIG_KEY_HMAC)
            continue;
        for (int whole = 1; whole >= 0 && *ret_key < 0; whole--) {
            char text[SIG_TEXT_MAX];
            size_t len;
            int r = sig_mac_text(SIG_SHA256, SIG_ENC_BASE64, k->text + (whole ? 0 : 6),
                                 k->text_len - (whole ? 0 : 6), parts, 5, text, &len);
            if (r < 0)
                return r;
            for (size_t j = 0; j < n; j++)
                if (e[j].version == V1 && sig_equal(text, len, e[j].sig, e[j].len)) {
                    *ret_key = (int)i;
                    *ret_whole = whole;
                }
        }
    }
    return 0;
}

static int verify(const struct sig_config *c, const struct sig_request *req,
                  struct sig_verdict *v)
{
    bool svix = !sig_header_present(req, "webhook-signature") &&
                sig_header_present(req, "svix-signature");
    const char *h_id = svix ? "svix-id" : "webhook-id";
    const char *h_ts = svix ? "svix-timestamp" : "webhook-timestamp";
    const char *h_sig = svix ? "svix-signature" : "webhook-signature";
    const char *id, *ts, *sig;
    size_t id_len, ts_len, sig_len;
    char shown[48];
    sig_header_copy(req, h_id, v->message_id, sizeof(v->message_id));
    if (!sig_header_need(req, h_sig, "(nor svix-signature)", v, &sig, &sig_len) ||
        !sig_header_need(req, h_id, NULL, v, &id, &id_len) ||
        !sig_header_need(req, h_ts, NULL, v, &ts, &ts_len))
        return 0;
    int64_t t;
    if (sig_parse_timestamp(ts, ts_len, &t) < 0) {
        sig_excerpt(shown, sizeof(shown), ts, ts_len);
        sig_verdict_set(v, SIG_MALFORMED, "%s '%s' is not a whole number of seconds since 1970",
                        h_ts, shown);
        return 0;
    }
    struct entry e[SIG_MAX_SIGNATURES];
    size_t n, n_other;
    char other[48], bad[200];
    if (!parse_entries(h_sig, sig, sig_len, e, &n, &n_other, other, sizeof(other), bad,
                       sizeof(bad), v))
        return 0;

    size_t n_hmac = sig_hmac_keys(c), n_ed = c->n_keys - n_hmac, n_v1 = 0, n_v1a = 0;
    for (size_t j = 0; j < n; j++) {
        n_v1 += e[j].version == V1;
        n_v1a += e[j].version == V1A;
    }
    struct sig_part parts[] = {
        {id, id_len}, {".", 1}, {ts, ts_len}, {".", 1}, {req->body, req->body_len},
    };
    int match = -1;
    const struct entry *hit = NULL;
    int r = 0;
    for (size_t i = 0; i < c->n_keys && n_v1 && !hit; i++) {
        const struct sig_key *k = &c->keys[i];
        if (k->kind != SIG_KEY_HMAC)
            continue;
        char text[SIG_TEXT_MAX];
        size_t len;
        if ((r = sig_mac_text(SIG_SHA256, SIG_ENC_BASE64, k->bytes, k->len, parts, 5, text,
                              &len)) < 0)
            return r;
        for (size_t j = 0; j < n && !hit; j++)
            if (e[j].version == V1 && sig_equal(text, len, e[j].sig, e[j].len)) {
                match = (int)i;
                hit = &e[j];
            }
    }
    if (!hit && n_v1a && n_ed) {
        struct buf msg;
        buf_init(&msg, 0);
        r = whole_message(&msg, id, id_len, ts, ts_len, req->body, req->body_len);
        for (size_t i = 0; i < c->n_keys && r == 0 && !hit; i++) {
            if (c->keys[i].kind == SIG_KEY_HMAC)
                continue;
            for (size_t j = 0; j < n && r == 0 && !hit; j++) {
                if (e[j].version != V1A)
                    continue;
                int ok = ed25519_verify(&c->keys[i], &e[j], &msg);
                if (ok < 0)
                    r = ok;
                else if (ok) {
                    match = (int)i;
                    hit = &e[j];
                }
            }
        }
        buf_finish(&msg);
        if (r < 0)
            return r;
    }

    if (hit) {
        v->secret_index = match;
        const char *ver = hit->version == V1 ? "v1" : "v1a (ed25519)";
        if (n == 1)
            sig_verdict_set(v, SIG_VALID, "the %s signature matches secrets[%d]", ver, match);
        else
            sig_verdict_set(v, SIG_VALID, "the %s signature (entry %zu of %s) matches secrets[%d]",
                            ver, hit->position, h_sig, match);
    } else if (bad[0]) {
        sig_verdict_set(v, SIG_MALFORMED, "%s", bad);
    } else if (n == 0) {
        sig_verdict_set(v, SIG_INVALID, "%s has no v1 signature (only other versions, such as "
                                        "'%s')", h_sig, other);
    } else if (!(n_v1 && n_hmac) && !(n_v1a && n_ed)) {
        if (n_v1)
            sig_verdict_set(v, SIG_INVALID, "%s has only v1 (HMAC) signatures, but the secrets "
                                            "are ed25519 keys; configure the whsec_ secret",
                            h_sig);
        else
            sig_verdict_set(v, SIG_INVALID, "%s has only v1a (ed25519) signatures; configure the "
                                            "sender's whpk_ public key to check them",
                            h_sig);
    } else {
        int key;
        bool whole;
        if ((r = raw_key_used(c, parts, e, n, &key, &whole)) < 0)
            return r;
        if (key >= 0) {
            sig_verdict_set(v, SIG_INVALID,
                            "the v1 signature was made with %s of secrets[%d] as the key; the "
                            "key is the base64 decoding of the part after whsec_",
                            whole ? "the whole text" : "the text after whsec_", key);
        } else {
            sig_verdict_no_match(v, n, n_v1a ? (n_v1 ? "v1/v1a" : "v1a") : "v1", c->n_keys);
            sig_verdict_add(v, " (signed content: %s + \".\" + %s + \".\" + body)", h_id, h_ts);
        }
        sig_verdict_note_truncated(v, req);
    }
    if (v->status == SIG_VALID || v->status == SIG_INVALID) {
        char why[sizeof(v->reason)];
        if (!sig_time_check(c, req, t, 1000, true, why, sizeof(why)))
            sig_verdict_expire(v, why);
    }
    return 0;
}

static int sign(const struct sig_config *c, const struct sig_sign_input *in, struct buf *out,
                struct wh_error *err)
{
    char ts[24], gen[32];
    const char *id = in->id;
    int r = 0;
    if (!id) {
        if ((r = sig_random_msg_id(gen)) < 0)
            return r;
        id = gen;
    }
    int tl = snprintf(ts, sizeof(ts), "%lld", (long long)(in->timestamp_ms / 1000));
    struct sig_part parts[] = {
        {id, strlen(id)}, {".", 1}, {ts, (size_t)tl}, {".", 1}, {in->body, in->body_len},
    };
    struct buf sigs, msg;
    buf_init(&sigs, 0);
    buf_init(&msg, 0);
    for (size_t i = 0; i < c->n_keys && r == 0; i++) {
        const struct sig_key *k = &c->keys[i];
        char text[SIG_TEXT_MAX];
        size_t len;
        if (k->kind == SIG_KEY_ED25519_PUBLIC)
            continue;
        if (k->kind == SIG_KEY_HMAC) {
            r = sig_mac_text(SIG_SHA256, SIG_ENC_BASE64, k->bytes, k->len, parts, 5, text, &len);
        } else {
            if (!msg.len)
                r = whole_message(&msg, id, strlen(id), ts, (size_t)tl, in->body, in->body_len);
            if (r == 0)
                r = ed25519_sign(k, &msg, text, sizeof(text));
        }
        if (r == 0)
            r = buf_printf(&sigs, "%s%s,%s", sigs.len ? " " : "",
                           k->kind == SIG_KEY_HMAC ? "v1" : "v1a", text);
    }
    if (r == 0 && !sigs.len)
        r = wh_error_set(err, -EINVAL, "cannot sign with only ed25519 public keys (whpk_); give "
                                       "the whsk_ private key or a whsec_ secret");
    if (r == 0)
        r = sig_add_header(out, "webhook-id", "%s", id);
    if (r == 0)
        r = sig_add_header(out, "webhook-timestamp", "%s", ts);
    if (r == 0)
        r = sig_add_header(out, "webhook-signature", "%s", sigs.data);
    buf_finish(&sigs);
    buf_finish(&msg);
    return r;
}

static int64_t unit_ms(const struct sig_config *c)
{
    return 1000;
}

const struct sig_scheme sig_scheme_stdwebhooks = {
    .name = "standard-webhooks",
    .load_key = load_key,
    .timestamp_unit_ms = unit_ms,
    .verify = verify,
    .sign = sign,
};
