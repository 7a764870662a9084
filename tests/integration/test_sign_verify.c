/* webhooky sign and webhooky verify: what sign prints verifies for every scheme (as --header
 * arguments and as a --headers file), a tampered body or a stale timestamp is refused with its
 * reason and exit 1, usage errors exit 2, and a delivery captured by a running server re-checks
 * from the database with its timestamp judged as of receipt. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

#define RUN_MS 30000
#define MAX_ARGS 64

static char *dir;

static void setup(void)
{
    dir = wh_tmpdir();
}

static void teardown(void)
{
    wh_tmpdir_remove(dir);
}

struct scheme {
    const char *name;
    const char *secret;
    const char *const options[6]; /* extra arguments (--option ...), NULL-terminated */
};

static const struct scheme schemes[] = {
    {"twenty", "twenty-secret", {NULL}},
    {"standard-webhooks", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", {NULL}},
    {"github", "It's a Secret to Everybody", {"--option", "allow_sha1=true", NULL}},
    {"stripe", "whsec_5WbX5kEWLlfzsGNjH64I8lOOqUB6e8FH", {NULL}},
    {"slack", "8f742231b10e8888abcd99yyyzzz85a5", {NULL}},
    {"shopify", "shpss_0a1b2c3d4e5f", {NULL}},
    {"hmac",
     "generic-secret",
     {"--option", "header=X-Signature", "--option", "template={timestamp}.{body}", "--option",
      "timestamp_header=X-Timestamp"}},
};
#define N_SCHEMES (sizeof(schemes) / sizeof(schemes[0]))

static const char body_text[] =
    "{\"event\":\"order.paid\",\"data\":{\"id\":\"ord_1\",\"total\":42}}";

/* An argument list under construction. */
struct args {
    const char *v[MAX_ARGS];
    size_t n;
};

static void push(struct args *a, const char *s)
{
    ck_assert_uint_lt(a->n, MAX_ARGS - 1);
    a->v[a->n++] = s;
    a->v[a->n] = NULL;
}

static void push_scheme(struct args *a, const char *cmd, const struct scheme *s)
{
    push(a, cmd);
    push(a, "--scheme");
    push(a, s->name);
    push(a, "--secret");
    push(a, s->secret);
    for (size_t i = 0; i < 6 && s->options[i]; i++)
        push(a, s->options[i]);
}

static void run_args(struct wh_run *r, const struct args *a)
{
    wh_runv(r, NULL, RUN_MS, a->v);
}

/* `webhooky sign` for scheme s over the body in file body; the output (malloc'd). */
static char *sign(const struct scheme *s, const char *body, const char *timestamp)
{
    struct args a = {0};
    push_scheme(&a, "sign", s);
    push(&a, "--body");
    push(&a, body);
    if (timestamp) {
        push(&a, "--timestamp");
        push(&a, timestamp);
    }
    struct wh_run r;
    run_args(&r, &a);
    ck_assert_msg(r.status == 0, "sign %s: exit %d: %s", s->name, r.status, r.err);
    ck_assert_msg(r.out_len > 0 && r.out[r.out_len - 1] == '\n', "sign %s: output '%s'", s->name,
                  r.out);
    char *out = strdup(r.out);
    wh_run_free(&r);
    return out;
}

/* `webhooky verify` with each line of headers as a --header. */
static void verify_lines(struct wh_run *r, const struct scheme *s, const char *headers,
                         const char *body, const char *const *extra)
{
    struct args a = {0};
    char *copy = strdup(headers);
    ck_assert_ptr_nonnull(copy);
    push_scheme(&a, "verify", s);
    for (char *line = copy, *nl; *line; line = nl + 1) {
        nl = strchr(line, '\n');
        ck_assert_ptr_nonnull(nl);
        *nl = '\0';
        push(&a, "--header");
        push(&a, line);
    }
    push(&a, "--body");
    push(&a, body);
    for (; extra && *extra; extra++)
        push(&a, *extra);
    run_args(r, &a);
    free(copy);
}

static char *write_body(const char *name, const char *text)
{
    char *path = wh_path(dir, name);
    wh_write_file(path, text);
    return path;
}

START_TEST(sign_then_verify)
{
    const struct scheme *s = &schemes[_i];
    char *body = write_body("body.json", body_text);
    char *headers = sign(s, body, NULL);
    struct wh_run r;
    verify_lines(&r, s, headers, body, NULL);
    ck_assert_msg(r.status == 0, "verify %s: exit %d\n%s%s", s->name, r.status, r.out, r.err);
    char want[64];
    snprintf(want, sizeof(want), "valid (%s): ", strcmp(s->name, "hmac") ? s->name : "hmac");
    ck_assert_msg(strncmp(r.out, want, strlen(want)) == 0, "verify %s: '%s'", s->name, r.out);
    wh_run_free(&r);

    /* the same through a --headers file, as written by sign */
    char *hfile = wh_path(dir, "headers.txt");
    wh_write_file(hfile, headers);
    struct args a = {0};
    push_scheme(&a, "verify", s);
    push(&a, "--headers");
    push(&a, hfile);
    push(&a, "--body");
    push(&a, body);
    push(&a, "--json");
    run_args(&r, &a);
    ck_assert_msg(r.status == 0, "verify --headers %s: exit %d\n%s%s", s->name, r.status, r.out,
                  r.err);
    json_t *v = json_loads(r.out, 0, NULL);
    ck_assert_msg(v != NULL, "not JSON: %s", r.out);
    ck_assert_str_eq(json_string_value(json_object_get(v, "status")), "valid");
    ck_assert_int_eq(json_integer_value(json_object_get(v, "secret_index")), 0);
    json_decref(v);
    wh_run_free(&r);

    /* one byte of the body changed: exit 1 with the reason */
    char tampered[sizeof(body_text)];
    memcpy(tampered, body_text, sizeof(body_text));
    tampered[sizeof(body_text) - 4] = '3';
    char *bad = write_body("tampered.json", tampered);
    verify_lines(&r, s, headers, bad, NULL);
    ck_assert_msg(r.status == 1, "tampered %s: exit %d\n%s%s", s->name, r.status, r.out, r.err);
    ck_assert_msg(strncmp(r.out, "invalid (", 9) == 0 && strstr(r.out, "does not match"),
                  "tampered %s: '%s'", s->name, r.out);
    wh_run_free(&r);
    free(bad);
    free(hfile);
    free(headers);
    free(body);
}
END_TEST

/* A timestamp outside the window: expired, exit 1; --ignore-timestamp accepts it. */
START_TEST(stale_timestamp)
{
    const struct scheme *s = &schemes[1]; /* standard-webhooks: seconds */
    char *body = write_body("body.json", body_text);
    char ts[32];
    snprintf(ts, sizeof(ts), "%lld", (long long)time(NULL) - 1000);
    char *headers = sign(s, body, ts);
    struct wh_run r;
    verify_lines(&r, s, headers, body, NULL);
    ck_assert_msg(r.status == 1 &&
                      strncmp(r.out, "expired (standard-webhooks): timestamp ", 39) == 0 &&
                      strstr(r.out, "s older than the 300 s tolerance; the signature itself "
                                    "matches secrets[0]"),
                  "exit %d: %s%s", r.status, r.out, r.err);
    wh_run_free(&r);
    verify_lines(&r, s, headers, body, (const char *const[]){"--ignore-timestamp", NULL});
    ck_assert_msg(r.status == 0, "exit %d: %s%s", r.status, r.out, r.err);
    wh_run_free(&r);
    verify_lines(&r, s, headers, body, (const char *const[]){"--tolerance", "2000", NULL});
    ck_assert_msg(r.status == 0, "exit %d: %s%s", r.status, r.out, r.err);
    wh_run_free(&r);
    free(headers);
    free(body);
}
END_TEST

/* Published vectors through the CLI, with --timestamp, --id and --now. */
START_TEST(published_vectors)
{
    struct wh_run r;
    wh_run(&r, NULL, RUN_MS, "sign", "--scheme", "standard-webhooks", "--secret",
           "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "--data", "{\"test\": 2432232314}",
           "--timestamp", "1614265330", "--id", "msg_p5jXN8AQM9LWM0D4loKWxJek", NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    ck_assert_str_eq(r.out, "webhook-id: msg_p5jXN8AQM9LWM0D4loKWxJek\n"
                            "webhook-timestamp: 1614265330\n"
                            "webhook-signature: v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=\n");
    wh_run_free(&r);

    wh_run(&r, NULL, RUN_MS, "verify", "--scheme", "twenty", "--secret", "test-webhook-secret",
           "--header", "X-Twenty-Webhook-Timestamp: 1735066639761", "--header",
           "X-Twenty-Webhook-Signature: "
           "a420a5c5be138e8d879c4971799f3af0c9d03136c35fe9edb6afa6210374cc21",
           "--now", "1735066639761", "--data",
           "{\"targetUrl\":\"https://arxena.com/test-webhook/webhook\",\"eventName\":"
           "\"opportunity.created\",\"objectMetadata\":{\"id\":\"370985db-22d8-4463-8e5f-"
           "2271d30913bd\",\"nameSingular\":\"opportunity\"},\"workspaceId\":\"872cfcf1-c79f-"
           "42bc-877d-5829f06eb3f9\",\"webhookId\":\"90056586-1228-4e03-a507-70140aa85c05\","
           "\"eventDate\":\"2024-02-14T11:27:01.779Z\",\"record\":{\"id\":\"record-id\",\"name\":"
           "\"New opportunity\"}}",
           NULL);
    ck_assert_msg(r.status == 1 && strstr(r.out, "JSON-encoded twice (Twenty docs example)"),
                  "exit %d: %s%s", r.status, r.out, r.err);
    wh_run_free(&r);

    wh_run(&r, NULL, RUN_MS, "sign", "--scheme", "github", "--secret", "It's a Secret to Everybody",
           "--data", "Hello, World!", "--id", "d1", NULL);
    ck_assert_str_eq(r.out,
                     "X-GitHub-Delivery: d1\nX-Hub-Signature-256: "
                     "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17\n");
    wh_run_free(&r);
}
END_TEST

/* Rotation from a secret file: the second secret matches. */
START_TEST(secret_file_rotation)
{
    char *secrets = wh_path(dir, "secrets.txt");
    wh_write_file(secrets, "old-secret\r\n\nnew-secret\n");
    struct wh_run r;
    wh_run(&r, NULL, RUN_MS, "sign", "--scheme", "shopify", "--secret", "new-secret", "--data", "x",
           NULL);
    ck_assert_int_eq(r.status, 0);
    char *nl = strchr(r.out, '\n');
    ck_assert_ptr_nonnull(nl);
    char *sig = strstr(r.out, "X-Shopify-Hmac-Sha256: ");
    ck_assert_ptr_nonnull(sig);
    sig[strcspn(sig, "\n")] = '\0';
    struct wh_run v;
    wh_run(&v, NULL, RUN_MS, "verify", "--scheme", "shopify", "--secret-file", secrets, "--header",
           sig, "--data", "x", NULL);
    ck_assert_msg(v.status == 0 && strstr(v.out, "matches secrets[1]"), "exit %d: %s%s", v.status,
                  v.out, v.err);
    wh_run_free(&v);
    wh_run_free(&r);
    free(secrets);
}
END_TEST

/* Missing and garbage headers are verdicts (exit 1), not usage errors. */
START_TEST(missing_and_garbage)
{
    struct wh_run r;
    wh_run(&r, NULL, RUN_MS, "verify", "--scheme", "stripe", "--secret", "whsec_x", "--data", "{}",
           NULL);
    ck_assert_msg(r.status == 1 &&
                      strncmp(r.out, "missing (stripe): no Stripe-Signature header", 44) == 0,
                  "exit %d: %s", r.status, r.out);
    wh_run_free(&r);
    wh_run(&r, NULL, RUN_MS, "verify", "--scheme", "stripe", "--secret", "whsec_x", "--header",
           "Stripe-Signature: \x1b[31mnonsense", "--data", "{}", NULL);
    ck_assert_msg(r.status == 1 && strncmp(r.out,
                                           "malformed (stripe): Stripe-Signature part 1 "
                                           "'\\x1b[31mnonsense' is not key=value",
                                           70) == 0,
                  "exit %d: %s", r.status, r.out);
    ck_assert_ptr_null(strchr(r.out, '\x1b'));
    wh_run_free(&r);
}
END_TEST

/* Usage errors: exit 2, a message naming the problem, the usage. */
static void expect_usage(const char *want, const char *const *args)
{
    struct wh_run r;
    wh_runv(&r, NULL, RUN_MS, args);
    ck_assert_msg(r.status == 2, "%s %s: exit %d, expected 2: %s%s", args[0], args[1], r.status,
                  r.out, r.err);
    ck_assert_msg(strstr(r.err, want) != NULL, "%s: stderr '%s' does not mention '%s'", args[0],
                  r.err, want);
    ck_assert_msg(strstr(r.err, "usage: webhooky ") != NULL, "no usage in '%s'", r.err);
    wh_run_free(&r);
}

START_TEST(usage_errors)
{
    expect_usage("missing --scheme", (const char *const[]){"sign", "--secret", "x", NULL});
    expect_usage("missing --secret", (const char *const[]){"verify", "--scheme", "github", NULL});
    expect_usage("--scheme: unknown scheme 'gitlab'",
                 (const char *const[]){"sign", "--scheme", "gitlab", "--secret", "x", NULL});
    expect_usage("secret 2: secret must start with whsec_ and be base64",
                 (const char *const[]){"verify", "--scheme", "standard-webhooks", "--secret",
                                       "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "--secret",
                                       "plain", NULL});
    expect_usage("--option colour: unknown key for the github scheme",
                 (const char *const[]){"sign", "--scheme", "github", "--secret", "x", "--option",
                                       "colour=red", NULL});
    expect_usage("--option must be KEY=VALUE",
                 (const char *const[]){"sign", "--scheme", "github", "--secret", "x", "--option",
                                       "allow_sha1", NULL});
    expect_usage("missing required key 'header'",
                 (const char *const[]){"sign", "--scheme", "hmac", "--secret", "x", "--option",
                                       "template={body}", NULL});
    expect_usage("--timestamp: github signatures carry no timestamp",
                 (const char *const[]){"sign", "--scheme", "github", "--secret", "x", "--timestamp",
                                       "5", NULL});
    expect_usage("--timestamp must be a whole number",
                 (const char *const[]){"sign", "--scheme", "slack", "--secret", "x", "--timestamp",
                                       "soon", NULL});
    expect_usage("--header must be 'Name: value'",
                 (const char *const[]){"verify", "--scheme", "github", "--secret", "x", "--header",
                                       "no colon here", NULL});
    expect_usage("--db needs --delivery",
                 (const char *const[]){"verify", "--scheme", "github", "--secret", "x", "--db",
                                       "x.db", NULL});
    expect_usage("drop --header",
                 (const char *const[]){"verify", "--scheme", "github", "--secret", "x",
                                       "--delivery", "1", "--data", "x", NULL});
    expect_usage("--tolerance must be a whole number from 0 to 31536000",
                 (const char *const[]){"verify", "--scheme", "slack", "--secret", "x",
                                       "--tolerance", "-1", NULL});
    expect_usage("not both", (const char *const[]){"verify", "--scheme", "slack", "--secret", "x",
                                                   "--tolerance", "1", "--ignore-timestamp", NULL});
    expect_usage("--body or --data, not both",
                 (const char *const[]){"sign", "--scheme", "slack", "--secret", "x", "--body", "f",
                                       "--data", "x", NULL});
    expect_usage("unknown option '--colour'", (const char *const[]){"verify", "--colour", NULL});
    expect_usage(
        "unexpected argument 'extra'",
        (const char *const[]){"sign", "--scheme", "slack", "--secret", "x", "extra", NULL});
    expect_usage("option '--secret' needs a value",
                 (const char *const[]){"sign", "--secret", NULL});
    expect_usage("--delivery must be a whole number",
                 (const char *const[]){"verify", "--scheme", "github", "--secret", "x",
                                       "--delivery", "abc", NULL});

    /* unreadable inputs */
    struct wh_run r;
    wh_run(&r, NULL, RUN_MS, "sign", "--scheme", "github", "--secret", "x", "--body",
           "/nonexistent/body.json", NULL);
    ck_assert_msg(r.status == 2 && strstr(r.err, "cannot open /nonexistent/body.json"), "%d %s",
                  r.status, r.err);
    wh_run_free(&r);
    wh_run(&r, NULL, RUN_MS, "verify", "--scheme", "github", "--secret-file", "/nonexistent/s",
           NULL);
    ck_assert_msg(r.status == 2 && strstr(r.err, "cannot open /nonexistent/s"), "%d %s", r.status,
                  r.err);
    wh_run_free(&r);
}
END_TEST

START_TEST(help)
{
    const char *const cmds[] = {"sign", "verify"};
    for (size_t i = 0; i < 2; i++) {
        struct wh_run r;
        wh_run(&r, NULL, RUN_MS, cmds[i], "--help", NULL);
        ck_assert_int_eq(r.status, 0);
        ck_assert_msg(strncmp(r.out, "usage: webhooky ", 16) == 0, "%s", r.out);
        wh_run_free(&r);
        wh_run(&r, NULL, RUN_MS, "help", cmds[i], NULL);
        ck_assert_int_eq(r.status, 0);
        ck_assert(strstr(r.out, "--scheme") != NULL);
        wh_run_free(&r);
    }
    struct wh_run r;
    wh_run(&r, NULL, RUN_MS, "--help", NULL);
    ck_assert(strstr(r.out, "  sign ") && strstr(r.out, "  verify "));
    wh_run_free(&r);
}
END_TEST

/* Deliveries captured by a running server, re-checked from its database. */
START_TEST(stored_delivery)
{
    char *db = wh_path(dir, "sig.db");
    struct wh_server srv;
    wh_server_start(&srv, dir, db, (const char *const[]){"--quiet", NULL}, NULL);

    /* a Standard Webhooks delivery signed 200 s ago: fine when it arrived, so fine later */
    char *body = write_body("body.json", body_text);
    char ts[32];
    snprintf(ts, sizeof(ts), "%lld", (long long)time(NULL) - 200);
    char *lines = sign(&schemes[1], body, ts);
    const char *hdrs[8] = {0};
    size_t n = 0;
    for (char *line = lines, *nl; *line && n < 7; line = nl + 1) {
        nl = strchr(line, '\n');
        *nl = '\0';
        hdrs[n++] = line;
    }
    struct wh_response resp;
    wh_request(NULL, &srv, "POST", "/hooks/sw", hdrs, body_text, strlen(body_text), &resp);
    ck_assert_int_eq(resp.status, 200);
    json_t *ok = json_loadb(resp.body, resp.body_len, 0, NULL);
    int64_t id_good = json_integer_value(json_object_get(ok, "id"));
    json_decref(ok);
    wh_response_free(&resp);
    /* the same headers with another body */
    wh_request(NULL, &srv, "POST", "/hooks/sw", hdrs, "{}", 2, &resp);
    ck_assert_int_eq(resp.status, 200);
    ok = json_loadb(resp.body, resp.body_len, 0, NULL);
    int64_t id_bad = json_integer_value(json_object_get(ok, "id"));
    json_decref(ok);
    wh_response_free(&resp);
    wh_server_finish(&srv);

    char id[32];
    snprintf(id, sizeof(id), "%lld", (long long)id_good);
    struct wh_run r;
    wh_run(&r, NULL, RUN_MS, "verify", "--db", db, "--delivery", id, "--scheme",
           "standard-webhooks", "--secret", schemes[1].secret, NULL);
    ck_assert_msg(r.status == 0, "exit %d: %s%s", r.status, r.out, r.err);
    char want[128];
    snprintf(want, sizeof(want), "delivery %s\nvalid (standard-webhooks): ", id);
    ck_assert_msg(strncmp(r.out, want, strlen(want)) == 0, "%s", r.out);
    ck_assert_msg(strstr(r.out, "message_id: msg_") != NULL, "%s", r.out);
    wh_run_free(&r);

    snprintf(id, sizeof(id), "%lld", (long long)id_bad);
    wh_run(&r, NULL, RUN_MS, "verify", "--db", db, "--delivery", id, "--scheme",
           "standard-webhooks", "--secret", schemes[1].secret, "--ignore-timestamp", "--json",
           NULL);
    ck_assert_msg(r.status == 1, "exit %d: %s%s", r.status, r.out, r.err);
    json_t *v = json_loads(r.out, 0, NULL);
    ck_assert_str_eq(json_string_value(json_object_get(v, "status")), "invalid");
    ck_assert_int_eq(json_integer_value(json_object_get(v, "delivery")), id_bad);
    json_decref(v);
    wh_run_free(&r);

    wh_run(&r, NULL, RUN_MS, "verify", "--db", db, "--delivery", "999", "--scheme", "github",
           "--secret", "x", NULL);
    ck_assert_msg(r.status == 1, "exit %d: %s%s", r.status, r.out, r.err);
    wh_run_free(&r);
    char *missing = wh_path(dir, "none.db");
    wh_run(&r, NULL, RUN_MS, "verify", "--db", missing, "--delivery", "1", "--scheme", "github",
           "--secret", "x", NULL);
    ck_assert_msg(r.status == 3, "exit %d: %s%s", r.status, r.out, r.err);
    wh_run_free(&r);
    free(missing);
    free(lines);
    free(body);
    free(db);
}
END_TEST

/* The receiver verifies every delivery as it arrives: one endpoint per scheme, verdicts in the
 * API, the list column and the metrics; reject_invalid answers 401; a Twenty nonce sent twice
 * is called a replay. */
static const char receiver_config[] =
    "{\"endpoints\": ["
    "{\"name\": \"twenty\", \"path\": \"/s/twenty\", \"signature\": {\"scheme\": \"twenty\","
    " \"secrets\": [\"other\", \"twenty-secret\"]}},"
    "{\"name\": \"standard-webhooks\", \"path\": \"/s/standard-webhooks\", \"signature\":"
    " {\"scheme\": \"standard-webhooks\", \"secrets\": [\"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"]}},"
    "{\"name\": \"github\", \"path\": \"/s/github\", \"signature\": {\"scheme\": \"github\","
    " \"secrets\": [\"It's a Secret to Everybody\"], \"allow_sha1\": true}},"
    "{\"name\": \"stripe\", \"path\": \"/s/stripe\", \"signature\": {\"scheme\": \"stripe\","
    " \"secrets\": [\"whsec_5WbX5kEWLlfzsGNjH64I8lOOqUB6e8FH\"]}},"
    "{\"name\": \"slack\", \"path\": \"/s/slack\", \"signature\": {\"scheme\": \"slack\","
    " \"secrets\": [\"8f742231b10e8888abcd99yyyzzz85a5\"]}},"
    "{\"name\": \"shopify\", \"path\": \"/s/shopify\", \"signature\": {\"scheme\": \"shopify\","
    " \"secrets\": [\"shpss_0a1b2c3d4e5f\"]}},"
    "{\"name\": \"hmac\", \"path\": \"/s/hmac\", \"signature\": {\"scheme\": \"hmac\","
    " \"secrets\": [\"generic-secret\"], \"header\": \"X-Signature\","
    " \"template\": \"{timestamp}.{body}\", \"timestamp_header\": \"X-Timestamp\"}},"
    "{\"name\": \"strict\", \"path\": \"/s/strict\", \"reject_invalid\": true,"
    " \"signature\": {\"scheme\": \"github\", \"secrets\": [\"It's a Secret to Everybody\"]}}"
    "]}";

/* Split `webhooky sign` output into a NULL-terminated header list (pointers into lines). */
static void split_lines(char *lines, const char **hdrs, size_t max)
{
    size_t n = 0;
    for (char *line = lines, *nl; *line && n + 1 < max; line = nl + 1) {
        nl = strchr(line, '\n');
        *nl = '\0';
        hdrs[n++] = line;
    }
    hdrs[n] = NULL;
}

static int64_t post_signed(struct wh_server *srv, const char *path, const char *const *hdrs,
                           const char *body, long want_status)
{
    struct wh_response resp;
    wh_request(NULL, srv, "POST", path, hdrs, body, strlen(body), &resp);
    ck_assert_msg(resp.status == want_status, "%s: status %ld, expected %ld (%s)", path,
                  resp.status, want_status, resp.body);
    json_t *ok = json_loadb(resp.body, resp.body_len, 0, NULL);
    int64_t id = json_integer_value(json_object_get(ok, "id"));
    json_decref(ok);
    wh_response_free(&resp);
    return id;
}

static void expect_verdict(struct wh_server *srv, int64_t id, const char *scheme,
                           const char *status, int secret_index)
{
    json_t *d = wh_delivery(srv, id);
    json_t *sig = json_object_get(d, "signature");
    ck_assert_msg(json_is_object(sig), "delivery %lld has no signature", (long long)id);
    ck_assert_str_eq(json_string_value(json_object_get(sig, "scheme")), scheme);
    ck_assert_msg(strcmp(json_string_value(json_object_get(sig, "status")), status) == 0,
                  "%s: status %s (%s), expected %s", scheme,
                  json_string_value(json_object_get(sig, "status")),
                  json_string_value(json_object_get(sig, "reason")), status);
    ck_assert_msg(strlen(json_string_value(json_object_get(sig, "reason"))) > 10, "%s: no reason",
                  scheme);
    if (secret_index >= 0)
        ck_assert_int_eq(json_integer_value(json_object_get(sig, "secret_index")), secret_index);
    else
        ck_assert(json_is_null(json_object_get(sig, "secret_index")));
    json_decref(d);
}

START_TEST(receiver_verdicts)
{
    char *cfg = wh_path(dir, "sig.json");
    char *db = wh_path(dir, "recv.db");
    wh_write_file(cfg, receiver_config);
    struct wh_server srv;
    wh_server_start(&srv, dir, db, (const char *const[]){"--config", cfg, "--quiet", NULL}, NULL);
    char *body = write_body("recv.json", body_text);
    for (size_t i = 0; i < N_SCHEMES; i++) {
        char path[64];
        snprintf(path, sizeof(path), "/s/%s", schemes[i].name);
        char *lines = sign(&schemes[i], body, NULL);
        const char *hdrs[10];
        split_lines(lines, hdrs, 10);
        int64_t good = post_signed(&srv, path, hdrs, body_text, 200);
        /* twenty's endpoint lists another secret first: the second one matches */
        expect_verdict(&srv, good, schemes[i].name, "valid", i == 0 ? 1 : 0);
        int64_t bad = post_signed(&srv, path, hdrs, "{\"tampered\":true}", 200);
        expect_verdict(&srv, bad, schemes[i].name, i == 0 ? "invalid" : "invalid", -1);
        if (i == 0) {
            /* the same nonce twice: a replay, said in the reason */
            json_t *d = wh_delivery(&srv, bad);
            const char *reason =
                json_string_value(json_object_get(json_object_get(d, "signature"), "reason"));
            ck_assert_msg(strstr(reason, "replay") != NULL, "no replay in '%s'", reason);
            json_decref(d);
        }
        free(lines);
    }
    int64_t missing = post_signed(&srv, "/s/stripe", NULL, body_text, 200);
    expect_verdict(&srv, missing, "stripe", "missing", -1);

    /* reject_invalid: 401 for a bad one, 200 for a good one */
    char *lines = sign(&schemes[2], body, NULL);
    const char *hdrs[10];
    split_lines(lines, hdrs, 10);
    int64_t ok = post_signed(&srv, "/s/strict", hdrs, body_text, 200);
    expect_verdict(&srv, ok, "github", "valid", 0);
    int64_t refused = post_signed(&srv, "/s/strict", hdrs, "{}", 401);
    expect_verdict(&srv, refused, "github", "invalid", -1);
    json_t *d = wh_delivery(&srv, refused);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(d, "response"), "status")),
                     401);
    json_decref(d);
    free(lines);

    /* the catch-all has no scheme */
    int64_t plain = wh_post(&srv, "/elsewhere", "{}");
    d = wh_delivery(&srv, plain);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(d, "signature"), "status")),
                     "not_configured");
    json_decref(d);

    /* metrics count verdicts per endpoint */
    struct wh_response m;
    wh_request(NULL, &srv, "GET", "/_webhooky/metrics", NULL, NULL, 0, &m);
    ck_assert_msg(strstr(m.body, "webhooky_signature_verdicts_total{endpoint=\"stripe\","
                                 "status=\"missing\"} 1") != NULL, "%s", m.body);
    ck_assert_msg(strstr(m.body, "webhooky_signature_verdicts_total{endpoint=\"strict\","
                                 "status=\"invalid\"} 1") != NULL, "%s", m.body);
    wh_response_free(&m);

    /* the list shows the verdict column */
    struct wh_run r;
    wh_run(&r, NULL, RUN_MS, "deliveries", "list", "--db", db, NULL);
    ck_assert_int_eq(r.status, 0);
    ck_assert_msg(strstr(r.out, "SIGNATURE") && strstr(r.out, " valid ") &&
                      strstr(r.out, " invalid ") && strstr(r.out, " missing "),
                  "%s", r.out);
    wh_run_free(&r);
    char id[32];
    snprintf(id, sizeof(id), "%lld", (long long)refused);
    wh_run(&r, NULL, RUN_MS, "deliveries", "show", id, "--db", db, NULL);
    ck_assert_msg(strstr(r.out, "signature github invalid: ") != NULL, "%s", r.out);
    wh_run_free(&r);

    wh_server_finish(&srv);
    free(body);
    free(cfg);
    free(db);
}
END_TEST

/* A broken signature config is an error naming the file, line, column and key. */
START_TEST(receiver_bad_config)
{
    char *cfg = wh_path(dir, "bad.json");
    wh_write_file(cfg, "{\"endpoints\": [{\"name\": \"a\", \"path\": \"/a\",\n"
                       "  \"signature\": {\"scheme\": \"standard-webhooks\",\n"
                       "                \"secrets\": [\"not-whsec\"]}}]}\n");
    struct wh_run r;
    wh_run(&r, NULL, RUN_MS, "serve", "--config", cfg, "--listen", "127.0.0.1:0", "--db",
           ":memory:", NULL);
    ck_assert_int_eq(r.status, 2);
    ck_assert_msg(strstr(r.err, "bad.json:3:29: endpoints[0].signature.secrets[0]: ") != NULL,
                  "%s", r.err);
    wh_run_free(&r);
    free(cfg);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sign_verify");
    TCase *tc = wh_tcase("cli", 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, sign_then_verify, 0, N_SCHEMES);
    tcase_add_test(tc, stale_timestamp);
    tcase_add_test(tc, published_vectors);
    tcase_add_test(tc, secret_file_rotation);
    tcase_add_test(tc, missing_and_garbage);
    tcase_add_test(tc, usage_errors);
    tcase_add_test(tc, help);
    tcase_add_test(tc, stored_delivery);
    tcase_add_test(tc, receiver_verdicts);
    tcase_add_test(tc, receiver_bad_config);
    suite_add_tcase(s, tc);
    return wh_run_suite(s);
}
