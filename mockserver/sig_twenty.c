/* sig_twenty: Twenty CRM's webhook signatures.
 *
 * X-Twenty-Webhook-Timestamp is epoch milliseconds; X-Twenty-Webhook-Signature is the lowercase
 * hex HMAC-SHA256, keyed with the secret's UTF-8 bytes, of timestamp + ":" + body;
 * X-Twenty-Webhook-Nonce (32 hex characters) is not signed and is handed to the caller for replay
 * tracking. Twenty sends no signature headers at all when the webhook's secret is empty.
 *
 * Twenty's documentation shows verification code that JSON-encodes the already-encoded body a
 * second time; when nothing matches, that variant is tried so the reason can say so. Twenty
 * publishes no reference verifier: the timestamp is checked in both directions, as Standard
 * Webhooks does. No idempotency key: Twenty sends none. */
#include <errno.h>
#include <string.h>

#include "sig_scheme.h"
#include "sig_util.h"

#define H_SIG "X-Twenty-Webhook-Signature"
#define H_TS "X-Twenty-Webhook-Timestamp"
#define H_NONCE "X-Twenty-Webhook-Nonce"

/* Which secret signs the body written as a JSON string literal, as the docs' code does? */
static int double_encoded(const struct sig_config *c, const struct sig_request *req,
                          const char *ts, size_t ts_len, const char *sig, size_t sig_len,
                          int *ret_match)
{
    *ret_match = -1;
    struct buf quoted;
    buf_init(&quoted, 0);
    int r = sig_json_quote(&quoted, req->body, req->body_len);
    if (r == -EINVAL) /* not UTF-8: no JavaScript string holds these bytes */
        r = 0;
    else if (r == 0) {
        struct sig_part parts[] = {{ts, ts_len}, {":", 1}, {quoted.data, quoted.len}};
        r = sig_match_hmac(c, SIG_SHA256, SIG_ENC_HEX, parts, 3, sig, sig_len, ret_match, NULL);
    }
    buf_finish(&quoted);
    return r;
}

static int verify(const struct sig_config *c, const struct sig_request *req,
                  struct sig_verdict *v)
{
    const char *sig, *ts;
    size_t sig_len, ts_len;
    char shown[48];
    sig_header_copy(req, H_NONCE, v->nonce, sizeof(v->nonce));
    if (!sig_header_need(req, H_SIG, "(Twenty sends none when the webhook's secret is empty)", v,
                         &sig, &sig_len) ||
        !sig_header_need(req, H_TS, NULL, v, &ts, &ts_len))
        return 0;
    int64_t t;
    if (sig_parse_timestamp(ts, ts_len, &t) < 0) {
        sig_excerpt(shown, sizeof(shown), ts, ts_len);
        sig_verdict_set(v, SIG_MALFORMED,
                        H_TS " '%s' is not a whole number of milliseconds since 1970", shown);
        return 0;
    }
    if (sig_len != 64 || !sig_all_hex(sig, sig_len)) {
        sig_excerpt(shown, sizeof(shown), sig, sig_len);
        sig_verdict_set(v, SIG_MALFORMED,
                        H_SIG " '%s' is not 64 hex characters (an HMAC-SHA256 in hex)", shown);
        return 0;
    }

    struct sig_part parts[] = {{ts, ts_len}, {":", 1}, {req->body, req->body_len}};
    int match, nocase;
    int r = sig_match_hmac(c, SIG_SHA256, SIG_ENC_HEX, parts, 3, sig, sig_len, &match, &nocase);
    if (r < 0)
        return r;
    if (match >= 0) {
        v->secret_index = match;
        sig_verdict_set(v, SIG_VALID, "the signature matches secrets[%d]", match);
    } else {
        int twice, alone;
        if ((r = double_encoded(c, req, ts, ts_len, sig, sig_len, &twice)) < 0 ||
            (r = sig_match_hmac(c, SIG_SHA256, SIG_ENC_HEX, parts + 2, 1, sig, sig_len, &alone,
                                NULL)) < 0)
            return r;
        if (twice >= 0) {
            sig_verdict_set(v, SIG_INVALID,
                            "the signature matches the body JSON-encoded twice (Twenty docs "
                            "example) with secrets[%d]; sign the body as sent",
                            twice);
        } else if (alone >= 0) {
            sig_verdict_set(v, SIG_INVALID,
                            "the signature matches the body alone (secrets[%d]); Twenty signs "
                            "timestamp + \":\" + body",
                            alone);
        } else if (nocase >= 0) {
            sig_verdict_set(v, SIG_INVALID,
                            "the signature matches secrets[%d] but is in uppercase hex; Twenty "
                            "sends (and receivers compare) lowercase",
                            nocase);
        } else {
            sig_verdict_no_match(v, 1, NULL, c->n_keys);
            sig_verdict_add(v, " (expected lowercase hex HMAC-SHA256 of " H_TS
                               " + \":\" + body)");
        }
        sig_verdict_note_truncated(v, req);
    }
    char why[sizeof(v->reason)];
    if (!sig_time_check(c, req, t, 1, true, why, sizeof(why)))
        sig_verdict_expire(v, why);
    return 0;
}

static int sign(const struct sig_config *c, const struct sig_sign_input *in, struct buf *out,
                struct wh_error *err)
{
    char ts[24], nonce[33];
    int n = snprintf(ts, sizeof(ts), "%lld", (long long)in->timestamp_ms);
    const struct sig_key *k = &c->keys[0];
    struct sig_part parts[] = {{ts, (size_t)n}, {":", 1}, {in->body, in->body_len}};
    char hex[SIG_TEXT_MAX];
    size_t len;
    int r = sig_mac_text(SIG_SHA256, SIG_ENC_HEX, k->bytes, k->len, parts, 3, hex, &len);
    if (r == 0 && !in->id)
        r = sig_random_hex(nonce, 16);
    if (r == 0)
        r = sig_add_header(out, H_TS, "%s", ts);
    if (r == 0)
        r = sig_add_header(out, H_SIG, "%s", hex);
    if (r == 0)
        r = sig_add_header(out, H_NONCE, "%s", in->id ? in->id : nonce);
    return r;
}

static int64_t unit_ms(const struct sig_config *c)
{
    return 1;
}

const struct sig_scheme sig_scheme_twenty = {
    .name = "twenty",
    .timestamp_unit_ms = unit_ms,
    .verify = verify,
    .sign = sign,
};
