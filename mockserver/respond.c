/* respond: acting out an endpoint's scripted response.
 *
 * Before a delivery is stored, respond_plan asks the endpoint's script_state which rule
 * answers it and writes the plan into the delivery (status, fault, rule, delay, attempt), so
 * the row records what the sender is about to get. After the commit, respond_act carries the
 * plan out: a delay, a hang and a dribble park the connection again and are driven by the
 * timer thread (no thread waits per request); reset, close, partial and malformed write to or
 * close the socket directly. While a connection is parked libmicrohttpd leaves its socket
 * alone, so the timer thread may write a dribble's bytes to it.
 *
 * A delivery whose answer did not go out right after its commit (a delay, a hang) gets a
 * second, small write afterwards: the delay actually applied and when it was answered. */
#include "server_priv.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* How often a delay or a hang looks whether the client has given up. */
#define HANG_CHECK_US (200 * 1000)
/* A dribble sends a piece at most this often. */
#define DRIBBLE_MIN_STEP_US (50 * 1000)

static int64_t wall_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int respond_plan(server *s, struct request *req, json_t *doc)
{
    struct delivery *d = req->d;
    struct script_input in = {
        .d = d,
        .event = d->event,
        .body = doc,
        .message_key = d->message_key ? d->message_key : "",
    };
    struct script_choice *c = &req->choice;
    int r = script_state_choose(s->responders[req->slot], &in, d->received_us, c);
    if (r < 0)
        return r;
    d->attempt = c->attempt;
    d->since_previous_us = c->since_previous_us;
    /* a refusal (400, 401, 413) or a closed connection is not the script's to answer */
    if (!c->rule || d->status != 200) {
        d->respond_now = true;
        return 0;
    }
    const struct script_rule *rule = c->rule;
    d->rule = c->rule_index;
    d->delay_ms = c->delay_ms;
    if (rule->fault != FAULT_NONE && !(d->fault = strdup(script_fault_name(rule->fault))))
        return -ENOMEM;
    bool sends = rule->fault == FAULT_NONE || rule->fault == FAULT_DRIBBLE ||
                 rule->fault == FAULT_PARTIAL;
    d->status = sends ? rule->status : 0;
    d->respond_now = c->delay_ms == 0 && rule->fault != FAULT_HANG;
    return 0;
}

/* ---- recording what was done ---- */

static void set_response_done(struct writer_job *job, void *arg)
{
    free(job);
}

/* The answer (or the fault) went out now: for a delivery not answered right after its
 * commit, record the delay applied and the time. */
static void note_responded(server *s, struct request *req)
{
    struct delivery *d = req->d;
    if (d->respond_now || req->job.rc < 0)
        return;
    d->delay_ms = (timer_now_us() - req->parked_us) / 1000;
    d->responded_us = wall_now_us();
    struct writer_job *job = calloc(1, sizeof(*job));
    if (!job)
        return; /* the row keeps the planned delay */
    job->kind = WRITER_SET_RESPONSE;
    job->id = req->job.result;
    job->delay_ms = d->delay_ms;
    job->status = d->status;
    job->responded_us = d->responded_us;
    job->done = set_response_done;
    job->arg = NULL;
    if (writer_submit(s->writer, job) < 0)
        free(job);
}

/* ---- parking on the timer ---- */

static void unlink_act(server *s, struct request *req)
{
    if (!req->act_linked)
        return;
    if (req->act_prev)
        req->act_prev->act_next = req->act_next;
    else
        s->acting = req->act_next;
    if (req->act_next)
        req->act_next->act_prev = req->act_prev;
    req->act_prev = req->act_next = NULL;
    req->act_linked = false;
}

/* Park the connection until the timer fires `fire` at deadline. Called from the access
 * handler. False when the server is stopping (or out of memory): act now instead. */
static bool park_act(server *s, struct request *req, int64_t deadline,
                     void (*fire)(struct timer_entry *, void *))
{
    pthread_mutex_lock(&s->act_lock);
    if (s->acts_stopped) {
        pthread_mutex_unlock(&s->act_lock);
        return false;
    }
    req->state = RS_ACTING;
    MHD_suspend_connection(req->conn);
    if (timer_schedule(s->timers, &req->act_timer, deadline, fire, req) < 0) {
        /* still in the handler: undo the suspension, act at once */
        server_resume(req);
        req->state = RS_READY;
        pthread_mutex_unlock(&s->act_lock);
        return false;
    }
    req->act_next = s->acting;
    req->act_prev = NULL;
    if (s->acting)
        s->acting->act_prev = req;
    s->acting = req;
    req->act_linked = true;
    pthread_mutex_unlock(&s->act_lock);
    return true;
}

/* Hand the connection back to its HTTP thread (act_lock held by the caller; released here). */
static void wake_act(server *s, struct request *req)
{
    unlink_act(s, req);
    req->state = RS_READY;
    pthread_mutex_unlock(&s->act_lock);
    server_resume(req);
}

static int conn_fd(struct request *req)
{
    return server_conn_fd(req->conn);
}

/* Take act_lock for a timer callback; false (and no lock) when respond_stop_all has taken
 * the request already. */
static bool lock_linked(server *s, struct request *req)
{
    pthread_mutex_lock(&s->act_lock);
    if (req->act_linked)
        return true;
    pthread_mutex_unlock(&s->act_lock);
    return false;
}

/* A scripted delay or a hang: wait until its end, looking every HANG_CHECK_US whether the
 * client has given up. A client that leaves during a delay (a sender's timeout shorter than
 * the delay) is answered nothing, and the record says so (status none, the time held), so a
 * retry after it is not mistaken for one after an answer. A hang is recorded when it ends,
 * here: a connection the client closed may end without another call of the handler. */
static void wait_tick(struct timer_entry *e, void *arg)
{
    struct request *req = arg;
    server *s = req->srv;
    if (!lock_linked(s, req))
        return;
    bool hanging = req->act_start_us && req->choice.rule->fault == FAULT_HANG;
    int64_t now = timer_now_us();
    int64_t until = hanging ? req->act_start_us + req->choice.rule->hang_max_ms * 1000
                            : req->parked_us + req->choice.delay_ms * 1000;
    bool gone = server_peer_gone(req->conn);
    if (gone || (hanging && now >= until)) {
        if (!hanging) {
            req->client_gone = true;
            req->d->status = 0;
        }
        note_responded(s, req);
        req->d->respond_now = true; /* recorded */
        wake_act(s, req);
        return;
    }
    int64_t next = now + HANG_CHECK_US < until ? now + HANG_CHECK_US : until;
    if (now >= until || timer_schedule(s->timers, &req->act_timer, next, wait_tick, req) < 0) {
        wake_act(s, req);
        return;
    }
    pthread_mutex_unlock(&s->act_lock);
}

static void dribble_tick(struct timer_entry *e, void *arg)
{
    struct request *req = arg;
    server *s = req->srv;
    if (!lock_linked(s, req))
        return;
    size_t left = req->raw.len - req->raw_off;
    size_t n = left < req->raw_chunk ? left : req->raw_chunk;
    ssize_t w = send(conn_fd(req), req->raw.data + req->raw_off, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w > 0)
        req->raw_off += (size_t)w;
    else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        req->raw_off = req->raw.len; /* the client is gone: stop */
    if (req->raw_off >= req->raw.len ||
        timer_schedule(s->timers, &req->act_timer, timer_now_us() + req->raw_step_us,
                       dribble_tick, req) < 0) {
        wake_act(s, req);
        return;
    }
    pthread_mutex_unlock(&s->act_lock);
}

void respond_stop_all(server *s)
{
    pthread_mutex_lock(&s->act_lock);
    s->acts_stopped = true;
    struct request *list = s->acting;
    s->acting = NULL;
    for (struct request *r = list; r; r = r->act_next) {
        r->act_linked = false;
        r->act_stop = true;
    }
    pthread_mutex_unlock(&s->act_lock);
    for (struct request *r = list, *next; r; r = next) {
        next = r->act_next;
        r->act_prev = r->act_next = NULL;
        /* the callback sees it unlinked and does nothing; wait until it is not running */
        timer_cancel(s->timers, &r->act_timer);
        r->state = RS_READY;
        server_resume(r);
    }
}

void respond_request_done(server *s, struct request *req)
{
    if (req->act_timer.fire) {
        pthread_mutex_lock(&s->act_lock);
        unlink_act(s, req);
        pthread_mutex_unlock(&s->act_lock);
        timer_cancel(s->timers, &req->act_timer);
    }
    script_unref(req->choice.script);
    req->choice.script = NULL;
    buf_finish(&req->raw);
}

/* ---- the faults ---- */

/* The whole response as bytes, for the faults that write it themselves; returns the body's
 * length. An empty body is announced as 16 bytes when `promise` is set (for partial). */
static int build_raw(struct buf *out, struct request *req, const struct script_rule *rule,
                     bool promise)
{
    char deflt[SERVER_DEFAULT_BODY_MAX];
    const char *body = rule->body;
    size_t blen = rule->body_len;
    if (!body) {
        blen = server_default_body(deflt, (unsigned)rule->status, req->job.result);
        body = deflt;
    }
    const char *reason = MHD_get_reason_phrase_for((unsigned)rule->status);
    buf_printf(out, "HTTP/1.1 %d %s\r\n", rule->status, reason && *reason ? reason : "Unknown");
    bool typed = false;
    for (size_t i = 0; i < rule->n_headers; i++) {
        buf_printf(out, "%s: %s\r\n", rule->headers[i].name, rule->headers[i].value);
        if (strcasecmp(rule->headers[i].name, "Content-Type") == 0)
            typed = true;
    }
    if (!typed)
        buf_printf(out, "Content-Type: %s\r\n",
                   server_looks_like_json(body, blen) ? "application/json"
                                                      : "text/plain; charset=utf-8");
    buf_printf(out, "Content-Length: %zu\r\nConnection: close\r\n\r\n",
               promise && blen == 0 ? (size_t)16 : blen);
    if (buf_append(out, body, blen) < 0 || !out->data)
        return -ENOMEM;
    return (int)blen;
}

/* Write as much of p as the socket takes now (the rest of an act is best effort). */
static void send_now(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w <= 0) {
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                struct pollfd pf = {.fd = fd, .events = POLLOUT};
                if (poll(&pf, 1, 100) > 0)
                    continue;
            }
            return;
        }
        c += w;
        n -= (size_t)w;
    }
}

/* End the connection without a (complete) answer; libmicrohttpd closes the socket. */
static enum MHD_Result close_now(struct request *req, int fd, bool reset)
{
    req->state = RS_ANSWERED;
    if (fd >= 0) {
        if (reset) {
            /* close() with a zero linger time sends RST instead of FIN */
            struct linger l = {.l_onoff = 1, .l_linger = 0};
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
        } else {
            shutdown(fd, SHUT_WR);
        }
    }
    return MHD_NO;
}

static const char malformed_bytes[] = "WEBHOOKY/0 \x01\x02 this is not an HTTP response\r\n\r\n";

enum MHD_Result respond_act(server *s, struct request *req)
{
    struct delivery *d = req->d;
    const struct script_rule *rule = req->choice.rule;
    if (req->job.rc < 0 || !rule || d->rule < 0)
        return server_answer(s, req, (unsigned)d->status, NULL);
    if (!req->delay_done) {
        req->delay_done = true;
        int64_t deadline = req->parked_us + req->choice.delay_ms * 1000;
        int64_t now = timer_now_us();
        int64_t first = now + HANG_CHECK_US < deadline ? now + HANG_CHECK_US : deadline;
        if (req->choice.delay_ms > 0 && now < deadline && !req->act_stop &&
            park_act(s, req, first, wait_tick))
            return MHD_YES;
    }
    int fd = conn_fd(req);
    if (req->client_gone)
        return close_now(req, fd, false); /* recorded in wait_tick */
    switch (rule->fault) {
    case FAULT_NONE:
        note_responded(s, req);
        return server_answer(s, req, (unsigned)rule->status, rule);
    case FAULT_RESET:
        note_responded(s, req);
        return close_now(req, fd, true);
    case FAULT_CLOSE:
        note_responded(s, req);
        return close_now(req, fd, false);
    case FAULT_MALFORMED:
        note_responded(s, req);
        send_now(fd, malformed_bytes, sizeof(malformed_bytes) - 1);
        return close_now(req, fd, false);
    case FAULT_PARTIAL: {
        struct buf raw;
        buf_init(&raw, 0);
        int blen = build_raw(&raw, req, rule, true);
        if (blen < 0) {
            buf_finish(&raw);
            return MHD_NO;
        }
        note_responded(s, req);
        /* the headers promise the whole body; half of it comes */
        send_now(fd, raw.data, raw.len - (size_t)blen + (size_t)blen / 2);
        buf_finish(&raw);
        return close_now(req, fd, false);
    }
    case FAULT_HANG:
        if (!req->act_start_us && !req->act_stop) {
            req->act_start_us = timer_now_us();
            int64_t until = req->act_start_us + rule->hang_max_ms * 1000;
            int64_t first = req->act_start_us + HANG_CHECK_US;
            if (park_act(s, req, first < until ? first : until, wait_tick))
                return MHD_YES;
        }
        note_responded(s, req); /* how long it was held */
        return close_now(req, fd, false);
    case FAULT_DRIBBLE:
        if (!req->raw.len && !req->act_stop) {
            if (build_raw(&req->raw, req, rule, false) < 0)
                return MHD_NO;
            note_responded(s, req); /* the first byte goes out now */
            req->act_start_us = timer_now_us();
            int64_t total_us = rule->dribble_ms * 1000;
            size_t steps = (size_t)(total_us / DRIBBLE_MIN_STEP_US);
            if (steps < 1)
                steps = 1;
            if (steps > req->raw.len)
                steps = req->raw.len;
            req->raw_chunk = (req->raw.len + steps - 1) / steps;
            req->raw_step_us = steps > 1 ? total_us / (int64_t)(steps - 1) : total_us;
            if (park_act(s, req, req->act_start_us, dribble_tick))
                return MHD_YES;
        }
        return close_now(req, fd, false);
    }
    return MHD_NO;
}
