#include "har.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "encode.h"
#include "version.h"

int har_begin(struct buf *out)
{
    return buf_printf(out,
                      "{\"log\":{\"version\":\"1.2\",\"creator\":{\"name\":\"webhooky\","
                      "\"version\":\"%s\"},\"pages\":[],\"entries\":[",
                      WEBHOOKY_VERSION);
}

int har_end(struct buf *out)
{
    return buf_append_str(out, "]}}\n");
}

/* json_object_set_new steals the value even when it fails: callers only free the object */
static int set(json_t *o, const char *k, json_t *v)
{
    return json_object_set_new(o, k, v) == 0 ? 0 : -ENOMEM;
}

static json_t *pair(const char *n, size_t nl, const char *v, size_t vl)
{
    return json_pack("{soso}", "name", encode_json_string(n, nl), "value",
                     encode_json_string(v, vl));
}

/* "a=1&b" -> [{"name":"a","value":"1"},{"name":"b","value":""}], raw (not percent-decoded) */
static json_t *query_list(const char *q)
{
    json_t *list = json_array();
    if (!list || !q)
        return list;
    while (*q) {
        const char *amp = strchr(q, '&');
        size_t len = amp ? (size_t)(amp - q) : strlen(q);
        if (len) {
            const char *eq = memchr(q, '=', len);
            size_t nl = eq ? (size_t)(eq - q) : len;
            json_t *p = eq ? pair(q, nl, eq + 1, len - nl - 1) : pair(q, nl, "", 0);
            if (!p || json_array_append_new(list, p) < 0) {
                json_decref(list);
                return NULL;
            }
        }
        q += len;
        if (*q == '&')
            q++;
    }
    return list;
}

static json_t *entry(const struct delivery *d, const char *host)
{
    json_t *e = json_object(), *req = NULL, *resp = NULL, *hdrs = NULL;
    json_t *meta = delivery_to_json(d);
    struct buf t;
    buf_init(&t, 0);
    if (!e || !meta || set(e, "request", req = json_object()) < 0 ||
        set(e, "response", resp = json_object()) < 0 ||
        set(req, "headers", hdrs = json_array()) < 0)
        goto fail;
    size_t hl = 0;
    const char *h = delivery_header(d, "Host", &hl);
    if (!h || hl == 0) {
        h = host;
        hl = strlen(host);
    }
    struct header_iter it;
    const char *n, *v;
    size_t nl, vl;
    header_iter_init(&it, d->headers.data, d->headers.len);
    while (header_iter_next(&it, &n, &nl, &v, &vl)) {
        json_t *p = pair(n, nl, v, vl);
        if (!p || json_array_append_new(hdrs, p) < 0)
            goto fail;
    }
    if (encode_rfc3339_us(&t, d->received_us) < 0 ||
        set(e, "startedDateTime", json_stringn(t.data, t.len)) < 0)
        goto fail;
    buf_reset(&t);
    if (buf_append_str(&t, "http://") < 0 || buf_append(&t, h, hl) < 0 ||
        buf_append_str(&t, d->path) < 0 ||
        (d->query && (buf_append_byte(&t, '?') < 0 || buf_append_str(&t, d->query) < 0)))
        goto fail;
    if (set(req, "method", encode_json_string(d->method, strlen(d->method))) < 0 ||
        set(req, "url", encode_json_string(t.data, t.len)) < 0 ||
        set(req, "httpVersion", json_string("HTTP/1.1")) < 0 ||
        set(req, "cookies", json_array()) < 0 ||
        set(req, "queryString", query_list(d->query)) < 0 ||
        set(req, "headersSize", json_integer(-1)) < 0 ||
        set(req, "bodySize", json_integer((json_int_t)d->body_size)) < 0)
        goto fail;
    if (d->body_size > 0 || d->body.len > 0) {
        size_t ctl = 0;
        const char *ct = delivery_header(d, "Content-Type", &ctl);
        json_t *post = json_object();
        if (set(req, "postData", post) < 0 ||
            set(post, "mimeType", ct ? encode_json_string(ct, ctl) : json_string("")) < 0)
            goto fail;
        if (encode_utf8_valid(d->body.data, d->body.len)) {
            if (set(post, "text",
                    json_stringn_nocheck(d->body.data ? d->body.data : "", d->body.len)) < 0)
                goto fail;
        } else {
            buf_reset(&t);
            if (encode_base64(&t, d->body.data, d->body.len) < 0 ||
                set(post, "text", json_stringn_nocheck(t.data ? t.data : "", t.len)) < 0 ||
                set(post, "_encoding", json_string("base64")) < 0)
                goto fail;
        }
    }
    /* what the receiver answered: its status (0 when it closed without one) */
    if (set(resp, "status", json_integer(d->status)) < 0 ||
        set(resp, "statusText", json_string("")) < 0 ||
        set(resp, "httpVersion", json_string("HTTP/1.1")) < 0 ||
        set(resp, "cookies", json_array()) < 0 || set(resp, "headers", json_array()) < 0 ||
        set(resp, "content", json_pack("{sisssi}", "size", 0, "mimeType", "", "compression", 0)) <
            0 ||
        set(resp, "redirectURL", json_string("")) < 0 ||
        set(resp, "headersSize", json_integer(-1)) < 0 ||
        set(resp, "bodySize", json_integer(-1)) < 0)
        goto fail;
    json_t *delay = json_object_get(json_object_get(meta, "response"), "delay_ms");
    double wait = json_is_number(delay) ? json_number_value(delay) : 0;
    if (set(e, "cache", json_object()) < 0 ||
        set(e, "timings", json_pack("{sisfsi}", "send", 0, "wait", wait, "receive", 0)) < 0 ||
        set(e, "time", json_real(wait)) < 0)
        goto fail;
    /* the verdicts and the rest of the API's shape, without what the request already holds */
    json_object_del(meta, "headers");
    json_object_del(meta, "body");
    json_object_del(meta, "body_base64");
    int r = set(e, "_webhooky", meta);
    meta = NULL; /* stolen */
    if (r < 0)
        goto fail;
    buf_finish(&t);
    return e;
fail:
    buf_finish(&t);
    json_decref(meta);
    json_decref(e);
    return NULL;
}

int har_append_entry(struct buf *out, const struct delivery *d, const char *host, bool first)
{
    json_t *e = entry(d, host);
    char *text = e ? json_dumps(e, JSON_COMPACT) : NULL;
    json_decref(e);
    if (!text)
        return -ENOMEM;
    int r = first ? 0 : buf_append_byte(out, ',');
    if (r == 0)
        r = buf_append_str(out, text);
    free(text);
    return r;
}
