/* encode: turn captured bytes into text that is safe where it is shown.
 *
 * Captured requests are hostile: paths, headers and bodies may hold any byte. These helpers
 * make JSON strings, base64, RFC 3339 times and terminal-safe text out of them. They allocate
 * only through the buf they are handed and never fail silently. */
#ifndef WEBHOOKY_ENCODE_H
#define WEBHOOKY_ENCODE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* True when data[0..len) is well-formed UTF-8 (no overlongs, no surrogates, max U+10FFFF).
 * NUL bytes are allowed. */
bool encode_utf8_valid(const void *data, size_t len);
/* The length (1..4) of the well-formed UTF-8 sequence at data[0..avail), or 0 when there is
 * none (an invalid byte, a truncated sequence, an overlong form or a surrogate). */
size_t encode_utf8_seq(const void *data, size_t avail);

/* A new jansson string reference for data[0..len): the bytes as they are when they are valid
 * UTF-8, otherwise each byte of an invalid sequence is read as ISO-8859-1 (so 0xE9 becomes
 * U+00E9), the traditional reading of opaque HTTP header bytes. NULL on out of memory. */
json_t *encode_json_string(const void *data, size_t len);

/* Append standard base64 (RFC 4648, with padding) of data to out. */
int encode_base64(struct buf *out, const void *data, size_t len);

/* Append "2026-11-27T06:39:54.123456Z" for microseconds since the Unix epoch. */
int encode_rfc3339_us(struct buf *out, int64_t us);

/* Append text for a terminal: printable ASCII and valid UTF-8 pass through; control bytes,
 * DEL, C1 controls and invalid UTF-8 become \n, \t, \r, \e or \xNN escapes; a backslash is
 * doubled. With keep_newlines, '\n' and '\t' are written as they are (for bodies). */
int encode_terminal(struct buf *out, const void *data, size_t len, bool keep_newlines);

/* Append text for XML 1.0 or HTML, safe in element content and in quoted attribute values:
 * & < > " ' become &amp; &lt; &gt; &quot; &#39;, CR becomes &#13; (so it survives parsing);
 * with in_attribute, LF and tab become &#10; and &#9; too (attribute values are normalised
 * otherwise). What neither format allows, or allows only as a parse error, is replaced so the
 * document is always well-formed: C0 controls other than tab, LF and CR become their Unicode
 * control pictures (ESC as U+241B, NUL as U+2400), DEL becomes U+2421, C1 controls, U+FFFE,
 * U+FFFF and each byte of invalid UTF-8 become U+FFFD. */
int encode_markup(struct buf *out, const void *data, size_t len, bool in_attribute);

/* "an object", "an array", "a string", "an integer", "a number", "a boolean" or "null": the
 * type of a JSON value in words, for messages (static string). */
const char *encode_json_type(const json_t *v);

/* Append JSON text (as jansson writes it: valid UTF-8, C0 controls already escaped) made safe
 * for a terminal while staying the same JSON: DEL and the C1 controls U+0080..U+009F, which
 * jansson leaves raw, become \u007f and \u0080..\u009f; any other control byte except
 * newline becomes \u00XX. Backslashes are left alone. */
int encode_terminal_json(struct buf *out, const char *json, size_t len);

#endif
