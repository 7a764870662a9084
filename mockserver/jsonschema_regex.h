/* jsonschema_regex: the regular expressions of JSON Schema ("pattern", "patternProperties",
 * format "regex") on PCRE2, compiled once and matched with limits.
 *
 * Patterns are ECMA-262 in the draft; PCRE2 runs them with the options closest to that
 * (UTF-8, '$' only at the very end, "[^]" for any character, \uHHHH escapes, an unset
 * back-reference matching the empty string). A search is bounded as a whole: a pattern that
 * is not anchored is matched as the anchored "(?s:.*?)(?:PATTERN)", so the match limit counts
 * every start position together, and no pattern can spend more than the limit on one string.
 *
 * A compiled regex is immutable and may be matched from many threads at once; each thread
 * (or each validation) brings its own scratch (the PCRE2 match data). Not for anything but
 * the validator. */
#ifndef WEBHOOKY_JSONSCHEMA_REGEX_H
#define WEBHOOKY_JSONSCHEMA_REGEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wh_error.h"

/* Backtracking steps one search may take (PCRE2's match limit) when the caller passes 0. */
#define JSONSCHEMA_REGEX_MATCH_LIMIT 1000000u
/* Heap PCRE2 may use for backtracking in one search, in KiB. */
#define JSONSCHEMA_REGEX_HEAP_LIMIT_KIB 16384u

struct jsonschema_regex;

/* Compile pattern[0..len) (any bytes; must be UTF-8 to compile). match_limit 0 means
 * JSONSCHEMA_REGEX_MATCH_LIMIT. On success *ret is a new regex (jsonschema_regex_destroy it).
 * -EINVAL with "invalid regular expression at offset N: why" in err, or -ENOMEM. */
int jsonschema_regex_compile(const char *pattern, size_t len, uint32_t match_limit,
                             struct jsonschema_regex **ret, struct wh_error *err);

void jsonschema_regex_destroy(struct jsonschema_regex *re);

/* The pattern as written (borrowed from re, NUL-terminated). */
const char *jsonschema_regex_source(const struct jsonschema_regex *re);

/* Search s[0..len) (valid UTF-8) for the pattern. *scratch is the caller's match data: start
 * it as NULL, pass it to every match of one thread, free it with jsonschema_regex_scratch_free.
 * Returns 1 when the pattern matches, 0 when it does not, -E2BIG when the search hit the match,
 * depth or heap limit (a hostile pattern), -ENOMEM, or -EINVAL for any other PCRE2 error. */
int jsonschema_regex_match(const struct jsonschema_regex *re, const char *s, size_t len,
                           void **scratch);

void jsonschema_regex_scratch_free(void *scratch);

/* Does pattern[0..len) compile with the options above? (format "regex") */
bool jsonschema_regex_valid(const char *pattern, size_t len);

#endif
