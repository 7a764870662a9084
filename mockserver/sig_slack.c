/* sig_slack: Slack's request signatures (version v0).
 *
 * X-Slack-Request-Timestamp is epoch seconds; X-Slack-Signature is "v0=" + lowercase hex
 * HMAC-SHA256 of "v0:" + timestamp + ":" + body, keyed with the app's signing secret. Slack's
 * Python SDK rejects timestamps more than the tolerance away in either direction
 * (abs(now - timestamp)), so both directions are checked. No idempotency key. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sig_scheme.h"
#include "sig_util.h"

#define H_SIG "X-Slack-Signature"
#define H_TS "X-Slack-Request-Timestamp"

static int verify(const struct sig_config *c, const struct sig_request *req,
                  struct sig_verdict *v)
{
    const char *sig, *ts;
    size_t sig_len, ts_len;
    char shown[48];
    if (!sig_header_need(req, H_SIG, NULL, v, &sig, &sig_len) ||
        !sig_header_need(req, H_TS, NULL, v, &ts, &ts_len))
        return 0;
    int64_t t;
    if (sig_parse_timestamp(ts, ts_len, &t) < 0) {
        sig_excerpt(shown, sizeof(shown), ts, ts_len);
        sig_verdict_set(v, SIG_MALFORMED, H_TS " '%s' is not a whole number of seconds since 1970",
                        shown);
        return 0;
    }
    if (sig_len != 67 || memcmp(sig, "v0=", 3) != 0 || !sig_all_hex(sig + 3, 64)) {
        sig_excerpt(shown, sizeof(shown), sig, sig_len);
        sig_verdict_set(v, SIG_MALFORMED, H_SIG " '%s' is not v0= followed by 64 hex characters",
                        shown);
        return 0;
    }
    struct sig_part parts[] = {{"v0:", 3}, {ts, ts_len}, {":", 1}, {req->body, req->body_len}};
    int match, nocase;
    int r = sig_match_hmac(c, SIG_SHA256, SIG_ENC_HEX, parts, 4, sig + 3, 64, &match, &nocase);
    if (r < 0)
        return r;
    if (match >= 0) {
        v->secret_index = match;
        sig_verdict_set(v, SIG_VALID, "the v0 signature matches secrets[%d]", match);
    } else {
        if (nocase >= 0) {
            sig_verdict_set(v, SIG_INVALID,
                            "the v0 signature matches secrets[%d] but is in uppercase hex; Slack "
                            "sends (and its SDKs compare) lowercase",
                            nocase);
        } else {
            sig_verdict_no_match(v, 1, "v0", c->n_keys);
            sig_verdict_add(v, " (expected v0= + lowercase hex HMAC-SHA256 of \"v0:\" + " H_TS
                               " + \":\" + body)");
        }
        sig_verdict_note_truncated(v, req);
    }
    char why[sizeof(v->reason)];
    if (!sig_time_check(c, req, t, 1000, true, why, sizeof(why)))
        sig_verdict_expire(v, why);
    return 0;
}

static int sign(const struct sig_config *c, const struct sig_sign_input *in, struct buf *out,
                struct wh_error *err)
{
    char ts[24], hex[SIG_TEXT_MAX];
    size_t len;
    int tl = snprintf(ts, sizeof(ts), "%lld", (long long)(in->timestamp_ms / 1000));
    struct sig_part parts[] = {{"v0:", 3}, {ts, (size_t)tl}, {":", 1}, {in->body, in->body_len}};
    int r = sig_mac_text(SIG_SHA256, SIG_ENC_HEX, c->keys[0].bytes, c->keys[0].len, parts, 4, hex,
                         &len);
    if (r == 0)
        r = sig_add_header(out, H_TS, "%s", ts);
    if (r == 0)
        r = sig_add_header(out, H_SIG, "v0=%s", hex);
    return r;
}

static int64_t unit_ms(const struct sig_config *c)
{
    return 1000;
}

const struct sig_scheme sig_scheme_slack = {
    .name = "slack",
    .timestamp_unit_ms = unit_ms,
    .verify = verify,
    .sign = sign,
};
