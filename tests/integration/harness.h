/* harness: what every integration test shares.
 *
 * It runs the real `webhooky` binary (path in $WEBHOOKY_BIN, set by meson) on 127.0.0.1 with an
 * ephemeral port, talks to it with libcurl and raw sockets, runs CLI commands and keeps temp
 * directories under /tmp. It is not a client library for webhooky: it knows only the wire
 * format the tests assert on.
 *
 * Errors: a harness function that cannot do its job (spawn, connect, parse) fails the current
 * Check test with a message naming what went wrong; callers never check a return code for
 * that. Functions return values the test asserts on (statuses, exit codes, JSON).
 *
 * Ownership: strings and buffers returned through `ret` structs are owned by the struct and
 * freed by its *_free/finish function; json_t results are new references; every string
 * argument is borrowed for the duration of the call. */
#ifndef WEBHOOKY_IT_HARNESS_H
#define WEBHOOKY_IT_HARNESS_H

#include <check.h>
#include <curl/curl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Exit status encoding used by wh_server_stop and wh_run: >= 0 is the exit code, -N means
 * killed by signal N, WH_TIMED_OUT means it did not end in time (it was then SIGKILLed). */
#define WH_TIMED_OUT (-1000)

/* ---- time ---- */

/* Milliseconds / microseconds on CLOCK_MONOTONIC. */
int64_t wh_now_ms(void);
int64_t wh_now_us(void);
/* Sleep ms milliseconds. Only for pacing a client (e.g. one byte per 100 ms), never to wait
 * for the server to reach a state. */
void wh_sleep_ms(int ms);

/* ---- temp dirs and files ---- */

/* A new directory under this run's /tmp/webhooky-it-XXXXXX (malloc'd path). wh_tmpdir_remove
 * removes it; whatever a failed test leaves is removed when the suite ends. */
char *wh_tmpdir(void);
/* Remove dir recursively and free the path. NULL-safe. */
void wh_tmpdir_remove(char *dir);
/* "dir/name", malloc'd. */
char *wh_path(const char *dir, const char *name);
/* Write text to path (created or truncated). */
void wh_write_file(const char *path, const char *text);

/* ---- the server ---- */

struct wh_server {
    pid_t pid;           /* 0 when not running */
    int port;            /* the ephemeral port it printed */
    char url[64];        /* "http://127.0.0.1:PORT" */
    char db[4096];       /* the --db path */
    char err_path[4096]; /* the server's stderr goes to this file */
    int out_fd;          /* read end of its stdout pipe, after the first line */
    const char *auth;    /* header the JSON helpers send ("Authorization: Bearer X") or NULL */
};

/* Start `webhooky serve --listen 127.0.0.1:0 --db DB ARGS...` and wait (at most 10 s, with
 * poll) for its first stdout line "listening on http://127.0.0.1:PORT". args and env are
 * NULL-terminated lists and may be NULL; env entries "NAME=VALUE" are added to (or replace in)
 * the inherited environment, a bare "NAME" removes it. The server's stderr is written to a
 * file in dir. Fails the test if it does not start. */
void wh_server_start(struct wh_server *s, const char *dir, const char *db, const char *const *args,
                     const char *const *env);
/* Send sig and wait at most timeout_ms for the process to end (then SIGKILL). Returns the
 * exit status (see WH_TIMED_OUT); ret_elapsed_ms (may be NULL) gets the time from the signal
 * to the end. */
int wh_server_stop(struct wh_server *s, int sig, int timeout_ms, int64_t *ret_elapsed_ms);
/* Stop with SIGTERM (10 s at most) and fail the test unless it exits 0; the message carries
 * the server's stderr (where the sanitizers report). */
void wh_server_finish(struct wh_server *s);
/* What the server wrote to stderr so far (malloc'd, NUL-terminated; caller frees). */
char *wh_server_stderr(const struct wh_server *s);

/* ---- HTTP through libcurl ---- */

struct wh_response {
    CURLcode rc; /* curl's result */
    long status; /* HTTP status, 0 when no response arrived */
    char *body;  /* NUL-terminated (the NUL is not counted in body_len) */
    size_t body_len;
    char *headers;        /* the raw response header block */
    int64_t elapsed_us;   /* wall time of the transfer (monotonic) */
    long new_connections; /* connections curl had to open for this transfer */
};

/* A new easy handle for keep-alive use with wh_request (curl_easy_cleanup it). */
CURL *wh_curl(void);
/* Send METHOD s->url+path with the NULL-terminated "Name: value" headers (may be NULL). body
 * NULL sends no body; otherwise body_len bytes (0 allowed) with Content-Length. h may be NULL
 * for a one-off handle, or a handle from wh_curl() to reuse its connection. curl's own
 * "Expect: 100-continue" is suppressed. A transport error is reported in ret->rc, not failed. */
void wh_request(CURL *h, const struct wh_server *s, const char *method, const char *path,
                const char *const *headers, const void *body, size_t body_len,
                struct wh_response *ret);
/* The same with a whole-transfer timeout other than 60 s (curl then gives up the way a sender
 * with that timeout would: ret->rc CURLE_OPERATION_TIMEDOUT). */
void wh_request_timeout(CURL *h, const struct wh_server *s, const char *method, const char *path,
                        const char *const *headers, const void *body, size_t body_len,
                        long timeout_ms, struct wh_response *ret);
void wh_response_free(struct wh_response *r);
/* The value of the last response header called name (case-insensitive), malloc'd, or NULL. */
char *wh_header(const struct wh_response *r, const char *name);

/* GET s->url + the formatted path, expecting the status expect_status and a JSON body; the
 * parsed body is returned (new reference). Sends s->auth when set. */
json_t *wh_api(const struct wh_server *s, long expect_status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* POST a text body to path and expect 200 {"ok":true,"id":N}; returns N. */
int64_t wh_post(const struct wh_server *s, const char *path, const char *body);
/* GET /_webhooky/api/deliveries/ID, expecting 200. */
json_t *wh_delivery(const struct wh_server *s, int64_t id);
/* The last_id the list API reports. */
int64_t wh_last_id(const struct wh_server *s);
/* Every delivery with id > since_id, oldest first, paged through the API (limit=1000). */
json_t *wh_all_deliveries(const struct wh_server *s, int64_t since_id);
/* The captured body of a delivery object: "body" or the decoded "body_base64" (malloc'd, with a
 * NUL after the last byte; *ret_len gets the length). */
unsigned char *wh_delivery_body(const json_t *delivery, size_t *ret_len);
/* A header pair's value from a delivery's "headers" list: the n-th (0-based) pair called name
 * (case-insensitive), borrowed from the JSON, or NULL. */
const char *wh_delivery_header(const json_t *delivery, const char *name, size_t n);

/* ---- encodings ---- */

/* Standard base64 with padding (malloc'd, NUL-terminated). */
char *wh_base64(const void *data, size_t len);
/* Decode standard base64 (malloc'd, NUL after the data); fails the test on bad input. */
unsigned char *wh_unbase64(const char *text, size_t *ret_len);

/* ---- raw sockets ---- */

/* A blocking TCP connection to 127.0.0.1:port (close-on-exec). Fails the test on error. */
int wh_connect(int port);
/* Send all of data (MSG_NOSIGNAL); returns false when the peer is gone. */
bool wh_send_all(int fd, const void *data, size_t len);
/* recv with a poll timeout: > 0 bytes, 0 for an orderly close, -1 for an error (errno set,
 * e.g. ECONNRESET), -2 when nothing arrived within timeout_ms. */
ssize_t wh_recv_timeout(int fd, void *buf, size_t len, int timeout_ms);

/* ---- CLI runs ---- */

struct wh_run {
    int status; /* as WH_TIMED_OUT above */
    char *out;  /* stdout, NUL-terminated */
    size_t out_len;
    char *err; /* stderr, NUL-terminated */
    size_t err_len;
};

/* Run `webhooky ARGS...` (NULL-terminated) with env additions as in wh_server_start, stdin from
 * /dev/null, for at most timeout_ms; collect its output and exit status. */
void wh_run(struct wh_run *ret, const char *const *env, int timeout_ms, const char *arg, ...)
    __attribute__((sentinel));
/* The same with the arguments as a NULL-terminated list (may be empty). */
void wh_runv(struct wh_run *ret, const char *const *env, int timeout_ms, const char *const *args);
void wh_run_free(struct wh_run *r);

/* ---- Check glue ---- */

/* A test case with this timeout (scaled by CK_TIMEOUT_MULTIPLIER like every Check timeout). */
TCase *wh_tcase(const char *name, double timeout_s);
/* Initialise libcurl, run the suite, print the results; returns the exit code for main. */
int wh_run_suite(Suite *suite);

#endif
