#include "messages.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "encode.h"

struct collect {
    json_t *list;  /* the messages, in order */
    json_t *index; /* "endpoint\x1fkey" -> its message object (borrowed from list) */
    struct buf key;
    int64_t limit;
};

static json_t *ms_value(int64_t us)
{
    return json_real((double)(us / 1000) + (double)(us % 1000) / 1000.0);
}

static json_t *opt_text(const char *s)
{
    return s ? encode_json_string(s, strlen(s)) : json_null();
}

static int add_attempt(void *arg, const struct store_attempt *a)
{
    struct collect *c = arg;
    const char *key = a->message_key ? a->message_key : "";
    buf_reset(&c->key);
    buf_printf(&c->key, "%s\x1f%s", a->endpoint ? a->endpoint : "", key);
    if (!c->key.data)
        return -ENOMEM;
    json_t *m = json_object_get(c->index, c->key.data);
    if (!m) {
        if (c->limit > 0 && (int64_t)json_array_size(c->list) >= c->limit)
            return 0; /* later deliveries may still belong to messages already listed */
        m = json_pack("{so so so s[] s[] ss sn}", "endpoint", opt_text(a->endpoint), "key",
                      opt_text(key), "message_id", opt_text(a->message_id), "attempts",
                      "intervals_ms", "outcome", "failing", "delivered_attempt");
        if (!m || json_array_append_new(c->list, m) < 0 ||
            json_object_set(c->index, c->key.data, m) < 0)
            return -ENOMEM;
    }
    json_t *attempts = json_object_get(m, "attempts");
    size_t n = json_array_size(attempts);
    struct buf t;
    buf_init(&t, 0);
    encode_rfc3339_us(&t, a->received_us);
    json_t *at = json_pack("{sI ss# so so sI so so}", "id", (json_int_t)a->id, "received_at",
                           t.data ? t.data : "", t.len, "status",
                           a->status ? json_integer(a->status) : json_null(), "fault",
                           opt_text(a->fault), "delay_ms", (json_int_t)a->delay_ms, "rule",
                           a->rule >= 0 ? json_integer(a->rule) : json_null(),
                           "since_previous_ms",
                           a->since_previous_us >= 0 ? ms_value(a->since_previous_us)
                                                     : json_null());
    buf_finish(&t);
    if (!at)
        return -ENOMEM;
    json_object_set_new(at, "received_us", json_integer(a->received_us));
    if (n) {
        json_t *prev = json_array_get(attempts, n - 1);
        int64_t before = json_integer_value(json_object_get(prev, "received_us"));
        json_array_append_new(json_object_get(m, "intervals_ms"), ms_value(a->received_us - before));
    }
    if (json_array_append_new(attempts, at) < 0)
        return -ENOMEM;
    if (a->status >= 200 && a->status < 300 &&
        json_is_null(json_object_get(m, "delivered_attempt"))) {
        json_object_set_new(m, "outcome", json_string("delivered"));
        json_object_set_new(m, "delivered_attempt", json_integer((json_int_t)n + 1));
    }
    return 0;
}

int messages_collect(store *st, const struct delivery_filter *f, json_t **ret,
                     struct wh_error *err)
{
    struct collect c = {.list = json_array(), .index = json_object(), .limit = f->limit};
    buf_init(&c.key, 0);
    int r = c.list && c.index ? 0 : -ENOMEM;
    if (r == 0)
        r = store_foreach_attempt(st, f, add_attempt, &c, err);
    if (r == -ENOMEM)
        wh_error_set(err, r, "out of memory");
    /* received_us was kept only to compute intervals */
    for (size_t i = 0; r == 0 && i < json_array_size(c.list); i++) {
        json_t *attempts = json_object_get(json_array_get(c.list, i), "attempts");
        for (size_t j = 0; j < json_array_size(attempts); j++)
            json_object_del(json_array_get(attempts, j), "received_us");
    }
    buf_finish(&c.key);
    json_decref(c.index);
    if (r < 0) {
        json_decref(c.list);
        return r;
    }
    *ret = c.list;
    return 0;
}
