/* Unit tests for jsonschema: error pointers, keywords and messages, the error cap, compile
 * errors, exact numbers, the text parser, files and refs, the meta-schema, threads, and
 * hostile patterns that must end in an error verdict instead of hanging. (The official suite
 * runs in tests/conformance.) */
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jsonschema.h"
#include "jsonschema_format.h"
#include "jsonschema_uri.h"
#include "jsonschema_value.h"
#include "unit.h"

static jsonschema *compile_ok(const char *text)
{
    json_error_t je;
    json_t *schema = json_loads(text, JSON_DECODE_ANY, &je);
    ck_assert_msg(schema != NULL, "test schema is not JSON: %s", je.text);
    jsonschema *s = NULL;
    struct wh_error err = {0};
    int r = jsonschema_compile(schema, NULL, &s, &err);
    json_decref(schema);
    ck_assert_msg(r == 0, "schema should compile, got %d: %s", r, err.msg);
    return s;
}

/* Compiling must fail with code and a message containing each needle. */
static void compile_fails(const char *text, int code, const char *needle1, const char *needle2)
{
    json_t *schema = json_loads(text, JSON_DECODE_ANY, NULL);
    ck_assert_ptr_nonnull(schema);
    jsonschema *s = (jsonschema *)0x1;
    struct wh_error err = {0};
    int r = jsonschema_compile(schema, NULL, &s, &err);
    json_decref(schema);
    ck_assert_msg(r == code, "expected %d for %s, got %d (%s)", code, text, r, err.msg);
    ck_assert_msg(s == (jsonschema *)0x1, "*ret must not be written on failure");
    ck_assert_msg(strstr(err.msg, needle1), "'%s' should contain '%s'", err.msg, needle1);
    if (needle2)
        ck_assert_msg(strstr(err.msg, needle2), "'%s' should contain '%s'", err.msg, needle2);
}

/* Validate JSON text both ways (jansson value and text) and check they agree. */
static int check2(const jsonschema *s, const char *instance, struct jsonschema_errors *e)
{
    json_t *v = json_loads(instance, JSON_DECODE_ANY, NULL);
    ck_assert_msg(v != NULL, "instance is not JSON for jansson: %s", instance);
    int a = jsonschema_validate(s, v, e);
    json_decref(v);
    struct jsonschema_errors e2;
    jsonschema_errors_init(&e2, 0);
    int b = jsonschema_validate_text(s, instance, strlen(instance), &e2);
    ck_assert_msg(a == b, "value and text disagree on %s: %d vs %d", instance, a, b);
    if (e) {
        ck_assert_uint_eq(e->n, e2.n);
        for (size_t i = 0; i < e->n; i++) {
            ck_assert_str_eq(e->v[i].pointer, e2.v[i].pointer);
            ck_assert_str_eq(e->v[i].message, e2.v[i].message);
        }
    }
    jsonschema_errors_finish(&e2);
    return a;
}

static bool valid(const jsonschema *s, const char *instance)
{
    int r = check2(s, instance, NULL);
    ck_assert_msg(r == 0 || r == 1, "validation of %s failed with %d", instance, r);
    return r == 0;
}

/* The error at index i has this pointer and keyword and a message containing needle. */
static void error_is(const struct jsonschema_errors *e, size_t i, const char *pointer,
                     const char *keyword, const char *needle)
{
    ck_assert_msg(i < e->n, "expected an error #%zu, have %zu", i, e->n);
    ck_assert_str_eq(e->v[i].pointer, pointer);
    ck_assert_str_eq(e->v[i].keyword, keyword);
    ck_assert_msg(strstr(e->v[i].message, needle), "message '%s' should contain '%s'",
                  e->v[i].message, needle);
}

START_TEST(test_error_pointers_keywords_messages)
{
    jsonschema *s =
        compile_ok("{\"type\": \"object\", \"required\": [\"eventName\", \"record\"],"
                   " \"properties\": {"
                   "  \"record\": {\"type\": \"object\", \"properties\": {"
                   "    \"id\": {\"type\": \"string\", \"format\": \"uuid\"},"
                   "    \"emails\": {\"properties\": {\"primaryEmail\": {\"format\": \"email\"}}},"
                   "    \"a/b~c\": {\"type\": \"integer\"},"
                   "    \"tags\": {\"items\": {\"type\": \"string\"}, \"uniqueItems\": true}}},"
                   "  \"n\": {\"minimum\": 0, \"maximum\": 10, \"multipleOf\": 0.5},"
                   "  \"s\": {\"minLength\": 2, \"maxLength\": 3, \"pattern\": \"^[a-z]+$\"},"
                   "  \"e\": {\"enum\": [\"a\", 1, null]},"
                   "  \"c\": {\"const\": \"person.created\"},"
                   "  \"nope\": false},"
                   " \"additionalProperties\": {\"type\": \"boolean\"}}");
    struct jsonschema_errors e;
    jsonschema_errors_init(&e, 0);
    const char *inst = "{\"record\": {\"id\": \"123\", \"emails\": {\"primaryEmail\": \"x@\"},"
                       " \"a/b~c\": \"1\", \"tags\": [\"a\", 2, \"a\"]},"
                       " \"n\": 10.25, \"s\": \"ABCD\", \"e\": 2, \"c\": \"person.updated\","
                       " \"nope\": 1, \"extra\": 3}";
    ck_assert_int_eq(check2(s, inst, &e), 1);
    ck_assert(!e.truncated);
    size_t i = 0;
    error_is(&e, i++, "", "required", "required property \"eventName\" is missing");
    error_is(&e, i++, "/record/id", "format", "must be a UUID");
    error_is(&e, i++, "/record/emails/primaryEmail", "format", "not \"x@\"");
    error_is(&e, i++, "/record/a~1b~0c", "type", "must be an integer, not a string");
    error_is(&e, i++, "/record/tags", "uniqueItems", "items 0 and 2 are equal");
    error_is(&e, i++, "/record/tags/1", "type", "must be a string, not an integer");
    error_is(&e, i++, "/n", "multipleOf", "must be a multiple of 0.5, not 10.25");
    error_is(&e, i++, "/n", "maximum", "must be at most 10, not 10.25");
    error_is(&e, i++, "/s", "maxLength", "at most 3 characters long, not 4");
    error_is(&e, i++, "/s", "pattern", "must match the pattern \"^[a-z]+$\", not \"ABCD\"");
    error_is(&e, i++, "/e", "enum", "must be one of \"a\", 1, null (not 2)");
    error_is(&e, i++, "/c", "const", "must be \"person.created\", not \"person.updated\"");
    error_is(&e, i++, "/nope", "properties", "property \"nope\" is not allowed");
    error_is(&e, i++, "/extra", "type", "must be a boolean, not an integer");
    ck_assert_uint_eq(e.n, i);

    json_t *arr = jsonschema_errors_to_json(&e);
    ck_assert_uint_eq(json_array_size(arr), e.n);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(arr, 1), "pointer")),
                     "/record/id");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(arr, 1), "keyword")),
                     "format");
    json_decref(arr);

    /* the same verdict without an error list */
    ck_assert_int_eq(check2(s, inst, NULL), 1);
    jsonschema_errors_finish(&e);
    jsonschema_destroy(s);
}
END_TEST

START_TEST(test_combinator_messages)
{
    jsonschema *s = compile_ok(
        "{\"properties\": {"
        " \"any\": {\"anyOf\": [{\"type\": \"string\"}, {\"type\": \"null\"}]},"
        " \"one\": {\"oneOf\": [{\"type\": \"number\"}, {\"minimum\": 0}]},"
        " \"not\": {\"not\": {\"type\": \"string\"}},"
        " \"cond\": {\"if\": {\"properties\": {\"kind\": {\"const\": \"a\"}}},"
        "           \"then\": {\"required\": [\"a\"]}, \"else\": {\"required\": [\"b\"]}},"
        " \"has\": {\"contains\": {\"const\": 1}},"
        " \"names\": {\"propertyNames\": {\"pattern\": \"^[a-z]+$\"}},"
        " \"deps\": {\"dependencies\": {\"card\": [\"billing\"], \"x\": {\"required\": [\"y\"]}}},"
        " \"tuple\": {\"items\": [{\"type\": \"string\"}], \"additionalItems\": false}}}");
    struct jsonschema_errors e;
    jsonschema_errors_init(&e, 0);
    ck_assert_int_eq(check2(s,
                            "{\"any\": 5, \"one\": 3, \"not\": \"s\", \"cond\": {\"kind\": \"a\"},"
                            " \"has\": [2], \"names\": {\"Bad\": 1}, \"deps\": {\"card\": 1,"
                            " \"x\": 1}, \"tuple\": [\"a\", 2]}",
                            &e),
                     1);
    size_t i = 0;
    error_is(&e, i++, "/any", "anyOf", "[0] must be a string, not an integer; [1] must be null");
    error_is(&e, i++, "/one", "oneOf", "matches schemas 0 and 1");
    error_is(&e, i++, "/not", "not", "must not match");
    error_is(&e, i++, "/cond", "required", "\"a\" is missing");
    error_is(&e, i++, "/has", "contains", "must contain at least one item");
    error_is(&e, i++, "/names/Bad", "propertyNames", "property name \"Bad\" does not match");
    error_is(&e, i++, "/deps", "dependencies", "property \"card\" requires property \"billing\"");
    error_is(&e, i++, "/deps", "required", "\"y\" is missing");
    error_is(&e, i++, "/tuple", "additionalItems", "at most 1 item");
    ck_assert_uint_eq(e.n, i);
    ck_assert(
        valid(s, "{\"any\": null, \"one\": -1, \"not\": 1, \"cond\": {\"kind\": \"b\", \"b\": 1},"
                 " \"has\": [2, 1], \"names\": {\"ok\": 1}, \"deps\": {\"card\": 1,"
                 " \"billing\": 2}, \"tuple\": [\"a\"]}"));
    jsonschema_errors_finish(&e);
    jsonschema_destroy(s);

    s = compile_ok("false");
    jsonschema_errors_init(&e, 0);
    ck_assert_int_eq(check2(s, "{}", &e), 1);
    error_is(&e, 0, "", "false schema", "no value is allowed");
    jsonschema_errors_finish(&e);
    jsonschema_destroy(s);
}
END_TEST

START_TEST(test_error_cap)
{
    jsonschema *s = compile_ok("{\"items\": {\"type\": \"string\"}}");
    char text[1024];
    size_t n = (size_t)snprintf(text, sizeof(text), "[");
    for (int i = 0; i < 120; i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n, "%s%d", i ? "," : "", i);
    snprintf(text + n, sizeof(text) - n, "]");
    struct jsonschema_errors e;
    jsonschema_errors_init(&e, 0);
    ck_assert_int_eq(check2(s, text, &e), 1);
    ck_assert_uint_eq(e.n, JSONSCHEMA_MAX_ERRORS);
    ck_assert(e.truncated);
    ck_assert_str_eq(e.v[49].pointer, "/49");
    jsonschema_errors_finish(&e);

    jsonschema_errors_init(&e, 3);
    ck_assert_int_eq(jsonschema_validate_text(s, text, strlen(text), &e), 1);
    ck_assert_uint_eq(e.n, 3);
    ck_assert(e.truncated);
    /* exactly max errors: not truncated */
    ck_assert_int_eq(jsonschema_validate_text(s, "[1,2,3]", 7, &e), 1);
    ck_assert_uint_eq(e.n, 3);
    ck_assert(!e.truncated);
    /* the list is cleared by every validation */
    ck_assert_int_eq(jsonschema_validate_text(s, "[\"a\"]", 5, &e), 0);
    ck_assert_uint_eq(e.n, 0);
    jsonschema_errors_finish(&e);
    jsonschema_destroy(s);
}
END_TEST

START_TEST(test_compile_errors)
{
    compile_fails("{\"properties\": {\"a\": {\"pattern\": \"^(abc\"}}}", -EINVAL,
                  "#/properties/a/pattern: invalid regular expression at offset 5",
                  "missing closing parenthesis");
    compile_fails("{\"patternProperties\": {\"[a-\": true}}", -EINVAL,
                  "#/patternProperties/[a-: invalid regular expression", NULL);
    compile_fails("{\"items\": {\"$ref\": \"#/definitions/missing\"}}", -EINVAL,
                  "#/items: cannot resolve $ref \"#/definitions/missing\"",
                  "nothing at the JSON pointer \"/definitions/missing\"");
    compile_fails("{\"$ref\": \"other.json\"}", -EINVAL, "cannot resolve $ref \"other.json\"",
                  "no ref-map prefix matches");
}
END_TEST

START_TEST(test_compile_type_errors)
{
    compile_fails("{\"minLength\": -1}", -EINVAL, "#: \"minLength\" must be a non-negative integer",
                  NULL);
    compile_fails("{\"properties\": {\"a\": {\"maxItems\": \"3\"}}}", -EINVAL,
                  "#/properties/a: \"maxItems\" must be a non-negative integer, not a string",
                  NULL);
    compile_fails("{\"type\": \"strin\"}", -EINVAL, "\"type\" must be one of", "not \"strin\"");
    compile_fails("{\"type\": 5}", -EINVAL, "\"type\" must be one of", NULL);
    compile_fails("{\"required\": \"id\"}", -EINVAL, "\"required\" must be an array of strings",
                  NULL);
    compile_fails("{\"required\": [\"id\", 3]}", -EINVAL, "item 1 is an integer", NULL);
    compile_fails("{\"properties\": []}", -EINVAL, "\"properties\" must be an object", NULL);
    compile_fails("{\"allOf\": []}", -EINVAL, "\"allOf\" must be a non-empty array", NULL);
    compile_fails("{\"anyOf\": [{}, 3]}", -EINVAL,
                  "#/anyOf/1: a schema must be an object or a "
                  "boolean, not an integer",
                  NULL);
    compile_fails("{\"multipleOf\": 0}", -EINVAL, "\"multipleOf\" must be greater than 0", NULL);
    compile_fails("{\"maximum\": \"10\"}", -EINVAL, "\"maximum\" must be a number", NULL);
    compile_fails("{\"exclusiveMinimum\": true}", -EINVAL, "draft-04", NULL);
    compile_fails("{\"pattern\": 5}", -EINVAL, "\"pattern\" must be a string", NULL);
    compile_fails("{\"$ref\": 5}", -EINVAL, "\"$ref\" must be a string", NULL);
    compile_fails("{\"$schema\": \"https://json-schema.org/draft/2020-12/schema\"}", -EINVAL,
                  "only draft-07", NULL);
    compile_fails("[]", -EINVAL, "a schema must be an object or a boolean, not an array", NULL);
    /* loops that never look deeper into the instance */
    compile_fails("{\"$ref\": \"#\"}", -ELOOP, "applies itself to the same value", NULL);
    compile_fails("{\"definitions\": {\"a\": {\"anyOf\": [{\"type\": \"string\"},"
                  " {\"$ref\": \"#/definitions/b\"}]}, \"b\": {\"allOf\": [{\"$ref\": "
                  "\"#/definitions/a\"}]}}, \"properties\": {\"x\": {\"$ref\": "
                  "\"#/definitions/a\"}}}",
                  -ELOOP, "#/definitions/a", NULL);
    /* unknown keywords and unknown formats are fine */
    jsonschema_destroy(compile_ok("{\"x-custom\": 5, \"format\": \"phone\", \"title\": 3}"));
    /* a recursive schema that descends is fine */
    jsonschema_destroy(compile_ok("{\"properties\": {\"child\": {\"$ref\": \"#\"}}}"));
}
END_TEST

START_TEST(test_no_network)
{
    /* an absolute URI with no map entry is refused, never fetched */
    compile_fails("{\"$ref\": \"https://example.com/s.json#/a\"}", -EINVAL,
                  "cannot resolve $ref \"https://example.com/s.json#/a\"",
                  "remote schemas are read only from local folders");
    /* the meta-schema is built in */
    jsonschema *s = compile_ok("{\"$ref\": \"http://json-schema.org/draft-07/schema#\"}");
    ck_assert(valid(s, "{\"minLength\": 1}"));
    ck_assert(!valid(s, "{\"minLength\": -1}"));
    jsonschema_destroy(s);
}
END_TEST

START_TEST(test_numbers_exact)
{
    jsonschema *s = compile_ok("{\"enum\": [1, \"1\"]}");
    ck_assert(valid(s, "1.0"));
    ck_assert(valid(s, "1"));
    ck_assert(!valid(s, "1.5"));
    ck_assert(!valid(s, "true"));
    jsonschema_destroy(s);

    s = compile_ok("{\"const\": {\"a\": [1, 2.0]}}");
    ck_assert(valid(s, "{\"a\": [1.0, 2]}"));
    ck_assert(!valid(s, "{\"a\": [1, 2, 3]}"));
    jsonschema_destroy(s);

    s = compile_ok("{\"uniqueItems\": true}");
    ck_assert(!valid(s, "[1, 1.0]"));
    ck_assert(!valid(s, "[{\"a\": 1, \"b\": 2}, {\"b\": 2.0, \"a\": 1}]"));
    ck_assert(valid(s, "[1, true, \"1\", [1], {\"1\": 1}]"));
    ck_assert(valid(s, "[9007199254740992, 9007199254740993]"));
    /* many items go through the hashed path */
    char big[4096];
    size_t n = (size_t)snprintf(big, sizeof(big), "[");
    for (int i = 0; i < 300; i++)
        n += (size_t)snprintf(big + n, sizeof(big) - n, "%s%d", i ? "," : "", i);
    ck_assert(valid(s, strcat(big, "]")));
    big[n] = '\0';
    ck_assert(!valid(s, strcat(big, ",17.0]")));
    jsonschema_destroy(s);

    s = compile_ok("{\"type\": \"integer\"}");
    ck_assert(valid(s, "1.0"));
    ck_assert(valid(s, "-0"));
    ck_assert(valid(s, "1e300"));
    ck_assert(!valid(s, "1.5"));
    ck_assert_int_eq(jsonschema_validate_text(s, "123456789012345678901234567890", 30, NULL), 0);
    jsonschema_destroy(s);

    s = compile_ok("{\"multipleOf\": 0.01}");
    ck_assert(valid(s, "19.99"));
    ck_assert(valid(s, "0.07"));
    ck_assert(valid(s, "1e300"));
    ck_assert(!valid(s, "19.991"));
    jsonschema_destroy(s);
    s = compile_ok("{\"multipleOf\": 0.1}");
    ck_assert(valid(s, "0.3"));
    ck_assert(!valid(s, "0.30000000000000004"));
    jsonschema_destroy(s);
    s = compile_ok("{\"multipleOf\": 3}");
    ck_assert(valid(s, "9223372036854775806"));
    ck_assert(!valid(s, "9223372036854775807"));
    ck_assert(valid(s, "-9.0"));
    jsonschema_destroy(s);

    /* integers and doubles compared without rounding */
    s = compile_ok("{\"maximum\": 9007199254740992}");
    ck_assert(valid(s, "9007199254740992.0"));
    ck_assert(!valid(s, "9007199254740993"));
    jsonschema_destroy(s);
    s = compile_ok("{\"exclusiveMaximum\": 9223372036854775807}");
    ck_assert(!valid(s, "9223372036854775807"));
    ck_assert(valid(s, "9223372036854775806"));
    ck_assert(!valid(s, "9.3e18"));
    jsonschema_destroy(s);
}
END_TEST

START_TEST(test_strings_in_code_points)
{
    jsonschema *s = compile_ok("{\"minLength\": 2, \"maxLength\": 3}");
    ck_assert(valid(s, "\"\xC3\xA9\xC3\xA9\""));                 /* 2 characters, 4 bytes */
    ck_assert(valid(s, "\"\xF0\x9F\x98\x80\xF0\x9F\x98\x80\"")); /* 2 emoji, 8 bytes */
    ck_assert(!valid(s, "\"\xF0\x9F\x98\x80\""));                /* 1 character */
    ck_assert(!valid(s, "\"abcd\""));
    ck_assert(valid(s, "\"\\ud83d\\ude00a\"")); /* escaped surrogate pair */
    jsonschema_destroy(s);
}
END_TEST

START_TEST(test_text_parser)
{
    jsonschema *s = compile_ok("{\"properties\": {\"a\": {\"type\": \"string\"}}}");
    struct jsonschema_errors e;
    jsonschema_errors_init(&e, 0);
    /* duplicate keys: the last one counts, as in jansson and JSON.parse */
    ck_assert_int_eq(jsonschema_validate_text(s, "{\"a\": 1, \"a\": \"x\"}", 18, &e), 0);
    ck_assert_int_eq(jsonschema_validate_text(s, "{\"a\": \"x\", \"a\": 1}", 18, &e), 1);
    /* many members (the hashed path), duplicates among them */
    char big[8192];
    size_t n = (size_t)snprintf(big, sizeof(big), "{");
    for (int i = 0; i < 300; i++)
        n += (size_t)snprintf(big + n, sizeof(big) - n, "\"k%d\": %d, ", i, i);
    n += (size_t)snprintf(big + n, sizeof(big) - n, "\"a\": 1, \"k7\": 0, \"a\": \"last\"}");
    ck_assert_int_eq(jsonschema_validate_text(s, big, n, &e), 0);
    jsonschema *s300 = compile_ok("{\"maxProperties\": 301, \"minProperties\": 301,"
                                  " \"properties\": {\"k7\": {\"const\": 0}}}");
    ck_assert_int_eq(jsonschema_validate_text(s300, big, n, &e), 0);
    jsonschema_destroy(s300);
    static const struct {
        const char *text, *want;
    } bad[] = {
        {"", "line 1, column 1: unexpected end of input"},
        {"{\"a\": }", "line 1, column 7: unexpected '}'"},
        {"[1,\n 2,\n x]", "line 3, column 2: unexpected 'x'"},
        {"\"\xC3\x28\"", "invalid UTF-8"},
        {"\"\\ud800\"", "surrogate"},
        {"\"a\tb\"", "control character"},
        {"01", "unexpected '1'"},
        {"1e999", "number out of range"},
        {"{} x", "expected the end of the text"},
        {"\"\\x\"", "invalid escape"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int r = jsonschema_validate_text(s, bad[i].text, strlen(bad[i].text), &e);
        ck_assert_msg(r == -EBADMSG, "%s: got %d", bad[i].text, r);
        ck_assert_msg(strstr(e.err.msg, bad[i].want), "'%s': '%s' should contain '%s'", bad[i].text,
                      e.err.msg, bad[i].want);
    }
    /* deep but within the limit, then too deep */
    size_t depth = 3000;
    char *deep = malloc(depth * 2 + 1);
    memset(deep, '[', depth);
    memset(deep + depth, ']', depth);
    ck_assert_int_eq(jsonschema_validate_text(s, deep, 2000 * 2, &e), -EBADMSG); /* unbalanced */
    ck_assert_int_eq(jsonschema_validate_text(s, deep + depth - 2000, 4000, &e), 0);
    ck_assert_int_eq(jsonschema_validate_text(s, deep, depth * 2, &e), -EBADMSG);
    ck_assert(strstr(e.err.msg, "nested too deeply"));
    free(deep);
    jsonschema_errors_finish(&e);
    jsonschema_destroy(s);
}
END_TEST

START_TEST(test_deep_instance_recursive_schema)
{
    jsonschema *s = compile_ok("{\"type\": \"array\", \"items\": {\"$ref\": \"#\"}}");
    size_t depth = 2000;
    char *deep = malloc(depth * 2 + 1);
    memset(deep, '[', depth);
    memset(deep + depth, ']', depth);
    ck_assert_int_eq(jsonschema_validate_text(s, deep, depth * 2, NULL), 0);
    deep[depth - 1] = '1'; /* [[...[1]...]]: the innermost item is not an array */
    ck_assert_int_eq(jsonschema_validate_text(s, deep, depth * 2 - 1, NULL), 1);
    free(deep);
    jsonschema_destroy(s);
}
END_TEST

/* ---- files and refs ---- */

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

START_TEST(test_load_file)
{
    char dir[64], path[256], sub[96];
    unit_mkdtemp(dir, sizeof(dir));
    snprintf(sub, sizeof(sub), "%s/defs", dir);
    write_file(dir, "common.json",
               "{\"definitions\": {\"id\": {\"type\": \"string\", \"format\": \"uuid\"}}}");
    write_file(dir, "event.json",
               "{\"properties\": {\"id\": {\"$ref\": \"common.json#/definitions/id\"}}}");
    write_file(dir, "broken.json", "{\n  \"type\": \"object\",\n  \"properties\": {,}\n}\n");
    write_file(dir, "badregex.json",
               "{\n  \"properties\": {\n    \"a\": {\"pattern\": \"(\"}\n  }\n}\n");
    write_file(dir, "dangling.json", "{\"$ref\": \"missing.json\"}");
    write_file(dir, "escape.json", "{\"$ref\": \"../outside.json\"}");

    jsonschema *s = NULL;
    struct wh_error err = {0};
    snprintf(path, sizeof(path), "%s/event.json", dir);
    ck_assert_msg(jsonschema_load_file(path, NULL, &s, &err) == 0, "%s", err.msg);
    ck_assert(valid(s, "{\"id\": \"a3c1e6b2-7d4f-4e8a-b1c9-0f2d3e4a5b6c\"}"));
    ck_assert(!valid(s, "{\"id\": \"not-a-uuid\"}"));
    jsonschema_destroy(s);

    snprintf(path, sizeof(path), "%s/broken.json", dir);
    ck_assert_int_eq(jsonschema_load_file(path, NULL, &s, &err), -EINVAL);
    char want[600];
    snprintf(want, sizeof(want), "%s:3:18: ", path);
    ck_assert_msg(strncmp(err.msg, want, strlen(want)) == 0, "'%s' should start with '%s'", err.msg,
                  want);

    snprintf(path, sizeof(path), "%s/badregex.json", dir);
    ck_assert_int_eq(jsonschema_load_file(path, NULL, &s, &err), -EINVAL);
    snprintf(want, sizeof(want), "%s:3:11: #/properties/a/pattern: invalid regular expression",
             path);
    ck_assert_msg(strncmp(err.msg, want, strlen(want)) == 0, "'%s' should start with '%s'", err.msg,
                  want);

    snprintf(path, sizeof(path), "%s/dangling.json", dir);
    ck_assert_int_lt(jsonschema_load_file(path, NULL, &s, &err), 0);
    ck_assert_msg(strstr(err.msg, "dangling.json") && strstr(err.msg, "missing.json"), "%s",
                  err.msg);

    snprintf(path, sizeof(path), "%s/escape.json", dir);
    ck_assert_int_lt(jsonschema_load_file(path, NULL, &s, &err), 0);

    snprintf(path, sizeof(path), "%s/none.json", dir);
    ck_assert_int_eq(jsonschema_load_file(path, NULL, &s, &err), -ENOENT);
    ck_assert(strstr(err.msg, "none.json"));
    unit_rmtree(dir);
}
END_TEST

START_TEST(test_ref_map_and_ids)
{
    char dir[64];
    unit_mkdtemp(dir, sizeof(dir));
    write_file(dir, "int.json", "{\"type\": \"integer\"}");
    write_file(dir, "defs.json",
               "{\"definitions\": {\"pos\": {\"minimum\": 0},"
               " \"self\": {\"$ref\": \"#/definitions/pos\"}}}");
    struct jsonschema_ref_map map = {.prefix = "https://schemas.example/", .dir = dir};
    struct jsonschema_options o = {.ref_map = &map, .n_ref_map = 1};
    json_t *schema =
        json_loads("{\"$id\": \"https://schemas.example/root.json\","
                   " \"properties\": {"
                   "  \"a\": {\"$ref\": \"int.json\"},"
                   "  \"b\": {\"$ref\": \"defs.json#/definitions/self\"},"
                   "  \"c\": {\"$ref\": \"#named\"},"
                   "  \"d\": {\"$ref\": \"#/definitions/percent%25~1slash\"}},"
                   " \"definitions\": {\"n\": {\"$id\": \"#named\", \"type\": \"string\"},"
                   "                   \"percent%/slash\": {\"type\": \"null\"}}}",
                   0, NULL);
    jsonschema *s = NULL;
    struct wh_error err = {0};
    ck_assert_msg(jsonschema_compile(schema, &o, &s, &err) == 0, "%s", err.msg);
    json_decref(schema);
    ck_assert(valid(s, "{\"a\": 1, \"b\": 0, \"c\": \"x\", \"d\": null}"));
    ck_assert(!valid(s, "{\"a\": 1.5}"));
    ck_assert(!valid(s, "{\"b\": -1}"));
    ck_assert(!valid(s, "{\"c\": 1}"));
    ck_assert(!valid(s, "{\"d\": 1}"));
    jsonschema_destroy(s);
    unit_rmtree(dir);

    char *r = NULL;
    ck_assert_int_eq(jsonschema_uri_resolve("http://a/b/c/d;p?q", "../../g", &r), 0);
    ck_assert_str_eq(r, "http://a/g");
    free(r);
    ck_assert_int_eq(jsonschema_uri_resolve("http://a/b/c/d;p?q", "g?y#s", &r), 0);
    ck_assert_str_eq(r, "http://a/b/c/g?y#s");
    free(r);
    ck_assert_int_eq(jsonschema_uri_resolve("HTTP://localhost:1234/", "folder/", &r), 0);
    ck_assert_str_eq(r, "http://localhost:1234/folder/");
    free(r);
}
END_TEST

START_TEST(test_metaschema)
{
    jsonschema *meta = NULL;
    struct wh_error err = {0};
    ck_assert_msg(jsonschema_compile_metaschema(&meta, &err) == 0, "%s", err.msg);
    ck_assert(valid(meta, "{\"type\": \"object\", \"properties\": {\"a\": {\"minLength\": 1}}}"));
    ck_assert(valid(meta, "true"));
    struct jsonschema_errors e;
    jsonschema_errors_init(&e, 0);
    ck_assert_int_eq(
        check2(meta, "{\"properties\": {\"a\": {\"minLength\": -1}}, \"type\": 5}", &e), 1);
    ck_assert(e.n >= 2);
    error_is(&e, 0, "/properties/a/minLength", "minimum", "must be at least 0");
    ck_assert(!valid(meta, "{\"pattern\": \"(\"}")); /* format "regex" */
    jsonschema_errors_finish(&e);
    jsonschema_destroy(meta);
}
END_TEST

START_TEST(test_formats)
{
    static const struct {
        enum jsonschema_format f;
        const char *s;
        bool ok;
    } cases[] = {
        {JSONSCHEMA_FORMAT_DATE_TIME, "2025-05-14T09:21:47.312Z", true},
        {JSONSCHEMA_FORMAT_DATE_TIME, "2024-02-29T00:00:00+05:30", true},
        {JSONSCHEMA_FORMAT_DATE_TIME, "2023-02-29T00:00:00Z", false},
        {JSONSCHEMA_FORMAT_DATE_TIME, "2025-05-14 09:21:47Z", false},
        {JSONSCHEMA_FORMAT_DATE_TIME, "2025-05-14T09:21:47", false},
        {JSONSCHEMA_FORMAT_DATE_TIME, "1998-12-31T23:59:60Z", true},
        {JSONSCHEMA_FORMAT_DATE_TIME, "1998-12-31T22:59:60Z", false},
        {JSONSCHEMA_FORMAT_TIME, "15:59:60-08:00", true},
        {JSONSCHEMA_FORMAT_DATE, "2025-13-01", false},
        {JSONSCHEMA_FORMAT_UUID, "A3C1E6B2-7D4F-4E8A-B1C9-0F2D3E4A5B6C", true},
        {JSONSCHEMA_FORMAT_UUID, "a3c1e6b27d4f4e8ab1c90f2d3e4a5b6c", false},
        {JSONSCHEMA_FORMAT_EMAIL, "\"joe bloggs\"@example.com", true},
        {JSONSCHEMA_FORMAT_EMAIL, "joe..bloggs@example.com", false},
        {JSONSCHEMA_FORMAT_EMAIL, "joe@[127.0.0.1]", true},
        {JSONSCHEMA_FORMAT_EMAIL, "joe@[IPv6:::1]", true},
        {JSONSCHEMA_FORMAT_HOSTNAME, "a.b-c.d", true},
        {JSONSCHEMA_FORMAT_HOSTNAME, "a..b", false},
        {JSONSCHEMA_FORMAT_IPV4, "087.10.0.1", false},
        {JSONSCHEMA_FORMAT_IPV6, "::ffff:192.168.0.1", true},
        {JSONSCHEMA_FORMAT_IPV6, "1:2:3:4:5:6:7::8", false},
        {JSONSCHEMA_FORMAT_IPV6, "fe80::1%eth0", false},
        {JSONSCHEMA_FORMAT_URI, "https://hooks.example.com/twenty?x=1#f", true},
        {JSONSCHEMA_FORMAT_URI, "https://exa mple.com/", false},
        {JSONSCHEMA_FORMAT_URI, "http://[::1]:8080/", true},
        {JSONSCHEMA_FORMAT_URI_REFERENCE, "../a%20b", true},
        {JSONSCHEMA_FORMAT_URI_REFERENCE, "a%2", false},
        {JSONSCHEMA_FORMAT_REGEX, "^\\d+$", true},
        {JSONSCHEMA_FORMAT_JSON_POINTER, "/a~2", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        ck_assert_msg(jsonschema_format_check(cases[i].f, cases[i].s, strlen(cases[i].s)) ==
                          cases[i].ok,
                      "%s \"%s\" should be %s", jsonschema_format_name(cases[i].f), cases[i].s,
                      cases[i].ok ? "valid" : "invalid");
    /* unknown formats are ignored; formats apply to strings only */
    jsonschema *s = compile_ok("{\"format\": \"telephone\"}");
    ck_assert(valid(s, "\"x\""));
    jsonschema_destroy(s);
    s = compile_ok("{\"format\": \"date-time\"}");
    ck_assert(valid(s, "12"));
    ck_assert(!valid(s, "\"yesterday\""));
    jsonschema_destroy(s);
}
END_TEST

/* ---- hostile patterns ---- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

START_TEST(test_hostile_pattern_hits_limit)
{
    static const char *const patterns[] = {"^(a+)+$", "(a|aa)+$", "(x+x+)+y", "a{0,300}a{0,300}b"};
    char *subject = malloc(40000);
    for (size_t p = 0; p < sizeof(patterns) / sizeof(patterns[0]); p++) {
        char schema[256];
        snprintf(schema, sizeof(schema), "{\"properties\": {\"s\": {\"pattern\": \"%s\"}}}",
                 patterns[p]);
        jsonschema *s = compile_ok(schema);
        size_t n = p == 3 ? 30000 : 40;
        char ch = p == 2 ? 'x' : 'a';
        size_t k = (size_t)snprintf(subject, 40000, "{\"s\": \"");
        memset(subject + k, ch, n);
        k += n;
        /* a non-match found only after backtracking (the required last letter is there) */
        k += (size_t)snprintf(subject + k, 40000 - k, "!%s\"}", p == 2 ? "y" : p == 3 ? "b" : "");
        struct jsonschema_errors e;
        jsonschema_errors_init(&e, 0);
        double t0 = now_s();
        int r = jsonschema_validate_text(s, subject, k, &e);
        double t = now_s() - t0;
        ck_assert_msg(r == -E2BIG, "%s: expected -E2BIG, got %d", patterns[p], r);
        ck_assert_msg(strstr(e.err.msg, "/s: the pattern") && strstr(e.err.msg, "match limit"),
                      "%s", e.err.msg);
        ck_assert_msg(t < 5.0, "%s took %.1f s", patterns[p], t);
        /* also inside anyOf/not, where errors are not recorded: still an error verdict */
        jsonschema_errors_finish(&e);
        jsonschema_destroy(s);
    }
    snprintf(subject, 40000, "{\"not\": {\"properties\": {\"s\": {\"pattern\": \"^(a+)+$\"}}}}");
    jsonschema *s = compile_ok(subject);
    const char *inst = "{\"s\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!\"}";
    ck_assert_int_eq(jsonschema_validate_text(s, inst, strlen(inst), NULL), -E2BIG);
    jsonschema_destroy(s);
    /* a patternProperties pattern on a hostile property name */
    s = compile_ok("{\"patternProperties\": {\"^(a+)+$\": true}, \"additionalProperties\": false}");
    inst = "{\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!\": 1}";
    ck_assert_int_eq(jsonschema_validate_text(s, inst, strlen(inst), NULL), -E2BIG);
    jsonschema_destroy(s);
    free(subject);
}
END_TEST

START_TEST(test_match_limit_option)
{
    json_t *schema = json_loads("{\"pattern\": \"(a|b)*c\"}", 0, NULL);
    struct jsonschema_options o = {.regex_match_limit = 50};
    jsonschema *s = NULL;
    ck_assert_int_eq(jsonschema_compile(schema, &o, &s, NULL), 0);
    json_decref(schema);
    const char *inst = "\"ababababababababababababababababababababababababababababababdc\"";
    ck_assert_int_eq(jsonschema_validate_text(s, inst, strlen(inst), NULL), -E2BIG);
    ck_assert_int_eq(jsonschema_validate_text(s, "\"abc\"", 5, NULL), 0);
    jsonschema_destroy(s);
}
END_TEST

/* ---- threads ---- */

struct worker {
    const jsonschema *s;
    int rounds;
    int wrong;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    static const char *const good = "{\"id\": \"a3c1e6b2-7d4f-4e8a-b1c9-0f2d3e4a5b6c\","
                                    " \"name\": \"abc\", \"tags\": [\"x\", \"y\"]}";
    static const char *const bad =
        "{\"id\": \"nope\", \"name\": \"ABC\", \"tags\": [\"x\", \"x\"]}";
    struct jsonschema_errors e;
    jsonschema_errors_init(&e, 0);
    json_t *jbad = json_loads(bad, 0, NULL);
    for (int i = 0; i < w->rounds; i++) {
        if (jsonschema_validate_text(w->s, good, strlen(good), &e) != 0)
            w->wrong++;
        if (jsonschema_validate(w->s, jbad, &e) != 1 || e.n != 3 ||
            strcmp(e.v[1].pointer, "/name") != 0)
            w->wrong++;
    }
    json_decref(jbad);
    jsonschema_errors_finish(&e);
    return NULL;
}

START_TEST(test_threads_share_a_schema)
{
    jsonschema *s = compile_ok("{\"properties\": {\"id\": {\"format\": \"uuid\"},"
                               " \"name\": {\"pattern\": \"^[a-z]+$\"},"
                               " \"tags\": {\"uniqueItems\": true, \"items\": {\"enum\": [\"x\","
                               " \"y\"]}}}}");
    struct worker w[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){.s = s, .rounds = 3000};
        ck_assert_int_eq(pthread_create(&t[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        ck_assert_int_eq(w[i].wrong, 0);
    }
    jsonschema_destroy(s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("jsonschema");
    TCase *tc = tcase_create("jsonschema");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_error_pointers_keywords_messages);
    tcase_add_test(tc, test_combinator_messages);
    tcase_add_test(tc, test_error_cap);
    tcase_add_test(tc, test_compile_errors);
    tcase_add_test(tc, test_compile_type_errors);
    tcase_add_test(tc, test_no_network);
    tcase_add_test(tc, test_numbers_exact);
    tcase_add_test(tc, test_strings_in_code_points);
    tcase_add_test(tc, test_text_parser);
    tcase_add_test(tc, test_deep_instance_recursive_schema);
    tcase_add_test(tc, test_load_file);
    tcase_add_test(tc, test_ref_map_and_ids);
    tcase_add_test(tc, test_metaschema);
    tcase_add_test(tc, test_formats);
    tcase_add_test(tc, test_hostile_pattern_hits_limit);
    tcase_add_test(tc, test_match_limit_option);
    tcase_add_test(tc, test_threads_share_a_schema);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
