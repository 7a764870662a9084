/* sig_shopify: Shopify's webhook signatures.
 *
 * X-Shopify-Hmac-Sha256 is the base64 (standard, padded) HMAC-SHA256 of the body, keyed with the
 * app's client secret. No timestamp (tolerance_s has no effect). The idempotency key is
 * X-Shopify-Webhook-Id. */
#include <errno.h>
#include <string.h>

#include "sig_scheme.h"
#include "sig_util.h"

#define H_SIG "X-Shopify-Hmac-Sha256"
#define H_ID "X-Shopify-Webhook-Id"

static int verify(const struct sig_config *c, const struct sig_request *req,
                  struct sig_verdict *v)
{
    const char *sig;
    size_t sig_len;
    char shown[48];
    sig_header_copy(req, H_ID, v->message_id, sizeof(v->message_id));
    if (!sig_header_need(req, H_SIG, NULL, v, &sig, &sig_len))
        return 0;
    struct sig_part body = {req->body, req->body_len};
    int match, r;
    unsigned char raw[32];
    size_t raw_len;
    if (sig_len == 64 && sig_all_hex(sig, sig_len)) {
        /* hex instead of base64: say so when it is otherwise right */
        if ((r = sig_match_hmac(c, SIG_SHA256, SIG_ENC_HEX, &body, 1, sig, sig_len, &match,
                                NULL)) < 0)
            return r;
        if (match >= 0) {
            sig_verdict_set(v, SIG_INVALID,
                            "the signature matches secrets[%d] but is written in hex; Shopify "
                            "sends the HMAC in base64",
                            match);
            return 0;
        }
    }
    if (sig_len != 44 || sig_base64_decode(sig, sig_len, raw, sizeof(raw), &raw_len) < 0 ||
        raw_len != 32) {
        sig_excerpt(shown, sizeof(shown), sig, sig_len);
        sig_verdict_set(v, SIG_MALFORMED,
                        H_SIG " '%s' is not the base64 of a 32-byte HMAC-SHA256 (44 characters)",
                        shown);
        return 0;
    }
    if ((r = sig_match_hmac(c, SIG_SHA256, SIG_ENC_BASE64, &body, 1, sig, sig_len, &match,
                            NULL)) < 0)
        return r;
    if (match >= 0) {
        v->secret_index = match;
        sig_verdict_set(v, SIG_VALID, "the signature matches secrets[%d]", match);
        return 0;
    }
    sig_verdict_no_match(v, 1, NULL, c->n_keys);
    sig_verdict_add(v, " (expected base64 HMAC-SHA256 of the body)");
    sig_verdict_note_truncated(v, req);
    return 0;
}

static int sign(const struct sig_config *c, const struct sig_sign_input *in, struct buf *out,
                struct wh_error *err)
{
    char text[SIG_TEXT_MAX], uuid[37];
    size_t len;
    struct sig_part body = {in->body, in->body_len};
    int r = sig_mac_text(SIG_SHA256, SIG_ENC_BASE64, c->keys[0].bytes, c->keys[0].len, &body, 1,
                         text, &len);
    if (r == 0 && !in->id)
        r = sig_random_uuid(uuid);
    if (r == 0)
        r = sig_add_header(out, H_ID, "%s", in->id ? in->id : uuid);
    if (r == 0)
        r = sig_add_header(out, H_SIG, "%s", text);
    return r;
}

static int64_t unit_ms(const struct sig_config *c)
{
    return 0;
}

const struct sig_scheme sig_scheme_shopify = {
    .name = "shopify",
    .timestamp_unit_ms = unit_ms,
    .verify = verify,
    .sign = sign,
};
