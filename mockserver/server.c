#include "server_priv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <poll.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "encode.h"
#include "hash.h"
#include "jsonptr.h"
#include "schemaset.h"
#include "seen.h"
#include "signature.h"
#include "web.h"

#define ADMIN_PREFIX "/_webhooky"
/* Bytes of an oversized body that are kept with the 413 record. */
#define KEEP_PREFIX (64u * 1024u)
/* An oversized body is read through (and dropped) up to 4 x --max-body, at least this much. */
#define DRAIN_MIN (64ull * 1024 * 1024)
#define DEFAULT_CONNECTION_LIMIT 1000
/* Twenty nonces remembered per endpoint for replay detection. */
#define NONCES_KEPT 16384
#define DEFAULT_CONNECTION_TIMEOUT_S 30
/* Pending connections the kernel queues before accept (capped by net.core.somaxconn): a
 * sender that opens thousands at once must not see SYNs dropped and retried a second later. */
#define LISTEN_BACKLOG 8192
/* Messages whose attempts are counted per endpoint (older ones start again at attempt 1). */
#define MESSAGES_KEPT 32768
/* Per-connection memory for the request line and headers (MHD answers 431 beyond it). */
#define CONNECTION_MEMORY (16u * 1024u)
/* Threads that run the admin API's reads (server_offload). */
#define READER_THREADS 2
/* Deliveries a loop reads before it commits them, however many more are ready. */
#define HELD_MAX 64

void server_options_init(struct server_options *o)
{
    memset(o, 0, sizeof(*o));
    o->listen = "127.0.0.1:8787";
    o->db_path = "webhooky.db";
    o->max_body = 10u * 1024 * 1024;
    o->log_format = LOG_TEXT;
}

static int64_t wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- responses ---- */

/* The offloaded request whose route the calling reader thread is running (server_offload). */
static _Thread_local struct request *offloaded;
/* Set by server_offload_keep_parked during that route. */
static _Thread_local bool keep_parked;

enum MHD_Result server_queue_response(struct MHD_Connection *conn, unsigned status,
                                      struct MHD_Response *resp)
{
    struct request *req = offloaded;
    if (req && req->conn == conn) {
        if (req->read_resp)
            MHD_destroy_response(req->read_resp);
        req->read_resp = resp;
        req->read_status = status;
        return MHD_YES;
    }
    enum MHD_Result r = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return r;
}

enum MHD_Result server_respond(struct MHD_Connection *conn, unsigned status,
                               const char *content_type, const void *data, size_t len)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)(uintptr_t)data, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    if (content_type)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    return server_queue_response(conn, status, resp);
}

enum MHD_Result server_respond_json(struct MHD_Connection *conn, unsigned status, json_t *v)
{
    char *text = v ? json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(12)) : NULL;
    json_decref(v);
    if (!text)
        return server_respond(conn, 500, "application/json", "{\"error\":\"out of memory\"}\n",
                              25);
    size_t n = strlen(text);
    struct MHD_Response *resp = NULL;
    /* MHD takes the text (and its newline) and frees it */
    char *full = realloc(text, n + 2);
    if (!full) {
        free(text);
        return MHD_NO;
    }
    full[n] = '\n';
    full[n + 1] = '\0';
    resp = MHD_create_response_from_buffer(n + 1, full, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(full);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    return server_queue_response(conn, status, resp);
}

enum MHD_Result server_respond_error(struct MHD_Connection *conn, unsigned status,
                                     const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return server_respond_json(conn, status, json_pack("{so}", "error",
                                                       encode_json_string(msg, strlen(msg))));
}

/* ---- reader pool ---- */

int server_reader_acquire(server *s, store **ret, struct wh_error *err)
{
    pthread_mutex_lock(&s->pool_lock);
    while (s->pool_n_free == 0 && s->pool_n_open >= s->pool_max)
        pthread_cond_wait(&s->pool_cond, &s->pool_lock);
    if (s->pool_n_free > 0) {
        *ret = s->pool_free[--s->pool_n_free];
        pthread_mutex_unlock(&s->pool_lock);
        return 0;
    }
    s->pool_n_open++;
    pthread_mutex_unlock(&s->pool_lock);
    int r = store_open(s->db_uri, 0, ret, err);
    if (r < 0) {
        pthread_mutex_lock(&s->pool_lock);
        s->pool_n_open--;
        pthread_cond_signal(&s->pool_cond);
        pthread_mutex_unlock(&s->pool_lock);
    }
    return r;
}

void server_reader_release(server *s, store *st)
{
    pthread_mutex_lock(&s->pool_lock);
    s->pool_free[s->pool_n_free++] = st;
    pthread_cond_signal(&s->pool_cond);
    pthread_mutex_unlock(&s->pool_lock);
}

/* ---- admin reads on the reader threads ---- */

/* A fixed JSON answer of the admin API (text is static). NULL when out of memory. */
static struct MHD_Response *static_json(const char *text)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        strlen(text), (void *)(uintptr_t)text, MHD_RESPMEM_PERSISTENT);
    if (resp)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    return resp;
}

static void run_read(struct reader_job *job)
{
    struct request *req =
        (struct request *)(void *)((char *)job - offsetof(struct request, read_job));
    offloaded = req;
    keep_parked = false;
    req->read_route(req->srv, req);
    offloaded = NULL;
    if (keep_parked)
        return; /* req belongs to whoever resumes it now */
    if (!req->read_resp) {
        /* the route gave up without an answer (out of memory) */
        req->read_resp = static_json("{\"error\":\"out of memory\"}\n");
        req->read_status = 500;
    }
    req->state = RS_READY;
    server_resume(req); /* the last touch: it may be answered and gone after */
}

void server_offload_keep_parked(void)
{
    keep_parked = true;
}

enum MHD_Result server_offload(server *s, struct request *req,
                               enum MHD_Result (*route)(server *s, struct request *req))
{
    if (offloaded == req)
        return route(s, req); /* already on a reader thread */
    if (req->read_resp) {
        /* resumed: the read is done */
        struct MHD_Response *resp = req->read_resp;
        req->read_resp = NULL;
        req->state = RS_ANSWERED;
        enum MHD_Result r = MHD_queue_response(req->conn, req->read_status, resp);
        MHD_destroy_response(resp);
        return r;
    }
    req->read_route = route;
    req->read_job.run = run_read;
    req->state = RS_PARKED;
    MHD_suspend_connection(req->conn);
    if (readers_submit(s->readers, &req->read_job) < 0) {
        /* shutting down: answered 503 when the handler runs again */
        req->read_resp = static_json("{\"error\":\"the receiver is stopping\"}\n");
        req->read_status = 503;
        req->state = RS_READY;
        server_resume(req);
        if (!req->read_resp)
            return MHD_NO;
    }
    return MHD_YES;
}

/* ---- access log ---- */

static void access_log(server *s, const struct request *req, int64_t duration_us)
{
    const struct delivery *d = req->d;
    struct buf line;
    buf_init(&line, 0);
    if (s->opts.log_format == LOG_JSON) {
        char ts[40];
        struct buf t;
        buf_init(&t, 0);
        encode_rfc3339_us(&t, d->received_us);
        snprintf(ts, sizeof(ts), "%s", t.data ? t.data : "");
        buf_finish(&t);
        json_t *o = json_object();
        if (o) {
            json_object_set_new(o, "time", json_string(ts));
            json_object_set_new(o, "id", json_integer(req->job.result));
            json_object_set_new(o, "endpoint", d->endpoint ? json_string(d->endpoint) : json_null());
            json_object_set_new(o, "method", encode_json_string(d->method, strlen(d->method)));
            json_object_set_new(o, "path", encode_json_string(d->path, strlen(d->path)));
            json_object_set_new(o, "query", d->query ? encode_json_string(d->query, strlen(d->query))
                                                     : json_null());
            json_object_set_new(o, "remote_addr", json_string(d->remote_addr));
            json_object_set_new(o, "status", d->status ? json_integer(d->status) : json_null());
            json_object_set_new(o, "body_size", json_integer((json_int_t)d->body_size));
            json_object_set_new(o, "truncated", json_boolean(d->truncated));
            json_object_set_new(o, "fault", d->fault ? json_string(d->fault) : json_null());
            json_object_set_new(o, "delay_ms", json_integer(d->delay_ms));
            json_object_set_new(o, "attempt", json_integer(d->attempt));
            json_object_set_new(o, "duration_ms", json_real((double)duration_us / 1000.0));
        }
        char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
        if (text) {
            buf_append_str(&line, text);
            buf_append_byte(&line, '\n');
        }
        free(text);
        json_decref(o);
    } else {
        encode_rfc3339_us(&line, d->received_us);
        buf_printf(&line, " %s ", d->remote_addr);
        encode_terminal(&line, d->method, strlen(d->method), false);
        buf_append_byte(&line, ' ');
        encode_terminal(&line, d->path, strlen(d->path), false);
        if (d->query) {
            buf_append_byte(&line, '?');
            encode_terminal(&line, d->query, strlen(d->query), false);
        }
        if (d->status)
            buf_printf(&line, " %d", d->status);
        if (d->fault)
            buf_printf(&line, " %s", d->fault);
        else if (!d->status)
            buf_append_str(&line, " closed");
        if (d->delay_ms)
            buf_printf(&line, " delay=%lldms", (long long)d->delay_ms);
        buf_printf(&line, " %lluB %.2fms endpoint=%s id=%lld%s\n",
                   (unsigned long long)d->body_size, (double)duration_us / 1000.0,
                   d->endpoint ? d->endpoint : "-", (long long)req->job.result,
                   d->truncated ? " truncated" : "");
    }
    if (line.data) {
        ssize_t w = write(STDERR_FILENO, line.data, line.len);
        (void)w;
    }
    buf_finish(&line);
}

/* ---- HTTP loops ----
 *
 * Each loop is a thread that runs a libmicrohttpd daemon of its own (in its "external" mode,
 * with epoll; connections are dealt to the loops in turn). A delivery read to its end is held,
 * not suspended (park_held): the loop runs another pass while its passes bring more requests,
 * then commits what it holds in one batch itself (writer_run_if_idle) and answers those
 * requests on its next pass. A delivery is so read, stored and answered on one thread, with no
 * hand-off to another thread and back; on this kind of machine a thread put to sleep and woken
 * costs more than a batch's commit. While another thread is committing, the loop keeps what it
 * holds and reads on, yielding the CPU, and commits when that thread is done.
 *
 * A held connection stays in libmicrohttpd's loop, which calls its handler on each pass until
 * it answers (the handler waits for the commit); its job is only ever in a batch run by its
 * own loop, so the loop's thread never sees it half done. If libmicrohttpd closes it
 * meanwhile (its timeout), the request is kept as an orphan until committed (on_completed).
 *
 * A connection parked for anything else (a long-poll, a read on a reader thread, a scripted
 * delay, a job for the writer thread) is suspended, and resumed from another thread by
 * server_resume (or job_done), which wakes its loop. */

struct incoming {
    int fd;
    struct sockaddr_storage addr;
    socklen_t addr_len;
    struct incoming *next;
};

struct loop {
    server *srv;
    struct MHD_Daemon *mhd;
    pthread_t thread;
    int epoll_fd;        /* ours: libmicrohttpd's epoll descriptor and wake_fd */
    int wake_fd;         /* an eventfd: another thread resumed a connection or added one */
    atomic_bool pending; /* a wake-up since the loop last looked (set before wake_fd is used) */
    atomic_bool asleep;  /* the loop is in (or about to enter) epoll_wait */
    atomic_bool stop;
    bool resumed_here;   /* the loop resumed connections itself: run the daemon again at once */
    bool wake_wanted;    /* a batch run elsewhere resumed connections of this loop */
    /* deliveries read to their end and not suspended (park_held), not yet handed to the
     * writer: the loop reads on while more requests are ready, then commits them together */
    struct request *held;  /* newest first */
    unsigned n_held;
    atomic_bool wants_writer; /* another thread ran a batch when this loop wanted to */
    pthread_mutex_t lock;
    struct incoming *incoming; /* accepted, not yet handed to the daemon; guarded by lock */
};

/* The loop whose thread this is; NULL on every other thread. */
static _Thread_local struct loop *this_loop;

/* Make sure the loop looks at its daemon again soon. Either the loop sees `pending` before it
 * sleeps, or this sees `asleep` and writes to the eventfd (both are sequentially consistent). */
static void loop_wake(struct loop *l)
{
    atomic_store(&l->pending, true);
    if (atomic_load(&l->asleep)) {
        uint64_t one = 1;
        ssize_t w = write(l->wake_fd, &one, sizeof(one));
        (void)w; /* fails only when the counter is full: it is readable anyway */
    }
}

void server_resume(struct request *req)
{
    struct loop *l = req->loop;
    MHD_resume_connection(req->conn); /* req may be gone from here on */
    if (l == this_loop)
        l->resumed_here = true;
    else
        loop_wake(l);
}

/* Hand the loop's new connections to its daemon (loop thread). */
static void loop_take_incoming(struct loop *l)
{
    pthread_mutex_lock(&l->lock);
    struct incoming *list = l->incoming;
    l->incoming = NULL;
    pthread_mutex_unlock(&l->lock);
    for (struct incoming *next; list; list = next) {
        next = list->next;
        if (MHD_add_connection(l->mhd, list->fd, (struct sockaddr *)&list->addr,
                               list->addr_len) != MHD_YES)
            atomic_fetch_sub(&l->srv->open_connections, 1); /* MHD closed the socket */
        free(list);
    }
}

/* Is anything new ready (a request, a wake-up)? Takes it in without waiting. */
static bool loop_more_ready(struct loop *l)
{
    struct epoll_event ev[4];
    int n = epoll_wait(l->epoll_fd, ev, 4, 0);
    bool wake = false;
    for (int i = 0; i < n; i++) {
        if (ev[i].data.ptr == &l->wake_fd) {
            uint64_t v;
            ssize_t r = read(l->wake_fd, &v, sizeof(v));
            (void)r;
            wake = true;
        }
    }
    if (wake) {
        atomic_store(&l->pending, false);
        loop_take_incoming(l);
    }
    return n > 0;
}

static void held_done(struct writer_job *job, void *arg);

/* The held deliveries as a list of writer jobs, oldest first; the held list itself is left as
 * it is (held_next and job.next are separate links). */
static struct writer_job *loop_held_jobs(struct loop *l)
{
    struct writer_job *jobs = NULL;
    for (struct request *req = l->held; req; req = req->held_next) {
        req->job.next = jobs;
        jobs = &req->job;
    }
    return jobs;
}

/* The writer is sealed: what the loop holds is not stored (answered 503, or closed unanswered
 * when the loop is ending). */
static void loop_drop_held(struct loop *l)
{
    struct writer_job *jobs = loop_held_jobs(l);
    l->held = NULL;
    l->n_held = 0;
    for (struct writer_job *j = jobs, *next; j; j = next) {
        next = j->next;
        j->rc = -ESHUTDOWN;
        held_done(j, j->arg);
    }
}

/* Commit the held deliveries here, unless another thread is running a batch: then they stay
 * held, the loop reads on, and it is woken when that batch is done (on_writer_idle). While a
 * delivery is held its connection is not suspended, so it must never be in a batch another
 * thread runs: its handler may be called, or its client may leave, meanwhile. */
static bool loop_try_commit(struct loop *l)
{
    struct writer_job *jobs = loop_held_jobs(l);
    atomic_store(&l->wants_writer, true);
    int r = writer_run_if_idle(l->srv->writer, jobs);
    if (r == 0)
        return false; /* still held */
    atomic_store(&l->wants_writer, false);
    if (r < 0)
        loop_drop_held(l); /* sealed: answered 503 */
    l->held = NULL;
    l->n_held = 0;
    return true;
}

/* A thread stopped running batches: wake the loops that wanted to. */
static void on_writer_idle(void *arg)
{
    server *s = arg;
    for (unsigned i = 0; i < s->n_loops; i++) {
        struct loop *l = &s->loops[i];
        if (l != this_loop && atomic_exchange(&l->wants_writer, false))
            loop_wake(l);
    }
}

static void *loop_main(void *arg)
{
    struct loop *l = arg;
    this_loop = l;
    struct epoll_event ev[4];
    while (!atomic_load(&l->stop)) {
        if (!l->resumed_here) {
            int timeout = -1;
            MHD_UNSIGNED_LONG_LONG mt;
            /* with deliveries held (waiting for the writer) libmicrohttpd asks for no wait, as
             * their connections wait for an answer; the writer's on_idle wakes the loop */
            if (!l->held && MHD_get_timeout(l->mhd, &mt) == MHD_YES)
                timeout = mt > 60000 ? 60000 : (int)mt;
            atomic_store(&l->asleep, true);
            if (atomic_load(&l->pending))
                timeout = 0;
            int n = epoll_wait(l->epoll_fd, ev, 4, timeout);
            atomic_store(&l->asleep, false);
            for (int i = 0; i < n; i++) {
                if (ev[i].data.ptr == &l->wake_fd) {
                    uint64_t v;
                    ssize_t r = read(l->wake_fd, &v, sizeof(v));
                    (void)r;
                }
            }
            atomic_store(&l->pending, false);
            loop_take_incoming(l);
        }
        l->resumed_here = false;
        unsigned before = l->n_held;
        MHD_run(l->mhd);
        if (l->held) {
            /* read on while passes bring more (up to a batch), then commit: the answers go
             * out on the next pass. When another thread is committing, wait for it (reading
             * what comes meanwhile) with the deliveries still held. */
            if ((l->n_held > before && l->n_held < HELD_MAX) || loop_try_commit(l)) {
                l->resumed_here = true;
            } else {
                /* another thread is committing: a batch takes tens of microseconds, less than
                 * going to sleep and being woken; yield the CPU meanwhile */
                int64_t until = timer_now_us() + 1000;
                while (timer_now_us() < until) {
                    sched_yield();
                    if ((l->n_held < HELD_MAX && loop_more_ready(l)) || loop_try_commit(l)) {
                        l->resumed_here = true;
                        break;
                    }
                }
            }
        }
    }
    loop_drop_held(l);
    return NULL;
}

/* ---- request lifecycle ---- */

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    server *s = cls;
    struct request *req = calloc(1, sizeof(*req));
    if (!req)
        return NULL;
    req->srv = s;
    req->conn = conn;
    req->loop = this_loop;
    req->start_us = timer_now_us();
    req->uri = strdup(uri ? uri : "");
    if (!req->uri) {
        free(req);
        return NULL;
    }
    const char *path_end = strchr(req->uri, '?');
    size_t plen = path_end ? (size_t)(path_end - req->uri) : strlen(req->uri);
    bool admin = plen >= sizeof(ADMIN_PREFIX) - 1 &&
                 memcmp(req->uri, ADMIN_PREFIX, sizeof(ADMIN_PREFIX) - 1) == 0 &&
                 (plen == sizeof(ADMIN_PREFIX) - 1 || req->uri[sizeof(ADMIN_PREFIX) - 1] == '/');
    req->kind = admin ? REQ_ADMIN : REQ_DELIVERY;
    pthread_mutex_lock(&s->inflight_lock);
    s->inflight++;
    pthread_mutex_unlock(&s->inflight_lock);
    return req;
}

static void finish_request(server *s, struct request *req);

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    server *s = cls;
    struct request *req = *req_cls;
    if (!req)
        return;
    *req_cls = NULL;
    if (req->held && req->state == RS_PARKED) {
        /* closed (a timeout, an error) while held: the delivery was read whole, so it is still
         * committed with its loop's batch, and finished then (held_done) */
        req->orphan = true;
        return;
    }
    finish_request(s, req);
}

/* The request is complete (answered, or its client gone): count, log and free it. Touches
 * nothing of its connection, which may be gone. */
static void finish_request(server *s, struct request *req)
{
    int64_t duration = timer_now_us() - req->start_us;
    /* every delivery the writer has taken is counted and logged, however its connection ended */
    if (req->kind == REQ_DELIVERY && req->state >= RS_READY) {
        if (req->job.rc == 0) {
            metrics_observe_delivery(s->metrics, req->slot, req->d->status, req->d->body_size,
                                     duration);
            if (req->ep && req->ep->signature)
                metrics_observe_signature(s->metrics, req->slot, (int)req->sig_status);
            if (req->d->schema_status)
                metrics_observe_schema(s->metrics, req->slot, req->d->schema_status,
                                       req->schema_failed);
            if (req->d->fault)
                metrics_observe_fault(s->metrics, req->slot, req->d->fault);
            if (s->opts.log_format != LOG_NONE)
                access_log(s, req, duration);
        } else {
            metrics_observe_store_error(s->metrics);
        }
    }
    if (req->kind == REQ_ADMIN)
        admin_request_done(s, req);
    else
        respond_request_done(s, req);
    buf_finish(&req->admin_body);
    if (req->read_resp)
        MHD_destroy_response(req->read_resp);
    delivery_destroy(req->d);
    free(req->uri);
    free(req);
    pthread_mutex_lock(&s->inflight_lock);
    s->inflight--;
    pthread_cond_broadcast(&s->inflight_cond);
    pthread_mutex_unlock(&s->inflight_lock);
}

static enum MHD_Result add_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                  size_t key_size, const char *value, size_t value_size)
{
    struct delivery *d = cls;
    return delivery_add_header(d, key, key_size, value ? value : "", value ? value_size : 0) == 0
               ? MHD_YES
               : MHD_NO;
}

/* Room for a peer's address as text, as a delivery keeps it. */
#define PEER_TEXT sizeof(((struct delivery *)NULL)->remote_addr)

static void format_peer(const struct sockaddr *sa, char *out, size_t size)
{
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (!sa) {
        snprintf(out, size, "unknown");
        return;
    }
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        port = ntohs(in->sin_port);
        snprintf(out, size, "%s:%u", host, port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        port = ntohs(in6->sin6_port);
        snprintf(out, size, "[%s]:%u", host, port);
    } else {
        snprintf(out, size, "unknown");
    }
}

int server_conn_fd(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    return ci ? ci->connect_fd : -1;
}

bool server_peer_gone(struct MHD_Connection *conn)
{
    int fd = server_conn_fd(conn);
    struct pollfd p = {.fd = fd, .events = POLLRDHUP};
    if (fd < 0)
        return true;
    if (poll(&p, 1, 0) <= 0)
        return false;
    return (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0;
}

static void job_done(struct writer_job *job, void *arg)
{
    (void)job;
    struct request *req = arg;
    req->state = RS_READY;
    struct loop *l = req->loop;
    MHD_resume_connection(req->conn); /* req may be gone from here on */
    if (l == this_loop)
        l->resumed_here = true;
    else
        l->wake_wanted = true; /* woken once for the whole batch, in batch_done */
}

/* A batch is done: wake each other loop that has committed requests, once. Batches run one at
 * a time, so wake_wanted needs no lock. */
static void batch_done(void *arg)
{
    server *s = arg;
    for (unsigned i = 0; i < s->n_loops; i++) {
        struct loop *l = &s->loops[i];
        if (l->wake_wanted) {
            l->wake_wanted = false;
            loop_wake(l);
        }
    }
}

enum MHD_Result server_park_job(server *s, struct request *req)
{
    req->job.done = job_done;
    req->job.arg = req;
    req->state = RS_PARKED;
    MHD_suspend_connection(req->conn);
    if (writer_submit(s->writer, &req->job) < 0) {
        /* shutting down: the job never ran; the request answers 503 */
        req->job.rc = -ESHUTDOWN;
        req->state = RS_READY;
        server_resume(req);
    }
    return MHD_YES;
}

/* Bytes of an oversized body the receiver reads (and drops) to answer 413 at its end; a
 * declared body larger than this is refused before it is read, a streamed one is cut off. */
static uint64_t drain_limit(const server *s)
{
    uint64_t four = (uint64_t)s->opts.max_body * 4;
    return four > DRAIN_MIN ? four : DRAIN_MIN;
}

/* RFC 9112 6.3: differing Content-Length values make the request's end unknowable (the way
 * requests are smuggled past proxies); such a request is refused, never guessed at. */
static bool conflicting_lengths(const struct delivery *d)
{
    const char *first = NULL, *n, *v;
    size_t first_len = 0, nl, vl;
    struct header_iter it;
    header_iter_init(&it, d->headers.data, d->headers.len);
    while (header_iter_next(&it, &n, &nl, &v, &vl)) {
        if (nl != 14 || strncasecmp(n, "Content-Length", 14) != 0)
            continue;
        if (!first) {
            first = v;
            first_len = vl;
        } else if (vl != first_len || memcmp(v, first, vl) != 0) {
            return true;
        }
    }
    return false;
}

/* Fill the delivery from the request line and headers (first call). */
static int capture_head(server *s, struct request *req, const char *method)
{
    struct delivery *d = delivery_create();
    if (!d)
        return -ENOMEM;
    req->d = d;
    d->received_us = wall_us();
    d->method = strdup(method);
    const char *q = strchr(req->uri, '?');
    d->path = q ? strndup(req->uri, (size_t)(q - req->uri)) : strdup(req->uri);
    if (q && !(d->query = strdup(q + 1)))
        return -ENOMEM;
    if (!d->method || !d->path)
        return -ENOMEM;
    if (MHD_get_connection_values_n(req->conn, MHD_HEADER_KIND, add_header, d) < 0)
        return -ENOMEM;
    if (conflicting_lengths(d))
        req->bad_request = "conflicting Content-Length headers";
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    if (ci && ci->socket_context) {
        memcpy(d->remote_addr, ci->socket_context, PEER_TEXT);
    } else {
        ci = MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        format_peer(ci ? ci->client_addr : NULL, d->remote_addr, PEER_TEXT);
    }
    const struct endpoint_config *ep = config_match(s->opts.config, d->path);
    req->ep = ep;
    if (ep) {
        if (!(d->endpoint = strdup(ep->name)))
            return -ENOMEM;
        req->slot = (size_t)(ep - s->opts.config->endpoints) + 1;
    }
    d->body.limit = s->opts.max_body;
    const char *cl = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
    int64_t v;
    if (cl && filter_parse_int(cl, 0, INT64_MAX, &v) == 0) {
        req->declared = (uint64_t)v;
        if (req->declared > drain_limit(s))
            req->too_large = true;
        else if (v > 0 && req->declared <= s->opts.max_body &&
                 buf_reserve(&d->body, (size_t)v) < 0)
            return -ENOMEM; /* one allocation for the whole body */
    }
    return 0;
}

/* The string or whole number at a JSON pointer, as a new string; NULL when absent. */
static char *key_at(json_t *doc, const char *pointer)
{
    json_t *v = doc ? jsonptr_get(doc, pointer) : NULL;
    char num[32];
    if (json_is_string(v))
        return strdup(json_string_value(v));
    if (json_is_integer(v)) {
        snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return strdup(num);
    }
    return NULL;
}

/* A header's value, or the string or number at a JSON pointer into the body ("/..."), as a
 * new string in *ret (left NULL when absent). */
static int key_from(const char *where, const struct delivery *d, json_t *doc, char **ret)
{
    *ret = NULL;
    if (where[0] != '/') {
        size_t n = 0;
        const char *v = delivery_header(d, where, &n);
        if (v && !(*ret = strndup(v, n)))
            return -ENOMEM;
        return 0;
    }
    if (doc && !(*ret = key_at(doc, where)) && json_is_string(jsonptr_get(doc, where)))
        return -ENOMEM;
    return 0;
}

/* The idempotency key the endpoint's config points at (it wins over the scheme's own). */
static int find_message_id(const struct endpoint_config *ep, struct delivery *d, json_t *doc)
{
    if (!ep || !ep->message_id)
        return 0;
    free(d->message_id);
    d->message_id = NULL;
    return key_from(ep->message_id, d, doc, &d->message_id);
}

/* What groups a delivery with the other attempts of its message: its message id, else the
 * endpoint's message_key, else a hash of its path and body. */
static int find_message_key(const struct endpoint_config *ep, struct delivery *d, json_t *doc)
{
    if (d->message_id)
        return (d->message_key = strdup(d->message_id)) ? 0 : -ENOMEM;
    if (ep && ep->message_key) {
        int r = key_from(ep->message_key, d, doc, &d->message_key);
        if (r < 0 || d->message_key)
            return r;
    }
    uint64_t h[2];
    hash_digest128(d->body.data, d->body.len, hash_fnv1a64(d->path, strlen(d->path)), h);
    static const char hex[] = "0123456789abcdef";
    char *key = malloc(5 + 32 + 1); /* "body:" and h in hex, as %016x%016x would write it */
    if (!key)
        return -ENOMEM;
    memcpy(key, "body:", 5);
    for (int i = 0; i < 32; i++)
        key[5 + i] = hex[(h[i / 16] >> (60 - 4 * (i % 16))) & 0xf];
    key[37] = '\0';
    d->message_key = key;
    return 0;
}

/* The body as JSON when something needs it (a schema, a key pointer, a script); NULL when it
 * is not JSON, truncated or empty. Integers beyond 64 bits are still JSON: read as numbers. */
static json_t *parse_body(const struct delivery *d)
{
    if (d->truncated || !d->body.len)
        return NULL;
    json_error_t je;
    json_t *doc = json_loadb(d->body.data, d->body.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    if (!doc && json_error_code(&je) == json_error_numeric_overflow)
        doc = json_loadb(d->body.data, d->body.len,
                         JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, NULL);
    return doc;
}

static bool needs_body(server *s, const struct request *req)
{
    const struct endpoint_config *ep = req->ep;
    if (ep && (ep->schemas || (ep->message_id && ep->message_id[0] == '/') ||
               (ep->message_key && ep->message_key[0] == '/')))
        return true;
    return atomic_load(&s->scripted[req->slot]);
}

/* The endpoint's signature verdict, stored with the delivery; a Twenty nonce seen before on
 * the endpoint is called a replay in the reason. With reject_invalid, anything but valid is
 * answered 401. */
static int verify_signature(server *s, struct request *req)
{
    struct delivery *d = req->d;
    const struct endpoint_config *ep = req->ep;
    if (!ep || !ep->signature)
        return 0;
    struct sig_request sr = {
        .method = d->method,
        .path = d->path,
        .headers = d->headers.data,
        .headers_len = d->headers.len,
        .body = d->body.data,
        .body_len = d->body.len,
        .body_truncated = d->truncated,
        .now_ms = d->received_us / 1000,
    };
    struct sig_verdict v;
    if (sig_verify(ep->signature, &sr, &v) < 0)
        return -ENOMEM;
    seen_set *nonces = s->nonces[req->slot];
    if (nonces && v.nonce[0] && seen_set_check_add(nonces, v.nonce, strlen(v.nonce))) {
        size_t n = strlen(v.reason);
        snprintf(v.reason + n, sizeof(v.reason) - n,
                 "%sreplay: nonce %s was seen before on this endpoint", n ? "; " : "", v.nonce);
    }
    if (!(d->sig_scheme = strdup(v.scheme)) || !(d->sig_status = strdup(sig_status_name(v.status))) ||
        !(d->sig_reason = strdup(v.reason)))
        return -ENOMEM;
    d->sig_secret_index = v.secret_index;
    if (v.message_id[0] && !d->message_id && !(d->message_id = strdup(v.message_id)))
        return -ENOMEM;
    req->sig_status = v.status;
    req->rejected = ep->reject_invalid && v.status != SIG_VALID;
    return 0;
}

schema_set *server_schemas_acquire(server *s, size_t slot)
{
    pthread_mutex_lock(&s->schemas_lock);
    schema_set *ss = schema_set_ref(s->schemas[slot]);
    pthread_mutex_unlock(&s->schemas_lock);
    return ss;
}

/* The delivery's event name and its schema verdict, for endpoints with "schemas". */
static int check_schema(server *s, struct request *req, json_t *doc)
{
    struct delivery *d = req->d;
    if (!req->ep || !req->ep->schemas) {
        /* no schemas: the event is still looked for (scripts match on it); NULL when none */
        d->event = doc ? schema_set_event(NULL, d, doc) : NULL;
        return 0;
    }
    schema_set *ss = server_schemas_acquire(s, req->slot);
    d->event = schema_set_event(ss, d, doc);
    const char *name = NULL;
    const jsonschema *js = schema_set_find(ss, d->event, &name);
    const char *status;
    bool failed = true;
    int r = 0;
    if (!doc) {
        status = "not_json";
    } else if (!js) {
        status = "no_schema";
        failed = schema_set_required(ss);
    } else {
        struct jsonschema_errors errs;
        jsonschema_errors_init(&errs, 0);
        int v = jsonschema_validate(js, doc, &errs);
        json_t *list = NULL;
        if (v < 0) {
            /* undecidable (a pattern hit its match limit): reported as an invalid payload */
            list = json_pack("[{s:s, s:s, s:s}]", "pointer", "", "keyword", "error", "message",
                             errs.err.msg);
            status = "invalid";
        } else {
            list = jsonschema_errors_to_json(&errs);
            status = v == 0 ? "valid" : "invalid";
            failed = v != 0;
        }
        char *text = list ? json_dumps(list, JSON_COMPACT) : NULL;
        json_decref(list);
        jsonschema_errors_finish(&errs);
        if (!text)
            r = -ENOMEM;
        d->schema_errors = text;
    }
    if (r == 0 &&
        (!(d->schema_status = strdup(status)) || (name && !(d->schema_name = strdup(name)))))
        r = -ENOMEM;
    req->schema_failed = failed;
    schema_set_unref(ss);
    return r;
}

/* A held delivery's batch is committed, on its own loop's thread (loop_try_commit): the
 * handler answers it on the next pass. */
static void held_done(struct writer_job *job, void *arg)
{
    (void)job;
    struct request *req = arg;
    req->state = RS_READY;
    if (req->orphan)
        finish_request(req->srv, req); /* its connection is gone: nobody to answer */
}

/* A delivery read to its end on a loop is held, not suspended (see "HTTP loops"): no connection
 * is taken out of the loop's epoll set and put back for each delivery. */
static enum MHD_Result park_held(struct request *req)
{
    req->job.done = held_done;
    req->job.arg = req;
    req->state = RS_PARKED;
    req->held = true;
    struct loop *l = this_loop;
    req->held_next = l->held;
    l->held = req;
    l->n_held++;
    return MHD_YES;
}

/* Hand the capture to the writer and park the connection until it is committed. `final`: the
 * whole request has been read (libmicrohttpd's last call for it). */
static enum MHD_Result park(server *s, struct request *req, bool final)
{
    struct delivery *d = req->d;
    if (req->bad_request) {
        d->status = MHD_HTTP_BAD_REQUEST;
    } else if (req->too_large) {
        d->truncated = true;
        d->status = MHD_HTTP_CONTENT_TOO_LARGE;
        if (req->declared > d->body_size)
            d->body_size = req->declared;
        if (req->cut_off)
            d->status = 0; /* no answer: the connection was closed */
    } else {
        d->status = MHD_HTTP_OK;
        d->body_size = d->body.len;
    }
    json_t *doc = needs_body(s, req) ? parse_body(d) : NULL;
    int r = verify_signature(s, req);
    if (r == 0)
        r = find_message_id(req->ep, d, doc);
    if (r == 0)
        r = check_schema(s, req, doc);
    if (r == 0)
        r = find_message_key(req->ep, d, doc);
    if (r == 0 && req->rejected && d->status == MHD_HTTP_OK)
        d->status = MHD_HTTP_UNAUTHORIZED;
    if (r == 0)
        r = respond_plan(s, req, doc);
    json_decref(doc);
    if (r < 0)
        return MHD_NO;
    req->parked_us = timer_now_us();
    req->job.kind = WRITER_INSERT;
    req->job.delivery = d;
    if (final && this_loop)
        return park_held(req);
    return server_park_job(s, req);
}

size_t server_default_body(char *out, unsigned status, int64_t id)
{
    /* by hand: this is on every delivery's path, and snprintf costs more than the rest */
    static const char head_ok[] = "{\"ok\":true,\"id\":", head_no[] = "{\"ok\":false,\"id\":";
    bool ok = status >= 200 && status < 300;
    size_t n = ok ? sizeof(head_ok) - 1 : sizeof(head_no) - 1;
    memcpy(out, ok ? head_ok : head_no, n);
    if (id < 0) {
        out[n++] = '-';
    }
    uint64_t v = id < 0 ? 0 - (uint64_t)id : (uint64_t)id;
    char digits[20];
    size_t k = 0;
    do {
        digits[k++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (k)
        out[n++] = digits[--k];
    out[n++] = '}';
    out[n++] = '\n';
    return n;
}

/* A scripted body is sent as JSON when it is a JSON object, array or string. */
bool server_looks_like_json(const char *text, size_t len)
{
    size_t i = 0;
    while (i < len && (text[i] == ' ' || text[i] == '\n' || text[i] == '\r' || text[i] == '\t'))
        i++;
    return i < len && (text[i] == '{' || text[i] == '[' || text[i] == '"');
}

enum MHD_Result server_answer(server *s, struct request *req, unsigned status,
                              const struct script_rule *rule)
{
    struct delivery *d = req->d;
    req->state = RS_ANSWERED;
    if (req->job.rc < 0) {
        return server_respond_error(req->conn, req->job.rc == -ESHUTDOWN ? 503 : 500,
                                    "the delivery could not be stored (%s); it was not recorded",
                                    strerror(-req->job.rc));
    }
    char body[200];
    int n = 0;
    const char *text = body;
    size_t len;
    if (rule && rule->body) {
        text = rule->body;
        len = rule->body_len;
    } else {
        if (req->bad_request)
            n = snprintf(body, sizeof(body), "{\"ok\":false,\"id\":%lld,\"error\":\"%s\"}\n",
                         (long long)req->job.result, req->bad_request);
        else if (d->status == MHD_HTTP_UNAUTHORIZED && req->rejected)
            n = snprintf(body, sizeof(body),
                         "{\"ok\":false,\"id\":%lld,\"error\":\"signature %s\"}\n",
                         (long long)req->job.result, sig_status_name(req->sig_status));
        else if (req->too_large)
            n = snprintf(body, sizeof(body),
                         "{\"ok\":false,\"id\":%lld,\"error\":\"body larger than %zu bytes\"}\n",
                         (long long)req->job.result, s->opts.max_body);
        else
            n = (int)server_default_body(body, status, req->job.result);
        len = (size_t)n;
    }
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)(uintptr_t)text, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    bool typed = false;
    for (size_t i = 0; rule && i < rule->n_headers; i++) {
        MHD_add_response_header(resp, rule->headers[i].name, rule->headers[i].value);
        if (strcasecmp(rule->headers[i].name, "Content-Type") == 0)
            typed = true;
    }
    if (!typed)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                server_looks_like_json(text, len) ? "application/json"
                                                           : "text/plain; charset=utf-8");
    if (req->too_large || req->bad_request)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result r = MHD_queue_response(req->conn, status, resp);
    MHD_destroy_response(resp);
    return r;
}

/* One chunk of body. Over the limit, the first bytes are kept and the rest is dropped. */
static enum MHD_Result take_body(server *s, struct request *req, const char *data, size_t n)
{
    struct delivery *d = req->d;
    d->body_size += n;
    if (!req->too_large && d->body_size > s->opts.max_body) {
        req->too_large = true;
        size_t keep = s->opts.max_body < KEEP_PREFIX ? s->opts.max_body : KEEP_PREFIX;
        if (d->body.len > keep)
            d->body.len = keep;
    }
    if (!req->too_large)
        return buf_append(&d->body, data, n) == 0 ? MHD_YES : MHD_NO;
    size_t keep = s->opts.max_body < KEEP_PREFIX ? s->opts.max_body : KEEP_PREFIX;
    if (d->body.len < keep) {
        size_t take = keep - d->body.len < n ? keep - d->body.len : n;
        if (buf_append(&d->body, data, take) < 0)
            return MHD_NO;
    }
    if (d->body_size > drain_limit(s)) {
        /* too much to read through: record what came, then close without an answer */
        req->cut_off = true;
        return park(s, req, false);
    }
    return MHD_YES;
}

/* The access handler for a delivery, called by MHD for the headers, each chunk of body, the
 * end of the body, and again after each resume. MHD can only answer right after the headers
 * or after the whole body, which shapes the 413 handling. */
static enum MHD_Result handle_delivery(server *s, struct request *req, const char *method,
                                       const char *upload_data, size_t *upload_data_size)
{
    switch (req->state) {
    case RS_NEW:
        if (capture_head(s, req, method) < 0)
            return MHD_NO;
        if (req->declared > drain_limit(s) || req->bad_request)
            return park(s, req, false); /* answered right away; the body is never read */
        req->state = RS_BODY;
        return MHD_YES;
    case RS_BODY:
        if (*upload_data_size) {
            size_t n = *upload_data_size;
            *upload_data_size = 0;
            return take_body(s, req, upload_data, n);
        }
        return park(s, req, true);
    case RS_PARKED:
        /* suspended and called anyway, or held: nothing to do until it is committed */
        *upload_data_size = 0;
        return MHD_YES;
    case RS_READY:
        if (req->cut_off) {
            req->state = RS_ANSWERED;
            return MHD_NO; /* recorded; the connection is closed */
        }
        *upload_data_size = 0;
        return respond_act(s, req);
    case RS_ACTING:
        *upload_data_size = 0;
        return MHD_YES; /* a scripted delay, hang or dribble runs; its timer resumes us */
    case RS_ANSWERED:
        *upload_data_size = 0;
        return MHD_YES;
    }
    return MHD_NO;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **req_cls)
{
    server *s = cls;
    struct request *req = *req_cls;
    if (!req)
        return MHD_NO; /* out of memory in on_uri */
    if (req->kind == REQ_ADMIN)
        return admin_handle(s, req, method, upload_data, upload_data_size);
    return handle_delivery(s, req, method, upload_data, upload_data_size);
}

/* ---- start and stop ---- */

static int bind_listen(server *s, struct wh_error *err)
{
    const char *spec = s->opts.listen;
    char host[256];
    const char *colon = strrchr(spec, ':');
    if (!colon || colon == spec)
        return wh_error_set(err, -EINVAL, "--listen must be HOST:PORT, not '%s'", spec);
    size_t hl = (size_t)(colon - spec);
    const char *h = spec;
    if (spec[0] == '[' && hl >= 2 && spec[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    if (hl >= sizeof(host))
        return wh_error_set(err, -EINVAL, "--listen host is too long");
    memcpy(host, h, hl);
    host[hl] = '\0';
    int64_t port;
    if (filter_parse_int(colon + 1, 0, 65535, &port) < 0)
        return wh_error_set(err, -EINVAL, "--listen port must be 0 to 65535, not '%s'", colon + 1);

    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    char portstr[8];
    snprintf(portstr, sizeof(portstr), "%d", (int)port);
    int gr = getaddrinfo(hl ? host : NULL, portstr, &hints, &ai);
    if (gr != 0)
        return wh_error_set(err, -EINVAL, "--listen: cannot resolve host '%s': %s", host,
                            gai_strerror(gr));
    int fd = -1, saved = 0;
    for (struct addrinfo *a = ai; a; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            saved = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, LISTEN_BACKLOG) == 0)
            break;
        saved = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    if (fd < 0)
        return wh_error_set(err, -saved, "cannot listen on %s: %s", spec, strerror(saved));
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    format_peer((struct sockaddr *)&ss, s->address, sizeof(s->address));
    s->listen_fd = fd;
    return 0;
}

/* libmicrohttpd's own messages (a client that hung up mid-request, a header too large): part
 * of the log, silent with --quiet. */
static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    server *s = cls;
    if (s->opts.log_format == LOG_NONE)
        return;
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    /* our handler closes connections on purpose (scripted faults); the access log says so */
    if (strncmp(msg, "Application reported internal error", 35) == 0)
        return;
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    struct buf line;
    buf_init(&line, 0);
    if (s->opts.log_format == LOG_JSON) {
        json_t *o = json_pack("{ss so}", "level", "http", "message", encode_json_string(msg, n));
        char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
        if (t)
            buf_printf(&line, "%s\n", t);
        free(t);
        json_decref(o);
    } else {
        buf_printf(&line, "http: %s\n", msg);
    }
    if (line.data) {
        ssize_t w = write(STDERR_FILENO, line.data, line.len);
        (void)w;
    }
    buf_finish(&line);
}

/* Our own accept loop deals connections to the HTTP loops in turn: an even spread, where
 * letting every loop accept on the shared socket can leave one with all of a client's
 * connections. */
static void *acceptor_main(void *arg)
{
    server *s = arg;
    while (atomic_load(&s->accepting)) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int fd = accept4(s->listen_fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (!atomic_load(&s->accepting))
                break;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                /* out of descriptors: wait for connections to close rather than spin */
                struct pollfd p = {.fd = s->listen_fd, .events = 0};
                poll(&p, 1, 100);
            }
            continue;
        }
        /* --max-connections is enforced here, over all loops (each daemon's own limit is set
         * out of reach, see server_start). Beyond it, a new connection is closed at once. */
        struct incoming *in = malloc(sizeof(*in));
        if (!in || atomic_load(&s->open_connections) >= s->connection_limit) {
            free(in);
            close(fd);
            continue;
        }
        atomic_fetch_add(&s->open_connections, 1);
        in->fd = fd;
        memcpy(&in->addr, &ss, sizeof(ss));
        in->addr_len = sl;
        struct loop *l = &s->loops[s->next_loop++ % s->n_loops];
        pthread_mutex_lock(&l->lock);
        in->next = l->incoming;
        l->incoming = in;
        pthread_mutex_unlock(&l->lock);
        loop_wake(l);
    }
    return NULL;
}

/* Counts connections down as they close (they were counted up by the acceptor). */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_ctx,
                          enum MHD_ConnectionNotificationCode toe)
{
    server *s = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        /* the peer's address, formatted once for every request of the connection */
        char *peer = malloc(PEER_TEXT);
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        if (peer)
            format_peer(ci ? ci->client_addr : NULL, peer, PEER_TEXT);
        *socket_ctx = peer;
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        free(*socket_ctx);
        *socket_ctx = NULL;
        atomic_fetch_sub(&s->open_connections, 1);
    }
}

/* Start one HTTP loop: its daemon, its descriptors and its thread. */
static int loop_start(server *s, struct loop *l, struct wh_error *err)
{
    l->srv = s;
    /* external mode: the loop's thread drives the daemon. epoll, because poll() is only
     * offered with libmicrohttpd's own threads and select() cannot take descriptors past
     * FD_SETSIZE (a flood of idle connections gets there). */
    unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TURBO |
                     MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ERROR_LOG;
    /* out of reach: --max-connections is counted over all loops by the acceptor */
    unsigned mhd_limit = s->connection_limit + 64;
    unsigned timeout = s->opts.connection_timeout_s ? s->opts.connection_timeout_s
                                                    : DEFAULT_CONNECTION_TIMEOUT_S;
    l->mhd = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
        MHD_OPTION_CONNECTION_LIMIT, mhd_limit, MHD_OPTION_CONNECTION_TIMEOUT, timeout,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, s, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, s, MHD_OPTION_END);
    if (!l->mhd)
        return wh_error_set(err, -EIO, "cannot start the HTTP server on %s", s->address);
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(l->mhd, MHD_DAEMON_INFO_EPOLL_FD);
    if (!di || di->epoll_fd < 0)
        return wh_error_set(err, -EIO, "libmicrohttpd has no epoll descriptor");
    if ((l->epoll_fd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
        (l->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
        return wh_error_set(err, -errno, "cannot set up an HTTP loop: %s", strerror(errno));
    struct epoll_event mev = {.events = EPOLLIN, .data.ptr = l->mhd};
    struct epoll_event wev = {.events = EPOLLIN, .data.ptr = &l->wake_fd};
    if (epoll_ctl(l->epoll_fd, EPOLL_CTL_ADD, di->epoll_fd, &mev) < 0 ||
        epoll_ctl(l->epoll_fd, EPOLL_CTL_ADD, l->wake_fd, &wev) < 0)
        return wh_error_set(err, -errno, "cannot set up an HTTP loop: %s", strerror(errno));
    int r = pthread_create(&l->thread, NULL, loop_main, l);
    if (r != 0)
        return wh_error_set(err, -r, "cannot start an HTTP thread");
    return 0;
}

static unsigned default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    return n > 4 ? 4 : (unsigned)n;
}

int server_start(const struct server_options *opts, server **ret, struct wh_error *err)
{
    server *s = calloc(1, sizeof(*s));
    if (!s)
        return wh_error_set(err, -ENOMEM, "out of memory");
    s->opts = *opts;
    s->listen_fd = -1;
    pthread_mutex_init(&s->pool_lock, NULL);
    pthread_cond_init(&s->pool_cond, NULL);
    pthread_mutex_init(&s->wait_lock, NULL);
    pthread_mutex_init(&s->inflight_lock, NULL);
    pthread_cond_init(&s->inflight_cond, NULL);
    pthread_mutex_init(&s->act_lock, NULL);
    unsigned threads = opts->threads ? opts->threads : default_threads();
    s->pool_max = threads + READER_THREADS + 2;
    int r = 0;
    if (!(s->pool_free = calloc(s->pool_max, sizeof(*s->pool_free)))) {
        r = wh_error_set(err, -ENOMEM, "out of memory");
        goto fail;
    }
    if (opts->admin_token) {
        unsigned int dl = 0;
        EVP_Digest(opts->admin_token, strlen(opts->admin_token), s->token_digest, &dl,
                   EVP_sha256(), NULL);
    }
    if (strcmp(opts->db_path, ":memory:") == 0)
        store_memory_uri(s->db_uri, sizeof(s->db_uri));
    else
        snprintf(s->db_uri, sizeof(s->db_uri), "%s", opts->db_path);

    if (!(s->nonces = calloc(opts->config->n_endpoints + 1, sizeof(*s->nonces)))) {
        r = wh_error_set(err, -ENOMEM, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < opts->config->n_endpoints; i++) {
        const struct sig_config *sc = opts->config->endpoints[i].signature;
        if (sc && strcmp(sig_config_scheme(sc), "twenty") == 0 &&
            (r = seen_set_create(NONCES_KEPT, &s->nonces[i + 1], err)) < 0)
            goto fail;
    }
    pthread_mutex_init(&s->schemas_lock, NULL);
    if (!(s->schemas = calloc(opts->config->n_endpoints + 1, sizeof(*s->schemas)))) {
        r = wh_error_set(err, -ENOMEM, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < opts->config->n_endpoints; i++)
        s->schemas[i + 1] = schema_set_ref(opts->config->endpoints[i].schemas);
    size_t slots = opts->config->n_endpoints + 1;
    if (!(s->responders = calloc(slots, sizeof(*s->responders))) ||
        !(s->scripted = calloc(slots, sizeof(*s->scripted)))) {
        r = wh_error_set(err, -ENOMEM, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < slots; i++) {
        script *sc = i ? opts->config->endpoints[i - 1].responses : opts->respond;
        if ((r = script_state_create(sc, MESSAGES_KEPT, &s->responders[i], err)) < 0)
            goto fail;
        atomic_store(&s->scripted[i], sc != NULL);
    }
    if ((r = metrics_create(opts->config, &s->metrics, err)) < 0 ||
        (r = timers_create(&s->timers, err)) < 0 ||
        (r = writer_create(s->db_uri, opts->sync_full ? STORE_SYNC_FULL : 0, admin_on_commit, s,
                           &s->writer, err)) < 0)
        goto fail;
    s->committed_last = writer_last_id(s->writer);
    writer_on_batch_done(s->writer, batch_done);
    writer_on_idle(s->writer, on_writer_idle);
    if ((r = web_create(s, &s->web, err)) < 0 ||
        (r = readers_create(READER_THREADS, &s->readers, err)) < 0)
        goto fail;
    if ((r = bind_listen(s, err)) < 0)
        goto fail;

    unsigned limit = opts->connection_limit ? opts->connection_limit : DEFAULT_CONNECTION_LIMIT;
    s->connection_limit = limit;
    if (!(s->loops = calloc(threads, sizeof(*s->loops)))) {
        r = wh_error_set(err, -ENOMEM, "out of memory");
        goto fail;
    }
    s->n_loops = threads;
    for (unsigned i = 0; i < threads; i++) {
        s->loops[i].epoll_fd = s->loops[i].wake_fd = -1;
        pthread_mutex_init(&s->loops[i].lock, NULL);
    }
    for (unsigned i = 0; i < threads; i++) {
        if ((r = loop_start(s, &s->loops[i], err)) < 0)
            goto fail;
        s->loops_running++;
    }
    atomic_store(&s->accepting, true);
    if ((r = pthread_create(&s->acceptor, NULL, acceptor_main, s)) != 0) {
        r = wh_error_set(err, -r, "cannot start the accept thread");
        goto fail;
    }
    s->acceptor_running = true;
    *ret = s;
    return 0;
fail:
    server_stop(s);
    return r;
}

int server_reload_schemas(server *s, size_t *ret_loaded, struct wh_error *err)
{
    size_t loaded = 0;
    int first = 0;
    for (size_t i = 1; i <= s->opts.config->n_endpoints; i++) {
        schema_set *old = server_schemas_acquire(s, i);
        if (!old)
            continue;
        schema_set *fresh = NULL;
        struct wh_error e = {0};
        int r = schema_set_reload(old, &fresh, &e);
        if (r < 0) {
            /* keep the old set; report the first failure */
            if (first == 0)
                first = wh_error_set(err, r, "endpoint %s: %s (its old schemas stay in use)",
                                     s->opts.config->endpoints[i - 1].name, e.msg);
        } else {
            pthread_mutex_lock(&s->schemas_lock);
            schema_set *prev = s->schemas[i];
            s->schemas[i] = fresh;
            pthread_mutex_unlock(&s->schemas_lock);
            schema_set_unref(prev);
            loaded += schema_set_count(fresh);
        }
        schema_set_unref(old);
    }
    if (ret_loaded)
        *ret_loaded = loaded;
    return first;
}

const char *server_address(const server *s)
{
    return s->address;
}

void server_stop(server *s)
{
    if (!s)
        return;
    if (s->acceptor_running) {
        /* stop accepting: shutdown() wakes the blocked accept() */
        atomic_store(&s->accepting, false);
        shutdown(s->listen_fd, SHUT_RDWR);
        pthread_join(s->acceptor, NULL);
        s->acceptor_running = false;
    }
    if (s->listen_fd >= 0) {
        close(s->listen_fd);
        s->listen_fd = -1;
    }
    if (s->loops_running) {
        admin_wake_all(s);
        respond_stop_all(s); /* scripted waits end now: delays answer, hangs close */
        /* let requests in flight finish, for at most 2 s */
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 2;
        pthread_mutex_lock(&s->inflight_lock);
        while (s->inflight > 0 &&
               pthread_cond_timedwait(&s->inflight_cond, &s->inflight_lock, &until) == 0)
            ;
        pthread_mutex_unlock(&s->inflight_lock);
        admin_wake_all(s);
        respond_stop_all(s);
        /* nothing parked in the writer or a reader may be resumed after the daemon is gone */
        writer_seal(s->writer);
        writer_flush(s->writer);
        if (s->readers) {
            readers_seal(s->readers);
            readers_flush(s->readers);
        }
        for (unsigned i = 0; i < s->loops_running; i++) {
            atomic_store(&s->loops[i].stop, true);
            loop_wake(&s->loops[i]);
            pthread_join(s->loops[i].thread, NULL);
        }
        /* connections accepted but never handed over are closed unread */
        for (unsigned i = 0; i < s->loops_running; i++) {
            for (struct incoming *in = s->loops[i].incoming, *next; in; in = next) {
                next = in->next;
                close(in->fd);
                free(in);
            }
            s->loops[i].incoming = NULL;
        }
        s->loops_running = 0;
    }
    for (unsigned i = 0; s->loops && i < s->n_loops; i++) {
        struct loop *l = &s->loops[i];
        if (l->mhd)
            MHD_stop_daemon(l->mhd);
        if (l->epoll_fd >= 0)
            close(l->epoll_fd);
        if (l->wake_fd >= 0)
            close(l->wake_fd);
        pthread_mutex_destroy(&l->lock);
    }
    free(s->loops);
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    writer_destroy(s->writer);
    readers_destroy(s->readers);
    web_destroy(s->web);
    timers_destroy(s->timers);
    metrics_destroy(s->metrics);
    for (size_t i = 0; s->nonces && i <= s->opts.config->n_endpoints; i++)
        seen_set_destroy(s->nonces[i]);
    free(s->nonces);
    for (size_t i = 0; s->schemas && i <= s->opts.config->n_endpoints; i++)
        schema_set_unref(s->schemas[i]);
    free(s->schemas);
    pthread_mutex_destroy(&s->schemas_lock);
    for (size_t i = 0; s->responders && i <= s->opts.config->n_endpoints; i++)
        script_state_destroy(s->responders[i]);
    free(s->responders);
    free(s->scripted);
    pthread_mutex_destroy(&s->act_lock);
    for (size_t i = 0; i < s->pool_n_free; i++)
        store_close(s->pool_free[i]);
    free(s->pool_free);
    pthread_mutex_destroy(&s->pool_lock);
    pthread_cond_destroy(&s->pool_cond);
    pthread_mutex_destroy(&s->wait_lock);
    pthread_mutex_destroy(&s->inflight_lock);
    pthread_cond_destroy(&s->inflight_cond);
    free(s);
}
