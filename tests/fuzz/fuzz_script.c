/* Fuzz the response-script compiler: the input is what the API's PUT hands over (JSON in any
 * form, or the shorthand). Any input must compile or fail with a message (a shorthand error
 * naming a position); a compiled script must survive the canonical JSON round trip unchanged,
 * and a few deliveries (headers, event and body taken from the input too) must get a rule in
 * range and a delay within [0, 3600000] ms. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "delivery.h"
#include "script.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void choose_some(script *s, const char *text, size_t len)
{
    script_state *st = NULL;
    if (script_state_create(s, 2, &st, NULL) < 0)
        return;
    struct delivery *d = delivery_create();
    json_t *body = json_loadb(text, len, JSON_DECODE_ANY, NULL);
    if (!body)
        body = json_pack("{s:s%,s:i}", "type", text, len, "n", (json_int_t)len);
    if (d) {
        /* headers named after the script's own conditions, valued with the input */
        for (size_t i = 0; i < s->n_rules; i++)
            for (size_t k = 0; k < s->rules[i].n_match; k++)
                if (s->rules[i].match[k].on == MATCH_HEADER)
                    delivery_add_header(d, s->rules[i].match[k].key,
                                        strlen(s->rules[i].match[k].key), text, len);
    }
    char *event = strndup(text, len); /* a C string: up to the first NUL */
    static const char *const keys[] = {"a", "b", "a", "c", "a", "b"};
    for (size_t i = 0; d && event && i < sizeof(keys) / sizeof(keys[0]); i++) {
        struct script_input in = {.d = d,
                                  .event = i % 2 ? event : NULL,
                                  .body = i % 3 ? body : NULL,
                                  .message_key = keys[i]};
        struct script_choice c;
        if (script_state_choose(st, &in, (int64_t)i * 1000, &c) < 0)
            break;
        if (c.script != s || c.rule_index < -1 || c.rule_index >= (int)s->n_rules ||
            (c.rule_index >= 0) != (c.rule != NULL) || c.delay_ms < 0 || c.delay_ms > 3600000 ||
            c.attempt < 1)
            __builtin_trap();
        script_unref(c.script);
        if (i == 3)
            script_state_reset(st);
    }
    json_decref(script_state_to_json(st));
    free(event);
    json_decref(body);
    delivery_destroy(d);
    script_state_destroy(st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1 << 16)
        return 0;
    const char *text = (const char *)data;
    script *s = NULL;
    struct wh_error err = {0};
    int rc = script_parse_text(text, size, &s, &err);
    if (rc < 0) {
        if ((rc != -EINVAL && rc != -ENOMEM) || err.msg[0] == '\0')
            __builtin_trap();
        return 0;
    }
    if (!s || s->n_rules < 1)
        __builtin_trap();
    json_t *j = script_to_json(s);
    if (!j)
        __builtin_trap(); /* every compiled script has a canonical form */
    {
        script *again = NULL;
        char ptr[256];
        if (script_parse_json(j, &again, ptr, sizeof(ptr), &err) < 0)
            __builtin_trap(); /* the canonical form must always compile */
        json_t *j2 = script_to_json(again);
        if (j2 && !json_equal(j, j2))
            __builtin_trap();
        json_decref(j2);
        script_unref(again);
        json_decref(j);
    }
    choose_some(s, text, size);
    script_unref(s);
    return 0;
}
