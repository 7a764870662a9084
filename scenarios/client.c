#include "client.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mockserver/buf.h"

#define HTTP_STEP_MAX_ANSWER (64u << 10)

struct client {
    CURL *curl;
    char *base;
    char *auth; /* "Authorization: Bearer ..." or NULL */
};

int client_create(const char *base_url, const char *token, client **ret, struct wh_error *err)
{
    client *c = calloc(1, sizeof(*c));
    if (!c)
        return wh_error_set(err, -ENOMEM, "out of memory");
    c->curl = curl_easy_init();
    c->base = strdup(base_url);
    if (token) {
        size_t n = strlen(token) + 32;
        c->auth = malloc(n);
        if (c->auth)
            snprintf(c->auth, n, "Authorization: Bearer %s", token);
    }
    if (!c->curl || !c->base || (token && !c->auth)) {
        client_destroy(c);
        return wh_error_set(err, -ENOMEM, "out of memory");
    }
    *ret = c;
    return 0;
}

void client_destroy(client *c)
{
    if (!c)
        return;
    if (c->curl)
        curl_easy_cleanup(c->curl);
    free(c->base);
    free(c->auth);
    free(c);
}

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    struct buf *b = arg;
    size_t len = size * n;
    if (buf_append(b, p, len) == 0)
        return len;
    if (b->limit != HTTP_STEP_MAX_ANSWER)
        return 0;          /* an API answer past the limit fails the request */
    if (b->len < b->limit) /* the http step keeps the first bytes */
        buf_append(b, p, b->limit - b->len);
    return len;
}

static int perform(CURL *curl, const char *method, const char *url, struct curl_slist *hdrs,
                   const char *body, size_t body_len, long timeout_ms, struct buf *answer,
                   long *ret_status, struct wh_error *err)
{
    char ebuf[CURL_ERROR_SIZE] = "";
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, answer);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, ebuf);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 30000L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    if (body) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    } else if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    }
    CURLcode rc = curl_easy_perform(curl);
    if (rc != CURLE_OK)
        return wh_error_set(err, -EIO, "%s %s: %s", method, url,
                            ebuf[0] ? ebuf : curl_easy_strerror(rc));
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, ret_status);
    return 0;
}

int client_api(client *c, const char *method, const char *path, const char *body, long timeout_ms,
               long *ret_status, json_t **ret_json, struct wh_error *err)
{
    size_t n = strlen(c->base) + strlen(path) + 1;
    char *url = malloc(n);
    struct curl_slist *h = NULL, *h2;
    struct buf answer;
    buf_init(&answer, CLIENT_MAX_ANSWER);
    int r = -ENOMEM;
    if (!url)
        goto out;
    snprintf(url, n, "%s%s", c->base, path);
    if (c->auth) {
        if (!(h2 = curl_slist_append(h, c->auth)))
            goto out;
        h = h2;
    }
    if (body && (body[0] == '{' || body[0] == '[' || body[0] == '"')) {
        if (!(h2 = curl_slist_append(h, "Content-Type: application/json")))
            goto out;
        h = h2;
    } else if (body) {
        if (!(h2 = curl_slist_append(h, "Content-Type: text/plain")))
            goto out;
        h = h2;
    }
    long status = 0;
    r = perform(c->curl, method, url, h, body, body ? strlen(body) : 0, timeout_ms, &answer,
                &status, err);
    if (r < 0)
        goto out;
    *ret_status = status;
    *ret_json = answer.len ? json_loadb(answer.data, answer.len, 0, NULL) : NULL;
out:
    if (r == -ENOMEM)
        wh_error_set(err, r, "out of memory");
    curl_slist_free_all(h);
    buf_finish(&answer);
    free(url);
    return r;
}

static int escape_into(client *c, char *dst, size_t n, const char *s)
{
    char *e = curl_easy_escape(c->curl, s, 0);
    if (!e)
        return -ENOMEM;
    snprintf(dst, n, "%s", e);
    curl_free(e);
    return 0;
}

int client_deliveries(client *c, const char *endpoint, int64_t since_id, long limit, long wait_ms,
                      long min_count, json_t **ret, int64_t *ret_last_id, struct wh_error *err)
{
    char path[512], ep[256] = "";
    if (endpoint && escape_into(c, ep, sizeof(ep), endpoint) < 0)
        return wh_error_set(err, -ENOMEM, "out of memory");
    int n = snprintf(path, sizeof(path), "/_webhooky/api/deliveries?since_id=%" PRId64 "&limit=%ld",
                     since_id, limit);
    if (endpoint)
        n += snprintf(path + n, sizeof(path) - (size_t)n, "&endpoint=%s", ep);
    if (wait_ms > 0)
        snprintf(path + n, sizeof(path) - (size_t)n, "&wait_ms=%ld&min_count=%ld", wait_ms,
                 min_count);
    long status = 0;
    json_t *doc = NULL;
    int r = client_api(c, "GET", path, NULL, wait_ms + 10000, &status, &doc, err);
    if (r < 0)
        return r;
    json_t *list = json_object_get(doc, "deliveries");
    if (status != 200 || !json_is_array(list)) {
        json_t *msg = json_object_get(doc, "error");
        r = wh_error_set(err, -EIO, "the receiver answered %ld to GET %s%s%s", status, path,
                         json_is_string(msg) ? ": " : "",
                         json_is_string(msg) ? json_string_value(msg) : "");
        json_decref(doc);
        return r;
    }
    if (ret_last_id)
        *ret_last_id = json_integer_value(json_object_get(doc, "last_id"));
    *ret = json_incref(list);
    json_decref(doc);
    return 0;
}

int client_all_deliveries(client *c, int64_t since_id, json_t **ret, struct wh_error *err)
{
    json_t *all = json_array();
    if (!all)
        return wh_error_set(err, -ENOMEM, "out of memory");
    for (;;) {
        json_t *page = NULL;
        int r = client_deliveries(c, NULL, since_id, 1000, 0, 0, &page, NULL, err);
        if (r < 0) {
            json_decref(all);
            return r;
        }
        size_t n = json_array_size(page);
        if (n)
            since_id = json_integer_value(json_object_get(json_array_get(page, n - 1), "id"));
        r = json_array_extend(all, page);
        json_decref(page);
        if (r < 0) {
            json_decref(all);
            return wh_error_set(err, -ENOMEM, "out of memory");
        }
        if (n < 1000)
            break;
    }
    *ret = all;
    return 0;
}

int client_http(const char *method, const char *url, json_t *headers, const char *body,
                size_t body_len, long timeout_ms, long *ret_status, char **ret_body,
                struct wh_error *err)
{
    CURL *curl = curl_easy_init();
    struct curl_slist *h = NULL;
    struct buf answer;
    buf_init(&answer, HTTP_STEP_MAX_ANSWER);
    int r = -ENOMEM;
    if (!curl)
        goto out;
    const char *key;
    json_t *v;
    json_object_foreach(headers, key, v)
    {
        size_t n = strlen(key) + strlen(json_string_value(v)) + 4;
        char *line = malloc(n);
        if (!line)
            goto out;
        /* "Name;" is curl's way of sending a header with an empty value */
        if (json_string_value(v)[0])
            snprintf(line, n, "%s: %s", key, json_string_value(v));
        else
            snprintf(line, n, "%s;", key);
        struct curl_slist *h2 = curl_slist_append(h, line);
        free(line);
        if (!h2)
            goto out;
        h = h2;
    }
    long status = 0;
    r = perform(curl, method, url, h, body, body_len, timeout_ms, &answer, &status, err);
    if (r < 0)
        goto out;
    *ret_status = status;
    if (ret_body) {
        *ret_body = buf_steal(&answer, NULL);
        if (!*ret_body)
            *ret_body = strdup("");
        if (!*ret_body)
            r = -ENOMEM;
    }
out:
    if (r == -ENOMEM)
        wh_error_set(err, r, "out of memory");
    curl_slist_free_all(h);
    buf_finish(&answer);
    if (curl)
        curl_easy_cleanup(curl);
    return r;
}
