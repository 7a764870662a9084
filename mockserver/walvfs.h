/* walvfs: a SQLite VFS that hands a transaction's WAL frames to the kernel in one write.
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
 * connections that share one WAL file handle between threads (SQLite never does that). */
#ifndef WEBHOOKY_WALVFS_H
#define WEBHOOKY_WALVFS_H

#include "wh_error.h"

/* The name to pass to sqlite3_open_v2() as its zVfs. */
#define WALVFS_NAME "webhooky-wal"

/* Register the VFS under WALVFS_NAME (not as the default); safe to call from any thread, any
 * number of times. Errors: -ENOENT when SQLite has no default VFS, -ENOMEM. */
int walvfs_register(struct wh_error *err);

#endif
