/* admin_script: the API for scripted responses and the attempts they provoked.
 *
 *   GET    /api/endpoints                  every endpoint (the catch-all is "-") with its
 *                                           config, response script and counters
 *   GET    /api/endpoints/NAME             one of them
 *   PUT    /api/endpoints/NAME/responses   replace the script (JSON or shorthand body) and
 *                                           reset its counters
 *   DELETE /api/endpoints/NAME/responses   remove the script: the default answer again
 *   POST   /api/endpoints/NAME/reset       reset the script's counters
 *   GET    /api/messages[?endpoint=NAME]   deliveries grouped into messages (messages.h) */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "encode.h"
#include "messages.h"
#include "server_priv.h"
#include "signature.h"

/* The metrics slot of an endpoint name ("-": the catch-all), or -1. */
static long slot_of(server *s, const char *name)
{
    if (strcmp(name, FILTER_CATCH_ALL) == 0)
        return 0;
    for (size_t i = 0; i < s->opts.config->n_endpoints; i++)
        if (strcmp(s->opts.config->endpoints[i].name, name) == 0)
            return (long)i + 1;
    return -1;
}

static json_t *opt_str(const char *v)
{
    return v ? json_string(v) : json_null();
}

static json_t *endpoint_json(server *s, size_t slot)
{
    const struct endpoint_config *ep = slot ? &s->opts.config->endpoints[slot - 1] : NULL;
    json_t *o = json_pack(
        "{so so so so sb sb so so}", "name", json_string(ep ? ep->name : FILTER_CATCH_ALL),
        "path", json_string(ep ? ep->path : "*"), "description",
        opt_str(ep ? ep->description : "every path no endpoint claims"), "signature",
        opt_str(ep && ep->signature ? sig_config_scheme(ep->signature) : NULL),
        "reject_invalid", ep && ep->reject_invalid, "schemas", ep && ep->schemas, "message_id",
        opt_str(ep ? ep->message_id : NULL), "message_key", opt_str(ep ? ep->message_key : NULL));
    json_t *resp = script_state_to_json(s->responders[slot]);
    if (!o || !resp || json_object_set_new(o, "responses", resp) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static enum MHD_Result list_endpoints(server *s, struct request *req)
{
    json_t *list = json_array();
    for (size_t i = 0; list && i <= s->opts.config->n_endpoints; i++) {
        json_t *e = endpoint_json(s, i);
        if (!e || json_array_append_new(list, e) < 0) {
            json_decref(list);
            list = NULL;
        }
    }
    if (!list)
        return server_respond_error(req->conn, 500, "out of memory");
    return server_respond_json(req->conn, 200, json_pack("{so}", "endpoints", list));
}

static enum MHD_Result put_responses(server *s, struct request *req, size_t slot)
{
    struct wh_error err = {0};
    script *sc = NULL;
    const char *text = req->admin_body.data ? req->admin_body.data : "";
    int r = script_parse_text(text, req->admin_body.len, &sc, &err);
    if (r == -ENOMEM)
        return server_respond_error(req->conn, 500, "out of memory");
    if (r < 0)
        return server_respond_error(req->conn, 400, "responses: %s", err.msg);
    const struct endpoint_config *ep = slot ? &s->opts.config->endpoints[slot - 1] : NULL;
    if (ep && ep->has_seed && !sc->has_seed) {
        sc->has_seed = true; /* still ours alone: nothing else holds it yet */
        sc->seed = ep->seed;
    }
    script_state_set(s->responders[slot], sc);
    atomic_store(&s->scripted[slot], true);
    script_unref(sc);
    return server_respond_json(req->conn, 200, endpoint_json(s, slot));
}

static enum MHD_Result list_messages(server *s, struct request *req)
{
    static const char *const known[] = {"endpoint", "limit", NULL};
    const char *bad = admin_unknown_arg(req, known);
    if (bad)
        return server_respond_error(req->conn, 400,
                                    "unknown query argument '%.64s' (known: endpoint, limit)", bad);
    struct delivery_filter f;
    filter_init(&f);
    struct wh_error err = {0};
    const char *v;
    if ((v = admin_arg(req, "endpoint")) && filter_set_arg(&f, "endpoint", v, &err) < 0)
        return server_respond_error(req->conn, 400, "%s", err.msg);
    if ((v = admin_arg(req, "limit")) && filter_set_arg(&f, "limit", v, &err) < 0)
        return server_respond_error(req->conn, 400, "%s", err.msg);
    if (f.limit == 0)
        f.limit = FILTER_MAX_LIMIT; /* an answer of bounded size, however large the database */
    store *st = NULL;
    int r = server_reader_acquire(s, &st, &err);
    if (r < 0)
        return server_respond_error(req->conn, 500, "%s", err.msg);
    json_t *list = NULL;
    r = messages_collect(st, &f, &list, &err);
    server_reader_release(s, st);
    if (r < 0)
        return server_respond_error(req->conn, 500, "%s", err.msg);
    return server_respond_json(req->conn, 200, json_pack("{so}", "messages", list));
}

enum MHD_Result admin_script_route(server *s, struct request *req, const char *method,
                                   const char *api)
{
    bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    if (strcmp(api, "/messages") == 0) {
        if (!get)
            return admin_method_not_allowed(req, "GET");
        return server_offload(s, req, list_messages); /* reads every attempt */
    }
    if (strcmp(api, "/endpoints") == 0) {
        if (!get)
            return admin_method_not_allowed(req, "GET");
        return list_endpoints(s, req);
    }
    /* /endpoints/NAME[/responses|/reset] */
    const char *name = api + strlen("/endpoints/");
    const char *slash = strchr(name, '/');
    char buf[CONFIG_NAME_MAX + 1];
    size_t n = slash ? (size_t)(slash - name) : strlen(name);
    if (n == 0 || n >= sizeof(buf))
        return server_respond_error(req->conn, 404, "no such endpoint");
    memcpy(buf, name, n);
    buf[n] = '\0';
    long slot = slot_of(s, buf);
    if (slot < 0)
        return server_respond_error(req->conn, 404,
                                    "no endpoint named '%s' (the catch-all is '-'; see "
                                    "/_webhooky/api/endpoints)", buf);
    const char *rest = slash ? slash : "";
    if (!*rest) {
        if (!get)
            return admin_method_not_allowed(req, "GET");
        return server_respond_json(req->conn, 200, endpoint_json(s, (size_t)slot));
    }
    if (strcmp(rest, "/responses") == 0) {
        if (strcmp(method, "PUT") == 0)
            return put_responses(s, req, (size_t)slot);
        if (strcmp(method, "DELETE") == 0) {
            script_state_set(s->responders[slot], NULL);
            atomic_store(&s->scripted[slot], false);
            return server_respond_json(req->conn, 200, endpoint_json(s, (size_t)slot));
        }
        if (get) {
            json_t *e = endpoint_json(s, (size_t)slot);
            json_t *r = e ? json_incref(json_object_get(e, "responses")) : NULL;
            json_decref(e);
            return server_respond_json(req->conn, 200, r);
        }
        return admin_method_not_allowed(req, "GET, PUT, DELETE");
    }
    if (strcmp(rest, "/reset") == 0) {
        if (strcmp(method, "POST") != 0)
            return admin_method_not_allowed(req, "POST");
        script_state_reset(s->responders[slot]);
        return server_respond_json(req->conn, 200, endpoint_json(s, (size_t)slot));
    }
    return server_respond_error(req->conn, 404, "no such route; use /responses or /reset");
}
