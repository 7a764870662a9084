/* Fuzz signature verification for every scheme: the first byte picks a scheme configuration;
 * the rest, up to the first NUL byte, is header values one per line (line i is the value of the
 * scheme's i-th header name, cycling; a line "!Name: value" names its own header); after the
 * NUL comes the body. Any input must give a verdict with a non-empty printable reason and a
 * secret index in range, never a crash; and what sig_sign makes for the fuzzed body (with the
 * fuzzed id, when it is a usable one) must verify as valid. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "delivery.h"
#include "signature.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct target {
    const char *config;
    size_t n_keys;
    const char *headers[7];
};

static const struct target targets[] = {
    {"{\"scheme\":\"twenty\",\"secrets\":[\"a\",\"b\"]}",
     2,
     {"X-Twenty-Webhook-Signature", "X-Twenty-Webhook-Timestamp", "X-Twenty-Webhook-Nonce"}},
    {"{\"scheme\":\"standard-webhooks\",\"secrets\":[\"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\","
     "\"whsk_VEVTVFNJR05JTkdLRVlET05PVFVTRVRISVNGT1JBTlk=\","
     "\"whpk_ZlN4eg7dSSqi0moX9hQUk3orrOouK3QVQSlJa248c/g=\"]}",
     3,
     {"webhook-signature", "webhook-id", "webhook-timestamp", "svix-signature", "svix-id",
      "svix-timestamp"}},
    {"{\"scheme\":\"github\",\"allow_sha1\":true,\"secrets\":[\"a\"]}",
     1,
     {"X-Hub-Signature-256", "X-Hub-Signature", "X-GitHub-Delivery"}},
    {"{\"scheme\":\"stripe\",\"secrets\":[\"whsec_a\",\"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"],"
     "\"tolerance_s\":0}",
     2,
     {"Stripe-Signature"}},
    {"{\"scheme\":\"slack\",\"secrets\":[\"a\"]}",
     1,
     {"X-Slack-Signature", "X-Slack-Request-Timestamp"}},
    {"{\"scheme\":\"shopify\",\"secrets\":[\"a\"]}",
     1,
     {"X-Shopify-Hmac-Sha256", "X-Shopify-Webhook-Id"}},
    {"{\"scheme\":\"hmac\",\"header\":\"X-Sig\",\"prefix\":\"sha256=\","
     "\"timestamp_header\":\"X-Ts\",\"timestamp_unit\":\"ms\",\"id_header\":\"X-Id\","
     "\"template\":\"{method} {path} {timestamp}:{id}:{{{body}}}\",\"secrets\":[\"a\"]}",
     1,
     {"X-Sig", "X-Ts", "X-Id"}},
    {"{\"scheme\":\"hmac\",\"header\":\"X-Sig\",\"algorithm\":\"sha512\","
     "\"encoding\":\"base64url\",\"secrets\":[\"a\"]}",
     1,
     {"X-Sig"}},
};
#define N_TARGETS (sizeof(targets) / sizeof(targets[0]))
#define NOW_MS 1736935200000LL

static sig_config *configs[N_TARGETS];

static void load(void)
{
    for (size_t i = 0; i < N_TARGETS; i++) {
        json_t *obj = json_loads(targets[i].config, 0, NULL);
        if (!obj || sig_config_parse(obj, &configs[i], NULL, 0, NULL) < 0)
            abort();
        json_decref(obj);
    }
}

static void check(const sig_config *c, size_t n_keys, const struct sig_request *req,
                  struct sig_verdict *v)
{
    if (sig_verify(c, req, v) < 0)
        return; /* out of memory */
    if (v->status > SIG_NOT_CONFIGURED || !v->reason[0] || v->secret_index < -1 ||
        v->secret_index >= (int)n_keys || memchr(v->reason, '\0', sizeof(v->reason)) == NULL ||
        memchr(v->message_id, '\0', sizeof(v->message_id)) == NULL ||
        memchr(v->nonce, '\0', sizeof(v->nonce)) == NULL)
        __builtin_trap();
    for (const char *p = v->reason; *p; p++)
        if (*p < 0x20 || *p >= 0x7f)
            __builtin_trap();
    if (v->status == SIG_VALID ? v->secret_index < 0
                               : v->status != SIG_EXPIRED && v->secret_index != -1)
        __builtin_trap();
}

/* Headers from sig_sign's "Name: value\n" lines into d. */
static void add_lines(struct delivery *d, const char *text, size_t len)
{
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *colon = memchr(p, ':', (size_t)(nl - p));
        if (!nl || !colon)
            __builtin_trap();
        delivery_add_header(d, p, (size_t)(colon - p), colon + 2, (size_t)(nl - colon - 2));
        p = nl + 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!configs[0])
        load();
    if (size == 0)
        return 0;
    size_t which = data[0] % N_TARGETS;
    const struct target *t = &targets[which];
    const sig_config *c = configs[which];
    size_t n_names = 0;
    while (n_names < 7 && t->headers[n_names])
        n_names++;
    const char *p = (const char *)data + 1, *end = (const char *)data + size;
    const char *nul = memchr(p, '\0', (size_t)(end - p));
    const char *hend = nul ? nul : end;
    const char *body = nul ? nul + 1 : end;
    size_t body_len = (size_t)(end - body);

    struct delivery *d = delivery_create();
    if (!d)
        return 0;
    const char *id = NULL;
    size_t id_len = 0;
    for (size_t line = 0; p < hend; line++) {
        const char *nl = memchr(p, '\n', (size_t)(hend - p));
        const char *le = nl ? nl : hend;
        const char *colon;
        if (*p == '!' && (colon = memchr(p, ':', (size_t)(le - p))) != NULL) {
            delivery_add_header(d, p + 1, (size_t)(colon - p - 1), colon + 1,
                                (size_t)(le - colon - 1));
        } else {
            const char *name = t->headers[line % n_names];
            delivery_add_header(d, name, strlen(name), p, (size_t)(le - p));
            if (!id && line == 1) {
                id = p;
                id_len = (size_t)(le - p);
            }
        }
        p = nl ? nl + 1 : hend;
    }
    struct sig_request req = {
        .method = "POST",
        .path = "/hooks/fuzz",
        .headers = d->headers.data,
        .headers_len = d->headers.len,
        .body = body,
        .body_len = body_len,
        .now_ms = NOW_MS,
    };
    struct sig_verdict v;
    check(c, t->n_keys, &req, &v);
    delivery_destroy(d);

    /* what sig_sign makes for this body verifies */
    char idbuf[64];
    bool id_ok = id && id_len > 0 && id_len < sizeof(idbuf);
    for (size_t i = 0; id_ok && i < id_len; i++)
        id_ok = (unsigned char)id[i] >= 0x20 && (unsigned char)id[i] < 0x7f && id[i] != ' ';
    if (id_ok) {
        memcpy(idbuf, id, id_len);
        idbuf[id_len] = '\0';
    }
    struct buf out;
    buf_init(&out, 0);
    if (sig_sign(c, "POST", "/hooks/fuzz", body, body_len, NOW_MS - 1000, id_ok ? idbuf : NULL,
                 &out, NULL) == 0) {
        struct delivery *s = delivery_create();
        if (s) {
            add_lines(s, out.data, out.len);
            req.headers = s->headers.data;
            req.headers_len = s->headers.len;
            check(c, t->n_keys, &req, &v);
            if (v.status != SIG_VALID)
                __builtin_trap();
            delivery_destroy(s);
        }
    }
    buf_finish(&out);
    return 0;
}
