/* jsonpos: find where a JSON pointer points in the original text, for error messages.
 *
 * jansson keeps no source positions, so a check that fails on a parsed value (an unknown key,
 * a wrong type) asks this module where that value sits in the file. It is a small scanner over
 * the text, not a parser: it walks only as deep as the pointer and tolerates any input (a
 * malformed text just means "not found"). Config files and, later, scenario files use it. */
#ifndef WEBHOOKY_JSONPOS_H
#define WEBHOOKY_JSONPOS_H

#include <stdarg.h>
#include <stddef.h>

#include "buf.h"
#include "wh_error.h"

/* Locate RFC 6901 pointer `ptr` ("" is the whole document, "/endpoints/1/name") in text.
 * For an object member the position is that of its key; for an array element, of the value.
 * Returns 0 and 1-based line and column (in characters), or -ENOENT. */
int jsonpos_find(const char *text, size_t len, const char *ptr, int *ret_line, int *ret_col);

/* Append the pointer in the dotted form people read: "/endpoints/1/name" -> "endpoints[1].name",
 * "" -> "(top level)". Segments that are all digits are shown as indices. */
int jsonpos_pointer_to_path(struct buf *out, const char *ptr);

/* Set err to -EINVAL and "SOURCE:LINE:COL: key.path: MESSAGE" for the value at pointer `ptr`
 * in text (just "SOURCE: key.path: MESSAGE" when it cannot be located). Returns -EINVAL. The
 * one format of every "where in the file" error (configs, scenario files). */
int jsonpos_error(struct wh_error *err, const char *text, size_t len, const char *source,
                  const char *ptr, const char *fmt, va_list ap) __attribute__((format(printf, 6, 0)));

/* Append one segment to a pointer with RFC 6901 escaping (~ -> ~0, / -> ~1). */
int jsonpos_pointer_append(struct buf *ptr, const char *segment);

#endif
