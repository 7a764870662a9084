/* vars: ${...} substitution in scenario strings (commands, URLs, headers, bodies, the mock).
 *
 * Names: ${endpoint.NAME.url} (the endpoint's full URL), ${endpoint.NAME.path},
 * ${mock.url} (the receiver's base URL, no trailing '/'), ${scenario.dir} (the folder of the
 * scenario file, for files next to it), ${vars.NAME} (the scenario's "vars" and --var), ${env.NAME}
 * and ${env.NAME:-DEFAULT} (the runner's environment). "$${" is a literal "${". Anything else in
 * ${...} is an error naming the variable.
 *
 * Not here: where the values come from (the runner fills a vars_ctx). */
#ifndef WEBHOOKY_VARS_H
#define WEBHOOKY_VARS_H

#include <jansson.h>
#include <stdbool.h>

#include "mockserver/wh_error.h"

/* Longest text a substitution may produce. */
#define VARS_MAX_OUTPUT (1u << 20)

struct vars_ctx {
    json_t *vars;             /* borrowed: object NAME -> string; NULL: none defined */
    json_t *endpoints;        /* borrowed: object NAME -> base URL string of that endpoint,
                                 NULL: endpoint variables are not allowed here */
    bool any_endpoint;        /* accept any endpoint name (the names are not known yet) */
    const char *mock_url;     /* NULL: ${mock.url} is not allowed here */
    const char *scenario_dir; /* NULL: ${scenario.dir} is not allowed here */
};

/* Expand text. On success *ret is a new string (free it). Errors (-EINVAL) say which
 * variable and why ("${vars.secret} is not defined (defined: a, b)"); -E2BIG past
 * VARS_MAX_OUTPUT; -ENOMEM. */
int vars_expand(const struct vars_ctx *v, const char *text, char **ret, struct wh_error *err);

/* Does text contain any ${...} at all? */
bool vars_has_refs(const char *text);

/* Expand every string inside a JSON value (object values, array items; keys are left as
 * they are). On success *ret is a new reference to a deep copy. On error, err_pointer gets
 * the RFC 6901 pointer of the string that failed, relative to v. */
int vars_expand_json(const struct vars_ctx *v, json_t *in, json_t **ret, char *err_pointer,
                     size_t ptr_size, struct wh_error *err);

#endif
