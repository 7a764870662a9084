#include "vars.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mockserver/buf.h"
#include "mockserver/jsonpos.h"

#define NAME_MAX_SHOWN 64

bool vars_has_refs(const char *text)
{
    return strstr(text, "${") != NULL;
}

static int defined_list(json_t *obj, struct buf *out)
{
    const char *key;
    json_t *val;
    size_t i = 0;
    json_object_foreach(obj, key, val)
    {
        if (i++ == 12)
            return buf_append_str(out, ", ...");
        int r = buf_printf(out, "%s%s", i > 1 ? ", " : "", key);
        if (r < 0)
            return r;
    }
    return i ? 0 : buf_append_str(out, "none");
}

/* Resolve one name (the text between "${" and "}") and append its value. */
static int resolve(const struct vars_ctx *v, const char *name, size_t n, struct buf *out,
                   struct wh_error *err)
{
    char nm[256];
    if (n >= sizeof(nm))
        return wh_error_set(err, -EINVAL, "variable name too long: ${%.*s...}", NAME_MAX_SHOWN,
                            name);
    memcpy(nm, name, n);
    nm[n] = '\0';
    if (strncmp(nm, "vars.", 5) == 0) {
        json_t *val = v->vars ? json_object_get(v->vars, nm + 5) : NULL;
        if (!json_is_string(val)) {
            struct buf list;
            buf_init(&list, 0);
            int r = v->vars ? defined_list(v->vars, &list) : buf_append_str(&list, "none");
            if (r < 0) {
                buf_finish(&list);
                return wh_error_set(err, r, "out of memory");
            }
            r = wh_error_set(err, -EINVAL,
                             val && json_is_null(val)
                                 ? "${%s} has no value: give it with --var %s=VALUE"
                                 : "${%s} is not defined (defined vars: %s)",
                             nm, val ? nm + 5 : list.data);
            buf_finish(&list);
            return r;
        }
        return buf_append_str(out, json_string_value(val));
    }
    if (strncmp(nm, "env.", 4) == 0) {
        char *dflt = strstr(nm + 4, ":-");
        if (dflt)
            *dflt = '\0';
        if (!nm[4])
            return wh_error_set(err, -EINVAL, "${%.*s}: an environment variable needs a name",
                                (int)n, name);
        const char *val = getenv(nm + 4);
        if (!val && !dflt)
            return wh_error_set(err, -EINVAL,
                                "${env.%s}: the environment variable %s is not set (give a "
                                "default with ${env.%s:-VALUE})",
                                nm + 4, nm + 4, nm + 4);
        return buf_append_str(out, val ? val : dflt + 2);
    }
    if (strcmp(nm, "scenario.dir") == 0) {
        if (!v->scenario_dir)
            return wh_error_set(err, -EINVAL, "${scenario.dir} cannot be used here");
        return buf_append_str(out, v->scenario_dir);
    }
    if (strcmp(nm, "mock.url") == 0) {
        if (!v->mock_url)
            return wh_error_set(err, -EINVAL, "${mock.url} cannot be used here (only in steps)");
        return buf_append_str(out, v->mock_url);
    }
    if (strncmp(nm, "endpoint.", 9) == 0) {
        char *dot = strrchr(nm + 9, '.');
        if (!dot || dot == nm + 9 || (strcmp(dot, ".url") != 0 && strcmp(dot, ".path") != 0))
            return wh_error_set(err, -EINVAL,
                                "${%s}: endpoint variables are ${endpoint.NAME.url} and "
                                "${endpoint.NAME.path}",
                                nm);
        bool url = strcmp(dot, ".url") == 0;
        *dot = '\0';
        if (!v->endpoints && !v->any_endpoint)
            return wh_error_set(err, -EINVAL,
                                "${endpoint.%s.%s} cannot be used here (only in steps)", nm + 9,
                                url ? "url" : "path");
        json_t *val = v->endpoints ? json_object_get(v->endpoints, nm + 9) : NULL;
        if (!val && v->any_endpoint)
            return 0;
        if (!json_is_string(val)) {
            struct buf list;
            buf_init(&list, 0);
            int r = v->endpoints ? defined_list(v->endpoints, &list) : -ENOMEM;
            if (r < 0) {
                buf_finish(&list);
                return wh_error_set(err, r, "out of memory");
            }
            r = wh_error_set(err, -EINVAL,
                             "${endpoint.%s.%s}: there is no endpoint named '%s' (endpoints: %s)",
                             nm + 9, url ? "url" : "path", nm + 9, list.data);
            buf_finish(&list);
            return r;
        }
        const char *base = json_string_value(val);
        if (url)
            return buf_append_str(out, base);
        /* the path: what follows "scheme://host" */
        const char *p = strstr(base, "://");
        p = p ? strchr(p + 3, '/') : NULL;
        return buf_append_str(out, p ? p : "/");
    }
    return wh_error_set(
        err, -EINVAL,
        "unknown variable ${%s} (variables are ${endpoint.NAME.url}, "
        "${endpoint.NAME.path}, ${mock.url}, ${scenario.dir}, ${vars.NAME}, ${env.NAME})",
        nm);
}

int vars_expand(const struct vars_ctx *v, const char *text, char **ret, struct wh_error *err)
{
    struct buf out;
    buf_init(&out, VARS_MAX_OUTPUT);
    int r = 0;
    const char *p = text;
    while (r == 0) {
        const char *d = strstr(p, "${");
        if (!d) {
            r = buf_append_str(&out, p);
            break;
        }
        if (d > p && d[-1] == '$') { /* "$${": a literal "${" */
            if ((r = buf_append(&out, p, (size_t)(d - p - 1))) == 0)
                r = buf_append_str(&out, "${");
            p = d + 2;
            continue;
        }
        if ((r = buf_append(&out, p, (size_t)(d - p))) < 0)
            break;
        const char *close = strchr(d + 2, '}');
        if (!close) {
            r = wh_error_set(err, -EINVAL, "'${' without a closing '}': \"%.*s\"", NAME_MAX_SHOWN,
                             d);
            break;
        }
        r = resolve(v, d + 2, (size_t)(close - d - 2), &out, err);
        p = close + 1;
    }
    if (r == -E2BIG)
        wh_error_set(err, r, "the text is longer than %u bytes after substitution",
                     VARS_MAX_OUTPUT);
    else if (r == -ENOMEM)
        wh_error_set(err, r, "out of memory");
    if (r < 0) {
        buf_finish(&out);
        return r;
    }
    char *s = buf_steal(&out, NULL);
    if (!s)
        s = strdup("");
    if (!s)
        return wh_error_set(err, -ENOMEM, "out of memory");
    *ret = s;
    return 0;
}

static int expand_json(const struct vars_ctx *v, json_t *in, json_t **ret, struct buf *ptr,
                       struct wh_error *err)
{
    int r = 0;
    if (json_is_string(in)) {
        char *s = NULL;
        if ((r = vars_expand(v, json_string_value(in), &s, err)) < 0)
            return r;
        *ret = json_string(s);
        free(s);
        return *ret ? 0 : wh_error_set(err, -EINVAL, "the text is not UTF-8 after substitution");
    }
    if (json_is_object(in)) {
        json_t *o = json_object();
        if (!o)
            return wh_error_set(err, -ENOMEM, "out of memory");
        const char *key;
        json_t *val;
        json_object_foreach(in, key, val)
        {
            size_t mark = ptr->len;
            json_t *c = NULL;
            if ((r = jsonpos_pointer_append(ptr, key)) < 0 ||
                (r = expand_json(v, val, &c, ptr, err)) < 0) {
                json_decref(o);
                return r;
            }
            ptr->len = mark;
            if (ptr->data)
                ptr->data[mark] = '\0';
            if (json_object_set_new(o, key, c) < 0) {
                json_decref(o);
                return wh_error_set(err, -ENOMEM, "out of memory");
            }
        }
        *ret = o;
        return 0;
    }
    if (json_is_array(in)) {
        json_t *a = json_array();
        if (!a)
            return wh_error_set(err, -ENOMEM, "out of memory");
        size_t i;
        json_t *val;
        json_array_foreach(in, i, val)
        {
            size_t mark = ptr->len;
            json_t *c = NULL;
            if ((r = buf_printf(ptr, "/%zu", i)) < 0 ||
                (r = expand_json(v, val, &c, ptr, err)) < 0) {
                json_decref(a);
                return r;
            }
            ptr->len = mark;
            if (ptr->data)
                ptr->data[mark] = '\0';
            if (json_array_append_new(a, c) < 0) {
                json_decref(a);
                return wh_error_set(err, -ENOMEM, "out of memory");
            }
        }
        *ret = a;
        return 0;
    }
    *ret = json_incref(in);
    return 0;
}

int vars_expand_json(const struct vars_ctx *v, json_t *in, json_t **ret, char *err_pointer,
                     size_t ptr_size, struct wh_error *err)
{
    struct buf ptr;
    buf_init(&ptr, 0);
    json_t *out = NULL;
    int r = expand_json(v, in, &out, &ptr, err);
    if (r < 0 && err_pointer && ptr_size)
        snprintf(err_pointer, ptr_size, "%s", ptr.data ? ptr.data : "");
    buf_finish(&ptr);
    if (r == 0)
        *ret = out;
    return r;
}
