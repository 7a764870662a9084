/* jsonptr: RFC 6901 JSON pointers over jansson values ("/record/emails/0").
 *
 * For reading values out of captured bodies (idempotency keys, event names) and, later, for
 * pointing at schema errors. Pointers are data a user wrote in a config, so they are checked
 * (jsonptr_valid) when the config is loaded. */
#ifndef WEBHOOKY_JSONPTR_H
#define WEBHOOKY_JSONPTR_H

#include <jansson.h>
#include <stdbool.h>

/* Is ptr a well-formed pointer: "" or "/" segments, '~' only as ~0 or ~1? */
bool jsonptr_valid(const char *ptr);

/* The value ptr points at in doc (borrowed reference), or NULL when there is none. Array
 * indices must be canonical ("0", "12"; not "01" or "-"). */
json_t *jsonptr_get(json_t *doc, const char *ptr);

#endif
