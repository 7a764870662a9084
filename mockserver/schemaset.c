#include "schemaset.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonptr.h"

/* Schema files one set may hold. */
#define MAX_SCHEMAS 4096

struct entry {
    char *event; /* "person.created", or "" for default.json */
    char *file;  /* file name shown with verdicts */
    jsonschema *schema;
};

struct schema_set {
    atomic_int refs;
    json_t *definition; /* the "schemas" object, kept for reloads */
    char *base_dir;
    struct event_rule rule;
    bool require;
    struct entry *v;
    size_t n;
};

static void free_set(schema_set *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].event);
        free(s->v[i].file);
        jsonschema_destroy(s->v[i].schema);
    }
    free(s->v);
    free(s->rule.pointer);
    free(s->rule.header);
    free(s->rule.suffix_pointer);
    free(s->base_dir);
    json_decref(s->definition);
    free(s);
}

schema_set *schema_set_ref(schema_set *s)
{
    if (s)
        atomic_fetch_add(&s->refs, 1);
    return s;
}

void schema_set_unref(schema_set *s)
{
    if (s && atomic_fetch_sub(&s->refs, 1) == 1)
        free_set(s);
}

bool schema_set_required(const schema_set *s)
{
    return s->require;
}

size_t schema_set_count(const schema_set *s)
{
    return s->n;
}

static int fail(char *err_pointer, size_t ptr_size, const char *ptr, struct wh_error *err,
                int code, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static int fail(char *err_pointer, size_t ptr_size, const char *ptr, struct wh_error *err,
                int code, const char *fmt, ...)
{
    if (err_pointer && ptr_size)
        snprintf(err_pointer, ptr_size, "%s", ptr);
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

static char *join(const char *dir, const char *name)
{
    if (name[0] == '/' || !dir || !*dir)
        return strdup(name);
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* Add (or replace) the schema for event from file path, shown as `shown`. */
static int add(schema_set *s, const char *event, const char *path, const char *shown,
               struct wh_error *err)
{
    jsonschema *js = NULL;
    int r = jsonschema_load_file(path, NULL, &js, err);
    if (r < 0)
        return r;
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i].event, event) == 0) {
            char *file = strdup(shown);
            if (!file) {
                jsonschema_destroy(js);
                return wh_error_set(err, -ENOMEM, "out of memory");
            }
            jsonschema_destroy(s->v[i].schema);
            free(s->v[i].file);
            s->v[i].schema = js;
            s->v[i].file = file;
            return 0;
        }
    if (s->n >= MAX_SCHEMAS) {
        jsonschema_destroy(js);
        return wh_error_set(err, -E2BIG, "more than %d schema files", MAX_SCHEMAS);
    }
    struct entry *v = realloc(s->v, (s->n + 1) * sizeof(*v));
    if (!v) {
        jsonschema_destroy(js);
        return wh_error_set(err, -ENOMEM, "out of memory");
    }
    s->v = v;
    struct entry *e = &s->v[s->n];
    e->event = strdup(event);
    e->file = strdup(shown);
    e->schema = js;
    s->n++;
    if (!e->event || !e->file)
        return wh_error_set(err, -ENOMEM, "out of memory");
    return 0;
}

static int load_dir(schema_set *s, const char *dir, struct wh_error *err)
{
    char *path = join(s->base_dir, dir);
    if (!path)
        return wh_error_set(err, -ENOMEM, "out of memory");
    DIR *d = opendir(path);
    if (!d) {
        int e = errno;
        int r = wh_error_set(err, -e, "cannot read the schema folder %s: %s", path, strerror(e));
        free(path);
        return r;
    }
    int r = 0;
    struct dirent *de;
    while (r == 0 && (de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (n <= 5 || de->d_name[0] == '.' || strcmp(de->d_name + n - 5, ".json") != 0)
            continue;
        char *file = join(path, de->d_name);
        char event[NAME_MAX + 1];
        snprintf(event, sizeof(event), "%.*s", (int)(n - 5), de->d_name);
        if (!file)
            r = wh_error_set(err, -ENOMEM, "out of memory");
        else
            r = add(s, strcmp(event, "default") == 0 ? "" : event, file, de->d_name, err);
        free(file);
    }
    closedir(d);
    free(path);
    return r;
}

static int opt_string(json_t *obj, const char *key, char **ret, char *err_pointer,
                      size_t ptr_size, struct wh_error *err)
{
    json_t *v = json_object_get(obj, key);
    *ret = NULL;
    if (!v)
        return 0;
    char ptr[64];
    snprintf(ptr, sizeof(ptr), "/%s", key);
    if (!json_is_string(v) || !json_string_length(v))
        return fail(err_pointer, ptr_size, ptr, err, -EINVAL, "must be a non-empty string");
    *ret = strdup(json_string_value(v));
    return *ret ? 0 : wh_error_set(err, -ENOMEM, "out of memory");
}

static int build(json_t *obj, const char *base_dir, schema_set **ret, char *err_pointer,
                 size_t ptr_size, struct wh_error *err)
{
    static const char *const known[] = {"dir",          "files",   "event", "event_header",
                                        "event_suffix", "require", NULL};
    if (!json_is_object(obj))
        return fail(err_pointer, ptr_size, "", err, -EINVAL,
                    "must be an object like {\"dir\": \"schemas/twenty\"}");
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val) {
        bool ok = false;
        for (const char *const *k = known; *k; k++)
            ok |= strcmp(*k, key) == 0;
        if (!ok) {
            char ptr[160];
            snprintf(ptr, sizeof(ptr), "/%.150s", key);
            return fail(err_pointer, ptr_size, ptr, err, -EINVAL,
                        "unknown key (known keys: dir, files, event, event_header, "
                        "event_suffix, require)");
        }
    }
    schema_set *s = calloc(1, sizeof(*s));
    if (!s)
        return wh_error_set(err, -ENOMEM, "out of memory");
    atomic_init(&s->refs, 1);
    s->definition = json_incref(obj);
    int r = 0;
    if (!(s->base_dir = strdup(base_dir ? base_dir : ""))) {
        r = wh_error_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    if ((r = opt_string(obj, "event", &s->rule.pointer, err_pointer, ptr_size, err)) < 0 ||
        (r = opt_string(obj, "event_header", &s->rule.header, err_pointer, ptr_size, err)) < 0 ||
        (r = opt_string(obj, "event_suffix", &s->rule.suffix_pointer, err_pointer, ptr_size,
                        err)) < 0)
        goto out;
    if (s->rule.pointer && !jsonptr_valid(s->rule.pointer)) {
        r = fail(err_pointer, ptr_size, "/event", err, -EINVAL,
                 "'%.64s' is not a JSON pointer (like \"/eventName\")", s->rule.pointer);
        goto out;
    }
    if (s->rule.suffix_pointer && !jsonptr_valid(s->rule.suffix_pointer)) {
        r = fail(err_pointer, ptr_size, "/event_suffix", err, -EINVAL,
                 "'%.64s' is not a JSON pointer (like \"/action\")", s->rule.suffix_pointer);
        goto out;
    }
    if (s->rule.pointer && s->rule.header) {
        r = fail(err_pointer, ptr_size, "/event_header", err, -EINVAL,
                 "give either \"event\" (a JSON pointer) or \"event_header\", not both");
        goto out;
    }
    json_t *req = json_object_get(obj, "require");
    if (req && !json_is_boolean(req)) {
        r = fail(err_pointer, ptr_size, "/require", err, -EINVAL, "must be true or false");
        goto out;
    }
    s->require = json_is_true(req);
    json_t *dir = json_object_get(obj, "dir");
    json_t *files = json_object_get(obj, "files");
    if (!dir && !files) {
        r = fail(err_pointer, ptr_size, "", err, -EINVAL,
                 "needs \"dir\" (a folder of EVENT.json files) or \"files\" (event to file)");
        goto out;
    }
    if (dir) {
        if (!json_is_string(dir) || !json_string_length(dir)) {
            r = fail(err_pointer, ptr_size, "/dir", err, -EINVAL, "must be a folder name");
            goto out;
        }
        if ((r = load_dir(s, json_string_value(dir), err)) < 0) {
            if (err_pointer && ptr_size)
                snprintf(err_pointer, ptr_size, "/dir");
            goto out;
        }
    }
    if (files) {
        if (!json_is_object(files)) {
            r = fail(err_pointer, ptr_size, "/files", err, -EINVAL,
                     "must map event names to schema files");
            goto out;
        }
        json_object_foreach(files, key, val) {
            char ptr[160];
            snprintf(ptr, sizeof(ptr), "/files/%.150s", key);
            if (!json_is_string(val)) {
                r = fail(err_pointer, ptr_size, ptr, err, -EINVAL, "must be a file name");
                goto out;
            }
            char *path = join(s->base_dir, json_string_value(val));
            if (!path) {
                r = wh_error_set(err, -ENOMEM, "out of memory");
                goto out;
            }
            const char *slash = strrchr(json_string_value(val), '/');
            r = add(s, strcmp(key, "default") == 0 ? "" : key, path,
                    slash ? slash + 1 : json_string_value(val), err);
            free(path);
            if (r < 0) {
                if (err_pointer && ptr_size)
                    snprintf(err_pointer, ptr_size, "%s", ptr);
                goto out;
            }
        }
    }
    *ret = s;
    return 0;
out:
    free_set(s);
    return r;
}

int schema_set_load(json_t *obj, const char *base_dir, schema_set **ret, char *err_pointer,
                    size_t ptr_size, struct wh_error *err)
{
    return build(obj, base_dir, ret, err_pointer, ptr_size, err);
}

int schema_set_reload(const schema_set *old, schema_set **ret, struct wh_error *err)
{
    return build(old->definition, old->base_dir, ret, NULL, 0, err);
}

static char *string_at(json_t *doc, const char *ptr)
{
    json_t *v = doc ? jsonptr_get(doc, ptr) : NULL;
    return json_is_string(v) ? strdup(json_string_value(v)) : NULL;
}

char *schema_set_event(const schema_set *s, const struct delivery *d, json_t *doc)
{
    char *event = NULL;
    if (!s) {
        static const char *const defaults[] = {"/eventName", "/event", "/type"};
        for (size_t i = 0; i < 3 && !event; i++)
            event = string_at(doc, defaults[i]);
        return event;
    }
    if (s->rule.header) {
        size_t n = 0;
        const char *v = delivery_header(d, s->rule.header, &n);
        event = v ? strndup(v, n) : NULL;
    } else if (s->rule.pointer) {
        event = string_at(doc, s->rule.pointer);
    } else {
        static const char *const defaults[] = {"/eventName", "/event", "/type"};
        for (size_t i = 0; i < 3 && !event; i++)
            event = string_at(doc, defaults[i]);
    }
    if (event && s->rule.suffix_pointer) {
        char *suffix = string_at(doc, s->rule.suffix_pointer);
        if (suffix) {
            size_t n = strlen(event) + strlen(suffix) + 2;
            char *both = malloc(n);
            if (both)
                snprintf(both, n, "%s.%s", event, suffix);
            free(event);
            event = both;
        }
        free(suffix);
    }
    return event;
}

const jsonschema *schema_set_find(const schema_set *s, const char *event, const char **ret_name)
{
    const struct entry *fallback = NULL;
    for (size_t i = 0; i < s->n; i++) {
        if (event && *event && strcmp(s->v[i].event, event) == 0) {
            if (ret_name)
                *ret_name = s->v[i].file;
            return s->v[i].schema;
        }
        if (!s->v[i].event[0])
            fallback = &s->v[i];
    }
    if (fallback && ret_name)
        *ret_name = fallback->file;
    return fallback ? fallback->schema : NULL;
}
