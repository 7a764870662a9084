/* script: the compiler of response scripts (JSON and shorthand), their canonical JSON, and the
 * per-endpoint state that picks a rule for each delivery. See script.h for the forms and the
 * selection rules; this file does not know HTTP beyond the delivery's headers. */
#include "script.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "encode.h"
#include "hash.h"
#include "jsonptr.h"
#include "regex.h"

#define MAX_RULES 256          /* rules in one script */
#define MAX_HEADERS 64         /* headers of one rule */
#define MAX_MATCH 64           /* conditions of one rule */
#define TIMES_MAX 1000000000   /* the largest "times" */
#define DELAY_MAX_MS 3600000.0 /* delays are clamped to [0, an hour] */
#define HANG_DEFAULT_MS 120000
#define HANG_MAX_MS 3600000
#define DRIBBLE_DEFAULT_MS 2000
#define DRIBBLE_MAX_MS 600000
#define SIGMA_MAX 10.0

static const char *const fault_names[] = {"",        "reset",   "close",    "hang",
                                          "dribble", "partial", "malformed"};
#define N_FAULTS (sizeof(fault_names) / sizeof(fault_names[0]))
#define FAULT_LIST "reset, close, hang, dribble, partial, malformed"

const char *script_fault_name(enum script_fault f)
{
    return (size_t)f < N_FAULTS ? fault_names[f] : "";
}

static enum script_fault fault_by_name(const char *s, size_t len)
{
    for (size_t i = 1; i < N_FAULTS; i++)
        if (strlen(fault_names[i]) == len && memcmp(fault_names[i], s, len) == 0)
            return (enum script_fault)i;
    return FAULT_NONE;
}

/* ---- scripts: building, freeing, references ---- */

static void rule_init(struct script_rule *r)
{
    memset(r, 0, sizeof(*r));
    r->hang_max_ms = HANG_DEFAULT_MS;
    r->dribble_ms = DRIBBLE_DEFAULT_MS;
    r->scope = SCOPE_ENDPOINT;
}

static void match_finish(struct script_match *m)
{
    free(m->key);
    json_decref(m->equals);
    regex_destroy(m->regex);
}

static void rule_finish(struct script_rule *r)
{
    for (size_t i = 0; i < r->n_headers; i++) {
        free(r->headers[i].name);
        free(r->headers[i].value);
    }
    free(r->headers);
    free(r->body);
    for (size_t i = 0; i < r->n_match; i++)
        match_finish(&r->match[i]);
    free(r->match);
}

static void script_free(script *s)
{
    for (size_t i = 0; i < s->n_rules; i++)
        rule_finish(&s->rules[i]);
    free(s->rules);
    free(s);
}

script *script_ref(script *s)
{
    if (s)
        __atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED);
    return s;
}

void script_unref(script *s)
{
    if (s && __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) == 0)
        script_free(s);
}

static script *script_new(void)
{
    script *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->refs = 1;
    return s;
}

/* A new rule at the end of s (initialised; valid until the next call), or NULL when s has
 * MAX_RULES already (*oom false) or there is no memory (*oom true). */
static struct script_rule *script_add_rule(script *s, bool *oom)
{
    *oom = false;
    if (s->n_rules == MAX_RULES)
        return NULL;
    size_t n = s->n_rules;
    if (n < 4 ? n == 0 : (n & (n - 1)) == 0) { /* capacity: 4, then doubling */
        struct script_rule *rules = realloc(s->rules, (n < 4 ? 4 : 2 * n) * sizeof(*rules));
        if (!rules) {
            *oom = true;
            return NULL;
        }
        s->rules = rules;
    }
    struct script_rule *r = &s->rules[s->n_rules++];
    rule_init(r);
    return r;
}

/* The defaults that depend on the whole script: status and times (see script.h). times_given
 * says which rules had an explicit "times". */
static void script_finalise(script *s, const bool *times_given)
{
    for (size_t i = 0; i < s->n_rules; i++) {
        struct script_rule *r = &s->rules[i];
        if (r->status == 0 &&
            (r->fault == FAULT_NONE || r->fault == FAULT_DRIBBLE || r->fault == FAULT_PARTIAL))
            r->status = 200;
        if (!times_given[i])
            r->times = (i + 1 == s->n_rules && !s->cycle) ? 0 : 1;
    }
}

static bool is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool valid_token(const char *s, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!is_tchar((unsigned char)s[i]))
            return false;
    return true;
}

static bool valid_header_value(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] == '\r' || s[i] == '\n' || s[i] == '\0')
            return false;
    return true;
}

static char *memdup0(const char *s, size_t len)
{
    char *p = malloc(len + 1);
    if (p) {
        memcpy(p, s, len);
        p[len] = '\0';
    }
    return p;
}

/* Append a header to r; the name must not be there yet (ASCII case-insensitive). 0, -ENOMEM,
 * -EEXIST, -E2BIG (too many). */
static int rule_add_header(struct script_rule *r, const char *name, size_t nlen, const char *value,
                           size_t vlen)
{
    for (size_t i = 0; i < r->n_headers; i++)
        if (strlen(r->headers[i].name) == nlen && strncasecmp(r->headers[i].name, name, nlen) == 0)
            return -EEXIST;
    if (r->n_headers == MAX_HEADERS)
        return -E2BIG;
    struct script_header *h = realloc(r->headers, (r->n_headers + 1) * sizeof(*h));
    if (!h)
        return -ENOMEM;
    r->headers = h;
    h = &r->headers[r->n_headers];
    h->name = memdup0(name, nlen);
    h->value = memdup0(value, vlen);
    if (!h->name || !h->value) {
        free(h->name);
        free(h->value);
        return -ENOMEM;
    }
    r->n_headers++;
    return 0;
}

/* ---- the shorthand ---- */

struct sp {
    const char *s;
    size_t len, pos;
    struct wh_error *err;
};

#define E_HEAD "a status (100 to 599) or a fault (" FAULT_LIST ")"
#define E_SUFFIX "'x', '[', '@', '/', ',' or the end"

static bool sp_digit(const struct sp *p, size_t i)
{
    return i < p->len && p->s[i] >= '0' && p->s[i] <= '9';
}

static bool sp_alpha(const struct sp *p, size_t i)
{
    return i < p->len && ((p->s[i] >= 'a' && p->s[i] <= 'z') || (p->s[i] >= 'A' && p->s[i] <= 'Z'));
}

static void sp_ws(struct sp *p)
{
    while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
                               p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
        p->pos++;
}

/* What stands at i, quoted for a message: a number (with its unit), a word, or one character. */
static void sp_found(const struct sp *p, size_t i, char *out, size_t size)
{
    if (i >= p->len) {
        snprintf(out, size, "the end");
        return;
    }
    size_t end = i + 1;
    if (sp_digit(p, i)) {
        while (end < p->len && (sp_digit(p, end) || p->s[end] == '.'))
            end++;
        if (end < p->len && p->s[end] != 'x')
            while (sp_alpha(p, end))
                end++;
    } else if (sp_alpha(p, i)) {
        while (sp_alpha(p, end) || sp_digit(p, end))
            end++;
    }
    bool more = end - i > 20;
    if (more)
        end = i + 20;
    size_t o = 0;
    out[o++] = '\'';
    for (size_t k = i; k < end && o + 8 < size; k++) {
        unsigned char c = (unsigned char)p->s[k];
        if (c >= 0x20 && c < 0x7f && c != '\'')
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, size - o, "\\x%02x", c);
    }
    if (more && o + 4 < size)
        o += (size_t)snprintf(out + o, size - o, "...");
    out[o++] = '\'';
    out[o] = '\0';
}

static int sp_fail(const struct sp *p, size_t at, const char *found, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* "position N: expected <fmt...>, found <found>"; found NULL: what stands at `at`. */
static int sp_fail(const struct sp *p, size_t at, const char *found, const char *fmt, ...)
{
    char expected[256], what[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(expected, sizeof(expected), fmt, ap);
    va_end(ap);
    if (!found) {
        sp_found(p, at, what, sizeof(what));
        found = what;
    }
    size_t chars = 0; /* the position counts characters: UTF-8 continuation bytes do not */
    for (size_t i = 0; i < at && i < p->len; i++)
        chars += ((unsigned char)p->s[i] & 0xc0) != 0x80;
    return wh_error_set(p->err, -EINVAL, "position %zu: expected %s, found %s", chars + 1, expected,
                        found);
}

static int sp_oom(const struct sp *p)
{
    return wh_error_set(p->err, -ENOMEM, "out of memory");
}

/* A decimal number: digits ["." digits], as mantissa / 10^frac. */
struct number {
    uint64_t mant;
    int frac;
    size_t start;
};

static double number_value(const struct number *n, double unit)
{
    return (double)n->mant * unit / pow(10, n->frac);
}

/* Read a number at the current position: 1 read, 0 none there, -E2BIG more than 15 digits. */
static int sp_number(struct sp *p, struct number *n)
{
    size_t i = p->pos;
    int digits = 0;
    n->mant = 0;
    n->frac = 0;
    n->start = i;
    if (!sp_digit(p, i))
        return 0;
    while (sp_digit(p, i)) {
        n->mant = n->mant * 10 + (uint64_t)(p->s[i++] - '0');
        if (++digits > 15)
            return -E2BIG;
    }
    if (i + 1 < p->len && p->s[i] == '.' && sp_digit(p, i + 1)) {
        i++;
        while (sp_digit(p, i)) {
            n->mant = n->mant * 10 + (uint64_t)(p->s[i++] - '0');
            n->frac++;
            if (++digits > 15)
                return -E2BIG;
        }
    }
    p->pos = i;
    return 1;
}

/* duration := NUMBER ("ms" | "s" | nothing); *unit gets 1, 1000 or 0 (bare). */
static int sp_duration(struct sp *p, const char *expected, struct number *n, double *unit)
{
    int r = sp_number(p, n);
    if (r <= 0)
        return sp_fail(p, p->pos, NULL, "%s", expected);
    size_t i = p->pos;
    bool ms = i + 1 < p->len && p->s[i] == 'm' && p->s[i + 1] == 's';
    bool s = !ms && i < p->len && p->s[i] == 's';
    size_t after = i + (ms ? 2 : s ? 1 : 0);
    if (sp_alpha(p, after) && p->s[after] != 'x')
        return sp_fail(p, i, NULL, "a unit (ms or s)");
    p->pos = after;
    *unit = ms ? 1 : s ? 1000 : 0;
    return 0;
}

/* A duration in whole milliseconds from 1 to max (fault durations). */
static int sp_whole_ms(struct sp *p, const char *what, int64_t max, int64_t *ret)
{
    struct number n;
    double unit = 0;
    char expected[128];
    snprintf(expected, sizeof(expected), "%s from 1 ms to %lld ms", what, (long long)max);
    int r = sp_duration(p, expected, &n, &unit);
    if (r < 0)
        return r;
    double v = number_value(&n, unit ? unit : 1);
    if (v < 1 || v > (double)max || v != floor(v))
        return sp_fail(p, n.start, NULL, "%s (whole milliseconds)", expected);
    *ret = (int64_t)v;
    return 0;
}

/* head := STATUS | fault [":" duration] */
static int sp_head(struct sp *p, struct script_rule *r)
{
    size_t at = p->pos;
    if (sp_digit(p, at)) {
        size_t end = at;
        int v = 0;
        while (sp_digit(p, end) && end - at < 4)
            v = v * 10 + (p->s[end++] - '0');
        if (end - at != 3 || sp_digit(p, end) || v < 100 || v > 599)
            return sp_fail(p, at, NULL, E_HEAD);
        r->status = v;
        p->pos = end;
        return 0;
    }
    size_t end = at;
    while (sp_alpha(p, end))
        end++;
    enum script_fault f = fault_by_name(p->s + at, end - at);
    if (f == FAULT_NONE) {
        /* a fault name directly followed by the times suffix: "resetx2" */
        for (size_t i = 1; i < N_FAULTS && f == FAULT_NONE; i++) {
            size_t n = strlen(fault_names[i]);
            if (end - at > n && memcmp(p->s + at, fault_names[i], n) == 0 && p->s[at + n] == 'x') {
                f = (enum script_fault)i;
                end = at + n;
            }
        }
    }
    if (f == FAULT_NONE)
        return sp_fail(p, at, NULL, E_HEAD);
    r->fault = f;
    p->pos = end;
    size_t save = p->pos;
    sp_ws(p);
    if (p->pos < p->len && p->s[p->pos] == ':' && (f == FAULT_HANG || f == FAULT_DRIBBLE)) {
        p->pos++;
        sp_ws(p);
        if (f == FAULT_HANG)
            return sp_whole_ms(p, "a hang time", HANG_MAX_MS, &r->hang_max_ms);
        return sp_whole_ms(p, "a dribble time", DRIBBLE_MAX_MS, &r->dribble_ms);
    }
    p->pos = save;
    return 0;
}

/* "[" header (";" header)* "]", the '[' already consumed */
static int sp_headers(struct sp *p, struct script_rule *r)
{
    for (;;) {
        sp_ws(p);
        size_t at = p->pos, end = at;
        while (end < p->len && is_tchar((unsigned char)p->s[end]))
            end++;
        if (end == at)
            return sp_fail(p, at, NULL, "a header name");
        p->pos = end;
        sp_ws(p);
        if (p->pos >= p->len || p->s[p->pos] != '=')
            return sp_fail(p, p->pos, NULL, "'=' after the header name");
        p->pos++;
        sp_ws(p);
        size_t vstart = p->pos, vend = vstart;
        while (vend < p->len && p->s[vend] != ';' && p->s[vend] != ']') {
            if (p->s[vend] == '\r' || p->s[vend] == '\n' || p->s[vend] == '\0')
                return sp_fail(p, vend, NULL, "a header value without CR, LF or NUL");
            size_t k = encode_utf8_seq(p->s + vend, p->len - vend);
            if (!k)
                return sp_fail(p, vend, NULL, "a header value in UTF-8");
            vend += k;
        }
        if (vend >= p->len)
            return sp_fail(p, vend, NULL, "';' or ']' after the header value");
        size_t vtrim = vend;
        while (vtrim > vstart && (p->s[vtrim - 1] == ' ' || p->s[vtrim - 1] == '\t'))
            vtrim--;
        int rc = rule_add_header(r, p->s + at, end - at, p->s + vstart, vtrim - vstart);
        if (rc == -ENOMEM)
            return sp_oom(p);
        if (rc == -EEXIST)
            return sp_fail(p, at, "a header given twice (names are case-insensitive)",
                           "each header once");
        if (rc == -E2BIG)
            return sp_fail(p, at, NULL, "at most %d headers", MAX_HEADERS);
        p->pos = vend + 1;
        if (p->s[vend] == ']')
            return 0;
    }
}

/* delay := duration | duration "-" duration | duration "~" SIGMA, the '@' already consumed */
static int sp_delay(struct sp *p, struct script_rule *r)
{
    static const char expected[] = "a delay (150ms, 2s, 100-300ms or 150ms~0.5)";
    static const char range[] = "a delay from 0 to 3600000 ms";
    sp_ws(p);
    struct number a, b;
    double ua, ub;
    int rc = sp_duration(p, expected, &a, &ua);
    if (rc < 0)
        return rc;
    sp_ws(p);
    char c = p->pos < p->len ? p->s[p->pos] : '\0';
    if (c == '-') {
        p->pos++;
        sp_ws(p);
        if ((rc = sp_duration(p, range, &b, &ub)) < 0)
            return rc;
        if (!ua) /* "100-300ms": a bare minimum takes the maximum's unit */
            ua = ub;
        double lo = number_value(&a, ua ? ua : 1), hi = number_value(&b, ub ? ub : 1);
        if (lo > DELAY_MAX_MS)
            return sp_fail(p, a.start, NULL, "%s", range);
        if (hi > DELAY_MAX_MS)
            return sp_fail(p, b.start, NULL, "%s", range);
        if (hi < lo)
            return sp_fail(p, b.start, NULL, "a maximum delay of at least the minimum (%g ms)", lo);
        r->delay = DELAY_UNIFORM;
        r->delay_a = lo;
        r->delay_b = hi;
        return 0;
    }
    double v = number_value(&a, ua ? ua : 1);
    if (v > DELAY_MAX_MS)
        return sp_fail(p, a.start, NULL, "%s", range);
    if (c == '~') {
        p->pos++;
        sp_ws(p);
        struct number s;
        int n = sp_number(p, &s);
        double sigma = n > 0 ? number_value(&s, 1) : 0;
        if (n <= 0 || sigma > SIGMA_MAX)
            return sp_fail(p, n ? s.start : p->pos, NULL, "a sigma from 0 to 10");
        r->delay = DELAY_LOGNORMAL;
        r->delay_a = v;
        r->delay_b = sigma;
        return 0;
    }
    r->delay = DELAY_FIXED;
    r->delay_a = v;
    return 0;
}

static int sp_item(struct sp *p, struct script_rule *r, bool *times_given)
{
    int rc = sp_head(p, r);
    if (rc < 0)
        return rc;
    bool delay = false, scope = false;
    for (;;) {
        sp_ws(p);
        size_t at = p->pos;
        char c = at < p->len ? p->s[at] : '\0';
        if (at >= p->len || c == ',')
            return 0;
        p->pos++;
        if (c == 'x') {
            if (*times_given)
                return sp_fail(p, at, "a second 'x'", "one 'x' per item");
            sp_ws(p);
            size_t nat = p->pos;
            int64_t v = 0;
            while (sp_digit(p, p->pos) && v <= TIMES_MAX)
                v = v * 10 + (p->s[p->pos++] - '0');
            if (p->pos == nat || v < 1 || v > TIMES_MAX || sp_digit(p, p->pos))
                return sp_fail(p, nat, NULL, "a number of times (1 to %d)", TIMES_MAX);
            r->times = v;
            *times_given = true;
        } else if (c == '[') {
            if ((rc = sp_headers(p, r)) < 0)
                return rc;
        } else if (c == '@') {
            if (delay)
                return sp_fail(p, at, "a second '@'", "one delay per item");
            delay = true;
            if ((rc = sp_delay(p, r)) < 0)
                return rc;
        } else if (c == '/') {
            if (scope)
                return sp_fail(p, at, "a second '/'", "one scope per item");
            scope = true;
            sp_ws(p);
            size_t wat = p->pos, end = wat;
            while (sp_alpha(p, end))
                end++;
            if (end - wat == 7 && memcmp(p->s + wat, "message", 7) == 0)
                r->scope = SCOPE_MESSAGE;
            else if (end - wat == 8 && memcmp(p->s + wat, "endpoint", 8) == 0)
                r->scope = SCOPE_ENDPOINT;
            else
                return sp_fail(p, wat, NULL, "a scope (message or endpoint)");
            p->pos = end;
        } else if (c == ':' && r->fault != FAULT_NONE) {
            return sp_fail(p, at, NULL, E_SUFFIX " (only hang and dribble take a duration)");
        } else {
            return sp_fail(p, at, NULL, E_SUFFIX);
        }
    }
}

static int parse_shorthand(const char *spec, size_t len, script **ret, struct wh_error *err)
{
    struct sp p = {.s = spec, .len = len, .pos = 0, .err = err};
    script *s = script_new();
    if (!s)
        return wh_error_set(err, -ENOMEM, "out of memory");
    bool times_given[MAX_RULES] = {false};
    int rc;
    sp_ws(&p);
    if (len - p.pos >= 5 && memcmp(spec + p.pos, "cycle", 5) == 0 && !sp_alpha(&p, p.pos + 5)) {
        p.pos += 5;
        sp_ws(&p);
        if (p.pos >= len || spec[p.pos] != ':') {
            rc = sp_fail(&p, p.pos, NULL, "':' after cycle");
            goto fail;
        }
        p.pos++;
        s->cycle = true;
    }
    for (;;) {
        sp_ws(&p);
        size_t at = p.pos;
        bool oom;
        struct script_rule *r = script_add_rule(s, &oom);
        if (!r && oom) {
            rc = sp_oom(&p);
            goto fail;
        }
        if (!r) {
            rc = sp_fail(&p, at, "more", "at most %d items", MAX_RULES);
            goto fail;
        }
        if ((rc = sp_item(&p, r, &times_given[s->n_rules - 1])) < 0)
            goto fail;
        if (p.pos >= len)
            break;
        p.pos++; /* the ',' */
    }
    script_finalise(s, times_given);
    *ret = s;
    return 0;
fail:
    script_unref(s);
    return rc;
}

int script_parse_shorthand(const char *spec, script **ret, struct wh_error *err)
{
    if (!spec)
        return wh_error_set(err, -EINVAL, "position 1: expected " E_HEAD ", found the end");
    return parse_shorthand(spec, strlen(spec), ret, err);
}

/* ---- JSON ---- */

/* Where a value sits, as a chain of path segments rendered only when there is an error. */
struct loc {
    const struct loc *up;
    const char *key; /* object member, or NULL for an array index */
    size_t index;
};

struct jx {
    char *ptr;
    size_t ptr_size;
    struct wh_error *err;
};

static size_t loc_render(const struct loc *l, char *out, size_t size, size_t o)
{
    if (!l)
        return o;
    o = loc_render(l->up, out, size, o);
    char seg[32];
    const char *k = l->key;
    if (!k) {
        snprintf(seg, sizeof(seg), "%zu", l->index);
        k = seg;
    }
    if (o + 1 < size)
        out[o++] = '/';
    for (; *k; k++) {
        const char *esc = *k == '~' ? "~0" : *k == '/' ? "~1" : NULL;
        size_t n = esc ? 2 : 1;
        if (o + n >= size)
            break;
        if (esc) {
            out[o++] = esc[0];
            out[o++] = esc[1];
        } else {
            out[o++] = *k;
        }
    }
    return o;
}

static int jx_fail(const struct jx *x, const struct loc *l, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int jx_fail(const struct jx *x, const struct loc *l, int code, const char *fmt, ...)
{
    if (x->ptr && x->ptr_size) {
        size_t o = loc_render(l, x->ptr, x->ptr_size, 0);
        x->ptr[o < x->ptr_size ? o : x->ptr_size - 1] = '\0';
    }
    if (x->err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(x->err->msg, sizeof(x->err->msg), fmt, ap);
        va_end(ap);
        x->err->code = code;
    }
    return code;
}

#define JX_OOM(x, l) jx_fail((x), (l), -ENOMEM, "out of memory")

/* Reject keys of obj not in known (NULL-terminated); the message lists the known ones. */
static int jx_known_keys(const struct jx *x, const struct loc *l, json_t *obj,
                         const char *const *known)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        bool ok = false;
        for (size_t i = 0; known[i] && !ok; i++)
            ok = strcmp(key, known[i]) == 0;
        if (!ok) {
            char list[256];
            size_t o = 0;
            list[0] = '\0';
            for (size_t i = 0; known[i] && o < sizeof(list); i++)
                o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", i ? ", " : "", known[i]);
            struct loc kl = {l, key, 0};
            return jx_fail(x, &kl, -EINVAL, "unknown key \"%.100s\" (known keys: %s)", key, list);
        }
    }
    return 0;
}

static bool json_int_in(json_t *v, json_int_t lo, json_int_t hi)
{
    return json_is_integer(v) && json_integer_value(v) >= lo && json_integer_value(v) <= hi;
}

/* A delay number in milliseconds: integer or real, 0..DELAY_MAX_MS. */
static int jx_ms(const struct jx *x, const struct loc *l, json_t *v, double *ret)
{
    double d = json_is_number(v) ? json_number_value(v) : -1;
    if (!json_is_number(v) || !(d >= 0 && d <= DELAY_MAX_MS))
        return jx_fail(x, l, -EINVAL, "must be a number of milliseconds from 0 to 3600000");
    *ret = d;
    return 0;
}

static int jx_delay(const struct jx *x, const struct loc *l, json_t *v, struct script_rule *r)
{
    if (json_is_number(v)) {
        r->delay = DELAY_FIXED;
        return jx_ms(x, l, v, &r->delay_a);
    }
    if (!json_is_object(v))
        return jx_fail(x, l, -EINVAL,
                       "must be a number of milliseconds, {\"min\": a, \"max\": b} or "
                       "{\"median\": m, \"sigma\": s}");
    static const char *const known[] = {"min", "max", "median", "sigma", NULL};
    int rc = jx_known_keys(x, l, v, known);
    if (rc < 0)
        return rc;
    json_t *mn = json_object_get(v, "min"), *mx = json_object_get(v, "max");
    json_t *md = json_object_get(v, "median"), *sg = json_object_get(v, "sigma");
    struct loc lmin = {l, "min", 0}, lmax = {l, "max", 0}, lmed = {l, "median", 0},
               lsig = {l, "sigma", 0};
    if ((mn || mx) && (md || sg))
        return jx_fail(x, md ? &lmed : &lsig, -EINVAL,
                       "cannot be combined with \"%s\" (a delay is uniform or lognormal)",
                       mn ? "min" : "max");
    if (mn || mx) {
        if (!mn || !mx)
            return jx_fail(x, l, -EINVAL, "needs both \"min\" and \"max\"");
        if ((rc = jx_ms(x, &lmin, mn, &r->delay_a)) < 0 ||
            (rc = jx_ms(x, &lmax, mx, &r->delay_b)) < 0)
            return rc;
        if (r->delay_a > r->delay_b)
            return jx_fail(x, &lmin, -EINVAL, "must not be larger than \"max\" (%g)", r->delay_b);
        r->delay = DELAY_UNIFORM;
        return 0;
    }
    if (!md || !sg)
        return jx_fail(x, l, -EINVAL,
                       "needs \"min\" and \"max\" (uniform) or \"median\" and \"sigma\" "
                       "(lognormal)");
    if ((rc = jx_ms(x, &lmed, md, &r->delay_a)) < 0)
        return rc;
    double s = json_is_number(sg) ? json_number_value(sg) : -1;
    if (!(s >= 0 && s <= SIGMA_MAX))
        return jx_fail(x, &lsig, -EINVAL, "must be a number from 0 to 10");
    r->delay_b = s;
    r->delay = DELAY_LOGNORMAL;
    return 0;
}

static int jx_headers(const struct jx *x, const struct loc *l, json_t *v, struct script_rule *r)
{
    if (!json_is_object(v))
        return jx_fail(x, l, -EINVAL, "must be an object of header names and string values");
    const char *key;
    json_t *val;
    json_object_foreach(v, key, val)
    {
        struct loc kl = {l, key, 0};
        if (!valid_token(key, strlen(key)))
            return jx_fail(x, &kl, -EINVAL, "\"%.100s\" is not a valid header name", key);
        if (!json_is_string(val))
            return jx_fail(x, &kl, -EINVAL, "must be a string");
        const char *s = json_string_value(val);
        size_t n = json_string_length(val);
        if (!valid_header_value(s, n))
            return jx_fail(x, &kl, -EINVAL, "must not contain CR, LF or NUL");
        int rc = rule_add_header(r, key, strlen(key), s, n);
        if (rc == -ENOMEM)
            return JX_OOM(x, &kl);
        if (rc == -EEXIST)
            return jx_fail(x, &kl, -EINVAL,
                           "header \"%.100s\" is given twice (names are case-insensitive)", key);
        if (rc == -E2BIG)
            return jx_fail(x, l, -EINVAL, "has more than %d headers", MAX_HEADERS);
    }
    return 0;
}

/* V := string | {"equals": any} | {"regex": pattern}; text: the value is text (event, header). */
static int jx_condition(const struct jx *x, const struct loc *l, json_t *v, bool text,
                        enum script_match_on on, const char *key, struct script_rule *r)
{
    if (r->n_match == MAX_MATCH)
        return jx_fail(x, l, -EINVAL, "a rule may have at most %d conditions", MAX_MATCH);
    struct script_match m = {.on = on};
    static const char shape[] = "must be a string, {\"equals\": value} or {\"regex\": pattern}";
    if (json_is_string(v)) {
        m.equals = json_incref(v);
    } else if (json_is_object(v) && json_object_size(v) == 1) {
        json_t *eq = json_object_get(v, "equals"), *re = json_object_get(v, "regex");
        if (eq) {
            struct loc el = {l, "equals", 0};
            if (text && !json_is_string(eq))
                return jx_fail(x, &el, -EINVAL, "must be a string (%s are text)",
                               on == MATCH_EVENT ? "event names" : "header values");
            m.equals = json_incref(eq);
        } else if (re) {
            struct loc rl = {l, "regex", 0};
            if (!json_is_string(re))
                return jx_fail(x, &rl, -EINVAL, "must be a string (a PCRE2 pattern)");
            if (strlen(json_string_value(re)) != json_string_length(re))
                return jx_fail(x, &rl, -EINVAL,
                               "must not contain a NUL character (write \\x00 to match one)");
            struct wh_error rerr = {0};
            int rc = regex_compile(json_string_value(re), json_string_length(re), &m.regex, &rerr);
            if (rc < 0)
                return jx_fail(x, &rl, rc, "%s", rerr.msg);
        } else {
            return jx_fail(x, l, -EINVAL, "%s", shape);
        }
    } else {
        return jx_fail(x, l, -EINVAL, "%s", shape);
    }
    if (key && !(m.key = strdup(key))) {
        match_finish(&m);
        return JX_OOM(x, l);
    }
    struct script_match *arr = realloc(r->match, (r->n_match + 1) * sizeof(*arr));
    if (!arr) {
        match_finish(&m);
        return JX_OOM(x, l);
    }
    r->match = arr;
    r->match[r->n_match++] = m;
    return 0;
}

static int jx_match(const struct jx *x, const struct loc *l, json_t *v, struct script_rule *r)
{
    if (!json_is_object(v))
        return jx_fail(x, l, -EINVAL, "must be an object with \"event\", \"headers\" or \"body\"");
    static const char *const known[] = {"event", "headers", "body", NULL};
    int rc = jx_known_keys(x, l, v, known);
    if (rc < 0)
        return rc;
    json_t *ev = json_object_get(v, "event");
    struct loc evl = {l, "event", 0};
    if (ev && (rc = jx_condition(x, &evl, ev, true, MATCH_EVENT, NULL, r)) < 0)
        return rc;
    json_t *hs = json_object_get(v, "headers");
    struct loc hl = {l, "headers", 0};
    if (hs) {
        if (!json_is_object(hs))
            return jx_fail(x, &hl, -EINVAL, "must be an object of header names and conditions");
        const char *key;
        json_t *c;
        json_object_foreach(hs, key, c)
        {
            struct loc kl = {&hl, key, 0};
            if (!valid_token(key, strlen(key)))
                return jx_fail(x, &kl, -EINVAL, "\"%.100s\" is not a valid header name", key);
            if ((rc = jx_condition(x, &kl, c, true, MATCH_HEADER, key, r)) < 0)
                return rc;
        }
    }
    json_t *bd = json_object_get(v, "body");
    struct loc bl = {l, "body", 0};
    if (bd) {
        if (!json_is_object(bd))
            return jx_fail(x, &bl, -EINVAL, "must be an object of JSON pointers and conditions");
        const char *key;
        json_t *c;
        json_object_foreach(bd, key, c)
        {
            struct loc kl = {&bl, key, 0};
            if (!jsonptr_valid(key))
                return jx_fail(x, &kl, -EINVAL,
                               "\"%.100s\" is not a valid JSON pointer (\"/a/0\"; ~0 and ~1 "
                               "for '~' and '/')",
                               key);
            if ((rc = jx_condition(x, &kl, c, false, MATCH_BODY, key, r)) < 0)
                return rc;
        }
    }
    return 0;
}

static int jx_rule(const struct jx *x, const struct loc *l, json_t *v, struct script_rule *r,
                   bool *times_given)
{
    if (!json_is_object(v))
        return jx_fail(x, l, -EINVAL, "must be a rule object (\"status\", \"fault\", ...)");
    static const char *const known[] = {"status", "headers",     "body",       "delay_ms",
                                        "fault",  "hang_max_ms", "dribble_ms", "times",
                                        "scope",  "match",       NULL};
    int rc = jx_known_keys(x, l, v, known);
    if (rc < 0)
        return rc;
    json_t *f;
    struct loc fl = {l, NULL, 0};
#define FIELD(name) (fl.key = (name), f = json_object_get(v, (name)))
    if (FIELD("status")) {
        if (!json_int_in(f, 100, 599))
            return jx_fail(x, &fl, -EINVAL, "must be an integer from 100 to 599");
        r->status = (int)json_integer_value(f);
    }
    if (FIELD("headers") && (rc = jx_headers(x, &fl, f, r)) < 0)
        return rc;
    if (FIELD("body")) {
        if (json_is_string(f)) {
            r->body_len = json_string_length(f);
            r->body = memdup0(json_string_value(f), r->body_len);
        } else {
            r->body = json_dumps(f, JSON_COMPACT | JSON_ENCODE_ANY);
            r->body_len = r->body ? strlen(r->body) : 0;
        }
        if (!r->body)
            return JX_OOM(x, &fl);
    }
    if (FIELD("delay_ms") && (rc = jx_delay(x, &fl, f, r)) < 0)
        return rc;
    if (FIELD("fault")) {
        r->fault = json_is_string(f) ? fault_by_name(json_string_value(f), json_string_length(f))
                                     : FAULT_NONE;
        if (r->fault == FAULT_NONE)
            return jx_fail(x, &fl, -EINVAL, "must be one of " FAULT_LIST);
    }
    if (FIELD("hang_max_ms")) {
        if (!json_int_in(f, 1, HANG_MAX_MS))
            return jx_fail(x, &fl, -EINVAL, "must be an integer from 1 to %d", HANG_MAX_MS);
        r->hang_max_ms = json_integer_value(f);
    }
    if (FIELD("dribble_ms")) {
        if (!json_int_in(f, 1, DRIBBLE_MAX_MS))
            return jx_fail(x, &fl, -EINVAL, "must be an integer from 1 to %d", DRIBBLE_MAX_MS);
        r->dribble_ms = json_integer_value(f);
    }
    if (FIELD("times")) {
        if (!json_int_in(f, 1, TIMES_MAX))
            return jx_fail(x, &fl, -EINVAL, "must be an integer from 1 to %d", TIMES_MAX);
        r->times = json_integer_value(f);
        *times_given = true;
    }
    if (FIELD("scope")) {
        const char *s = json_string_value(f);
        if (s && strcmp(s, "endpoint") == 0)
            r->scope = SCOPE_ENDPOINT;
        else if (s && strcmp(s, "message") == 0)
            r->scope = SCOPE_MESSAGE;
        else
            return jx_fail(x, &fl, -EINVAL, "must be \"endpoint\" or \"message\"");
    }
    if (FIELD("match") && (rc = jx_match(x, &fl, f, r)) < 0)
        return rc;
#undef FIELD
    return 0;
}

static int jx_rules(const struct jx *x, const struct loc *l, json_t *v, script *s,
                    bool *times_given)
{
    if (!json_is_array(v))
        return jx_fail(x, l, -EINVAL, "must be a list of rules or a shorthand string");
    if (json_array_size(v) == 0)
        return jx_fail(x, l, -EINVAL, "must have at least one rule");
    if (json_array_size(v) > MAX_RULES)
        return jx_fail(x, l, -EINVAL, "has more than %d rules", MAX_RULES);
    size_t i;
    json_t *rv;
    json_array_foreach(v, i, rv)
    {
        struct loc il = {l, NULL, i};
        bool oom;
        struct script_rule *r = script_add_rule(s, &oom);
        if (!r)
            return JX_OOM(x, &il);
        int rc = jx_rule(x, &il, rv, r, &times_given[i]);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Parse a shorthand string found at l into *ret. */
static int jx_shorthand(const struct jx *x, const struct loc *l, json_t *v, script **ret)
{
    struct wh_error e = {0};
    int rc = parse_shorthand(json_string_value(v), json_string_length(v), ret, &e);
    if (rc < 0)
        return jx_fail(x, l, rc, "%s", e.msg);
    return 0;
}

int script_parse_json(json_t *v, script **ret, char *err_pointer, size_t ptr_size,
                      struct wh_error *err)
{
    struct jx x = {err_pointer, ptr_size, err};
    if (json_is_string(v))
        return jx_shorthand(&x, NULL, v, ret);
    if (!json_is_array(v) && !json_is_object(v))
        return jx_fail(&x, NULL, -EINVAL,
                       "must be a shorthand string, a list of rules or an object with \"rules\"");
    json_t *rules = v, *cycle = NULL, *seed = NULL;
    struct loc rl = {NULL, "rules", 0}, cl = {NULL, "cycle", 0}, sl = {NULL, "seed", 0};
    const struct loc *rules_loc = NULL;
    int rc;
    if (json_is_object(v)) {
        static const char *const known[] = {"rules", "cycle", "seed", NULL};
        if ((rc = jx_known_keys(&x, NULL, v, known)) < 0)
            return rc;
        rules = json_object_get(v, "rules");
        cycle = json_object_get(v, "cycle");
        seed = json_object_get(v, "seed");
        rules_loc = &rl;
        if (!rules)
            return jx_fail(&x, NULL, -EINVAL, "\"rules\" is missing (a list or a shorthand)");
        if (cycle && !json_is_boolean(cycle))
            return jx_fail(&x, &cl, -EINVAL, "must be true or false");
        if (seed && !json_is_integer(seed))
            return jx_fail(&x, &sl, -EINVAL, "must be an integer");
    }
    script *s = NULL;
    if (json_is_string(rules)) {
        if ((rc = jx_shorthand(&x, rules_loc, rules, &s)) < 0)
            return rc;
        if (cycle && json_is_false(cycle) && s->cycle) {
            script_unref(s);
            return jx_fail(&x, &cl, -EINVAL, "is false but the shorthand starts with \"cycle:\"");
        }
        if (cycle && json_is_true(cycle) && !s->cycle) {
            /* the defaults of `times` depend on cycle: parse the text again as a cycle */
            script_unref(s);
            s = NULL;
            size_t n = json_string_length(rules);
            char *t = malloc(n + 6);
            if (!t)
                return JX_OOM(&x, rules_loc);
            memcpy(t, "cycle:", 6);
            memcpy(t + 6, json_string_value(rules), n);
            struct wh_error e = {0};
            rc = parse_shorthand(t, n + 6, &s, &e);
            free(t);
            if (rc < 0) /* only out of memory: the text parsed a moment ago */
                return jx_fail(&x, rules_loc, rc, "%s", e.msg);
        }
    } else {
        s = script_new();
        if (!s)
            return JX_OOM(&x, NULL);
        s->cycle = cycle && json_is_true(cycle);
        bool times_given[MAX_RULES] = {false};
        if ((rc = jx_rules(&x, rules_loc, rules, s, times_given)) < 0) {
            script_unref(s);
            return rc;
        }
        script_finalise(s, times_given);
    }
    if (seed) {
        s->has_seed = true;
        s->seed = (uint64_t)json_integer_value(seed);
    }
    *ret = s;
    return 0;
}

int script_parse_text(const char *text, size_t len, script **ret, struct wh_error *err)
{
    size_t i = 0;
    while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r'))
        i++;
    bool looks_json = i < len && (text[i] == '[' || text[i] == '{' || text[i] == '"');
    json_error_t jerr;
    json_t *v = json_loadb(text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
    if (!v && looks_json)
        return wh_error_set(err, -EINVAL, "invalid JSON at line %d, column %d: %s", jerr.line,
                            jerr.column, jerr.text);
    if (!v || !(json_is_string(v) || json_is_array(v) || json_is_object(v))) {
        json_decref(v); /* "410" is JSON too, but a shorthand */
        return parse_shorthand(text, len, ret, err);
    }
    char ptr[256] = "";
    int rc = script_parse_json(v, ret, ptr, sizeof(ptr), err);
    json_decref(v);
    if (rc < 0 && ptr[0])
        wh_error_prefix(err, "%s: ", ptr);
    return rc;
}

/* ---- canonical JSON ---- */

static json_t *number_json(double d)
{
    if (d == floor(d) && fabs(d) < 9007199254740992.0)
        return json_integer((json_int_t)d);
    return json_real(d);
}

/* json_object_set_new that reports failure; steals v */
static int set(json_t *o, const char *k, json_t *v)
{
    return v && json_object_set_new(o, k, v) == 0 ? 0 : -ENOMEM;
}

static json_t *condition_json(const struct script_match *m)
{
    if (m->regex)
        return json_pack("{s:s}", "regex", regex_source(m->regex));
    if (json_is_string(m->equals))
        return json_incref(m->equals);
    return json_pack("{s:O}", "equals", m->equals);
}

static json_t *match_json(const struct script_rule *r)
{
    json_t *o = json_object(), *hs = NULL, *bd = NULL;
    int rc = o ? 0 : -ENOMEM;
    for (size_t i = 0; i < r->n_match && rc == 0; i++) {
        const struct script_match *m = &r->match[i];
        if (m->on == MATCH_EVENT) {
            rc = set(o, "event", condition_json(m));
            continue;
        }
        json_t **group = m->on == MATCH_HEADER ? &hs : &bd;
        if (!*group) {
            *group = json_object(); /* borrowed from o once set */
            if ((rc = set(o, m->on == MATCH_HEADER ? "headers" : "body", *group)) < 0)
                break;
        }
        rc = set(*group, m->key, condition_json(m));
    }
    if (rc < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *rule_json(const struct script_rule *r)
{
    json_t *o = json_object(), *hs = json_object();
    int rc = o && hs ? 0 : -ENOMEM;
    if (rc == 0 && r->status)
        rc = set(o, "status", json_integer(r->status));
    for (size_t i = 0; i < r->n_headers && rc == 0; i++)
        rc = set(hs, r->headers[i].name, json_string(r->headers[i].value));
    if (rc == 0) {
        rc = set(o, "headers", hs);
        hs = NULL;
    }
    if (rc == 0 && r->body)
        rc = set(o, "body", json_stringn(r->body, r->body_len));
    if (rc == 0 && r->delay == DELAY_FIXED)
        rc = set(o, "delay_ms", number_json(r->delay_a));
    else if (rc == 0 && r->delay == DELAY_UNIFORM)
        rc = set(
            o, "delay_ms",
            json_pack("{s:o,s:o}", "min", number_json(r->delay_a), "max", number_json(r->delay_b)));
    else if (rc == 0 && r->delay == DELAY_LOGNORMAL)
        rc = set(o, "delay_ms",
                 json_pack("{s:o,s:o}", "median", number_json(r->delay_a), "sigma",
                           number_json(r->delay_b)));
    if (rc == 0 && r->fault != FAULT_NONE)
        rc = set(o, "fault", json_string(script_fault_name(r->fault)));
    if (rc == 0)
        rc = set(o, "hang_max_ms", json_integer(r->hang_max_ms));
    if (rc == 0)
        rc = set(o, "dribble_ms", json_integer(r->dribble_ms));
    if (rc == 0 && r->times)
        rc = set(o, "times", json_integer(r->times));
    if (rc == 0)
        rc = set(o, "scope", json_string(r->scope == SCOPE_MESSAGE ? "message" : "endpoint"));
    if (rc == 0 && r->n_match)
        rc = set(o, "match", match_json(r));
    json_decref(hs);
    if (rc < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *script_to_json(const script *s)
{
    json_t *o = json_object(), *rules = json_array();
    int rc = o && rules ? 0 : -ENOMEM;
    for (size_t i = 0; i < s->n_rules && rc == 0; i++) {
        json_t *r = rule_json(&s->rules[i]);
        rc = r && json_array_append_new(rules, r) == 0 ? 0 : -ENOMEM;
    }
    if (rc == 0) {
        rc = set(o, "rules", rules);
        rules = NULL;
    }
    if (rc == 0)
        rc = set(o, "cycle", json_boolean(s->cycle));
    if (rc == 0 && s->has_seed)
        rc = set(o, "seed", json_integer((json_int_t)s->seed));
    json_decref(rules);
    if (rc < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* ---- run-time state ---- */

/* One remembered message: its attempts and, for message-scoped rules, its counters. */
struct msg {
    struct msg *next;          /* hash chain */
    struct msg *newer, *older; /* recency list */
    uint64_t hash;
    int64_t attempts;
    int64_t last_us;
    uint64_t gen;    /* the state's generation the counters belong to */
    int64_t *counts; /* per message slot; NULL until a script needs them */
    size_t n_counts;
    size_t key_len;
    char key[];
};

struct script_state {
    pthread_mutex_t lock;
    script *s;                     /* owned reference or NULL */
    int64_t ep_used[MAX_RULES];    /* endpoint-scope counters (selection) */
    int64_t total_used[MAX_RULES]; /* deliveries each rule answered since set/reset (the API) */
    size_t slot[MAX_RULES];        /* message-scoped rule -> its index in msg counts */
    bool matched[MAX_RULES];       /* scratch for one choose */
    size_t n_slots;
    uint64_t gen;
    int64_t deliveries;
    struct msg **buckets;
    size_t n_buckets, count, max;
    struct msg *newest, *oldest;
    uint64_t hkey[2]; /* SipHash key: message keys are chosen by clients */
    uint64_t rng[4];  /* xoshiro256** */
};

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t random_seed(void)
{
    uint64_t v = 0;
    if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != (ssize_t)sizeof(v)) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        v = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
        v ^= (uint64_t)(uintptr_t)&v;
    }
    return v;
}

static void rng_seed(script_state *st, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        st->rng[i] = splitmix64(&seed);
}

static uint64_t rng_next(script_state *st)
{
    uint64_t *s = st->rng;
    uint64_t result = ROTL(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = ROTL(s[3], 45);
    return result;
}

/* uniform in [0, 1) */
static double rng_unit(script_state *st)
{
    return (double)(rng_next(st) >> 11) * 0x1.0p-53;
}

static int64_t draw_delay(script_state *st, const struct script_rule *r)
{
    double d;
    switch (r->delay) {
    case DELAY_FIXED:
        d = r->delay_a;
        break;
    case DELAY_UNIFORM:
        d = r->delay_a + (r->delay_b - r->delay_a) * rng_unit(st);
        break;
    case DELAY_LOGNORMAL: {
        double u1 = 1.0 - rng_unit(st), u2 = rng_unit(st); /* u1 in (0, 1] */
        double z = sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
        d = r->delay_a > 0 ? exp(log(r->delay_a) + r->delay_b * z) : 0;
        break;
    }
    default:
        return 0;
    }
    if (!(d >= 0)) /* also NaN */
        d = 0;
    if (d > DELAY_MAX_MS)
        d = DELAY_MAX_MS;
    return (int64_t)llround(d);
}

/* Forget the rule counters: a new generation makes every message's counters stale. */
static void reset_counters(script_state *st)
{
    st->gen++;
    st->deliveries = 0;
    memset(st->ep_used, 0, sizeof(st->ep_used));
    memset(st->total_used, 0, sizeof(st->total_used));
    st->n_slots = 0;
    for (size_t i = 0; st->s && i < st->s->n_rules; i++)
        st->slot[i] = st->s->rules[i].scope == SCOPE_MESSAGE ? st->n_slots++ : SIZE_MAX;
    rng_seed(st, st->s && st->s->has_seed ? st->s->seed : random_seed());
}

int script_state_create(script *s, size_t max_messages, script_state **ret, struct wh_error *err)
{
    script_state *st = calloc(1, sizeof(*st));
    if (!st)
        return wh_error_set(err, -ENOMEM, "out of memory");
    st->max = max_messages ? max_messages : 1;
    st->n_buckets = 64;
    st->buckets = calloc(st->n_buckets, sizeof(*st->buckets));
    if (!st->buckets) {
        free(st);
        return wh_error_set(err, -ENOMEM, "out of memory");
    }
    st->hkey[0] = random_seed();
    st->hkey[1] = random_seed() ^ 0x5bd1e9955bd1e995ull;
    pthread_mutex_init(&st->lock, NULL);
    st->s = script_ref(s);
    reset_counters(st);
    *ret = st;
    return 0;
}

static void msg_free(struct msg *m)
{
    if (m) {
        free(m->counts);
        free(m);
    }
}

void script_state_destroy(script_state *st)
{
    if (!st)
        return;
    for (struct msg *m = st->newest, *next; m; m = next) {
        next = m->older;
        msg_free(m);
    }
    free(st->buckets);
    script_unref(st->s);
    pthread_mutex_destroy(&st->lock);
    free(st);
}

void script_state_set(script_state *st, script *s)
{
    script_ref(s);
    pthread_mutex_lock(&st->lock);
    script *old = st->s;
    st->s = s;
    reset_counters(st);
    pthread_mutex_unlock(&st->lock);
    script_unref(old);
}

void script_state_reset(script_state *st)
{
    pthread_mutex_lock(&st->lock);
    reset_counters(st);
    pthread_mutex_unlock(&st->lock);
}

static void lru_unlink(script_state *st, struct msg *m)
{
    if (m->newer)
        m->newer->older = m->older;
    else
        st->newest = m->older;
    if (m->older)
        m->older->newer = m->newer;
    else
        st->oldest = m->newer;
    m->newer = m->older = NULL;
}

static void lru_push(script_state *st, struct msg *m)
{
    m->older = st->newest;
    m->newer = NULL;
    if (st->newest)
        st->newest->newer = m;
    st->newest = m;
    if (!st->oldest)
        st->oldest = m;
}

static void hash_remove(script_state *st, struct msg *m)
{
    struct msg **pp = &st->buckets[m->hash & (st->n_buckets - 1)];
    while (*pp && *pp != m)
        pp = &(*pp)->next;
    if (*pp)
        *pp = m->next;
}

/* Double the buckets while the table is fuller than one key per bucket; failure is harmless. */
static void hash_grow(script_state *st)
{
    if (st->count <= st->n_buckets || st->n_buckets >= ((size_t)1 << 24))
        return;
    size_t n = st->n_buckets * 2;
    struct msg **b = calloc(n, sizeof(*b));
    if (!b)
        return;
    for (size_t i = 0; i < st->n_buckets; i++) {
        for (struct msg *m = st->buckets[i], *next; m; m = next) {
            next = m->next;
            m->next = b[m->hash & (n - 1)];
            b[m->hash & (n - 1)] = m;
        }
    }
    free(st->buckets);
    st->buckets = b;
    st->n_buckets = n;
}

/* The entry of key, made (and the oldest beyond max forgotten) when new; NULL on no memory. */
static struct msg *msg_get(script_state *st, const char *key)
{
    size_t len = strlen(key);
    uint64_t h = hash_siphash24(st->hkey, key, len);
    for (struct msg *m = st->buckets[h & (st->n_buckets - 1)]; m; m = m->next)
        if (m->hash == h && m->key_len == len && memcmp(m->key, key, len) == 0)
            return m;
    struct msg *m = calloc(1, sizeof(*m) + len + 1);
    if (!m)
        return NULL;
    m->hash = h;
    m->key_len = len;
    memcpy(m->key, key, len + 1);
    m->last_us = -1;
    m->gen = st->gen;
    if (st->count == st->max) {
        struct msg *old = st->oldest;
        lru_unlink(st, old);
        hash_remove(st, old);
        msg_free(old);
        st->count--;
    }
    size_t b = h & (st->n_buckets - 1);
    m->next = st->buckets[b];
    st->buckets[b] = m;
    lru_push(st, m);
    st->count++;
    hash_grow(st);
    return m;
}

/* Make m's counters current for this generation and script. 0 or -ENOMEM. */
static int msg_counts(script_state *st, struct msg *m)
{
    if (m->gen != st->gen) {
        if (m->counts)
            memset(m->counts, 0, m->n_counts * sizeof(*m->counts));
        m->gen = st->gen;
    }
    if (m->n_counts < st->n_slots) {
        int64_t *c = realloc(m->counts, st->n_slots * sizeof(*c));
        if (!c)
            return -ENOMEM;
        memset(c + m->n_counts, 0, (st->n_slots - m->n_counts) * sizeof(*c));
        m->counts = c;
        m->n_counts = st->n_slots;
    }
    return 0;
}

static bool text_matches(script_state *st, const struct script_match *m, const char *s, size_t len)
{
    if (m->regex)
        return regex_search(m->regex, s, len);
    return json_string_length(m->equals) == len &&
           memcmp(json_string_value(m->equals), s, len) == 0;
}

static bool condition_holds(script_state *st, const struct script_match *m,
                            const struct script_input *in)
{
    switch (m->on) {
    case MATCH_EVENT:
        return in->event && text_matches(st, m, in->event, strlen(in->event));
    case MATCH_HEADER: {
        size_t len = 0;
        const char *v = in->d ? delivery_header(in->d, m->key, &len) : NULL;
        return v && text_matches(st, m, v, len);
    }
    case MATCH_BODY: {
        json_t *v = in->body ? jsonptr_get((json_t *)(uintptr_t)in->body, m->key) : NULL;
        if (!v)
            return false;
        if (!m->regex)
            return json_equal(m->equals, v);
        if (json_is_string(v))
            return regex_search(m->regex, json_string_value(v), json_string_length(v));
        char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        bool ok = text && regex_search(m->regex, text, strlen(text));
        free(text);
        return ok;
    }
    }
    return false;
}

static bool rule_matches(script_state *st, const struct script_rule *r,
                         const struct script_input *in)
{
    for (size_t i = 0; i < r->n_match; i++)
        if (!condition_holds(st, &r->match[i], in))
            return false;
    return true;
}

/* The selection counter of rule i for this delivery. */
static int64_t *counter(script_state *st, struct msg *m, size_t i)
{
    return st->slot[i] == SIZE_MAX ? &st->ep_used[i] : &m->counts[st->slot[i]];
}

static int pick_rule(script_state *st, struct msg *m, const struct script_input *in)
{
    const script *s = st->s;
    int last = -1;
    for (size_t i = 0; i < s->n_rules; i++) {
        const struct script_rule *r = &s->rules[i];
        st->matched[i] = rule_matches(st, r, in);
        if (!st->matched[i])
            continue;
        last = (int)i;
        int64_t *c = counter(st, m, i);
        if (r->times == 0 || *c < r->times) {
            (*c)++;
            return (int)i;
        }
    }
    if (last < 0)
        return -1;
    if (!s->cycle)
        return last;
    int first = -1;
    for (size_t i = 0; i <= (size_t)last; i++) {
        if (!st->matched[i])
            continue;
        *counter(st, m, i) = 0;
        if (first < 0)
            first = (int)i;
    }
    (*counter(st, m, (size_t)first))++;
    return first;
}

int script_state_choose(script_state *st, const struct script_input *in, int64_t now_us,
                        struct script_choice *out)
{
    *out = (struct script_choice){.rule_index = -1};
    pthread_mutex_lock(&st->lock);
    struct msg *m = msg_get(st, in->message_key ? in->message_key : "");
    if (!m || msg_counts(st, m) < 0) {
        pthread_mutex_unlock(&st->lock);
        return -ENOMEM;
    }
    lru_unlink(st, m);
    lru_push(st, m);
    m->attempts++;
    out->attempt = m->attempts;
    out->since_previous_us = m->last_us < 0 ? -1 : (now_us > m->last_us ? now_us - m->last_us : 0);
    m->last_us = now_us;
    st->deliveries++;
    out->script = script_ref(st->s);
    if (st->s) {
        int i = pick_rule(st, m, in);
        if (i >= 0) {
            out->rule = &st->s->rules[i];
            out->rule_index = i;
            out->delay_ms = draw_delay(st, out->rule);
            st->total_used[i]++;
        }
    }
    pthread_mutex_unlock(&st->lock);
    return 0;
}

json_t *script_state_to_json(script_state *st)
{
    pthread_mutex_lock(&st->lock);
    json_t *o = json_object(), *rules = json_array();
    int rc = o && rules ? 0 : -ENOMEM;
    for (size_t i = 0; st->s && i < st->s->n_rules && rc == 0; i++) {
        json_t *r =
            json_pack("{s:I,s:I}", "index", (json_int_t)i, "used", (json_int_t)st->total_used[i]);
        rc = r && json_array_append_new(rules, r) == 0 ? 0 : -ENOMEM;
    }
    if (rc == 0)
        rc = set(o, "script", st->s ? script_to_json(st->s) : json_null());
    if (rc == 0)
        rc = set(o, "deliveries", json_integer(st->deliveries));
    if (rc == 0) {
        rc = set(o, "rules", rules);
        rules = NULL;
    }
    if (rc == 0)
        rc = set(o, "messages", json_integer((json_int_t)st->count));
    pthread_mutex_unlock(&st->lock);
    json_decref(rules);
    if (rc < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}
