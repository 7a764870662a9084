#include "encode.h"

#include <errno.h>
#include <string.h>
#include <time.h>

size_t encode_utf8_seq(const void *data, size_t avail)
{
    const unsigned char *p = data;
    if (avail == 0)
        return 0;
    unsigned char c = p[0];
    if (c < 0x80)
        return 1;
    size_t n;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (avail < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    if (cp >= 0xD800 && cp <= 0xDFFF)
        return 0;
    return n;
}

bool encode_utf8_valid(const void *data, size_t len)
{
    const unsigned char *p = data;
    size_t i = 0;
    while (i < len) {
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        size_t n = encode_utf8_seq(p + i, len - i);
        if (!n)
            return false;
        i += n;
    }
    return true;
}

json_t *encode_json_string(const void *data, size_t len)
{
    if (encode_utf8_valid(data, len))
        return json_stringn_nocheck(data ? data : "", len);
    const unsigned char *p = data;
    struct buf b;
    buf_init(&b, 0);
    size_t i = 0;
    int r = 0;
    while (i < len && r == 0) {
        size_t n = encode_utf8_seq(p + i, len - i);
        if (n) {
            r = buf_append(&b, p + i, n);
            i += n;
        } else {
            char two[2] = {(char)(0xC0 | (p[i] >> 6)), (char)(0x80 | (p[i] & 0x3F))};
            r = buf_append(&b, two, 2);
            i++;
        }
    }
    json_t *s = r == 0 ? json_stringn_nocheck(b.data ? b.data : "", b.len) : NULL;
    buf_finish(&b);
    return s;
}

int encode_base64(struct buf *out, const void *data, size_t len)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *p = data;
    char q[4];
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < len)
            v |= p[i + 2];
        q[0] = tbl[(v >> 18) & 63];
        q[1] = tbl[(v >> 12) & 63];
        q[2] = i + 1 < len ? tbl[(v >> 6) & 63] : '=';
        q[3] = i + 2 < len ? tbl[v & 63] : '=';
        int r = buf_append(out, q, 4);
        if (r < 0)
            return r;
    }
    return 0;
}

int encode_rfc3339_us(struct buf *out, int64_t us)
{
    int64_t secs = us / 1000000;
    int64_t frac = us % 1000000;
    if (frac < 0) {
        frac += 1000000;
        secs -= 1;
    }
    time_t t = (time_t)secs;
    struct tm tm;
    if (!gmtime_r(&t, &tm))
        return -EINVAL;
    return buf_printf(out, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                      tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                      (long long)frac);
}

int encode_terminal(struct buf *out, const void *data, size_t len, bool keep_newlines)
{
    const unsigned char *p = data;
    size_t i = 0;
    int r = 0;
    while (i < len && r == 0) {
        unsigned char c = p[i];
        if (c >= 0x20 && c < 0x7F && c != '\\') {
            /* copy the run of plain ASCII in one go */
            size_t j = i + 1;
            while (j < len && p[j] >= 0x20 && p[j] < 0x7F && p[j] != '\\')
                j++;
            r = buf_append(out, p + i, j - i);
            i = j;
            continue;
        }
        if (c == '\\') {
            r = buf_append(out, "\\\\", 2);
        } else if ((c == '\n' || c == '\t') && keep_newlines) {
            r = buf_append_byte(out, (char)c);
        } else if (c == '\n') {
            r = buf_append(out, "\\n", 2);
        } else if (c == '\t') {
            r = buf_append(out, "\\t", 2);
        } else if (c == '\r') {
            r = buf_append(out, "\\r", 2);
        } else if (c == 0x1B) {
            r = buf_append(out, "\\e", 2);
        } else if (c >= 0x80) {
            size_t n = encode_utf8_seq(p + i, len - i);
            /* C1 controls (U+0080..U+009F) are as dangerous as C0 ones on a terminal */
            if (n == 2 && c == 0xC2 && p[i + 1] < 0xA0)
                n = 0;
            if (n) {
                r = buf_append(out, p + i, n);
                i += n;
                continue;
            }
            r = buf_printf(out, "\\x%02X", c);
        } else {
            r = buf_printf(out, "\\x%02X", c);
        }
        i++;
    }
    return r;
}

int encode_terminal_json(struct buf *out, const char *json, size_t len)
{
    const unsigned char *p = (const unsigned char *)json;
    size_t i = 0, run = 0;
    int r = 0;
    while (i < len && r == 0) {
        unsigned char c = p[i];
        unsigned cp = 0;
        size_t n = 0;
        if (c == 0x7F || (c < 0x20 && c != '\n')) {
            cp = c;
            n = 1;
        } else if (c == 0xC2 && i + 1 < len && p[i + 1] >= 0x80 && p[i + 1] < 0xA0) {
            cp = p[i + 1];
            n = 2;
        }
        if (!n) {
            i++;
            continue;
        }
        r = buf_append(out, p + run, i - run);
        if (r == 0)
            r = buf_printf(out, "\\u%04x", cp);
        i += n;
        run = i;
    }
    if (r == 0)
        r = buf_append(out, p + run, len - run);
    return r;
}

int encode_markup(struct buf *out, const void *data, size_t len, bool in_attribute)
{
    static const char replacement[] = "\xEF\xBF\xBD"; /* U+FFFD */
    const unsigned char *p = data;
    size_t i = 0;
    int r = 0;
    while (i < len && r == 0) {
        unsigned char c = p[i];
        size_t j = i;
        while (j < len && p[j] >= 0x20 && p[j] < 0x7F && !strchr("&<>\"'", p[j]))
            j++;
        if (j > i) {
            r = buf_append(out, p + i, j - i);
            i = j;
            continue;
        }
        const char *ent = NULL;
        switch (c) {
        case '&': ent = "&amp;"; break;
        case '<': ent = "&lt;"; break;
        case '>': ent = "&gt;"; break;
        case '"': ent = "&quot;"; break;
        case '\'': ent = "&#39;"; break;
        case '\r': ent = "&#13;"; break;
        case '\n': ent = in_attribute ? "&#10;" : "\n"; break;
        case '\t': ent = in_attribute ? "&#9;" : "\t"; break;
        default: break;
        }
        if (ent) {
            r = buf_append_str(out, ent);
            i++;
            continue;
        }
        if (c < 0x20) {
            /* U+2400 + c: E2 90 80+c */
            char pic[3] = {(char)0xE2, (char)0x90, (char)(0x80 + c)};
            r = buf_append(out, pic, 3);
            i++;
            continue;
        }
        if (c == 0x7F) {
            r = buf_append(out, "\xE2\x90\xA1", 3);
            i++;
            continue;
        }
        size_t n = encode_utf8_seq(p + i, len - i);
        bool c1 = n == 2 && c == 0xC2 && p[i + 1] < 0xA0;
        bool nonchar = n == 3 && c == 0xEF && p[i + 1] == 0xBF && p[i + 2] >= 0xBE;
        if (n && !c1 && !nonchar) {
            r = buf_append(out, p + i, n);
            i += n;
        } else {
            r = buf_append(out, replacement, 3);
            i += n ? n : 1;
        }
    }
    return r;
}

const char *encode_json_type(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}
