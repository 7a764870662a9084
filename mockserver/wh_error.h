/* wh_error: the error value every fallible webhooky function fills in.
 *
 * A function that can fail returns 0 or a negative errno-style code and, when the caller passed
 * a non-NULL struct wh_error, writes one human-readable sentence into it. Modules never print;
 * the command at the top prints the message once. */
#ifndef WEBHOOKY_WH_ERROR_H
#define WEBHOOKY_WH_ERROR_H

#include <stddef.h>

struct wh_error {
    int code;      /* the negative errno-style code that was returned */
    char msg[512]; /* NUL-terminated sentence naming the problem; "" when none */
};

/* Record `code` and a printf-style message in `err` (NULL is allowed and ignored). Returns
 * `code`, so a caller can write `return wh_error_set(err, -EINVAL, "...")`. */
int wh_error_set(struct wh_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefix the message already in `err` with a printf-style context ("config.json: " + msg).
 * Returns err->code (0 when err is NULL). */
int wh_error_prefix(struct wh_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
