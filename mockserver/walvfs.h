/* walvfs: the SQLite VFS of the receiver's writing connections. It hands a transaction's WAL
 * frames to the kernel in one write, and lets background threads give way while they copy.
 *
 * SQLite writes every WAL frame with two calls, its 24-byte header and then its page, so a
 * commit of k pages costs 2k pwrite() calls. Over the default VFS, this one gathers a run of
 * consecutive appended frames in memory and writes the run with one call, at the latest when
 * the commit frame (the last one of a transaction) is complete. That write happens inside
 * SQLite's commit, before the WAL index that makes the frames visible is updated, and its
 * error is the commit's error: a commit that returns has its frames in the OS, as before.
 *
 * Only the -wal file of a connection is buffered, and only appends; every other write, and
 * every other file, goes straight to the default VFS. Anything else done to the WAL file
 * (read, sync, truncate, size, lock, barrier, close) first writes out what is gathered, so
 * the file always looks to SQLite as if each write had been made at once. It is not for
 * connections that share one WAL file handle between threads (SQLite never does that).
 *
 * Giving way: a checkpoint copies thousands of pages into the database file in one call, and
 * holds a CPU for milliseconds meanwhile; on a machine with as many busy threads as CPUs, the
 * thread it displaced (one that answers deliveries) waits that long. A thread marked with
 * walvfs_give_way() calls its function after every WALVFS_GIVE_WAY_PAGES writes to a
 * database file. */
#ifndef WEBHOOKY_WALVFS_H
#define WEBHOOKY_WALVFS_H

#include "wh_error.h"

/* The name to pass to sqlite3_open_v2() as its zVfs. */
#define WALVFS_NAME "webhooky-wal"

/* Register the VFS under WALVFS_NAME (not as the default); safe to call from any thread, any
 * number of times. Errors: -ENOENT when SQLite has no default VFS, -ENOMEM. */
int walvfs_register(struct wh_error *err);

/* Pages written between two calls of a give-way function: about 0.5 MiB, under a millisecond
 * of copying. (Every 32 pages a checkpoint fell behind a sustained flood.) */
#define WALVFS_GIVE_WAY_PAGES 128

/* From now on, writes to database files made on the calling thread (through this VFS) call fn
 * after every WALVFS_GIVE_WAY_PAGES of them, e.g. a function that calls sched_yield(). NULL
 * stops it. Other threads are not affected. */
void walvfs_give_way(void (*fn)(void));

#endif
