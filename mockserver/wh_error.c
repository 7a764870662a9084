#include "wh_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int wh_error_set(struct wh_error *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

int wh_error_prefix(struct wh_error *err, const char *fmt, ...)
{
    if (!err)
        return 0;
    char prefix[256];
    char old[sizeof(err->msg)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof(old));
    size_t pl = strnlen(prefix, sizeof(prefix));
    size_t ol = strnlen(old, sizeof(old));
    if (pl > sizeof(err->msg) - 1)
        pl = sizeof(err->msg) - 1;
    if (ol > sizeof(err->msg) - 1 - pl)
        ol = sizeof(err->msg) - 1 - pl;
    memcpy(err->msg, prefix, pl);
    memcpy(err->msg + pl, old, ol);
    err->msg[pl + ol] = '\0';
    return err->code;
}
