/* Fuzz the JSON Schema compiler and validator. The input up to its first NUL byte is a schema,
 * the rest an instance (without a NUL the input is both). Any bytes must compile or give an
 * error, then validate or give an error, never crash or hang. Oracles: the verdict is the same
 * on the jansson value, on the JSON text (the validator's own parser) and without an error
 * list; an invalid verdict with an error list records at least one error. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "jsonschema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    const uint8_t *nul = memchr(data, '\0', size);
    size_t slen = nul ? (size_t)(nul - data) : size;
    const char *inst = nul ? (const char *)nul + 1 : text;
    size_t ilen = nul ? size - slen - 1 : size;

    json_t *schema = json_loadb(text, slen, JSON_DECODE_ANY, NULL);
    if (!schema)
        return 0;
    /* a low match limit keeps hostile patterns quick; no ref map: nothing outside is read */
    struct jsonschema_options o = {.regex_match_limit = 20000};
    jsonschema *s = NULL;
    struct wh_error err = {0};
    int r = jsonschema_compile(schema, &o, &s, &err);
    json_decref(schema);
    if (r < 0) {
        if (!err.msg[0])
            __builtin_trap(); /* every failure says why */
        return 0;
    }
    struct jsonschema_errors e;
    jsonschema_errors_init(&e, 10);
    int a = jsonschema_validate_text(s, inst, ilen, &e);
    if (a == 1 && e.n == 0)
        __builtin_trap();
    if (a < 0 && !e.err.msg[0])
        __builtin_trap();
    json_t *v = json_loadb(inst, ilen, JSON_DECODE_ANY, NULL);
    if (v) {
        int b = jsonschema_validate(s, v, &e);
        int c = jsonschema_validate(s, v, NULL);
        /* jansson may read a text the validator's parser refused (or not): compare decided ones */
        if (a >= 0 && b >= 0 && a != b)
            __builtin_trap();
        if (b >= 0 && c >= 0 && b != c)
            __builtin_trap();
        json_decref(v);
    }
    jsonschema_errors_finish(&e);
    jsonschema_destroy(s);
    return 0;
}
