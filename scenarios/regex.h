/* regex: PCRE2 regular expressions for scenario checks, filters and --filter.
 *
 * Compiled once (UTF-8, with a match limit, so a pattern from a scenario file cannot spend
 * unbounded time on a captured header or body), then searched from any thread. */
#ifndef WEBHOOKY_REGEX_H
#define WEBHOOKY_REGEX_H

#include <stdbool.h>
#include <stddef.h>

#include "mockserver/wh_error.h"

typedef struct regex regex;

/* Compile pattern. *ret is new (regex_destroy it). -EINVAL with "invalid regular expression
 * at offset N: why", or -ENOMEM. */
int regex_compile(const char *pattern, regex **ret, struct wh_error *err);
void regex_destroy(regex *re); /* NULL-safe */

/* Does the pattern match anywhere in s[0..len)? Hitting the match limit counts as no match. */
bool regex_search(const regex *re, const char *s, size_t len);

#endif
