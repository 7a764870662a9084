#include "jsonschema_format.h"

#include <stdint.h>
#include <string.h>

#include "jsonschema_regex.h"

static const struct {
    const char *name;
    const char *describe;
} formats[] = {
    [JSONSCHEMA_FORMAT_UNKNOWN] = {"", ""},
    [JSONSCHEMA_FORMAT_DATE_TIME] = {"date-time",
                                     "an RFC 3339 date-time such as 2024-05-14T09:21:47Z"},
    [JSONSCHEMA_FORMAT_DATE] = {"date", "an RFC 3339 date such as 2024-05-14"},
    [JSONSCHEMA_FORMAT_TIME] = {"time", "an RFC 3339 time with an offset such as 09:21:47Z"},
    [JSONSCHEMA_FORMAT_EMAIL] = {"email", "an email address"},
    [JSONSCHEMA_FORMAT_HOSTNAME] = {"hostname", "a host name"},
    [JSONSCHEMA_FORMAT_IPV4] = {"ipv4", "an IPv4 address"},
    [JSONSCHEMA_FORMAT_IPV6] = {"ipv6", "an IPv6 address"},
    [JSONSCHEMA_FORMAT_URI] = {"uri", "an absolute URI"},
    [JSONSCHEMA_FORMAT_URI_REFERENCE] = {"uri-reference", "a URI reference"},
    [JSONSCHEMA_FORMAT_UUID] = {"uuid", "a UUID such as 123e4567-e89b-12d3-a456-426614174000"},
    [JSONSCHEMA_FORMAT_REGEX] = {"regex", "a regular expression"},
    [JSONSCHEMA_FORMAT_JSON_POINTER] = {"json-pointer", "a JSON pointer"},
};

#define N_FORMATS (sizeof(formats) / sizeof(formats[0]))

enum jsonschema_format jsonschema_format_lookup(const char *name)
{
    for (size_t i = 1; i < N_FORMATS; i++)
        if (strcmp(formats[i].name, name) == 0)
            return (enum jsonschema_format)i;
    return JSONSCHEMA_FORMAT_UNKNOWN;
}

const char *jsonschema_format_name(enum jsonschema_format f)
{
    return (size_t)f < N_FORMATS ? formats[f].name : "";
}

const char *jsonschema_format_describe(enum jsonschema_format f)
{
    return (size_t)f < N_FORMATS ? formats[f].describe : "";
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* n digits at s as a number, -1 when any is not a digit */
static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!is_digit(s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* ---- dates and times (RFC 3339 section 5.6) ---- */

static bool date(const char *s, size_t n)
{
    if (n != 10 || s[4] != '-' || s[7] != '-')
        return false;
    int y = digits(s, 4), m = digits(s + 5, 2), d = digits(s + 8, 2);
    if (y < 0 || m < 1 || m > 12 || d < 1)
        return false;
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int max = mdays[m - 1];
    if (m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))
        max = 29;
    return d <= max;
}

/* full-time: HH:MM:SS[.frac](Z|+HH:MM|-HH:MM) */
static bool full_time(const char *s, size_t n)
{
    if (n < 9 || s[2] != ':' || s[5] != ':')
        return false;
    int h = digits(s, 2), m = digits(s + 3, 2), sec = digits(s + 6, 2);
    if (h < 0 || h > 23 || m < 0 || m > 59 || sec < 0 || sec > 60)
        return false;
    size_t i = 8;
    if (i < n && s[i] == '.') {
        size_t start = ++i;
        while (i < n && is_digit(s[i]))
            i++;
        if (i == start)
            return false;
    }
    if (i >= n)
        return false; /* the offset is required */
    int off = 0;
    if (s[i] == 'Z' || s[i] == 'z') {
        if (i + 1 != n)
            return false;
    } else if (s[i] == '+' || s[i] == '-') {
        if (n - i != 6 || s[i + 3] != ':')
            return false;
        int oh = digits(s + i + 1, 2), om = digits(s + i + 4, 2);
        if (oh < 0 || oh > 23 || om < 0 || om > 59)
            return false;
        off = (oh * 60 + om) * (s[i] == '+' ? 1 : -1);
    } else {
        return false;
    }
    if (sec == 60) { /* a leap second is 23:59:60 in UTC */
        int utc = ((h * 60 + m - off) % 1440 + 1440) % 1440;
        if (utc != 23 * 60 + 59)
            return false;
    }
    return true;
}

static bool date_time(const char *s, size_t n)
{
    return n > 11 && (s[10] == 'T' || s[10] == 't') && date(s, 10) && full_time(s + 11, n - 11);
}

/* ---- addresses and names ---- */

static bool ipv4(const char *s, size_t n)
{
    size_t i = 0;
    for (int part = 0; part < 4; part++) {
        if (part > 0) {
            if (i >= n || s[i] != '.')
                return false;
            i++;
        }
        size_t start = i;
        int v = 0;
        while (i < n && is_digit(s[i]) && i - start < 3)
            v = v * 10 + (s[i++] - '0');
        size_t len = i - start;
        if (len == 0 || v > 255 || (len > 1 && s[start] == '0'))
            return false;
    }
    return i == n;
}

static bool ipv6(const char *s, size_t n)
{
    size_t i = 0;
    int groups = 0;
    bool compressed = false;
    if (n < 2)
        return false;
    if (s[0] == ':') {
        if (s[1] != ':')
            return false;
        compressed = true;
        i = 2;
        if (i == n)
            return true;
    }
    for (;;) {
        size_t start = i;
        while (i < n && i - start < 5 && is_hex(s[i]))
            i++;
        if (i < n && s[i] == '.') { /* an IPv4 tail, the last two groups */
            if (!ipv4(s + start, n - start))
                return false;
            groups += 2;
            break;
        }
        if (i == start || i - start > 4)
            return false;
        groups++;
        if (i == n)
            break;
        if (s[i] != ':')
            return false;
        i++;
        if (i < n && s[i] == ':') {
            if (compressed)
                return false;
            compressed = true;
            i++;
            if (i == n)
                break;
        } else if (i == n) {
            return false;
        }
    }
    return compressed ? groups <= 7 : groups == 8;
}

static bool hostname(const char *s, size_t n)
{
    if (n == 0 || n > 253)
        return false;
    size_t label = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == '.') {
            if (label == 0 || label > 63 || s[i - 1] == '-')
                return false;
            label = 0;
            continue;
        }
        char c = s[i];
        if (!is_alpha(c) && !is_digit(c) && c != '-')
            return false;
        if (c == '-' && label == 0)
            return false;
        label++;
    }
    return true;
}

static bool atext(char c)
{
    return is_alpha(c) || is_digit(c) || (c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

static bool email(const char *s, size_t n)
{
    size_t i = 0;
    if (n && s[0] == '"') { /* quoted-string */
        i = 1;
        for (;;) {
            if (i >= n)
                return false;
            char c = s[i];
            if (c == '"')
                break;
            if (c == '\\') {
                if (i + 1 >= n || s[i + 1] < 0x20 || s[i + 1] > 0x7E)
                    return false;
                i += 2;
            } else if (c >= 0x20 && c <= 0x7E) {
                i++;
            } else {
                return false;
            }
        }
        i++;
    } else { /* dot-atom */
        bool need_atext = true;
        while (i < n && s[i] != '@') {
            if (s[i] == '.') {
                if (need_atext)
                    return false;
                need_atext = true;
            } else if (atext(s[i])) {
                need_atext = false;
            } else {
                return false;
            }
            i++;
        }
        if (need_atext)
            return false;
    }
    if (i > 64 || i >= n || s[i] != '@')
        return false;
    const char *d = s + i + 1;
    size_t dn = n - i - 1;
    if (dn >= 2 && d[0] == '[' && d[dn - 1] == ']') {
        if (dn > 7 && strncmp(d + 1, "IPv6:", 5) == 0)
            return ipv6(d + 6, dn - 7);
        return ipv4(d + 1, dn - 2);
    }
    return hostname(d, dn);
}

static bool uuid(const char *s, size_t n)
{
    if (n != 36)
        return false;
    for (size_t i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return false;
        } else if (!is_hex(s[i])) {
            return false;
        }
    }
    return true;
}

static bool json_pointer(const char *s, size_t n)
{
    if (n && s[0] != '/')
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '~' && (i + 1 >= n || (s[i + 1] != '0' && s[i + 1] != '1')))
            return false;
    return true;
}

/* ---- URIs (RFC 3986 section 3 and 4.1) ---- */

static bool unreserved(char c)
{
    return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

static bool sub_delim(char c)
{
    return c && strchr("!$&'()*+,;=", c);
}

/* One character of a component at s[*i] that may be any of the extra characters; a percent
 * escape counts as one. Advances *i. */
static bool uri_char(const char *s, size_t n, size_t *i, const char *extra)
{
    char c = s[*i];
    if (c == '%') {
        if (n - *i < 3)
            return false;
        if (!is_hex(s[*i + 1]) || !is_hex(s[*i + 2]))
            return false;
        *i += 3;
        return true;
    }
    if (unreserved(c) || sub_delim(c) || (c && strchr(extra, c))) {
        (*i)++;
        return true;
    }
    return false;
}

static bool authority(const char *s, size_t n)
{
    size_t i = 0;
    const char *at = memchr(s, '@', n);
    if (at) {
        size_t un = (size_t)(at - s);
        while (i < un)
            if (!uri_char(s, un, &i, ":"))
                return false;
        i = un + 1;
    }
    if (i < n && s[i] == '[') {
        const char *close = memchr(s + i, ']', n - i);
        if (!close)
            return false;
        const char *lit = s + i + 1;
        size_t ln = (size_t)(close - lit);
        if (ln > 0 && (lit[0] == 'v' || lit[0] == 'V')) { /* IPvFuture */
            size_t k = 1;
            while (k < ln && is_hex(lit[k]))
                k++;
            if (k == 1 || k >= ln || lit[k] != '.' || k + 1 >= ln)
                return false;
            for (k++; k < ln; k++)
                if (!unreserved(lit[k]) && !sub_delim(lit[k]) && lit[k] != ':')
                    return false;
        } else if (!ipv6(lit, ln)) {
            return false;
        }
        i = (size_t)(close - s) + 1;
    } else {
        while (i < n && s[i] != ':')
            if (!uri_char(s, n, &i, ""))
                return false;
    }
    if (i < n) {
        if (s[i] != ':')
            return false;
        for (i++; i < n; i++)
            if (!is_digit(s[i]))
                return false;
    }
    return true;
}

static bool uri_reference(const char *s, size_t n, bool need_scheme)
{
    size_t i = 0;
    bool scheme = false;
    if (n && is_alpha(s[0])) {
        size_t j = 1;
        while (j < n &&
               (is_alpha(s[j]) || is_digit(s[j]) || s[j] == '+' || s[j] == '-' || s[j] == '.'))
            j++;
        if (j < n && s[j] == ':') {
            scheme = true;
            i = j + 1;
        }
    }
    if (need_scheme && !scheme)
        return false;
    bool noscheme_path = !scheme; /* a relative path: no ':' in its first segment */
    if (n - i >= 2 && s[i] == '/' && s[i + 1] == '/') {
        i += 2;
        size_t a = i;
        while (i < n && s[i] != '/' && s[i] != '?' && s[i] != '#')
            i++;
        if (!authority(s + a, i - a))
            return false;
        noscheme_path = false;
    }
    bool first_segment = true;
    while (i < n && s[i] != '?' && s[i] != '#') {
        if (s[i] == '/') {
            first_segment = false;
            i++;
            continue;
        }
        if (s[i] == ':' && noscheme_path && first_segment)
            return false;
        if (!uri_char(s, n, &i, ":@"))
            return false;
    }
    if (i < n && s[i] == '?') {
        i++;
        while (i < n && s[i] != '#')
            if (!uri_char(s, n, &i, ":@/?"))
                return false;
    }
    if (i < n && s[i] == '#') {
        i++;
        while (i < n)
            if (!uri_char(s, n, &i, ":@/?"))
                return false;
    }
    return true;
}

bool jsonschema_format_check(enum jsonschema_format f, const char *s, size_t len)
{
    switch (f) {
    case JSONSCHEMA_FORMAT_UNKNOWN:
        return true;
    case JSONSCHEMA_FORMAT_DATE_TIME:
        return date_time(s, len);
    case JSONSCHEMA_FORMAT_DATE:
        return date(s, len);
    case JSONSCHEMA_FORMAT_TIME:
        return full_time(s, len);
    case JSONSCHEMA_FORMAT_EMAIL:
        return email(s, len);
    case JSONSCHEMA_FORMAT_HOSTNAME:
        return hostname(s, len);
    case JSONSCHEMA_FORMAT_IPV4:
        return ipv4(s, len);
    case JSONSCHEMA_FORMAT_IPV6:
        return ipv6(s, len);
    case JSONSCHEMA_FORMAT_URI:
        return uri_reference(s, len, true);
    case JSONSCHEMA_FORMAT_URI_REFERENCE:
        return uri_reference(s, len, false);
    case JSONSCHEMA_FORMAT_UUID:
        return uuid(s, len);
    case JSONSCHEMA_FORMAT_REGEX:
        return jsonschema_regex_valid(s, len);
    case JSONSCHEMA_FORMAT_JSON_POINTER:
        return json_pointer(s, len);
    }
    return true;
}
