/* The bundled schemas (schemas/twenty, schemas/twenty-docs) against Twenty-shaped payloads.
 *
 * usage: test_twenty SCHEMAS_DIR FIXTURES_DIR
 *
 * Every bundled file must pass the draft-07 meta-schema and compile; a payload shaped like the
 * one Twenty's sender posts must validate against the file of its event (for every object and
 * operation), a realistic 2 KB person.updated delivery too; and the mutations the issue names
 * must be rejected with the error at the right pointer: a missing eventName, a wrong
 * objectMetadata.nameSingular, a record.id that is not a UUID, updatedFields on a created
 * event, an event sent to another event's schema. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonschema.h"

static const char *schemas_dir, *fixtures_dir;

static const char *const objects[] = {"person", "company", "opportunity", "note", "task"};
static const char *const ops[] = {"created", "updated", "deleted", "destroyed", "restored"};
#define N(a) (sizeof(a) / sizeof((a)[0]))

static jsonschema *load(const char *folder, const char *event)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s/%s.json", schemas_dir, folder, event);
    jsonschema *s = NULL;
    struct wh_error err = {0};
    int r = jsonschema_load_file(path, NULL, &s, &err);
    ck_assert_msg(r == 0, "%s: %s", path, err.msg);
    return s;
}

/* What Twenty's sender posts (see the issue): a new reference. */
static json_t *twenty_payload(const char *object, const char *op)
{
    char event[64];
    snprintf(event, sizeof(event), "%s.%s", object, op);
    json_t *p = json_pack(
        "{s:s, s:s, s:{s:s, s:s}, s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s, s:o, s:[i]}}", "targetUrl",
        "https://hooks.example.com/twenty", "eventName", event, "objectMetadata", "id",
        "1b2a0d5e-8f0e-4c1a-9a77-3c5d2b1e9f10", "nameSingular", object, "workspaceId",
        "20202020-1c25-4d02-bf25-6aeccf7ea419", "webhookId", "8e1f6a0c-2b7d-4c3e-9f5a-6d4b3c2a1e0f",
        "eventDate", "2025-05-14T09:21:47.312Z", "userId", "20202020-9e3b-46d4-a556-88b9ddc2b034",
        "workspaceMemberId", "20202020-0687-4c41-b707-ed1bfca972a7", "record", "id",
        "a3c1e6b2-7d4f-4e8a-b1c9-0f2d3e4a5b6c", "name", "Acme", "deletedAt", json_null(),
        "position", 3);
    ck_assert_ptr_nonnull(p);
    if (strcmp(op, "updated") == 0)
        json_object_set_new(p, "updatedFields", json_pack("[ss]", "name", "updatedAt"));
    return p;
}

static json_t *docs_payload(const char *object, const char *op)
{
    char event[64];
    snprintf(event, sizeof(event), "%s.%s", object, op);
    return json_pack("{s:s, s:{s:s, s:s}, s:s}", "event", event, "data", "id",
                     "a3c1e6b2-7d4f-4e8a-b1c9-0f2d3e4a5b6c", "name", "Acme", "timestamp",
                     "2025-05-14T09:21:47Z");
}

/* v must be rejected with an error at pointer whose keyword is keyword. */
static void rejected(const jsonschema *s, json_t *v, const char *pointer, const char *keyword,
                     const char *what)
{
    struct jsonschema_errors e;
    jsonschema_errors_init(&e, 0);
    int r = jsonschema_validate(s, v, &e);
    ck_assert_msg(r == 1, "%s: expected invalid, got %d", what, r);
    bool found = false;
    for (size_t i = 0; i < e.n && !found; i++)
        found = strcmp(e.v[i].pointer, pointer) == 0 && strcmp(e.v[i].keyword, keyword) == 0;
    ck_assert_msg(found, "%s: no '%s' error at '%s' (first: %s %s: %s)", what, keyword, pointer,
                  e.n ? e.v[0].pointer : "-", e.n ? e.v[0].keyword : "-",
                  e.n ? e.v[0].message : "-");
    jsonschema_errors_finish(&e);
}

static void accepted(const jsonschema *s, json_t *v, const char *what)
{
    struct jsonschema_errors e;
    jsonschema_errors_init(&e, 0);
    int r = jsonschema_validate(s, v, &e);
    ck_assert_msg(r == 0, "%s: expected valid, got %d (%s %s: %s)", what, r,
                  e.n ? e.v[0].pointer : "-", e.n ? e.v[0].keyword : "-",
                  e.n ? e.v[0].message : e.err.msg);
    jsonschema_errors_finish(&e);
}

START_TEST(test_files_pass_the_metaschema)
{
    jsonschema *meta = NULL;
    ck_assert_int_eq(jsonschema_compile_metaschema(&meta, NULL), 0);
    static const char *const folders[] = {"twenty", "twenty-docs"};
    for (size_t f = 0; f < N(folders); f++)
        for (size_t o = 0; o < N(objects); o++)
            for (size_t p = 0; p < N(ops); p++) {
                char path[4096];
                snprintf(path, sizeof(path), "%s/%s/%s.%s.json", schemas_dir, folders[f],
                         objects[o], ops[p]);
                json_t *doc = NULL;
                struct wh_error err = {0};
                ck_assert_msg(jsonschema_read_file(path, &doc, &err) == 0, "%s", err.msg);
                struct jsonschema_errors e;
                jsonschema_errors_init(&e, 0);
                ck_assert_msg(jsonschema_validate(meta, doc, &e) == 0, "%s: %s %s", path,
                              e.n ? e.v[0].pointer : "", e.n ? e.v[0].message : "");
                jsonschema_errors_finish(&e);
                json_decref(doc);
            }
    jsonschema_destroy(meta);
}
END_TEST

START_TEST(test_twenty_payloads_validate)
{
    for (size_t o = 0; o < N(objects); o++)
        for (size_t p = 0; p < N(ops); p++) {
            char event[64];
            snprintf(event, sizeof(event), "%s.%s", objects[o], ops[p]);
            jsonschema *s = load("twenty", event);
            json_t *v = twenty_payload(objects[o], ops[p]);
            accepted(s, v, event);
            /* userId and workspaceMemberId are optional */
            json_object_del(v, "userId");
            json_object_del(v, "workspaceMemberId");
            accepted(s, v, event);
            json_decref(v);
            jsonschema_destroy(s);

            s = load("twenty-docs", event);
            v = docs_payload(objects[o], ops[p]);
            accepted(s, v, event);
            json_decref(v);
            jsonschema_destroy(s);
        }
}
END_TEST

START_TEST(test_realistic_delivery)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/twenty-person.updated.json", fixtures_dir);
    json_t *v = NULL;
    struct wh_error err = {0};
    ck_assert_msg(jsonschema_read_file(path, &v, &err) == 0, "%s", err.msg);
    jsonschema *s = load("twenty", "person.updated");
    accepted(s, v, "the 2 KB person.updated fixture");
    /* and through the text parser, as the receiver may */
    char *text = json_dumps(v, JSON_COMPACT);
    ck_assert_int_eq(jsonschema_validate_text(s, text, strlen(text), NULL), 0);
    free(text);
    jsonschema_destroy(s);
    json_decref(v);
}
END_TEST

START_TEST(test_mutations_rejected)
{
    for (size_t o = 0; o < N(objects); o++) {
        const char *obj = objects[o];
        char event[64];
        snprintf(event, sizeof(event), "%s.created", obj);
        jsonschema *s = load("twenty", event);

        json_t *v = twenty_payload(obj, "created");
        json_object_del(v, "eventName");
        rejected(s, v, "", "required", "missing eventName");
        json_decref(v);

        v = twenty_payload(obj, "created");
        json_object_set_new(json_object_get(v, "objectMetadata"), "nameSingular",
                            json_string(strcmp(obj, "task") ? "task" : "note"));
        rejected(s, v, "/objectMetadata/nameSingular", "const", "wrong nameSingular");
        json_decref(v);

        v = twenty_payload(obj, "created");
        json_object_set_new(json_object_get(v, "record"), "id", json_string("42"));
        rejected(s, v, "/record/id", "format", "non-UUID record.id");
        json_decref(v);

        v = twenty_payload(obj, "created");
        json_object_del(json_object_get(v, "record"), "id");
        rejected(s, v, "/record", "required", "record without id");
        json_decref(v);

        v = twenty_payload(obj, "updated"); /* carries updatedFields */
        json_object_set_new(v, "eventName", json_string(event));
        rejected(s, v, "/updatedFields", "properties", "updatedFields on created");
        json_decref(v);

        v = twenty_payload(obj, "deleted");
        rejected(s, v, "/eventName", "const", "a deleted event against the created schema");
        json_decref(v);

        v = twenty_payload(obj, "created");
        json_object_set_new(v, "eventDate", json_string("14/05/2025 09:21"));
        rejected(s, v, "/eventDate", "format", "eventDate not a date-time");
        json_decref(v);
        jsonschema_destroy(s);

        snprintf(event, sizeof(event), "%s.updated", obj);
        s = load("twenty", event);
        v = twenty_payload(obj, "updated");
        json_object_set_new(v, "updatedFields", json_pack("[si]", "name", 3));
        rejected(s, v, "/updatedFields/1", "type", "updatedFields not strings");
        json_decref(v);
        jsonschema_destroy(s);

        s = load("twenty-docs", event);
        v = docs_payload(obj, "updated");
        json_object_del(v, "timestamp");
        rejected(s, v, "", "required", "docs shape without timestamp");
        json_object_set_new(v, "timestamp", json_integer(1715678507));
        rejected(s, v, "/timestamp", "type", "docs shape with a numeric timestamp");
        json_decref(v);
        v = docs_payload(obj, "updated");
        json_object_del(json_object_get(v, "data"), "id");
        rejected(s, v, "/data", "required", "docs shape without data.id");
        json_decref(v);
        jsonschema_destroy(s);
    }
}
END_TEST

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: test_twenty SCHEMAS_DIR FIXTURES_DIR\n");
        return 2;
    }
    schemas_dir = argv[1];
    fixtures_dir = argv[2];
    Suite *s = suite_create("twenty-schemas");
    TCase *tc = tcase_create("twenty-schemas");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_files_pass_the_metaschema);
    tcase_add_test(tc, test_twenty_payloads_validate);
    tcase_add_test(tc, test_realistic_delivery);
    tcase_add_test(tc, test_mutations_rejected);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
