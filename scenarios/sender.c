/* sender: the reference webhook sender. See sender.h. */
#include "sender.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "mockserver/encode.h"
#include "mockserver/sig_util.h"
#include "version.h"

#define DEFAULT_TIMEOUT_MS 10000
#define STALE_MS (3600LL * 1000)

static const char *const misbehave_names[] = {
    [SENDER_CORRECT] = "none",
    [SENDER_BAD_SIGNATURE] = "bad-signature",
    [SENDER_DOUBLE_ENCODED] = "double-encoded",
    [SENDER_STALE_TIMESTAMP] = "stale-timestamp",
    [SENDER_NO_RETRY] = "no-retry",
    [SENDER_RETRY_AFTER_SUCCESS] = "retry-after-success",
    [SENDER_NEW_ID_PER_ATTEMPT] = "new-id-per-attempt",
    [SENDER_SAME_TIMESTAMP] = "same-timestamp-per-attempt",
    [SENDER_WRONG_CONTENT_TYPE] = "wrong-content-type",
    [SENDER_SCHEMA_VIOLATION] = "schema-violation",
    [SENDER_IGNORE_RETRY_AFTER] = "ignore-retry-after",
    [SENDER_IGNORE_410] = "ignore-410",
    [SENDER_NO_BACKOFF] = "no-backoff",
};
#define N_MISBEHAVE (sizeof(misbehave_names) / sizeof(misbehave_names[0]))

const char *sender_misbehave_name(enum sender_misbehave m)
{
    return (size_t)m < N_MISBEHAVE ? misbehave_names[m] : NULL;
}

int sender_misbehave_parse(const char *name, enum sender_misbehave *ret)
{
    for (size_t i = 1; i < N_MISBEHAVE; i++)
        if (strcmp(misbehave_names[i], name) == 0) {
            *ret = (enum sender_misbehave)i;
            return 0;
        }
    return -EINVAL;
}

const char *sender_misbehave_names(void)
{
    return "bad-signature, double-encoded, stale-timestamp, no-retry, retry-after-success, "
           "new-id-per-attempt, same-timestamp-per-attempt, wrong-content-type, "
           "schema-violation, ignore-retry-after, ignore-410, no-backoff";
}

/* ---- backoff ---- */

/* A whole number in [min, max] at *p up to ':' or the end; advances *p past it. */
static bool parse_ms(const char **p, int64_t min, int64_t max, int64_t *ret)
{
    if (!isdigit((unsigned char)**p))
        return false;
    char *end;
    errno = 0;
    long long v = strtoll(*p, &end, 10);
    if (errno || v < min || v > max || (*end && *end != ':'))
        return false;
    *ret = v;
    *p = end;
    return true;
}

int sender_backoff_parse(const char *text, struct sender_backoff *ret, struct wh_error *err)
{
    struct sender_backoff b = {0};
    const char *p;
    if (strncmp(text, "fixed:", 6) == 0) {
        p = text + 6;
        if (!parse_ms(&p, 0, SENDER_MAX_WAIT_MS, &b.base_ms) || *p)
            return wh_error_set(err, -EINVAL,
                                "fixed backoff wants fixed:MS with MS a whole number of "
                                "milliseconds up to %lld, not '%s'",
                                (long long)SENDER_MAX_WAIT_MS, text);
        *ret = b;
        return 0;
    }
    if (strncmp(text, "exponential:", 12) != 0)
        return wh_error_set(err, -EINVAL,
                            "backoff must be fixed:MS or exponential:BASE_MS:FACTOR[:MAX_MS], "
                            "not '%s'",
                            text);
    b.exponential = true;
    p = text + 12;
    bool ok = parse_ms(&p, 0, SENDER_MAX_WAIT_MS, &b.base_ms) && *p == ':';
    if (ok) {
        char *end;
        errno = 0;
        b.factor = strtod(p + 1, &end);
        ok = end != p + 1 && !errno && isfinite(b.factor) && b.factor >= 1 && b.factor <= 100 &&
             (*end == '\0' || *end == ':');
        p = end;
    }
    if (ok && *p == ':') {
        p++;
        ok = parse_ms(&p, 1, SENDER_MAX_WAIT_MS, &b.max_ms) && !*p;
    }
    if (!ok)
        return wh_error_set(err, -EINVAL,
                            "exponential backoff wants exponential:BASE_MS:FACTOR[:MAX_MS] (whole "
                            "milliseconds, a factor from 1 to 100), not '%s'",
                            text);
    *ret = b;
    return 0;
}

/* The wait after failed attempt n (1-based). */
static int64_t backoff_ms(const struct sender_backoff *b, int n)
{
    if (!b->exponential)
        return b->base_ms;
    double cap = (double)(b->max_ms ? b->max_ms : SENDER_MAX_WAIT_MS);
    double w = (double)b->base_ms * pow(b->factor, n - 1);
    return (int64_t)(w < cap ? w : cap);
}

/* ---- sample bodies ---- */

static int64_t wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* An RFC 3339 time with milliseconds, as JavaScript's toISOString writes it. */
static json_t *iso_ms(int64_t us)
{
    struct buf b;
    buf_init(&b, 0);
    json_t *v = NULL;
    if (encode_rfc3339_us(&b, us - us % 1000) == 0 && b.len > 5) {
        /* "...:54.123000Z" -> "...:54.123Z" */
        memmove(b.data + b.len - 4, "Z", 2);
        v = json_string(b.data);
    }
    buf_finish(&b);
    return v;
}

static json_t *uuid(void)
{
    char u[37];
    return sig_random_uuid(u) == 0 ? json_string(u) : NULL;
}

/* The record of a Twenty object, with the fields its UI shows first. */
static json_t *twenty_record(const char *object, json_t *now)
{
    json_t *r;
    if (strcmp(object, "person") == 0)
        r = json_pack("{s:o, s:{s:s, s:s}, s:{s:s, s:[]}, s:s, s:s}", "id", uuid(), "name",
                      "firstName", "Ada", "lastName", "Lovelace", "emails", "primaryEmail",
                      "ada@example.com", "additionalEmails", "jobTitle", "Analyst", "city",
                      "London");
    else if (strcmp(object, "company") == 0)
        r = json_pack("{s:o, s:s, s:{s:s, s:s, s:[]}, s:i}", "id", uuid(), "name", "Example Ltd",
                      "domainName", "primaryLinkUrl", "https://example.com", "primaryLinkLabel", "",
                      "secondaryLinks", "employees", 42);
    else if (strcmp(object, "opportunity") == 0)
        r = json_pack("{s:o, s:s, s:s, s:{s:I, s:s}}", "id", uuid(), "name", "Renewal 2026",
                      "stage", "MEETING", "amount", "amountMicros", (json_int_t)1200000000,
                      "currencyCode", "EUR");
    else if (strcmp(object, "task") == 0)
        r = json_pack("{s:o, s:s, s:s, s:n}", "id", uuid(), "title", "Call back", "status", "TODO",
                      "dueAt");
    else if (strcmp(object, "note") == 0)
        r = json_pack("{s:o, s:s}", "id", uuid(), "title", "Meeting notes");
    else
        r = json_pack("{s:o}", "id", uuid());
    if (r &&
        (json_object_set(r, "createdAt", now) < 0 || json_object_set(r, "updatedAt", now) < 0)) {
        json_decref(r);
        r = NULL;
    }
    return r;
}

int sender_sample_body(const char *scheme, const char *event, const char *url, struct buf *out,
                       struct wh_error *err)
{
    bool twenty = scheme && strcmp(scheme, "twenty") == 0;
    if (!event)
        event = twenty ? "person.created" : "contact.created";
    json_t *now = iso_ms(wall_us());
    json_t *doc = NULL;
    if (twenty) {
        const char *dot = strchr(event, '.');
        size_t olen = dot ? (size_t)(dot - event) : strlen(event);
        char object[64];
        snprintf(object, sizeof(object), "%.*s", (int)(olen < 63 ? olen : 63), event);
        doc = json_pack("{s:s, s:s, s:{s:o, s:s}, s:o, s:o, s:O, s:o, s:o, s:o}", "targetUrl",
                        url ? url : "", "eventName", event, "objectMetadata", "id", uuid(),
                        "nameSingular", object, "workspaceId", uuid(), "webhookId", uuid(),
                        "eventDate", now, "userId", uuid(), "workspaceMemberId", uuid(), "record",
                        twenty_record(object, now));
        if (doc && dot && strcmp(dot + 1, "updated") == 0 &&
            json_object_set_new(doc, "updatedFields", json_pack("[s]", "updatedAt")) < 0) {
            json_decref(doc);
            doc = NULL;
        }
    } else {
        char id[37];
        doc = sig_random_uuid(id) == 0
                  ? json_pack("{s:s, s:O, s:{s:s, s:s, s:s}}", "type", event, "timestamp", now,
                              "data", "id", id, "name", "Ada Lovelace", "email", "ada@example.com")
                  : NULL;
    }
    json_decref(now);
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (!text)
        return wh_error_set(err, -ENOMEM,
                            "cannot make the sample body (out of memory, no "
                            "random bytes, or an event name that is not UTF-8)");
    int r = buf_append_str(out, text);
    free(text);
    return r < 0 ? wh_error_set(err, r, "out of memory") : 0;
}

/* ---- one attempt ---- */

struct response {
    int64_t retry_after_ms;
};

static size_t discard(char *data, size_t size, size_t n, void *ctx)
{
    (void)data;
    (void)ctx;
    return size * n;
}

int64_t sender_retry_after_ms(const char *v, size_t len, int64_t now_us)
{
    char text[128];
    while (len && (*v == ' ' || *v == '\t'))
        v++, len--;
    while (len &&
           (v[len - 1] == ' ' || v[len - 1] == '\t' || v[len - 1] == '\r' || v[len - 1] == '\n'))
        len--;
    if (!len || len >= sizeof(text))
        return -1;
    memcpy(text, v, len);
    text[len] = '\0';
    bool digits = true;
    for (size_t i = 0; i < len; i++)
        digits = digits && isdigit((unsigned char)text[i]);
    if (digits) {
        if (len > 9) /* more than 31 years */
            return SENDER_MAX_WAIT_MS;
        int64_t ms = strtoll(text, NULL, 10) * 1000;
        return ms < SENDER_MAX_WAIT_MS ? ms : SENDER_MAX_WAIT_MS;
    }
    time_t when = curl_getdate(text, NULL);
    if (when == -1)
        return -1;
    int64_t ms = ((int64_t)when * 1000000 - now_us) / 1000;
    return ms <= 0 ? 0 : ms < SENDER_MAX_WAIT_MS ? ms : SENDER_MAX_WAIT_MS;
}

static size_t on_header(char *data, size_t size, size_t n, void *ctx)
{
    struct response *resp = ctx;
    size_t len = size * n;
    static const char name[] = "retry-after:";
    if (len >= 5 && strncmp(data, "HTTP/", 5) == 0)
        resp->retry_after_ms = -1; /* a new answer (after a 100 Continue) */
    else if (len > sizeof(name) - 1 && strncasecmp(data, name, sizeof(name) - 1) == 0)
        resp->retry_after_ms =
            sender_retry_after_ms(data + sizeof(name) - 1, len - (sizeof(name) - 1), wall_us());
    return len;
}

/* Does a user header replace the sender's own header called name? */
static bool user_has(const struct sender_options *o, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < o->n_headers; i++)
        if (strncasecmp(o->headers[i], name, n) == 0 && o->headers[i][n] == ':')
            return true;
    return false;
}

static int append_header(struct curl_slist **list, const char *line)
{
    struct curl_slist *l = curl_slist_append(*list, line);
    if (!l)
        return -ENOMEM;
    *list = l;
    return 0;
}

/* The headers of one attempt: the signature's (signed over sign_body), Content-Type,
 * User-Agent, the user's. */
static int make_headers(const struct sender_options *o, const char *path, const void *sign_body,
                        size_t sign_len, int64_t ts_ms, const char *id, struct curl_slist **ret,
                        struct wh_error *err)
{
    struct curl_slist *list = NULL;
    struct buf sig;
    buf_init(&sig, 1u << 20);
    int r = 0;
    if (o->sig) {
        r = sig_sign(o->sig, "POST", path, sign_body, sign_len, ts_ms, id, &sig, err);
        for (size_t i = 0; r == 0 && i < sig.len;) {
            char *nl = memchr(sig.data + i, '\n', sig.len - i);
            if (!nl)
                break;
            *nl = '\0';
            r = append_header(&list, sig.data + i);
            i = (size_t)(nl - sig.data) + 1;
        }
    }
    if (r == 0 && !user_has(o, "Content-Type"))
        r = append_header(&list, o->misbehave == SENDER_WRONG_CONTENT_TYPE
                                     ? "Content-Type: text/plain; charset=utf-8"
                                     : "Content-Type: application/json");
    if (r == 0 && !user_has(o, "User-Agent"))
        r = append_header(&list, "User-Agent: webhooky/" WEBHOOKY_VERSION);
    if (r == 0)
        r = append_header(&list, "Expect:");
    for (size_t i = 0; r == 0 && i < o->n_headers; i++)
        r = append_header(&list, o->headers[i]);
    buf_finish(&sig);
    if (r < 0) {
        curl_slist_free_all(list);
        if (r == -ENOMEM)
            wh_error_set(err, r, "out of memory");
        return r;
    }
    *ret = list;
    return 0;
}

/* Send one request; fills status, timing, error and Retry-After of a. */
static int perform(CURL *h, const struct sender_options *o, const void *body, size_t body_len,
                   struct curl_slist *headers, int64_t timeout_ms, struct sender_attempt *a,
                   struct wh_error *err)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    struct response resp = {.retry_after_ms = -1};
    curl_easy_reset(h);
    if (curl_easy_setopt(h, CURLOPT_URL, o->url) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_POST, 1L) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body_len ? body : "") != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_HEADERDATA, &resp) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK)
        return wh_error_set(err, -ENOMEM, "cannot set up the request (libcurl)");
    a->sent_us = wall_us();
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CURLcode rc = curl_easy_perform(h);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    a->duration_ms =
        (double)(t1.tv_sec - t0.tv_sec) * 1000 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    a->status = 0;
    a->timed_out = rc == CURLE_OPERATION_TIMEDOUT;
    if (rc == CURLE_OK) {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &a->status);
        a->error[0] = '\0';
        a->retry_after_ms = resp.retry_after_ms;
    } else {
        if (rc == CURLE_OUT_OF_MEMORY)
            return wh_error_set(err, -ENOMEM, "out of memory");
        if (a->timed_out)
            snprintf(a->error, sizeof(a->error), "no answer within %lld ms", (long long)timeout_ms);
        else
            snprintf(a->error, sizeof(a->error), "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
        a->retry_after_ms = -1;
    }
    return 0;
}

/* What comes after attempt a by its answer alone: sets next, why and (after a success, when
 * misbehaving) wait_ms; *retryable when another attempt may follow a failure.
 * delivered_before: an earlier attempt got a 2xx (this is the misbehaving extra one). */
static void decide(const struct sender_options *o, struct sender_attempt *a, bool delivered_before,
                   bool *retryable)
{
    long st = a->status;
    *retryable = false;
    a->next = SENDER_NEXT_GIVE_UP;
    a->wait_ms = 0;
    if (st >= 200 && st < 300) {
        a->next = SENDER_NEXT_DONE;
        a->why = "delivered";
        if (o->misbehave == SENDER_RETRY_AFTER_SUCCESS && !delivered_before) {
            a->next = SENDER_NEXT_RETRY;
            a->why = "delivered, sending again anyway (misbehaving)";
            a->wait_ms = o->misbehave == SENDER_NO_BACKOFF ? 0 : backoff_ms(&o->backoff, a->number);
        }
        return;
    }
    if (delivered_before) { /* the extra attempt after a success: stop whatever it got */
        a->next = SENDER_NEXT_DONE;
        a->why = "already delivered";
        return;
    }
    if (st == 410) {
        a->why = "gone";
        if (o->misbehave != SENDER_IGNORE_410)
            return;
        a->why = "gone, retrying anyway (misbehaving)";
    } else if (st == 429) {
        a->why = "rate limited";
    } else if (st == 408) {
        a->why = "request timeout";
    } else if (st >= 500) {
        a->why = "server error";
    } else if (st == 0) {
        a->why = a->timed_out ? "timed out" : "connection failed";
    } else {
        a->why = "not retryable";
        return;
    }
    *retryable = true;
}

static void wait_for(int64_t ms, const atomic_bool *stop)
{
    struct timespec end, now;
    clock_gettime(CLOCK_MONOTONIC, &end);
    end.tv_sec += (time_t)(ms / 1000);
    end.tv_nsec += (long)(ms % 1000) * 1000000;
    if (end.tv_nsec >= 1000000000) {
        end.tv_sec++;
        end.tv_nsec -= 1000000000;
    }
    for (;;) {
        if (stop && atomic_load(stop))
            return;
        clock_gettime(CLOCK_MONOTONIC, &now);
        int64_t left_ns =
            (int64_t)(end.tv_sec - now.tv_sec) * 1000000000 + (end.tv_nsec - now.tv_nsec);
        if (left_ns <= 0)
            return;
        int64_t slice = stop && left_ns > 50000000 ? 50000000 : left_ns;
        struct timespec d = {(time_t)(slice / 1000000000), (long)(slice % 1000000000)};
        nanosleep(&d, NULL);
    }
}

/* A fresh id for the scheme: the Twenty nonce (32 hex), Standard Webhooks "msg_...", a UUID
 * for the others that carry one; "" for schemes without. */
static int new_id(const char *scheme, char *out, size_t size)
{
    out[0] = '\0';
    if (!scheme || strcmp(scheme, "stripe") == 0 || strcmp(scheme, "slack") == 0)
        return 0;
    char tmp[40];
    int r = strcmp(scheme, "twenty") == 0              ? sig_random_hex(tmp, 16)
            : strcmp(scheme, "standard-webhooks") == 0 ? sig_random_msg_id(tmp)
                                                       : sig_random_uuid(tmp);
    if (r == 0)
        snprintf(out, size, "%s", tmp);
    return r;
}

/* The body with the first member of its top-level object removed (schema-violation). */
static int drop_first_member(const void *body, size_t len, struct buf *out, struct wh_error *err)
{
    json_error_t jerr;
    json_t *doc = json_loadb(body, len, JSON_DECODE_ANY, &jerr);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return wh_error_set(err, -EINVAL, "schema-violation needs a body that is a JSON object");
    }
    void *it = json_object_iter(doc);
    if (it)
        json_object_del(doc, json_object_iter_key(it));
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    int r = text ? buf_append_str(out, text) : -ENOMEM;
    free(text);
    return r < 0 ? wh_error_set(err, r, "out of memory") : 0;
}

int sender_run(const struct sender_options *o, struct sender_result *ret, struct wh_error *err)
{
    memset(ret, 0, sizeof(*ret));
    if (!o->url ||
        (strncasecmp(o->url, "http://", 7) != 0 && strncasecmp(o->url, "https://", 8) != 0))
        return wh_error_set(err, -EINVAL, "the URL must start with http:// or https://");
    if (o->retries < 0 || o->retries > SENDER_MAX_RETRIES)
        return wh_error_set(err, -EINVAL, "retries must be 0 to %d", SENDER_MAX_RETRIES);
    if (o->n_headers > SENDER_MAX_HEADERS)
        return wh_error_set(err, -EINVAL, "at most %d extra headers", SENDER_MAX_HEADERS);
    for (size_t i = 0; i < o->n_headers; i++) {
        const char *h = o->headers[i];
        const char *colon = strchr(h, ':');
        bool ok = colon && colon > h;
        for (const char *p = h; ok && *p; p++)
            ok = (unsigned char)*p >= 0x20 || *p == '\t';
        if (ok) {
            char name[130];
            size_t n = (size_t)(colon - h);
            ok = n < sizeof(name);
            if (ok) {
                memcpy(name, h, n);
                name[n] = '\0';
                ok = sig_valid_header_name(name);
            }
        }
        if (!ok)
            return wh_error_set(err, -EINVAL, "a header must be 'Name: value' on one line");
    }
    if (o->id && (!*o->id || strlen(o->id) >= sizeof(((struct sender_attempt *)0)->id)))
        return wh_error_set(err, -EINVAL, "the id must be 1 to %zu bytes",
                            sizeof(((struct sender_attempt *)0)->id) - 1);
    const char *scheme = o->sig ? sig_config_scheme(o->sig) : NULL;
    enum sender_misbehave mb = o->misbehave;
    if (!o->sig && (mb == SENDER_BAD_SIGNATURE || mb == SENDER_DOUBLE_ENCODED ||
                    mb == SENDER_STALE_TIMESTAMP || mb == SENDER_SAME_TIMESTAMP ||
                    mb == SENDER_NEW_ID_PER_ATTEMPT))
        return wh_error_set(err, -EINVAL, "misbehaving with %s needs a signature scheme",
                            sender_misbehave_name(mb));
    if ((mb == SENDER_STALE_TIMESTAMP || mb == SENDER_SAME_TIMESTAMP) &&
        !sig_config_timestamp_unit_ms(o->sig))
        return wh_error_set(err, -EINVAL, "%s: %s signatures carry no timestamp",
                            sender_misbehave_name(mb), scheme);
    if (mb == SENDER_NEW_ID_PER_ATTEMPT && scheme &&
        (strcmp(scheme, "stripe") == 0 || strcmp(scheme, "slack") == 0))
        return wh_error_set(err, -EINVAL, "%s: %s deliveries carry no id",
                            sender_misbehave_name(mb), scheme);

    struct buf body, signed_body;
    buf_init(&body, 0);
    buf_init(&signed_body, 0);
    CURL *h = NULL;
    struct curl_slist *headers = NULL;
    int r = 0;
    CURLU *u = curl_url();
    char *path = NULL;
    if (!u)
        r = wh_error_set(err, -ENOMEM, "out of memory");
    else if (curl_url_set(u, CURLUPART_URL, o->url, 0) != CURLUE_OK ||
             curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK)
        r = wh_error_set(err, -EINVAL, "not a URL: %.200s", o->url);
    if (r < 0)
        goto out;

    /* the body: given, or the sample; broken for schema-violation */
    if (o->body) {
        if ((r = buf_append(&body, o->body, o->body_len)) < 0)
            r = wh_error_set(err, r, "out of memory");
    } else {
        r = sender_sample_body(scheme, o->event, o->url, &body, err);
    }
    if (r == 0 && mb == SENDER_SCHEMA_VIOLATION) {
        struct buf broken;
        buf_init(&broken, 0);
        r = drop_first_member(body.data ? body.data : "", body.len, &broken, err);
        buf_finish(&body);
        body = broken;
    }
    if (r < 0)
        goto out;
    /* the bytes signed: the body, or other bytes when misbehaving */
    if (mb == SENDER_BAD_SIGNATURE) {
        if ((r = buf_append(&signed_body, body.data, body.len)) == 0)
            r = buf_append_byte(&signed_body, ' ');
    } else if (mb == SENDER_DOUBLE_ENCODED) {
        r = sig_json_quote(&signed_body, body.data ? body.data : "", body.len);
        if (r == -EINVAL) {
            r = wh_error_set(err, r, "double-encoded needs a body that is UTF-8");
            goto out;
        }
    } else {
        r = buf_append(&signed_body, body.data, body.len);
    }
    if (r < 0) {
        r = wh_error_set(err, r, "out of memory");
        goto out;
    }
    if (!(h = curl_easy_init())) {
        r = wh_error_set(err, -ENOMEM, "cannot start libcurl");
        goto out;
    }

    char id[160] = "";
    if (o->id)
        snprintf(id, sizeof(id), "%s", o->id);
    else if ((r = new_id(scheme, id, sizeof(id))) < 0) {
        r = wh_error_set(err, -EIO, "no random bytes for a message id");
        goto out;
    }
    bool twenty = scheme && strcmp(scheme, "twenty") == 0;
    int64_t unit = o->sig ? sig_config_timestamp_unit_ms(o->sig) : 0;
    int64_t first_ts = 0;
    int64_t timeout = o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
    int64_t max_ra = o->max_retry_after_ms > 0 ? o->max_retry_after_ms : SENDER_MAX_WAIT_MS;
    bool delivered = false;
    for (int n = 1;; n++) {
        struct sender_attempt a = {.number = n, .retry_after_ms = -1};
        /* a fresh id per attempt where the scheme's id is a nonce, or when misbehaving */
        if (n > 1 && (twenty || mb == SENDER_NEW_ID_PER_ATTEMPT) &&
            (r = new_id(scheme, id, sizeof(id))) < 0) {
            r = wh_error_set(err, -EIO, "no random bytes for a message id");
            goto out;
        }
        int64_t ts = 0;
        if (o->sig) {
            ts = wall_us() / 1000;
            if (mb == SENDER_STALE_TIMESTAMP)
                ts -= STALE_MS;
            if (mb == SENDER_SAME_TIMESTAMP && n > 1)
                ts = first_ts;
            if (n == 1)
                first_ts = ts;
            a.timestamp_ms = unit ? ts - ts % unit : 0;
        }
        snprintf(a.id, sizeof(a.id), "%s", id);
        curl_slist_free_all(headers);
        headers = NULL;
        if ((r = make_headers(o, path, signed_body.data ? signed_body.data : "", signed_body.len,
                              ts, id[0] ? id : NULL, &headers, err)) < 0)
            goto out;
        if ((r = perform(h, o, body.data, body.len, headers, timeout, &a, err)) < 0)
            goto out;
        bool retryable;
        decide(o, &a, delivered, &retryable);
        if (a.status >= 200 && a.status < 300)
            delivered = true;
        if (retryable) {
            if (mb == SENDER_NO_RETRY && o->retries > 0) {
                a.why = "not retried (misbehaving)";
            } else if (n <= o->retries) { /* else give up: the last failure's reason stands */
                a.next = SENDER_NEXT_RETRY;
                a.wait_ms = mb == SENDER_NO_BACKOFF ? 0 : backoff_ms(&o->backoff, n);
                if (a.retry_after_ms >= 0 && mb != SENDER_IGNORE_RETRY_AFTER) {
                    int64_t ra = a.retry_after_ms < max_ra ? a.retry_after_ms : max_ra;
                    if (ra > a.wait_ms)
                        a.wait_ms = ra;
                }
            }
        }
        if (a.wait_ms > SENDER_MAX_WAIT_MS)
            a.wait_ms = SENDER_MAX_WAIT_MS;
        ret->attempts = n;
        ret->last_status = a.status;
        if (o->on_attempt)
            o->on_attempt(o->ctx, &a);
        if (a.next == SENDER_NEXT_RETRY && o->stop && atomic_load(o->stop)) {
            snprintf(ret->why, sizeof(ret->why), "stopped before attempt %d", n + 1);
            break;
        }
        if (a.next == SENDER_NEXT_DONE) {
            snprintf(ret->why, sizeof(ret->why), "delivered");
            break;
        }
        if (a.next == SENDER_NEXT_GIVE_UP) {
            if (delivered)
                snprintf(ret->why, sizeof(ret->why), "delivered");
            else if (a.status)
                snprintf(ret->why, sizeof(ret->why), "gave up after %d attempt%s: %s (%ld)", n,
                         n == 1 ? "" : "s", a.why, a.status);
            else
                snprintf(ret->why, sizeof(ret->why), "gave up after %d attempt%s: %s", n,
                         n == 1 ? "" : "s", a.why);
            break;
        }
        wait_for(a.wait_ms, o->stop);
        if (o->stop && atomic_load(o->stop)) {
            snprintf(ret->why, sizeof(ret->why), "stopped before attempt %d", n + 1);
            break;
        }
    }
    ret->delivered = delivered;
    r = 0;
out:
    curl_slist_free_all(headers);
    curl_easy_cleanup(h);
    curl_free(path);
    curl_url_cleanup(u);
    buf_finish(&body);
    buf_finish(&signed_body);
    return r;
}
