/* jsonschema: the compiler (schema JSON -> node graph), file loading and the ref map. The
 * validator that walks the graph is in jsonschema_validate.c. */
#include "jsonschema.h"

#include "encode.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "jsonpos.h"
#include "jsonschema_meta.h"
#include "jsonschema_priv.h"
#include "jsonschema_uri.h"

/* ---- what the compiled schema owns ---- */

static void *keep(jsonschema *s, void *p)
{
    if (!p)
        return NULL;
    if (s->n_allocs == s->cap_allocs) {
        size_t cap = s->cap_allocs ? s->cap_allocs * 2 : 64;
        void **v = realloc(s->allocs, cap * sizeof(*v));
        if (!v) {
            free(p);
            return NULL;
        }
        s->allocs = v;
        s->cap_allocs = cap;
    }
    s->allocs[s->n_allocs++] = p;
    return p;
}

static void *salloc(jsonschema *s, size_t size)
{
    return keep(s, calloc(1, size ? size : 1));
}

static char *sstrdup(jsonschema *s, const char *str)
{
    return keep(s, strdup(str));
}

void jsonschema_destroy(jsonschema *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_allocs; i++)
        free(s->allocs[i]);
    free(s->allocs);
    for (size_t i = 0; i < s->n_regexes; i++)
        jsonschema_regex_destroy(s->regexes[i]);
    free(s->regexes);
    jsv_arena_finish(&s->arena);
    json_decref(s->docs);
    free(s);
}

/* ---- a map from pointers to pointers (open addressing) ---- */

struct ptrmap {
    const void **keys;
    void **vals;
    size_t cap, n;
};

static size_t ptr_slot(const void *k, size_t cap)
{
    uint64_t h = (uint64_t)(uintptr_t)k * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 32) & (cap - 1);
}

static void *ptrmap_get(const struct ptrmap *m, const void *k)
{
    if (!m->cap)
        return NULL;
    for (size_t i = ptr_slot(k, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (m->keys[i] == k)
            return m->vals[i];
        if (!m->keys[i])
            return NULL;
    }
}

static int ptrmap_put(struct ptrmap *m, const void *k, void *v)
{
    if ((m->n + 1) * 2 > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        const void **keys = calloc(cap, sizeof(*keys));
        void **vals = calloc(cap, sizeof(*vals));
        if (!keys || !vals) {
            free(keys);
            free(vals);
            return -ENOMEM;
        }
        for (size_t i = 0; i < m->cap; i++) {
            if (!m->keys[i])
                continue;
            size_t j = ptr_slot(m->keys[i], cap);
            while (keys[j])
                j = (j + 1) & (cap - 1);
            keys[j] = m->keys[i];
            vals[j] = m->vals[i];
        }
        free(m->keys);
        free(m->vals);
        m->keys = keys;
        m->vals = vals;
        m->cap = cap;
    }
    size_t i = ptr_slot(k, m->cap);
    while (m->keys[i] && m->keys[i] != k)
        i = (i + 1) & (m->cap - 1);
    if (!m->keys[i])
        m->n++;
    m->keys[i] = k;
    m->vals[i] = v;
    return 0;
}

static void ptrmap_free(struct ptrmap *m)
{
    free(m->keys);
    free(m->vals);
}

/* ---- the compile context ---- */

/* The base URIs of a schema object: before and after its own "$id". */
struct base {
    const char *outer, *inner;
};

struct cctx {
    jsonschema *s;
    const struct jsonschema_options *opts;
    struct wh_error *err;
    json_t *ids;             /* absolute URI (with a fragment only for "#name" ids) -> schema */
    struct ptrmap memo;      /* schema JSON -> its node */
    struct ptrmap bases;     /* schema JSON -> struct base, for every schema object scanned */
    const char *root_uri;    /* the root document's URI: its locations show only the fragment */
    char *fail_where;        /* the location of the first error (for line:column in files) */
    struct wh_error sub_err; /* what a helper said, before it goes into err with a location
                                (here, not on the stack: compiling recurses) */
    int depth;
    size_t n_docs;
    struct node **nodes; /* every node, for the loop check */
    size_t n_nodes, cap_nodes;
};

/* Schemas nested (or chained through $ref) deeper than this are refused: compiling recurses,
 * and about 1 KiB of stack per level must stay well inside any thread's stack. */
#define COMPILE_MAX_DEPTH 1000

static int fail(struct cctx *c, const char *where, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(struct cctx *c, const char *where, int code, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (!c->fail_where && where)
        c->fail_where = strdup(where);
    if (code == -ENOMEM)
        return wh_error_set(c->err, code, "out of memory");
    return wh_error_set(c->err, code, "%s: %s", where && *where ? where : "#", msg);
}

static int oom(struct cctx *c)
{
    return wh_error_set(c->err, -ENOMEM, "out of memory");
}


/* where + "/" + each segment (RFC 6901 escaped), into a new buf the caller finishes */
static int child_where(struct buf *out, const char *where, const char *seg1, const char *seg2)
{
    buf_init(out, 0);
    int r = buf_append_str(out, where);
    if (r == 0 && seg1)
        r = jsonpos_pointer_append(out, seg1);
    if (r == 0 && seg2)
        r = jsonpos_pointer_append(out, seg2);
    if (r == 0 && !out->data)
        r = buf_append(out, "", 0);
    return r;
}

/* ---- scanning documents for "$id" ---- */

static int scan(struct cctx *c, json_t *js, const char *outer, int depth);

static int scan_map(struct cctx *c, json_t *obj, const char *base, int depth)
{
    if (!json_is_object(obj))
        return 0;
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v)
    {
        int r = scan(c, v, base, depth + 1);
        if (r < 0)
            return r;
    }
    return 0;
}

static int scan_list(struct cctx *c, json_t *arr, const char *base, int depth)
{
    if (!json_is_array(arr))
        return 0;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        int r = scan(c, json_array_get(arr, i), base, depth + 1);
        if (r < 0)
            return r;
    }
    return 0;
}

static int scan(struct cctx *c, json_t *js, const char *outer, int depth)
{
    if (!json_is_object(js) || ptrmap_get(&c->bases, js))
        return 0;
    if (depth > COMPILE_MAX_DEPTH)
        return wh_error_set(c->err, -EINVAL, "the schema is nested more than %d levels deep",
                            COMPILE_MAX_DEPTH);
    struct base *b = salloc(c->s, sizeof(*b));
    if (!b)
        return oom(c);
    b->outer = b->inner = outer;
    json_t *id = json_object_get(js, "$id");
    if (json_is_string(id) && !json_object_get(js, "$ref")) {
        char *abs;
        if (jsonschema_uri_resolve(outer, json_string_value(id), &abs) < 0 || !keep(c->s, abs))
            return oom(c);
        size_t f = jsonschema_uri_fragment_at(abs);
        if (abs[f] == '#' && abs[f + 1] && !json_object_get(c->ids, abs)) /* "#name" */
            if (json_object_set(c->ids, abs, js) < 0)
                return oom(c);
        abs[f] = '\0';
        if (json_string_value(id)[0] != '#') {
            b->inner = abs;
            if (!json_object_get(c->ids, abs) && json_object_set(c->ids, abs, js) < 0)
                return oom(c);
        }
    }
    if (ptrmap_put(&c->bases, js, b) < 0)
        return oom(c);
    static const char *const one[] = {"additionalItems",
                                      "items",
                                      "contains",
                                      "additionalProperties",
                                      "propertyNames",
                                      "not",
                                      "if",
                                      "then",
                                      "else"};
    static const char *const lists[] = {"items", "allOf", "anyOf", "oneOf"};
    static const char *const maps[] = {"properties", "patternProperties", "definitions",
                                       "dependencies"};
    int r = 0;
    for (size_t i = 0; i < sizeof(one) / sizeof(one[0]) && r == 0; i++)
        r = scan(c, json_object_get(js, one[i]), b->inner, depth + 1);
    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]) && r == 0; i++)
        r = scan_list(c, json_object_get(js, lists[i]), b->inner, depth);
    for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]) && r == 0; i++)
        r = scan_map(c, json_object_get(js, maps[i]), b->inner, depth);
    return r;
}

/* ---- documents ---- */

int jsonschema_read_file(const char *path, json_t **ret, struct wh_error *err)
{
    struct buf b;
    buf_init(&b, JSONSCHEMA_MAX_FILE);
    int r = buf_read_file(&b, path);
    if (r < 0) {
        buf_finish(&b);
        if (r == -E2BIG)
            return wh_error_set(err, -EFBIG, "%s: bigger than %u MiB", path,
                                JSONSCHEMA_MAX_FILE >> 20);
        if (r == -ENOMEM)
            return wh_error_set(err, r, "out of memory");
        return wh_error_set(err, r, "%s: %s", path, strerror(-r));
    }
    json_error_t je;
    const size_t flags = JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL;
    json_t *j = json_loadb(b.data ? b.data : "", b.len, flags, &je);
    if (!j && json_error_code(&je) == json_error_numeric_overflow)
        j = json_loadb(b.data, b.len, flags | JSON_DECODE_INT_AS_REAL, &je);
    buf_finish(&b);
    if (!j)
        return wh_error_set(err, -EINVAL, "%s:%d:%d: %s", path, je.line, je.column, je.text);
    *ret = j;
    return 0;
}

/* A path segment of a URI is safe to turn into a file name: no "..", no NUL. */
static bool safe_rest(const char *rest, size_t len)
{
    if (memchr(rest, '\0', len))
        return false;
    size_t i = 0;
    while (i <= len) {
        size_t j = i;
        while (j < len && rest[j] != '/')
            j++;
        if (j - i == 2 && rest[i] == '.' && rest[i + 1] == '.')
            return false;
        i = j + 1;
    }
    return true;
}

/* Load the document at uri (no fragment) through the built-in meta-schema or the ref map. */
static int load_document(struct cctx *c, const char *uri, const char *ref, const char *where,
                         json_t **ret)
{
    json_t *doc = NULL;
    if (strcmp(uri, JSONSCHEMA_META_DRAFT07_URI) == 0) {
        doc = json_loads(jsonschema_meta_draft07, 0, NULL);
        if (!doc)
            return oom(c);
    } else {
        const struct jsonschema_ref_map *best = NULL;
        size_t best_len = 0;
        for (size_t i = 0; c->opts && i < c->opts->n_ref_map; i++) {
            const struct jsonschema_ref_map *m = &c->opts->ref_map[i];
            size_t pl = strlen(m->prefix);
            if (pl >= best_len && strncmp(uri, m->prefix, pl) == 0) {
                best = m;
                best_len = pl;
            }
        }
        if (!best)
            return fail(c, where, -EINVAL,
                        "cannot resolve $ref \"%s\": no schema here has the id %s, and no "
                        "ref-map prefix matches it (remote schemas are read only from local "
                        "folders)",
                        ref, uri);
        const char *rest = uri + best_len;
        char *name = NULL;
        size_t name_len = 0;
        if (strchr(rest, '?') ||
            jsonschema_uri_unescape(rest, strlen(rest), &name, &name_len) < 0 ||
            !safe_rest(name, name_len) || name_len == 0) {
            free(name);
            return fail(c, where, -EINVAL,
                        "cannot resolve $ref \"%s\": %s does not name a file under %s", ref, uri,
                        best->dir);
        }
        struct buf path;
        buf_init(&path, 0);
        int r = buf_printf(&path, "%s/%s", best->dir, name);
        free(name);
        if (r < 0) {
            buf_finish(&path);
            return oom(c);
        }
        struct wh_error *e = &c->sub_err;
        r = jsonschema_read_file(path.data, &doc, e);
        buf_finish(&path);
        if (r < 0)
            return fail(c, where, r == -ENOMEM ? -ENOMEM : r, "cannot resolve $ref \"%s\" (%s): %s",
                        ref, uri, e->msg);
    }
    if (++c->n_docs > JSONSCHEMA_MAX_DOCUMENTS) {
        json_decref(doc);
        return fail(c, where, -E2BIG, "more than %d documents referenced",
                    JSONSCHEMA_MAX_DOCUMENTS);
    }
    if (json_object_set_new(c->s->docs, uri, doc) < 0 || json_object_set(c->ids, uri, doc) < 0)
        return oom(c);
    const char *stored = sstrdup(c->s, uri);
    if (!stored)
        return oom(c);
    int r = scan(c, doc, stored, 0);
    if (r < 0)
        return r;
    *ret = doc;
    return 0;
}

/* Follow a JSON pointer (decoded from the fragment) from root; *ret_outer is the base URI in
 * force where the target sits (before its own "$id"). */
static int walk(struct cctx *c, json_t *root, const char *ptr, size_t len, json_t **ret,
                const char **ret_outer)
{
    const struct base *b = ptrmap_get(&c->bases, root);
    const char *outer = b ? b->outer : "";
    const char *inner = b ? b->inner : "";
    json_t *cur = root;
    size_t i = 0;
    char *seg = malloc(len + 1);
    if (!seg)
        return -ENOMEM;
    int r = 0;
    while (i < len) {
        if (ptr[i] != '/') {
            r = -EINVAL;
            break;
        }
        size_t j = i + 1, n = 0;
        for (; j < len && ptr[j] != '/'; j++) {
            if (ptr[j] == '~') {
                if (j + 1 >= len || (ptr[j + 1] != '0' && ptr[j + 1] != '1')) {
                    r = -EINVAL;
                    break;
                }
                seg[n++] = ptr[j + 1] == '0' ? '~' : '/';
                j++;
            } else {
                seg[n++] = ptr[j];
            }
        }
        if (r < 0)
            break;
        seg[n] = '\0';
        json_t *child = NULL;
        if (json_is_object(cur)) {
#if JANSSON_VERSION_HEX >= 0x020e00
            child = json_object_getn(cur, seg, n);
#else
            child = strlen(seg) == n ? json_object_get(cur, seg) : NULL;
#endif
        } else if (json_is_array(cur) && n > 0 && n <= 9 && (seg[0] != '0' || n == 1)) {
            char *end;
            long idx = strtol(seg, &end, 10);
            if (*end == '\0' && idx >= 0)
                child = json_array_get(cur, (size_t)idx);
        }
        if (!child) {
            r = -ENOENT;
            break;
        }
        const struct base *cb = ptrmap_get(&c->bases, child);
        if (cb) {
            outer = cb->outer;
            inner = cb->inner;
        } else {
            outer = inner;
        }
        cur = child;
        i = j;
    }
    free(seg);
    if (r == 0) {
        *ret = cur;
        *ret_outer = outer;
    }
    return r;
}

/* Resolve a "$ref" written at a schema whose base URI is base. */
static int resolve_ref(struct cctx *c, const char *base, const char *ref, const char *where,
                       json_t **ret, const char **ret_outer, struct buf *ret_loc)
{
    char *abs = NULL, *ptr = NULL;
    size_t ptr_len = 0;
    int r = 0;
    if (jsonschema_uri_resolve(base, ref, &abs) < 0)
        return oom(c);
    size_t f = jsonschema_uri_fragment_at(abs);
    bool has_frag = abs[f] == '#';
    abs[f] = '\0';
    const char *frag = has_frag ? abs + f + 1 : "";
    if (jsonschema_uri_unescape(frag, strlen(frag), &ptr, &ptr_len) < 0) {
        r = fail(c, where, -EINVAL,
                 "$ref \"%s\": a '%%' in the fragment is not followed by "
                 "two hex digits",
                 ref);
        goto out;
    }
    json_t *target = NULL;
    const char *outer = NULL;
    if (ptr_len == 0 || ptr[0] == '/') {
        json_t *doc = json_object_get(c->ids, abs);
        if (!doc && (r = load_document(c, abs, ref, where, &doc)) < 0)
            goto out;
        r = walk(c, doc, ptr, ptr_len, &target, &outer);
        if (r == -ENOMEM) {
            r = oom(c);
            goto out;
        }
        if (r < 0) {
            r = fail(c, where, -EINVAL,
                     "cannot resolve $ref \"%s\": %s has nothing at the JSON pointer \"%s\"", ref,
                     *abs ? abs : "the schema", ptr);
            goto out;
        }
    } else {
        struct buf named;
        buf_init(&named, 0);
        if (buf_printf(&named, "%s#%s", abs, frag) < 0) {
            buf_finish(&named);
            r = oom(c);
            goto out;
        }
        target = json_object_get(c->ids, named.data);
        buf_finish(&named);
        if (!target) {
            r = fail(c, where, -EINVAL,
                     "cannot resolve $ref \"%s\": no schema has the $id "
                     "\"#%s\"",
                     ref, frag);
            goto out;
        }
        const struct base *b = ptrmap_get(&c->bases, target);
        outer = b ? b->outer : "";
    }
    buf_init(ret_loc, 0);
    if (strcmp(abs, c->root_uri) != 0)
        r = buf_append_str(ret_loc, abs);
    if (r == 0)
        r = buf_printf(ret_loc, "#%s", frag);
    if (r < 0) {
        buf_finish(ret_loc);
        r = oom(c);
        goto out;
    }
    *ret = target;
    *ret_outer = outer;
out:
    free(abs);
    free(ptr);
    return r;
}

/* ---- compiling ---- */

static int compile(struct cctx *c, json_t *js, const char *outer, const char *where,
                   struct node **ret);

/* The schema at js[key] (and js[key][key2] when key2), or *ret = NULL when there is none. */
static int sub(struct cctx *c, json_t *child, const char *inner, const char *where,
               const char *seg1, const char *seg2, struct node **ret)
{
    *ret = NULL;
    if (!child)
        return 0;
    struct buf w;
    if (child_where(&w, where, seg1, seg2) < 0) {
        buf_finish(&w);
        return oom(c);
    }
    int r = compile(c, child, inner, w.data, ret);
    buf_finish(&w);
    return r;
}

static int sub_list(struct cctx *c, json_t *arr, const char *key, const char *inner,
                    const char *where, struct node ***ret, size_t *ret_n)
{
    if (!json_is_array(arr) || json_array_size(arr) == 0)
        return fail(c, where, -EINVAL, "\"%s\" must be a non-empty array of schemas, not %s", key,
                    json_is_array(arr) ? "an empty array" : encode_json_type(arr));
    size_t n = json_array_size(arr);
    struct node **v = salloc(c->s, n * sizeof(*v));
    if (!v)
        return oom(c);
    for (size_t i = 0; i < n; i++) {
        char idx[24];
        snprintf(idx, sizeof(idx), "%zu", i);
        int r = sub(c, json_array_get(arr, i), inner, where, key, idx, &v[i]);
        if (r < 0)
            return r;
    }
    *ret = v;
    *ret_n = n;
    return 0;
}

static int number(struct cctx *c, json_t *v, const char *key, const char *where, struct jsv *ret)
{
    if (!json_is_number(v))
        return fail(c, where, -EINVAL, "\"%s\" must be a number, not %s", key, encode_json_type(v));
    if (jsv_from_json(&c->s->arena, v, ret, &c->sub_err) < 0)
        return oom(c);
    return 0;
}

static int count(struct cctx *c, json_t *v, const char *key, const char *where, uint64_t *ret)
{
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *ret = (uint64_t)json_integer_value(v);
        return 0;
    }
    if (json_is_real(v)) { /* 2.0 is an integer too */
        double d = json_real_value(v);
        if (d >= 0 && d == trunc(d)) {
            *ret = d >= 18446744073709551615.0 ? UINT64_MAX : (uint64_t)d;
            return 0;
        }
    }
    return fail(c, where, -EINVAL, "\"%s\" must be a non-negative integer, not %s", key,
                json_is_number(v) ? "a negative or fractional number" : encode_json_type(v));
}

static int key_of(json_t *str, struct key *ret)
{
    size_t n = json_string_length(str);
    if (n > UINT32_MAX)
        return -E2BIG;
    ret->s = json_string_value(str);
    ret->len = (uint32_t)n;
    ret->hash = jsv_hash_key(ret->s, n);
    return 0;
}

static int string_list(struct cctx *c, json_t *arr, const char *key, const char *where,
                       struct key **ret, size_t *ret_n)
{
    if (!json_is_array(arr))
        return fail(c, where, -EINVAL, "\"%s\" must be an array of strings, not %s", key,
                    encode_json_type(arr));
    size_t n = json_array_size(arr);
    struct key *v = salloc(c->s, n * sizeof(*v));
    if (!v)
        return oom(c);
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_array_get(arr, i);
        if (!json_is_string(s))
            return fail(c, where, -EINVAL, "\"%s\" must be an array of strings; item %zu is %s",
                        key, i, encode_json_type(s));
        if (key_of(s, &v[i]) < 0)
            return fail(c, where, -E2BIG, "a property name longer than 4 GiB");
    }
    *ret = v;
    *ret_n = n;
    return 0;
}

static int add_regex(struct cctx *c, const char *pattern, size_t len, const char *where,
                     struct jsonschema_regex **ret)
{
    jsonschema *s = c->s;
    if (s->n_regexes == s->cap_regexes) {
        size_t cap = s->cap_regexes ? s->cap_regexes * 2 : 8;
        struct jsonschema_regex **v = realloc(s->regexes, cap * sizeof(*v));
        if (!v)
            return oom(c);
        s->regexes = v;
        s->cap_regexes = cap;
    }
    uint32_t limit = c->opts ? c->opts->regex_match_limit : 0;
    int r = jsonschema_regex_compile(pattern, len, limit, ret, &c->sub_err);
    if (r < 0)
        return r == -ENOMEM ? oom(c) : fail(c, where, r, "%s", c->sub_err.msg);
    s->regexes[s->n_regexes++] = *ret;
    return 0;
}

static int compile_type(struct cctx *c, json_t *v, const char *where, uint8_t *ret)
{
    static const struct {
        const char *name;
        uint8_t bit;
    } names[] = {{"null", TYPE_NULL},     {"boolean", TYPE_BOOLEAN}, {"integer", TYPE_INTEGER},
                 {"number", TYPE_NUMBER}, {"string", TYPE_STRING},   {"array", TYPE_ARRAY},
                 {"object", TYPE_OBJECT}};
    uint8_t mask = 0;
    size_t n = json_is_array(v) ? json_array_size(v) : 1;
    if (json_is_array(v) && n == 0)
        return fail(c, where, -EINVAL, "\"type\" must name at least one type");
    for (size_t i = 0; i < n; i++) {
        json_t *t = json_is_array(v) ? json_array_get(v, i) : v;
        uint8_t bit = 0;
        for (size_t k = 0; json_is_string(t) && k < sizeof(names) / sizeof(names[0]); k++)
            if (strcmp(json_string_value(t), names[k].name) == 0)
                bit = names[k].bit;
        if (!bit)
            return fail(c, where, -EINVAL,
                        "\"type\" must be one of null, boolean, integer, number, string, array, "
                        "object (or an array of them), not %s%s%s",
                        json_is_string(t) ? "\"" : "",
                        json_is_string(t) ? json_string_value(t) : encode_json_type(t),
                        json_is_string(t) ? "\"" : "");
        mask |= bit;
    }
    *ret = mask;
    return 0;
}

static int compile_props(struct cctx *c, json_t *js, const char *inner, const char *where,
                         struct props **ret)
{
    json_t *pr = json_object_get(js, "properties");
    json_t *pp = json_object_get(js, "patternProperties");
    json_t *ap = json_object_get(js, "additionalProperties");
    *ret = NULL;
    if (!pr && !pp && !ap)
        return 0;
    if (pr && !json_is_object(pr))
        return fail(c, where, -EINVAL, "\"properties\" must be an object, not %s",
                    encode_json_type(pr));
    if (pp && !json_is_object(pp))
        return fail(c, where, -EINVAL, "\"patternProperties\" must be an object, not %s",
                    encode_json_type(pp));
    struct props *p = salloc(c->s, sizeof(*p));
    if (!p)
        return oom(c);
    const char *k;
    json_t *v;
    if (pr && json_object_size(pr)) {
        p->v = salloc(c->s, json_object_size(pr) * sizeof(*p->v));
        if (!p->v)
            return oom(c);
        for (void *it = json_object_iter(pr); it; it = json_object_iter_next(pr, it)) {
            struct prop *e = &p->v[p->n];
            e->key.s = json_object_iter_key(it);
#if JANSSON_VERSION_HEX >= 0x020e00
            size_t kl = json_object_iter_key_len(it);
#else
            size_t kl = strlen(e->key.s);
#endif
            e->key.len = (uint32_t)kl;
            e->key.hash = jsv_hash_key(e->key.s, kl);
            int r =
                sub(c, json_object_iter_value(it), inner, where, "properties", e->key.s, &e->node);
            if (r < 0)
                return r;
            p->n++;
        }
        if (p->n > 8) {
            p->cap = 16;
            while (p->cap < p->n * 2)
                p->cap *= 2;
            p->index = salloc(c->s, p->cap * sizeof(*p->index));
            if (!p->index)
                return oom(c);
            for (size_t i = 0; i < p->n; i++) {
                size_t h = p->v[i].key.hash & (p->cap - 1);
                while (p->index[h])
                    h = (h + 1) & (p->cap - 1);
                p->index[h] = (uint32_t)i + 1;
            }
        }
    }
    if (pp && json_object_size(pp)) {
        p->pv = salloc(c->s, json_object_size(pp) * sizeof(*p->pv));
        if (!p->pv)
            return oom(c);
        json_object_foreach(pp, k, v)
        {
            struct pattern_prop *e = &p->pv[p->pn];
            struct buf w;
            if (child_where(&w, where, "patternProperties", k) < 0) {
                buf_finish(&w);
                return oom(c);
            }
            int r = add_regex(c, k, strlen(k), w.data, &e->re);
            buf_finish(&w);
            if (r < 0)
                return r;
            r = sub(c, v, inner, where, "patternProperties", k, &e->node);
            if (r < 0)
                return r;
            p->pn++;
        }
    }
    if (ap) {
        int r = sub(c, ap, inner, where, "additionalProperties", NULL, &p->additional);
        if (r < 0)
            return r;
    }
    *ret = p;
    return 0;
}

static int compile_deps(struct cctx *c, json_t *v, const char *inner, const char *where,
                        struct check *ck)
{
    if (!json_is_object(v))
        return fail(c, where, -EINVAL, "\"dependencies\" must be an object, not %s",
                    encode_json_type(v));
    size_t n = json_object_size(v);
    struct dep *d = salloc(c->s, n * sizeof(*d));
    if (!d)
        return oom(c);
    size_t i = 0;
    const char *k;
    json_t *val;
    json_object_foreach(v, k, val)
    {
        struct dep *e = &d[i++];
        e->key.s = k;
        e->key.len = (uint32_t)strlen(k);
        e->key.hash = jsv_hash_key(k, e->key.len);
        int r;
        if (json_is_array(val)) {
            struct buf w;
            if (child_where(&w, where, "dependencies", k) < 0) {
                buf_finish(&w);
                return oom(c);
            }
            r = string_list(c, val, "dependencies", w.data, &e->req, &e->n_req);
            buf_finish(&w);
        } else {
            r = sub(c, val, inner, where, "dependencies", k, &e->node);
        }
        if (r < 0)
            return r;
    }
    ck->u.deps.v = d;
    ck->u.deps.n = n;
    return 0;
}

#define MAX_CHECKS 32

static int compile_checks(struct cctx *c, json_t *js, const char *inner, const char *where,
                          struct check *ck, size_t *ret_n);

static int compile_object(struct cctx *c, struct node *node, json_t *js, const char *outer,
                          const char *where)
{
    json_t *v = json_object_get(js, "$ref");
    if (v) { /* draft-07: a "$ref" makes every other keyword of its object be ignored */
        if (!json_is_string(v))
            return fail(c, where, -EINVAL, "\"$ref\" must be a string, not %s", encode_json_type(v));
        json_t *target = NULL;
        const char *touter = NULL;
        struct buf loc;
        int r = resolve_ref(c, outer, json_string_value(v), where, &target, &touter, &loc);
        if (r < 0)
            return r;
        r = compile(c, target, touter, loc.data, &node->ref);
        buf_finish(&loc);
        return r;
    }
    const char *inner = outer;
    if ((v = json_object_get(js, "$id"))) {
        if (!json_is_string(v))
            return fail(c, where, -EINVAL, "\"$id\" must be a string, not %s", encode_json_type(v));
        const struct base *b = ptrmap_get(&c->bases, js);
        if (b) {
            inner = b->inner;
        } else if (json_string_value(v)[0] != '#') {
            char *abs;
            if (jsonschema_uri_resolve(outer, json_string_value(v), &abs) < 0 || !keep(c->s, abs))
                return oom(c);
            abs[jsonschema_uri_fragment_at(abs)] = '\0';
            inner = abs;
        }
    }

    /* on the heap: this function recurses, and its stack frame should stay small */
    struct check *ck = malloc(MAX_CHECKS * sizeof(*ck));
    if (!ck)
        return oom(c);
    size_t n = 0;
    int r = compile_checks(c, js, inner, where, ck, &n);
    if (r == 0 && n) {
        node->checks = salloc(c->s, n * sizeof(*node->checks));
        if (!node->checks)
            r = oom(c);
        else
            memcpy(node->checks, ck, n * sizeof(*ck));
        node->n_checks = n;
    }
    free(ck);
    return r;
}

/* The checks of a schema object without "$ref", into ck[0..*ret_n). */
static int compile_checks(struct cctx *c, json_t *js, const char *inner, const char *where,
                          struct check *ck, size_t *ret_n)
{
    json_t *v;
    size_t n = 0;
    int r = 0;
#define ADD(opcode, cls)                                                                           \
    (memset(&ck[n], 0, sizeof(ck[n])), ck[n].op = (opcode), ck[n].applies = (cls), &ck[n++])

    if ((v = json_object_get(js, "type"))) {
        struct check *k = ADD(OP_TYPE, CLASS_ANY);
        if ((r = compile_type(c, v, where, &k->u.types)) < 0)
            return r;
    }
    if ((v = json_object_get(js, "const"))) {
        struct check *k = ADD(OP_CONST, CLASS_ANY);
        if ((r = jsv_from_json(&c->s->arena, v, &k->u.value, &c->sub_err)) < 0)
            return fail(c, where, r, "\"const\": %s", c->sub_err.msg);
    }
    if ((v = json_object_get(js, "enum"))) {
        if (!json_is_array(v))
            return fail(c, where, -EINVAL, "\"enum\" must be an array, not %s", encode_json_type(v));
        struct check *k = ADD(OP_ENUM, CLASS_ANY);
        struct jsv *vals = jsv_arena_alloc(&c->s->arena, (json_array_size(v) + 1) * sizeof(*vals));
        if (!vals)
            return oom(c);
        for (size_t i = 0; i < json_array_size(v); i++)
            if ((r = jsv_from_json(&c->s->arena, json_array_get(v, i), &vals[i], &c->sub_err)) < 0)
                return fail(c, where, r, "\"enum\": %s", c->sub_err.msg);
        k->u.en.v = vals;
        k->u.en.n = json_array_size(v);
    }
    if ((v = json_object_get(js, "multipleOf"))) {
        struct check *k = ADD(OP_MULTIPLE_OF, CLASS_NUM);
        if ((r = number(c, v, "multipleOf", where, &k->u.value)) < 0)
            return r;
        if (json_number_value(v) <= 0)
            return fail(c, where, -EINVAL, "\"multipleOf\" must be greater than 0");
    }
    static const struct {
        const char *key;
        uint8_t op;
    } bounds[] = {{"maximum", OP_MAXIMUM},
                  {"exclusiveMaximum", OP_EXCLUSIVE_MAXIMUM},
                  {"minimum", OP_MINIMUM},
                  {"exclusiveMinimum", OP_EXCLUSIVE_MINIMUM}};
    for (size_t i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++) {
        if (!(v = json_object_get(js, bounds[i].key)))
            continue;
        if (json_is_boolean(v))
            return fail(c, where, -EINVAL,
                        "\"%s\" must be a number in draft-07 (a boolean is "
                        "draft-04 style)",
                        bounds[i].key);
        struct check *k = ADD(bounds[i].op, CLASS_NUM);
        if ((r = number(c, v, bounds[i].key, where, &k->u.value)) < 0)
            return r;
    }
    static const struct {
        const char *key;
        uint8_t op, cls;
    } counts[] = {{"maxLength", OP_MAX_LENGTH, CLASS_STR},
                  {"minLength", OP_MIN_LENGTH, CLASS_STR},
                  {"maxItems", OP_MAX_ITEMS, CLASS_ARR},
                  {"minItems", OP_MIN_ITEMS, CLASS_ARR},
                  {"maxProperties", OP_MAX_PROPERTIES, CLASS_OBJ},
                  {"minProperties", OP_MIN_PROPERTIES, CLASS_OBJ}};
    for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
        if (!(v = json_object_get(js, counts[i].key)))
            continue;
        struct check *k = ADD(counts[i].op, counts[i].cls);
        if ((r = count(c, v, counts[i].key, where, &k->u.count)) < 0)
            return r;
    }
    if ((v = json_object_get(js, "format"))) {
        if (!json_is_string(v))
            return fail(c, where, -EINVAL, "\"format\" must be a string, not %s",
                        encode_json_type(v));
        enum jsonschema_format f = jsonschema_format_lookup(json_string_value(v));
        if (f != JSONSCHEMA_FORMAT_UNKNOWN) /* unknown formats are annotations only */
            ADD(OP_FORMAT, CLASS_STR)->u.format = f;
    }
    if ((v = json_object_get(js, "pattern"))) {
        if (!json_is_string(v))
            return fail(c, where, -EINVAL, "\"pattern\" must be a string, not %s",
                        encode_json_type(v));
        struct buf w;
        if (child_where(&w, where, "pattern", NULL) < 0) {
            buf_finish(&w);
            return oom(c);
        }
        struct check *k = ADD(OP_PATTERN, CLASS_STR);
        r = add_regex(c, json_string_value(v), json_string_length(v), w.data, &k->u.re);
        buf_finish(&w);
        if (r < 0)
            return r;
    }
    if ((v = json_object_get(js, "uniqueItems"))) {
        if (!json_is_boolean(v))
            return fail(c, where, -EINVAL, "\"uniqueItems\" must be a boolean, not %s",
                        encode_json_type(v));
        if (json_is_true(v))
            ADD(OP_UNIQUE_ITEMS, CLASS_ARR);
    }
    if ((v = json_object_get(js, "items"))) {
        struct check *k = ADD(OP_ITEMS, CLASS_ARR);
        if (json_is_array(v)) {
            size_t cnt = json_array_size(v);
            k->u.items.v = salloc(c->s, cnt * sizeof(*k->u.items.v));
            if (!k->u.items.v)
                return oom(c);
            for (size_t i = 0; i < cnt; i++) {
                char idx[24];
                snprintf(idx, sizeof(idx), "%zu", i);
                if ((r = sub(c, json_array_get(v, i), inner, where, "items", idx,
                             &k->u.items.v[i])) < 0)
                    return r;
            }
            k->u.items.n = cnt;
            if ((r = sub(c, json_object_get(js, "additionalItems"), inner, where, "additionalItems",
                         NULL, &k->u.items.additional)) < 0)
                return r;
        } else if ((r = sub(c, v, inner, where, "items", NULL, &k->u.items.one)) < 0) {
            return r;
        }
    }
    if ((v = json_object_get(js, "contains"))) {
        struct check *k = ADD(OP_CONTAINS, CLASS_ARR);
        if ((r = sub(c, v, inner, where, "contains", NULL, &k->u.sub)) < 0)
            return r;
    }
    if ((v = json_object_get(js, "required"))) {
        struct check *k = ADD(OP_REQUIRED, CLASS_OBJ);
        if ((r = string_list(c, v, "required", where, &k->u.req.v, &k->u.req.n)) < 0)
            return r;
        if (k->u.req.n == 0)
            n--;
    }
    {
        struct props *p;
        if ((r = compile_props(c, js, inner, where, &p)) < 0)
            return r;
        if (p)
            ADD(OP_PROPERTIES, CLASS_OBJ)->u.props = p;
    }
    if ((v = json_object_get(js, "dependencies"))) {
        struct check *k = ADD(OP_DEPENDENCIES, CLASS_OBJ);
        if ((r = compile_deps(c, v, inner, where, k)) < 0)
            return r;
    }
    if ((v = json_object_get(js, "propertyNames"))) {
        struct check *k = ADD(OP_PROPERTY_NAMES, CLASS_OBJ);
        if ((r = sub(c, v, inner, where, "propertyNames", NULL, &k->u.sub)) < 0)
            return r;
    }
    static const struct {
        const char *key;
        uint8_t op;
    } lists[] = {{"allOf", OP_ALL_OF}, {"anyOf", OP_ANY_OF}, {"oneOf", OP_ONE_OF}};
    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        if (!(v = json_object_get(js, lists[i].key)))
            continue;
        struct check *k = ADD(lists[i].op, CLASS_ANY);
        if ((r = sub_list(c, v, lists[i].key, inner, where, &k->u.list.v, &k->u.list.n)) < 0)
            return r;
    }
    if ((v = json_object_get(js, "not"))) {
        struct check *k = ADD(OP_NOT, CLASS_ANY);
        if ((r = sub(c, v, inner, where, "not", NULL, &k->u.sub)) < 0)
            return r;
    }
    if ((v = json_object_get(js, "if"))) {
        struct check *k = ADD(OP_IF, CLASS_ANY);
        if ((r = sub(c, v, inner, where, "if", NULL, &k->u.iff.cond)) < 0 ||
            (r = sub(c, json_object_get(js, "then"), inner, where, "then", NULL, &k->u.iff.then)) <
                0 ||
            (r = sub(c, json_object_get(js, "else"), inner, where, "else", NULL,
                     &k->u.iff.otherwise)) < 0)
            return r;
        if (!k->u.iff.then && !k->u.iff.otherwise)
            n--; /* "if" alone asserts nothing */
    }
#undef ADD
    *ret_n = n;
    return 0;
}

static int compile(struct cctx *c, json_t *js, const char *outer, const char *where,
                   struct node **ret)
{
    struct node *n = ptrmap_get(&c->memo, js);
    if (n) {
        *ret = n;
        return 0;
    }
    if (c->depth >= COMPILE_MAX_DEPTH)
        return fail(c, where, -EINVAL,
                    "schemas nested (or referenced in a chain) more than %d "
                    "deep",
                    COMPILE_MAX_DEPTH);
    n = salloc(c->s, sizeof(*n));
    if (!n || !(n->where = sstrdup(c->s, where)) || ptrmap_put(&c->memo, js, n) < 0)
        return oom(c);
    if (c->n_nodes == c->cap_nodes) {
        size_t cap = c->cap_nodes ? c->cap_nodes * 2 : 64;
        struct node **v = realloc(c->nodes, cap * sizeof(*v));
        if (!v)
            return oom(c);
        c->nodes = v;
        c->cap_nodes = cap;
    }
    c->nodes[c->n_nodes++] = n;
    int r = 0;
    if (json_is_true(js)) {
        n->kind = NODE_TRUE;
    } else if (json_is_false(js)) {
        n->kind = NODE_FALSE;
    } else if (!json_is_object(js)) {
        return fail(c, where, -EINVAL, "a schema must be an object or a boolean, not %s",
                    encode_json_type(js));
    } else {
        n->kind = NODE_SCHEMA;
        c->depth++;
        r = compile_object(c, n, js, outer, where);
        c->depth--;
    }
    if (r == 0)
        *ret = n;
    return r;
}

/* ---- the loop check ---- */

static void add_same(struct node **v, size_t *k, struct node *to)
{
    if (to)
        v[(*k)++] = to;
}

static size_t count_same(const struct node *n)
{
    size_t k = n->ref ? 1 : 0;
    for (size_t i = 0; i < n->n_checks; i++) {
        const struct check *ck = &n->checks[i];
        switch (ck->op) {
        case OP_ALL_OF:
        case OP_ANY_OF:
        case OP_ONE_OF:
            k += ck->u.list.n;
            break;
        case OP_NOT:
            k++;
            break;
        case OP_IF:
            k += 3;
            break;
        case OP_DEPENDENCIES:
            k += ck->u.deps.n;
            break;
        default:
            break;
        }
    }
    return k;
}

static int build_same(struct cctx *c, struct node *n)
{
    size_t cap = count_same(n);
    if (!cap)
        return 0;
    struct node **v = salloc(c->s, cap * sizeof(*v));
    if (!v)
        return oom(c);
    size_t k = 0;
    add_same(v, &k, n->ref);
    for (size_t i = 0; i < n->n_checks; i++) {
        const struct check *ck = &n->checks[i];
        switch (ck->op) {
        case OP_ALL_OF:
        case OP_ANY_OF:
        case OP_ONE_OF:
            for (size_t j = 0; j < ck->u.list.n; j++)
                add_same(v, &k, ck->u.list.v[j]);
            break;
        case OP_NOT:
            add_same(v, &k, ck->u.sub);
            break;
        case OP_IF:
            add_same(v, &k, ck->u.iff.cond);
            add_same(v, &k, ck->u.iff.then);
            add_same(v, &k, ck->u.iff.otherwise);
            break;
        case OP_DEPENDENCIES:
            for (size_t j = 0; j < ck->u.deps.n; j++)
                add_same(v, &k, ck->u.deps.v[j].node);
            break;
        default:
            break;
        }
    }
    n->same = v;
    n->n_same = k;
    return 0;
}

/* A schema that reaches itself without moving into the instance would recurse for ever. */
static int check_loops(struct cctx *c)
{
    for (size_t i = 0; i < c->n_nodes; i++) {
        int r = build_same(c, c->nodes[i]);
        if (r < 0)
            return r;
    }
    struct frame {
        struct node *n;
        size_t next;
    } *stack = malloc((c->n_nodes + 1) * sizeof(*stack));
    if (!stack)
        return oom(c);
    int r = 0;
    for (size_t i = 0; i < c->n_nodes && r == 0; i++) {
        if (c->nodes[i]->mark)
            continue;
        size_t top = 0;
        stack[top++] = (struct frame){c->nodes[i], 0};
        c->nodes[i]->mark = 1;
        while (top && r == 0) {
            struct frame *f = &stack[top - 1];
            if (f->next == f->n->n_same) {
                f->n->mark = 2;
                top--;
                continue;
            }
            struct node *to = f->n->same[f->next++];
            if (to->mark == 2)
                continue;
            if (to->mark == 0) {
                to->mark = 1;
                stack[top++] = (struct frame){to, 0};
                continue;
            }
            /* a loop: from `to` on the stack to the top */
            struct buf path;
            buf_init(&path, 0);
            size_t from = 0;
            while (stack[from].n != to)
                from++;
            for (size_t k = from; k < top; k++)
                buf_printf(&path, "%s -> ", stack[k].n->where);
            buf_printf(&path, "%s", to->where);
            r = fail(c, to->where, -ELOOP,
                     "the schema applies itself to the same value for ever (through $ref, "
                     "allOf, anyOf, oneOf, not, if or dependencies): %s",
                     path.data ? path.data : "");
            buf_finish(&path);
        }
    }
    free(stack);
    return r;
}

/* ---- entry points ---- */

static int check_dialect(struct cctx *c, json_t *root)
{
    json_t *v = json_is_object(root) ? json_object_get(root, "$schema") : NULL;
    if (!v)
        return 0;
    if (!json_is_string(v))
        return fail(c, "#", -EINVAL, "\"$schema\" must be a string, not %s", encode_json_type(v));
    static const char *const others[] = {"draft-03", "draft-04", "draft/2019-09", "draft/2020-12",
                                         "draft/next"};
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
        if (strstr(json_string_value(v), others[i]))
            return fail(c, "#", -EINVAL,
                        "\"$schema\" is %s, but only draft-07 (and the compatible draft-06) is "
                        "supported",
                        json_string_value(v));
    return 0;
}

static int compile_root(json_t *schema, const struct jsonschema_options *opts, jsonschema **ret,
                        struct wh_error *err, char **ret_where)
{
    if (!schema)
        return wh_error_set(err, -EINVAL, "no schema");
    jsonschema *s = calloc(1, sizeof(*s));
    if (!s)
        return wh_error_set(err, -ENOMEM, "out of memory");
    jsv_arena_init(&s->arena, NULL, 0);
    struct cctx c = {.s = s, .opts = opts, .err = err};
    int r = 0;
    json_t *copy = NULL;
    char *base = NULL;
    s->docs = json_object();
    c.ids = json_object();
    copy = json_deep_copy(schema);
    if (!s->docs || !c.ids || !copy) {
        r = oom(&c);
        goto out;
    }
    if (jsonschema_uri_resolve(NULL, opts && opts->base_uri ? opts->base_uri : "", &base) < 0 ||
        !keep(s, base)) {
        r = oom(&c);
        goto out;
    }
    base[jsonschema_uri_fragment_at(base)] = '\0';
    c.root_uri = base;
    if (json_object_set(s->docs, base, copy) < 0 || json_object_set(c.ids, base, copy) < 0) {
        r = oom(&c);
        goto out;
    }
    if ((r = check_dialect(&c, copy)) < 0 || (r = scan(&c, copy, base, 0)) < 0 ||
        (r = compile(&c, copy, base, "#", &s->root)) < 0 || (r = check_loops(&c)) < 0)
        goto out;
    *ret = s;
    s = NULL;
out:
    json_decref(copy);
    json_decref(c.ids);
    ptrmap_free(&c.memo);
    ptrmap_free(&c.bases);
    free(c.nodes);
    if (ret_where)
        *ret_where = c.fail_where;
    else
        free(c.fail_where);
    jsonschema_destroy(s);
    return r;
}

int jsonschema_compile(json_t *schema, const struct jsonschema_options *opts, jsonschema **ret,
                       struct wh_error *err)
{
    return compile_root(schema, opts, ret, err, NULL);
}

int jsonschema_compile_metaschema(jsonschema **ret, struct wh_error *err)
{
    json_t *meta = json_loads(jsonschema_meta_draft07, 0, NULL);
    if (!meta)
        return wh_error_set(err, -ENOMEM, "out of memory");
    struct jsonschema_options o = {.base_uri = JSONSCHEMA_META_DRAFT07_URI};
    int r = jsonschema_compile(meta, &o, ret, err);
    json_decref(meta);
    return r;
}

/* "file://" + the absolute path, percent-encoded */
static int file_uri(struct buf *out, const char *abs)
{
    int r = buf_append_str(out, "file://");
    for (const unsigned char *p = (const unsigned char *)abs; *p && r == 0; p++) {
        unsigned char ch = *p;
        bool plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                     (ch >= '0' && ch <= '9') || (ch && strchr("-._~/!$&'()*+,;=:@", ch));
        r = plain ? buf_append_byte(out, (char)ch) : buf_printf(out, "%%%02X", ch);
    }
    return r;
}

int jsonschema_load_file(const char *path, const struct jsonschema_options *opts, jsonschema **ret,
                         struct wh_error *err)
{
    json_t *doc;
    int r = jsonschema_read_file(path, &doc, err);
    if (r < 0)
        return r;
    struct jsonschema_options o = {0};
    if (opts)
        o = *opts;
    char *abs = realpath(path, NULL);
    struct buf uri, dir_uri;
    buf_init(&uri, 0);
    buf_init(&dir_uri, 0);
    struct jsonschema_ref_map *map = NULL;
    char *dir = NULL, *where = NULL;
    if (!abs) {
        r = wh_error_set(err, -errno, "%s: %s", path, strerror(errno));
        goto out;
    }
    if (file_uri(&uri, abs) < 0) {
        r = wh_error_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    dir = strdup(abs);
    map = calloc(o.n_ref_map + 1, sizeof(*map));
    if (!dir || !map) {
        r = wh_error_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    char *slash = strrchr(dir, '/');
    if (slash)
        slash[slash == dir ? 1 : 0] = '\0';
    size_t cut = uri.len;
    while (cut > 0 && uri.data[cut - 1] != '/')
        cut--;
    if (buf_append(&dir_uri, uri.data, cut) < 0) {
        r = wh_error_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < o.n_ref_map; i++)
        map[i] = o.ref_map[i];
    map[o.n_ref_map] = (struct jsonschema_ref_map){.prefix = dir_uri.data, .dir = dir};
    o.ref_map = map;
    o.n_ref_map++;
    if (!o.base_uri)
        o.base_uri = uri.data;
    r = compile_root(doc, &o, ret, err, &where);
    if (r < 0 && r != -ENOMEM) {
        /* a location in this file: add its line and column */
        int line = 0, col = 0;
        bool located = false;
        if (where && where[0] == '#') {
            FILE *f = fopen(path, "rb");
            struct buf text;
            buf_init(&text, JSONSCHEMA_MAX_FILE);
            char chunk[65536];
            size_t n;
            while (f && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
                if (buf_append(&text, chunk, n) < 0)
                    break;
            if (f)
                fclose(f);
            located = text.data && jsonpos_find(text.data, text.len, where + 1, &line, &col) == 0;
            buf_finish(&text);
        }
        if (located)
            wh_error_prefix(err, "%s:%d:%d: ", path, line, col);
        else
            wh_error_prefix(err, "%s: ", path);
    }
out:
    json_decref(doc);
    free(abs);
    free(dir);
    free(map);
    free(where);
    buf_finish(&uri);
    buf_finish(&dir_uri);
    return r;
}
