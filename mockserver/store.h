/* store: the SQLite file that holds every captured delivery.
 *
 * A store is one SQLite connection; it is not shared between threads (open one per thread).
 * The receiver has exactly one writing store, driven by the writer thread's group commit; API
 * readers and the `deliveries` command open their own. The file is in WAL mode, so readers
 * never block the writer and see only committed deliveries.
 *
 * Durability: WAL mode with synchronous=OFF. A committed delivery is in the operating system
 * when the commit returns, so it survives the receiver being killed at any point (even with
 * SIGKILL). Flushing to disk is left to the kernel: a power loss or kernel crash can take back
 * the last seconds of commits and may damage the file. STORE_SYNC_FULL makes every commit and
 * checkpoint wait for fsync instead.
 *
 * Paths: a file path, or a SQLite URI starting with "file:" (used for shared in-memory
 * databases; see store_memory_uri). */
#ifndef WEBHOOKY_STORE_H
#define WEBHOOKY_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "delivery.h"
#include "filter.h"
#include "wh_error.h"

typedef struct store store;

enum {
    STORE_READONLY = 1 << 0,  /* open an existing database for reading only */
    STORE_CREATE = 1 << 1,    /* create the file and the schema when missing */
    STORE_SYNC_FULL = 1 << 2, /* fsync on every commit (power-loss durability) */
    STORE_MANUAL_CHECKPOINT = 1 << 3, /* never checkpoint on commit; see store_checkpoint */
};

/* Open (and with STORE_CREATE, create and migrate) the database at path. On success *ret is a
 * new handle the caller must store_close(). Errors: -ENOENT (no such database),
 * -EACCES/-EIO (cannot open or write), -EPROTO (not a webhooky database, or a newer one). */
int store_open(const char *path, int flags, store **ret, struct wh_error *err);
void store_close(store *s);

/* Write a process-unique SQLite URI for a shared in-memory database into out ("file:..."), so
 * that several handles (writer and readers) see the same data. */
void store_memory_uri(char *out, size_t size);

/* Explicit transactions for batches; insert and delete run inside one when it is open. */
int store_begin(store *s, struct wh_error *err);
int store_commit(store *s, struct wh_error *err);
void store_rollback(store *s);

/* Insert a delivery; on success d->id is set. The delivery stays the caller's. */
int store_insert(store *s, struct delivery *d, struct wh_error *err);

/* Record when a delayed or faulted delivery was answered, the delay actually applied, and the
 * status it got (0: none, the client left before the answer). */
int store_set_response(store *s, int64_t id, int status, int64_t delay_ms, int64_t responded_us,
                       struct wh_error *err);

/* One delivery as an attempt of its message: the columns the messages view needs, without
 * headers or body. Strings are borrowed for the call and may be NULL. */
struct store_attempt {
    int64_t id, received_us;
    const char *endpoint, *message_key, *message_id, *fault;
    int status, rule;
    int64_t delay_ms, attempt, since_previous_us;
};
typedef int (*store_attempt_fn)(void *arg, const struct store_attempt *a);

/* Call fn for each delivery the filter selects (limit and order ignored), oldest first. */
int store_foreach_attempt(store *s, const struct delivery_filter *f, store_attempt_fn fn,
                          void *arg, struct wh_error *err);

/* Delete the deliveries the filter selects (limit and order ignored); *ret_n gets the count. */
int store_delete(store *s, const struct delivery_filter *f, int64_t *ret_n, struct wh_error *err);

/* One delivery by id: *ret is a new delivery the caller destroys; -ENOENT when absent. */
int store_get(store *s, int64_t id, struct delivery **ret, struct wh_error *err);

/* Call fn for each delivery the filter selects, in its order and up to its limit. The
 * delivery is borrowed for the call only. fn returns 0 to go on, anything else to stop (that
 * value is then returned). */
typedef int (*store_row_fn)(void *arg, const struct delivery *d);
int store_foreach(store *s, const struct delivery_filter *f, store_row_fn fn, void *arg,
                  struct wh_error *err);

/* How many deliveries the filter selects, counting no further than its limit when it has one
 * (so "are there at least K?" stops after K rows). */
int store_count(store *s, const struct delivery_filter *f, int64_t *ret, struct wh_error *err);

/* Copy committed WAL frames back into the database file without blocking the writer (a
 * passive checkpoint). The writer's connection, opened with STORE_MANUAL_CHECKPOINT, leaves
 * this work to another connection and thread. *ret_backfilled (may be NULL) gets how many WAL
 * frames are now in the database file. */
int store_checkpoint(store *s, int *ret_backfilled, struct wh_error *err);

/* Frames in the WAL after this connection's last commit (STORE_MANUAL_CHECKPOINT only). */
int store_wal_frames(const store *s);

/* The largest id ever assigned (0 for a new database); ids are never reused, even after
 * deletes, so since_id stays meaningful. */
int store_last_id(store *s, int64_t *ret, struct wh_error *err);

#endif
