/* Unit tests for sender, in process as the runner calls it: backoff and misbehaviour names,
 * the sample bodies (the Twenty one valid against schemas/twenty), option errors, the attempt
 * callback, giving up on a port nobody listens on, and stopping early. The wire behaviour is
 * tested in tests/integration/test_send.c. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mockserver/jsonschema.h"
#include "scenarios/sender.h"
#include "unit.h"

START_TEST(test_backoff_parse)
{
    struct sender_backoff b;
    struct wh_error err = {0};
    ck_assert_int_eq(sender_backoff_parse("fixed:250", &b, &err), 0);
    ck_assert(!b.exponential);
    ck_assert_int_eq(b.base_ms, 250);
    ck_assert_int_eq(sender_backoff_parse("exponential:100:2.5", &b, &err), 0);
    ck_assert(b.exponential);
    ck_assert_int_eq(b.base_ms, 100);
    ck_assert(b.factor == 2.5);
    ck_assert_int_eq(b.max_ms, 0);
    ck_assert_int_eq(sender_backoff_parse("exponential:100:2:8000", &b, &err), 0);
    ck_assert_int_eq(b.max_ms, 8000);
    static const char *const bad[] = {
        "",
        "fixed",
        "fixed:",
        "fixed:-1",
        "fixed:1x",
        "fixed:1:2",
        "linear:5",
        "exponential:1",
        "exponential:1:",
        "exponential:1:0.5",
        "exponential:1:2:",
        "exponential:1:2:0",
        "exponential:1:2:3:4",
        "exponential:x:2",
        "fixed:99999999999999",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err.msg[0] = '\0';
        ck_assert_msg(sender_backoff_parse(bad[i], &b, &err) == -EINVAL, "'%s' parsed", bad[i]);
        ck_assert_msg(strstr(err.msg, bad[i]) != NULL, "'%s': %s", bad[i], err.msg);
    }
}
END_TEST

START_TEST(test_retry_after)
{
    const int64_t now = 1767225600LL * 1000000 + 250000; /* 2026-01-01T00:00:00.25Z */
#define RA(s) sender_retry_after_ms((s), strlen(s), now)
    ck_assert_int_eq(RA("0"), 0);
    ck_assert_int_eq(RA("120"), 120000);
    ck_assert_int_eq(RA("  3 \r\n"), 3000);
    ck_assert_int_eq(RA("99999999999"), SENDER_MAX_WAIT_MS);
    ck_assert_int_eq(RA("Thu, 01 Jan 2026 00:00:10 GMT"), 9750);    /* IMF-fixdate */
    ck_assert_int_eq(RA("Thursday, 01-Jan-26 00:00:10 GMT"), 9750); /* RFC 850 */
    ck_assert_int_eq(RA("Thu Jan  1 00:00:10 2026"), 9750);         /* asctime */
    ck_assert_int_eq(RA("Wed, 31 Dec 2025 23:00:00 GMT"), 0);       /* past */
    ck_assert_int_eq(RA(""), -1);
    ck_assert_int_eq(RA("soon"), -1);
    ck_assert_int_eq(RA("-5"), -1);
    ck_assert_int_eq(RA("1.5"), -1);
#undef RA
}
END_TEST

START_TEST(test_misbehave_names)
{
    /* every name in the list parses, and back */
    char names[1024];
    snprintf(names, sizeof(names), "%s", sender_misbehave_names());
    size_t n = 0;
    for (char *save = NULL, *t = strtok_r(names, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
        enum sender_misbehave m;
        ck_assert_msg(sender_misbehave_parse(t, &m) == 0, "%s", t);
        ck_assert_str_eq(sender_misbehave_name(m), t);
        n++;
    }
    ck_assert_uint_eq(n, 12);
    enum sender_misbehave m;
    ck_assert_int_eq(sender_misbehave_parse("none", &m), -EINVAL);
    ck_assert_int_eq(sender_misbehave_parse("rude", &m), -EINVAL);
    ck_assert_ptr_null(sender_misbehave_name((enum sender_misbehave)99));
}
END_TEST

/* The Twenty sample of each event validates against its bundled schema. */
START_TEST(test_sample_twenty)
{
    static const char *const events[] = {"person.created", "company.updated", "opportunity.deleted",
                                         "task.destroyed", "note.restored"};
    const char *root = getenv("WEBHOOKY_SOURCE_ROOT");
    ck_assert_msg(root && *root, "WEBHOOKY_SOURCE_ROOT is not set");
    for (size_t i = 0; i < 5; i++) {
        struct buf b;
        buf_init(&b, 0);
        struct wh_error err = {0};
        ck_assert_int_eq(sender_sample_body("twenty", events[i], "http://x.test/h", &b, &err), 0);
        char path[4096];
        snprintf(path, sizeof(path), "%s/schemas/twenty/%s.json", root, events[i]);
        jsonschema *s = NULL;
        ck_assert_msg(jsonschema_load_file(path, NULL, &s, &err) == 0, "%s", err.msg);
        struct jsonschema_errors errs;
        jsonschema_errors_init(&errs, 0);
        int v = jsonschema_validate_text(s, b.data, b.len, &errs);
        ck_assert_msg(v == 0, "%s: %s: %s", events[i], errs.n ? errs.v[0].pointer : "",
                      errs.n ? errs.v[0].message : errs.err.msg);
        jsonschema_errors_finish(&errs);
        jsonschema_destroy(s);
        json_t *doc = json_loadb(b.data, b.len, 0, NULL);
        ck_assert_str_eq(json_string_value(json_object_get(doc, "targetUrl")), "http://x.test/h");
        ck_assert_str_eq(json_string_value(json_object_get(doc, "eventName")), events[i]);
        json_decref(doc);
        buf_finish(&b);
    }
}
END_TEST

START_TEST(test_sample_standard)
{
    struct buf b;
    buf_init(&b, 0);
    ck_assert_int_eq(sender_sample_body(NULL, NULL, NULL, &b, NULL), 0);
    json_t *doc = json_loadb(b.data, b.len, 0, NULL);
    ck_assert_str_eq(json_string_value(json_object_get(doc, "type")), "contact.created");
    const char *ts = json_string_value(json_object_get(doc, "timestamp"));
    ck_assert_msg(ts && strlen(ts) == 24 && ts[23] == 'Z', "%s", ts);
    ck_assert(json_is_object(json_object_get(doc, "data")));
    json_decref(doc);
    buf_finish(&b);
}
END_TEST

/* A port that refuses connections: bound, never listened on. */
static int dead_port(int *ret_fd)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *ret_fd = fd;
    return ntohs(a.sin_port);
}

struct seen {
    int calls;
    char first_id[160];
    bool ids_equal;
    int64_t waits[8];
    atomic_bool *stop_after_first;
};

static void on_attempt(void *ctx, const struct sender_attempt *a)
{
    struct seen *s = ctx;
    if (s->calls == 0) {
        snprintf(s->first_id, sizeof(s->first_id), "%s", a->id);
        s->ids_equal = true;
    } else if (strcmp(a->id, s->first_id) != 0) {
        s->ids_equal = false;
    }
    if (s->calls < 8)
        s->waits[s->calls] = a->next == SENDER_NEXT_RETRY ? a->wait_ms : -1;
    ck_assert_int_eq(a->number, s->calls + 1);
    ck_assert_int_eq(a->status, 0);
    ck_assert_str_eq(a->why, "connection failed");
    ck_assert(a->error[0] != '\0');
    s->calls++;
    if (s->stop_after_first)
        atomic_store(s->stop_after_first, true);
}

static sig_config *std_config(void)
{
    json_t *o = json_pack("{s:s, s:[s]}", "scheme", "standard-webhooks", "secrets",
                          "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    sig_config *c = NULL;
    ck_assert_int_eq(sig_config_parse(o, &c, NULL, 0, NULL), 0);
    json_decref(o);
    return c;
}

START_TEST(test_gives_up)
{
    int fd;
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/h", dead_port(&fd));
    sig_config *c = std_config();
    struct seen seen = {0};
    struct sender_options o = {
        .url = url,
        .sig = c,
        .retries = 3,
        .backoff = {.exponential = true, .base_ms = 5, .factor = 2, .max_ms = 15},
        .on_attempt = on_attempt,
        .ctx = &seen,
    };
    struct sender_result res;
    struct wh_error err = {0};
    ck_assert_int_eq(sender_run(&o, &res, &err), 0);
    ck_assert(!res.delivered);
    ck_assert_int_eq(res.attempts, 4);
    ck_assert_int_eq(seen.calls, 4);
    ck_assert(seen.ids_equal);
    ck_assert(strncmp(seen.first_id, "msg_", 4) == 0);
    ck_assert_int_eq(seen.waits[0], 5);
    ck_assert_int_eq(seen.waits[1], 10);
    ck_assert_int_eq(seen.waits[2], 15); /* capped */
    ck_assert_int_eq(seen.waits[3], -1);
    ck_assert_str_eq(res.why, "gave up after 4 attempts: connection failed");
    sig_config_destroy(c);
    close(fd);
}
END_TEST

START_TEST(test_stop)
{
    int fd;
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/h", dead_port(&fd));
    atomic_bool stop = false;
    struct seen seen = {.stop_after_first = &stop};
    struct sender_options o = {
        .url = url,
        .retries = 5,
        .backoff = {.base_ms = 60000},
        .on_attempt = on_attempt,
        .ctx = &seen,
        .stop = &stop,
    };
    struct sender_result res;
    ck_assert_int_eq(sender_run(&o, &res, NULL), 0);
    ck_assert_int_eq(res.attempts, 1);
    ck_assert_str_eq(res.why, "stopped before attempt 2");
    close(fd);
}
END_TEST

START_TEST(test_option_errors)
{
    sig_config *c = std_config();
    struct sender_result res;
    struct wh_error err = {0};
    struct sender_options o = {.url = "ftp://x/"};
    ck_assert_int_eq(sender_run(&o, &res, &err), -EINVAL);
    o.url = "http://127.0.0.1:1/";
    o.retries = SENDER_MAX_RETRIES + 1;
    ck_assert_int_eq(sender_run(&o, &res, &err), -EINVAL);
    o.retries = 0;
    const char *hdr[] = {"Bad Name: x"};
    o.headers = hdr;
    o.n_headers = 1;
    ck_assert_int_eq(sender_run(&o, &res, &err), -EINVAL);
    const char *hdr2[] = {"X-Ok: a\nInjected: b"};
    o.headers = hdr2;
    ck_assert_int_eq(sender_run(&o, &res, &err), -EINVAL);
    o.n_headers = 0;
    o.misbehave = SENDER_BAD_SIGNATURE;
    ck_assert_int_eq(sender_run(&o, &res, &err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "bad-signature needs a signature scheme"));
    o.misbehave = SENDER_SCHEMA_VIOLATION;
    o.body = "[1,2]";
    o.body_len = 5;
    ck_assert_int_eq(sender_run(&o, &res, &err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "JSON object"));
    o.misbehave = SENDER_DOUBLE_ENCODED;
    o.sig = c;
    o.body = "\xff";
    o.body_len = 1;
    ck_assert_int_eq(sender_run(&o, &res, &err), -EINVAL);
    o.misbehave = SENDER_CORRECT;
    o.id = "";
    ck_assert_int_eq(sender_run(&o, &res, &err), -EINVAL);
    sig_config_destroy(c);
}
END_TEST

static Suite *sender_suite(void)
{
    Suite *s = suite_create("sender");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, test_backoff_parse);
    tcase_add_test(tc, test_misbehave_names);
    tcase_add_test(tc, test_retry_after);
    suite_add_tcase(s, tc);
    tc = tcase_create("samples");
    tcase_add_test(tc, test_sample_twenty);
    tcase_add_test(tc, test_sample_standard);
    suite_add_tcase(s, tc);
    tc = tcase_create("run");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_gives_up);
    tcase_add_test(tc, test_stop);
    tcase_add_test(tc, test_option_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(sender_suite());
}
