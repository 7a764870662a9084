/* jsonschema_format: the "format" keyword's checks, as assertions.
 *
 * The formats the validator asserts are date-time, date, time (RFC 3339, leap seconds only at
 * 23:59:60 UTC), email (RFC 5321 mailbox: dot-atom or quoted local part, host name or address
 * literal), hostname (RFC 1123 labels), ipv4 (dotted quad without leading zeros), ipv6
 * (RFC 4291 text, with an IPv4 tail, no zone), uri and uri-reference (RFC 3986 syntax, ASCII),
 * uuid (8-4-4-4-12 hex digits), regex (compiles as the validator's patterns do) and
 * json-pointer (RFC 6901). Any other format name is unknown and is not checked.
 *
 * Pure functions over bytes; no allocation except for "regex". */
#ifndef WEBHOOKY_JSONSCHEMA_FORMAT_H
#define WEBHOOKY_JSONSCHEMA_FORMAT_H

#include <stdbool.h>
#include <stddef.h>

enum jsonschema_format {
    JSONSCHEMA_FORMAT_UNKNOWN = 0,
    JSONSCHEMA_FORMAT_DATE_TIME,
    JSONSCHEMA_FORMAT_DATE,
    JSONSCHEMA_FORMAT_TIME,
    JSONSCHEMA_FORMAT_EMAIL,
    JSONSCHEMA_FORMAT_HOSTNAME,
    JSONSCHEMA_FORMAT_IPV4,
    JSONSCHEMA_FORMAT_IPV6,
    JSONSCHEMA_FORMAT_URI,
    JSONSCHEMA_FORMAT_URI_REFERENCE,
    JSONSCHEMA_FORMAT_UUID,
    JSONSCHEMA_FORMAT_REGEX,
    JSONSCHEMA_FORMAT_JSON_POINTER,
};

/* The format a name stands for, JSONSCHEMA_FORMAT_UNKNOWN for any other name. */
enum jsonschema_format jsonschema_format_lookup(const char *name);

/* The name of a known format ("date-time"); "" for JSONSCHEMA_FORMAT_UNKNOWN. */
const char *jsonschema_format_name(enum jsonschema_format f);

/* A few words saying what the format is, for messages ("an RFC 3339 date-time such as
 * 2024-05-14T09:21:47Z"). */
const char *jsonschema_format_describe(enum jsonschema_format f);

/* Is s[0..len) (UTF-8) valid for format f? Always true for JSONSCHEMA_FORMAT_UNKNOWN. */
bool jsonschema_format_check(enum jsonschema_format f, const char *s, size_t len);

#endif
