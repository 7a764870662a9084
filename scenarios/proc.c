#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mockserver/buf.h"

extern char **environ;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double now_ms_f(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* environ with env_add on top; the array is new, the strings borrowed. */
static char **make_env(char *const env_add[])
{
    size_t n = 0, m = 0;
    while (environ && environ[n])
        n++;
    while (env_add && env_add[m])
        m++;
    char **env = calloc(n + m + 1, sizeof(*env));
    if (!env)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(environ[i], '=');
        size_t nl = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);
        bool replaced = false;
        for (size_t j = 0; j < m && !replaced; j++)
            replaced = strncmp(env_add[j], environ[i], nl) == 0 && env_add[j][nl] == '=';
        if (!replaced)
            env[k++] = environ[i];
    }
    for (size_t j = 0; j < m; j++)
        env[k++] = env_add[j];
    return env;
}

static void keep(struct proc_result *r, struct buf *b, const char *data, size_t n)
{
    size_t room = PROC_MAX_OUTPUT - b->len;
    size_t take = n < room ? n : room;
    if (take && buf_append(b, data, take) < 0)
        take = 0;
    r->out_dropped += n - take;
}

static void set_status(struct proc_result *r, int st)
{
    if (WIFEXITED(st)) {
        r->exit_status = WEXITSTATUS(st);
    } else {
        r->exit_status = -1;
        r->signal = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
    }
}

/* Read what the command wrote (from the start of the file) into r. */
static int collect_output(int fd, struct proc_result *r)
{
    struct buf cap;
    buf_init(&cap, 0);
    char chunk[8192];
    ssize_t got;
    off_t off = 0;
    while ((got = pread(fd, chunk, sizeof(chunk), off)) > 0) {
        keep(r, &cap, chunk, (size_t)got);
        off += got;
    }
    r->out_len = cap.len;
    r->out = buf_steal(&cap, NULL);
    if (!r->out && !(r->out = strdup("")))
        return -ENOMEM;
    return 0;
}

int proc_run(char *const argv[], char *const env_add[], const char *stdin_data, size_t stdin_len,
             int64_t timeout_ms, struct proc_result *ret, struct wh_error *err)
{
    memset(ret, 0, sizeof(*ret));
    int out = -1, in[2] = {-1, -1}, pidfd = -1;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    bool fa_ok = false, at_ok = false;
    char **env = NULL;
    int r = 0;
    double t0 = now_ms_f();
    /* Output goes to an unlinked file, not a pipe: a process the command leaves in the
     * background may go on writing after we stopped reading, without dying of SIGPIPE. */
    const char *tmp = getenv("TMPDIR");
    char path[4096];
    snprintf(path, sizeof(path), "%s/webhooky-out-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    out = mkostemp(path, O_CLOEXEC | O_APPEND);
    if (out < 0) {
        r = wh_error_set(err, -errno, "cannot make a file for the output in %s: %s",
                         tmp && *tmp ? tmp : "/tmp", strerror(errno));
        goto out;
    }
    unlink(path);
    if (stdin_data && pipe2(in, O_CLOEXEC) < 0) {
        r = wh_error_set(err, -errno, "cannot make a pipe: %s", strerror(errno));
        goto out;
    }
    if (!(env = make_env(env_add))) {
        r = wh_error_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    fa_ok = posix_spawn_file_actions_init(&fa) == 0;
    at_ok = posix_spawnattr_init(&at) == 0;
    if (!fa_ok || !at_ok) {
        r = wh_error_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    if (stdin_data)
        posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    else
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out, 1);
    posix_spawn_file_actions_adddup2(&fa, out, 2);
    sigset_t none, def;
    sigemptyset(&none);
    sigemptyset(&def);
    sigaddset(&def, SIGPIPE);
    sigaddset(&def, SIGINT);
    sigaddset(&def, SIGTERM);
    sigaddset(&def, SIGHUP);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &def);
    posix_spawnattr_setpgroup(&at, 0);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF);
    pid_t pid;
    int e = posix_spawn(&pid, argv[0], &fa, &at, argv, env);
    if (e) {
        r = wh_error_set(err, -e, "cannot run %s: %s", argv[0], strerror(e));
        goto out;
    }
    ret->pgid = pid;
    if (stdin_data) {
        close(in[0]);
        in[0] = -1;
        fcntl(in[1], F_SETFL, O_NONBLOCK);
    }
#ifdef SYS_pidfd_open
    pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
#endif
    int64_t deadline = now_ms() + timeout_ms;
    size_t written = 0;
    int status = 0;
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid) {
            set_status(ret, status);
            break;
        }
        int64_t left = deadline - now_ms();
        if (left <= 0) {
            kill(-pid, SIGKILL);
            waitpid(pid, &status, 0);
            ret->timed_out = true;
            set_status(ret, status);
            ret->exit_status = -1;
            break;
        }
        struct pollfd pf[2];
        nfds_t n = 0;
        int i_in = -1;
        if (in[1] >= 0) {
            pf[n] = (struct pollfd){.fd = in[1], .events = POLLOUT};
            i_in = (int)n++;
        }
        if (pidfd >= 0)
            pf[n++] = (struct pollfd){.fd = pidfd, .events = POLLIN};
        /* without a pidfd (old kernels), look at the child every 50 ms */
        int wait = pidfd >= 0 ? (int)(left < 60000 ? left : 60000) : (int)(left < 50 ? left : 50);
        int pr = poll(pf, n, wait);
        if (pr < 0 && errno != EINTR) {
            r = wh_error_set(err, -errno, "poll: %s", strerror(errno));
            kill(-pid, SIGKILL);
            waitpid(pid, &status, 0);
            goto out;
        }
        if (i_in >= 0 && pr > 0 && (pf[i_in].revents & (POLLOUT | POLLERR | POLLHUP))) {
            ssize_t wr = write(in[1], stdin_data + written, stdin_len - written);
            if (wr > 0)
                written += (size_t)wr;
            if (wr < 0 && errno != EAGAIN)
                written = stdin_len; /* the command closed its stdin */
            if (written == stdin_len) {
                close(in[1]);
                in[1] = -1;
            }
        }
    }
    ret->duration_ms = now_ms_f() - t0;
    if (collect_output(out, ret) < 0)
        r = wh_error_set(err, -ENOMEM, "out of memory");
out:
    if (fa_ok)
        posix_spawn_file_actions_destroy(&fa);
    if (at_ok)
        posix_spawnattr_destroy(&at);
    free(env);
    if (out >= 0)
        close(out);
    for (int i = 0; i < 2; i++)
        if (in[i] >= 0)
            close(in[i]);
    if (pidfd >= 0)
        close(pidfd);
    if (r < 0)
        proc_result_finish(ret);
    return r;
}

int proc_run_shell(const char *command, char *const env_add[], int64_t timeout_ms,
                   struct proc_result *ret, struct wh_error *err)
{
    char sh[] = "/bin/sh", c[] = "-c";
    char *cmd = strdup(command);
    if (!cmd)
        return wh_error_set(err, -ENOMEM, "out of memory");
    char *argv[] = {sh, c, cmd, NULL};
    int r = proc_run(argv, env_add, NULL, 0, timeout_ms, ret, err);
    free(cmd);
    return r;
}

void proc_result_finish(struct proc_result *r)
{
    free(r->out);
    r->out = NULL;
    r->out_len = 0;
}

void proc_kill_group(pid_t pgid, int64_t grace_ms)
{
    if (pgid <= 1 || kill(-pgid, SIGTERM) < 0)
        return;
    for (int64_t waited = 0; waited < grace_ms; waited += 10) {
        if (kill(-pgid, 0) < 0)
            return;
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    kill(-pgid, SIGKILL);
}
