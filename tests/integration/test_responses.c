/* Scripted responses: sequences, headers and bodies, cycle, match, scope message, faults seen
 * from libcurl, delays, the runtime API, --respond / WEBHOOKY_RESPOND, and the messages view. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static const char config[] =
    "{\"endpoints\": [\n"
    "  {\"name\": \"seq\", \"path\": \"/seq\", \"responses\": \"503x2,200\"},\n"
    "  {\"name\": \"ra\", \"path\": \"/ra\", \"responses\": \"429x1[Retry-After=2],200\"},\n"
    "  {\"name\": \"shaped\", \"path\": \"/shaped\", \"responses\": [\n"
    "     {\"status\": 201, \"headers\": {\"X-Test\": \"yes\"}, \"body\": {\"accepted\": true}},\n"
    "     {\"status\": 410, \"body\": \"gone for good\"}]},\n"
    "  {\"name\": \"cyc\", \"path\": \"/cyc\",\n"
    "   \"responses\": {\"rules\": [{\"status\": 500}, {\"status\": 200}], \"cycle\": true}},\n"
    "  {\"name\": \"match\", \"path\": \"/match\", \"responses\": [\n"
    "     {\"status\": 500, \"times\": 1, \"match\": {\"event\": \"order.failed\"}},\n"
    "     {\"status\": 202, \"times\": 5, \"match\": {\"headers\": {\"X-Mode\": \"slow\"}}},\n"
    "     {\"status\": 409, \"times\": 5, \"match\": {\"body\": {\"/id\": {\"regex\": \"^dup-\"}}}},\n"
    "     {\"status\": 200}]},\n"
    "  {\"name\": \"per-msg\", \"path\": \"/per-msg\", \"message_key\": \"X-Msg\",\n"
    "   \"responses\": \"503x2/message,200\"},\n"
    "  {\"name\": \"reset\", \"path\": \"/reset\", \"responses\": \"reset\"},\n"
    "  {\"name\": \"close\", \"path\": \"/close\", \"responses\": \"close\"},\n"
    "  {\"name\": \"partial\", \"path\": \"/partial\", \"responses\": \"partial\"},\n"
    "  {\"name\": \"malformed\", \"path\": \"/malformed\", \"responses\": \"malformed\"},\n"
    "  {\"name\": \"hang\", \"path\": \"/hang\", \"responses\": \"hang:20s\"},\n"
    "  {\"name\": \"hang-short\", \"path\": \"/hang-short\", \"responses\": \"hang:300ms\"},\n"
    "  {\"name\": \"dribble\", \"path\": \"/dribble\",\n"
    "   \"responses\": [{\"status\": 200, \"fault\": \"dribble\", \"dribble_ms\": 600,\n"
    "                   \"body\": \"0123456789abcdefghijklmnopqrstuvwxyz\"}]},\n"
    "  {\"name\": \"slow\", \"path\": \"/slow\", \"responses\": \"200@300ms\"},\n"
    "  {\"name\": \"slower\", \"path\": \"/slower\", \"responses\": \"200@5s\"},\n"
    "  {\"name\": \"plain\", \"path\": \"/plain\"}\n"
    "]}\n";

static struct wh_server srv;
static char *dir;

static void start(void)
{
    dir = wh_tmpdir();
    char *cfg = wh_path(dir, "endpoints.json");
    wh_write_file(cfg, config);
    char *db = wh_path(dir, "r.db");
    const char *args[] = {"--config", cfg, NULL};
    wh_server_start(&srv, dir, db, args, NULL);
    free(cfg);
    free(db);
}

static void stop(void)
{
    wh_server_finish(&srv);
    wh_tmpdir_remove(dir);
}

static long post(const char *path, const char *const *headers, const char *body)
{
    struct wh_response r;
    wh_request(NULL, &srv, "POST", path, headers, body, strlen(body), &r);
    ck_assert_msg(r.rc == CURLE_OK, "POST %s: %s", path, curl_easy_strerror(r.rc));
    long st = r.status;
    wh_response_free(&r);
    return st;
}

static json_t *last_delivery(const char *endpoint)
{
    json_t *v = wh_api(&srv, 200,
                       "/_webhooky/api/deliveries?endpoint=%s&order=desc&limit=1", endpoint);
    json_t *d = json_incref(json_array_get(json_object_get(v, "deliveries"), 0));
    ck_assert_msg(d != NULL, "no delivery to %s was recorded", endpoint);
    json_decref(v);
    return d;
}

START_TEST(sequence_with_times)
{
    long want[] = {503, 503, 200, 200};
    int rule[] = {0, 0, 1, 1};
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(post("/seq", NULL, "{\"n\":1}"), want[i]);
        json_t *d = last_delivery("seq");
        json_t *resp = json_object_get(d, "response");
        ck_assert_int_eq(json_integer_value(json_object_get(resp, "status")), want[i]);
        ck_assert_int_eq(json_integer_value(json_object_get(resp, "rule")), rule[i]);
        ck_assert(json_is_null(json_object_get(resp, "fault")));
        /* the same body each time: one message, attempt i + 1 */
        ck_assert_int_eq(json_integer_value(json_object_get(d, "attempt")), i + 1);
        ck_assert(json_is_string(json_object_get(d, "responded_at")));
        json_decref(d);
    }
}
END_TEST

START_TEST(retry_after_header_and_shaped_answers)
{
    struct wh_response r;
    wh_request(NULL, &srv, "POST", "/ra", NULL, "x", 1, &r);
    ck_assert_int_eq(r.status, 429);
    char *ra = wh_header(&r, "Retry-After");
    ck_assert_ptr_nonnull(ra);
    ck_assert_str_eq(ra, "2");
    free(ra);
    wh_response_free(&r);
    wh_request(NULL, &srv, "POST", "/ra", NULL, "x", 1, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_null(wh_header(&r, "Retry-After"));
    wh_response_free(&r);

    /* a JSON body is sent as JSON, with the rule's headers */
    wh_request(NULL, &srv, "POST", "/shaped", NULL, "x", 1, &r);
    ck_assert_int_eq(r.status, 201);
    ck_assert_str_eq(r.body, "{\"accepted\":true}");
    char *h = wh_header(&r, "X-Test");
    ck_assert_str_eq(h, "yes");
    free(h);
    h = wh_header(&r, "Content-Type");
    ck_assert_str_eq(h, "application/json");
    free(h);
    wh_response_free(&r);
    /* a text body as text; the last rule repeats */
    for (int i = 0; i < 2; i++) {
        wh_request(NULL, &srv, "POST", "/shaped", NULL, "x", 1, &r);
        ck_assert_int_eq(r.status, 410);
        ck_assert_str_eq(r.body, "gone for good");
        h = wh_header(&r, "Content-Type");
        ck_assert_str_eq(h, "text/plain; charset=utf-8");
        free(h);
        wh_response_free(&r);
    }
}
END_TEST

START_TEST(cycle_starts_over)
{
    long want[] = {500, 200, 500, 200, 500};
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(post("/cyc", NULL, "{}"), want[i]);
}
END_TEST

START_TEST(match_by_event_header_and_pointer)
{
    const char *slow[] = {"X-Mode: slow", NULL};
    /* a rule that does not match is skipped without using up its times */
    ck_assert_int_eq(post("/match", NULL, "{\"event\":\"order.created\"}"), 200);
    ck_assert_int_eq(post("/match", NULL, "{\"event\":\"order.failed\"}"), 500);
    ck_assert_int_eq(post("/match", NULL, "{\"event\":\"order.failed\"}"), 200); /* times: 1 */
    ck_assert_int_eq(post("/match", slow, "{\"event\":\"x\"}"), 202);
    ck_assert_int_eq(post("/match", NULL, "{\"id\":\"dup-7\"}"), 409);
    ck_assert_int_eq(post("/match", NULL, "{\"id\":\"new-7\"}"), 200);
    ck_assert_int_eq(post("/match", NULL, "not json"), 200);
    json_t *d = last_delivery("match");
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(d, "response"), "rule")),
                     3);
    json_decref(d);
}
END_TEST

START_TEST(scope_message_with_interleaved_messages)
{
    const char *a[] = {"X-Msg: A", NULL};
    const char *b[] = {"X-Msg: B", NULL};
    long want[] = {503, 503, 503, 503, 200, 200};
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(post("/per-msg", i % 2 ? b : a, i % 2 ? "{\"m\":\"b\"}" : "{\"m\":\"a\"}"),
                         want[i]);
    json_t *v = wh_api(&srv, 200, "/_webhooky/api/messages?endpoint=per-msg");
    json_t *msgs = json_object_get(v, "messages");
    ck_assert_uint_eq(json_array_size(msgs), 2);
    for (size_t i = 0; i < 2; i++) {
        json_t *m = json_array_get(msgs, i);
        ck_assert_str_eq(json_string_value(json_object_get(m, "key")), i ? "B" : "A");
        ck_assert_str_eq(json_string_value(json_object_get(m, "outcome")), "delivered");
        ck_assert_int_eq(json_integer_value(json_object_get(m, "delivered_attempt")), 3);
        json_t *attempts = json_object_get(m, "attempts");
        ck_assert_uint_eq(json_array_size(attempts), 3);
        ck_assert_uint_eq(json_array_size(json_object_get(m, "intervals_ms")), 2);
        for (size_t j = 0; j < 3; j++) {
            json_t *at = json_array_get(attempts, j);
            ck_assert_int_eq(json_integer_value(json_object_get(at, "status")), j < 2 ? 503 : 200);
            if (j == 0)
                ck_assert(json_is_null(json_object_get(at, "since_previous_ms")));
            else
                ck_assert(json_number_value(json_object_get(at, "since_previous_ms")) > 0);
            double iv = j ? json_number_value(json_array_get(json_object_get(m, "intervals_ms"),
                                                             j - 1))
                          : 0;
            if (j)
                ck_assert(iv > 0 && iv < 60000);
        }
    }
    json_decref(v);
    /* each delivery knows its place */
    json_t *d = last_delivery("per-msg");
    ck_assert_int_eq(json_integer_value(json_object_get(d, "attempt")), 3);
    ck_assert_str_eq(json_string_value(json_object_get(d, "message_key")), "B");
    json_decref(d);
}
END_TEST

static bool is_body_key(const char *k)
{
    if (!k || strncmp(k, "body:", 5) != 0 || strlen(k) != 5 + 32)
        return false;
    for (const char *c = k + 5; *c; c++)
        if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f')))
            return false;
    return true;
}

/* Without a message id or key, a message is its body on its path: "body:" and 32 hex digits;
 * the default answer names the delivery's id. */
START_TEST(body_message_key_and_default_answer)
{
    const char *bodies[] = {"{\"n\":1}", "{\"n\":1}", "{\"n\":2}"};
    char *keys[3];
    for (int i = 0; i < 3; i++) {
        struct wh_response r;
        wh_request(NULL, &srv, "POST", "/plain", NULL, bodies[i], strlen(bodies[i]), &r);
        ck_assert_int_eq(r.rc, CURLE_OK);
        ck_assert_int_eq(r.status, 200);
        json_t *d = last_delivery("plain");
        char want[64];
        snprintf(want, sizeof(want), "{\"ok\":true,\"id\":%lld}\n",
                 (long long)json_integer_value(json_object_get(d, "id")));
        ck_assert_str_eq(r.body ? r.body : "", want);
        wh_response_free(&r);
        const char *k = json_string_value(json_object_get(d, "message_key"));
        ck_assert_msg(is_body_key(k), "message_key %s", k ? k : "(null)");
        keys[i] = strdup(k);
        json_decref(d);
    }
    ck_assert_str_eq(keys[0], keys[1]);
    ck_assert_str_ne(keys[0], keys[2]);
    for (int i = 0; i < 3; i++)
        free(keys[i]);
}
END_TEST

/* A delivery's fault, once it is recorded (a hang's is written when it ends). */
static json_t *settled_delivery(const char *endpoint)
{
    for (int i = 0; i < 100; i++) {
        json_t *d = last_delivery(endpoint);
        if (json_is_string(json_object_get(d, "responded_at")))
            return d;
        json_decref(d);
        /* readiness: the row's answer time is written just after the act; a long-poll cannot
         * wait for an update, so look again shortly (bounded) */
        wh_sleep_ms(20);
    }
    ck_abort_msg("the delivery to %s never got its answer time", endpoint);
    return NULL;
}

static void expect_fault(const char *path, const char *endpoint, const char *fault,
                         CURLcode want_rc)
{
    struct wh_response r;
    wh_request(NULL, &srv, "POST", path, NULL, "{\"f\":1}", 7, &r);
    ck_assert_msg(r.rc == want_rc, "%s: curl said '%s' (%d), wanted '%s'", path,
                  curl_easy_strerror(r.rc), r.rc, curl_easy_strerror(want_rc));
    wh_response_free(&r);
    json_t *d = settled_delivery(endpoint);
    json_t *resp = json_object_get(d, "response");
    ck_assert_str_eq(json_string_value(json_object_get(resp, "fault")), fault);
    ck_assert_str_eq(json_string_value(json_object_get(d, "body")), "{\"f\":1}");
    json_decref(d);
}

START_TEST(faults_seen_from_libcurl)
{
    expect_fault("/reset", "reset", "reset", CURLE_RECV_ERROR);
    expect_fault("/close", "close", "close", CURLE_GOT_NOTHING);
    expect_fault("/partial", "partial", "partial", CURLE_PARTIAL_FILE);

    /* bytes that are not HTTP: curl refuses them, without waiting */
    struct wh_response r;
    wh_request(NULL, &srv, "POST", "/malformed", NULL, "{\"f\":1}", 7, &r);
    ck_assert_msg(r.rc == CURLE_UNSUPPORTED_PROTOCOL || r.rc == CURLE_WEIRD_SERVER_REPLY,
                  "malformed: curl said '%s'", curl_easy_strerror(r.rc));
    ck_assert_int_eq(r.status, 0);
    ck_assert_int_lt(r.elapsed_us, 5000000);
    wh_response_free(&r);
    json_t *d = settled_delivery("malformed");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(d, "response"), "fault")),
                     "malformed");
    json_decref(d);

    /* a hang holds until the client gives up; the record says how long that was */
    wh_request_timeout(NULL, &srv, "POST", "/hang", NULL, "{\"f\":1}", 7, 500, &r);
    ck_assert_msg(r.rc == CURLE_OPERATION_TIMEDOUT, "hang: curl said '%s'",
                  curl_easy_strerror(r.rc));
    wh_response_free(&r);
    d = settled_delivery("hang");
    json_t *resp = json_object_get(d, "response");
    ck_assert_str_eq(json_string_value(json_object_get(resp, "fault")), "hang");
    ck_assert(json_is_null(json_object_get(resp, "status")));
    json_int_t held = json_integer_value(json_object_get(resp, "delay_ms"));
    ck_assert_msg(held >= 450 && held < 5000, "the hang was recorded as %lld ms", (long long)held);
    json_decref(d);

    /* ... or until hang_max_ms, then the connection is closed */
    wh_request(NULL, &srv, "POST", "/hang-short", NULL, "x", 1, &r);
    ck_assert_msg(r.rc == CURLE_GOT_NOTHING, "hang-short: curl said '%s'",
                  curl_easy_strerror(r.rc));
    ck_assert_int_ge(r.elapsed_us, 290000);
    wh_response_free(&r);

    /* a dribble is a complete answer, slowly */
    wh_request(NULL, &srv, "POST", "/dribble", NULL, "x", 1, &r);
    ck_assert_int_eq(r.rc, CURLE_OK);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "0123456789abcdefghijklmnopqrstuvwxyz");
    ck_assert_msg(r.elapsed_us >= 500000, "the dribble took only %lld us",
                  (long long)r.elapsed_us);
    wh_response_free(&r);
    d = settled_delivery("dribble");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(d, "response"), "fault")),
                     "dribble");
    json_decref(d);

    /* the metrics count them by endpoint and fault */
    wh_request(NULL, &srv, "GET", "/_webhooky/metrics", NULL, NULL, 0, &r);
    ck_assert_int_eq(r.status, 200);
    static const char *const counted[] = {
        "webhooky_scripted_faults_total{endpoint=\"reset\",fault=\"reset\"} 1",
        "webhooky_scripted_faults_total{endpoint=\"close\",fault=\"close\"} 1",
        "webhooky_scripted_faults_total{endpoint=\"partial\",fault=\"partial\"} 1",
        "webhooky_scripted_faults_total{endpoint=\"malformed\",fault=\"malformed\"} 1",
        "webhooky_scripted_faults_total{endpoint=\"hang\",fault=\"hang\"} 1",
        "webhooky_scripted_faults_total{endpoint=\"dribble\",fault=\"dribble\"} 1",
    };
    for (size_t i = 0; i < sizeof(counted) / sizeof(counted[0]); i++)
        ck_assert_msg(strstr(r.body, counted[i]) != NULL, "metrics lack '%s':\n%s", counted[i],
                      r.body);
    wh_response_free(&r);
}
END_TEST

START_TEST(delay_is_applied_and_recorded)
{
    struct wh_response r;
    wh_request(NULL, &srv, "POST", "/slow", NULL, "x", 1, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_msg(r.elapsed_us >= 300000 && r.elapsed_us < 1500000, "answered after %lld us",
                  (long long)r.elapsed_us);
    wh_response_free(&r);
    json_t *d = settled_delivery("slow");
    json_int_t delay = json_integer_value(json_object_get(json_object_get(d, "response"),
                                                          "delay_ms"));
    ck_assert_msg(delay >= 300 && delay < 1500, "recorded delay %lld ms", (long long)delay);
    json_decref(d);
}
END_TEST

/* A sender whose timeout is shorter than the delay gets nothing, and the record says so: no
 * status, the time it waited, and the message still failing. */
START_TEST(client_gone_during_a_delay)
{
    struct wh_response r;
    wh_request_timeout(NULL, &srv, "POST", "/slower", NULL, "{\"t\":1}", 7, 500, &r);
    ck_assert_msg(r.rc == CURLE_OPERATION_TIMEDOUT, "curl said '%s'", curl_easy_strerror(r.rc));
    wh_response_free(&r);
    json_t *d = settled_delivery("slower");
    json_t *resp = json_object_get(d, "response");
    ck_assert(json_is_null(json_object_get(resp, "status")));
    ck_assert(json_is_null(json_object_get(resp, "fault")));
    json_int_t held = json_integer_value(json_object_get(resp, "delay_ms"));
    ck_assert_msg(held >= 450 && held < 2000, "held %lld ms", (long long)held);
    json_decref(d);
    json_t *v = wh_api(&srv, 200, "/_webhooky/api/messages?endpoint=slower");
    json_t *m = json_array_get(json_object_get(v, "messages"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(m, "outcome")), "failing");
    json_decref(v);
}
END_TEST

static json_t *put_script(const char *endpoint, const char *body, long want)
{
    struct wh_response r;
    char path[128];
    snprintf(path, sizeof(path), "/_webhooky/api/endpoints/%s/responses", endpoint);
    wh_request(NULL, &srv, "PUT", path, NULL, body, strlen(body), &r);
    ck_assert_msg(r.status == want, "PUT %s: %ld %s", path, r.status, r.body);
    json_t *v = json_loads(r.body, 0, NULL);
    ck_assert_ptr_nonnull(v);
    wh_response_free(&r);
    return v;
}

START_TEST(runtime_api_switches_scripts)
{
    ck_assert_int_eq(post("/plain", NULL, "{}"), 200);
    /* down ... */
    json_t *e = put_script("plain", "503", 200);
    ck_assert_str_eq(json_string_value(json_object_get(e, "name")), "plain");
    json_decref(e);
    ck_assert_int_eq(post("/plain", NULL, "{}"), 503);
    ck_assert_int_eq(post("/plain", NULL, "{}"), 503);
    /* ... and the counters show it */
    json_t *all = wh_api(&srv, 200, "/_webhooky/api/endpoints");
    json_t *eps = json_object_get(all, "endpoints");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(eps, 0), "name")), "-");
    size_t i;
    json_t *ep;
    bool found = false;
    json_array_foreach(eps, i, ep) {
        if (strcmp(json_string_value(json_object_get(ep, "name")), "plain") != 0)
            continue;
        found = true;
        json_t *resp = json_object_get(ep, "responses");
        ck_assert_int_eq(json_integer_value(json_object_get(resp, "deliveries")), 2);
        json_t *rule0 = json_array_get(json_object_get(resp, "rules"), 0);
        ck_assert_int_eq(json_integer_value(json_object_get(rule0, "used")), 2);
    }
    ck_assert(found);
    json_decref(all);
    /* JSON rules, and a reset starts the sequence over */
    json_decref(put_script("plain", "[{\"status\": 500, \"times\": 1}, {\"status\": 204}]", 200));
    ck_assert_int_eq(post("/plain", NULL, "{}"), 500);
    ck_assert_int_eq(post("/plain", NULL, "{}"), 204);
    struct wh_response r;
    wh_request(NULL, &srv, "POST", "/_webhooky/api/endpoints/plain/reset", NULL, "", 0, &r);
    ck_assert_int_eq(r.status, 200);
    wh_response_free(&r);
    ck_assert_int_eq(post("/plain", NULL, "{}"), 500);
    /* a bad spec is refused with its position, and the old script stays */
    e = put_script("plain", "503x2,", 400);
    const char *msg = json_string_value(json_object_get(e, "error"));
    ck_assert_msg(msg && strstr(msg, "position 7"), "error: %s", msg ? msg : "(none)");
    json_decref(e);
    ck_assert_int_eq(post("/plain", NULL, "{}"), 204);
    /* healthy again */
    wh_request(NULL, &srv, "DELETE", "/_webhooky/api/endpoints/plain/responses", NULL, NULL, 0,
               &r);
    ck_assert_int_eq(r.status, 200);
    wh_response_free(&r);
    ck_assert_int_eq(post("/plain", NULL, "{}"), 200);
    /* the catch-all is "-"; unknown names are 404 */
    json_decref(put_script("-", "418", 200));
    ck_assert_int_eq(post("/nowhere", NULL, "{}"), 418);
    json_decref(put_script("nope", "200", 404));
}
END_TEST

START_TEST(messages_cli)
{
    /* two attempts of one message on the catch-all, as the CLI shows them */
    json_decref(put_script("-", "503x1,200", 200));
    ck_assert_int_eq(post("/cli", NULL, "{\"id\":\"m1\"}"), 503);
    ck_assert_int_eq(post("/cli", NULL, "{\"id\":\"m1\"}"), 200);
    struct wh_run run;
    wh_run(&run, NULL, 10000, "deliveries", "messages", "--db", srv.db, "--endpoint", "-", NULL);
    ck_assert_msg(run.status == 0, "exit %d: %s", run.status, run.err);
    ck_assert_msg(strstr(run.out, "delivered") && strstr(run.out, "503  +") &&
                      strstr(run.out, "1 messages"),
                  "output:\n%s", run.out);
    wh_run_free(&run);
    wh_run(&run, NULL, 10000, "deliveries", "messages", "--db", srv.db, "--json", NULL);
    ck_assert_int_eq(run.status, 0);
    json_t *v = json_loads(run.out, 0, NULL);
    ck_assert(json_is_array(v));
    json_decref(v);
    wh_run_free(&run);
}
END_TEST

/* GET /api/messages answers at most 1000 messages unless asked for fewer. */
START_TEST(messages_are_bounded_by_default)
{
    CURL *h = wh_curl();
    for (int i = 0; i < 1001; i++) {
        char body[32];
        int n = snprintf(body, sizeof(body), "{\"n\":%d}", i);
        struct wh_response r;
        wh_request(h, &srv, "POST", "/plain", NULL, body, (size_t)n, &r);
        ck_assert_int_eq(r.status, 200);
        wh_response_free(&r);
    }
    curl_easy_cleanup(h);
    json_t *v = wh_api(&srv, 200, "/_webhooky/api/messages?endpoint=plain");
    ck_assert_uint_eq(json_array_size(json_object_get(v, "messages")), 1000);
    json_decref(v);
    v = wh_api(&srv, 200, "/_webhooky/api/messages?endpoint=plain&limit=3");
    ck_assert_uint_eq(json_array_size(json_object_get(v, "messages")), 3);
    json_decref(v);
}
END_TEST

/* The start-up summary names each endpoint's script; captured text in it is escaped. */
START_TEST(summary_shows_scripts)
{
    char *d = wh_tmpdir();
    char *cfg = wh_path(d, "s.json");
    wh_write_file(cfg, "{\"endpoints\": [{\"name\": \"seq\", \"path\": \"/seq\", "
                       "\"responses\": \"503x2,200\"}, {\"name\": \"rules\", \"path\": "
                       "\"/r\\u001b[31m\", \"responses\": [{\"status\": 500}, {\"status\": 200}]}]}");
    struct wh_run run;
    /* serve runs until stopped: its summary is printed at once, then it is killed */
    wh_run(&run, NULL, 3000, "serve", "--listen", "127.0.0.1:0", "--db", ":memory:", "--config",
           cfg, NULL);
    ck_assert_msg(strstr(run.out, "responses 503x2,200") != NULL, "stdout:\n%s", run.out);
    ck_assert_msg(strstr(run.out, "responses (2 rules)") != NULL, "stdout:\n%s", run.out);
    ck_assert_msg(strstr(run.out, "/r\\e[31m") != NULL && !strchr(run.out, '\x1b'),
                  "stdout:\n%s", run.out);
    wh_run_free(&run);
    free(cfg);
    wh_tmpdir_remove(d);
}
END_TEST

START_TEST(respond_flag_and_environment)
{
    char *d = wh_tmpdir();
    char *db = wh_path(d, "f.db");
    struct wh_server s2;
    const char *args[] = {"--respond", "410", NULL};
    const char *env[] = {"WEBHOOKY_RESPOND=418", NULL};
    /* the flag wins over the environment */
    wh_server_start(&s2, d, db, args, env);
    struct wh_response r;
    wh_request(NULL, &s2, "POST", "/any", NULL, "x", 1, &r);
    ck_assert_int_eq(r.status, 410);
    wh_response_free(&r);
    wh_server_finish(&s2);
    wh_server_start(&s2, d, db, NULL, env);
    wh_request(NULL, &s2, "POST", "/any", NULL, "x", 1, &r);
    ck_assert_int_eq(r.status, 418);
    wh_response_free(&r);
    wh_server_finish(&s2);

    /* a bad spec: exit 2, the position named */
    struct wh_run run;
    wh_run(&run, NULL, 10000, "serve", "--listen", "127.0.0.1:0", "--db", db, "--respond",
           "503x", NULL);
    ck_assert_int_eq(run.status, 2);
    ck_assert_msg(strstr(run.err, "--respond") && strstr(run.err, "position 5"), "stderr: %s",
                  run.err);
    wh_run_free(&run);

    /* in a config: FILE:LINE:COL and the key path */
    char *cfg = wh_path(d, "bad.json");
    wh_write_file(cfg, "{\"endpoints\": [\n  {\"name\": \"a\", \"path\": \"/a\",\n"
                       "   \"responses\": \"200,teapot\"}\n]}\n");
    wh_run(&run, NULL, 10000, "serve", "--listen", "127.0.0.1:0", "--db", db, "--config", cfg,
           NULL);
    ck_assert_int_eq(run.status, 2);
    ck_assert_msg(strstr(run.err, "bad.json:3:") && strstr(run.err, "responses") &&
                      strstr(run.err, "position 5"),
                  "stderr: %s", run.err);
    wh_run_free(&run);
    free(cfg);
    free(db);
    wh_tmpdir_remove(d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("responses");
    TCase *tc = wh_tcase("scripts", 60);
    tcase_add_checked_fixture(tc, start, stop);
    tcase_add_test(tc, sequence_with_times);
    tcase_add_test(tc, retry_after_header_and_shaped_answers);
    tcase_add_test(tc, cycle_starts_over);
    tcase_add_test(tc, match_by_event_header_and_pointer);
    tcase_add_test(tc, scope_message_with_interleaved_messages);
    tcase_add_test(tc, body_message_key_and_default_answer);
    tcase_add_test(tc, faults_seen_from_libcurl);
    tcase_add_test(tc, delay_is_applied_and_recorded);
    tcase_add_test(tc, client_gone_during_a_delay);
    tcase_add_test(tc, runtime_api_switches_scripts);
    tcase_add_test(tc, messages_cli);
    tcase_add_test(tc, messages_are_bounded_by_default);
    suite_add_tcase(s, tc);
    TCase *t2 = wh_tcase("flags", 60);
    tcase_add_test(t2, respond_flag_and_environment);
    tcase_add_test(t2, summary_shows_scripts);
    suite_add_tcase(s, t2);
    return wh_run_suite(s);
}
