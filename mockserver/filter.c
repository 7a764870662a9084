#include "filter.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

void filter_init(struct delivery_filter *f)
{
    memset(f, 0, sizeof(*f));
}

bool filter_match(const struct delivery_filter *f, const struct delivery *d)
{
    if (d->id <= f->since_id)
        return false;
    if (f->upto_id > 0 && d->id > f->upto_id)
        return false;
    if (f->endpoint) {
        if (strcmp(f->endpoint, FILTER_CATCH_ALL) == 0) {
            if (d->endpoint)
                return false;
        } else if (!d->endpoint || strcmp(d->endpoint, f->endpoint) != 0) {
            return false;
        }
    }
    if (f->method && (!d->method || strcmp(d->method, f->method) != 0))
        return false;
    if (f->before_id > 0 && d->id >= f->before_id)
        return false;
    if (f->event && (!d->event || strcmp(d->event, f->event) != 0))
        return false;
    if (f->signature &&
        strcmp(d->sig_status ? d->sig_status : FILTER_NOT_CONFIGURED, f->signature) != 0)
        return false;
    if (f->schema &&
        strcmp(d->schema_status ? d->schema_status : FILTER_NOT_CONFIGURED, f->schema) != 0)
        return false;
    if (f->text && *f->text &&
        (!d->body.data || !memmem(d->body.data, d->body.len, f->text, strlen(f->text))))
        return false;
    return true;
}

int filter_parse_int(const char *s, int64_t min, int64_t max, int64_t *ret)
{
    if (!s || !*s || (*s != '-' && (*s < '0' || *s > '9')))
        return -EINVAL;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -EINVAL;
    *ret = v;
    return 0;
}

int filter_set_arg(struct delivery_filter *f, const char *key, const char *value,
                   struct wh_error *err)
{
    if (!value)
        value = "";
    if (strcmp(key, "endpoint") == 0) {
        f->endpoint = value;
    } else if (strcmp(key, "method") == 0) {
        f->method = value;
    } else if (strcmp(key, "since_id") == 0) {
        if (filter_parse_int(value, 0, INT64_MAX, &f->since_id) < 0)
            return wh_error_set(err, -EINVAL, "since_id must be a whole number >= 0, not '%.64s'",
                                value);
    } else if (strcmp(key, "limit") == 0) {
        if (filter_parse_int(value, 1, FILTER_MAX_LIMIT, &f->limit) < 0)
            return wh_error_set(err, -EINVAL, "limit must be a whole number from 1 to %d, not '%.64s'",
                                FILTER_MAX_LIMIT, value);
    } else if (strcmp(key, "order") == 0) {
        if (strcmp(value, "asc") == 0)
            f->desc = false;
        else if (strcmp(value, "desc") == 0)
            f->desc = true;
        else
            return wh_error_set(err, -EINVAL, "order must be 'asc' or 'desc', not '%.64s'", value);
    } else if (strcmp(key, "event") == 0) {
        f->event = value;
    } else if (strcmp(key, "signature") == 0) {
        f->signature = value;
    } else if (strcmp(key, "schema") == 0) {
        f->schema = value;
    } else if (strcmp(key, "q") == 0) {
        f->text = *value ? value : NULL;
    } else if (strcmp(key, "before_id") == 0) {
        if (filter_parse_int(value, 1, INT64_MAX, &f->before_id) < 0)
            return wh_error_set(err, -EINVAL, "before_id must be a whole number >= 1, not '%.64s'",
                                value);
    } else {
        return 0;
    }
    return 1;
}
