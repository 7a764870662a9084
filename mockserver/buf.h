/* buf: a growable byte buffer with an upper limit, for bytes a client controls.
 *
 * Caller-owned storage: buf_init() then buf_finish(). Appending past the limit fails with
 * -E2BIG and leaves the contents unchanged, so a capped capture never grows without bound.
 * The contents are always followed by one NUL byte (not counted in len) so text can be used
 * as a C string. */
#ifndef WEBHOOKY_BUF_H
#define WEBHOOKY_BUF_H

#include <stdarg.h>
#include <stdint.h>
#include <stddef.h>

struct buf {
    char *data;   /* owned; NULL until the first append */
    size_t len;   /* bytes in use, excluding the trailing NUL */
    size_t cap;   /* bytes allocated */
    size_t limit; /* maximum len; 0 means no limit */
};

void buf_init(struct buf *b, size_t limit);
/* Free the storage; the buffer may be reused after buf_init(). NULL-safe. */
void buf_finish(struct buf *b);
/* Forget the contents, keep the storage. */
void buf_reset(struct buf *b);

/* Make room for `extra` more bytes without appending: 0, -ENOMEM, -E2BIG. */
int buf_reserve(struct buf *b, size_t extra);

/* 0, -ENOMEM, or -E2BIG when the limit would be passed (nothing is appended then). */
int buf_append(struct buf *b, const void *data, size_t len);
int buf_append_str(struct buf *b, const char *s);
int buf_append_byte(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* Append the whole file at path: 0, -errno from opening or reading it, -E2BIG past the
 * buffer's limit, -ENOMEM. */
int buf_read_file(struct buf *b, const char *path);

/* Hand the contents to the caller (free() it) and reset the buffer to empty. Returns NULL
 * when nothing was ever appended; *ret_len receives the length when non-NULL. */
char *buf_steal(struct buf *b, size_t *ret_len);

#endif
