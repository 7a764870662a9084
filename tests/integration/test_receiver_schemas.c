/* Payload schemas in the receiver: the event name picks the schema, the verdict and every
 * error are stored and shown, require makes "no schema" a failure, SIGHUP reloads the files
 * and a broken file keeps the old ones. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static const char person_schema[] =
    "{\"type\": \"object\", \"required\": [\"eventName\", \"record\"],"
    " \"properties\": {\"eventName\": {\"const\": \"person.created\"},"
    "  \"record\": {\"type\": \"object\", \"required\": [\"id\"],"
    "   \"properties\": {\"id\": {\"type\": \"string\", \"format\": \"uuid\"}}}}}";

static const char good[] = "{\"eventName\": \"person.created\","
                           " \"record\": {\"id\": \"0a5e0d5f-6c1c-4b8e-9d8c-2f1b3a4c5d6e\"}}";

static json_t *schema_of(struct wh_server *s, int64_t id, json_t **ret_delivery)
{
    json_t *d = wh_delivery(s, id);
    *ret_delivery = d;
    return json_object_get(d, "schema");
}

static void expect(struct wh_server *s, int64_t id, const char *event, const char *status,
                   const char *file, size_t n_errors)
{
    json_t *d;
    json_t *sch = schema_of(s, id, &d);
    if (event)
        ck_assert_str_eq(json_string_value(json_object_get(d, "event")), event);
    else
        ck_assert(json_is_null(json_object_get(d, "event")));
    ck_assert_msg(strcmp(json_string_value(json_object_get(sch, "status")), status) == 0,
                  "delivery %lld: schema status %s, expected %s (%s)", (long long)id,
                  json_string_value(json_object_get(sch, "status")), status,
                  json_dumps(sch, JSON_COMPACT));
    if (file)
        ck_assert_str_eq(json_string_value(json_object_get(sch, "schema")), file);
    ck_assert_uint_eq(json_array_size(json_object_get(sch, "errors")), n_errors);
    json_decref(d);
}

/* Wait (bounded, polling the server's stderr) until it has logged `needle`. */
static void wait_for_log(struct wh_server *s, const char *needle)
{
    int64_t until = wh_now_ms() + 10000;
    for (;;) {
        char *err = wh_server_stderr(s);
        bool found = strstr(err, needle) != NULL;
        free(err);
        if (found)
            return;
        ck_assert_msg(wh_now_ms() < until, "the server never logged '%s'", needle);
        wh_sleep_ms(20);
    }
}

START_TEST(verdicts_reload_and_require)
{
    char *dir = wh_tmpdir();
    char *sdir = wh_path(dir, "schemas");
    char *cmd = NULL;
    ck_assert(asprintf(&cmd, "mkdir -p '%s'", sdir) > 0);
    ck_assert_int_eq(system(cmd), 0);
    free(cmd);
    char *person = wh_path(sdir, "person.created.json");
    wh_write_file(person, person_schema);
    char *cfg = wh_path(dir, "cfg.json");
    /* relative to the config file's folder */
    wh_write_file(cfg, "{\"endpoints\": ["
                       "{\"name\": \"twenty\", \"path\": \"/twenty\","
                       " \"schemas\": {\"dir\": \"schemas\"}},"
                       "{\"name\": \"strict\", \"path\": \"/strict\","
                       " \"schemas\": {\"dir\": \"schemas\", \"require\": true}},"
                       "{\"name\": \"gh\", \"path\": \"/gh\","
                       " \"schemas\": {\"files\": {\"person.created.opened\": "
                       "\"schemas/person.created.json\"},"
                       " \"event_header\": \"X-Event\", \"event_suffix\": \"/action\"}}]}");
    char *db = wh_path(dir, "schemas.db");
    struct wh_server s;
    wh_server_start(&s, dir, db, (const char *const[]){"--config", cfg, NULL}, NULL);

    int64_t ok = wh_post(&s, "/twenty", good);
    expect(&s, ok, "person.created", "valid", "person.created.json", 0);

    int64_t bad = wh_post(&s, "/twenty", "{\"eventName\": \"person.created\","
                                         " \"record\": {\"id\": \"not-a-uuid\", \"x\": 1}}");
    expect(&s, bad, "person.created", "invalid", "person.created.json", 1);
    json_t *d;
    json_t *sch = schema_of(&s, bad, &d);
    json_t *e0 = json_array_get(json_object_get(sch, "errors"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(e0, "pointer")), "/record/id");
    ck_assert_str_eq(json_string_value(json_object_get(e0, "keyword")), "format");
    json_decref(d);

    int64_t two = wh_post(&s, "/twenty", "{\"eventName\": \"person.created\"}");
    expect(&s, two, "person.created", "invalid", NULL, 1); /* record is required */

    int64_t other = wh_post(&s, "/twenty", "{\"eventName\": \"company.created\"}");
    expect(&s, other, "company.created", "no_schema", NULL, 0);
    int64_t notjson = wh_post(&s, "/twenty", "eventName=person.created");
    expect(&s, notjson, NULL, "not_json", NULL, 0);
    /* an integer beyond 64 bits is still JSON */
    int64_t big = wh_post(&s, "/twenty", "{\"eventName\": \"company.created\","
                                         " \"n\": 123456789012345678901234567890}");
    expect(&s, big, "company.created", "no_schema", NULL, 0);
    int64_t required = wh_post(&s, "/strict", "{\"type\": \"x.y\"}");
    expect(&s, required, "x.y", "no_schema", NULL, 0);

    /* GitHub style: event from a header plus the body's /action */
    struct wh_response r;
    wh_request(NULL, &s, "POST", "/gh", (const char *const[]){"X-Event: person.created", NULL},
               good, strlen(good), &r);
    ck_assert_int_eq(r.status, 200);
    wh_response_free(&r);
    char with_action[256];
    snprintf(with_action, sizeof(with_action), "%.*s, \"action\": \"opened\"}",
             (int)strlen(good) - 1, good);
    wh_request(NULL, &s, "POST", "/gh", (const char *const[]){"X-Event: person.created", NULL},
               with_action, strlen(with_action), &r);
    wh_response_free(&r);
    int64_t last = wh_last_id(&s);
    expect(&s, last - 1, "person.created", "no_schema", NULL, 0);
    expect(&s, last, "person.created.opened", "valid", "person.created.json", 0);

    /* metrics: verdicts, and failures (no_schema only where required) */
    wh_request(NULL, &s, "GET", "/_webhooky/metrics", NULL, NULL, 0, &r);
    ck_assert_msg(strstr(r.body, "webhooky_schema_verdicts_total{endpoint=\"twenty\","
                                 "status=\"invalid\"} 2"), "%s", r.body);
    ck_assert_msg(strstr(r.body, "webhooky_schema_failures_total{endpoint=\"twenty\"} 3"), "%s",
                  r.body);
    ck_assert_msg(strstr(r.body, "webhooky_schema_failures_total{endpoint=\"strict\"} 1"), "%s",
                  r.body);
    wh_response_free(&r);

    /* list column and show */
    struct wh_run run;
    wh_run(&run, NULL, 30000, "deliveries", "list", "--db", db, NULL);
    ck_assert_msg(strstr(run.out, "SCHEMA") && strstr(run.out, " not_json\n") &&
                      strstr(run.out, " no_schema\n"), "%s", run.out);
    wh_run_free(&run);
    char id[32];
    snprintf(id, sizeof(id), "%lld", (long long)bad);
    wh_run(&run, NULL, 30000, "deliveries", "show", id, "--db", db, NULL);
    ck_assert_msg(strstr(run.out, "schema    invalid (person.created.json)") &&
                      strstr(run.out, "  /record/id [format]: "), "%s", run.out);
    wh_run_free(&run);

    /* SIGHUP reloads: a stricter schema now refuses what was valid */
    wh_write_file(person, "{\"not\": {}}");
    kill(s.pid, SIGHUP);
    wait_for_log(&s, "reloaded");
    int64_t after = wh_post(&s, "/twenty", good);
    expect(&s, after, "person.created", "invalid", "person.created.json", 1);

    /* a broken file: the reload fails, says why, and the last good schemas stay */
    wh_write_file(person, "{\"type\": ");
    kill(s.pid, SIGHUP);
    wait_for_log(&s, "schema reload failed");
    char *log = wh_server_stderr(&s);
    ck_assert_msg(strstr(log, "person.created.json") != NULL, "%s", log);
    free(log);
    int64_t still = wh_post(&s, "/twenty", good);
    expect(&s, still, "person.created", "invalid", "person.created.json", 1);

    wh_server_finish(&s);
    free(person);
    free(sdir);
    free(cfg);
    free(db);
    wh_tmpdir_remove(dir);
}
END_TEST

/* A broken schema file is a config error naming the file. */
START_TEST(broken_schema_at_load)
{
    char *dir = wh_tmpdir();
    char *bad = wh_path(dir, "bad.json");
    wh_write_file(bad, "{\"type\": \"object\",\n \"properties\": [}");
    char *cfg = wh_path(dir, "cfg.json");
    wh_write_file(cfg, "{\"endpoints\": [{\"name\": \"a\", \"path\": \"/a\",\n"
                       "  \"schemas\": {\"files\": {\"a.b\": \"bad.json\"}}}]}");
    struct wh_run r;
    wh_run(&r, NULL, 30000, "serve", "--config", cfg, "--listen", "127.0.0.1:0", "--db",
           ":memory:", NULL);
    ck_assert_int_eq(r.status, 2);
    ck_assert_msg(strstr(r.err, "cfg.json:2:25: endpoints[0].schemas.files.a.b: ") &&
                      strstr(r.err, "bad.json:2:"), "%s", r.err);
    wh_run_free(&r);
    free(bad);
    free(cfg);
    wh_tmpdir_remove(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("receiver_schemas");
    TCase *tc = wh_tcase("receiver_schemas", 60);
    tcase_add_test(tc, verdicts_reload_and_require);
    tcase_add_test(tc, broken_schema_at_load);
    suite_add_tcase(s, tc);
    return wh_run_suite(s);
}
