/* walvfs: gather a transaction's WAL frames into one write (see walvfs.h).
 *
 * What SQLite's WAL code does with the -wal file, and what this relies on:
 *  - a transaction appends frames in order: for each, a 24-byte frame header and then the
 *    page; the header of the last frame of a commit carries the database size (bytes 4-7,
 *    nonzero), every other frame header has zero there; a new WAL starts with a 32-byte
 *    header at offset 0;
 *  - it may also rewrite the page of a frame written earlier in the same transaction, and
 *    rewrite frame headers to fix their checksums, each right after reading its frame back;
 *  - frames become visible only when the writer publishes the WAL index header, which it
 *    does through the database file's xShmBarrier after all the frames are written; the
 *    write lock is released through that file's xShmLock.
 *
 * So a run starts with a WAL header or a frame header (not one written right after a read),
 * goes on with writes that follow it directly, and is written out when a commit frame is
 * complete (its error is the commit's), before anything else is done to the WAL file, and
 * before the database file's xShmBarrier or xShmLock (so frames of a transaction that spilled
 * and rolled back never outlive its write lock). Other writes go straight through. */
#include "walvfs.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

/* At most 30 frames of 4 KiB pages; a longer run is written in parts. SQLite's unix VFS takes
 * at most 128 KiB - 1 bytes in one write: it masks a larger size instead of looping. */
#define GATHER_MAX (124 * 1024)
#define WAL_HEADER 32
#define FRAME_HEADER 24

/* A main database file or a WAL file of a connection opened with this VFS; the default VFS's
 * file follows it in the same allocation. */
struct vfile {
    sqlite3_file base;
    sqlite3_file *real;
    bool is_wal;
    struct vfile *peer; /* a database's open WAL file, a WAL's database file; or NULL */
    /* WAL files only: the gathered run, to be written at off */
    unsigned char *buf;
    size_t len;
    sqlite3_int64 off;
    bool commit_header; /* the run ends with a commit frame's header */
    bool after_read;    /* the last call on the file was a read */
    int deferred;       /* an error of a write-out in xShmBarrier, which cannot return one */
};

/* sizeof(struct vfile), rounded up so that the default VFS's file after it is aligned */
#define VFILE_SIZE ((sizeof(struct vfile) + 15) & ~(size_t)15)

static sqlite3_vfs walvfs;
static sqlite3_io_methods methods;

/* walvfs_give_way(): the calling thread's function, and its writes since the last call */
static _Thread_local void (*give_way)(void);
static _Thread_local unsigned give_way_writes;

void walvfs_give_way(void (*fn)(void))
{
    give_way = fn;
    give_way_writes = 0;
}

static sqlite3_vfs *base(void)
{
    return walvfs.pAppData;
}

static int write_out(struct vfile *f)
{
    if (f->len == 0)
        return SQLITE_OK;
    int rc = f->real->pMethods->xWrite(f->real, f->buf, (int)f->len, f->off);
    f->len = 0;
    f->commit_header = false;
    return rc;
}

/* An earlier write-out's error, reported once. */
static int take_deferred(struct vfile *f)
{
    int rc = f->deferred;
    f->deferred = SQLITE_OK;
    return rc;
}

/* Write out what is gathered, and report an earlier write-out's error once. */
static int settle(struct vfile *f)
{
    int rc = take_deferred(f);
    int w = write_out(f);
    return rc ? rc : w;
}

static int wal_write(struct vfile *f, const unsigned char *data, int n, sqlite3_int64 off)
{
    bool follows = f->len > 0 && off == f->off + (sqlite3_int64)f->len;
    bool commit_header = n == FRAME_HEADER && (data[4] | data[5] | data[6] | data[7]) != 0;
    bool starts = (n == FRAME_HEADER && !f->after_read) || (n == WAL_HEADER && off == 0);
    f->after_read = false;
    int rc = take_deferred(f);
    if (rc)
        return rc;
    if (follows && f->len + (size_t)n > GATHER_MAX)
        follows = false;
    if (!follows && (rc = write_out(f)) != SQLITE_OK)
        return rc;
    if (!follows && !starts)
        return f->real->pMethods->xWrite(f->real, data, n, off);
    if (!f->buf && !(f->buf = malloc(GATHER_MAX)))
        return f->real->pMethods->xWrite(f->real, data, n, off);
    if (f->len == 0)
        f->off = off;
    memcpy(f->buf + f->len, data, (size_t)n);
    f->len += (size_t)n;
    bool completes_commit = f->commit_header && n != FRAME_HEADER;
    f->commit_header = commit_header;
    return completes_commit ? write_out(f) : SQLITE_OK;
}

/* ---- io methods: the WAL file gathers, every method lets a database file's WAL settle ---- */

static int x_close(sqlite3_file *file)
{
    struct vfile *f = (struct vfile *)file;
    int rc = f->is_wal ? settle(f) : SQLITE_OK;
    if (f->peer)
        f->peer->peer = NULL;
    free(f->buf);
    int c = f->real->pMethods->xClose(f->real);
    return rc ? rc : c;
}

static int x_read(sqlite3_file *file, void *data, int n, sqlite3_int64 off)
{
    struct vfile *f = (struct vfile *)file;
    int rc = SQLITE_OK;
    if (f->is_wal) {
        rc = settle(f);
        f->after_read = true;
    }
    return rc ? rc : f->real->pMethods->xRead(f->real, data, n, off);
}

static int x_write(sqlite3_file *file, const void *data, int n, sqlite3_int64 off)
{
    struct vfile *f = (struct vfile *)file;
    if (f->is_wal)
        return wal_write(f, data, n, off);
    if (give_way && ++give_way_writes >= WALVFS_GIVE_WAY_PAGES) {
        give_way_writes = 0;
        give_way();
    }
    return f->real->pMethods->xWrite(f->real, data, n, off);
}

static int x_truncate(sqlite3_file *file, sqlite3_int64 size)
{
    struct vfile *f = (struct vfile *)file;
    int rc = f->is_wal ? settle(f) : SQLITE_OK;
    return rc ? rc : f->real->pMethods->xTruncate(f->real, size);
}

static int x_sync(sqlite3_file *file, int flags)
{
    struct vfile *f = (struct vfile *)file;
    int rc = f->is_wal ? settle(f) : SQLITE_OK;
    return rc ? rc : f->real->pMethods->xSync(f->real, flags);
}

static int x_file_size(sqlite3_file *file, sqlite3_int64 *size)
{
    struct vfile *f = (struct vfile *)file;
    int rc = f->is_wal ? settle(f) : SQLITE_OK;
    return rc ? rc : f->real->pMethods->xFileSize(f->real, size);
}

static int x_lock(sqlite3_file *file, int lock)
{
    struct vfile *f = (struct vfile *)file;
    return f->real->pMethods->xLock(f->real, lock);
}

static int x_unlock(sqlite3_file *file, int lock)
{
    struct vfile *f = (struct vfile *)file;
    return f->real->pMethods->xUnlock(f->real, lock);
}

static int x_check_reserved_lock(sqlite3_file *file, int *out)
{
    struct vfile *f = (struct vfile *)file;
    return f->real->pMethods->xCheckReservedLock(f->real, out);
}

static int x_file_control(sqlite3_file *file, int op, void *arg)
{
    struct vfile *f = (struct vfile *)file;
    int rc = f->is_wal ? settle(f) : SQLITE_OK;
    return rc ? rc : f->real->pMethods->xFileControl(f->real, op, arg);
}

static int x_sector_size(sqlite3_file *file)
{
    struct vfile *f = (struct vfile *)file;
    return f->real->pMethods->xSectorSize(f->real);
}

static int x_device_characteristics(sqlite3_file *file)
{
    struct vfile *f = (struct vfile *)file;
    return f->real->pMethods->xDeviceCharacteristics(f->real);
}

static int x_shm_map(sqlite3_file *file, int page, int size, int extend, void volatile **out)
{
    struct vfile *f = (struct vfile *)file;
    return f->real->pMethods->xShmMap(f->real, page, size, extend, out);
}

static int x_shm_lock(sqlite3_file *file, int offset, int n, int flags)
{
    struct vfile *f = (struct vfile *)file;
    if (f->peer) {
        int rc = settle(f->peer);
        if (rc)
            return rc;
    }
    return f->real->pMethods->xShmLock(f->real, offset, n, flags);
}

static void x_shm_barrier(sqlite3_file *file)
{
    struct vfile *f = (struct vfile *)file;
    if (f->peer && f->peer->len > 0) {
        int rc = write_out(f->peer);
        if (rc && !f->peer->deferred)
            f->peer->deferred = rc;
    }
    f->real->pMethods->xShmBarrier(f->real);
}

static int x_shm_unmap(sqlite3_file *file, int delete_flag)
{
    struct vfile *f = (struct vfile *)file;
    return f->real->pMethods->xShmUnmap(f->real, delete_flag);
}

static int x_fetch(sqlite3_file *file, sqlite3_int64 off, int n, void **out)
{
    struct vfile *f = (struct vfile *)file;
    return f->real->pMethods->xFetch(f->real, off, n, out);
}

static int x_unfetch(sqlite3_file *file, sqlite3_int64 off, void *p)
{
    struct vfile *f = (struct vfile *)file;
    return f->real->pMethods->xUnfetch(f->real, off, p);
}

/* ---- the VFS: opens database and WAL files wrapped, everything else as the default does ---- */

static int v_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *out_flags)
{
    (void)vfs;
    if (!(flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL)))
        return base()->xOpen(base(), name, file, flags, out_flags); /* in place, unwrapped */
    struct vfile *f = (struct vfile *)file;
    memset(f, 0, sizeof(*f));
    f->real = (sqlite3_file *)((char *)file + VFILE_SIZE);
    int rc = base()->xOpen(base(), name, f->real, flags, out_flags);
    if (rc != SQLITE_OK) {
        if (f->real->pMethods)
            f->real->pMethods->xClose(f->real);
        return rc;
    }
    f->is_wal = (flags & SQLITE_OPEN_WAL) != 0;
    if (f->is_wal && name) {
        /* the database file this WAL belongs to was opened through this VFS too */
        struct vfile *db = (struct vfile *)sqlite3_database_file_object(name);
        if (db && db->base.pMethods == &methods && !db->is_wal) {
            db->peer = f;
            f->peer = db;
        }
    }
    f->base.pMethods = &methods;
    return SQLITE_OK;
}

static int v_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
    (void)vfs;
    return base()->xDelete(base(), name, sync_dir);
}

static int v_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
    (void)vfs;
    return base()->xAccess(base(), name, flags, out);
}

static int v_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
    (void)vfs;
    return base()->xFullPathname(base(), name, n, out);
}

static void *v_dl_open(sqlite3_vfs *vfs, const char *name)
{
    (void)vfs;
    return base()->xDlOpen(base(), name);
}

static void v_dl_error(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    base()->xDlError(base(), n, out);
}

static void (*v_dl_sym(sqlite3_vfs *vfs, void *handle, const char *symbol))(void)
{
    (void)vfs;
    return base()->xDlSym(base(), handle, symbol);
}

static void v_dl_close(sqlite3_vfs *vfs, void *handle)
{
    (void)vfs;
    base()->xDlClose(base(), handle);
}

static int v_randomness(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    return base()->xRandomness(base(), n, out);
}

static int v_sleep(sqlite3_vfs *vfs, int us)
{
    (void)vfs;
    return base()->xSleep(base(), us);
}

static int v_current_time(sqlite3_vfs *vfs, double *out)
{
    (void)vfs;
    return base()->xCurrentTime(base(), out);
}

static int v_get_last_error(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    return base()->xGetLastError(base(), n, out);
}

static int v_current_time_int64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
    (void)vfs;
    return base()->xCurrentTimeInt64(base(), out);
}

static int register_rc = SQLITE_OK;

static void register_once(void)
{
    sqlite3_vfs *real = sqlite3_vfs_find(NULL);
    if (!real || real->iVersion < 2 || !real->xCurrentTimeInt64) {
        register_rc = SQLITE_NOTFOUND;
        return;
    }
    methods = (sqlite3_io_methods){
        .iVersion = 3,
        .xClose = x_close,
        .xRead = x_read,
        .xWrite = x_write,
        .xTruncate = x_truncate,
        .xSync = x_sync,
        .xFileSize = x_file_size,
        .xLock = x_lock,
        .xUnlock = x_unlock,
        .xCheckReservedLock = x_check_reserved_lock,
        .xFileControl = x_file_control,
        .xSectorSize = x_sector_size,
        .xDeviceCharacteristics = x_device_characteristics,
        .xShmMap = x_shm_map,
        .xShmLock = x_shm_lock,
        .xShmBarrier = x_shm_barrier,
        .xShmUnmap = x_shm_unmap,
        .xFetch = x_fetch,
        .xUnfetch = x_unfetch,
    };
    walvfs = (sqlite3_vfs){
        .iVersion = 2,
        .szOsFile = (int)VFILE_SIZE + real->szOsFile,
        .mxPathname = real->mxPathname,
        .zName = WALVFS_NAME,
        .pAppData = real,
        .xOpen = v_open,
        .xDelete = v_delete,
        .xAccess = v_access,
        .xFullPathname = v_full_pathname,
        .xDlOpen = v_dl_open,
        .xDlError = v_dl_error,
        .xDlSym = v_dl_sym,
        .xDlClose = v_dl_close,
        .xRandomness = v_randomness,
        .xSleep = v_sleep,
        .xCurrentTime = v_current_time,
        .xGetLastError = v_get_last_error,
        .xCurrentTimeInt64 = v_current_time_int64,
    };
    register_rc = sqlite3_vfs_register(&walvfs, 0);
}

int walvfs_register(struct wh_error *err)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, register_once);
    if (register_rc == SQLITE_NOTFOUND)
        return wh_error_set(err, -ENOENT, "SQLite has no default VFS to build on");
    if (register_rc != SQLITE_OK)
        return wh_error_set(err, -ENOMEM, "cannot register the SQLite VFS %s: %s", WALVFS_NAME,
                            sqlite3_errstr(register_rc));
    return 0;
}
