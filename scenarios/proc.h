/* proc: run a command for a step, with a timeout, its output captured.
 *
 * The child gets its own process group; when the time is up the whole group is killed.
 * A command that leaves processes running in the background (a sender started with '&')
 * is finished when its main process exits: the background group lives until the caller
 * calls proc_kill_group (the runner does at the end of the scenario), and may go on writing
 * (output goes to an unlinked temporary file, so no one dies of SIGPIPE). stdout and stderr
 * are captured together, interleaved as written, up to the main process's exit.
 *
 * Safe from several threads at once: descriptors are close-on-exec and the child is made
 * with posix_spawn. */
#ifndef WEBHOOKY_PROC_H
#define WEBHOOKY_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mockserver/wh_error.h"

/* Output kept per command (the rest is counted, not kept). */
#define PROC_MAX_OUTPUT (64u << 10)

struct proc_result {
    int exit_status; /* 0..255, or -1 when killed (by the timeout or a signal) */
    int signal;      /* the signal that ended it, 0 when none */
    bool timed_out;
    char *out; /* owned, NUL-terminated; stdout and stderr as captured */
    size_t out_len;
    size_t out_dropped; /* bytes past PROC_MAX_OUTPUT, not kept */
    double duration_ms;
    pid_t pgid; /* the command's process group (for proc_kill_group) */
};

/* Run argv (argv[0] is a path; NULL-terminated) with the environment of this process plus
 * env_add ("NAME=VALUE" strings, NULL-terminated, may be NULL; they win). stdin_data (may be
 * NULL: /dev/null) is written to the command's stdin. 0 with *ret filled in (also when the
 * command failed or timed out), or -errno when it could not be started, with err saying why. */
int proc_run(char *const argv[], char *const env_add[], const char *stdin_data, size_t stdin_len,
             int64_t timeout_ms, struct proc_result *ret, struct wh_error *err);

/* `/bin/sh -c command`, the same way. */
int proc_run_shell(const char *command, char *const env_add[], int64_t timeout_ms,
                   struct proc_result *ret, struct wh_error *err);

void proc_result_finish(struct proc_result *r);

/* SIGTERM to what is left of a command's process group, SIGKILL after grace_ms. */
void proc_kill_group(pid_t pgid, int64_t grace_ms);

#endif
