#include "signature.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonpos.h"
#include "sig_scheme.h"
#include "sig_util.h"
#include "encode.h"

static const struct sig_scheme *const schemes[] = {
    &sig_scheme_twenty, &sig_scheme_stdwebhooks, &sig_scheme_github, &sig_scheme_stripe,
    &sig_scheme_slack,  &sig_scheme_shopify,     &sig_scheme_hmac,
};
#define N_SCHEMES (sizeof(schemes) / sizeof(schemes[0]))

#define TOLERANCE_DEFAULT 300
#define TOLERANCE_MAX 31536000 /* a year */

const char *sig_status_name(enum sig_status s)
{
    switch (s) {
    case SIG_VALID: return "valid";
    case SIG_INVALID: return "invalid";
    case SIG_EXPIRED: return "expired";
    case SIG_MISSING: return "missing";
    case SIG_MALFORMED: return "malformed";
    case SIG_NOT_CONFIGURED: return "not_configured";
    }
    return "invalid";
}

const char *sig_scheme_names(void)
{
    return "twenty, standard-webhooks, github, stripe, slack, shopify, hmac";
}

void sig_config_destroy(sig_config *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_keys; i++) {
        struct sig_key *k = &c->keys[i];
        if (k->bytes)
            OPENSSL_clear_free(k->bytes, k->len);
        if (k->text)
            OPENSSL_clear_free(k->text, k->text_len + 1);
        EVP_PKEY_free(k->pkey);
    }
    if (c->scheme && c->scheme->free_options)
        c->scheme->free_options(c->opts);
    free(c);
}

const char *sig_config_scheme(const sig_config *c)
{
    return c->scheme->name;
}

int64_t sig_config_tolerance(const sig_config *c)
{
    return c->tolerance_s;
}

int64_t sig_config_timestamp_unit_ms(const sig_config *c)
{
    return c->scheme->timestamp_unit_ms(c);
}

/* Reject keys that are neither common nor the scheme's, naming the known ones. */
static int check_keys(const struct sig_scheme *s, json_t *obj, char *ptr, size_t ptr_size,
                      struct wh_error *err)
{
    static const char *const common[] = {"scheme", "secrets", "secrets_env", "tolerance_s", NULL};
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        bool ok = false;
        for (const char *const *k = common; *k && !ok; k++)
            ok = strcmp(*k, key) == 0;
        for (const char *const *k = s->options; k && *k && !ok; k++)
            ok = strcmp(*k, key) == 0;
        if (ok)
            continue;
        struct buf p, list;
        buf_init(&p, 0);
        buf_init(&list, 0);
        int r = jsonpos_pointer_append(&p, key);
        for (const char *const *k = common; *k && r == 0; k++)
            r = buf_printf(&list, "%s%s", k == common ? "" : ", ", *k);
        for (const char *const *k = s->options; k && *k && r == 0; k++)
            r = buf_printf(&list, ", %s", *k);
        if (r == 0)
            r = sig_config_problem(ptr, ptr_size, p.data, err,
                                   "unknown key for the %s scheme (known keys: %s)", s->name,
                                   list.data);
        else
            r = wh_error_set(err, -ENOMEM, "out of memory");
        buf_finish(&p);
        buf_finish(&list);
        return r;
    }
    return 0;
}

/* One secret's bytes; p is its pointer for messages. */
static int add_secret(sig_config *c, const char *text, size_t len, const char *p, char *ptr,
                      size_t ptr_size, struct wh_error *err)
{
    if (c->n_keys >= SIG_MAX_SECRETS)
        return sig_config_problem(ptr, ptr_size, p, err,
                                  "more than %d secrets; at most %d are allowed", SIG_MAX_SECRETS,
                                  SIG_MAX_SECRETS);
    if (len == 0)
        return sig_config_problem(ptr, ptr_size, p, err, "the secret is empty");
    if (len > SIG_SECRET_MAX)
        return sig_config_problem(ptr, ptr_size, p, err,
                                  "the secret is %zu bytes long; at most %d are allowed", len,
                                  SIG_SECRET_MAX);
    if (strlen(text) != len)
        return sig_config_problem(ptr, ptr_size, p, err, "the secret contains a NUL (\\u0000)");
    if (strchr(" \t\r\n", text[0]) || strchr(" \t\r\n", text[len - 1]))
        return sig_config_problem(ptr, ptr_size, p, err,
                                  "the secret starts or ends with whitespace; remove it "
                                  "(a sender would not sign with it)");
    struct sig_key *k = &c->keys[c->n_keys++];
    k->kind = SIG_KEY_HMAC;
    k->text_len = len;
    if (!(k->text = OPENSSL_malloc(len + 1)))
        return wh_error_set(err, -ENOMEM, "out of memory");
    memcpy(k->text, text, len + 1);
    if (c->scheme->load_key) {
        int r = c->scheme->load_key(k, err);
        if (r == -EINVAL && ptr && ptr_size)
            snprintf(ptr, ptr_size, "%s", p);
        return r < 0 ? r : 0;
    }
    if (!(k->bytes = OPENSSL_malloc(len)))
        return wh_error_set(err, -ENOMEM, "out of memory");
    memcpy(k->bytes, text, len);
    k->len = len;
    return 0;
}

/* "secrets": the secrets themselves; "secrets_env": names of environment variables that hold
 * them (read when the config is loaded: containers and CI pass secrets that way). */
static int load_secrets(sig_config *c, json_t *obj, char *ptr, size_t ptr_size,
                        struct wh_error *err)
{
    json_t *arr = json_object_get(obj, "secrets");
    json_t *env = json_object_get(obj, "secrets_env");
    if (!arr && !env)
        return sig_config_problem(ptr, ptr_size, "", err,
                                  "missing required key 'secrets' (a list of one or more "
                                  "secrets, several while rotating) or 'secrets_env' (the names "
                                  "of environment variables that hold them)");
    if (arr && (!json_is_array(arr) || json_array_size(arr) == 0))
        return sig_config_problem(ptr, ptr_size, "/secrets", err,
                                  "must be a non-empty array of secret strings, not %s",
                                  json_is_array(arr) ? "an empty array" : encode_json_type(arr));
    if (json_array_size(arr) > SIG_MAX_SECRETS)
        return sig_config_problem(ptr, ptr_size, "/secrets", err,
                                  "has %zu secrets; at most %d are allowed",
                                  json_array_size(arr), SIG_MAX_SECRETS);
    if (env && (!json_is_array(env) || json_array_size(env) == 0))
        return sig_config_problem(ptr, ptr_size, "/secrets_env", err,
                                  "must be a non-empty array of environment variable names, "
                                  "not %s",
                                  json_is_array(env) ? "an empty array" : encode_json_type(env));
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        char p[32];
        snprintf(p, sizeof(p), "/secrets/%zu", i);
        if (!json_is_string(v))
            return sig_config_problem(ptr, ptr_size, p, err, "must be a string, not %s",
                                      encode_json_type(v));
        int r = add_secret(c, json_string_value(v), json_string_length(v), p, ptr, ptr_size, err);
        if (r < 0)
            return r;
    }
    json_array_foreach(env, i, v) {
        char p[40];
        snprintf(p, sizeof(p), "/secrets_env/%zu", i);
        if (!json_is_string(v) || !json_string_length(v))
            return sig_config_problem(ptr, ptr_size, p, err,
                                      "must be an environment variable name, not %s",
                                      json_is_string(v) ? "an empty string" : encode_json_type(v));
        const char *name = json_string_value(v);
        const char *text = getenv(name);
        if (!text)
            return sig_config_problem(ptr, ptr_size, p, err,
                                      "the environment variable %.64s is not set", name);
        struct wh_error e = {0};
        int r = add_secret(c, text, strlen(text), p, ptr, ptr_size, &e);
        if (r < 0) /* the secret itself is never repeated in a message */
            return wh_error_set(err, r, "environment variable %.64s: %s", name, e.msg);
    }
    return 0;
}

int sig_config_parse(json_t *obj, sig_config **ret, char *err_pointer, size_t ptr_size,
                     struct wh_error *err)
{
    if (err_pointer && ptr_size)
        err_pointer[0] = '\0';
    if (!json_is_object(obj))
        return sig_config_problem(err_pointer, ptr_size, "", err,
                                  "the signature settings must be an object like {\"scheme\": "
                                  "\"github\", \"secrets\": [\"...\"]}, not %s",
                                  encode_json_type(obj));
    json_t *scheme = json_object_get(obj, "scheme");
    if (!scheme)
        return sig_config_problem(err_pointer, ptr_size, "", err,
                                  "missing required key 'scheme' (one of: %s)", sig_scheme_names());
    if (!json_is_string(scheme))
        return sig_config_problem(err_pointer, ptr_size, "/scheme", err,
                                  "must be a string (one of: %s), not %s", sig_scheme_names(),
                                  encode_json_type(scheme));
    const struct sig_scheme *s = NULL;
    for (size_t i = 0; i < N_SCHEMES && !s; i++)
        if (strcmp(schemes[i]->name, json_string_value(scheme)) == 0)
            s = schemes[i];
    if (!s) {
        char shown[48];
        sig_excerpt(shown, sizeof(shown), json_string_value(scheme),
                    json_string_length(scheme));
        return sig_config_problem(err_pointer, ptr_size, "/scheme", err,
                                  "unknown scheme '%s' (known: %s)", shown, sig_scheme_names());
    }
    int r = check_keys(s, obj, err_pointer, ptr_size, err);
    if (r < 0)
        return r;

    sig_config *c = calloc(1, sizeof(*c));
    if (!c)
        return wh_error_set(err, -ENOMEM, "out of memory");
    c->scheme = s;
    c->tolerance_s = TOLERANCE_DEFAULT;
    json_t *tol = json_object_get(obj, "tolerance_s");
    if (tol && (!json_is_integer(tol) || json_integer_value(tol) < 0 ||
                json_integer_value(tol) > TOLERANCE_MAX)) {
        r = sig_config_problem(err_pointer, ptr_size, "/tolerance_s", err,
                               "must be a whole number of seconds from 0 to %d (0 switches the "
                               "timestamp check off), not %s",
                               TOLERANCE_MAX,
                               json_is_integer(tol) ? "a number out of range" : encode_json_type(tol));
        goto fail;
    }
    if (tol)
        c->tolerance_s = json_integer_value(tol);
    if ((r = load_secrets(c, obj, err_pointer, ptr_size, err)) < 0)
        goto fail;
    if (s->parse_options && (r = s->parse_options(c, obj, err_pointer, ptr_size, err)) < 0)
        goto fail;
    *ret = c;
    return 0;
fail:
    sig_config_destroy(c);
    return r;
}

int sig_verify(const sig_config *c, const struct sig_request *req, struct sig_verdict *ret)
{
    if (!req || !ret)
        return -EINVAL;
    memset(ret, 0, sizeof(*ret));
    ret->secret_index = -1;
    if (!c) {
        sig_verdict_set(ret, SIG_NOT_CONFIGURED,
                        "no signature scheme is configured for this endpoint");
        return 0;
    }
    snprintf(ret->scheme, sizeof(ret->scheme), "%s", c->scheme->name);
    int r = c->scheme->verify(c, req, ret);
    if (r < 0) {
        sig_verdict_set(ret, SIG_INVALID, "the signature could not be checked (out of memory)");
        ret->secret_index = -1;
    }
    return r;
}

int sig_sign(const sig_config *c, const char *method, const char *path, const void *body,
             size_t body_len, int64_t timestamp_ms, const char *id, struct buf *out,
             struct wh_error *err)
{
    if (id && (!sig_header_safe(id) || strlen(id) > 255))
        return wh_error_set(err, -EINVAL,
                            "the id must be 1 to 255 printable ASCII characters (it goes into a "
                            "header)");
    struct sig_sign_input in = {
        .method = method ? method : "POST",
        .path = path ? path : "/",
        .body = body,
        .body_len = body_len,
        .timestamp_ms = timestamp_ms > 0 ? timestamp_ms : sig_now_ms(),
        .id = id,
    };
    size_t before = out->len;
    int r = c->scheme->sign(c, &in, out, err);
    if (r < 0) {
        if (out->data) {
            out->len = before;
            out->data[before] = '\0';
        }
        if (r == -ENOMEM || r == -E2BIG)
            wh_error_set(err, r, r == -ENOMEM ? "out of memory" : "the output is too large");
        else if (r == -EIO)
            wh_error_set(err, r, "no random bytes for an id");
    }
    return r;
}
