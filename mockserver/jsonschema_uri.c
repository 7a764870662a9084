#include "jsonschema_uri.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

struct span {
    const char *s;
    size_t n;
    bool present; /* for authority, query and fragment: "//", "?", "#" was there */
};

struct parts {
    struct span scheme, auth, path, query, frag;
};

static bool scheme_char(char c, bool first)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return true;
    return !first && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.');
}

static void split(const char *s, struct parts *p)
{
    memset(p, 0, sizeof(*p));
    size_t n = strlen(s), i = 0;
    size_t j = 0;
    while (j < n && scheme_char(s[j], j == 0))
        j++;
    if (j > 0 && j < n && s[j] == ':') {
        p->scheme = (struct span){s, j, true};
        i = j + 1;
    }
    if (n - i >= 2 && s[i] == '/' && s[i + 1] == '/') {
        size_t a = i + 2, k = a;
        while (k < n && s[k] != '/' && s[k] != '?' && s[k] != '#')
            k++;
        p->auth = (struct span){s + a, k - a, true};
        i = k;
    }
    size_t k = i;
    while (k < n && s[k] != '?' && s[k] != '#')
        k++;
    p->path = (struct span){s + i, k - i, true};
    i = k;
    if (i < n && s[i] == '?') {
        k = i + 1;
        while (k < n && s[k] != '#')
            k++;
        p->query = (struct span){s + i + 1, k - i - 1, true};
        i = k;
    }
    if (i < n && s[i] == '#')
        p->frag = (struct span){s + i + 1, n - i - 1, true};
}

/* RFC 3986 section 5.2.4, appending the result to out */
static int remove_dots(struct buf *out, const char *path, size_t n)
{
    char *in = malloc(n + 1);
    if (!in)
        return -ENOMEM;
    memcpy(in, path, n);
    in[n] = '\0';
    size_t start = out->len, i = 0;
    int r = 0;
    while (i < n && r == 0) {
        const char *p = in + i;
        size_t left = n - i;
        if (left >= 3 && strncmp(p, "../", 3) == 0) {
            i += 3;
        } else if (left >= 2 && strncmp(p, "./", 2) == 0) {
            i += 2;
        } else if (left >= 3 && strncmp(p, "/./", 3) == 0) {
            i += 2;
        } else if (left == 2 && strncmp(p, "/.", 2) == 0) {
            i += 1;
            in[i] = '/';
        } else if ((left >= 4 && strncmp(p, "/../", 4) == 0) ||
                   (left == 3 && strncmp(p, "/..", 3) == 0)) {
            if (left == 3) {
                i += 2;
                in[i] = '/';
            } else {
                i += 3;
            }
            size_t k = out->len;
            while (k > start && out->data[k - 1] != '/')
                k--;
            out->len = k > start ? k - 1 : start;
            if (out->data)
                out->data[out->len] = '\0';
        } else if ((left == 1 && p[0] == '.') || (left == 2 && strncmp(p, "..", 2) == 0)) {
            i = n;
        } else {
            size_t k = 1;
            while (k < left && p[k] != '/')
                k++;
            if (p[0] != '/') {
                k = 0;
                while (k < left && p[k] != '/')
                    k++;
            }
            r = buf_append(out, p, k);
            i += k;
        }
    }
    free(in);
    return r;
}

int jsonschema_uri_resolve(const char *base, const char *ref, char **ret)
{
    struct parts b, r;
    split(base ? base : "", &b);
    split(ref, &r);
    struct buf out;
    buf_init(&out, 0);
    int rc = 0;
    struct span scheme = r.scheme.present ? r.scheme : b.scheme;
    if (scheme.present) {
        for (size_t i = 0; i < scheme.n && rc == 0; i++) {
            char c = scheme.s[i];
            rc = buf_append_byte(&out, c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c);
        }
        if (rc == 0)
            rc = buf_append_byte(&out, ':');
    }
    struct span auth, query;
    if (r.scheme.present || r.auth.present) {
        auth = r.auth;
        query = r.query;
    } else {
        auth = b.auth;
        query = r.path.n == 0 && !r.query.present ? b.query : r.query;
    }
    if (rc == 0 && auth.present) {
        rc = buf_append_str(&out, "//");
        if (rc == 0)
            rc = buf_append(&out, auth.s, auth.n);
    }
    if (rc == 0) {
        if (r.scheme.present || r.auth.present) {
            rc = remove_dots(&out, r.path.s, r.path.n);
        } else if (r.path.n == 0) {
            rc = buf_append(&out, b.path.s, b.path.n);
        } else if (r.path.s[0] == '/') {
            rc = remove_dots(&out, r.path.s, r.path.n);
        } else {
            /* merge: the base path up to its last '/', then the reference */
            struct buf merged;
            buf_init(&merged, 0);
            if (b.auth.present && b.path.n == 0) {
                rc = buf_append_byte(&merged, '/');
            } else {
                size_t k = b.path.n;
                while (k > 0 && b.path.s[k - 1] != '/')
                    k--;
                rc = buf_append(&merged, b.path.s, k);
            }
            if (rc == 0)
                rc = buf_append(&merged, r.path.s, r.path.n);
            if (rc == 0)
                rc = remove_dots(&out, merged.data ? merged.data : "", merged.len);
            buf_finish(&merged);
        }
    }
    if (rc == 0 && query.present) {
        rc = buf_append_byte(&out, '?');
        if (rc == 0)
            rc = buf_append(&out, query.s, query.n);
    }
    if (rc == 0 && r.frag.present) {
        rc = buf_append_byte(&out, '#');
        if (rc == 0)
            rc = buf_append(&out, r.frag.s, r.frag.n);
    }
    if (rc == 0 && !out.data)
        rc = buf_append(&out, "", 0);
    if (rc < 0) {
        buf_finish(&out);
        return -ENOMEM;
    }
    char *s = buf_steal(&out, NULL);
    if (!s) {
        s = calloc(1, 1);
        if (!s)
            return -ENOMEM;
    }
    *ret = s;
    return 0;
}

size_t jsonschema_uri_fragment_at(const char *uri)
{
    const char *h = strchr(uri, '#');
    return h ? (size_t)(h - uri) : strlen(uri);
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

int jsonschema_uri_unescape(const char *s, size_t len, char **ret, size_t *ret_len)
{
    char *out = malloc(len + 1);
    if (!out)
        return -ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '%') {
            out[n++] = s[i];
            continue;
        }
        if (len - i < 3 || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0) {
            free(out);
            return -EINVAL;
        }
        out[n++] = (char)(hexval(s[i + 1]) << 4 | hexval(s[i + 2]));
        i += 2;
    }
    out[n] = '\0';
    *ret = out;
    *ret_len = n;
    return 0;
}
