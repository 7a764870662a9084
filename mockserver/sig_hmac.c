/* sig_hmac: a configurable HMAC scheme for senders that follow no published one.
 *
 * The signature is in one header, optionally after a fixed prefix ("sha256="), as the hex or
 * base64 HMAC (SHA-1, SHA-256 or SHA-512) of a template over {body}, {timestamp} (a named
 * header's value as sent), {id} (another header's value), {method} and {path}. Hex is compared
 * ignoring case and base64 with or without padding: with no reference receiver there is no
 * stricter convention to hold a sender to. When a timestamp header is configured, the tolerance
 * is checked in both directions. The idempotency key is the id header's value. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sig_scheme.h"
#include "sig_util.h"
#include "encode.h"

#define TEMPLATE_MAX 1024
#define MAX_SEGS 32
#define NAME_MAX_LEN 128
#define PREFIX_MAX 64

enum seg_kind { SEG_TEXT, SEG_BODY, SEG_TIMESTAMP, SEG_ID, SEG_METHOD, SEG_PATH };

struct seg {
    enum seg_kind kind;
    size_t off, len; /* SEG_TEXT: bytes of opts.text */
};

struct opts {
    char header[NAME_MAX_LEN + 1];
    enum sig_alg alg;
    enum sig_enc enc;
    char prefix[PREFIX_MAX + 1];
    char source[TEMPLATE_MAX + 1]; /* the template as written, for messages */
    char text[TEMPLATE_MAX + 1];   /* its literal bytes, braces unescaped */
    struct seg segs[MAX_SEGS];
    size_t n_segs;
    char ts_header[NAME_MAX_LEN + 1]; /* "" when none */
    int64_t ts_unit_ms;
    char id_header[NAME_MAX_LEN + 1]; /* "" when none */
    bool uses_id;
};

static const char *const options[] = {"header",           "algorithm",      "encoding",
                                      "prefix",           "template",       "timestamp_header",
                                      "timestamp_unit",   "id_header",      NULL};

/* An optional string option into dst; *ret_present says whether it was there. */
static int opt_string(json_t *obj, const char *key, size_t max, char *dst, bool *ret_present,
                      char *ptr, size_t ptr_size, struct wh_error *err)
{
    char p[40];
    snprintf(p, sizeof(p), "/%s", key);
    json_t *v = json_object_get(obj, key);
    *ret_present = v != NULL;
    if (!v)
        return 0;
    if (!json_is_string(v))
        return sig_config_problem(ptr, ptr_size, p, err, "must be a string, not %s",
                                  encode_json_type(v));
    if (json_string_length(v) > max)
        return sig_config_problem(ptr, ptr_size, p, err, "is longer than %zu bytes", max);
    if (strlen(json_string_value(v)) != json_string_length(v))
        return sig_config_problem(ptr, ptr_size, p, err, "contains a NUL (\\u0000)");
    memcpy(dst, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

static int header_option(json_t *obj, const char *key, char *dst, bool *ret_present, char *ptr,
                         size_t ptr_size, struct wh_error *err)
{
    int r = opt_string(obj, key, NAME_MAX_LEN, dst, ret_present, ptr, ptr_size, err);
    if (r == 0 && *ret_present && !sig_valid_header_name(dst)) {
        char p[40];
        snprintf(p, sizeof(p), "/%s", key);
        r = sig_config_problem(ptr, ptr_size, p, err, "'%s' is not a header name", dst);
    }
    return r;
}

static int add_seg(struct opts *o, enum seg_kind kind, size_t off, size_t len)
{
    if (kind == SEG_TEXT && o->n_segs && o->segs[o->n_segs - 1].kind == SEG_TEXT) {
        o->segs[o->n_segs - 1].len += len;
        return 0;
    }
    if (o->n_segs == MAX_SEGS)
        return -E2BIG;
    o->segs[o->n_segs++] = (struct seg){kind, off, len};
    return 0;
}

static int parse_template(struct opts *o, char *ptr, size_t ptr_size, struct wh_error *err)
{
    static const struct {
        const char *name;
        enum seg_kind kind;
    } names[] = {{"body", SEG_BODY},     {"timestamp", SEG_TIMESTAMP}, {"id", SEG_ID},
                 {"method", SEG_METHOD}, {"path", SEG_PATH}};
    const char *s = o->source;
    size_t t = 0;
    for (size_t i = 0; s[i];) {
        enum seg_kind kind = SEG_TEXT;
        if ((s[i] == '{' && s[i + 1] == '{') || (s[i] == '}' && s[i + 1] == '}')) {
            o->text[t] = s[i];
            i += 2;
        } else if (s[i] == '}') {
            return sig_config_problem(ptr, ptr_size, "/template", err,
                                      "a lone '}' at position %zu (write }} for a literal brace)",
                                      i + 1);
        } else if (s[i] == '{') {
            const char *close = strchr(s + i, '}');
            if (!close)
                return sig_config_problem(ptr, ptr_size, "/template", err,
                                          "the '{' at position %zu is never closed", i + 1);
            size_t len = (size_t)(close - (s + i + 1));
            for (size_t k = 0; k < sizeof(names) / sizeof(names[0]) && kind == SEG_TEXT; k++)
                if (strlen(names[k].name) == len && memcmp(names[k].name, s + i + 1, len) == 0)
                    kind = names[k].kind;
            if (kind == SEG_TEXT)
                return sig_config_problem(ptr, ptr_size, "/template", err,
                                          "unknown placeholder '%.*s' (known: {body}, "
                                          "{timestamp}, {id}, {method}, {path}; {{ and }} for "
                                          "literal braces)",
                                          (int)(len + 2 > 40 ? 40 : len + 2), s + i);
            if (kind == SEG_TIMESTAMP && !o->ts_header[0])
                return sig_config_problem(ptr, ptr_size, "/template", err,
                                          "{timestamp} needs \"timestamp_header\": the header "
                                          "the timestamp is sent in");
            if (kind == SEG_ID && !o->id_header[0])
                return sig_config_problem(ptr, ptr_size, "/template", err,
                                          "{id} needs \"id_header\": the header the id is sent "
                                          "in");
            o->uses_id |= kind == SEG_ID;
            i += len + 2;
        } else {
            o->text[t] = s[i++];
        }
        if (add_seg(o, kind, t, kind == SEG_TEXT) < 0)
            return sig_config_problem(ptr, ptr_size, "/template", err,
                                      "has more than %d parts", MAX_SEGS);
        t += kind == SEG_TEXT;
    }
    o->text[t] = '\0';
    if (o->n_segs == 0)
        return sig_config_problem(ptr, ptr_size, "/template", err, "the template is empty");
    return 0;
}

static int parse_options(struct sig_config *c, json_t *obj, char *ptr, size_t ptr_size,
                         struct wh_error *err)
{
    struct opts *o = calloc(1, sizeof(*o));
    if (!o)
        return wh_error_set(err, -ENOMEM, "out of memory");
    c->opts = o;
    bool present;
    char value[16];
    int r = header_option(obj, "header", o->header, &present, ptr, ptr_size, err);
    if (r < 0)
        return r;
    if (!present)
        return sig_config_problem(ptr, ptr_size, "", err,
                                  "missing required key 'header' (the header the signature is "
                                  "sent in)");

    o->alg = SIG_SHA256;
    if ((r = opt_string(obj, "algorithm", sizeof(value) - 1, value, &present, ptr, ptr_size,
                        err)) < 0)
        return r;
    if (present) {
        if (strcmp(value, "sha1") == 0)
            o->alg = SIG_SHA1;
        else if (strcmp(value, "sha512") == 0)
            o->alg = SIG_SHA512;
        else if (strcmp(value, "sha256") != 0)
            return sig_config_problem(ptr, ptr_size, "/algorithm", err,
                                      "must be sha1, sha256 or sha512, not '%s'", value);
    }
    o->enc = SIG_ENC_HEX;
    if ((r = opt_string(obj, "encoding", sizeof(value) - 1, value, &present, ptr, ptr_size,
                        err)) < 0)
        return r;
    if (present) {
        if (strcmp(value, "base64") == 0)
            o->enc = SIG_ENC_BASE64;
        else if (strcmp(value, "base64url") == 0)
            o->enc = SIG_ENC_BASE64URL;
        else if (strcmp(value, "hex") != 0)
            return sig_config_problem(ptr, ptr_size, "/encoding", err,
                                      "must be hex, base64 or base64url, not '%s'", value);
    }
    if ((r = opt_string(obj, "prefix", PREFIX_MAX, o->prefix, &present, ptr, ptr_size, err)) < 0)
        return r;
    if (present && o->prefix[0] && !sig_header_safe(o->prefix))
        return sig_config_problem(ptr, ptr_size, "/prefix", err,
                                  "must be printable ASCII (it is part of a header value)");

    if ((r = header_option(obj, "timestamp_header", o->ts_header, &present, ptr, ptr_size,
                           err)) < 0 ||
        (r = header_option(obj, "id_header", o->id_header, &present, ptr, ptr_size, err)) < 0)
        return r;
    o->ts_unit_ms = 1000;
    if ((r = opt_string(obj, "timestamp_unit", sizeof(value) - 1, value, &present, ptr, ptr_size,
                        err)) < 0)
        return r;
    if (present) {
        if (!o->ts_header[0])
            return sig_config_problem(ptr, ptr_size, "/timestamp_unit", err,
                                      "has no effect without \"timestamp_header\"");
        if (strcmp(value, "ms") == 0)
            o->ts_unit_ms = 1;
        else if (strcmp(value, "s") != 0)
            return sig_config_problem(ptr, ptr_size, "/timestamp_unit", err,
                                      "must be \"s\" (seconds) or \"ms\" (milliseconds), not '%s'",
                                      value);
    }
    if ((r = opt_string(obj, "template", TEMPLATE_MAX, o->source, &present, ptr, ptr_size,
                        err)) < 0)
        return r;
    if (!present)
        snprintf(o->source, sizeof(o->source), "{body}");
    return parse_template(o, ptr, ptr_size, err);
}

/* The signed content's pieces for this request. */
static size_t build_parts(const struct opts *o, const char *method, const char *path,
                          const void *body, size_t body_len, const char *ts, size_t ts_len,
                          const char *id, size_t id_len, struct sig_part *parts)
{
    for (size_t i = 0; i < o->n_segs; i++) {
        const struct seg *s = &o->segs[i];
        switch (s->kind) {
        case SEG_TEXT: parts[i] = (struct sig_part){o->text + s->off, s->len}; break;
        case SEG_BODY: parts[i] = (struct sig_part){body, body_len}; break;
        case SEG_TIMESTAMP: parts[i] = (struct sig_part){ts, ts_len}; break;
        case SEG_ID: parts[i] = (struct sig_part){id, id_len}; break;
        case SEG_METHOD: parts[i] = (struct sig_part){method, strlen(method)}; break;
        case SEG_PATH: parts[i] = (struct sig_part){path, strlen(path)}; break;
        }
    }
    return o->n_segs;
}

/* The received MAC text in the form sig_mac_text writes (lowercase hex, padded base64,
 * unpadded base64url) into out, or false when it is not that encoding of an HMAC. */
static bool normalise(const struct opts *o, const char *s, size_t n, char *out, size_t *ret_len)
{
    size_t size = sig_alg_size(o->alg);
    if (o->enc == SIG_ENC_HEX) {
        if (n != 2 * size || !sig_all_hex(s, n))
            return false;
        for (size_t i = 0; i < n; i++)
            out[i] = (char)(s[i] >= 'A' && s[i] <= 'F' ? s[i] - 'A' + 'a' : s[i]);
        *ret_len = n;
        return true;
    }
    while (n > 0 && s[n - 1] == '=')
        n--;
    size_t bare = (size * 4 + 2) / 3; /* base64 characters without padding */
    if (n != bare)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  (o->enc == SIG_ENC_BASE64 ? (c == '+' || c == '/') : (c == '-' || c == '_'));
        if (!ok)
            return false;
        out[i] = c;
    }
    *ret_len = n;
    if (o->enc == SIG_ENC_BASE64)
        while (*ret_len % 4)
            out[(*ret_len)++] = '=';
    return true;
}

static const char *alg_shown(enum sig_alg a)
{
    return a == SIG_SHA1 ? "SHA1" : a == SIG_SHA512 ? "SHA512" : "SHA256";
}

static const char *enc_name(enum sig_enc e)
{
    return e == SIG_ENC_HEX ? "hex" : e == SIG_ENC_BASE64 ? "base64" : "base64url";
}

static int verify(const struct sig_config *c, const struct sig_request *req,
                  struct sig_verdict *v)
{
    const struct opts *o = c->opts;
    const char *sig, *ts = "", *id = "";
    size_t sig_len, ts_len = 0, id_len = 0, pl = strlen(o->prefix);
    char shown[48], tmpl[48];
    if (o->id_header[0])
        sig_header_copy(req, o->id_header, v->message_id, sizeof(v->message_id));
    if (!sig_header_need(req, o->header, NULL, v, &sig, &sig_len))
        return 0;
    if (o->ts_header[0] && !sig_header_need(req, o->ts_header, NULL, v, &ts, &ts_len))
        return 0;
    if (o->uses_id && !sig_header_need(req, o->id_header, NULL, v, &id, &id_len))
        return 0;
    sig_excerpt(shown, sizeof(shown), sig, sig_len);
    if (sig_len < pl || memcmp(sig, o->prefix, pl) != 0) {
        sig_verdict_set(v, SIG_MALFORMED, "%s '%s' does not start with '%s'", o->header, shown,
                        o->prefix);
        return 0;
    }
    char got[SIG_TEXT_MAX];
    size_t got_len;
    if (!normalise(o, sig + pl, sig_len - pl, got, &got_len)) {
        sig_verdict_set(v, SIG_MALFORMED, "%s '%s' is not %s%s of a %zu-byte HMAC-%s", o->header,
                        shown, pl ? "the prefix and the " : "the ", enc_name(o->enc),
                        sig_alg_size(o->alg), alg_shown(o->alg));
        return 0;
    }
    int64_t t = 0;
    if (o->ts_header[0] && sig_parse_timestamp(ts, ts_len, &t) < 0) {
        sig_excerpt(shown, sizeof(shown), ts, ts_len);
        sig_verdict_set(v, SIG_MALFORMED, "%s '%s' is not a whole number of %s since 1970",
                        o->ts_header, shown, o->ts_unit_ms == 1 ? "milliseconds" : "seconds");
        return 0;
    }
    struct sig_part parts[MAX_SEGS];
    size_t n = build_parts(o, req->method ? req->method : "", req->path ? req->path : "",
                           req->body, req->body_len, ts, ts_len, id, id_len, parts);
    int match;
    int r = sig_match_hmac(c, o->alg, o->enc, parts, n, got, got_len, &match, NULL);
    if (r < 0)
        return r;
    if (match >= 0) {
        v->secret_index = match;
        sig_verdict_set(v, SIG_VALID, "the signature matches secrets[%d]", match);
    } else {
        sig_excerpt(tmpl, sizeof(tmpl), o->source, strlen(o->source));
        sig_verdict_no_match(v, 1, NULL, c->n_keys);
        sig_verdict_add(v, " (expected %s%s%s%s HMAC-%s of the template '%s')", pl ? "'" : "",
                        pl ? o->prefix : "", pl ? "' + " : "", enc_name(o->enc),
                        alg_shown(o->alg), tmpl);
        sig_verdict_note_truncated(v, req);
    }
    char why[sizeof(v->reason)];
    if (o->ts_header[0] && !sig_time_check(c, req, t, o->ts_unit_ms, true, why, sizeof(why)))
        sig_verdict_expire(v, why);
    return 0;
}

static int sign(const struct sig_config *c, const struct sig_sign_input *in, struct buf *out,
                struct wh_error *err)
{
    const struct opts *o = c->opts;
    char ts[24] = "", uuid[37] = "", text[SIG_TEXT_MAX];
    const char *id = in->id ? in->id : "";
    int r = 0;
    if (o->ts_header[0])
        snprintf(ts, sizeof(ts), "%lld",
                 (long long)(o->ts_unit_ms == 1 ? in->timestamp_ms : in->timestamp_ms / 1000));
    if (o->id_header[0] && !in->id) {
        if ((r = sig_random_uuid(uuid)) < 0)
            return r;
        id = uuid;
    }
    struct sig_part parts[MAX_SEGS];
    size_t n = build_parts(o, in->method, in->path, in->body, in->body_len, ts, strlen(ts), id,
                           strlen(id), parts);
    size_t len;
    r = sig_mac_text(o->alg, o->enc, c->keys[0].bytes, c->keys[0].len, parts, n, text, &len);
    if (r == 0 && o->ts_header[0])
        r = sig_add_header(out, o->ts_header, "%s", ts);
    if (r == 0 && o->id_header[0])
        r = sig_add_header(out, o->id_header, "%s", id);
    if (r == 0)
        r = sig_add_header(out, o->header, "%s%s", o->prefix, text);
    return r;
}

static int64_t unit_ms(const struct sig_config *c)
{
    const struct opts *o = c->opts;
    return o->ts_header[0] ? o->ts_unit_ms : 0;
}

const struct sig_scheme sig_scheme_hmac = {
    .name = "hmac",
    .options = options,
    .parse_options = parse_options,
    .free_options = free,
    .timestamp_unit_ms = unit_ms,
    .verify = verify,
    .sign = sign,
};
