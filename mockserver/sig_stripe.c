/* sig_stripe: Stripe's webhook signatures.
 *
 * Stripe-Signature: "t=<seconds>,v1=<hex>[,v1=<hex>...]" (other schemes such as v0 are ignored);
 * each v1 is the lowercase hex HMAC-SHA256 of t + "." + body, keyed with the whole "whsec_..."
 * secret as bytes (not decoded). Several v1 entries appear while a secret is being rolled. The
 * official libraries reject only timestamps older than the tolerance (not ones in the future),
 * and so does this. The idempotency key is the "id" of the event in the body. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "sig_scheme.h"
#include "sig_util.h"

#define H_SIG "Stripe-Signature"
#define ID_BODY_MAX (1u << 20) /* bodies parsed for the event id */

struct v1 {
    const char *hex;
    size_t position; /* 1-based among the v1 entries */
};

/* The event's "id" from a JSON body, when it has one. */
static void event_id(const struct sig_request *req, struct sig_verdict *v)
{
    const char *p = req->body;
    size_t i = 0;
    while (i < req->body_len && p[i] && strchr(" \t\r\n", p[i]))
        i++;
    if (req->body_truncated || req->body_len > ID_BODY_MAX || i == req->body_len || p[i] != '{')
        return;
    json_t *doc = json_loadb(req->body, req->body_len, 0, NULL);
    json_t *id = json_object_get(doc, "id");
    if (json_is_string(id))
        sig_copy_text(v->message_id, sizeof(v->message_id), json_string_value(id),
                      json_string_length(id));
    json_decref(doc);
}

/* Diagnose a Standard-Webhooks-style key: the base64 decoding of the part after whsec_. */
static int decoded_key_used(const struct sig_config *c, const struct sig_part *parts,
                            const struct v1 *sigs, size_t n, int *ret_key)
{
    *ret_key = -1;
    for (size_t i = 0; i < c->n_keys && *ret_key < 0; i++) {
        const struct sig_key *k = &c->keys[i];
        unsigned char raw[SIG_SECRET_MAX];
        size_t raw_len;
        if (k->len <= 6 || memcmp(k->bytes, "whsec_", 6) != 0 ||
            sig_base64_decode((const char *)k->bytes + 6, k->len - 6, raw, sizeof(raw),
                              &raw_len) < 0)
            continue;
        char text[SIG_TEXT_MAX];
        size_t len;
        int r = sig_mac_text(SIG_SHA256, SIG_ENC_HEX, raw, raw_len, parts, 3, text, &len);
        OPENSSL_cleanse(raw, sizeof(raw));
        if (r < 0)
            return r;
        for (size_t j = 0; j < n; j++)
            if (sig_equal(text, len, sigs[j].hex, 64))
                *ret_key = (int)i;
    }
    return 0;
}

static int verify(const struct sig_config *c, const struct sig_request *req,
                  struct sig_verdict *v)
{
    const char *sig, *ts = NULL;
    size_t sig_len, ts_len = 0;
    char shown[48];
    event_id(req, v);
    if (!sig_header_need(req, H_SIG, NULL, v, &sig, &sig_len))
        return 0;
    struct v1 sigs[SIG_MAX_SIGNATURES];
    size_t n = 0, part = 0, n_other = 0;
    for (size_t i = 0; i <= sig_len; i++) {
        size_t start = i;
        while (i < sig_len && sig[i] != ',')
            i++;
        const char *item = sig + start;
        size_t il = i - start;
        const char *eq = memchr(item, '=', il);
        sig_excerpt(shown, sizeof(shown), item, il);
        part++;
        if (!eq || eq == item) {
            sig_verdict_set(v, SIG_MALFORMED, H_SIG " part %zu '%s' is not key=value", part,
                            shown);
            return 0;
        }
        size_t kl = (size_t)(eq - item), vl = il - kl - 1;
        if (kl == 1 && item[0] == 't') {
            if (ts) {
                sig_verdict_set(v, SIG_MALFORMED, H_SIG " has more than one t= timestamp");
                return 0;
            }
            ts = eq + 1;
            ts_len = vl;
        } else if (kl == 2 && memcmp(item, "v1", 2) == 0) {
            if (n == SIG_MAX_SIGNATURES) {
                sig_verdict_set(v, SIG_MALFORMED, H_SIG " has more than %d v1 signatures",
                                SIG_MAX_SIGNATURES);
                return 0;
            }
            if (vl != 64 || !sig_all_hex(eq + 1, vl)) {
                sig_verdict_set(v, SIG_MALFORMED,
                                H_SIG " v1 signature %zu '%s' is not 64 hex characters", n + 1,
                                shown);
                return 0;
            }
            sigs[n] = (struct v1){eq + 1, n + 1};
            n++;
        } else {
            n_other++;
        }
    }
    int64_t t;
    if (!ts) {
        sig_verdict_set(v, SIG_MALFORMED, H_SIG " has no t= timestamp");
        return 0;
    }
    if (sig_parse_timestamp(ts, ts_len, &t) < 0) {
        sig_excerpt(shown, sizeof(shown), ts, ts_len);
        sig_verdict_set(v, SIG_MALFORMED,
                        H_SIG " t= '%s' is not a whole number of seconds since 1970", shown);
        return 0;
    }
    if (n == 0) {
        sig_verdict_set(v, SIG_INVALID, H_SIG " has no v1= signature%s", n_other ?
                        " (only other schemes such as v0=, which are not checked)" : "");
        return 0;
    }

    struct sig_part parts[] = {{ts, ts_len}, {".", 1}, {req->body, req->body_len}};
    int match = -1, nocase = -1;
    const struct v1 *hit = NULL;
    for (size_t i = 0; i < c->n_keys && !hit; i++) {
        const struct sig_key *k = &c->keys[i];
        char text[SIG_TEXT_MAX];
        size_t len;
        int r = sig_mac_text(SIG_SHA256, SIG_ENC_HEX, k->bytes, k->len, parts, 3, text, &len);
        if (r < 0)
            return r;
        for (size_t j = 0; j < n && !hit; j++) {
            if (sig_equal(text, len, sigs[j].hex, 64)) {
                match = (int)i;
                hit = &sigs[j];
            } else if (nocase < 0 && sig_equal_nocase(text, len, sigs[j].hex, 64)) {
                nocase = (int)i;
            }
        }
    }
    if (hit) {
        v->secret_index = match;
        if (n == 1)
            sig_verdict_set(v, SIG_VALID, "the v1 signature matches secrets[%d]", match);
        else
            sig_verdict_set(v, SIG_VALID, "v1 signature %zu of %zu matches secrets[%d]",
                            hit->position, n, match);
    } else {
        int decoded;
        int r = decoded_key_used(c, parts, sigs, n, &decoded);
        if (r < 0)
            return r;
        if (decoded >= 0)
            sig_verdict_set(v, SIG_INVALID,
                            "the v1 signature was made with the base64 decoding of secrets[%d] "
                            "as the key; Stripe uses the whole whsec_ string as it is",
                            decoded);
        else if (nocase >= 0)
            sig_verdict_set(v, SIG_INVALID,
                            "the v1 signature matches secrets[%d] but is in uppercase hex; "
                            "Stripe sends (and its libraries compare) lowercase",
                            nocase);
        else {
            sig_verdict_no_match(v, n, "v1", c->n_keys);
            sig_verdict_add(v, " (expected lowercase hex HMAC-SHA256 of t + \".\" + body, keyed "
                               "with the whole secret)");
        }
        sig_verdict_note_truncated(v, req);
    }
    char why[sizeof(v->reason)];
    if (!sig_time_check(c, req, t, 1000, false, why, sizeof(why)))
        sig_verdict_expire(v, why);
    return 0;
}

static int sign(const struct sig_config *c, const struct sig_sign_input *in, struct buf *out,
                struct wh_error *err)
{
    char ts[24];
    int tl = snprintf(ts, sizeof(ts), "%lld", (long long)(in->timestamp_ms / 1000));
    struct sig_part parts[] = {{ts, (size_t)tl}, {".", 1}, {in->body, in->body_len}};
    int r = buf_printf(out, H_SIG ": t=%s", ts);
    for (size_t i = 0; i < c->n_keys && r == 0; i++) {
        char hex[SIG_TEXT_MAX];
        size_t len;
        r = sig_mac_text(SIG_SHA256, SIG_ENC_HEX, c->keys[i].bytes, c->keys[i].len, parts, 3,
                         hex, &len);
        if (r == 0)
            r = buf_printf(out, ",v1=%s", hex);
    }
    return r < 0 ? r : buf_append_byte(out, '\n');
}

static int64_t unit_ms(const struct sig_config *c)
{
    return 1000;
}

const struct sig_scheme sig_scheme_stripe = {
    .name = "stripe",
    .timestamp_unit_ms = unit_ms,
    .verify = verify,
    .sign = sign,
};
