/* server_priv: what server.c and admin.c share about a running receiver. Not a public API. */
#ifndef WEBHOOKY_SERVER_PRIV_H
#define WEBHOOKY_SERVER_PRIV_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>

#include "buf.h"
#include "delivery.h"
#include "filter.h"
#include "metrics.h"
#include "readers.h"
#include "script.h"
#include "server.h"
#include "store.h"
#include "timer.h"
#include "writer.h"

/* A long-poll parked until enough matching deliveries are committed or its time is up. */
enum wait_state {
    WAIT_COUNTING, /* registered, counting what is already stored; commits add to `extra` */
    WAIT_PENDING,  /* connection parked; commits subtract from `need` */
    WAIT_DONE,     /* resumed (or never parked); not in the list */
};

struct waiter {
    struct request *req;
    struct delivery_filter filter; /* strings borrowed from the request's query arguments */
    int64_t need, extra;
    enum wait_state state;
    bool linked;
    struct waiter *prev, *next;
    struct timer_entry timer;
    int64_t deadline_us; /* monotonic: answer by then even if too few arrived */
    int64_t wait_ms, min_count; /* as asked */
};

/* One HTTP loop: a thread running its own libmicrohttpd daemon and committing the deliveries
 * it reads (server.c). */
struct loop;

enum req_kind { REQ_DELIVERY, REQ_ADMIN };
/* RS_ACTING: committed, and parked again while a scripted delay, hang or dribble runs */
enum req_state { RS_NEW, RS_BODY, RS_PARKED, RS_READY, RS_ACTING, RS_ANSWERED };

struct request {
    server *srv;
    struct MHD_Connection *conn;
    char *uri; /* owned; raw request target as received */
    enum req_kind kind;
    enum req_state state;
    int64_t start_us; /* monotonic, when the request line arrived */

    /* deliveries */
    struct delivery *d;   /* owned */
    const struct endpoint_config *ep; /* borrowed from the config; NULL: the catch-all */
    size_t slot;          /* metrics slot of the endpoint */
    const char *bad_request; /* static text: the request is refused with 400, unread */
    bool too_large;       /* the body is over --max-body: answered 413 */
    int sig_status;       /* enum sig_status of the verdict, when the endpoint has a scheme */
    bool rejected;        /* reject_invalid and the signature is not valid: answered 401 */
    bool schema_failed;   /* the schema verdict counts as a failure */
    bool cut_off;         /* ... and over the drain limit: closed without an answer */
    uint64_t declared;    /* Content-Length, when sent */
    struct writer_job job;
    struct loop *loop;    /* the loop that reads and answers the connection */
    bool held;            /* parked without suspending the connection (server.c) */
    struct request *held_next; /* in its loop's list, until committed */
    bool orphan;          /* held, and its connection closed: freed once committed */

    /* the scripted response (respond.c) */
    struct script_choice choice; /* choice.script: a reference, released at completion */
    int64_t parked_us;    /* monotonic, when the whole request had been read */
    int64_t act_start_us; /* monotonic, when a hang or dribble began */
    bool delay_done;      /* the scripted delay has passed */
    bool act_stop;        /* shutting down: end the act now (guarded by server.act_lock) */
    bool client_gone;     /* the client left during the delay: nothing is answered */
    bool act_linked;      /* in server.acting (guarded by server.act_lock) */
    struct request *act_prev, *act_next;
    struct timer_entry act_timer;
    struct buf raw;       /* dribble: the whole response as bytes; raw_off of them sent */
    size_t raw_off, raw_chunk;
    int64_t raw_step_us;

    /* admin */
    struct buf admin_body; /* an admin request's body (a script, a replay), up to ADMIN_MAX_BODY */
    uint64_t admin_body_len;
    struct waiter wait;
    struct web_req *web;     /* owned; an event stream, export or replay (web.c) */

    /* an admin read run by the reader threads (server_offload) */
    struct reader_job read_job;
    enum MHD_Result (*read_route)(server *s, struct request *req);
    struct MHD_Response *read_resp; /* owned: its answer, until queued */
    unsigned read_status;
};

struct server {
    struct server_options opts;
    char address[96];
    char db_uri[600];
    int listen_fd;
    pthread_t acceptor;
    bool acceptor_running;
    atomic_bool accepting;
    atomic_uint open_connections; /* handed to libmicrohttpd and not closed yet */
    unsigned connection_limit;    /* --max-connections */
    writer *writer;
    struct loop *loops; /* the HTTP loops; connections are dealt to them in turn */
    unsigned n_loops, loops_running, next_loop;
    timers *timers;
    metrics *metrics;
    struct seen_set **nonces; /* per metrics slot: Twenty nonces seen, NULL for other schemes */
    pthread_mutex_t schemas_lock; /* guards the pointers in schemas (not the sets) */
    struct schema_set **schemas;  /* per metrics slot: the current set (a reference), or NULL */

    /* read-only store handles for API requests */
    pthread_mutex_t pool_lock;
    pthread_cond_t pool_cond;
    store **pool_free;
    size_t pool_n_free, pool_n_open, pool_max;

    /* long-polls, and the last committed id they count from */
    pthread_mutex_t wait_lock;
    struct waiter *waiters;
    int64_t committed_last;
    bool stopping;

    /* requests between their first call and completion, for shutdown */
    pthread_mutex_t inflight_lock;
    pthread_cond_t inflight_cond;
    unsigned inflight;

    unsigned char token_digest[32]; /* SHA-256 of the admin token */

    /* scripted responses: per metrics slot (0: the catch-all), never NULL while running */
    script_state **responders;
    atomic_bool *scripted; /* per slot: it has a script (the body is parsed for its matches) */
    /* requests parked on a scripted delay, hang or dribble, for shutdown */
    pthread_mutex_t act_lock;
    struct request *acting;
    bool acts_stopped; /* shutting down: scripted waits are skipped */
    struct web *web; /* the inspection page's event streams and replays (web.c) */
    readers *readers; /* run the admin API's reads (server_offload) */
};

/* Borrow a reader store for the calling thread; -errno on failure. */
int server_reader_acquire(server *s, store **ret, struct wh_error *err);
void server_reader_release(server *s, store *st);

/* Queue a response built from a buffer (copied) with a content type; returns the MHD result. */
enum MHD_Result server_respond(struct MHD_Connection *conn, unsigned status,
                               const char *content_type, const void *data, size_t len);
/* Respond with {"error": msg} and the status. */
enum MHD_Result server_respond_error(struct MHD_Connection *conn, unsigned status,
                                     const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Respond with a JSON value (stolen). */
enum MHD_Result server_respond_json(struct MHD_Connection *conn, unsigned status, json_t *v);
/* Queue resp and drop the caller's reference to it (on a reader thread, keep it as the
 * offloaded request's answer). Every admin answer goes through here. */
enum MHD_Result server_queue_response(struct MHD_Connection *conn, unsigned status,
                                      struct MHD_Response *resp);

/* Run route (a read of the store that may take long) on a reader thread, not on this HTTP
 * thread: the connection is parked meanwhile, and the next call, after the resume, queues what
 * route answered. Call it from the handler each time the request reaches that route; req->state
 * is RS_PARKED while the read runs and RS_ANSWERED once its answer is queued. route must not
 * park the connection itself. */
enum MHD_Result server_offload(server *s, struct request *req,
                               enum MHD_Result (*route)(server *s, struct request *req));
/* Called by a route running on a reader thread that has handed the parked connection to
 * someone else (a long-poll's wake-up) instead of answering: the reader leaves it parked and
 * does not touch the request again. */
void server_offload_keep_parked(void);

/* The connection's socket (-1 when unknown). */
int server_conn_fd(struct MHD_Connection *conn);
/* Resume a suspended connection, from any thread: use this, never MHD_resume_connection, so
 * that the loop running the connection wakes. req may be gone once this returns. */
void server_resume(struct request *req);

/* Has the client closed its side (or the socket failed)? For parked connections (a hang, a
 * long-poll), which libmicrohttpd does not watch: nobody is left to answer. */
bool server_peer_gone(struct MHD_Connection *conn);

/* Hand req->job (kind and payload set) to the writer and park the connection; it is resumed
 * with req->state RS_READY and req->job.rc / result filled in (-ESHUTDOWN when the writer no
 * longer takes jobs). */
enum MHD_Result server_park_job(server *s, struct request *req);

/* A new reference to the slot's current schema set (NULL when it has none). */
struct schema_set *server_schemas_acquire(server *s, size_t slot);

/* respond.c: pick the delivery's scripted response (before it is stored): fills its status,
 * fault, rule, planned delay, message key and attempt. doc is the parsed body or NULL. */
int respond_plan(server *s, struct request *req, json_t *doc);
/* respond.c: act out the plan once the row is committed (state RS_READY): answer, wait, or
 * fault. Returns what the access handler returns. */
enum MHD_Result respond_act(server *s, struct request *req);
/* respond.c: the request is complete: stop its timer and release its choice. */
void respond_request_done(server *s, struct request *req);
/* respond.c: end every parked act now (shutdown): each connection is closed. */
void respond_stop_all(server *s);
/* server.c: the default answer's body, {"ok":true|false,"id":N} and a newline (ok for a 2xx
 * status), written into out (at least SERVER_DEFAULT_BODY_MAX bytes, not NUL-terminated);
 * returns its length. */
#define SERVER_DEFAULT_BODY_MAX 48
size_t server_default_body(char *out, unsigned status, int64_t id);
/* server.c: is a scripted body JSON (an object, array or string)? It is then sent as such. */
bool server_looks_like_json(const char *text, size_t len);
/* server.c: the default answer's JSON, or the error answer when the row was not stored. */
enum MHD_Result server_answer(server *s, struct request *req, unsigned status,
                              const struct script_rule *rule);

/* admin.c: helpers for the other admin routes. A query argument (borrowed) or NULL; the first
 * argument not in the NULL-terminated `known`, or NULL; a 405 naming what is allowed. */
const char *admin_arg(struct request *req, const char *key);
const char *admin_unknown_arg(struct request *req, const char *const *known);
enum MHD_Result admin_method_not_allowed(struct request *req, const char *allow);
/* admin_script.c: /api/endpoints[/NAME[/responses|/reset]] and /api/messages. `api` is the
 * path after /_webhooky/api. */
enum MHD_Result admin_script_route(server *s, struct request *req, const char *method,
                                   const char *api);

/* admin.c: handle one call of the access handler for a /_webhooky/ request. */
enum MHD_Result admin_handle(server *s, struct request *req, const char *method,
                             const char *upload_data, size_t *upload_data_size);
/* admin.c: the writer's commit hook (wakes long-polls). */
void admin_on_commit(void *arg, const struct writer_job *batch, int64_t last_id);
/* admin.c: a request is complete; release its long-poll state. */
void admin_request_done(server *s, struct request *req);
/* admin.c: wake every parked long-poll (shutdown). */
void admin_wake_all(server *s);

#endif
