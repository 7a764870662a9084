/* jsonschema: the validator, which walks a compiled schema (jsonschema.c) over a jsv tree, and
 * the error list. Everything a validation needs beyond the immutable schema lives in its own
 * struct vctx, so one schema serves many threads. */
#include "jsonschema.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "jsonschema_priv.h"

/* ---- the error list ---- */

void jsonschema_errors_init(struct jsonschema_errors *e, size_t max)
{
    memset(e, 0, sizeof(*e));
    e->max = max ? max : JSONSCHEMA_MAX_ERRORS;
}

void jsonschema_errors_clear(struct jsonschema_errors *e)
{
    for (size_t i = 0; i < e->n; i++) {
        free(e->v[i].pointer);
        free(e->v[i].message);
    }
    e->n = 0;
    e->truncated = false;
    e->err.code = 0;
    e->err.msg[0] = '\0';
}

void jsonschema_errors_finish(struct jsonschema_errors *e)
{
    if (!e)
        return;
    jsonschema_errors_clear(e);
    free(e->v);
    e->v = NULL;
}

json_t *jsonschema_errors_to_json(const struct jsonschema_errors *e)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < e->n; i++) {
        json_t *o = json_pack("{s:s, s:s, s:s}", "pointer", e->v[i].pointer, "keyword",
                              e->v[i].keyword, "message", e->v[i].message);
        if (!o || json_array_append_new(arr, o) < 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

/* ---- one validation ---- */

/* The instance location: a chain of segments from the innermost up, on the C stack. */
struct seg {
    const struct seg *up;
    const char *key; /* a member name, or NULL for an array index */
    uint32_t len;
    uint32_t index;
};

struct vctx {
    struct jsonschema_errors *errors; /* where errors go now; NULL: only the verdict */
    struct jsonschema_errors *top;    /* the caller's list (NULL allowed) */
    void *scratch;                    /* PCRE2 match data of this validation */
    int rc;                           /* < 0 once something could not be decided */
    bool stop;                        /* stop looking: rc < 0, or the list is full */
    int depth;
};

static bool validate(struct vctx *c, const struct node *n, const struct jsv *v,
                     const struct seg *path);

static char *pointer_of(const struct seg *path)
{
    size_t depth = 0;
    for (const struct seg *p = path; p; p = p->up)
        depth++;
    const struct seg *small[64];
    const struct seg **segs = depth <= 64 ? small : malloc(depth * sizeof(*segs));
    if (!segs)
        return NULL;
    size_t i = depth;
    for (const struct seg *p = path; p; p = p->up)
        segs[--i] = p;
    struct buf b;
    buf_init(&b, 0);
    int r = buf_append(&b, "", 0);
    for (i = 0; i < depth && r == 0; i++) {
        r = buf_append_byte(&b, '/');
        if (!segs[i]->key) {
            r = r ? r : buf_printf(&b, "%u", segs[i]->index);
            continue;
        }
        for (uint32_t k = 0; k < segs[i]->len && r == 0; k++) {
            char ch = segs[i]->key[k];
            r = ch == '~'   ? buf_append_str(&b, "~0")
                : ch == '/' ? buf_append_str(&b, "~1")
                            : buf_append_byte(&b, ch);
        }
    }
    if (segs != small)
        free(segs);
    if (r < 0) {
        buf_finish(&b);
        return NULL;
    }
    return buf_steal(&b, NULL);
}

/* Append s as a JSON string, cut after max characters ("…" then). Control characters, DEL
 * and the C1 controls are escaped, so a message is safe to show in a terminal. */
static void quote(struct buf *out, const char *s, size_t len, size_t max)
{
    buf_append_byte(out, '"');
    size_t chars = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if ((ch & 0xC0) != 0x80 && chars++ == max) {
            buf_append_str(out, "\xE2\x80\xA6");
            break;
        }
        if (ch == '"' || ch == '\\')
            buf_printf(out, "\\%c", ch);
        else if (ch == '\n')
            buf_append_str(out, "\\n");
        else if (ch == '\t')
            buf_append_str(out, "\\t");
        else if (ch == '\r')
            buf_append_str(out, "\\r");
        else if (ch < 0x20 || ch == 0x7F)
            buf_printf(out, "\\u%04x", ch);
        else if (ch == 0xC2 && i + 1 < len && (unsigned char)s[i + 1] < 0xA0) /* C1 control */
            buf_printf(out, "\\u%04x", (unsigned char)s[++i]);
        else
            buf_append_byte(out, (char)ch);
    }
    buf_append_byte(out, '"');
}

static const char *type_name(const struct jsv *v)
{
    switch (v->type) {
    case JSV_NULL:
        return "null";
    case JSV_TRUE:
    case JSV_FALSE:
        return "a boolean";
    case JSV_INT:
        return "an integer";
    case JSV_REAL:
        return "a number";
    case JSV_STRING:
        return "a string";
    case JSV_ARRAY:
        return "an array";
    default:
        return "an object";
    }
}

/* A short rendering of a value for messages. */
static void describe(struct buf *out, const struct jsv *v)
{
    char num[64];
    switch (v->type) {
    case JSV_NULL:
        buf_append_str(out, "null");
        break;
    case JSV_TRUE:
        buf_append_str(out, "true");
        break;
    case JSV_FALSE:
        buf_append_str(out, "false");
        break;
    case JSV_INT:
    case JSV_REAL:
        jsv_format_number(v, num, sizeof(num));
        buf_append_str(out, num);
        break;
    case JSV_STRING:
        quote(out, v->u.s, v->n, 60);
        break;
    case JSV_ARRAY:
        buf_printf(out, "an array of %u item%s", v->n, v->n == 1 ? "" : "s");
        break;
    default:
        buf_printf(out, "an object with %u propert%s", v->n, v->n == 1 ? "y" : "ies");
    }
}

/* Record an error at path (nothing when errors are not being recorded). */
static void vreport(struct vctx *c, const struct seg *path, const char *keyword, const char *fmt,
                    va_list ap) __attribute__((format(printf, 4, 0)));

static bool hard(struct vctx *c, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool hard(struct vctx *c, int rc, const char *fmt, ...)
{
    if (c->rc == 0) {
        c->rc = rc;
        if (c->top) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(c->top->err.msg, sizeof(c->top->err.msg), fmt, ap);
            va_end(ap);
            c->top->err.code = rc;
        }
    }
    c->stop = true;
    return false;
}

static void vreport(struct vctx *c, const struct seg *path, const char *keyword, const char *fmt,
                    va_list ap)
{
    struct jsonschema_errors *e = c->errors;
    if (!e)
        return;
    if (e->n >= e->max) {
        e->truncated = true;
        c->stop = true; /* (a scratch list's stop is undone by its caller) */
        return;
    }
    if (e->n == 0 || (e->n & (e->n - 1)) == 0) { /* room for 1, 2, 4, 8, ... */
        size_t cap = e->n ? e->n * 2 : 1;
        struct jsonschema_error *nv = realloc(e->v, cap * sizeof(*nv));
        if (!nv) {
            hard(c, -ENOMEM, "out of memory");
            return;
        }
        e->v = nv;
    }
    struct buf msg;
    buf_init(&msg, 0);
    int r = buf_vprintf(&msg, fmt, ap);
    char *ptr = pointer_of(path);
    char *text = r == 0 ? buf_steal(&msg, NULL) : NULL;
    buf_finish(&msg);
    if (!ptr || !text) {
        free(ptr);
        free(text);
        hard(c, -ENOMEM, "out of memory");
        return;
    }
    e->v[e->n++] = (struct jsonschema_error){.pointer = ptr, .keyword = keyword, .message = text};
}

static void report(struct vctx *c, const struct seg *path, const char *keyword, const char *fmt,
                   ...) __attribute__((format(printf, 4, 5)));

static void report(struct vctx *c, const struct seg *path, const char *keyword, const char *fmt,
                   ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(c, path, keyword, fmt, ap);
    va_end(ap);
}

/* Validate without recording errors; the first failure ends it. */
static bool quiet(struct vctx *c, const struct node *n, const struct jsv *v, const struct seg *path)
{
    struct jsonschema_errors *saved = c->errors;
    c->errors = NULL;
    bool r = validate(c, n, v, path);
    c->errors = saved;
    return r;
}

/* The first error n gives v, as "message" or "at POINTER: message" when it is deeper than
 * path; appended to out. */
static void first_error(struct vctx *c, const struct node *n, const struct jsv *v,
                        const struct seg *path, struct buf *out)
{
    struct jsonschema_errors tmp;
    jsonschema_errors_init(&tmp, 1);
    struct jsonschema_errors *saved = c->errors;
    bool saved_stop = c->stop;
    c->errors = &tmp;
    validate(c, n, v, path);
    c->errors = saved;
    if (c->rc == 0)
        c->stop = saved_stop;
    if (tmp.n) {
        char *here = pointer_of(path);
        if (here && strcmp(here, tmp.v[0].pointer) != 0)
            buf_printf(out, "at %s: ", tmp.v[0].pointer);
        free(here);
        buf_append_str(out, tmp.v[0].message);
    } else {
        buf_append_str(out, "no match");
    }
    jsonschema_errors_finish(&tmp);
}

/* Apply a subschema to a member or item (path is its location). A false schema there reads
 * "property "x" is not allowed" / "item 3 is not allowed". */
static bool apply(struct vctx *c, const struct node *n, const struct jsv *v, const struct seg *path,
                  const char *keyword)
{
    n = node_deref(n);
    if (n->kind == NODE_TRUE)
        return true;
    if (n->kind != NODE_FALSE)
        return validate(c, n, v, path);
    if (c->errors) {
        struct buf m;
        buf_init(&m, 0);
        if (path->key) {
            buf_append_str(&m, "property ");
            quote(&m, path->key, path->len, 60);
        } else {
            buf_printf(&m, "item %u", path->index);
        }
        report(c, path, keyword, "%s is not allowed", m.data ? m.data : "");
        buf_finish(&m);
    }
    return false;
}

static const char *const type_names[] = {"null",   "boolean", "integer", "number",
                                         "string", "array",   "object"};

/* (not inlined: the recursive path through run_check keeps a small frame) */
static __attribute__((noinline)) bool check_type(struct vctx *c, uint8_t types, const struct jsv *v,
                                                 const struct seg *path)
{
    bool ok;
    switch (v->type) {
    case JSV_NULL:
        ok = types & TYPE_NULL;
        break;
    case JSV_TRUE:
    case JSV_FALSE:
        ok = types & TYPE_BOOLEAN;
        break;
    case JSV_INT:
        ok = types & (TYPE_INTEGER | TYPE_NUMBER);
        break;
    case JSV_REAL:
        ok = (types & TYPE_NUMBER) || ((types & TYPE_INTEGER) && jsv_is_integer(v));
        break;
    case JSV_STRING:
        ok = types & TYPE_STRING;
        break;
    case JSV_ARRAY:
        ok = types & TYPE_ARRAY;
        break;
    default:
        ok = types & TYPE_OBJECT;
        break;
    }
    if (ok || !c->errors)
        return ok;
    struct buf m;
    buf_init(&m, 0);
    int count = 0, total = __builtin_popcount(types);
    for (int i = 0; i < 7; i++) {
        if (!(types & (1 << i)))
            continue;
        if (count > 0)
            buf_append_str(&m, count == total - 1 ? " or " : ", ");
        const char *name = type_names[i];
        buf_printf(&m, "%s%s",
                   i == 0                                                 ? ""
                   : (name[0] == 'i' || name[0] == 'a' || name[0] == 'o') ? "an "
                                                                          : "a ",
                   name);
        count++;
    }
    report(c, path, "type", "must be %s, not %s", m.data ? m.data : "", type_name(v));
    buf_finish(&m);
    return false;
}

static __attribute__((noinline)) bool check_enum(struct vctx *c, const struct check *k,
                                                 const struct jsv *v, const struct seg *path)
{
    for (size_t i = 0; i < k->u.en.n; i++)
        if (jsv_equal(v, &k->u.en.v[i]))
            return true;
    if (!c->errors)
        return false;
    struct buf m;
    buf_init(&m, 0);
    for (size_t i = 0; i < k->u.en.n && i < 10; i++) {
        if (i)
            buf_append_str(&m, ", ");
        describe(&m, &k->u.en.v[i]);
    }
    if (k->u.en.n > 10)
        buf_printf(&m, ", \xE2\x80\xA6 (%zu values)", k->u.en.n);
    buf_append_str(&m, " (not ");
    describe(&m, v);
    buf_append_str(&m, ")");
    if (k->u.en.n == 0)
        report(c, path, "enum", "no value is allowed (enum is empty)");
    else
        report(c, path, "enum", "must be one of %s", m.data ? m.data : "");
    buf_finish(&m);
    return false;
}

static __attribute__((noinline)) bool check_bound(struct vctx *c, const struct check *k,
                                                  const struct jsv *v, const struct seg *path)
{
    int cmp = jsv_compare_numbers(v, &k->u.value);
    bool ok;
    const char *keyword, *words;
    switch (k->op) {
    case OP_MAXIMUM:
        ok = cmp <= 0, keyword = "maximum", words = "at most";
        break;
    case OP_EXCLUSIVE_MAXIMUM:
        ok = cmp < 0, keyword = "exclusiveMaximum", words = "less than";
        break;
    case OP_MINIMUM:
        ok = cmp >= 0, keyword = "minimum", words = "at least";
        break;
    default:
        ok = cmp > 0, keyword = "exclusiveMinimum", words = "greater than";
        break;
    }
    if (!ok && c->errors) {
        char a[64], b[64];
        jsv_format_number(&k->u.value, a, sizeof(a));
        jsv_format_number(v, b, sizeof(b));
        report(c, path, keyword, "must be %s %s, not %s", words, a, b);
    }
    return ok;
}

static __attribute__((noinline)) bool check_string(struct vctx *c, const struct check *k,
                                                   const struct jsv *v, const struct seg *path)
{
    switch (k->op) {
    case OP_MAX_LENGTH: {
        if (v->n <= k->u.count)
            return true;
        size_t len = jsv_utf8_length(v->u.s, v->n);
        if (len <= k->u.count)
            return true;
        report(c, path, "maxLength", "must be at most %llu characters long, not %zu",
               (unsigned long long)k->u.count, len);
        return false;
    }
    case OP_MIN_LENGTH: {
        if (v->n / 4 >= k->u.count)
            return true;
        size_t len = jsv_utf8_length(v->u.s, v->n);
        if (len >= k->u.count)
            return true;
        report(c, path, "minLength", "must be at least %llu characters long, not %zu",
               (unsigned long long)k->u.count, len);
        return false;
    }
    case OP_FORMAT: {
        if (jsonschema_format_check(k->u.format, v->u.s, v->n))
            return true;
        if (c->errors) {
            struct buf m;
            buf_init(&m, 0);
            describe(&m, v);
            report(c, path, "format", "must be %s (format \"%s\"), not %s",
                   jsonschema_format_describe(k->u.format), jsonschema_format_name(k->u.format),
                   m.data ? m.data : "");
            buf_finish(&m);
        }
        return false;
    }
    default: { /* OP_PATTERN */
        int r = jsonschema_regex_match(k->u.re, v->u.s, v->n, &c->scratch);
        if (r > 0)
            return true;
        if (r == 0 && !c->errors)
            return false;
        struct buf p;
        buf_init(&p, 0);
        quote(&p, jsonschema_regex_source(k->u.re), strlen(jsonschema_regex_source(k->u.re)), 80);
        if (r < 0) {
            char *where = pointer_of(path);
            hard(c, r, "%s: the pattern %s %s", where ? where : "", p.data ? p.data : "",
                 r == -E2BIG ? "gave up: it hit its match limit (a regular expression too costly "
                               "for this string)"
                             : "could not be matched (out of memory or an internal error)");
            free(where);
        } else if (c->errors) {
            struct buf m;
            buf_init(&m, 0);
            describe(&m, v);
            report(c, path, "pattern", "must match the pattern %s, not %s", p.data ? p.data : "",
                   m.data ? m.data : "");
            buf_finish(&m);
        }
        buf_finish(&p);
        return false;
    }
    }
}

struct hashed {
    uint64_t h;
    uint32_t i;
};

static int cmp_hashed(const void *a, const void *b)
{
    const struct hashed *x = a, *y = b;
    if (x->h != y->h)
        return x->h < y->h ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* Comparisons uniqueItems may spend on items whose hashes are equal (hostile collisions). */
#define UNIQUE_MAX_COMPARISONS 10000000u

static __attribute__((noinline)) bool check_unique(struct vctx *c, const struct jsv *v,
                                                   const struct seg *path)
{
    const struct jsv *it = v->u.items;
    uint32_t n = v->n, di = 0, dj = 0;
    bool dup = false;
    if (n <= 16) {
        for (uint32_t j = 1; j < n && !dup; j++)
            for (uint32_t i = 0; i < j && !dup; i++)
                if (jsv_equal(&it[i], &it[j])) {
                    dup = true;
                    di = i;
                    dj = j;
                }
    } else {
        struct hashed *t = malloc((size_t)n * sizeof(*t));
        if (!t)
            return hard(c, -ENOMEM, "out of memory");
        for (uint32_t i = 0; i < n; i++)
            t[i] = (struct hashed){jsv_hash(&it[i]), i};
        qsort(t, n, sizeof(*t), cmp_hashed);
        uint64_t spent = 0;
        for (uint32_t a = 0; a < n && !dup; a++)
            for (uint32_t b = a + 1; b < n && t[b].h == t[a].h && !dup; b++) {
                if (++spent > UNIQUE_MAX_COMPARISONS) {
                    free(t);
                    char *where = pointer_of(path);
                    hard(c, -E2BIG, "%s: uniqueItems gave up: too many items look alike",
                         where ? where : "");
                    free(where);
                    return false;
                }
                if (jsv_equal(&it[t[a].i], &it[t[b].i])) {
                    dup = true;
                    di = t[a].i;
                    dj = t[b].i;
                }
            }
        free(t);
    }
    if (dup)
        report(c, path, "uniqueItems", "must not repeat items: items %u and %u are equal",
               di < dj ? di : dj, di < dj ? dj : di);
    return !dup;
}

#define CONTINUE_AFTER_FAIL(c) ((c)->errors && !(c)->stop)

static bool check_items(struct vctx *c, const struct check *k, const struct jsv *v,
                        const struct seg *path)
{
    bool ok = true;
    const struct node *one = k->u.items.one;
    uint32_t n = v->n;
    uint32_t listed = one ? n : (uint32_t)(k->u.items.n < n ? k->u.items.n : n);
    for (uint32_t i = 0; i < listed; i++) {
        struct seg s = {path, NULL, 0, i};
        if (!apply(c, one ? one : k->u.items.v[i], &v->u.items[i], &s, "items")) {
            ok = false;
            if (!CONTINUE_AFTER_FAIL(c))
                return false;
        }
    }
    const struct node *add = k->u.items.additional;
    if (one || !add || n <= listed)
        return ok;
    if (node_deref(add)->kind == NODE_FALSE) {
        report(c, path, "additionalItems",
               "must have at most %zu item%s (additionalItems is false), not %u", k->u.items.n,
               k->u.items.n == 1 ? "" : "s", n);
        return false;
    }
    for (uint32_t i = listed; i < n; i++) {
        struct seg s = {path, NULL, 0, i};
        if (!apply(c, add, &v->u.items[i], &s, "additionalItems")) {
            ok = false;
            if (!CONTINUE_AFTER_FAIL(c))
                return false;
        }
    }
    return ok;
}

static bool check_contains(struct vctx *c, const struct check *k, const struct jsv *v,
                           const struct seg *path)
{
    for (uint32_t i = 0; i < v->n; i++) {
        struct seg s = {path, NULL, 0, i};
        if (quiet(c, k->u.sub, &v->u.items[i], &s))
            return true;
        if (c->rc)
            return false;
    }
    if (c->errors) {
        struct buf m;
        buf_init(&m, 0);
        if (v->n) {
            struct seg s = {path, NULL, 0, 0};
            buf_append_str(&m, " (item 0: ");
            first_error(c, k->u.sub, &v->u.items[0], &s, &m);
            buf_append_str(&m, ")");
        } else {
            buf_append_str(&m, ", but it is empty");
        }
        report(c, path, "contains", "must contain at least one item that matches \"contains\"%s",
               m.data ? m.data : "");
        buf_finish(&m);
    }
    return false;
}

static const struct node *find_prop(const struct props *p, const struct jsv_member *m)
{
    if (p->index) {
        for (size_t h = m->hash & (p->cap - 1); p->index[h]; h = (h + 1) & (p->cap - 1)) {
            const struct prop *e = &p->v[p->index[h] - 1];
            if (e->key.hash == m->hash && e->key.len == m->key_len &&
                memcmp(e->key.s, m->key, m->key_len) == 0)
                return e->node;
        }
        return NULL;
    }
    for (size_t i = 0; i < p->n; i++) {
        const struct prop *e = &p->v[i];
        if (e->key.hash == m->hash && e->key.len == m->key_len &&
            memcmp(e->key.s, m->key, m->key_len) == 0)
            return e->node;
    }
    return NULL;
}

static bool check_properties(struct vctx *c, const struct props *p, const struct jsv *v,
                             const struct seg *path)
{
    bool ok = true;
    for (uint32_t i = 0; i < v->n; i++) {
        const struct jsv_member *m = &v->u.members[i];
        struct seg s = {path, m->key, m->key_len, 0};
        bool matched = false, good = true;
        const struct node *pn = p->n ? find_prop(p, m) : NULL;
        if (pn) {
            matched = true;
            good = apply(c, pn, &m->v, &s, "properties");
        }
        for (size_t k = 0; k < p->pn && (good || CONTINUE_AFTER_FAIL(c)); k++) {
            int r = jsonschema_regex_match(p->pv[k].re, m->key, m->key_len, &c->scratch);
            if (r < 0) {
                char *where = pointer_of(&s);
                hard(c, r,
                     "%s: the patternProperties pattern \"%s\" gave up on this property "
                     "name (%s)",
                     where ? where : "", jsonschema_regex_source(p->pv[k].re),
                     r == -E2BIG ? "it hit its match limit" : "an internal error");
                free(where);
                return false;
            }
            if (r) {
                matched = true;
                good &= apply(c, p->pv[k].node, &m->v, &s, "patternProperties");
            }
        }
        if (!matched && p->additional)
            good = apply(c, p->additional, &m->v, &s, "additionalProperties");
        if (!good) {
            ok = false;
            if (!CONTINUE_AFTER_FAIL(c))
                return false;
        }
    }
    return ok;
}

static __attribute__((noinline)) bool check_required(struct vctx *c, const struct key *keys,
                                                     size_t n, const struct jsv *v,
                                                     const struct seg *path, const char *keyword,
                                                     const struct key *because)
{
    bool ok = true;
    for (size_t i = 0; i < n; i++) {
        if (jsv_get(v, keys[i].s, keys[i].len, keys[i].hash))
            continue;
        ok = false;
        if (!c->errors)
            return false;
        struct buf m;
        buf_init(&m, 0);
        if (because) {
            buf_append_str(&m, "property ");
            quote(&m, because->s, because->len, 60);
            buf_append_str(&m, " requires property ");
            quote(&m, keys[i].s, keys[i].len, 60);
            buf_append_str(&m, ", which is missing");
        } else {
            buf_append_str(&m, "required property ");
            quote(&m, keys[i].s, keys[i].len, 60);
            buf_append_str(&m, " is missing");
        }
        report(c, path, keyword, "%s", m.data ? m.data : "");
        buf_finish(&m);
        if (c->stop)
            return false;
    }
    return ok;
}

static bool check_dependencies(struct vctx *c, const struct check *k, const struct jsv *v,
                               const struct seg *path)
{
    bool ok = true;
    for (size_t i = 0; i < k->u.deps.n; i++) {
        const struct dep *d = &k->u.deps.v[i];
        if (!jsv_get(v, d->key.s, d->key.len, d->key.hash))
            continue;
        bool good = d->node ? validate(c, d->node, v, path)
                            : check_required(c, d->req, d->n_req, v, path, "dependencies", &d->key);
        if (!good) {
            ok = false;
            if (!CONTINUE_AFTER_FAIL(c))
                return false;
        }
    }
    return ok;
}

static bool check_property_names(struct vctx *c, const struct check *k, const struct jsv *v,
                                 const struct seg *path)
{
    bool ok = true;
    for (uint32_t i = 0; i < v->n; i++) {
        const struct jsv_member *m = &v->u.members[i];
        struct jsv name = {.type = JSV_STRING, .n = m->key_len, .u.s = m->key};
        struct seg s = {path, m->key, m->key_len, 0};
        if (quiet(c, k->u.sub, &name, path))
            continue;
        if (c->rc)
            return false;
        ok = false;
        if (!c->errors)
            return false;
        struct buf msg;
        buf_init(&msg, 0);
        buf_append_str(&msg, "property name ");
        quote(&msg, m->key, m->key_len, 60);
        buf_append_str(&msg, " does not match propertyNames: ");
        first_error(c, k->u.sub, &name, path, &msg);
        report(c, &s, "propertyNames", "%s", msg.data ? msg.data : "");
        buf_finish(&msg);
        if (c->stop)
            return false;
    }
    return ok;
}

/* "[0] why; [1] why" for the first few schemas of a list that v does not match */
static void why_not(struct vctx *c, const struct check *k, const struct jsv *v,
                    const struct seg *path, struct buf *m)
{
    for (size_t i = 0; i < k->u.list.n && i < 3; i++) {
        buf_printf(m, "%s[%zu] ", i ? "; " : "", i);
        first_error(c, k->u.list.v[i], v, path, m);
    }
    if (k->u.list.n > 3)
        buf_append_str(m, "; \xE2\x80\xA6");
}

static bool check_combinator(struct vctx *c, const struct check *k, const struct jsv *v,
                             const struct seg *path)
{
    switch (k->op) {
    case OP_ALL_OF: {
        bool ok = true;
        for (size_t i = 0; i < k->u.list.n; i++)
            if (!validate(c, k->u.list.v[i], v, path)) {
                ok = false;
                if (!CONTINUE_AFTER_FAIL(c))
                    return false;
            }
        return ok;
    }
    case OP_ANY_OF: {
        for (size_t i = 0; i < k->u.list.n; i++) {
            if (quiet(c, k->u.list.v[i], v, path))
                return true;
            if (c->rc)
                return false;
        }
        if (c->errors) {
            struct buf m;
            buf_init(&m, 0);
            why_not(c, k, v, path, &m);
            report(c, path, "anyOf", "must match at least one schema in anyOf: %s",
                   m.data ? m.data : "");
            buf_finish(&m);
        }
        return false;
    }
    case OP_ONE_OF: {
        size_t matched = 0, first = 0, second = 0;
        for (size_t i = 0; i < k->u.list.n && matched < 2; i++) {
            if (quiet(c, k->u.list.v[i], v, path)) {
                if (matched++ == 0)
                    first = i;
                else
                    second = i;
            }
            if (c->rc)
                return false;
        }
        if (matched == 1)
            return true;
        if (c->errors) {
            struct buf m;
            buf_init(&m, 0);
            if (matched == 0) {
                why_not(c, k, v, path, &m);
                report(c, path, "oneOf",
                       "must match exactly one schema in oneOf, but matches "
                       "none: %s",
                       m.data ? m.data : "");
            } else {
                report(c, path, "oneOf",
                       "must match exactly one schema in oneOf, but matches schemas %zu and %zu",
                       first, second);
            }
            buf_finish(&m);
        }
        return false;
    }
    case OP_NOT: {
        bool r = quiet(c, k->u.sub, v, path);
        if (c->rc)
            return false;
        if (r)
            report(c, path, "not", "must not match the schema in \"not\"");
        return !r;
    }
    default: { /* OP_IF */
        bool r = quiet(c, k->u.iff.cond, v, path);
        if (c->rc)
            return false;
        const struct node *next = r ? k->u.iff.then : k->u.iff.otherwise;
        return next ? validate(c, next, v, path) : true;
    }
    }
}

static __attribute__((noinline)) bool check_value(struct vctx *c, const struct check *k,
                                                  const struct jsv *v, const struct seg *path)
{
    if (k->op == OP_CONST) {
        if (jsv_equal(v, &k->u.value))
            return true;
        if (c->errors) {
            struct buf a, b;
            buf_init(&a, 0);
            buf_init(&b, 0);
            describe(&a, &k->u.value);
            describe(&b, v);
            report(c, path, "const", "must be %s, not %s", a.data ? a.data : "",
                   b.data ? b.data : "");
            buf_finish(&a);
            buf_finish(&b);
        }
        return false;
    }
    if (jsv_multiple_of(v, &k->u.value))
        return true;
    if (c->errors) {
        char a[64], b[64];
        jsv_format_number(&k->u.value, a, sizeof(a));
        jsv_format_number(v, b, sizeof(b));
        report(c, path, "multipleOf", "must be a multiple of %s, not %s", a, b);
    }
    return false;
}

static bool run_check(struct vctx *c, const struct check *k, const struct jsv *v,
                      const struct seg *path)
{
    switch (k->op) {
    case OP_TYPE:
        return check_type(c, k->u.types, v, path);
    case OP_CONST:
    case OP_MULTIPLE_OF:
        return check_value(c, k, v, path);
    case OP_ENUM:
        return check_enum(c, k, v, path);
    case OP_MAXIMUM:
    case OP_EXCLUSIVE_MAXIMUM:
    case OP_MINIMUM:
    case OP_EXCLUSIVE_MINIMUM:
        return check_bound(c, k, v, path);
    case OP_MAX_LENGTH:
    case OP_MIN_LENGTH:
    case OP_FORMAT:
    case OP_PATTERN:
        return check_string(c, k, v, path);
    case OP_MAX_ITEMS:
    case OP_MAX_PROPERTIES:
        if (v->n <= k->u.count)
            return true;
        report(c, path, k->op == OP_MAX_ITEMS ? "maxItems" : "maxProperties",
               "must have at most %llu %s, not %u", (unsigned long long)k->u.count,
               k->op == OP_MAX_ITEMS ? "items" : "properties", v->n);
        return false;
    case OP_MIN_ITEMS:
    case OP_MIN_PROPERTIES:
        if (v->n >= k->u.count)
            return true;
        report(c, path, k->op == OP_MIN_ITEMS ? "minItems" : "minProperties",
               "must have at least %llu %s, not %u", (unsigned long long)k->u.count,
               k->op == OP_MIN_ITEMS ? "items" : "properties", v->n);
        return false;
    case OP_UNIQUE_ITEMS:
        return check_unique(c, v, path);
    case OP_ITEMS:
        return check_items(c, k, v, path);
    case OP_CONTAINS:
        return check_contains(c, k, v, path);
    case OP_REQUIRED:
        return check_required(c, k->u.req.v, k->u.req.n, v, path, "required", NULL);
    case OP_PROPERTIES:
        return check_properties(c, k->u.props, v, path);
    case OP_DEPENDENCIES:
        return check_dependencies(c, k, v, path);
    case OP_PROPERTY_NAMES:
        return check_property_names(c, k, v, path);
    default:
        return check_combinator(c, k, v, path);
    }
}

static const uint8_t class_of[] = {
    [JSV_NULL] = CLASS_NULL, [JSV_FALSE] = CLASS_BOOL, [JSV_TRUE] = CLASS_BOOL,
    [JSV_INT] = CLASS_NUM,   [JSV_REAL] = CLASS_NUM,   [JSV_STRING] = CLASS_STR,
    [JSV_ARRAY] = CLASS_ARR, [JSV_OBJECT] = CLASS_OBJ,
};

static bool validate(struct vctx *c, const struct node *n, const struct jsv *v,
                     const struct seg *path)
{
    n = node_deref(n);
    if (n->kind == NODE_TRUE)
        return true;
    if (n->kind == NODE_FALSE) {
        report(c, path, "false schema", "no value is allowed here (the schema is false)");
        return false;
    }
    if (c->depth >= JSONSCHEMA_MAX_DEPTH) {
        char *where = pointer_of(path);
        hard(c, -ELOOP, "%s: schemas applied more than %d deep", where ? where : "",
             JSONSCHEMA_MAX_DEPTH);
        free(where);
        return false;
    }
    c->depth++;
    uint8_t cls = class_of[v->type];
    bool ok = true;
    for (size_t i = 0; i < n->n_checks; i++) {
        const struct check *k = &n->checks[i];
        if (!(k->applies & cls))
            continue;
        if (!run_check(c, k, v, path)) {
            ok = false;
            if (!CONTINUE_AFTER_FAIL(c))
                break;
        }
    }
    c->depth--;
    return ok;
}

static int run(const jsonschema *s, const struct jsv *v, struct jsonschema_errors *ret)
{
    struct vctx c = {.errors = ret, .top = ret};
    bool ok = validate(&c, s->root, v, NULL);
    jsonschema_regex_scratch_free(c.scratch);
    if (c.rc < 0)
        return c.rc;
    return ok ? 0 : 1;
}

/* stack space for the value tree of a typical delivery */
#define ARENA_STACK 8192

int jsonschema_validate(const jsonschema *s, json_t *instance, struct jsonschema_errors *ret)
{
    if (ret)
        jsonschema_errors_clear(ret);
    max_align_t space[ARENA_STACK / sizeof(max_align_t)];
    struct jsv_arena a;
    jsv_arena_init(&a, space, sizeof(space));
    struct jsv v;
    int r = jsv_from_json(&a, instance, &v, ret ? &ret->err : NULL);
    if (r == 0)
        r = run(s, &v, ret);
    jsv_arena_finish(&a);
    return r;
}

int jsonschema_validate_text(const jsonschema *s, const char *text, size_t len,
                             struct jsonschema_errors *ret)
{
    if (ret)
        jsonschema_errors_clear(ret);
    max_align_t space[ARENA_STACK / sizeof(max_align_t)];
    struct jsv_arena a;
    jsv_arena_init(&a, space, sizeof(space));
    struct jsv v;
    int r = jsv_parse(&a, text, len, &v, ret ? &ret->err : NULL);
    if (r == 0)
        r = run(s, &v, ret);
    jsv_arena_finish(&a);
    return r;
}
