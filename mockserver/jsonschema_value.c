#include "jsonschema_value.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* ---- arena ---- */

struct jsv_arena_chunk {
    struct jsv_arena_chunk *next;
    max_align_t data[];
};

#define ARENA_FIRST 4096
#define ARENA_MAX_STEP (1u << 20)

void jsv_arena_init(struct jsv_arena *a, void *buf, size_t size)
{
    a->chunks = NULL;
    a->next = ARENA_FIRST;
    /* align the caller's buffer */
    uintptr_t p = (uintptr_t)buf, q = (p + 7) & ~(uintptr_t)7;
    if (!buf || size < q - p + 8) {
        a->cur = a->end = NULL;
        return;
    }
    a->cur = (char *)q;
    a->end = (char *)p + size;
}

void *jsv_arena_alloc(struct jsv_arena *a, size_t size)
{
    size = (size + 7) & ~(size_t)7;
    if (size == 0)
        size = 8;
    if ((size_t)(a->end - a->cur) < size || !a->cur) {
        size_t want = size > a->next ? size : a->next;
        if (want > SIZE_MAX - sizeof(struct jsv_arena_chunk))
            return NULL;
        struct jsv_arena_chunk *c = malloc(sizeof(*c) + want);
        if (!c)
            return NULL;
        c->next = a->chunks;
        a->chunks = c;
        a->cur = (char *)c->data;
        a->end = a->cur + want;
        if (a->next < ARENA_MAX_STEP)
            a->next *= 2;
    }
    void *r = a->cur;
    a->cur += size;
    return r;
}

void jsv_arena_finish(struct jsv_arena *a)
{
    struct jsv_arena_chunk *c = a->chunks;
    while (c) {
        struct jsv_arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->chunks = NULL;
    a->cur = a->end = NULL;
}

/* ---- hashing ---- */

/* A per-process seed (never 0 once set), so that colliding keys cannot be prepared. */
static _Atomic uint64_t key_seed;
static pthread_once_t key_seed_once = PTHREAD_ONCE_INIT;

static void key_seed_init(void)
{
    uint64_t s = 0;
    if (getrandom(&s, sizeof(s), GRND_NONBLOCK) != (ssize_t)sizeof(s))
        s = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    atomic_store(&key_seed, s | 1);
}

static inline uint64_t mix64(uint64_t h, uint64_t w)
{
    h = (h ^ w) * 0xBF58476D1CE4E5B9ull;
    return h ^ (h >> 31);
}

/* Eight bytes at a time, multiply and shift (in the manner of splitmix64 and wyhash). */
uint32_t jsv_hash_key(const char *key, size_t len)
{
    uint64_t seed = atomic_load_explicit(&key_seed, memory_order_relaxed);
    if (!seed) {
        pthread_once(&key_seed_once, key_seed_init);
        seed = atomic_load(&key_seed);
    }
    uint64_t h = seed ^ ((uint64_t)len * 0x9E3779B97F4A7C15ull);
    const unsigned char *p = (const unsigned char *)key;
    size_t n = len;
    for (; n > 8; n -= 8, p += 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = mix64(h, w);
    }
    uint64_t w;
    if (len >= 8) { /* the last 8 bytes, overlapping the loop's */
        memcpy(&w, key + len - 8, 8);
    } else if (len >= 4) {
        uint32_t a, b;
        memcpy(&a, key, 4);
        memcpy(&b, key + len - 4, 4);
        w = (uint64_t)a << 32 | b;
    } else if (len > 0) {
        w = (uint64_t)p[0] << 16 | (uint64_t)p[len >> 1] << 8 | p[len - 1];
    } else {
        w = 0;
    }
    h = mix64(h, w) * 0x9E3779B97F4A7C15ull;
    return (uint32_t)(h >> 32);
}

/* ---- the C locale for strtod ---- */

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void c_locale_init(void)
{
    c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

static double strtod_c(const char *s, char **end)
{
    pthread_once(&c_locale_once, c_locale_init);
    if (c_locale)
        return strtod_l(s, end, c_locale);
    return strtod(s, end);
}

/* ---- UTF-8 ---- */

/* Length of the well-formed UTF-8 sequence at p (before end), 0 when it is not one. */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end)
{
    unsigned char c = p[0];
    if (c < 0x80)
        return 1;
    size_t avail = (size_t)(end - p);
    if (c >= 0xC2 && c <= 0xDF)
        return avail >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (avail < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80)
            return 0;
        if (c == 0xE0 && p[1] < 0xA0) /* overlong */
            return 0;
        if (c == 0xED && p[1] >= 0xA0) /* surrogate */
            return 0;
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (avail < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
            return 0;
        if (c == 0xF0 && p[1] < 0x90)
            return 0;
        if (c == 0xF4 && p[1] >= 0x90)
            return 0;
        return 4;
    }
    return 0;
}

size_t jsv_utf8_length(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

static size_t put_utf8(char *out, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* ---- parser ---- */

#define SCRATCH_VALS 64
#define SCRATCH_MEMS 64

struct parser {
    const char *start, *p, *end;
    struct jsv_arena *a;
    struct jsv *vals; /* pending array items of every open array, innermost last */
    size_t nv, capv;
    struct jsv_member *mems; /* pending members of every open object */
    size_t nm, capm;
    bool vals_heap, mems_heap;
    const char *err_at; /* where the problem is */
    char err_what[96];
    int rc;
};

static int fail(struct parser *P, const char *at, int rc, const char *what)
{
    if (P->rc == 0) {
        P->rc = rc;
        P->err_at = at;
        snprintf(P->err_what, sizeof(P->err_what), "%s", what);
    }
    return rc;
}

static int fail_char(struct parser *P, const char *at, const char *expected)
{
    char what[96];
    if (at >= P->end) {
        snprintf(what, sizeof(what), "unexpected end of input, expected %s", expected);
    } else {
        unsigned char c = (unsigned char)*at;
        if (c >= 0x20 && c < 0x7F)
            snprintf(what, sizeof(what), "unexpected '%c', expected %s", c, expected);
        else
            snprintf(what, sizeof(what), "unexpected byte 0x%02X, expected %s", c, expected);
    }
    return fail(P, at, -EBADMSG, what);
}

static inline void skip_ws(struct parser *P)
{
    const char *p = P->p, *end = P->end;
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    P->p = p;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int hex4(struct parser *P, const char *p, uint32_t *ret)
{
    if (P->end - p < 4)
        return fail(P, p, -EBADMSG, "\\u needs four hex digits");
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval((unsigned char)p[i]);
        if (h < 0)
            return fail(P, p, -EBADMSG, "\\u needs four hex digits");
        v = v << 4 | (uint32_t)h;
    }
    *ret = v;
    return 0;
}

static const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;

/* Any byte of w that a string cannot take as it is: < 0x20, '"', '\\', or >= 0x80. */
static inline bool word_special(uint64_t w)
{
    uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');
    return ((w | ((w - ones * 0x20) & ~w) | ((q - ones) & ~q) | ((b - ones) & ~b)) & highs) != 0;
}

/* A string at P->p (just after the opening quote). Without escapes it points into the text. */
static int parse_string(struct parser *P, const char **ret_s, uint32_t *ret_len)
{
    const unsigned char *p = (const unsigned char *)P->p, *end = (const unsigned char *)P->end;
    const unsigned char *start = p;
    for (;;) {
        while (end - p >= 8) {
            uint64_t w;
            memcpy(&w, p, 8);
            if (word_special(w))
                break;
            p += 8;
        }
        if (p >= end)
            return fail(P, (const char *)start - 1, -EBADMSG, "unterminated string");
        unsigned char c = *p;
        if (c == '"') {
            if ((size_t)(p - start) > UINT32_MAX)
                return fail(P, (const char *)start, -E2BIG, "string longer than 4 GiB");
            *ret_s = (const char *)start;
            *ret_len = (uint32_t)(p - start);
            P->p = (const char *)p + 1;
            return 0;
        }
        if (c == '\\')
            break;
        if (c < 0x20)
            return fail(P, (const char *)p, -EBADMSG, "control character in a string");
        if (c >= 0x80) {
            size_t k = utf8_seq(p, end);
            if (!k)
                return fail(P, (const char *)p, -EBADMSG, "invalid UTF-8 in a string");
            p += k;
        } else {
            p++;
        }
    }
    /* escapes: find the end first, to size the copy (decoding never grows the text) */
    const unsigned char *q = p;
    while (q < end && *q != '"')
        q += (*q == '\\' && end - q >= 2) ? 2 : 1;
    if (q >= end)
        return fail(P, (const char *)start - 1, -EBADMSG, "unterminated string");
    if ((size_t)(q - start) > UINT32_MAX)
        return fail(P, (const char *)start, -E2BIG, "string longer than 4 GiB");
    char *out = jsv_arena_alloc(P->a, (size_t)(q - start) + 1);
    if (!out)
        return fail(P, (const char *)start, -ENOMEM, "out of memory");
    size_t n = (size_t)(p - start);
    memcpy(out, start, n);
    while (*p != '"') {
        unsigned char c = *p;
        if (c == '\\') {
            const unsigned char *esc = p;
            p++;
            switch (*p) {
            case '"':
                out[n++] = '"';
                break;
            case '\\':
                out[n++] = '\\';
                break;
            case '/':
                out[n++] = '/';
                break;
            case 'b':
                out[n++] = '\b';
                break;
            case 'f':
                out[n++] = '\f';
                break;
            case 'n':
                out[n++] = '\n';
                break;
            case 'r':
                out[n++] = '\r';
                break;
            case 't':
                out[n++] = '\t';
                break;
            case 'u': {
                uint32_t cp;
                if (hex4(P, (const char *)p + 1, &cp) < 0)
                    return P->rc;
                p += 4;
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    uint32_t lo;
                    if (end - p < 7 || p[1] != '\\' || p[2] != 'u' ||
                        hex4(P, (const char *)p + 3, &lo) < 0 || lo < 0xDC00 || lo > 0xDFFF) {
                        P->rc = 0;
                        return fail(P, (const char *)esc, -EBADMSG,
                                    "a high surrogate \\u escape without its low surrogate");
                    }
                    p += 6;
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                    return fail(P, (const char *)esc, -EBADMSG,
                                "a low surrogate \\u escape without its high surrogate");
                }
                n += put_utf8(out + n, cp);
                break;
            }
            default:
                return fail(P, (const char *)esc, -EBADMSG, "invalid escape in a string");
            }
            p++;
        } else if (c < 0x20) {
            return fail(P, (const char *)p, -EBADMSG, "control character in a string");
        } else if (c >= 0x80) {
            size_t k = utf8_seq(p, end);
            if (!k)
                return fail(P, (const char *)p, -EBADMSG, "invalid UTF-8 in a string");
            memcpy(out + n, p, k);
            n += k;
            p += k;
        } else {
            out[n++] = (char)c;
            p++;
        }
    }
    out[n] = '\0';
    *ret_s = out;
    *ret_len = (uint32_t)n;
    P->p = (const char *)p + 1;
    return 0;
}

static const double pow10_exact[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static int parse_number(struct parser *P, struct jsv *out)
{
    const char *s = P->p, *p = s, *end = P->end;
    bool neg = false;
    if (*p == '-') {
        neg = true;
        p++;
    }
    if (p >= end || *p < '0' || *p > '9')
        return fail_char(P, p, "a digit");
    uint64_t mant = 0;
    int digits = 0;  /* significant digits in mant */
    int dropped = 0; /* integer digits that did not fit */
    if (*p == '0') {
        p++;
    } else {
        while (p < end && *p >= '0' && *p <= '9') {
            if (digits < 19) {
                mant = mant * 10 + (uint64_t)(*p - '0');
                digits++;
            } else {
                dropped++;
            }
            p++;
        }
    }
    bool is_int = true;
    int frac = 0;
    if (p < end && *p == '.') {
        is_int = false;
        p++;
        if (p >= end || *p < '0' || *p > '9')
            return fail_char(P, p, "a digit after the decimal point");
        while (p < end && *p >= '0' && *p <= '9') {
            if (digits < 19 && !dropped) {
                if (mant || *p != '0')
                    digits++;
                mant = mant * 10 + (uint64_t)(*p - '0');
                frac++;
            } else {
                dropped = dropped ? dropped : -1; /* precision lost: strtod decides */
            }
            p++;
        }
    }
    long exp10 = 0;
    if (p < end && (*p == 'e' || *p == 'E')) {
        is_int = false;
        p++;
        bool eneg = false;
        if (p < end && (*p == '+' || *p == '-'))
            eneg = *p++ == '-';
        if (p >= end || *p < '0' || *p > '9')
            return fail_char(P, p, "a digit in the exponent");
        while (p < end && *p >= '0' && *p <= '9') {
            if (exp10 < 100000)
                exp10 = exp10 * 10 + (*p - '0');
            p++;
        }
        if (eneg)
            exp10 = -exp10;
    }
    P->p = p;
    out->n = 0;
    if (is_int && !dropped) {
        if (!neg && mant <= (uint64_t)INT64_MAX) {
            out->type = JSV_INT;
            out->u.i = (int64_t)mant;
            return 0;
        }
        if (neg && mant <= (uint64_t)INT64_MAX + 1) {
            out->type = JSV_INT;
            out->u.i = mant == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mant;
            return 0;
        }
    }
    out->type = JSV_REAL;
    long e = exp10 - frac;
    if (!dropped && mant <= (1ull << 53) && e >= -22 && e <= 22) {
        /* exact: both factors are representable, one rounding */
        double d = (double)mant;
        d = e < 0 ? d / pow10_exact[-e] : d * pow10_exact[e];
        out->u.d = neg ? -d : d;
        return 0;
    }
    size_t n = (size_t)(p - s);
    char small[64];
    char *copy = n < sizeof(small) ? small : malloc(n + 1);
    if (!copy)
        return fail(P, s, -ENOMEM, "out of memory");
    memcpy(copy, s, n);
    copy[n] = '\0';
    double d = strtod_c(copy, NULL);
    if (copy != small)
        free(copy);
    if (!isfinite(d))
        return fail(P, s, -EBADMSG, "number out of range");
    out->u.d = d;
    return 0;
}

static int grow(struct parser *P, bool members)
{
    size_t cap = members ? P->capm : P->capv;
    size_t size = members ? sizeof(struct jsv_member) : sizeof(struct jsv);
    if (cap > SIZE_MAX / 2 / size)
        return fail(P, P->p, -ENOMEM, "out of memory");
    void *old = members ? (void *)P->mems : (void *)P->vals;
    bool heap = members ? P->mems_heap : P->vals_heap;
    void *nv = heap ? realloc(old, cap * 2 * size) : malloc(cap * 2 * size);
    if (!nv)
        return fail(P, P->p, -ENOMEM, "out of memory");
    if (!heap)
        memcpy(nv, old, cap * size);
    if (members) {
        P->mems = nv;
        P->capm = cap * 2;
        P->mems_heap = true;
    } else {
        P->vals = nv;
        P->capv = cap * 2;
        P->vals_heap = true;
    }
    return 0;
}

static bool same_key(const struct jsv_member *a, const struct jsv_member *b)
{
    return a->hash == b->hash && a->key_len == b->key_len &&
           memcmp(a->key, b->key, a->key_len) == 0;
}

/* Keep the last of duplicate keys (in its place); returns the new count. An open-addressing
 * table maps each key to its last index, so this is linear however many duplicates there are;
 * small objects use stack space. */
static size_t dedupe(struct jsv_member *m, size_t n)
{
    if (n < 2)
        return n;
    uint32_t small[128];
    size_t cap = 8;
    while (cap < n * 2)
        cap *= 2;
    uint32_t *slot = cap <= 128 ? small : calloc(cap, sizeof(*slot)); /* index + 1 */
    if (!slot) { /* out of memory: quadratic, but correct */
        size_t out = 0;
        for (size_t i = 0; i < n; i++) {
            bool later = false;
            for (size_t j = i + 1; j < n && !later; j++)
                later = same_key(&m[i], &m[j]);
            if (!later)
                m[out++] = m[i];
        }
        return out;
    }
    if (slot == small)
        memset(small, 0, cap * sizeof(*slot));
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        size_t h = m[i].hash & (cap - 1);
        while (slot[h] && !same_key(&m[slot[h] - 1], &m[i]))
            h = (h + 1) & (cap - 1);
        any |= slot[h] != 0;
        slot[h] = (uint32_t)i + 1;
    }
    size_t out = n;
    if (any) {
        /* the slots now hold exactly the indices to keep: mark them, then compact */
        bool keep_small[256];
        bool *keep = n <= 256 ? keep_small : calloc(n, sizeof(*keep));
        if (keep) {
            memset(keep, 0, n * sizeof(*keep));
            for (size_t h = 0; h < cap; h++)
                if (slot[h])
                    keep[slot[h] - 1] = true;
            out = 0;
            for (size_t i = 0; i < n; i++)
                if (keep[i])
                    m[out++] = m[i];
            if (keep != keep_small)
                free(keep);
        }
    }
    if (slot != small)
        free(slot);
    return out;
}

static int parse_value(struct parser *P, struct jsv *out, int depth);

/* Parse a value into slot idx of the pending items (or members). A scalar is written in place;
 * a container is parsed first, as the pending stacks may move meanwhile, and then stored. */
static int parse_slot(struct parser *P, bool member, size_t idx, int depth)
{
    skip_ws(P);
    if (P->p < P->end && (*P->p == '{' || *P->p == '[')) {
        struct jsv v;
        if (parse_value(P, &v, depth) < 0)
            return P->rc;
        if (member)
            P->mems[idx].v = v;
        else
            P->vals[idx] = v;
        return 0;
    }
    return parse_value(P, member ? &P->mems[idx].v : &P->vals[idx], depth);
}

static int parse_array(struct parser *P, struct jsv *out, int depth)
{
    P->p++;
    size_t base = P->nv;
    skip_ws(P);
    if (P->p < P->end && *P->p == ']') {
        P->p++;
        out->type = JSV_ARRAY;
        out->n = 0;
        out->u.items = NULL;
        return 0;
    }
    for (;;) {
        if (P->nv == P->capv && grow(P, false) < 0)
            return P->rc;
        if (parse_slot(P, false, P->nv++, depth + 1) < 0)
            return P->rc;
        skip_ws(P);
        if (P->p < P->end && *P->p == ',') {
            P->p++;
            continue;
        }
        if (P->p < P->end && *P->p == ']') {
            P->p++;
            break;
        }
        return fail_char(P, P->p, "',' or ']'");
    }
    size_t n = P->nv - base;
    if (n > UINT32_MAX)
        return fail(P, P->p, -E2BIG, "array with more than 2^32 items");
    struct jsv *items = jsv_arena_alloc(P->a, n * sizeof(*items));
    if (!items)
        return fail(P, P->p, -ENOMEM, "out of memory");
    memcpy(items, P->vals + base, n * sizeof(*items));
    P->nv = base;
    out->type = JSV_ARRAY;
    out->n = (uint32_t)n;
    out->u.items = items;
    return 0;
}

static int parse_object(struct parser *P, struct jsv *out, int depth)
{
    P->p++;
    size_t base = P->nm;
    skip_ws(P);
    if (P->p < P->end && *P->p == '}') {
        P->p++;
        out->type = JSV_OBJECT;
        out->n = 0;
        out->u.members = NULL;
        return 0;
    }
    for (;;) {
        skip_ws(P);
        if (P->p >= P->end || *P->p != '"')
            return fail_char(P, P->p, "a string (an object key)");
        if (P->nm == P->capm && grow(P, true) < 0)
            return P->rc;
        size_t idx = P->nm++;
        struct jsv_member *m = &P->mems[idx];
        P->p++;
        if (parse_string(P, &m->key, &m->key_len) < 0)
            return P->rc;
        m->hash = jsv_hash_key(m->key, m->key_len);
        skip_ws(P);
        if (P->p >= P->end || *P->p != ':')
            return fail_char(P, P->p, "':'");
        P->p++;
        if (parse_slot(P, true, idx, depth + 1) < 0)
            return P->rc;
        skip_ws(P);
        if (P->p < P->end && *P->p == ',') {
            P->p++;
            continue;
        }
        if (P->p < P->end && *P->p == '}') {
            P->p++;
            break;
        }
        return fail_char(P, P->p, "',' or '}'");
    }
    size_t n = dedupe(P->mems + base, P->nm - base);
    if (n > UINT32_MAX)
        return fail(P, P->p, -E2BIG, "object with more than 2^32 members");
    struct jsv_member *mems = jsv_arena_alloc(P->a, n * sizeof(*mems));
    if (!mems)
        return fail(P, P->p, -ENOMEM, "out of memory");
    memcpy(mems, P->mems + base, n * sizeof(*mems));
    P->nm = base;
    out->type = JSV_OBJECT;
    out->n = (uint32_t)n;
    out->u.members = mems;
    return 0;
}

static int literal(struct parser *P, const char *word, size_t len, struct jsv *out, uint8_t type)
{
    if ((size_t)(P->end - P->p) < len || memcmp(P->p, word, len) != 0)
        return fail_char(P, P->p, "a JSON value");
    P->p += len;
    out->type = type;
    out->n = 0;
    return 0;
}

static int parse_value(struct parser *P, struct jsv *out, int depth)
{
    skip_ws(P);
    if (P->p >= P->end)
        return fail_char(P, P->p, "a JSON value");
    switch (*P->p) {
    case '{':
    case '[':
        if (depth >= JSV_MAX_DEPTH)
            return fail(P, P->p, -EBADMSG, "nested too deeply");
        return *P->p == '{' ? parse_object(P, out, depth) : parse_array(P, out, depth);
    case '"': {
        P->p++;
        out->type = JSV_STRING;
        return parse_string(P, &out->u.s, &out->n);
    }
    case 't':
        return literal(P, "true", 4, out, JSV_TRUE);
    case 'f':
        return literal(P, "false", 5, out, JSV_FALSE);
    case 'n':
        return literal(P, "null", 4, out, JSV_NULL);
    default:
        if (*P->p == '-' || (*P->p >= '0' && *P->p <= '9'))
            return parse_number(P, out);
        return fail_char(P, P->p, "a JSON value");
    }
}

int jsv_parse(struct jsv_arena *a, const char *text, size_t len, struct jsv *ret,
              struct wh_error *err)
{
    struct jsv vals[SCRATCH_VALS];
    struct jsv_member mems[SCRATCH_MEMS];
    struct parser P = {
        .start = text,
        .p = text,
        .end = text + len,
        .a = a,
        .vals = vals,
        .capv = SCRATCH_VALS,
        .mems = mems,
        .capm = SCRATCH_MEMS,
    };
    struct jsv v = {0};
    if (parse_value(&P, &v, 0) == 0) {
        skip_ws(&P);
        if (P.p < P.end)
            fail_char(&P, P.p, "the end of the text");
    }
    if (P.vals_heap)
        free(P.vals);
    if (P.mems_heap)
        free(P.mems);
    if (P.rc == 0) {
        *ret = v;
        return 0;
    }
    if (P.rc == -ENOMEM)
        return wh_error_set(err, -ENOMEM, "out of memory");
    int line = 1, col = 1;
    for (const char *q = text; q < P.err_at && q < P.end; q++) {
        if (*q == '\n') {
            line++;
            col = 1;
        } else if (((unsigned char)*q & 0xC0) != 0x80) {
            col++;
        }
    }
    return wh_error_set(err, P.rc, "line %d, column %d: %s", line, col, P.err_what);
}

/* ---- from jansson ---- */

static int from_json(struct jsv_arena *a, json_t *j, struct jsv *out, int depth,
                     struct wh_error *err)
{
    if (depth > JSV_MAX_DEPTH)
        return wh_error_set(err, -ELOOP, "the value is nested more than %d levels deep",
                            JSV_MAX_DEPTH);
    memset(out, 0, sizeof(*out));
    switch (json_typeof(j)) {
    case JSON_NULL:
        out->type = JSV_NULL;
        return 0;
    case JSON_TRUE:
        out->type = JSV_TRUE;
        return 0;
    case JSON_FALSE:
        out->type = JSV_FALSE;
        return 0;
    case JSON_INTEGER:
        out->type = JSV_INT;
        out->u.i = json_integer_value(j);
        return 0;
    case JSON_REAL:
        out->type = JSV_REAL;
        out->u.d = json_real_value(j);
        return 0;
    case JSON_STRING: {
        size_t n = json_string_length(j);
        if (n > UINT32_MAX)
            return wh_error_set(err, -E2BIG, "a string longer than 4 GiB");
        out->type = JSV_STRING;
        out->n = (uint32_t)n;
        out->u.s = json_string_value(j);
        return 0;
    }
    case JSON_ARRAY: {
        size_t n = json_array_size(j);
        if (n > UINT32_MAX)
            return wh_error_set(err, -E2BIG, "an array with more than 2^32 items");
        struct jsv *items = n ? jsv_arena_alloc(a, n * sizeof(*items)) : NULL;
        if (n && !items)
            return wh_error_set(err, -ENOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
            int r = from_json(a, json_array_get(j, i), &items[i], depth + 1, err);
            if (r < 0)
                return r;
        }
        out->type = JSV_ARRAY;
        out->n = (uint32_t)n;
        out->u.items = items;
        return 0;
    }
    case JSON_OBJECT: {
        size_t n = json_object_size(j);
        if (n > UINT32_MAX)
            return wh_error_set(err, -E2BIG, "an object with more than 2^32 members");
        struct jsv_member *mems = n ? jsv_arena_alloc(a, n * sizeof(*mems)) : NULL;
        if (n && !mems)
            return wh_error_set(err, -ENOMEM, "out of memory");
        size_t i = 0;
        for (void *it = json_object_iter(j); it && i < n; it = json_object_iter_next(j, it)) {
            struct jsv_member *m = &mems[i++];
            m->key = json_object_iter_key(it);
#if JANSSON_VERSION_HEX >= 0x020e00
            size_t kl = json_object_iter_key_len(it);
#else
            size_t kl = strlen(m->key);
#endif
            if (kl > UINT32_MAX)
                return wh_error_set(err, -E2BIG, "a key longer than 4 GiB");
            m->key_len = (uint32_t)kl;
            m->hash = jsv_hash_key(m->key, kl);
            int r = from_json(a, json_object_iter_value(it), &m->v, depth + 1, err);
            if (r < 0)
                return r;
        }
        out->type = JSV_OBJECT;
        out->n = (uint32_t)i;
        out->u.members = mems;
        return 0;
    }
    }
    return wh_error_set(err, -EINVAL, "not a JSON value");
}

int jsv_from_json(struct jsv_arena *a, json_t *json, struct jsv *ret, struct wh_error *err)
{
    if (!json)
        return wh_error_set(err, -EINVAL, "no value");
    return from_json(a, json, ret, 0, err);
}

/* ---- reading ---- */

const struct jsv *jsv_get(const struct jsv *obj, const char *key, size_t len, uint32_t hash)
{
    const struct jsv_member *m = obj->u.members;
    for (uint32_t i = 0; i < obj->n; i++)
        if (m[i].hash == hash && m[i].key_len == len && memcmp(m[i].key, key, len) == 0)
            return &m[i].v;
    return NULL;
}

bool jsv_is_integer(const struct jsv *v)
{
    if (v->type == JSV_INT)
        return true;
    return v->type == JSV_REAL && v->u.d == trunc(v->u.d);
}

/* <0, 0, >0 as i < d, exactly */
static int cmp_int_real(int64_t i, double d)
{
    if (d >= 9223372036854775808.0) /* 2^63: above every int64 */
        return -1;
    if (d < -9223372036854775808.0)
        return 1;
    double t = trunc(d);
    int64_t ti = (int64_t)t;
    if (i != ti)
        return i < ti ? -1 : 1;
    double f = d - t;
    return f > 0 ? -1 : f < 0 ? 1 : 0;
}

int jsv_compare_numbers(const struct jsv *a, const struct jsv *b)
{
    if (a->type == JSV_INT && b->type == JSV_INT)
        return a->u.i < b->u.i ? -1 : a->u.i > b->u.i;
    if (a->type == JSV_REAL && b->type == JSV_REAL)
        return a->u.d < b->u.d ? -1 : a->u.d > b->u.d;
    if (a->type == JSV_INT)
        return cmp_int_real(a->u.i, b->u.d);
    return -cmp_int_real(b->u.i, a->u.d);
}

/* ---- decimals ---- */

/* |x| (finite, non-zero) as m * 10^e with m the digits of the shortest decimal that reads back
 * as x, without trailing zeros. */
static void shortest_decimal(double x, uint64_t *ret_m, int *ret_e)
{
    char buf[48], canon[48];
    uint64_t m = 0;
    int e = 0;
    x = fabs(x);
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof(buf), "%.*e", prec - 1, x);
        /* digits, then 'e' and the exponent; whatever the locale put between the digits */
        m = 0;
        int nd = 0;
        const char *p = buf;
        for (; *p && *p != 'e'; p++)
            if (*p >= '0' && *p <= '9') {
                m = m * 10 + (uint64_t)(*p - '0');
                nd++;
            }
        long exp = *p == 'e' ? strtol(p + 1, NULL, 10) : 0;
        e = (int)exp - (nd - 1);
        snprintf(canon, sizeof(canon), "%llue%d", (unsigned long long)m, e);
        if (strtod_c(canon, NULL) == x)
            break;
    }
    while (m && m % 10 == 0) {
        m /= 10;
        e++;
    }
    *ret_m = m;
    *ret_e = e;
}

__extension__ typedef unsigned __int128 u128;

bool jsv_multiple_of(const struct jsv *v, const struct jsv *divisor)
{
    if (v->type == JSV_INT && divisor->type == JSV_INT)
        return divisor->u.i != 0 && v->u.i % divisor->u.i == 0;
    uint64_t a, b;
    int ea, eb;
    if (v->type == JSV_INT) {
        if (v->u.i == 0)
            return true;
        a = v->u.i < 0 ? (uint64_t)0 - (uint64_t)v->u.i : (uint64_t)v->u.i;
        ea = 0;
    } else {
        if (v->u.d == 0)
            return true;
        shortest_decimal(v->u.d, &a, &ea);
    }
    if (divisor->type == JSV_INT) {
        b = divisor->u.i < 0 ? (uint64_t)0 - (uint64_t)divisor->u.i : (uint64_t)divisor->u.i;
        eb = 0;
    } else {
        if (divisor->u.d == 0)
            return false;
        shortest_decimal(divisor->u.d, &b, &eb);
    }
    if (b == 0)
        return false;
    if (ea >= eb) {
        /* a * 10^(ea-eb) mod b */
        u128 r = a % b;
        for (int k = ea - eb; k > 0 && r; k--)
            r = (r * 10) % b;
        return r == 0;
    }
    /* a mod (b * 10^(eb-ea)): b * 10^k > a (< 2^64) once k > 19 */
    int k = eb - ea;
    if (k > 19)
        return false;
    u128 bb = b;
    for (int i = 0; i < k; i++)
        bb *= 10;
    return (u128)a % bb == 0;
}

void jsv_format_number(const struct jsv *v, char *buf, size_t size)
{
    if (v->type == JSV_INT) {
        snprintf(buf, size, "%lld", (long long)v->u.i);
        return;
    }
    double d = v->u.d;
    if (d == 0) {
        snprintf(buf, size, "%s", signbit(d) ? "-0.0" : "0.0");
        return;
    }
    uint64_t m;
    int e;
    shortest_decimal(d, &m, &e);
    char digits[24];
    int nd = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)m);
    const char *sign = d < 0 ? "-" : "";
    int point = nd + e; /* digits before the decimal point */
    if (e >= 0 && point <= 21) {
        char zeros[24];
        memset(zeros, '0', (size_t)e);
        zeros[e] = '\0';
        snprintf(buf, size, "%s%s%s", sign, digits, zeros);
    } else if (e < 0 && point > 0) {
        snprintf(buf, size, "%s%.*s.%s", sign, point, digits, digits + point);
    } else if (e < 0 && point > -6) {
        char zeros[8];
        memset(zeros, '0', (size_t)-point);
        zeros[-point] = '\0';
        snprintf(buf, size, "%s0.%s%s", sign, zeros, digits);
    } else {
        snprintf(buf, size, "%s%c%s%se%+d", sign, digits[0], nd > 1 ? "." : "", digits + 1,
                 point - 1);
    }
}

/* ---- equality and hashing ---- */

bool jsv_equal(const struct jsv *a, const struct jsv *b)
{
    if (jsv_is_number(a) && jsv_is_number(b))
        return jsv_compare_numbers(a, b) == 0;
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case JSV_STRING:
        return a->n == b->n && memcmp(a->u.s, b->u.s, a->n) == 0;
    case JSV_ARRAY:
        if (a->n != b->n)
            return false;
        for (uint32_t i = 0; i < a->n; i++)
            if (!jsv_equal(&a->u.items[i], &b->u.items[i]))
                return false;
        return true;
    case JSV_OBJECT:
        if (a->n != b->n)
            return false;
        for (uint32_t i = 0; i < a->n; i++) {
            const struct jsv_member *m = &a->u.members[i];
            const struct jsv *o = jsv_get(b, m->key, m->key_len, m->hash);
            if (!o || !jsv_equal(&m->v, o))
                return false;
        }
        return true;
    default:
        return true; /* null, true, false */
    }
}

static uint64_t mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

uint64_t jsv_hash(const struct jsv *v)
{
    switch (v->type) {
    case JSV_NULL:
        return 0x6e756c6cull;
    case JSV_FALSE:
        return 0x66616c73ull;
    case JSV_TRUE:
        return 0x74727565ull;
    case JSV_INT:
        return mix((uint64_t)v->u.i ^ 0x1234567ull);
    case JSV_REAL: {
        double d = v->u.d;
        if (d == trunc(d) && d >= -9223372036854775808.0 && d < 9223372036854775808.0)
            return mix((uint64_t)(int64_t)d ^ 0x1234567ull); /* as the equal integer */
        uint64_t bits;
        memcpy(&bits, &d, sizeof(bits));
        return mix(bits);
    }
    case JSV_STRING:
        return mix(jsv_hash_key(v->u.s, v->n) ^ ((uint64_t)v->n << 32));
    case JSV_ARRAY: {
        uint64_t h = 0xa77a1ull + v->n;
        for (uint32_t i = 0; i < v->n; i++)
            h = mix(h ^ jsv_hash(&v->u.items[i]));
        return h;
    }
    case JSV_OBJECT: {
        uint64_t h = 0x0b1ec7ull + v->n;
        for (uint32_t i = 0; i < v->n; i++) /* order-independent */
            h += mix(v->u.members[i].hash ^ (jsv_hash(&v->u.members[i].v) << 1));
        return mix(h);
    }
    }
    return 0;
}
