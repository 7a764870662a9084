/* regex: PCRE2 patterns written by users (scripts' match conditions, scenario checks and
 * filters), searched in captured bytes.
 *
 * A pattern is compiled once as UTF-8; a search takes any bytes (captured headers and bodies
 * need not be UTF-8: a match never spans an invalid sequence, and is looked for after each
 * one). Every search is bounded (match, depth and heap limits), so a pattern cannot spend
 * unbounded time on a hostile value; hitting a limit counts as no match. A compiled regex is
 * immutable and may be searched from any thread at once. */
#ifndef WEBHOOKY_REGEX_H
#define WEBHOOKY_REGEX_H

#include <stdbool.h>
#include <stddef.h>

#include "wh_error.h"

typedef struct regex regex;

/* Compile pattern[0..len). *ret is new (regex_destroy it). -EINVAL with "invalid regular
 * expression at offset N: why" (also for a NUL in the pattern), or -ENOMEM. */
int regex_compile(const char *pattern, size_t len, regex **ret, struct wh_error *err);
void regex_destroy(regex *re); /* NULL-safe */

/* The error for a pattern PCRE2 refused to compile: -ENOMEM for PCRE2_ERROR_NOMEMORY, else
 * -EINVAL with "invalid regular expression at offset N: why". For every module that compiles
 * PCRE2 patterns from users (this one, jsonschema_regex.c). */
int regex_compile_error(struct wh_error *err, int pcre2_code, size_t offset);

/* The pattern as written (NUL-terminated, borrowed). */
const char *regex_source(const regex *re);

/* Does the pattern match anywhere in s[0..len)? */
bool regex_search(const regex *re, const char *s, size_t len);

#endif
