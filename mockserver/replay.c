#include "replay.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "encode.h"

void replay_result_init(struct replay_result *r)
{
    memset(r, 0, sizeof(*r));
    buf_init(&r->headers, 0);
    buf_init(&r->body, 0);
}

void replay_result_finish(struct replay_result *r)
{
    buf_finish(&r->headers);
    buf_finish(&r->body);
}

int replay_check_url(const char *url, struct wh_error *err)
{
    size_t n = strlen(url);
    if (n == 0)
        return wh_error_set(err, -EINVAL, "the replay URL is empty");
    if (n > REPLAY_MAX_URL)
        return wh_error_set(err, -EINVAL, "the replay URL is longer than %d bytes", REPLAY_MAX_URL);
    if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0)
        return wh_error_set(err, -EINVAL, "the replay URL must start with http:// or https://");
    const char *host = url + (url[4] == ':' ? 7 : 8);
    if (*host == '\0' || *host == '/')
        return wh_error_set(err, -EINVAL, "the replay URL has no host");
    for (const unsigned char *p = (const unsigned char *)url; *p; p++)
        if (*p <= 0x20 || *p == 0x7F)
            return wh_error_set(err, -EINVAL,
                                "the replay URL contains a space or a control "
                                "character");
    return 0;
}

int replay_parse_request(const void *body, size_t len, char **ret_url, struct wh_error *err)
{
    json_error_t je;
    json_t *v = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!v)
        return wh_error_set(err, -EINVAL, "the body must be JSON {\"url\": \"http://...\"}: %s",
                            je.text);
    int r = 0;
    const char *key;
    json_t *val;
    json_t *url = NULL;
    if (!json_is_object(v)) {
        r = wh_error_set(err, -EINVAL, "the body must be a JSON object {\"url\": \"http://...\"}");
        goto out;
    }
    json_object_foreach(v, key, val)
    {
        if (strcmp(key, "url") != 0) {
            r = wh_error_set(err, -EINVAL, "unknown field '%.64s' (known: url)", key);
            goto out;
        }
        url = val;
    }
    if (!json_is_string(url)) {
        r = wh_error_set(err, -EINVAL, "\"url\" must be a string: {\"url\": \"http://...\"}");
        goto out;
    }
    if (strlen(json_string_value(url)) != json_string_length(url)) {
        r = wh_error_set(err, -EINVAL, "the replay URL contains a NUL character");
        goto out;
    }
    if ((r = replay_check_url(json_string_value(url), err)) < 0)
        goto out;
    char *copy = strdup(json_string_value(url));
    if (!copy) {
        r = wh_error_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    *ret_url = copy;
out:
    json_decref(v);
    return r;
}

/* Headers that describe the captured hop rather than the request: the new request makes its
 * own. */
static bool hop_header(const char *n, size_t nl)
{
    static const char *const skip[] = {"Host",       "Content-Length", "Transfer-Encoding",
                                       "Connection", "Keep-Alive",     "Expect",
                                       "TE",         "Upgrade",        "Trailer"};
    for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
        if (strlen(skip[i]) == nl && strncasecmp(n, skip[i], nl) == 0)
            return true;
    return nl >= 6 && strncasecmp(n, "Proxy-", 6) == 0;
}

struct transfer {
    struct replay_result *res;
    const atomic_bool *abort;
    bool failed; /* out of memory */
};

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
    struct transfer *t = arg;
    size_t len = size * n;
    if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        /* a new status line (after 100 Continue, say): only the final answer's headers */
        buf_reset(&t->res->headers);
        return len;
    }
    const char *colon = memchr(data, ':', len);
    if (!colon)
        return len;
    size_t nl = (size_t)(colon - data);
    const char *v = colon + 1;
    const char *end = data + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
        end--;
    struct delivery tmp = {.headers = t->res->headers};
    if (delivery_add_header(&tmp, data, nl, v, (size_t)(end - v)) < 0) {
        t->failed = true;
        return 0;
    }
    t->res->headers = tmp.headers;
    return len;
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    struct transfer *t = arg;
    size_t len = size * n;
    t->res->body_size += len;
    size_t room = REPLAY_MAX_BODY - t->res->body.len;
    if (room && buf_append(&t->res->body, data, len < room ? len : room) < 0) {
        t->failed = true;
        return 0;
    }
    return len;
}

static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    struct transfer *t = arg;
    return t->abort && atomic_load(t->abort) ? 1 : 0;
}

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int curl_errno(CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_CONNECT:
        return -ECONNREFUSED;
    case CURLE_OPERATION_TIMEDOUT:
        return -ETIMEDOUT;
    case CURLE_COULDNT_RESOLVE_HOST:
        return -EHOSTUNREACH;
    case CURLE_ABORTED_BY_CALLBACK:
        return -ECANCELED;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return -EINVAL;
    case CURLE_OUT_OF_MEMORY:
        return -ENOMEM;
    default:
        return -EIO;
    }
}

int replay_send(const struct delivery *d, const char *url, const atomic_bool *abort,
                struct replay_result *ret, struct wh_error *err)
{
    int r = replay_check_url(url, err);
    if (r < 0)
        return r;
    struct replay_result res;
    replay_result_init(&res);
    struct transfer t = {.res = &res, .abort = abort};
    struct curl_slist *hdrs = NULL;
    struct buf line;
    buf_init(&line, 0);
    char curl_err[CURL_ERROR_SIZE] = "";
    CURL *h = curl_easy_init();
    if (!h) {
        r = wh_error_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    struct header_iter it;
    const char *n, *v;
    size_t nl, vl;
    bool has_ct = false, has_accept = false;
    header_iter_init(&it, d->headers.data, d->headers.len);
    while (header_iter_next(&it, &n, &nl, &v, &vl)) {
        if (hop_header(n, nl) || memchr(n, '\r', nl) || memchr(n, '\n', nl) ||
            memchr(v, '\r', vl) || memchr(v, '\n', vl) || memchr(n, '\0', nl) ||
            memchr(v, '\0', vl))
            continue;
        has_ct |= nl == 12 && strncasecmp(n, "Content-Type", 12) == 0;
        has_accept |= nl == 6 && strncasecmp(n, "Accept", 6) == 0;
        buf_reset(&line);
        /* "Name;" is curl's way to send a header with an empty value */
        if (buf_append(&line, n, nl) < 0 ||
            (vl ? buf_append_str(&line, ": ") < 0 || buf_append(&line, v, vl) < 0
                : buf_append_byte(&line, ';') < 0)) {
            r = wh_error_set(err, -ENOMEM, "out of memory");
            goto out;
        }
        struct curl_slist *next = curl_slist_append(hdrs, line.data);
        if (!next) {
            r = wh_error_set(err, -ENOMEM, "out of memory");
            goto out;
        }
        hdrs = next;
    }
    /* what curl would add of its own accord and the captured request did not have */
    const char *const none[] = {
        has_ct ? NULL : "Content-Type:", has_accept ? NULL : "Accept:", "Expect:"};
    for (size_t i = 0; i < 3; i++) {
        if (!none[i])
            continue;
        struct curl_slist *next = curl_slist_append(hdrs, none[i]);
        if (!next) {
            r = wh_error_set(err, -ENOMEM, "out of memory");
            goto out;
        }
        hdrs = next;
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)REPLAY_TIMEOUT_MS);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)REPLAY_TIMEOUT_MS / 2);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, d->method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_USERAGENT, NULL);
    if (strcmp(d->method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (d->body.len || strcmp(d->method, "GET") != 0) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, d->body.data ? d->body.data : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)d->body.len);
    }
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, &t);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_err);
    int64_t start = now_us();
    CURLcode rc = curl_easy_perform(h);
    res.duration_us = now_us() - start;
    if (t.failed) {
        r = wh_error_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    if (rc != CURLE_OK) {
        r = wh_error_set(err, curl_errno(rc), "replay to %.200s failed: %s", url,
                         rc == CURLE_ABORTED_BY_CALLBACK ? "the receiver is stopping"
                         : curl_err[0]                   ? curl_err
                                                         : curl_easy_strerror(rc));
        goto out;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &res.status);
    *ret = res;
    replay_result_init(&res); /* handed over */
    r = 0;
out:
    replay_result_finish(&res);
    buf_finish(&line);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    return r;
}

json_t *replay_result_to_json(const struct replay_result *r, int64_t delivery_id, const char *url)
{
    struct buf b64;
    buf_init(&b64, 0);
    json_t *hdrs = NULL;
    json_t *o = json_object();
    /* json_object_set_new steals the value even when it fails: only o needs freeing */
    if (!o || json_object_set_new(o, "headers", hdrs = json_array()) < 0)
        goto fail;
    struct header_iter it;
    const char *n, *v;
    size_t nl, vl;
    header_iter_init(&it, r->headers.data, r->headers.len);
    while (header_iter_next(&it, &n, &nl, &v, &vl)) {
        json_t *pair = json_pack("[oo]", encode_json_string(n, nl), encode_json_string(v, vl));
        if (!pair || json_array_append_new(hdrs, pair) < 0)
            goto fail;
    }
    json_t *body;
    const char *body_key = "body";
    if (encode_utf8_valid(r->body.data, r->body.len)) {
        body = json_stringn_nocheck(r->body.data ? r->body.data : "", r->body.len);
    } else {
        body_key = "body_base64";
        if (encode_base64(&b64, r->body.data, r->body.len) < 0)
            goto fail;
        body = json_stringn_nocheck(b64.data ? b64.data : "", b64.len);
    }
    if (json_object_set_new(o, body_key, body) < 0 ||
        json_object_set_new(o, "delivery_id", json_integer(delivery_id)) < 0 ||
        json_object_set_new(o, "url", encode_json_string(url, strlen(url))) < 0 ||
        json_object_set_new(o, "status", json_integer(r->status)) < 0 ||
        json_object_set_new(o, "body_size", json_integer((json_int_t)r->body_size)) < 0 ||
        json_object_set_new(o, "truncated", json_boolean(r->body_size > r->body.len)) < 0 ||
        json_object_set_new(o, "duration_us", json_integer(r->duration_us)) < 0)
        goto fail;
    buf_finish(&b64);
    return o;
fail:
    buf_finish(&b64);
    json_decref(o);
    return NULL;
}
