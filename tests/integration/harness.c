/* harness: process, HTTP, socket and temp-dir helpers for the integration tests (see harness.h).
 *
 * Children are started with fork/execve and PR_SET_PDEATHSIG, so a test that dies (or is killed
 * by its Check timeout) takes its servers with it; an atexit hook kills what is still running
 * in CK_FORK=no runs; temp dirs live under one root per run, removed when the suite ends. */
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* ---- time ---- */

int64_t wh_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t wh_now_ms(void)
{
    return wh_now_us() / 1000;
}

void wh_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* ---- cleanup registry (for tests that end early) ---- */

#define MAX_TRACKED 64
static pthread_mutex_t track_lock = PTHREAD_MUTEX_INITIALIZER;
static pid_t tracked_pids[MAX_TRACKED];
/* Every temp dir of this run lives under root; the process that runs the suite removes it at the
 * end, since Check ends a failed test's forked process with _exit (no atexit hooks). */
static char root[64];

static void track_pid(pid_t pid, bool add)
{
    pthread_mutex_lock(&track_lock);
    for (size_t i = 0; i < MAX_TRACKED; i++) {
        if (add && tracked_pids[i] == 0) {
            tracked_pids[i] = pid;
            break;
        }
        if (!add && tracked_pids[i] == pid) {
            tracked_pids[i] = 0;
            break;
        }
    }
    pthread_mutex_unlock(&track_lock);
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    remove(path);
    return 0;
}

static void remove_tree(const char *dir)
{
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void cleanup_at_exit(void)
{
    for (size_t i = 0; i < MAX_TRACKED; i++) {
        if (tracked_pids[i] > 0) {
            kill(tracked_pids[i], SIGKILL);
            waitpid(tracked_pids[i], NULL, 0);
            tracked_pids[i] = 0;
        }
    }
}

/* ---- small utilities ---- */

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    ck_assert_msg(p != NULL, "out of memory");
    return p;
}

static char *xstrdup(const char *s)
{
    char *p = strdup(s);
    ck_assert_msg(p != NULL, "out of memory");
    return p;
}

struct sink {
    char *data;
    size_t len, cap;
};

static void sink_append(struct sink *k, const void *p, size_t n)
{
    if (k->len + n + 1 > k->cap) {
        size_t cap = k->cap ? k->cap : 1024;
        while (cap < k->len + n + 1)
            cap *= 2;
        char *d = realloc(k->data, cap);
        ck_assert_msg(d != NULL, "out of memory");
        k->data = d;
        k->cap = cap;
    }
    if (n)
        memcpy(k->data + k->len, p, n);
    k->len += n;
    k->data[k->len] = '\0';
}

/* Take the collected bytes (never NULL). */
static char *sink_take(struct sink *k, size_t *ret_len)
{
    if (!k->data)
        sink_append(k, "", 0);
    *ret_len = k->len;
    char *d = k->data;
    k->data = NULL;
    k->len = k->cap = 0;
    return d;
}

static const char *binary(void)
{
    const char *b = getenv("WEBHOOKY_BIN");
    ck_assert_msg(b && *b, "WEBHOOKY_BIN is not set (run the tests through `meson test`)");
    return b;
}

/* ---- temp dirs ---- */

char *wh_tmpdir(void)
{
    char tmpl[128];
    snprintf(tmpl, sizeof(tmpl), "%s/XXXXXX", root[0] ? root : "/tmp/webhooky-it");
    ck_assert_msg(root[0] && mkdtemp(tmpl) != NULL, "mkdtemp %s: %s", tmpl, strerror(errno));
    return xstrdup(tmpl);
}

void wh_tmpdir_remove(char *dir)
{
    if (!dir)
        return;
    remove_tree(dir);
    free(dir);
}

char *wh_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = xmalloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

void wh_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "cannot write %s: %s", path, strerror(errno));
    size_t n = strlen(text);
    ck_assert_msg(fwrite(text, 1, n, f) == n, "cannot write %s", path);
    ck_assert_msg(fclose(f) == 0, "cannot write %s: %s", path, strerror(errno));
}

/* ---- processes ---- */

struct strv {
    char **v;
    size_t n, cap;
};

static void strv_push(struct strv *sv, const char *s)
{
    if (sv->n + 2 > sv->cap) {
        size_t cap = sv->cap ? sv->cap * 2 : 16;
        char **v = realloc(sv->v, cap * sizeof(*v));
        ck_assert_msg(v != NULL, "out of memory");
        sv->v = v;
        sv->cap = cap;
    }
    sv->v[sv->n++] = s ? xstrdup(s) : NULL;
    sv->v[sv->n] = NULL;
}

static void strv_free(struct strv *sv)
{
    for (size_t i = 0; i < sv->n; i++)
        free(sv->v[i]);
    free(sv->v);
    sv->v = NULL;
    sv->n = sv->cap = 0;
}

static size_t name_len(const char *entry)
{
    const char *eq = strchr(entry, '=');
    return eq ? (size_t)(eq - entry) : strlen(entry);
}

/* The inherited environment with the additions/removals in extra applied. */
static void build_env(struct strv *env, const char *const *extra)
{
    for (char **e = environ; *e; e++) {
        bool overridden = false;
        for (const char *const *x = extra; x && *x && !overridden; x++)
            overridden = name_len(*x) == name_len(*e) && strncmp(*x, *e, name_len(*e)) == 0;
        if (!overridden)
            strv_push(env, *e);
    }
    for (const char *const *x = extra; x && *x; x++)
        if (strchr(*x, '='))
            strv_push(env, *x);
}

/* fork + execve with the three standard descriptors given; everything else is closed. Between
 * fork and execve only async-signal-safe calls are made (the tests are multi-threaded). */
static pid_t spawn(char **argv, char **envp, int in_fd, int out_fd, int err_fd)
{
    long max_fd = sysconf(_SC_OPEN_MAX);
    if (max_fd < 0 || max_fd > 65536)
        max_fd = 65536;
    pid_t parent = getpid();
    pid_t pid = fork();
    ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
    if (pid > 0)
        return pid;

    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    struct sigaction dfl;
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGPIPE, &dfl, NULL);
    if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0)
        _exit(127);
#ifdef SYS_close_range
    if (syscall(SYS_close_range, 3U, ~0U, 0U) != 0)
#endif
        for (int fd = 3; fd < max_fd; fd++)
            close(fd);
    execve(argv[0], argv, envp);
    _exit(127);
}

/* Wait for pid at most timeout_ms; SIGKILL it after that. Status encoded as in harness.h. */
static int wait_exit(pid_t pid, int timeout_ms, int64_t *ret_elapsed_ms)
{
    int64_t start = wh_now_ms();
    int st = 0;
    int timed_out = 0;
    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            break;
        ck_assert_msg(r == 0 || errno == EINTR, "waitpid: %s", strerror(errno));
        if (wh_now_ms() - start >= timeout_ms) {
            timed_out = 1;
            kill(pid, SIGKILL);
            while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
                ;
            break;
        }
        wh_sleep_ms(2);
    }
    if (ret_elapsed_ms)
        *ret_elapsed_ms = wh_now_ms() - start;
    if (timed_out)
        return WH_TIMED_OUT;
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    return WIFSIGNALED(st) ? -WTERMSIG(st) : -999;
}

static char *read_file(const char *path)
{
    struct sink k = {0};
    FILE *f = fopen(path, "rb");
    if (f) {
        char chunk[4096];
        size_t n;
        while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
            sink_append(&k, chunk, n);
        fclose(f);
    }
    size_t len;
    return sink_take(&k, &len);
}

/* ---- the server ---- */

void wh_server_start(struct wh_server *s, const char *dir, const char *db, const char *const *args,
                     const char *const *env)
{
    static unsigned serial;
    memset(s, 0, sizeof(*s));
    s->out_fd = -1;
    snprintf(s->db, sizeof(s->db), "%s", db);
    snprintf(s->err_path, sizeof(s->err_path), "%s/serve-%u.stderr", dir, ++serial);

    struct strv argv = {0}, envp = {0};
    strv_push(&argv, binary());
    strv_push(&argv, "serve");
    strv_push(&argv, "--listen");
    strv_push(&argv, "127.0.0.1:0");
    strv_push(&argv, "--db");
    strv_push(&argv, db);
    for (const char *const *a = args; a && *a; a++)
        strv_push(&argv, *a);
    build_env(&envp, env);

    int out[2];
    ck_assert_msg(pipe2(out, O_CLOEXEC) == 0, "pipe: %s", strerror(errno));
    int err_fd = open(s->err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ck_assert_msg(err_fd >= 0, "open %s: %s", s->err_path, strerror(errno));
    int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    ck_assert_msg(null_fd >= 0, "open /dev/null: %s", strerror(errno));
    s->pid = spawn(argv.v, envp.v, null_fd, out[1], err_fd);
    track_pid(s->pid, true);
    close(out[1]);
    close(err_fd);
    close(null_fd);
    strv_free(&argv);
    strv_free(&envp);
    s->out_fd = out[0];

    /* the first stdout line, within 10 s */
    char line[512];
    size_t len = 0;
    int64_t deadline = wh_now_ms() + 10000;
    bool eof = false;
    while (!memchr(line, '\n', len) && len < sizeof(line) - 1 && !eof) {
        int left = (int)(deadline - wh_now_ms());
        if (left <= 0)
            break;
        struct pollfd p = {.fd = s->out_fd, .events = POLLIN};
        int pr = poll(&p, 1, left);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            break;
        ssize_t n = read(s->out_fd, line + len, sizeof(line) - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            eof = true;
        else
            len += (size_t)n;
    }
    line[len] = '\0';
    char *nl = strchr(line, '\n');
    if (nl)
        *nl = '\0';
    const char *prefix = "listening on http://127.0.0.1:";
    if (!nl || strncmp(line, prefix, strlen(prefix)) != 0) {
        int st = wait_exit(s->pid, eof ? 5000 : 0, NULL);
        track_pid(s->pid, false);
        s->pid = 0;
        char *err = read_file(s->err_path);
        ck_abort_msg("webhooky serve did not start (%s; exit status %d); first stdout line "
                     "'%s'; stderr:\n%s",
                     eof ? "stdout closed" : "no line within 10 s", st, line, err);
    }
    char *end;
    long port = strtol(line + strlen(prefix), &end, 10);
    ck_assert_msg(*end == '\0' && port > 0 && port < 65536, "bad listening line '%s'", line);
    s->port = (int)port;
    snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%d", s->port);
}

int wh_server_stop(struct wh_server *s, int sig, int timeout_ms, int64_t *ret_elapsed_ms)
{
    ck_assert_msg(s->pid > 0, "server is not running");
    kill(s->pid, sig);
    int st = wait_exit(s->pid, timeout_ms, ret_elapsed_ms);
    track_pid(s->pid, false);
    s->pid = 0;
    if (s->out_fd >= 0)
        close(s->out_fd);
    s->out_fd = -1;
    return st;
}

void wh_server_finish(struct wh_server *s)
{
    int64_t ms = 0;
    int st = wh_server_stop(s, SIGTERM, 10000, &ms);
    if (st != 0) {
        char *err = wh_server_stderr(s);
        ck_abort_msg("webhooky serve ended with status %d after SIGTERM (%lld ms); stderr:\n%s", st,
                     (long long)ms, err);
    }
}

char *wh_server_stderr(const struct wh_server *s)
{
    return read_file(s->err_path);
}

/* ---- HTTP ---- */

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    sink_append(arg, p, size * n);
    return size * n;
}

CURL *wh_curl(void)
{
    CURL *h = curl_easy_init();
    ck_assert_msg(h != NULL, "curl_easy_init failed");
    return h;
}

void wh_request(CURL *h, const struct wh_server *s, const char *method, const char *path,
                const char *const *headers, const void *body, size_t body_len,
                struct wh_response *ret)
{
    wh_request_timeout(h, s, method, path, headers, body, body_len, 60000, ret);
}

void wh_request_timeout(CURL *h, const struct wh_server *s, const char *method, const char *path,
                        const char *const *headers, const void *body, size_t body_len,
                        long timeout_ms, struct wh_response *ret)
{
    memset(ret, 0, sizeof(*ret));
    bool own = h == NULL;
    if (own)
        h = wh_curl();
    else
        curl_easy_reset(h); /* keeps the connection cache: keep-alive survives */
    size_t ul = strlen(s->url) + strlen(path) + 1;
    char *url = xmalloc(ul);
    snprintf(url, ul, "%s%s", s->url, path);

    struct curl_slist *list = NULL;
    for (const char *const *hd = headers; hd && *hd; hd++)
        list = curl_slist_append(list, *hd);
    list = curl_slist_append(list, "Expect:");
    struct sink b = {0}, hk = {0};

    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &hk);
    if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        if (strcmp(method, "POST") != 0)
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    } else if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
        if (strcmp(method, "GET") != 0)
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    }
    int64_t t0 = wh_now_us();
    ret->rc = curl_easy_perform(h);
    ret->elapsed_us = wh_now_us() - t0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &ret->status);
    curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &ret->new_connections);
    ret->body = sink_take(&b, &ret->body_len);
    size_t hl;
    ret->headers = sink_take(&hk, &hl);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(list);
    free(url);
    if (own)
        curl_easy_cleanup(h);
}

void wh_response_free(struct wh_response *r)
{
    free(r->body);
    free(r->headers);
    r->body = r->headers = NULL;
}

char *wh_header(const struct wh_response *r, const char *name)
{
    char *found = NULL;
    size_t nl = strlen(name);
    for (const char *line = r->headers; line && *line;) {
        const char *end = strstr(line, "\r\n");
        size_t ll = end ? (size_t)(end - line) : strlen(line);
        if (ll > nl && line[nl] == ':' && strncasecmp(line, name, nl) == 0) {
            const char *v = line + nl + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            size_t vl = ll - (size_t)(v - line);
            while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
                vl--;
            free(found);
            found = strndup(v, vl);
            ck_assert_msg(found != NULL, "out of memory");
        }
        line = end ? end + 2 : line + ll;
    }
    return found;
}

json_t *wh_api(const struct wh_server *s, long expect_status, const char *fmt, ...)
{
    char path[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(path, sizeof(path), fmt, ap);
    va_end(ap);
    const char *hdrs[] = {s->auth, NULL};
    struct wh_response r;
    wh_request(NULL, s, "GET", path, hdrs, NULL, 0, &r);
    ck_assert_msg(r.rc == CURLE_OK, "GET %s: %s", path, curl_easy_strerror(r.rc));
    ck_assert_msg(r.status == expect_status, "GET %s: status %ld, expected %ld; body: %s", path,
                  r.status, expect_status, r.body);
    json_error_t jerr;
    json_t *v = json_loadb(r.body, r.body_len, 0, &jerr);
    ck_assert_msg(v != NULL, "GET %s: the body is not JSON (%s): %s", path, jerr.text, r.body);
    wh_response_free(&r);
    return v;
}

int64_t wh_post(const struct wh_server *s, const char *path, const char *body)
{
    const char *hdrs[] = {"Content-Type: text/plain", NULL};
    struct wh_response r;
    wh_request(NULL, s, "POST", path, hdrs, body, strlen(body), &r);
    ck_assert_msg(r.rc == CURLE_OK, "POST %s: %s", path, curl_easy_strerror(r.rc));
    ck_assert_msg(r.status == 200, "POST %s: status %ld, expected 200; body: %s", path, r.status,
                  r.body);
    json_t *v = json_loadb(r.body, r.body_len, 0, NULL);
    ck_assert_msg(v && json_is_true(json_object_get(v, "ok")) &&
                      json_is_integer(json_object_get(v, "id")),
                  "POST %s: expected {\"ok\":true,\"id\":N}, got %s", path, r.body);
    int64_t id = json_integer_value(json_object_get(v, "id"));
    json_decref(v);
    wh_response_free(&r);
    return id;
}

json_t *wh_delivery(const struct wh_server *s, int64_t id)
{
    return wh_api(s, 200, "/_webhooky/api/deliveries/%lld", (long long)id);
}

int64_t wh_last_id(const struct wh_server *s)
{
    json_t *v = wh_api(s, 200, "/_webhooky/api/deliveries?limit=1");
    json_t *last = json_object_get(v, "last_id");
    ck_assert_msg(json_is_integer(last), "the list has no integer last_id");
    int64_t id = json_integer_value(last);
    json_decref(v);
    return id;
}

json_t *wh_all_deliveries(const struct wh_server *s, int64_t since_id)
{
    json_t *all = json_array();
    for (;;) {
        json_t *page = wh_api(s, 200, "/_webhooky/api/deliveries?since_id=%lld&limit=1000",
                              (long long)since_id);
        json_t *list = json_object_get(page, "deliveries");
        ck_assert_msg(json_is_array(list), "the list has no deliveries array");
        size_t n = json_array_size(list);
        for (size_t i = 0; i < n; i++) {
            json_t *d = json_array_get(list, i);
            int64_t id = json_integer_value(json_object_get(d, "id"));
            ck_assert_msg(id > since_id, "page after id %lld holds id %lld (not ascending)",
                          (long long)since_id, (long long)id);
            since_id = id;
            json_array_append(all, d);
        }
        json_decref(page);
        if (n == 0)
            break;
    }
    return all;
}

unsigned char *wh_delivery_body(const json_t *delivery, size_t *ret_len)
{
    json_t *text = json_object_get(delivery, "body");
    json_t *b64 = json_object_get(delivery, "body_base64");
    ck_assert_msg((text != NULL) != (b64 != NULL),
                  "a delivery must have exactly one of body and body_base64");
    if (b64) {
        ck_assert_msg(json_is_string(b64), "body_base64 is not a string");
        return wh_unbase64(json_string_value(b64), ret_len);
    }
    ck_assert_msg(json_is_string(text), "body is not a string");
    size_t n = json_string_length(text);
    unsigned char *p = xmalloc(n + 1);
    memcpy(p, json_string_value(text), n);
    p[n] = 0;
    *ret_len = n;
    return p;
}

const char *wh_delivery_header(const json_t *delivery, const char *name, size_t n)
{
    json_t *hdrs = json_object_get(delivery, "headers");
    size_t i;
    json_t *pair;
    json_array_foreach(hdrs, i, pair)
    {
        const char *k = json_string_value(json_array_get(pair, 0));
        if (k && strcasecmp(k, name) == 0 && n-- == 0)
            return json_string_value(json_array_get(pair, 1));
    }
    return NULL;
}

/* ---- encodings ---- */

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *wh_base64(const void *data, size_t len)
{
    const unsigned char *p = data;
    char *out = xmalloc((len + 2) / 3 * 4 + 1);
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        unsigned v = (unsigned)p[i] << 16;
        if (i + 1 < len)
            v |= (unsigned)p[i + 1] << 8;
        if (i + 2 < len)
            v |= p[i + 2];
        out[o++] = b64chars[(v >> 18) & 63];
        out[o++] = b64chars[(v >> 12) & 63];
        out[o++] = i + 1 < len ? b64chars[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < len ? b64chars[v & 63] : '=';
    }
    out[o] = '\0';
    return out;
}

unsigned char *wh_unbase64(const char *text, size_t *ret_len)
{
    size_t n = strlen(text);
    ck_assert_msg(n % 4 == 0, "base64 length %zu is not a multiple of 4", n);
    unsigned char *out = xmalloc(n / 4 * 3 + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i += 4) {
        unsigned v = 0;
        int pad = 0;
        for (size_t j = 0; j < 4; j++) {
            char c = text[i + j];
            const char *at = c ? strchr(b64chars, c) : NULL;
            if (c == '=' && i + 4 == n && j >= 2) {
                pad++;
                v <<= 6;
                continue;
            }
            ck_assert_msg(at != NULL && pad == 0, "bad base64 character at %zu", i + j);
            v = v << 6 | (unsigned)(at - b64chars);
        }
        out[o++] = (unsigned char)(v >> 16);
        if (pad < 2)
            out[o++] = (unsigned char)(v >> 8);
        if (pad < 1)
            out[o++] = (unsigned char)v;
    }
    out[o] = 0;
    *ret_len = o;
    return out;
}

/* ---- raw sockets ---- */

int wh_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_msg(fd >= 0, "socket: %s", strerror(errno));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int r;
    while ((r = connect(fd, (struct sockaddr *)&a, sizeof(a))) < 0 && errno == EINTR)
        ;
    ck_assert_msg(r == 0, "connect to 127.0.0.1:%d: %s", port, strerror(errno));
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

bool wh_send_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

ssize_t wh_recv_timeout(int fd, void *buf, size_t len, int timeout_ms)
{
    int64_t deadline = wh_now_ms() + timeout_ms;
    for (;;) {
        int left = (int)(deadline - wh_now_ms());
        if (left < 0)
            left = 0;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            return -2;
        ssize_t n = recv(fd, buf, len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        return n;
    }
}

/* ---- CLI runs ---- */

void wh_run(struct wh_run *ret, const char *const *env, int timeout_ms, const char *arg, ...)
{
    const char *args[64];
    size_t n = 0;
    va_list ap;
    va_start(ap, arg);
    for (const char *a = arg; a; a = va_arg(ap, const char *)) {
        ck_assert_msg(n < 63, "too many arguments");
        args[n++] = a;
    }
    va_end(ap);
    args[n] = NULL;
    wh_runv(ret, env, timeout_ms, args);
}

void wh_runv(struct wh_run *ret, const char *const *env, int timeout_ms, const char *const *args)
{
    memset(ret, 0, sizeof(*ret));
    struct strv argv = {0}, envp = {0};
    strv_push(&argv, binary());
    for (const char *const *a = args; *a; a++)
        strv_push(&argv, *a);
    build_env(&envp, env);

    int out[2], err[2];
    ck_assert_msg(pipe2(out, O_CLOEXEC) == 0 && pipe2(err, O_CLOEXEC) == 0, "pipe: %s",
                  strerror(errno));
    int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    ck_assert_msg(null_fd >= 0, "open /dev/null: %s", strerror(errno));
    pid_t pid = spawn(argv.v, envp.v, null_fd, out[1], err[1]);
    track_pid(pid, true);
    close(out[1]);
    close(err[1]);
    close(null_fd);
    strv_free(&argv);
    strv_free(&envp);

    struct sink ko = {0}, ke = {0};
    struct pollfd p[2] = {{.fd = out[0], .events = POLLIN}, {.fd = err[0], .events = POLLIN}};
    int64_t deadline = wh_now_ms() + timeout_ms;
    while (p[0].fd >= 0 || p[1].fd >= 0) {
        int left = (int)(deadline - wh_now_ms());
        if (left <= 0)
            break;
        int r = poll(p, 2, left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        for (int i = 0; i < 2; i++) {
            if (p[i].fd < 0 || !p[i].revents)
                continue;
            char chunk[8192];
            ssize_t n = read(p[i].fd, chunk, sizeof(chunk));
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                close(p[i].fd);
                p[i].fd = -1;
            } else {
                sink_append(i == 0 ? &ko : &ke, chunk, (size_t)n);
            }
        }
    }
    for (int i = 0; i < 2; i++)
        if (p[i].fd >= 0)
            close(p[i].fd);
    int left = (int)(deadline - wh_now_ms());
    ret->status = wait_exit(pid, left > 0 ? left : 0, NULL);
    track_pid(pid, false);
    ret->out = sink_take(&ko, &ret->out_len);
    ret->err = sink_take(&ke, &ret->err_len);
}

void wh_run_free(struct wh_run *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

/* ---- Check glue ---- */

TCase *wh_tcase(const char *name, double timeout_s)
{
    TCase *tc = tcase_create(name);
    tcase_set_timeout(tc, timeout_s);
    return tc;
}

int wh_run_suite(Suite *suite)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "curl_global_init failed\n");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    snprintf(root, sizeof(root), "/tmp/webhooky-it-XXXXXX");
    if (!mkdtemp(root)) {
        fprintf(stderr, "mkdtemp %s: %s\n", root, strerror(errno));
        return 1;
    }
    atexit(cleanup_at_exit);
    SRunner *sr = srunner_create(suite);
    srunner_run_all(sr, CK_VERBOSE);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    remove_tree(root);
    curl_global_cleanup();
    return failed ? 1 : 0;
}
