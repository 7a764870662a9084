/* jsonschema_uri: URI references as JSON Schema uses them for "$id" and "$ref".
 *
 * Resolution of a reference against a base URI (RFC 3986 section 5.2, with dot segments
 * removed), splitting off the fragment, and percent-decoding a fragment before it is read as a
 * JSON pointer. Nothing here fetches anything. Strings are NUL-terminated; results are new
 * malloc'd strings owned by the caller. */
#ifndef WEBHOOKY_JSONSCHEMA_URI_H
#define WEBHOOKY_JSONSCHEMA_URI_H

#include <stddef.h>

/* *ret = ref resolved against base ("" or NULL: no base; ref is then only normalised). The
 * scheme is lower-cased; the fragment of ref is kept, base's is dropped. 0 or -ENOMEM. */
int jsonschema_uri_resolve(const char *base, const char *ref, char **ret);

/* Where the fragment starts: the index of the first '#', or strlen(uri) when there is none. */
size_t jsonschema_uri_fragment_at(const char *uri);

/* *ret = s[0..len) with %XX escapes decoded (NUL-terminated; *ret_len without the NUL, may
 * hold NUL bytes). -EINVAL for a '%' not followed by two hex digits, -ENOMEM. */
int jsonschema_uri_unescape(const char *s, size_t len, char **ret, size_t *ret_len);

#endif
