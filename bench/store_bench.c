/* store_bench: what storing one delivery costs, by the size of the batch it is committed in.
 *
 * usage: store_bench DIR [N]   (bench/store builds and runs it)
 * For each batch size (1, 2, 4, ..., 64) it creates DIR/store.db, stores N deliveries shaped
 * like bench/run's (a 1 KiB JSON body, wrk's four headers) in transactions of that many rows,
 * and copies the WAL back into the file every 1000 frames as the receiver's checkpointer does
 * (here on the same thread, so that the copy is counted). It prints the CPU time (user +
 * system, this thread) and the wall time per delivery, and the WAL frames written per
 * delivery. This is the storage part of the receiver's cost per delivery, without HTTP. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "delivery.h"
#include "store.h"

/* The receiver's checkpointer starts once the WAL holds this many frames (writer.c). */
#define CHECKPOINT_FRAMES 1000

static double seconds(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct delivery *sample(void)
{
    static const char *const headers[][2] = {{"Host", "127.0.0.1:8787"},
                                             {"Content-Length", "1024"},
                                             {"Content-Type", "application/json"},
                                             {"User-Agent", "wrk"}};
    struct delivery *d = delivery_create();
    if (!d || !(d->method = strdup("POST")) || !(d->path = strdup("/")))
        return NULL;
    for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++)
        if (delivery_add_header(d, headers[i][0], strlen(headers[i][0]), headers[i][1],
                                strlen(headers[i][1])) < 0)
            return NULL;
    static const char head[] = "{\"eventName\":\"person.created\",\"data\":{\"id\":"
                               "\"0b5c3f8e-6d2a-4f1e-9a7b-2c4d6e8f0a1b\",\"padding\":\"";
    char body[1024];
    memset(body, 'x', sizeof(body));
    memcpy(body, head, sizeof(head) - 1);
    memcpy(body + sizeof(body) - 3, "\"}}", 3);
    if (buf_append(&d->body, body, sizeof(body)) < 0)
        return NULL;
    d->body_size = sizeof(body);
    d->status = 200;
    snprintf(d->remote_addr, sizeof(d->remote_addr), "127.0.0.1:40000");
    return d;
}

static void remove_db(const char *path)
{
    char p[4200];
    const char *suffix[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof(p), "%s%s", path, suffix[i]);
        unlink(p);
    }
}

static int run(const char *path, struct delivery *d, int batch, int n)
{
    struct wh_error err = {0};
    store *st = NULL;
    remove_db(path);
    if (store_open(path, STORE_CREATE | STORE_MANUAL_CHECKPOINT, &st, &err) < 0) {
        fprintf(stderr, "store_bench: %s\n", err.msg);
        return -1;
    }
    long frames = 0;
    int last = 0;
    double w0 = seconds(CLOCK_MONOTONIC), c0 = seconds(CLOCK_THREAD_CPUTIME_ID);
    for (int done = 0; done < n; done += batch) {
        if (store_begin(st, &err) < 0)
            goto fail;
        for (int j = 0; j < batch; j++) {
            d->id = 0;
            d->received_us = (int64_t)(done + j);
            if (store_insert(st, d, &err) < 0)
                goto fail;
        }
        if (store_commit(st, &err) < 0)
            goto fail;
        int now = store_wal_frames(st);
        frames += now >= last ? now - last : now;
        last = now;
        if (now >= CHECKPOINT_FRAMES && store_checkpoint(st, NULL, &err) < 0)
            goto fail;
    }
    double w1 = seconds(CLOCK_MONOTONIC), c1 = seconds(CLOCK_THREAD_CPUTIME_ID);
    printf("%9d %12.2f %12.2f %14.2f\n", batch, (c1 - c0) * 1e6 / n, (w1 - w0) * 1e6 / n,
           (double)frames / n);
    store_close(st);
    remove_db(path);
    return 0;
fail:
    fprintf(stderr, "store_bench: %s\n", err.msg);
    store_close(st);
    remove_db(path);
    return -1;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: store_bench DIR [N]\n");
        return 2;
    }
    int n = argc == 3 ? atoi(argv[2]) : 200000;
    if (n < 64) {
        fprintf(stderr, "store_bench: N must be at least 64\n");
        return 2;
    }
    char path[4096];
    snprintf(path, sizeof(path), "%s/store.db", argv[1]);
    struct delivery *d = sample();
    if (!d) {
        fprintf(stderr, "store_bench: out of memory\n");
        return 1;
    }
    printf("%d deliveries of 1 KiB per batch size\n", n);
    printf("%9s %12s %12s %14s\n", "batch", "cpu us/dlv", "wall us/dlv", "WAL frames/dlv");
    for (int b = 1; b <= 64; b *= 2)
        if (run(path, d, b, n - n % b) < 0)
            return 1;
    delivery_destroy(d);
    return 0;
}
