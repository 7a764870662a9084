/* sig_github: GitHub's webhook signatures.
 *
 * X-Hub-Signature-256: "sha256=" + lowercase hex HMAC-SHA256 of the body, keyed with the secret.
 * GitHub also sends the legacy X-Hub-Signature ("sha1=" + hex HMAC-SHA1); it is checked only
 * when the endpoint sets "allow_sha1": true and there is no X-Hub-Signature-256. No timestamp
 * (tolerance_s has no effect). The idempotency key is X-GitHub-Delivery. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sig_scheme.h"
#include "sig_util.h"
#include "encode.h"

#define H_256 "X-Hub-Signature-256"
#define H_1 "X-Hub-Signature"
#define H_ID "X-GitHub-Delivery"

struct opts {
    bool allow_sha1;
};

static const char *const options[] = {"allow_sha1", NULL};

static int parse_options(struct sig_config *c, json_t *obj, char *ptr, size_t ptr_size,
                         struct wh_error *err)
{
    struct opts *o = calloc(1, sizeof(*o));
    if (!o)
        return wh_error_set(err, -ENOMEM, "out of memory");
    c->opts = o;
    json_t *v = json_object_get(obj, "allow_sha1");
    if (v && !json_is_boolean(v))
        return sig_config_problem(ptr, ptr_size, "/allow_sha1", err,
                                  "must be true or false, not %s", encode_json_type(v));
    o->allow_sha1 = json_is_true(v);
    return 0;
}

static int verify(const struct sig_config *c, const struct sig_request *req,
                  struct sig_verdict *v)
{
    const struct opts *o = c->opts;
    const char *name = H_256, *sig;
    size_t sig_len;
    enum sig_alg alg = SIG_SHA256;
    sig_header_copy(req, H_ID, v->message_id, sizeof(v->message_id));
    int r = sig_header_get(req, H_256, v, &sig, &sig_len);
    if (r < 0)
        return 0;
    if (r == 0) {
        if ((r = sig_header_get(req, H_1, v, &sig, &sig_len)) < 0)
            return 0;
        if (r == 0) {
            sig_verdict_set(v, SIG_MISSING, "no " H_256 " header (is a secret set on the GitHub "
                                            "webhook?)");
            return 0;
        }
        if (!o->allow_sha1) {
            sig_verdict_set(v, SIG_MISSING, "no " H_256 " header; there is only the sha1 " H_1
                                            ", which this endpoint does not accept (set "
                                            "\"allow_sha1\": true to accept it)");
            return 0;
        }
        name = H_1;
        alg = SIG_SHA1;
    }
    const char *prefix = alg == SIG_SHA1 ? "sha1=" : "sha256=";
    size_t pl = strlen(prefix), hex_len = 2 * sig_alg_size(alg);
    char shown[48];
    sig_excerpt(shown, sizeof(shown), sig, sig_len);
    if (sig_len < pl || memcmp(sig, prefix, pl) != 0) {
        sig_verdict_set(v, SIG_MALFORMED, "%s '%s' does not start with %s", name, shown, prefix);
        return 0;
    }
    if (sig_len - pl != hex_len || !sig_all_hex(sig + pl, hex_len)) {
        sig_verdict_set(v, SIG_MALFORMED, "%s '%s' is not %s followed by %zu hex characters",
                        name, shown, prefix, hex_len);
        return 0;
    }
    struct sig_part body = {req->body, req->body_len};
    int match, nocase;
    if ((r = sig_match_hmac(c, alg, SIG_ENC_HEX, &body, 1, sig + pl, hex_len, &match,
                            &nocase)) < 0)
        return r;
    if (match >= 0) {
        v->secret_index = match;
        sig_verdict_set(v, SIG_VALID, "the %s signature matches secrets[%d]", sig_alg_name(alg),
                        match);
        return 0;
    }
    if (nocase >= 0) {
        sig_verdict_set(v, SIG_INVALID,
                        "the %s signature matches secrets[%d] but is in uppercase hex; GitHub "
                        "sends (and receivers compare) lowercase",
                        sig_alg_name(alg), nocase);
    } else {
        sig_verdict_no_match(v, 1, sig_alg_name(alg), c->n_keys);
        sig_verdict_add(v, " (expected %s + lowercase hex HMAC-%s of the body)", prefix,
                        alg == SIG_SHA1 ? "SHA1" : "SHA256");
    }
    sig_verdict_note_truncated(v, req);
    return 0;
}

static int sign(const struct sig_config *c, const struct sig_sign_input *in, struct buf *out,
                struct wh_error *err)
{
    const struct opts *o = c->opts;
    const struct sig_key *k = &c->keys[0];
    struct sig_part body = {in->body, in->body_len};
    char hex256[SIG_TEXT_MAX], hex1[SIG_TEXT_MAX], uuid[37];
    size_t len;
    int r = sig_mac_text(SIG_SHA256, SIG_ENC_HEX, k->bytes, k->len, &body, 1, hex256, &len);
    if (r == 0 && o->allow_sha1)
        r = sig_mac_text(SIG_SHA1, SIG_ENC_HEX, k->bytes, k->len, &body, 1, hex1, &len);
    if (r == 0 && !in->id)
        r = sig_random_uuid(uuid);
    if (r == 0)
        r = sig_add_header(out, H_ID, "%s", in->id ? in->id : uuid);
    if (r == 0 && o->allow_sha1)
        r = sig_add_header(out, H_1, "sha1=%s", hex1);
    if (r == 0)
        r = sig_add_header(out, H_256, "sha256=%s", hex256);
    return r;
}

static int64_t unit_ms(const struct sig_config *c)
{
    return 0;
}

const struct sig_scheme sig_scheme_github = {
    .name = "github",
    .options = options,
    .parse_options = parse_options,
    .free_options = free,
    .timestamp_unit_ms = unit_ms,
    .verify = verify,
    .sign = sign,
};
