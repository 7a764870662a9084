#include "delivery.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "encode.h"

struct delivery *delivery_create(void)
{
    struct delivery *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    buf_init(&d->headers, 0);
    buf_init(&d->body, 0);
    d->sig_secret_index = -1;
    d->rule = -1;
    d->since_previous_us = -1;
    return d;
}

void delivery_destroy(struct delivery *d)
{
    if (!d)
        return;
    free(d->endpoint);
    free(d->method);
    free(d->path);
    free(d->query);
    free(d->sig_scheme);
    free(d->sig_status);
    free(d->sig_reason);
    free(d->message_id);
    free(d->event);
    free(d->schema_status);
    free(d->schema_name);
    free(d->schema_errors);
    free(d->fault);
    free(d->message_key);
    buf_finish(&d->headers);
    buf_finish(&d->body);
    free(d);
}

static int put_len(struct buf *b, size_t n)
{
    if (n > UINT32_MAX)
        return -E2BIG;
    unsigned char le[4] = {(unsigned char)n, (unsigned char)(n >> 8), (unsigned char)(n >> 16),
                           (unsigned char)(n >> 24)};
    return buf_append(b, le, 4);
}

int delivery_add_header(struct delivery *d, const char *name, size_t name_len,
                        const char *value, size_t value_len)
{
    size_t before = d->headers.len;
    int r;
    if ((r = put_len(&d->headers, name_len)) < 0 ||
        (r = buf_append(&d->headers, name, name_len)) < 0 ||
        (r = put_len(&d->headers, value_len)) < 0 ||
        (r = buf_append(&d->headers, value, value_len)) < 0) {
        /* all or nothing: half a header would garble every one after it */
        d->headers.len = before;
        if (d->headers.data)
            d->headers.data[before] = '\0';
        return r;
    }
    d->n_headers++;
    return 0;
}

void header_iter_init(struct header_iter *it, const void *blob, size_t len)
{
    it->p = blob;
    it->end = it->p ? it->p + len : NULL;
}

static bool take(struct header_iter *it, const char **s, size_t *n)
{
    if (it->end - it->p < 4)
        return false;
    size_t len = (size_t)it->p[0] | (size_t)it->p[1] << 8 | (size_t)it->p[2] << 16 |
                 (size_t)it->p[3] << 24;
    it->p += 4;
    if ((size_t)(it->end - it->p) < len)
        return false;
    *s = (const char *)it->p;
    *n = len;
    it->p += len;
    return true;
}

bool header_iter_next(struct header_iter *it, const char **name, size_t *name_len,
                      const char **value, size_t *value_len)
{
    if (!it->p)
        return false;
    return take(it, name, name_len) && take(it, value, value_len);
}

const char *delivery_header(const struct delivery *d, const char *name, size_t *ret_len)
{
    struct header_iter it;
    const char *n, *v;
    size_t nl, vl, want = strlen(name);
    header_iter_init(&it, d->headers.data, d->headers.len);
    while (header_iter_next(&it, &n, &nl, &v, &vl)) {
        if (nl == want && strncasecmp(n, name, nl) == 0) {
            if (ret_len)
                *ret_len = vl;
            return v;
        }
    }
    return NULL;
}

/* json_object_set_new that reports failure instead of leaking silently */
static int set(json_t *o, const char *k, json_t *v)
{
    return v && json_object_set_new_nocheck(o, k, v) == 0 ? 0 : -ENOMEM;
}

static json_t *opt_string(const char *s)
{
    return s ? encode_json_string(s, strlen(s)) : json_null();
}

json_t *delivery_to_json(const struct delivery *d)
{
    json_t *o = json_object();
    json_t *hdrs = json_array();
    struct buf tmp;
    buf_init(&tmp, 0);
    if (!o || !hdrs)
        goto fail;

    struct header_iter it;
    const char *n, *v;
    size_t nl, vl;
    header_iter_init(&it, d->headers.data, d->headers.len);
    while (header_iter_next(&it, &n, &nl, &v, &vl)) {
        json_t *pair = json_pack("[oo]", encode_json_string(n, nl), encode_json_string(v, vl));
        if (!pair || json_array_append_new(hdrs, pair) < 0)
            goto fail;
    }

    if (encode_rfc3339_us(&tmp, d->received_us) < 0)
        goto fail;
    if (set(o, "id", json_integer(d->id)) < 0 ||
        set(o, "received_at", json_stringn(tmp.data, tmp.len)) < 0 ||
        set(o, "endpoint", opt_string(d->endpoint)) < 0 ||
        set(o, "method", opt_string(d->method)) < 0 ||
        set(o, "path", opt_string(d->path)) < 0 ||
        set(o, "query", opt_string(d->query)) < 0)
        goto fail;
    if (set(o, "headers", hdrs) < 0) {
        hdrs = NULL;
        goto fail;
    }
    hdrs = NULL;

    if (encode_utf8_valid(d->body.data, d->body.len)) {
        if (set(o, "body", json_stringn_nocheck(d->body.data ? d->body.data : "", d->body.len)) < 0)
            goto fail;
    } else {
        buf_reset(&tmp);
        if (encode_base64(&tmp, d->body.data, d->body.len) < 0 ||
            set(o, "body_base64", json_stringn_nocheck(tmp.data ? tmp.data : "", tmp.len)) < 0)
            goto fail;
    }
    if (set(o, "body_size", json_integer((json_int_t)d->body_size)) < 0 ||
        set(o, "truncated", json_boolean(d->truncated)) < 0 ||
        set(o, "remote_addr", json_string(d->remote_addr)) < 0 ||
        set(o, "response", json_pack("{so sI so so}", "status",
                                     d->status ? json_integer(d->status) : json_null(),
                                     "delay_ms", (json_int_t)d->delay_ms, "fault", opt_string(d->fault),
                                     "rule", d->rule >= 0 ? json_integer(d->rule) : json_null())) < 0)
        goto fail;
    if (d->responded_us) {
        buf_reset(&tmp);
        if (encode_rfc3339_us(&tmp, d->responded_us) < 0 ||
            set(o, "responded_at", json_stringn(tmp.data, tmp.len)) < 0)
            goto fail;
    } else if (set(o, "responded_at", json_null()) < 0) {
        goto fail;
    }
    json_t *sig = json_object();
    if (set(o, "signature", sig) < 0)
        goto fail;
    if (d->sig_status) {
        if (set(sig, "scheme", opt_string(d->sig_scheme)) < 0 ||
            set(sig, "status", json_string(d->sig_status)) < 0 ||
            set(sig, "reason", opt_string(d->sig_reason)) < 0 ||
            set(sig, "secret_index", d->sig_secret_index >= 0 ? json_integer(d->sig_secret_index)
                                                             : json_null()) < 0)
            goto fail;
    } else if (set(sig, "scheme", json_null()) < 0 ||
               set(sig, "status", json_string("not_configured")) < 0 ||
               set(sig, "reason", json_string("no signature scheme is configured for this "
                                              "endpoint")) < 0 ||
               set(sig, "secret_index", json_null()) < 0) {
        goto fail;
    }
    if (set(o, "message_id", opt_string(d->message_id)) < 0 ||
        set(o, "event", opt_string(d->event)) < 0)
        goto fail;
    json_t *sch = json_object();
    if (set(o, "schema", sch) < 0)
        goto fail;
    json_t *errors = d->schema_errors ? json_loads(d->schema_errors, 0, NULL) : NULL;
    if (!json_is_array(errors)) {
        json_decref(errors);
        errors = json_array();
    }
    if (set(sch, "status", json_string(d->schema_status ? d->schema_status : "not_configured")) < 0 ||
        set(sch, "schema", opt_string(d->schema_name)) < 0 || set(sch, "errors", errors) < 0)
        goto fail;
    if (set(o, "message_key", opt_string(d->message_key)) < 0 ||
        set(o, "attempt", d->attempt > 0 ? json_integer(d->attempt) : json_null()) < 0 ||
        set(o, "since_previous_ms", d->since_previous_us >= 0
                                        ? json_real((double)(d->since_previous_us / 1000) +
                                                    (double)(d->since_previous_us % 1000) / 1000.0)
                                        : json_null()) < 0)
        goto fail;
    buf_finish(&tmp);
    return o;
fail:
    buf_finish(&tmp);
    json_decref(hdrs);
    json_decref(o);
    return NULL;
}
