#include "jsonpos.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

struct scan {
    const char *p, *end;
};

static void skip_ws(struct scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool read_hex4(struct scan *s, uint32_t *ret)
{
    if (s->end - s->p < 4)
        return false;
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(s->p[i]);
        if (h < 0)
            return false;
        v = v << 4 | (uint32_t)h;
    }
    s->p += 4;
    *ret = v;
    return true;
}

static void put_utf8(struct buf *b, uint32_t cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | cp >> 6);
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | cp >> 12);
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | cp >> 18);
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    buf_append(b, u, n);
}

/* Scan a string at s->p (which is '"'); decode it into out when out is non-NULL. */
static bool scan_string(struct scan *s, struct buf *out)
{
    if (s->p >= s->end || *s->p != '"')
        return false;
    s->p++;
    while (s->p < s->end) {
        char c = *s->p++;
        if (c == '"')
            return true;
        if (c != '\\') {
            if (out)
                buf_append_byte(out, c);
            continue;
        }
        if (s->p >= s->end)
            return false;
        c = *s->p++;
        uint32_t cp;
        switch (c) {
        case 'b': cp = '\b'; break;
        case 'f': cp = '\f'; break;
        case 'n': cp = '\n'; break;
        case 'r': cp = '\r'; break;
        case 't': cp = '\t'; break;
        case 'u':
            if (!read_hex4(s, &cp))
                return false;
            if (cp >= 0xD800 && cp <= 0xDBFF && s->end - s->p >= 6 && s->p[0] == '\\' &&
                s->p[1] == 'u') {
                struct scan save = *s;
                uint32_t lo;
                s->p += 2;
                if (read_hex4(s, &lo) && lo >= 0xDC00 && lo <= 0xDFFF)
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                else
                    *s = save;
            }
            break;
        default: cp = (unsigned char)c; break;
        }
        if (out)
            put_utf8(out, cp);
    }
    return false;
}

static bool skip_value(struct scan *s, int depth);

static bool skip_container(struct scan *s, char close, int depth)
{
    s->p++;
    skip_ws(s);
    if (s->p < s->end && *s->p == close) {
        s->p++;
        return true;
    }
    for (;;) {
        skip_ws(s);
        if (close == '}') {
            if (!scan_string(s, NULL))
                return false;
            skip_ws(s);
            if (s->p >= s->end || *s->p != ':')
                return false;
            s->p++;
            skip_ws(s);
        }
        if (!skip_value(s, depth + 1))
            return false;
        skip_ws(s);
        if (s->p >= s->end)
            return false;
        if (*s->p == ',') {
            s->p++;
            continue;
        }
        if (*s->p == close) {
            s->p++;
            return true;
        }
        return false;
    }
}

static bool skip_value(struct scan *s, int depth)
{
    if (depth > 512 || s->p >= s->end)
        return false;
    switch (*s->p) {
    case '"':
        return scan_string(s, NULL);
    case '{':
        return skip_container(s, '}', depth);
    case '[':
        return skip_container(s, ']', depth);
    default:
        /* number, true, false, null: a run of token characters */
        if (!strchr("-0123456789tfn", *s->p))
            return false;
        while (s->p < s->end && strchr("+-.0123456789eEtruefalsn", *s->p))
            s->p++;
        return true;
    }
}

/* Next pointer segment (unescaped) from *ptr into seg; false at the end. */
static bool next_segment(const char **ptr, struct buf *seg)
{
    if (**ptr != '/')
        return false;
    (*ptr)++;
    buf_reset(seg);
    buf_append(seg, "", 0);
    while (**ptr && **ptr != '/') {
        if (**ptr == '~' && ((*ptr)[1] == '0' || (*ptr)[1] == '1')) {
            buf_append_byte(seg, (*ptr)[1] == '0' ? '~' : '/');
            *ptr += 2;
        } else {
            buf_append_byte(seg, **ptr);
            (*ptr)++;
        }
    }
    return true;
}

/* Position of the target at s->p, or NULL. */
static const char *find(struct scan *s, const char *ptr)
{
    struct buf seg, key;
    buf_init(&seg, 4096);
    buf_init(&key, 4096);
    const char *found = NULL;
    skip_ws(s);
    while (next_segment(&ptr, &seg)) {
        skip_ws(s);
        if (s->p >= s->end)
            goto out;
        bool last = *ptr == '\0';
        if (*s->p == '{') {
            s->p++;
            bool hit = false;
            for (;;) {
                skip_ws(s);
                const char *kpos = s->p;
                buf_reset(&key);
                buf_append(&key, "", 0);
                if (!scan_string(s, &key))
                    goto out;
                skip_ws(s);
                if (s->p >= s->end || *s->p != ':')
                    goto out;
                s->p++;
                skip_ws(s);
                if (key.len == seg.len && memcmp(key.data, seg.data, seg.len) == 0) {
                    if (last) {
                        found = kpos;
                        goto out;
                    }
                    hit = true;
                    break;
                }
                if (!skip_value(s, 0))
                    goto out;
                skip_ws(s);
                if (s->p >= s->end || *s->p != ',')
                    goto out;
                s->p++;
            }
            if (!hit)
                goto out;
        } else if (*s->p == '[') {
            /* RFC 6901: "0", or digits without a leading zero */
            if (!seg.len || strspn(seg.data, "0123456789") != seg.len ||
                (seg.len > 1 && seg.data[0] == '0') || seg.len > 9)
                goto out;
            unsigned long idx = strtoul(seg.data, NULL, 10);
            s->p++;
            for (unsigned long i = 0; i < idx; i++) {
                skip_ws(s);
                if (!skip_value(s, 0))
                    goto out;
                skip_ws(s);
                if (s->p >= s->end || *s->p != ',')
                    goto out;
                s->p++;
            }
            skip_ws(s);
            if (s->p >= s->end || *s->p == ']')
                goto out;
            if (last) {
                found = s->p;
                goto out;
            }
        } else {
            goto out;
        }
    }
    if (*ptr == '\0' && !found && seg.data == NULL)
        found = s->p; /* empty pointer: the document itself */
out:
    buf_finish(&seg);
    buf_finish(&key);
    return found;
}

int jsonpos_find(const char *text, size_t len, const char *ptr, int *ret_line, int *ret_col)
{
    struct scan s = {text, text + len};
    const char *at = find(&s, ptr ? ptr : "");
    if (!at)
        return -ENOENT;
    int line = 1, col = 1;
    for (const char *p = text; p < at; p++) {
        if (*p == '\n') {
            line++;
            col = 1;
        } else if (((unsigned char)*p & 0xC0) != 0x80) {
            col++;
        }
    }
    *ret_line = line;
    *ret_col = col;
    return 0;
}

int jsonpos_pointer_to_path(struct buf *out, const char *ptr)
{
    if (!ptr || !*ptr)
        return buf_append_str(out, "(top level)");
    struct buf seg;
    buf_init(&seg, 0);
    bool first = true;
    int r = 0;
    while (r == 0 && next_segment(&ptr, &seg)) {
        bool index = seg.len > 0 && strspn(seg.data, "0123456789") == seg.len;
        if (index)
            r = buf_printf(out, "[%s]", seg.data);
        else
            r = buf_printf(out, "%s%s", first ? "" : ".", seg.data);
        first = false;
    }
    buf_finish(&seg);
    return r;
}

int jsonpos_pointer_append(struct buf *ptr, const char *segment)
{
    int r = buf_append_byte(ptr, '/');
    for (const char *c = segment; r == 0 && *c; c++) {
        if (*c == '~')
            r = buf_append(ptr, "~0", 2);
        else if (*c == '/')
            r = buf_append(ptr, "~1", 2);
        else
            r = buf_append_byte(ptr, *c);
    }
    return r;
}

int jsonpos_error(struct wh_error *err, const char *text, size_t len, const char *source,
                  const char *ptr, const char *fmt, va_list ap)
{
    struct buf where, what;
    buf_init(&where, 0);
    buf_init(&what, 0);
    int line = 0, col = 0;
    if (jsonpos_find(text, len, ptr, &line, &col) == 0)
        buf_printf(&where, "%s:%d:%d", source, line, col);
    else
        buf_printf(&where, "%s", source);
    jsonpos_pointer_to_path(&what, ptr);
    char msg[400];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    int r = wh_error_set(err, -EINVAL, "%s: %s: %s", where.data ? where.data : source,
                         what.data ? what.data : "", msg);
    buf_finish(&where);
    buf_finish(&what);
    return r;
}
