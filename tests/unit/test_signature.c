/* Unit tests for signature: the published vectors of every scheme (exactly as the issue lists
 * them), Stripe, Shopify and hmac vectors computed independently with `openssl dgst -hmac`,
 * diagnoses (double-encoded Twenty bodies, wrongly decoded keys, uppercase hex), negative cases
 * for every scheme (tampering, wrong secret, time window, missing, garbage and oversized
 * headers, rotation), sign -> verify round trips, and config errors with their pointers. */
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "delivery.h"
#include "signature.h"
#include "unit.h"

/* ---- helpers ---- */

#define MAXH 12
#define VALUE_MAX 10000

struct hset {
    char name[MAXH][64];
    char value[MAXH][VALUE_MAX];
    size_t n;
};

static void hset_add(struct hset *h, const char *name, const char *value)
{
    ck_assert_uint_lt(h->n, MAXH);
    snprintf(h->name[h->n], sizeof(h->name[0]), "%s", name);
    snprintf(h->value[h->n], sizeof(h->value[0]), "%s", value);
    h->n++;
}

/* "Name: value\n" lines, as sig_sign writes them */
static void hset_from_lines(struct hset *h, const char *lines)
{
    h->n = 0;
    for (const char *p = lines; *p;) {
        const char *nl = strchr(p, '\n');
        ck_assert_msg(nl != NULL, "sign output does not end with a newline: %s", lines);
        const char *colon = memchr(p, ':', (size_t)(nl - p));
        ck_assert_msg(colon && colon[1] == ' ', "not a header line: %.*s", (int)(nl - p), p);
        char name[64];
        snprintf(name, sizeof(name), "%.*s", (int)(colon - p), p);
        char value[VALUE_MAX];
        snprintf(value, sizeof(value), "%.*s", (int)(nl - colon - 2), colon + 2);
        hset_add(h, name, value);
        p = nl + 1;
    }
}

static char *hset_get(struct hset *h, const char *name)
{
    for (size_t i = 0; i < h->n; i++)
        if (strcasecmp(h->name[i], name) == 0)
            return h->value[i];
    ck_abort_msg("no header %s", name);
    return NULL;
}

static void hset_del(struct hset *h, const char *name)
{
    for (size_t i = 0; i < h->n; i++)
        if (strcasecmp(h->name[i], name) == 0) {
            h->n--;
            memmove(h->name[i], h->name[i + 1], (h->n - i) * sizeof(h->name[0]));
            memmove(h->value[i], h->value[i + 1], (h->n - i) * sizeof(h->value[0]));
            return;
        }
    ck_abort_msg("no header %s to delete", name);
}

static sig_config *cfg(const char *json)
{
    json_error_t jerr;
    json_t *obj = json_loads(json, 0, &jerr);
    ck_assert_msg(obj != NULL, "bad test JSON %s: %s", json, jerr.text);
    sig_config *c = NULL;
    char ptr[64];
    struct wh_error err = {0};
    int r = sig_config_parse(obj, &c, ptr, sizeof(ptr), &err);
    ck_assert_msg(r == 0, "config %s: %d at '%s': %s", json, r, ptr, err.msg);
    json_decref(obj);
    return c;
}

static struct sig_verdict verify_full(const sig_config *c, const struct hset *h, const void *body,
                                      size_t body_len, int64_t now_ms, const char *method,
                                      const char *path)
{
    struct delivery *d = delivery_create();
    ck_assert_ptr_nonnull(d);
    for (size_t i = 0; i < h->n; i++)
        ck_assert_int_eq(delivery_add_header(d, h->name[i], strlen(h->name[i]), h->value[i],
                                             strlen(h->value[i])),
                         0);
    struct sig_request req = {
        .method = method,
        .path = path,
        .headers = d->headers.data,
        .headers_len = d->headers.len,
        .body = body,
        .body_len = body_len,
        .now_ms = now_ms,
    };
    struct sig_verdict v;
    memset(&v, 0x5a, sizeof(v));
    ck_assert_int_eq(sig_verify(c, &req, &v), 0);
    delivery_destroy(d);
    /* every reason is a printable sentence, whatever the input */
    ck_assert_msg(v.reason[0] != '\0', "empty reason");
    for (const char *p = v.reason; *p; p++)
        ck_assert_msg(*p >= 0x20 && *p < 0x7f, "unprintable byte in reason: %s", v.reason);
    return v;
}

static struct sig_verdict verify(const sig_config *c, const struct hset *h, const char *body,
                                 int64_t now_ms)
{
    return verify_full(c, h, body, strlen(body), now_ms, "POST", "/hooks/x");
}

static void expect(const struct sig_verdict *v, enum sig_status st, const char *needle)
{
    ck_assert_msg(v->status == st, "expected %s, got %s: %s", sig_status_name(st),
                  sig_status_name(v->status), v->reason);
    if (needle)
        ck_assert_msg(strstr(v->reason, needle) != NULL, "reason '%s' should contain '%s'",
                      v->reason, needle);
}

static char *sign(const sig_config *c, const char *body, int64_t ts_ms, const char *id)
{
    struct buf out;
    buf_init(&out, 0);
    struct wh_error err = {0};
    int r = sig_sign(c, "POST", "/hooks/x", body, strlen(body), ts_ms, id, &out, &err);
    ck_assert_msg(r == 0, "sign failed: %d %s", r, err.msg);
    char *s = buf_steal(&out, NULL);
    ck_assert_ptr_nonnull(s);
    return s;
}

/* ---- published vectors ---- */

#define SW_GO_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define SW_GO_ID "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define SW_GO_TS "1614265330"
#define SW_GO_BODY "{\"test\": 2432232314}"

START_TEST(test_stdwebhooks_go_vector)
{
    sig_config *c = cfg("{\"scheme\":\"standard-webhooks\",\"secrets\":[\"" SW_GO_SECRET "\"]}");
    struct hset h = {0};
    hset_add(&h, "webhook-id", SW_GO_ID);
    hset_add(&h, "webhook-timestamp", SW_GO_TS);
    hset_add(&h, "webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    struct sig_verdict v = verify(c, &h, SW_GO_BODY, 1614265330000);
    expect(&v, SIG_VALID, "v1 signature matches secrets[0]");
    ck_assert_int_eq(v.secret_index, 0);
    ck_assert_str_eq(v.scheme, "standard-webhooks");
    ck_assert_str_eq(v.message_id, SW_GO_ID);
    ck_assert_str_eq(v.nonce, "");

    snprintf(hset_get(&h, "webhook-signature"), VALUE_MAX,
             "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=");
    v = verify(c, &h, SW_GO_BODY, 1614265330000);
    expect(&v, SIG_INVALID, "the v1 signature does not match the secret");
    ck_assert_int_eq(v.secret_index, -1);

    /* signing reproduces the vector */
    char *lines = sign(c, SW_GO_BODY, 1614265330000, SW_GO_ID);
    ck_assert_str_eq(lines,
                     "webhook-id: " SW_GO_ID "\nwebhook-timestamp: " SW_GO_TS
                     "\nwebhook-signature: v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=\n");
    free(lines);
    sig_config_destroy(c);
}
END_TEST

START_TEST(test_stdwebhooks_rust_vector)
{
    sig_config *c = cfg("{\"scheme\":\"standard-webhooks\",\"secrets\":"
                        "[\"whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD\"]}");
    static const char body[] = "{\"email\":\"test@example.com\",\"username\":\"test_user\"}";
    struct hset h = {0};
    hset_add(&h, "webhook-id", "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk");
    hset_add(&h, "webhook-timestamp", "1649367553");
    hset_add(&h, "webhook-signature", "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=");
    struct sig_verdict v = verify(c, &h, body, 1649367553000);
    expect(&v, SIG_VALID, NULL);
    ck_assert_str_eq(v.message_id, "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk");
    /* one byte of the body changed */
    v = verify(c, &h, "{\"email\":\"test@example.con\",\"username\":\"test_user\"}", 1649367553000);
    expect(&v, SIG_INVALID, NULL);
    sig_config_destroy(c);
}
END_TEST

/* The Svix header names carry the same scheme. */
START_TEST(test_stdwebhooks_svix_headers)
{
    sig_config *c = cfg("{\"scheme\":\"standard-webhooks\",\"secrets\":[\"" SW_GO_SECRET "\"]}");
    struct hset h = {0};
    hset_add(&h, "Svix-Id", SW_GO_ID);
    hset_add(&h, "Svix-Timestamp", SW_GO_TS);
    hset_add(&h, "Svix-Signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    struct sig_verdict v = verify(c, &h, SW_GO_BODY, 1614265330000);
    expect(&v, SIG_VALID, NULL);
    ck_assert_str_eq(v.message_id, SW_GO_ID);
    hset_del(&h, "svix-id");
    v = verify(c, &h, SW_GO_BODY, 1614265330000);
    expect(&v, SIG_MISSING, "no svix-id header");
    sig_config_destroy(c);
}
END_TEST

/* Several signatures, other versions skipped, and what an unusable entry says. */
START_TEST(test_stdwebhooks_entries)
{
    sig_config *c = cfg("{\"scheme\":\"standard-webhooks\",\"secrets\":[\"" SW_GO_SECRET "\"]}");
    struct hset h = {0};
    hset_add(&h, "webhook-id", SW_GO_ID);
    hset_add(&h, "webhook-timestamp", SW_GO_TS);
    hset_add(&h, "webhook-signature",
             "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= "
             "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=  "
             "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    char *sig = hset_get(&h, "webhook-signature");
    struct sig_verdict v = verify(c, &h, SW_GO_BODY, 1614265330000);
    expect(&v, SIG_VALID, "entry 3 of webhook-signature");

    snprintf(sig, VALUE_MAX, "v1,");
    v = verify(c, &h, SW_GO_BODY, 1614265330000);
    expect(&v, SIG_MALFORMED, "entry 1 'v1,' has no signature after the comma");

    snprintf(sig, VALUE_MAX, "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v1,");
    v = verify(c, &h, SW_GO_BODY, 1614265330000);
    expect(&v, SIG_MALFORMED, "entry 2");

    snprintf(sig, VALUE_MAX, "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    v = verify(c, &h, SW_GO_BODY, 1614265330000);
    expect(&v, SIG_MALFORMED, "is not VERSION,SIGNATURE");

    snprintf(sig, VALUE_MAX, "v1,not-base64!");
    v = verify(c, &h, SW_GO_BODY, 1614265330000);
    expect(&v, SIG_MALFORMED, "is not the base64 of a 32-byte HMAC-SHA256");

    snprintf(sig, VALUE_MAX, "v2,abc v3,def");
    v = verify(c, &h, SW_GO_BODY, 1614265330000);
    expect(&v, SIG_INVALID, "has no v1 signature (only other versions, such as 'v2')");

    snprintf(sig, VALUE_MAX,
             "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= "
             "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mA=");
    v = verify(c, &h, SW_GO_BODY, 1614265330000);
    expect(&v, SIG_INVALID, "none of 2 v1 signatures matched the secret");

    /* 17 entries: over the cap */
    size_t o = 0;
    for (int i = 0; i < 17; i++)
        o += (size_t)snprintf(sig + o, VALUE_MAX - o,
                              "%sv1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", i ? " " : "");
    v = verify(c, &h, SW_GO_BODY, 1614265330000);
    expect(&v, SIG_MALFORMED, "more than 16 signatures");
    sig_config_destroy(c);
}
END_TEST

/* The commonest key mistake: the whsec_ string (or its tail) used without decoding. */
START_TEST(test_stdwebhooks_raw_key_diagnosis)
{
    sig_config *wrong =
        cfg("{\"scheme\":\"hmac\",\"header\":\"webhook-signature\","
            "\"encoding\":\"base64\",\"prefix\":\"v1,\",\"id_header\":\"webhook-id\","
            "\"timestamp_header\":\"webhook-timestamp\","
            "\"template\":\"{id}.{timestamp}.{body}\","
            "\"secrets\":[\"" SW_GO_SECRET "\"]}");
    char *lines = sign(wrong, SW_GO_BODY, 1614265330000, SW_GO_ID);
    struct hset h = {0};
    hset_from_lines(&h, lines);
    sig_config *c = cfg("{\"scheme\":\"standard-webhooks\",\"secrets\":[\"" SW_GO_SECRET "\"]}");
    struct sig_verdict v = verify(c, &h, SW_GO_BODY, 1614265330000);
    expect(&v, SIG_INVALID, "made with the whole text of secrets[0] as the key");
    expect(&v, SIG_INVALID, "base64 decoding of the part after whsec_");
    free(lines);
    sig_config_destroy(wrong);
    sig_config_destroy(c);
}
END_TEST

#define ED_SK "whsk_VEVTVFNJR05JTkdLRVlET05PVFVTRVRISVNGT1JBTlk="
#define ED_PK "whpk_ZlN4eg7dSSqi0moX9hQUk3orrOouK3QVQSlJa248c/g="
#define ED_SIG                                                                                     \
    "v1a,tQ9V2XOqn7jL/DQenEFpqIugdBVtiMmER5mhSkXBNwM0mkATuDe6KYYUuxqtaiHeYGb7KaaBRdM5WqyeFiL8Ag=="

/* v1a: the Go library's asymmetric vector (the public key derived with `openssl pkey`). */
START_TEST(test_stdwebhooks_ed25519)
{
    sig_config *pub =
        cfg("{\"scheme\":\"standard-webhooks\",\"secrets\":[\"" SW_GO_SECRET "\",\"" ED_PK "\"]}");
    struct hset h = {0};
    hset_add(&h, "webhook-id", SW_GO_ID);
    hset_add(&h, "webhook-timestamp", SW_GO_TS);
    hset_add(&h, "webhook-signature", ED_SIG);
    struct sig_verdict v = verify(pub, &h, SW_GO_BODY, 1614265330000);
    expect(&v, SIG_VALID, "v1a (ed25519) signature matches secrets[1]");
    ck_assert_int_eq(v.secret_index, 1);
    v = verify(pub, &h, "{\"test\": 2432232315}", 1614265330000);
    expect(&v, SIG_INVALID, "v1a signature matches none of the 2 secrets");

    /* the private key verifies too, and signs deterministically */
    sig_config *priv = cfg("{\"scheme\":\"standard-webhooks\",\"secrets\":[\"" ED_SK "\"]}");
    v = verify(priv, &h, SW_GO_BODY, 1614265330000);
    expect(&v, SIG_VALID, NULL);
    char *lines = sign(priv, SW_GO_BODY, 1614265330000, SW_GO_ID);
    ck_assert_msg(strstr(lines, "webhook-signature: " ED_SIG "\n") != NULL, "%s", lines);
    free(lines);

    /* a whsec_ and a whsk_ key: one signature each */
    sig_config *both =
        cfg("{\"scheme\":\"standard-webhooks\",\"secrets\":[\"" SW_GO_SECRET "\",\"" ED_SK "\"]}");
    lines = sign(both, SW_GO_BODY, 1614265330000, SW_GO_ID);
    ck_assert_msg(
        strstr(lines, "webhook-signature: v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= " ED_SIG
                      "\n") != NULL,
        "%s", lines);
    free(lines);

    /* only a v1a signature, only an HMAC secret */
    sig_config *hmac_only =
        cfg("{\"scheme\":\"standard-webhooks\",\"secrets\":[\"" SW_GO_SECRET "\"]}");
    v = verify(hmac_only, &h, SW_GO_BODY, 1614265330000);
    expect(&v, SIG_INVALID, "only v1a (ed25519) signatures");

    /* a public key cannot sign */
    sig_config *pk_only = cfg("{\"scheme\":\"standard-webhooks\",\"secrets\":[\"" ED_PK "\"]}");
    struct buf out;
    buf_init(&out, 0);
    struct wh_error err = {0};
    ck_assert_int_eq(sig_sign(pk_only, NULL, NULL, "x", 1, 0, NULL, &out, &err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "public keys"));
    ck_assert_uint_eq(out.len, 0);
    buf_finish(&out);
    sig_config_destroy(pub);
    sig_config_destroy(priv);
    sig_config_destroy(both);
    sig_config_destroy(hmac_only);
    sig_config_destroy(pk_only);
}
END_TEST

#define GH_SECRET "It's a Secret to Everybody"

START_TEST(test_github_vector)
{
    sig_config *c = cfg("{\"scheme\":\"github\",\"secrets\":[\"" GH_SECRET "\"]}");
    struct hset h = {0};
    hset_add(&h, "X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958");
    hset_add(&h, "x-hub-signature-256",
             "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
    struct sig_verdict v = verify(c, &h, "Hello, World!", 0);
    expect(&v, SIG_VALID, "the sha256 signature matches secrets[0]");
    ck_assert_str_eq(v.message_id, "72d3162e-cc78-11e3-81ab-4c9367dc0958");
    v = verify(c, &h, "Hello, World?", 0);
    expect(&v, SIG_INVALID, "the sha256 signature does not match the secret");

    /* uppercase hex: GitHub's own comparison would fail, and we say why */
    snprintf(hset_get(&h, "x-hub-signature-256"), VALUE_MAX,
             "sha256=757107EA0EB2509FC211221CCE984B8A37570B6D7586C22C46F4379C8B043E17");
    v = verify(c, &h, "Hello, World!", 0);
    expect(&v, SIG_INVALID, "uppercase hex");

    snprintf(hset_get(&h, "x-hub-signature-256"), VALUE_MAX,
             "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
    v = verify(c, &h, "Hello, World!", 0);
    expect(&v, SIG_MALFORMED, "does not start with sha256=");

    snprintf(hset_get(&h, "x-hub-signature-256"), VALUE_MAX, "sha256=757107ea");
    v = verify(c, &h, "Hello, World!", 0);
    expect(&v, SIG_MALFORMED, "64 hex characters");
    sig_config_destroy(c);
}
END_TEST

/* A secret named by an environment variable works like one written in the config, after the
 * ones written there. */
START_TEST(test_secrets_from_environment)
{
    setenv("WH_TEST_GH_SECRET", GH_SECRET, 1);
    sig_config *c = cfg("{\"scheme\":\"github\",\"secrets\":[\"old\"],"
                        "\"secrets_env\":[\"WH_TEST_GH_SECRET\"]}");
    unsetenv("WH_TEST_GH_SECRET"); /* read once, when the config is loaded */
    struct hset h = {0};
    hset_add(&h, "x-hub-signature-256",
             "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
    struct sig_verdict v = verify(c, &h, "Hello, World!", 0);
    expect(&v, SIG_VALID, "matches secrets[1]");
    ck_assert_int_eq(v.secret_index, 1);
    sig_config_destroy(c);
}
END_TEST

/* sha1 (X-Hub-Signature) only with allow_sha1, and only when sha256 is absent. */
START_TEST(test_github_sha1)
{
    sig_config *strict = cfg("{\"scheme\":\"github\",\"secrets\":[\"" GH_SECRET "\"]}");
    sig_config *lax =
        cfg("{\"scheme\":\"github\",\"allow_sha1\":true,\"secrets\":[\"" GH_SECRET "\"]}");
    struct hset h = {0};
    hset_add(&h, "X-Hub-Signature", "sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59");
    struct sig_verdict v = verify(strict, &h, "Hello, World!", 0);
    expect(&v, SIG_MISSING, "allow_sha1");
    v = verify(lax, &h, "Hello, World!", 0);
    expect(&v, SIG_VALID, "the sha1 signature matches secrets[0]");
    v = verify(lax, &h, "Hello, World", 0);
    expect(&v, SIG_INVALID, "sha1");

    char *lines = sign(lax, "Hello, World!", 0, "d-1");
    ck_assert_str_eq(lines,
                     "X-GitHub-Delivery: d-1\n"
                     "X-Hub-Signature: sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59\n"
                     "X-Hub-Signature-256: "
                     "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17\n");
    free(lines);
    struct hset none = {0};
    v = verify(strict, &none, "Hello, World!", 0);
    expect(&v, SIG_MISSING, "no X-Hub-Signature-256 header");
    sig_config_destroy(strict);
    sig_config_destroy(lax);
}
END_TEST

#define SLACK_BODY                                                                                 \
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id="         \
    "G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-"     \
    "collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%"             \
    "2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121."               \
    "803a0bc887a14d10d2c447fce8b6703c"

START_TEST(test_slack_vector)
{
    sig_config *c =
        cfg("{\"scheme\":\"slack\",\"secrets\":[\"8f742231b10e8888abcd99yyyzzz85a5\"]}");
    struct hset h = {0};
    hset_add(&h, "X-Slack-Request-Timestamp", "1531420618");
    hset_add(&h, "X-Slack-Signature",
             "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503");
    struct sig_verdict v = verify(c, &h, SLACK_BODY, 1531420618000);
    expect(&v, SIG_VALID, "the v0 signature matches secrets[0]");
    ck_assert_str_eq(v.message_id, "");
    /* Slack's SDK: five minutes either way */
    v = verify(c, &h, SLACK_BODY, (1531420618 + 301) * 1000LL);
    expect(&v, SIG_EXPIRED, "timestamp 1531420618 is 301 s older than the 300 s tolerance");
    expect(&v, SIG_EXPIRED, "the signature itself matches secrets[0]");
    v = verify(c, &h, SLACK_BODY, (1531420618 - 301) * 1000LL);
    expect(&v, SIG_EXPIRED, "301 s in the future, beyond the 300 s tolerance");
    snprintf(hset_get(&h, "X-Slack-Signature"), VALUE_MAX,
             "v1=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503");
    v = verify(c, &h, SLACK_BODY, 1531420618000);
    expect(&v, SIG_MALFORMED, "not v0= followed by 64 hex characters");
    sig_config_destroy(c);
}
END_TEST

#define TWENTY_BODY                                                                                \
    "{\"targetUrl\":\"https://arxena.com/test-webhook/webhook\",\"eventName\":\"opportunity."      \
    "created\",\"objectMetadata\":{\"id\":\"370985db-22d8-4463-8e5f-2271d30913bd\","               \
    "\"nameSingular\":\"opportunity\"},\"workspaceId\":\"872cfcf1-c79f-42bc-877d-5829f06eb3f9\","  \
    "\"webhookId\":\"90056586-1228-4e03-a507-70140aa85c05\",\"eventDate\":\"2024-02-14T11:27:01."  \
    "779Z\",\"record\":{\"id\":\"record-id\",\"name\":\"New opportunity\"}}"

START_TEST(test_twenty_vector)
{
    sig_config *c = cfg("{\"scheme\":\"twenty\",\"secrets\":[\"test-webhook-secret\"]}");
    struct hset h = {0};
    hset_add(&h, "X-Twenty-Webhook-Timestamp", "1735066639761");
    hset_add(&h, "X-Twenty-Webhook-Signature",
             "02c720b6a99ba2b78b32100f9cce873293c5bb5a3b2a2739b2e87eb20cc5eafd");
    hset_add(&h, "X-Twenty-Webhook-Nonce", "0123456789abcdef0123456789abcdef");
    struct sig_verdict v = verify(c, &h, TWENTY_BODY, 1735066639761);
    expect(&v, SIG_VALID, "the signature matches secrets[0]");
    ck_assert_str_eq(v.nonce, "0123456789abcdef0123456789abcdef");
    ck_assert_str_eq(v.message_id, "");

    /* the docs' double-encoded variant is recognised */
    snprintf(hset_get(&h, "X-Twenty-Webhook-Signature"), VALUE_MAX,
             "a420a5c5be138e8d879c4971799f3af0c9d03136c35fe9edb6afa6210374cc21");
    v = verify(c, &h, TWENTY_BODY, 1735066639761);
    expect(&v, SIG_INVALID,
           "the signature matches the body JSON-encoded twice (Twenty docs example)");
    expect(&v, SIG_INVALID, "sign the body as sent");
    ck_assert_int_eq(v.secret_index, -1);

    /* no headers: Twenty sends none when the secret is empty */
    struct hset none = {0};
    v = verify(c, &none, TWENTY_BODY, 1735066639761);
    expect(&v, SIG_MISSING, "no X-Twenty-Webhook-Signature header (Twenty sends none");

    /* milliseconds: 301 s is 301000 ms */
    snprintf(hset_get(&h, "X-Twenty-Webhook-Signature"), VALUE_MAX,
             "02c720b6a99ba2b78b32100f9cce873293c5bb5a3b2a2739b2e87eb20cc5eafd");
    v = verify(c, &h, TWENTY_BODY, 1735066639761 + 300000);
    expect(&v, SIG_VALID, NULL);
    v = verify(c, &h, TWENTY_BODY, 1735066639761 + 301000);
    expect(&v, SIG_EXPIRED, "timestamp 1735066639761 is 301 s older than the 300 s tolerance");
    v = verify(c, &h, TWENTY_BODY, 1735066639761 - 301000);
    expect(&v, SIG_EXPIRED, "in the future");
    sig_config_destroy(c);
}
END_TEST

/* A Twenty sender that signs seconds gets told so. */
START_TEST(test_twenty_seconds_hint)
{
    sig_config *c = cfg("{\"scheme\":\"twenty\",\"secrets\":[\"s3cret\"]}");
    struct hset h = {0};
    char *lines = sign(c, "{}", 1736935200000, NULL);
    hset_from_lines(&h, lines);
    ck_assert_uint_eq(strlen(hset_get(&h, "X-Twenty-Webhook-Nonce")), 32);
    snprintf(hset_get(&h, "X-Twenty-Webhook-Timestamp"), VALUE_MAX, "1736935200");
    struct sig_verdict v = verify(c, &h, "{}", 1736935200000);
    expect(&v, SIG_EXPIRED, "it looks like seconds");
    free(lines);
    sig_config_destroy(c);
}
END_TEST

/* Stripe, vectors from
 *   printf '%s' "1736935200.$B" | openssl dgst -sha256 -hmac "$SECRET" */
#define STRIPE_BODY                                                                                \
    "{\"id\":\"evt_1QhXtWLkdIwHu7ix0Qn0x5Ub\",\"object\":\"event\",\"type\":\"payment_intent."     \
    "succeeded\"}"
#define STRIPE_SECRET "whsec_5WbX5kEWLlfzsGNjH64I8lOOqUB6e8FH"
#define STRIPE_SECRET2 "whsec_rotated0000000000000000000000"
#define STRIPE_SIG "60dda45a3697e8ad4c1a17b64bfd7a93fc95f8d23027781a0307b7835b6db78c"
#define STRIPE_SIG2 "0d54a91dd6605357bd62946ccb8a4c7653798fe5b333f081fd210c268851c2ed"

START_TEST(test_stripe_vector)
{
    sig_config *c = cfg("{\"scheme\":\"stripe\",\"secrets\":[\"" STRIPE_SECRET "\"]}");
    struct hset h = {0};
    hset_add(&h, "Stripe-Signature", "t=1736935200,v1=" STRIPE_SIG ",v0=6ffbb59b2300aae63f2727");
    struct sig_verdict v = verify(c, &h, STRIPE_BODY, 1736935200000);
    expect(&v, SIG_VALID, "the v1 signature matches secrets[0]");
    ck_assert_str_eq(v.message_id, "evt_1QhXtWLkdIwHu7ix0Qn0x5Ub");
    char *lines = sign(c, STRIPE_BODY, 1736935200123, NULL);
    ck_assert_str_eq(lines, "Stripe-Signature: t=1736935200,v1=" STRIPE_SIG "\n");
    free(lines);

    /* Stripe's libraries check only the past */
    v = verify(c, &h, STRIPE_BODY, (1736935200 - 301) * 1000LL);
    expect(&v, SIG_VALID, NULL);
    v = verify(c, &h, STRIPE_BODY, (1736935200 + 412) * 1000LL);
    expect(&v, SIG_EXPIRED, "timestamp 1736935200 is 412 s older than the 300 s tolerance");

    /* rotation: two v1 entries, two secrets, the second pair matches */
    sig_config *rot =
        cfg("{\"scheme\":\"stripe\",\"secrets\":[\"whsec_old\",\"" STRIPE_SECRET2 "\"]}");
    snprintf(hset_get(&h, "Stripe-Signature"), VALUE_MAX,
             "t=1736935200,v1=" STRIPE_SIG ",v1=" STRIPE_SIG2);
    v = verify(rot, &h, STRIPE_BODY, 1736935200000);
    expect(&v, SIG_VALID, "v1 signature 2 of 2 matches secrets[1]");
    ck_assert_int_eq(v.secret_index, 1);
    v = verify(rot, &h, STRIPE_BODY "x", 1736935200000);
    expect(&v, SIG_INVALID, "none of 2 v1 signatures matched any of 2 secrets");

    sig_config *both =
        cfg("{\"scheme\":\"stripe\",\"secrets\":[\"" STRIPE_SECRET "\",\"" STRIPE_SECRET2 "\"]}");
    lines = sign(both, STRIPE_BODY, 1736935200000, NULL);
    ck_assert_str_eq(lines,
                     "Stripe-Signature: t=1736935200,v1=" STRIPE_SIG ",v1=" STRIPE_SIG2 "\n");
    free(lines);
    sig_config_destroy(c);
    sig_config_destroy(rot);
    sig_config_destroy(both);
}
END_TEST

START_TEST(test_stripe_malformed)
{
    sig_config *c = cfg("{\"scheme\":\"stripe\",\"secrets\":[\"" STRIPE_SECRET "\"]}");
    static const struct {
        const char *value;
        enum sig_status st;
        const char *needle;
    } cases[] = {
        {"v1=" STRIPE_SIG, SIG_MALFORMED, "has no t= timestamp"},
        {"t=1736935200", SIG_INVALID, "has no v1= signature"},
        {"t=1736935200,v0=abc", SIG_INVALID, "only other schemes such as v0="},
        {"t=abc,v1=" STRIPE_SIG, SIG_MALFORMED, "t= 'abc' is not a whole number of seconds"},
        {"t=1,t=2,v1=" STRIPE_SIG, SIG_MALFORMED, "more than one t="},
        {"t=1736935200,v1=" STRIPE_SIG ",", SIG_MALFORMED, "part 3 '' is not key=value"},
        {"t=1736935200,v1=", SIG_MALFORMED, "v1 signature 1 'v1=' is not 64 hex characters"},
        {"t=1736935200,v1=zz", SIG_MALFORMED, "not 64 hex characters"},
        {"t=1736935200 v1=" STRIPE_SIG, SIG_MALFORMED, "is not a whole number"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct hset h = {0};
        hset_add(&h, "Stripe-Signature", cases[i].value);
        struct sig_verdict v = verify(c, &h, STRIPE_BODY, 1736935200000);
        expect(&v, cases[i].st, cases[i].needle);
    }
    sig_config_destroy(c);
}
END_TEST

/* Stripe keys are the whole whsec_ text; a sender that base64-decodes it (as Standard Webhooks
 * does) is told so. The signature was computed with
 *   printf '%s' "1736935200.$B" | openssl dgst -sha256 -mac HMAC \
 *       -macopt hexkey:$(printf 5WbX5kEWLlfzsGNjH64I8lOOqUB6e8FH | base64 -d | xxd -p -c100) */
START_TEST(test_stripe_decoded_key_diagnosis)
{
    sig_config *c = cfg("{\"scheme\":\"stripe\",\"secrets\":[\"" STRIPE_SECRET "\"]}");
    struct hset h = {0};
    hset_add(&h, "Stripe-Signature",
             "t=1736935200,v1=f527437a518473d35288d5db2b4b8a8d5513b3e420361c4ea8c46fa3b69ffd50");
    struct sig_verdict v = verify(c, &h, STRIPE_BODY, 1736935200000);
    expect(&v, SIG_INVALID, "made with the base64 decoding of secrets[0] as the key");
    snprintf(hset_get(&h, "Stripe-Signature"), VALUE_MAX,
             "t=1736935200,v1=60DDA45A3697E8AD4C1A17B64BFD7A93FC95F8D23027781A0307B7835B6DB78C");
    v = verify(c, &h, STRIPE_BODY, 1736935200000);
    expect(&v, SIG_INVALID, "uppercase hex");
    sig_config_destroy(c);
}
END_TEST

/* Shopify, vector from
 *   printf '%s' "$B" | openssl dgst -sha256 -hmac shpss_0a1b2c3d4e5f -binary | base64 */
#define SHOPIFY_BODY                                                                               \
    "{\"id\":820982911946154508,\"email\":\"jon@example.com\",\"topic\":\"orders/create\"}"
#define SHOPIFY_SIG "R4EEXPxgwfXpX6Udqjujgu14DfgPxmFmvTHK1isK82o="

START_TEST(test_shopify_vector)
{
    sig_config *c = cfg("{\"scheme\":\"shopify\",\"secrets\":[\"shpss_0a1b2c3d4e5f\"]}");
    struct hset h = {0};
    hset_add(&h, "X-Shopify-Webhook-Id", "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043");
    hset_add(&h, "X-Shopify-Hmac-Sha256", SHOPIFY_SIG);
    struct sig_verdict v = verify(c, &h, SHOPIFY_BODY, 0);
    expect(&v, SIG_VALID, "the signature matches secrets[0]");
    ck_assert_str_eq(v.message_id, "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043");
    char *lines = sign(c, SHOPIFY_BODY, 0, "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043");
    ck_assert_str_eq(lines, "X-Shopify-Webhook-Id: b54557e4-bdd9-4b37-8a5f-bf7d70bcd043\n"
                            "X-Shopify-Hmac-Sha256: " SHOPIFY_SIG "\n");
    free(lines);

    /* the same HMAC in hex: recognised, and refused as Shopify would */
    snprintf(hset_get(&h, "X-Shopify-Hmac-Sha256"), VALUE_MAX,
             "4781045cfc60c1f5e95fa51daa3ba382ed780df80fc66166bd31cad62b0af36a");
    v = verify(c, &h, SHOPIFY_BODY, 0);
    expect(&v, SIG_INVALID, "written in hex; Shopify sends the HMAC in base64");
    snprintf(hset_get(&h, "X-Shopify-Hmac-Sha256"), VALUE_MAX, "R4EEXPxgwfXpX6Udqjujgu14");
    v = verify(c, &h, SHOPIFY_BODY, 0);
    expect(&v, SIG_MALFORMED, "44 characters");
    sig_config_destroy(c);
}
END_TEST

/* Generic hmac, vectors from
 *   printf '%s' "1736935200.hello" | openssl dgst -sha512 -hmac generic-secret -binary | base64
 *   printf '%s' "POST /hooks/x 1736935200 evt-1 hello" | openssl dgst -sha1 -hmac generic-secret */
START_TEST(test_hmac_vectors)
{
    sig_config *c = cfg("{\"scheme\":\"hmac\",\"header\":\"X-Signature\",\"algorithm\":\"sha512\","
                        "\"encoding\":\"base64\",\"template\":\"{timestamp}.{body}\","
                        "\"timestamp_header\":\"X-Timestamp\",\"secrets\":[\"generic-secret\"]}");
    struct hset h = {0};
    hset_add(&h, "X-Timestamp", "1736935200");
    hset_add(&h, "X-Signature",
             "VRmUvJmluRUpaNWnIS5hPhcLdEBKNaxgXD14ofRvBsar6MIu7ljsnyMrkxY29lBab"
             "DtT0IEM5Pj2MI0jl81QPQ==");
    struct sig_verdict v = verify(c, &h, "hello", 1736935200000);
    expect(&v, SIG_VALID, NULL);
    /* without padding too */
    hset_get(&h, "X-Signature")[86] = '\0';
    v = verify(c, &h, "hello", 1736935200000);
    expect(&v, SIG_VALID, NULL);
    v = verify(c, &h, "hellp", 1736935200000);
    expect(&v, SIG_INVALID, "template '{timestamp}.{body}'");
    v = verify(c, &h, "hello", (1736935200 + 301) * 1000LL);
    expect(&v, SIG_EXPIRED, "301 s older");
    ck_assert_int_eq(sig_config_timestamp_unit_ms(c), 1000);
    sig_config_destroy(c);

    c = cfg("{\"scheme\":\"hmac\",\"header\":\"X-Sig\",\"algorithm\":\"sha1\",\"prefix\":\"sha1=\","
            "\"template\":\"{method} {path} {timestamp} {id} {body}\","
            "\"timestamp_header\":\"X-Ts\",\"timestamp_unit\":\"s\",\"id_header\":\"X-Event-Id\","
            "\"tolerance_s\":0,\"secrets\":[\"generic-secret\"]}");
    struct hset g = {0};
    hset_add(&g, "X-Ts", "1736935200");
    hset_add(&g, "X-Event-Id", "evt-1");
    hset_add(&g, "X-Sig", "sha1=78bc93ac9cc7594644a64433252f1e5a4a8a2e4a");
    v = verify_full(c, &g, "hello", 5, 1, "POST", "/hooks/x");
    expect(&v, SIG_VALID, NULL);
    ck_assert_str_eq(v.message_id, "evt-1");
    /* hex in either case */
    snprintf(hset_get(&g, "X-Sig"), VALUE_MAX, "sha1=78BC93AC9CC7594644A64433252F1E5A4A8A2E4A");
    v = verify_full(c, &g, "hello", 5, 1, "POST", "/hooks/x");
    expect(&v, SIG_VALID, NULL);
    v = verify_full(c, &g, "hello", 5, 1, "PUT", "/hooks/x");
    expect(&v, SIG_INVALID, NULL);
    v = verify_full(c, &g, "hello", 5, 1, "POST", "/hooks/y");
    expect(&v, SIG_INVALID, NULL);
    snprintf(hset_get(&g, "X-Sig"), VALUE_MAX, "78bc93ac9cc7594644a64433252f1e5a4a8a2e4a");
    v = verify_full(c, &g, "hello", 5, 1, "POST", "/hooks/x");
    expect(&v, SIG_MALFORMED, "does not start with 'sha1='");
    hset_del(&g, "X-Event-Id");
    v = verify_full(c, &g, "hello", 5, 1, "POST", "/hooks/x");
    expect(&v, SIG_MISSING, "no X-Event-Id header");

    char *lines = NULL;
    struct buf out;
    buf_init(&out, 0);
    ck_assert_int_eq(
        sig_sign(c, "POST", "/hooks/x", "hello", 5, 1736935200999, "evt-1", &out, NULL), 0);
    lines = buf_steal(&out, NULL);
    ck_assert_str_eq(lines, "X-Ts: 1736935200\nX-Event-Id: evt-1\n"
                            "X-Sig: sha1=78bc93ac9cc7594644a64433252f1e5a4a8a2e4a\n");
    free(lines);
    sig_config_destroy(c);
}
END_TEST

/* ---- every scheme: round trips and negative cases ---- */

struct scheme_case {
    const char *name;
    const char *config;        /* the JSON object without secrets and its closing brace */
    const char *a, *b, *wrong; /* three secrets */
    const char *sig_header;
    const char *ts_header; /* NULL: no timestamp */
    int64_t unit_ms;
    bool future_checked;
};

static const struct scheme_case schemes[] = {
    {"twenty", "{\"scheme\":\"twenty\"", "alpha", "bravo", "charlie", "X-Twenty-Webhook-Signature",
     "X-Twenty-Webhook-Timestamp", 1, true},
    {"standard-webhooks", "{\"scheme\":\"standard-webhooks\"",
     "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
     "whsec_dGhpcyBpcyBub3QgdGhlIHNlY3JldA==", "webhook-signature", "webhook-timestamp", 1000,
     true},
    {"github", "{\"scheme\":\"github\"", "alpha", "bravo", "charlie", "X-Hub-Signature-256", NULL,
     0, false},
    {"stripe", "{\"scheme\":\"stripe\"", "whsec_alpha", "whsec_bravo", "whsec_charlie",
     "Stripe-Signature", "Stripe-Signature", 1000, false},
    {"slack", "{\"scheme\":\"slack\"", "alpha", "bravo", "charlie", "X-Slack-Signature",
     "X-Slack-Request-Timestamp", 1000, true},
    {"shopify", "{\"scheme\":\"shopify\"", "alpha", "bravo", "charlie", "X-Shopify-Hmac-Sha256",
     NULL, 0, false},
    {"hmac",
     "{\"scheme\":\"hmac\",\"header\":\"X-Sig\",\"prefix\":\"sha256=\","
     "\"timestamp_header\":\"X-Ts\",\"timestamp_unit\":\"ms\",\"id_header\":\"X-Id\","
     "\"template\":\"{timestamp}:{id}:{body}\"",
     "alpha", "bravo", "charlie", "X-Sig", "X-Ts", 1, true},
    {"hmac-base64",
     "{\"scheme\":\"hmac\",\"header\":\"X-Sig\",\"encoding\":\"base64\","
     "\"algorithm\":\"sha1\"",
     "alpha", "bravo", "charlie", "X-Sig", NULL, 0, false},
};
#define N_SCHEMES (sizeof(schemes) / sizeof(schemes[0]))

#define T0 1736935200000LL
static const char body[] =
    "{\"event\":\"thing.created\",\"data\":{\"id\":42,\"name\":\"caf\xc3\xa9\"}}";

static sig_config *scheme_cfg_extra(const struct scheme_case *s, const char *s1, const char *s2,
                                    const char *extra)
{
    char json[1024];
    snprintf(json, sizeof(json), "%s,\"secrets\":[\"%s\"%s%s%s]%s}", s->config, s1, s2 ? ",\"" : "",
             s2 ? s2 : "", s2 ? "\"" : "", extra);
    return cfg(json);
}

static sig_config *scheme_cfg(const struct scheme_case *s, const char *s1, const char *s2)
{
    return scheme_cfg_extra(s, s1, s2, "");
}

static void signed_headers(const struct scheme_case *s, const char *secret, int64_t ts,
                           struct hset *h)
{
    sig_config *c = scheme_cfg(s, secret, NULL);
    char *lines = sign(c, body, ts, NULL);
    hset_from_lines(h, lines);
    free(lines);
    sig_config_destroy(c);
}

/* Change one character in the middle of a header value to another of its alphabet. */
static void flip(char *value)
{
    size_t i = strlen(value) / 2 + 3;
    value[i] = value[i] == 'a' ? 'b' : 'a';
}

START_TEST(test_round_trip)
{
    const struct scheme_case *s = &schemes[_i];
    sig_config *c = scheme_cfg(s, s->a, s->b);
    ck_assert_str_eq(sig_config_scheme(c), strncmp(s->name, "hmac", 4) == 0 ? "hmac" : s->name);
    ck_assert_int_eq(sig_config_timestamp_unit_ms(c), s->unit_ms);
    ck_assert_int_eq(sig_config_tolerance(c), 300);
    struct hset h;
    char *lines = sign(c, body, T0, NULL);
    hset_from_lines(&h, lines);
    struct sig_verdict v = verify(c, &h, body, T0);
    expect(&v, SIG_VALID, NULL);
    ck_assert_int_eq(v.secret_index, 0);
    /* an empty body signs and verifies too */
    free(lines);
    lines = sign(c, "", T0, NULL);
    hset_from_lines(&h, lines);
    v = verify(c, &h, "", T0);
    expect(&v, SIG_VALID, NULL);
    free(lines);
    sig_config_destroy(c);
}
END_TEST

START_TEST(test_tampered)
{
    const struct scheme_case *s = &schemes[_i];
    sig_config *c = scheme_cfg(s, s->a, NULL);
    struct hset h;
    signed_headers(s, s->a, T0, &h);
    char changed[sizeof(body)];
    memcpy(changed, body, sizeof(body));
    changed[10] = 'X';
    struct sig_verdict v = verify(c, &h, changed, T0);
    expect(&v, SIG_INVALID, "does not match the secret");
    ck_assert_int_eq(v.secret_index, -1);
    /* the signature's own characters */
    flip(hset_get(&h, s->sig_header));
    v = verify(c, &h, body, T0);
    expect(&v, SIG_INVALID, NULL);
    sig_config_destroy(c);
}
END_TEST

START_TEST(test_wrong_secret)
{
    const struct scheme_case *s = &schemes[_i];
    sig_config *c = scheme_cfg(s, s->a, s->b);
    struct hset h;
    signed_headers(s, s->wrong, T0, &h);
    struct sig_verdict v = verify(c, &h, body, T0);
    expect(&v, SIG_INVALID, "2 secrets");
    sig_config_destroy(c);
}
END_TEST

START_TEST(test_rotation)
{
    const struct scheme_case *s = &schemes[_i];
    sig_config *c = scheme_cfg(s, s->a, s->b);
    struct hset h;
    signed_headers(s, s->b, T0, &h);
    struct sig_verdict v = verify(c, &h, body, T0);
    expect(&v, SIG_VALID, "secrets[1]");
    ck_assert_int_eq(v.secret_index, 1);
    sig_config_destroy(c);
}
END_TEST

START_TEST(test_time_window)
{
    const struct scheme_case *s = &schemes[_i];
    if (!s->ts_header)
        return;
    sig_config *c = scheme_cfg(s, s->a, NULL);
    struct hset h;
    signed_headers(s, s->a, T0 - 301000, &h);
    struct sig_verdict v = verify(c, &h, body, T0);
    expect(&v, SIG_EXPIRED, "301 s older than the 300 s tolerance");
    ck_assert_int_eq(v.secret_index, 0);
    signed_headers(s, s->a, T0 - 300000, &h);
    v = verify(c, &h, body, T0);
    expect(&v, SIG_VALID, NULL);

    signed_headers(s, s->a, T0 + 301000, &h);
    v = verify(c, &h, body, T0);
    if (s->future_checked)
        expect(&v, SIG_EXPIRED, "301 s in the future, beyond the 300 s tolerance");
    else
        expect(&v, SIG_VALID, NULL);

    /* an old, tampered delivery: expired, and the reason says the signature fails too */
    signed_headers(s, s->a, T0 - 1000000, &h);
    v = verify(c, &h, "tampered", T0);
    expect(&v, SIG_EXPIRED, "the signature does not match either");
    sig_config_destroy(c);

    /* tolerance 0 switches the check off */
    c = scheme_cfg_extra(s, s->a, NULL, ",\"tolerance_s\":0");
    ck_assert_int_eq(sig_config_tolerance(c), 0);
    signed_headers(s, s->a, T0 - 100000000, &h);
    v = verify(c, &h, body, T0);
    expect(&v, SIG_VALID, NULL);
    sig_config_destroy(c);
}
END_TEST

START_TEST(test_missing_headers)
{
    const struct scheme_case *s = &schemes[_i];
    sig_config *c = scheme_cfg(s, s->a, NULL);
    struct hset h;
    signed_headers(s, s->a, T0, &h);
    struct hset all = h;
    hset_del(&h, s->sig_header);
    struct sig_verdict v = verify(c, &h, body, T0);
    expect(&v, SIG_MISSING, "no ");
    ck_assert_int_eq(v.secret_index, -1);
    /* every other header the sender sent, one at a time */
    for (size_t i = 0; i < all.n; i++) {
        if (strcasecmp(all.name[i], s->sig_header) == 0)
            continue;
        h = all;
        hset_del(&h, all.name[i]);
        v = verify(c, &h, body, T0);
        bool needed = s->ts_header && strcasecmp(all.name[i], s->ts_header) == 0;
        needed |= strcasecmp(all.name[i], "webhook-id") == 0 || strcmp(s->name, "hmac") == 0;
        if (needed)
            expect(&v, SIG_MISSING, all.name[i]);
        else
            expect(&v, SIG_VALID, NULL); /* ids and nonces are not signed */
    }
    struct hset none = {0};
    v = verify(c, &none, body, T0);
    expect(&v, SIG_MISSING, NULL);
    sig_config_destroy(c);
}
END_TEST

START_TEST(test_garbage_headers)
{
    const struct scheme_case *s = &schemes[_i];
    sig_config *c = scheme_cfg(s, s->a, NULL);
    struct hset h, all;
    signed_headers(s, s->a, T0, &all);
    static const char *const garbage[] = {
        "\x01\xff garbage \x1b[31m", "=", ",", " ", "sha256=", "v1,", "t=,v1=", "\xc3\x28"};
    for (size_t g = 0; g < sizeof(garbage) / sizeof(garbage[0]); g++) {
        h = all;
        snprintf(hset_get(&h, s->sig_header), VALUE_MAX, "%s", garbage[g]);
        struct sig_verdict v = verify(c, &h, body, T0);
        ck_assert_msg(v.status == SIG_MALFORMED || v.status == SIG_INVALID,
                      "%s: garbage %zu gave %s: %s", s->name, g, sig_status_name(v.status),
                      v.reason);
        ck_assert_msg(strstr(v.reason, "\x1b") == NULL, "raw escape in the reason");
    }
    /* a garbage timestamp */
    if (s->ts_header && strcmp(s->ts_header, s->sig_header) != 0) {
        h = all;
        snprintf(hset_get(&h, s->ts_header), VALUE_MAX, "17369352OO");
        struct sig_verdict v = verify(c, &h, body, T0);
        expect(&v, SIG_MALFORMED, "is not a whole number of");
        snprintf(hset_get(&h, s->ts_header), VALUE_MAX, "99999999999999999999999");
        v = verify(c, &h, body, T0);
        expect(&v, SIG_MALFORMED, "is not a whole number of");
    }
    /* oversized: more than 8 KiB */
    h = all;
    char *big = hset_get(&h, s->sig_header);
    memset(big, 'a', 9000);
    big[9000] = '\0';
    struct sig_verdict v = verify(c, &h, body, T0);
    expect(&v, SIG_MALFORMED, "is 9000 bytes long, more than the 8192 allowed");
    /* the signature header twice */
    h = all;
    hset_add(&h, s->sig_header, hset_get(&h, s->sig_header));
    v = verify(c, &h, body, T0);
    expect(&v, SIG_MALFORMED, "appears 2 times");
    /* header names are case-insensitive */
    h = all;
    for (size_t i = 0; i < h.n; i++)
        for (char *p = h.name[i]; *p; p++)
            *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
    v = verify(c, &h, body, T0);
    expect(&v, SIG_VALID, NULL);
    sig_config_destroy(c);
}
END_TEST

/* A truncated capture cannot match, and the reason says why. */
START_TEST(test_truncated_body)
{
    sig_config *c = cfg("{\"scheme\":\"github\",\"secrets\":[\"s\"]}");
    struct hset h;
    char *lines = sign(c, body, 0, NULL);
    hset_from_lines(&h, lines);
    struct delivery *d = delivery_create();
    for (size_t i = 0; i < h.n; i++)
        delivery_add_header(d, h.name[i], strlen(h.name[i]), h.value[i], strlen(h.value[i]));
    struct sig_request req = {.headers = d->headers.data,
                              .headers_len = d->headers.len,
                              .body = body,
                              .body_len = 10,
                              .body_truncated = true};
    struct sig_verdict v;
    ck_assert_int_eq(sig_verify(c, &req, &v), 0);
    expect(&v, SIG_INVALID, "only the first 10 bytes of the body were kept");
    delivery_destroy(d);
    free(lines);
    sig_config_destroy(c);
}
END_TEST

START_TEST(test_not_configured)
{
    struct sig_request req = {0};
    struct sig_verdict v;
    ck_assert_int_eq(sig_verify(NULL, &req, &v), 0);
    expect(&v, SIG_NOT_CONFIGURED, "no signature scheme");
    ck_assert_str_eq(sig_status_name(v.status), "not_configured");
    ck_assert_str_eq(sig_status_name(SIG_VALID), "valid");
    ck_assert_str_eq(sig_status_name(SIG_EXPIRED), "expired");
    ck_assert_str_eq(sig_status_name(SIG_MALFORMED), "malformed");
    ck_assert_str_eq(sig_status_name(SIG_MISSING), "missing");
    ck_assert_str_eq(sig_status_name(SIG_INVALID), "invalid");
}
END_TEST

/* The Stripe idempotency key is the event id in the body; ids that do not fit are dropped. */
START_TEST(test_message_ids)
{
    sig_config *c = cfg("{\"scheme\":\"stripe\",\"secrets\":[\"whsec_x\"]}");
    struct hset h;
    char *lines = sign(c, "{\"id\": \"evt_9\"}", T0, NULL);
    hset_from_lines(&h, lines);
    struct sig_verdict v = verify(c, &h, "{\"id\": \"evt_9\"}", T0);
    ck_assert_str_eq(v.message_id, "evt_9");
    v = verify(c, &h, "[1]", T0);
    ck_assert_str_eq(v.message_id, "");
    v = verify(c, &h, "{\"id\": 5}", T0);
    ck_assert_str_eq(v.message_id, "");
    free(lines);
    sig_config_destroy(c);

    c = cfg("{\"scheme\":\"github\",\"secrets\":[\"s\"]}");
    char long_id[300];
    memset(long_id, 'i', sizeof(long_id) - 1);
    long_id[sizeof(long_id) - 1] = '\0';
    struct buf out;
    buf_init(&out, 0);
    struct wh_error err = {0};
    ck_assert_int_eq(sig_sign(c, NULL, NULL, "x", 1, 0, long_id, &out, &err), -EINVAL);
    ck_assert_int_eq(sig_sign(c, NULL, NULL, "x", 1, 0, "a\nb", &out, &err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "printable"));
    ck_assert_uint_eq(out.len, 0);
    long_id[200] = '\0';
    ck_assert_int_eq(sig_sign(c, NULL, NULL, "x", 1, 0, long_id, &out, &err), 0);
    hset_from_lines(&h, out.data);
    v = verify(c, &h, "x", 0);
    expect(&v, SIG_VALID, NULL);
    ck_assert_str_eq(v.message_id, ""); /* 200 bytes do not fit in 160 */
    buf_finish(&out);
    sig_config_destroy(c);
}
END_TEST

/* Generated ids have the shapes senders use. */
START_TEST(test_generated_ids)
{
    struct hset h;
    sig_config *c = cfg("{\"scheme\":\"standard-webhooks\",\"secrets\":[\"" SW_GO_SECRET "\"]}");
    char *lines = sign(c, "x", 0, NULL);
    hset_from_lines(&h, lines);
    const char *id = hset_get(&h, "webhook-id");
    ck_assert_uint_eq(strlen(id), 31);
    ck_assert(strncmp(id, "msg_", 4) == 0);
    free(lines);
    sig_config_destroy(c);
    c = cfg("{\"scheme\":\"github\",\"secrets\":[\"s\"]}");
    lines = sign(c, "x", 0, NULL);
    hset_from_lines(&h, lines);
    id = hset_get(&h, "X-GitHub-Delivery");
    ck_assert_uint_eq(strlen(id), 36);
    ck_assert_int_eq(id[14], '4');
    free(lines);
    sig_config_destroy(c);
}
END_TEST

/* ---- config errors ---- */

static void expect_config_error(const char *json, const char *pointer, const char *needle)
{
    json_t *obj = json_loads(json, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    ck_assert_msg(obj != NULL, "bad test JSON %s", json);
    sig_config *c = (sig_config *)0x1;
    char ptr[64] = "unset";
    struct wh_error err = {0};
    int r = sig_config_parse(obj, &c, ptr, sizeof(ptr), &err);
    json_decref(obj);
    ck_assert_msg(r == -EINVAL, "%s: expected -EINVAL, got %d (%s)", json, r, err.msg);
    ck_assert_msg(c == (sig_config *)0x1, "*ret written on failure");
    ck_assert_msg(strcmp(ptr, pointer) == 0, "%s: pointer '%s', expected '%s' (%s)", json, ptr,
                  pointer, err.msg);
    ck_assert_msg(strstr(err.msg, needle) != NULL, "%s: message '%s' should contain '%s'", json,
                  err.msg, needle);
}

START_TEST(test_config_errors)
{
    expect_config_error("[1]", "", "must be an object");
    expect_config_error("{\"secrets\":[\"x\"]}", "", "missing required key 'scheme'");
    expect_config_error("{\"scheme\":3,\"secrets\":[\"x\"]}", "/scheme", "must be a string");
    expect_config_error("{\"scheme\":\"svix\",\"secrets\":[\"x\"]}", "/scheme",
                        "unknown scheme 'svix' (known: twenty, standard-webhooks");
    expect_config_error("{\"scheme\":\"github\",\"secrets\":[\"x\"],\"secret\":\"y\"}", "/secret",
                        "unknown key for the github scheme (known keys: scheme, secrets, "
                        "secrets_env, tolerance_s, allow_sha1)");
    expect_config_error("{\"scheme\":\"stripe\",\"secrets\":[\"x\"],\"a/b~\":1}", "/a~1b~0",
                        "unknown key");
    expect_config_error("{\"scheme\":\"stripe\",\"secrets\":[\"x\"],\"allow_sha1\":true}",
                        "/allow_sha1", "known keys: scheme, secrets, secrets_env, tolerance_s)");
    expect_config_error("{\"scheme\":\"github\"}", "", "missing required key 'secrets'");
    expect_config_error("{\"scheme\":\"github\",\"secrets\":[]}", "/secrets", "an empty array");
    expect_config_error("{\"scheme\":\"github\",\"secrets\":\"x\"}", "/secrets",
                        "must be a non-empty array of secret strings, not a string");
    expect_config_error("{\"scheme\":\"github\",\"secrets\":[\"x\",5]}", "/secrets/1",
                        "must be a string, not an integer");
    expect_config_error("{\"scheme\":\"github\",\"secrets\":[\"x\",\"\"]}", "/secrets/1",
                        "the secret is empty");
    expect_config_error("{\"scheme\":\"github\",\"secrets\":[\"x \"]}", "/secrets/0", "whitespace");
    expect_config_error("{\"scheme\":\"github\",\"secrets\":[\"a\\u0000b\"]}", "/secrets/0", "NUL");
    expect_config_error(
        "{\"scheme\":\"github\",\"secrets\":[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\","
        "\"7\",\"8\",\"9\",\"10\",\"11\",\"12\",\"13\",\"14\",\"15\",\"16\",\"17\"]}",
        "/secrets", "at most 16");
    /* secrets from the environment */
    unsetenv("WH_TEST_NO_SUCH_SECRET");
    expect_config_error("{\"scheme\":\"github\",\"secrets_env\":[\"WH_TEST_NO_SUCH_SECRET\"]}",
                        "/secrets_env/0", "the environment variable WH_TEST_NO_SUCH_SECRET is not set");
    expect_config_error("{\"scheme\":\"github\",\"secrets_env\":\"X\"}", "/secrets_env",
                        "must be a non-empty array of environment variable names");
    expect_config_error("{\"scheme\":\"github\",\"secrets_env\":[3]}", "/secrets_env/0",
                        "must be an environment variable name, not an integer");
    setenv("WH_TEST_BAD_SECRET", "whsec_not base64!", 1);
    expect_config_error("{\"scheme\":\"standard-webhooks\",\"secrets_env\":[\"WH_TEST_BAD_SECRET\"]}",
                        "/secrets_env/0", "environment variable WH_TEST_BAD_SECRET: ");
    expect_config_error("{\"scheme\":\"standard-webhooks\",\"secrets\":[\"" SW_GO_SECRET
                        "\",\"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"]}",
                        "/secrets/1", "secret must start with whsec_ and be base64");
    expect_config_error("{\"scheme\":\"standard-webhooks\",\"secrets\":[\"whsec_not base64!\"]}",
                        "/secrets/0", "secret must start with whsec_ and be base64");
    expect_config_error("{\"scheme\":\"standard-webhooks\",\"secrets\":[\"whsec_\"]}", "/secrets/0",
                        "whsec_");
    expect_config_error("{\"scheme\":\"standard-webhooks\",\"secrets\":[\"whpk_AAAA\"]}",
                        "/secrets/0", "32-byte ed25519 public key");
    expect_config_error("{\"scheme\":\"standard-webhooks\",\"secrets\":[\"whsk_AAAA\"]}",
                        "/secrets/0", "32-byte ed25519 seed");
    expect_config_error("{\"scheme\":\"github\",\"secrets\":[\"x\"],\"tolerance_s\":-1}",
                        "/tolerance_s", "from 0 to 31536000");
    expect_config_error("{\"scheme\":\"github\",\"secrets\":[\"x\"],\"tolerance_s\":\"300\"}",
                        "/tolerance_s", "not a string");
    expect_config_error("{\"scheme\":\"github\",\"secrets\":[\"x\"],\"allow_sha1\":\"yes\"}",
                        "/allow_sha1", "must be true or false");
    expect_config_error("{\"scheme\":\"hmac\",\"secrets\":[\"x\"]}", "",
                        "missing required key 'header'");
    expect_config_error("{\"scheme\":\"hmac\",\"secrets\":[\"x\"],\"header\":\"X Sig\"}", "/header",
                        "not a header name");
    expect_config_error("{\"scheme\":\"hmac\",\"secrets\":[\"x\"],\"header\":\"X\","
                        "\"algorithm\":\"md5\"}",
                        "/algorithm", "must be sha1, sha256 or sha512, not 'md5'");
    expect_config_error("{\"scheme\":\"hmac\",\"secrets\":[\"x\"],\"header\":\"X\","
                        "\"encoding\":\"base32\"}",
                        "/encoding", "must be hex, base64 or base64url");
    expect_config_error("{\"scheme\":\"hmac\",\"secrets\":[\"x\"],\"header\":\"X\","
                        "\"template\":\"{body}{nonce}\"}",
                        "/template", "unknown placeholder '{nonce}'");
    expect_config_error("{\"scheme\":\"hmac\",\"secrets\":[\"x\"],\"header\":\"X\","
                        "\"template\":\"{timestamp}.{body}\"}",
                        "/template", "{timestamp} needs \"timestamp_header\"");
    expect_config_error("{\"scheme\":\"hmac\",\"secrets\":[\"x\"],\"header\":\"X\","
                        "\"template\":\"{id}.{body}\"}",
                        "/template", "{id} needs \"id_header\"");
    expect_config_error("{\"scheme\":\"hmac\",\"secrets\":[\"x\"],\"header\":\"X\","
                        "\"template\":\"{body\"}",
                        "/template", "never closed");
    expect_config_error("{\"scheme\":\"hmac\",\"secrets\":[\"x\"],\"header\":\"X\","
                        "\"template\":\"body}\"}",
                        "/template", "a lone '}'");
    expect_config_error("{\"scheme\":\"hmac\",\"secrets\":[\"x\"],\"header\":\"X\","
                        "\"template\":\"\"}",
                        "/template", "empty");
    expect_config_error("{\"scheme\":\"hmac\",\"secrets\":[\"x\"],\"header\":\"X\","
                        "\"timestamp_unit\":\"ms\"}",
                        "/timestamp_unit", "without \"timestamp_header\"");
    expect_config_error("{\"scheme\":\"hmac\",\"secrets\":[\"x\"],\"header\":\"X\","
                        "\"timestamp_header\":\"T\",\"timestamp_unit\":\"us\"}",
                        "/timestamp_unit", "\"s\" (seconds) or \"ms\"");
    expect_config_error("{\"scheme\":\"hmac\",\"secrets\":[\"x\"],\"header\":\"X\","
                        "\"prefix\":\"a\\nb\"}",
                        "/prefix", "printable ASCII");
    expect_config_error("{\"scheme\":\"hmac\",\"secrets\":[\"x\"],\"header\":\"X\","
                        "\"prefix\":7}",
                        "/prefix", "must be a string, not an integer");
}
END_TEST

/* Literal braces in templates, and a NULL pointer buffer is allowed. */
START_TEST(test_config_template_braces)
{
    sig_config *c = cfg("{\"scheme\":\"hmac\",\"header\":\"X-Sig\",\"template\":\"{{{body}}}\","
                        "\"secrets\":[\"k\"]}");
    sig_config *plain = cfg("{\"scheme\":\"hmac\",\"header\":\"X-Sig\",\"template\":\"{body}\","
                            "\"secrets\":[\"k\"]}");
    struct hset h;
    char *lines = sign(c, "x", 0, NULL);
    hset_from_lines(&h, lines);
    free(lines);
    /* {x} under the plain template is the same as x under the braces template */
    struct sig_verdict v = verify(plain, &h, "{x}", 0);
    expect(&v, SIG_VALID, NULL);
    sig_config_destroy(c);
    sig_config_destroy(plain);

    json_t *obj = json_loads("{\"scheme\":\"nope\"}", 0, NULL);
    struct wh_error err = {0};
    sig_config *r = NULL;
    ck_assert_int_eq(sig_config_parse(obj, &r, NULL, 0, &err), -EINVAL);
    ck_assert_int_eq(sig_config_parse(obj, &r, NULL, 0, NULL), -EINVAL);
    json_decref(obj);
}
END_TEST

static Suite *signature_suite(void)
{
    Suite *s = suite_create("signature");
    TCase *tc = tcase_create("vectors");
    tcase_add_test(tc, test_stdwebhooks_go_vector);
    tcase_add_test(tc, test_stdwebhooks_rust_vector);
    tcase_add_test(tc, test_stdwebhooks_svix_headers);
    tcase_add_test(tc, test_stdwebhooks_entries);
    tcase_add_test(tc, test_stdwebhooks_raw_key_diagnosis);
    tcase_add_test(tc, test_stdwebhooks_ed25519);
    tcase_add_test(tc, test_github_vector);
    tcase_add_test(tc, test_github_sha1);
    tcase_add_test(tc, test_slack_vector);
    tcase_add_test(tc, test_twenty_vector);
    tcase_add_test(tc, test_twenty_seconds_hint);
    tcase_add_test(tc, test_stripe_vector);
    tcase_add_test(tc, test_stripe_malformed);
    tcase_add_test(tc, test_stripe_decoded_key_diagnosis);
    tcase_add_test(tc, test_shopify_vector);
    tcase_add_test(tc, test_hmac_vectors);
    suite_add_tcase(s, tc);

    tc = tcase_create("every scheme");
    tcase_add_loop_test(tc, test_round_trip, 0, N_SCHEMES);
    tcase_add_loop_test(tc, test_tampered, 0, N_SCHEMES);
    tcase_add_loop_test(tc, test_wrong_secret, 0, N_SCHEMES);
    tcase_add_loop_test(tc, test_rotation, 0, N_SCHEMES);
    tcase_add_loop_test(tc, test_time_window, 0, N_SCHEMES);
    tcase_add_loop_test(tc, test_missing_headers, 0, N_SCHEMES);
    tcase_add_loop_test(tc, test_garbage_headers, 0, N_SCHEMES);
    tcase_add_test(tc, test_truncated_body);
    tcase_add_test(tc, test_not_configured);
    tcase_add_test(tc, test_message_ids);
    tcase_add_test(tc, test_generated_ids);
    suite_add_tcase(s, tc);

    tc = tcase_create("config");
    tcase_add_test(tc, test_config_errors);
    tcase_add_test(tc, test_secrets_from_environment);
    tcase_add_test(tc, test_config_template_braces);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(signature_suite());
}
