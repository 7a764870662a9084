#include "store.h"

#include <errno.h>
#include <pthread.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "walvfs.h"

#define SCHEMA_VERSION 4

struct store {
    sqlite3 *db;
    int wal_frames; /* frames in the WAL after the last commit (from the WAL hook) */
    int64_t last_id; /* the last id this connection assigned; -1 until read from the file */
    sqlite3_stmt *insert;
    sqlite3_stmt *begin;
    sqlite3_stmt *commit;
    sqlite3_stmt *set_response; /* prepared on first use */
    char path[512];
};

/* The current schema, for a new file. */
static const char schema_sql[] =
    "CREATE TABLE deliveries ("
    " id INTEGER PRIMARY KEY,"
    " received_us INTEGER NOT NULL,"
    " endpoint TEXT,"
    " method TEXT NOT NULL,"
    " path BLOB NOT NULL,"
    " query BLOB,"
    " headers BLOB NOT NULL,"
    " body_size INTEGER NOT NULL,"
    " truncated INTEGER NOT NULL,"
    " remote_addr TEXT NOT NULL,"
    " status INTEGER NOT NULL,"
    " sig_scheme TEXT,"
    " sig_status TEXT,"
    " sig_reason TEXT,"
    " sig_secret_index INTEGER,"
    " message_id TEXT,"
    " event TEXT,"
    " schema_status TEXT,"
    " schema_name TEXT,"
    " schema_errors TEXT,"
    " body BLOB NOT NULL,"
    " fault TEXT,"
    " rule INTEGER,"
    " delay_ms INTEGER,"
    " responded_us INTEGER,"
    " message_key TEXT,"
    " attempt INTEGER,"
    " since_previous_us INTEGER"
    ");"
    /* the highest id ever assigned, kept when deletes remove the newest rows */
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);";

/* Steps from each older schema to the next; index i upgrades version i + 1 to i + 2. */
static const char *const upgrades[] = {
    /* 1 -> 2: signature verdicts and idempotency keys */
    "ALTER TABLE deliveries ADD COLUMN sig_scheme TEXT;"
    "ALTER TABLE deliveries ADD COLUMN sig_status TEXT;"
    "ALTER TABLE deliveries ADD COLUMN sig_reason TEXT;"
    "ALTER TABLE deliveries ADD COLUMN sig_secret_index INTEGER;"
    "ALTER TABLE deliveries ADD COLUMN message_id TEXT;",
    /* 2 -> 3: event names and schema verdicts */
    "ALTER TABLE deliveries ADD COLUMN event TEXT;"
    "ALTER TABLE deliveries ADD COLUMN schema_status TEXT;"
    "ALTER TABLE deliveries ADD COLUMN schema_name TEXT;"
    "ALTER TABLE deliveries ADD COLUMN schema_errors TEXT;",
    /* 3 -> 4: scripted responses and attempts per message */
    "ALTER TABLE deliveries ADD COLUMN fault TEXT;"
    "ALTER TABLE deliveries ADD COLUMN rule INTEGER;"
    "ALTER TABLE deliveries ADD COLUMN delay_ms INTEGER;"
    "ALTER TABLE deliveries ADD COLUMN responded_us INTEGER;"
    "ALTER TABLE deliveries ADD COLUMN message_key TEXT;"
    "ALTER TABLE deliveries ADD COLUMN attempt INTEGER;"
    "ALTER TABLE deliveries ADD COLUMN since_previous_us INTEGER;",
};

/* BODY: the body column, or an empty blob in its place for lists (delivery_filter.no_body) */
#define COLUMNS_WITH(BODY)                                                                      \
    "id, received_us, endpoint, method, path, query, headers, body_size, truncated, "           \
    "remote_addr, status, " BODY ", sig_scheme, sig_status, sig_reason, sig_secret_index, "    \
    "message_id, event, schema_status, schema_name, schema_errors, fault, rule, delay_ms, "     \
    "responded_us, message_key, attempt, since_previous_us"
#define COLUMNS COLUMNS_WITH("body")

static int wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
    store *s = arg;
    s->wal_frames = frames;
    return SQLITE_OK;
}

static int sqlite_errno(int rc)
{
    switch (rc & 0xFF) {
    case SQLITE_NOMEM:
        return -ENOMEM;
    case SQLITE_CANTOPEN:
        return -ENOENT;
    case SQLITE_PERM:
    case SQLITE_READONLY:
    case SQLITE_AUTH:
        return -EACCES;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return -EBUSY;
    case SQLITE_FULL:
        return -ENOSPC;
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
        return -EPROTO;
    default:
        return -EIO;
    }
}

static int fail(store *s, int rc, struct wh_error *err, const char *what)
{
    return wh_error_set(err, sqlite_errno(rc), "database %s: %s: %s", s->path, what,
                        s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
}

static int exec(store *s, const char *sql, struct wh_error *err)
{
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : fail(s, rc, err, sql);
}

static int user_version(store *s, int *ret, struct wh_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        *ret = sqlite3_column_int(st, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_OK ? 0 : fail(s, rc, err, "reading the schema version");
}

static int migrate(store *s, struct wh_error *err)
{
    int v, r;
    if ((r = user_version(s, &v, err)) < 0)
        return r;
    if (v > SCHEMA_VERSION)
        return wh_error_set(err, -EPROTO,
                            "database %s was written by a newer webhooky (schema %d, this one "
                            "knows %d)", s->path, v, SCHEMA_VERSION);
    if (v == SCHEMA_VERSION)
        return 0;
    if ((r = exec(s, "BEGIN IMMEDIATE", err)) < 0)
        return r;
    /* another process may have migrated between our check and the lock */
    if ((r = user_version(s, &v, err)) < 0)
        goto fail;
    if (v == 0) {
        r = exec(s, schema_sql, err);
        v = SCHEMA_VERSION;
    }
    for (; r == 0 && v < SCHEMA_VERSION; v++)
        r = exec(s, upgrades[v - 1], err);
    if (r == 0) {
        char sql[48];
        snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", SCHEMA_VERSION);
        r = exec(s, sql, err);
    }
    if (r < 0)
        goto fail;
    return exec(s, "COMMIT", err);
fail:
    store_rollback(s);
    return r;
}

static int check_schema(store *s, struct wh_error *err)
{
    int v, r;
    if ((r = user_version(s, &v, err)) < 0)
        return r;
    if (v == 0)
        return wh_error_set(err, -EPROTO, "%s is not a webhooky database (no deliveries table)",
                            s->path);
    if (v > SCHEMA_VERSION)
        return wh_error_set(err, -EPROTO, "database %s was written by a newer webhooky",
                            s->path);
    return 0;
}

/* Process-wide SQLite settings, once, before the first connection: no memory statistics (they
 * take a global mutex on every allocation). */
static void configure_sqlite(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

void store_memory_uri(char *out, size_t size)
{
    static atomic_uint counter;
    snprintf(out, size, "file:webhooky-mem-%ld-%u?mode=memory&cache=shared", (long)getpid(),
             atomic_fetch_add(&counter, 1));
}

int store_open(const char *path, int flags, store **ret, struct wh_error *err)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, configure_sqlite);
    store *s = calloc(1, sizeof(*s));
    if (!s)
        return wh_error_set(err, -ENOMEM, "out of memory");
    s->last_id = -1;
    bool uri = strncmp(path, "file:", 5) == 0;
    bool memory = uri && strstr(path, "mode=memory");
    const char *shown = path;
    if (strncmp(path, "file:webhooky-mem-", 18) == 0)
        shown = ":memory:"; /* the name store_memory_uri made up means nothing to a user */
    snprintf(s->path, sizeof(s->path), "%s", shown);
    int oflags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI;
    if (flags & STORE_READONLY)
        oflags |= SQLITE_OPEN_READONLY;
    else
        oflags |= SQLITE_OPEN_READWRITE | ((flags & STORE_CREATE) ? SQLITE_OPEN_CREATE : 0);
    /* a URI names its file inside; SQLite itself then says when it is missing */
    if (!(flags & STORE_CREATE) && !uri && access(path, F_OK) != 0) {
        int r = wh_error_set(err, -ENOENT, "no database at %s (start `webhooky serve --db %s` "
                             "first, or pass --db)", path, path);
        free(s);
        return r;
    }
    /* a writing handle gathers each commit's WAL frames into one write (walvfs.h) */
    const char *vfs = NULL;
    int r, rc;
    if (!memory && !(flags & STORE_READONLY)) {
        if ((r = walvfs_register(err)) < 0) {
            free(s);
            return r;
        }
        vfs = WALVFS_NAME;
    }
    rc = sqlite3_open_v2(path, &s->db, oflags, vfs);
    if (rc != SQLITE_OK) {
        int sys = s->db ? sqlite3_system_errno(s->db) : 0;
        r = wh_error_set(err, sys ? -sys : sqlite_errno(rc), "cannot open database %s: %s%s%s%s",
                         s->path, s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc),
                         sys ? " (" : "", sys ? strerror(sys) : "", sys ? ")" : "");
        goto out;
    }
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, 5000);
    if (memory) {
        /* shared-cache readers would otherwise see SQLITE_LOCKED while the writer commits */
        if ((r = exec(s, "PRAGMA read_uncommitted = 1", err)) < 0)
            goto out;
    } else if (!(flags & STORE_READONLY)) {
        if ((r = exec(s, "PRAGMA journal_mode = WAL", err)) < 0)
            goto out;
        if (flags & STORE_MANUAL_CHECKPOINT) {
            /* the writer's own thread never copies the WAL back; a checkpointer does */
            if ((r = exec(s, "PRAGMA wal_autocheckpoint = 0", err)) < 0)
                goto out;
            sqlite3_wal_hook(s->db, wal_hook, s);
        }
        /* OFF still survives the process dying at any point: every commit is in the OS before
         * it returns. It only leaves flushing to the kernel, which keeps fsync stalls (mostly
         * at checkpoints) out of the answer path. FULL syncs every commit. */
        if ((r = exec(s, (flags & STORE_SYNC_FULL) ? "PRAGMA synchronous = FULL"
                                                   : "PRAGMA synchronous = OFF", err)) < 0)
            goto out;
    }
    r = (flags & STORE_CREATE) ? migrate(s, err) : check_schema(s, err);
    if (r < 0)
        goto out;
    if (!(flags & STORE_READONLY)) {
        rc = sqlite3_prepare_v3(s->db,
                                "INSERT INTO deliveries (received_us, endpoint, method, path, "
                                "query, headers, body_size, truncated, remote_addr, status, body, "
                                "id, sig_scheme, sig_status, sig_reason, sig_secret_index, "
                                "message_id, event, schema_status, schema_name, schema_errors, "
                                "fault, rule, delay_ms, responded_us, message_key, attempt, "
                                "since_previous_us) "
                                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
                                "?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, "
                                "?26, ?27, ?28)",
                                -1, SQLITE_PREPARE_PERSISTENT, &s->insert, NULL);
        if (rc == SQLITE_OK)
            rc = sqlite3_prepare_v3(s->db, "BEGIN IMMEDIATE", -1, SQLITE_PREPARE_PERSISTENT,
                                    &s->begin, NULL);
        if (rc == SQLITE_OK)
            rc = sqlite3_prepare_v3(s->db, "COMMIT", -1, SQLITE_PREPARE_PERSISTENT, &s->commit,
                                    NULL);
        if (rc != SQLITE_OK) {
            r = fail(s, rc, err, "preparing statements");
            goto out;
        }
    }
    *ret = s;
    return 0;
out:
    store_close(s);
    return r;
}

void store_close(store *s)
{
    if (!s)
        return;
    sqlite3_finalize(s->insert);
    sqlite3_finalize(s->begin);
    sqlite3_finalize(s->commit);
    sqlite3_finalize(s->set_response);
    sqlite3_close_v2(s->db);
    free(s);
}

static int step_done(store *s, sqlite3_stmt *st, struct wh_error *err, const char *what)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : fail(s, rc, err, what);
}

int store_begin(store *s, struct wh_error *err)
{
    return step_done(s, s->begin, err, "BEGIN");
}

int store_commit(store *s, struct wh_error *err)
{
    return step_done(s, s->commit, err, "COMMIT");
}

void store_rollback(store *s)
{
    if (!sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

int store_insert(store *s, struct delivery *d, struct wh_error *err)
{
    sqlite3_stmt *st = s->insert;
    if (s->last_id < 0) {
        int r = store_last_id(s, &s->last_id, err);
        if (r < 0)
            return r;
    }
    sqlite3_bind_int64(st, 1, d->received_us);
    bind_text(st, 2, d->endpoint);
    bind_text(st, 3, d->method ? d->method : "");
    sqlite3_bind_blob(st, 4, d->path ? d->path : "", (int)(d->path ? strlen(d->path) : 0),
                      SQLITE_STATIC);
    if (d->query)
        sqlite3_bind_blob(st, 5, d->query, (int)strlen(d->query), SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 5);
    sqlite3_bind_blob(st, 6, d->headers.data ? d->headers.data : "", (int)d->headers.len,
                      SQLITE_STATIC);
    sqlite3_bind_int64(st, 7, (sqlite3_int64)d->body_size);
    sqlite3_bind_int(st, 8, d->truncated);
    sqlite3_bind_text(st, 9, d->remote_addr, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 10, d->status);
    sqlite3_bind_blob64(st, 11, d->body.data ? d->body.data : "", d->body.len, SQLITE_STATIC);
    /* ids come from this counter, not from max(rowid) + 1, so they are never reused after
     * a delete; a failed insert or commit leaves a gap, never a duplicate */
    sqlite3_bind_int64(st, 12, s->last_id + 1);
    bind_text(st, 13, d->sig_scheme);
    bind_text(st, 14, d->sig_status);
    bind_text(st, 15, d->sig_reason);
    if (d->sig_status && d->sig_secret_index >= 0)
        sqlite3_bind_int(st, 16, d->sig_secret_index);
    else
        sqlite3_bind_null(st, 16);
    bind_text(st, 17, d->message_id);
    bind_text(st, 18, d->event);
    bind_text(st, 19, d->schema_status);
    bind_text(st, 20, d->schema_name);
    bind_text(st, 21, d->schema_errors);
    bind_text(st, 22, d->fault);
    if (d->rule >= 0)
        sqlite3_bind_int(st, 23, d->rule);
    else
        sqlite3_bind_null(st, 23);
    sqlite3_bind_int64(st, 24, d->delay_ms);
    if (d->respond_now && !d->responded_us) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        d->responded_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    }
    if (d->responded_us)
        sqlite3_bind_int64(st, 25, d->responded_us);
    else
        sqlite3_bind_null(st, 25);
    bind_text(st, 26, d->message_key);
    if (d->attempt > 0)
        sqlite3_bind_int64(st, 27, d->attempt);
    else
        sqlite3_bind_null(st, 27);
    if (d->since_previous_us >= 0)
        sqlite3_bind_int64(st, 28, d->since_previous_us);
    else
        sqlite3_bind_null(st, 28);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE)
        return fail(s, rc, err, "storing a delivery");
    d->id = ++s->last_id;
    return 0;
}

/* Append " WHERE ..." for the filter; where_bind binds its parameters ?1 to ?10 (?5 is the
 * limit). Only fixed
 * SQL fragments go into the text. */
static void where_sql(struct buf *sql, const struct delivery_filter *f)
{
    buf_append_str(sql, " WHERE id > ?1");
    if (f->upto_id > 0)
        buf_append_str(sql, " AND id <= ?2");
    if (f->endpoint)
        buf_append_str(sql, strcmp(f->endpoint, FILTER_CATCH_ALL) == 0 ? " AND endpoint IS NULL"
                                                                        : " AND endpoint = ?3");
    if (f->method)
        buf_append_str(sql, " AND method = ?4");
    if (f->event)
        buf_append_str(sql, " AND event = ?6");
    if (f->signature)
        buf_append_str(sql, strcmp(f->signature, FILTER_NOT_CONFIGURED) == 0
                                ? " AND sig_status IS NULL" : " AND sig_status = ?7");
    if (f->schema)
        buf_append_str(sql, strcmp(f->schema, FILTER_NOT_CONFIGURED) == 0
                                ? " AND schema_status IS NULL" : " AND schema_status = ?8");
    if (f->text)
        buf_append_str(sql, " AND instr(body, ?9) > 0");
    if (f->before_id > 0)
        buf_append_str(sql, " AND id < ?10");
}

static void where_bind(sqlite3_stmt *st, const struct delivery_filter *f)
{
    sqlite3_bind_int64(st, 1, f->since_id);
    if (f->upto_id > 0)
        sqlite3_bind_int64(st, 2, f->upto_id);
    if (f->endpoint && strcmp(f->endpoint, FILTER_CATCH_ALL) != 0)
        sqlite3_bind_text(st, 3, f->endpoint, -1, SQLITE_STATIC);
    if (f->method)
        sqlite3_bind_text(st, 4, f->method, -1, SQLITE_STATIC);
    if (f->event)
        sqlite3_bind_text(st, 6, f->event, -1, SQLITE_STATIC);
    if (f->signature && strcmp(f->signature, FILTER_NOT_CONFIGURED) != 0)
        sqlite3_bind_text(st, 7, f->signature, -1, SQLITE_STATIC);
    if (f->schema && strcmp(f->schema, FILTER_NOT_CONFIGURED) != 0)
        sqlite3_bind_text(st, 8, f->schema, -1, SQLITE_STATIC);
    if (f->text) /* a blob, so that instr() compares bytes */
        sqlite3_bind_blob(st, 9, f->text, (int)strlen(f->text), SQLITE_STATIC);
    if (f->before_id > 0)
        sqlite3_bind_int64(st, 10, f->before_id);
}

static int prepare(store *s, struct buf *sql, sqlite3_stmt **st, struct wh_error *err)
{
    if (!sql->data)
        return wh_error_set(err, -ENOMEM, "out of memory");
    int rc = sqlite3_prepare_v2(s->db, sql->data, (int)sql->len, st, NULL);
    return rc == SQLITE_OK ? 0 : fail(s, rc, err, "preparing a query");
}

static char *dup_column(sqlite3_stmt *st, int i)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        return NULL;
    const void *p = sqlite3_column_blob(st, i);
    int n = sqlite3_column_bytes(st, i);
    char *s = malloc((size_t)n + 1);
    if (s) {
        if (n)
            memcpy(s, p, (size_t)n);
        s[n] = '\0';
    }
    return s;
}

static int copy_blob(struct buf *b, sqlite3_stmt *st, int i)
{
    const void *p = sqlite3_column_blob(st, i);
    int n = sqlite3_column_bytes(st, i);
    buf_reset(b);
    return buf_append(b, p ? p : "", (size_t)n);
}

/* Fill d (already created, possibly holding a previous row) from the current row. */
static int read_row(sqlite3_stmt *st, struct delivery *d)
{
    free(d->endpoint);
    free(d->method);
    free(d->path);
    free(d->query);
    free(d->sig_scheme);
    free(d->sig_status);
    free(d->sig_reason);
    free(d->message_id);
    d->sig_scheme = dup_column(st, 12);
    d->sig_status = dup_column(st, 13);
    d->sig_reason = dup_column(st, 14);
    d->sig_secret_index = sqlite3_column_type(st, 15) == SQLITE_NULL ? -1
                                                                     : sqlite3_column_int(st, 15);
    d->message_id = dup_column(st, 16);
    free(d->event);
    free(d->schema_status);
    free(d->schema_name);
    free(d->schema_errors);
    d->event = dup_column(st, 17);
    d->schema_status = dup_column(st, 18);
    d->schema_name = dup_column(st, 19);
    d->schema_errors = dup_column(st, 20);
    free(d->fault);
    free(d->message_key);
    d->fault = dup_column(st, 21);
    d->rule = sqlite3_column_type(st, 22) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 22);
    d->delay_ms = sqlite3_column_int64(st, 23);
    d->responded_us = sqlite3_column_int64(st, 24);
    d->message_key = dup_column(st, 25);
    d->attempt = sqlite3_column_int64(st, 26);
    d->since_previous_us =
        sqlite3_column_type(st, 27) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 27);
    d->id = sqlite3_column_int64(st, 0);
    d->received_us = sqlite3_column_int64(st, 1);
    d->endpoint = dup_column(st, 2);
    d->method = dup_column(st, 3);
    d->path = dup_column(st, 4);
    d->query = dup_column(st, 5);
    if (!d->method || !d->path)
        return -ENOMEM;
    if (copy_blob(&d->headers, st, 6) < 0)
        return -ENOMEM;
    d->n_headers = 0;
    struct header_iter it;
    const char *n, *v;
    size_t nl, vl;
    header_iter_init(&it, d->headers.data, d->headers.len);
    while (header_iter_next(&it, &n, &nl, &v, &vl))
        d->n_headers++;
    d->body_size = (uint64_t)sqlite3_column_int64(st, 7);
    d->truncated = sqlite3_column_int(st, 8) != 0;
    const unsigned char *ra = sqlite3_column_text(st, 9);
    snprintf(d->remote_addr, sizeof(d->remote_addr), "%s", ra ? (const char *)ra : "");
    d->status = sqlite3_column_int(st, 10);
    if (copy_blob(&d->body, st, 11) < 0)
        return -ENOMEM;
    return 0;
}

int store_foreach(store *s, const struct delivery_filter *f, store_row_fn fn, void *arg,
                  struct wh_error *err)
{
    struct buf sql;
    buf_init(&sql, 0);
    buf_append_str(&sql, f->no_body ? "SELECT " COLUMNS_WITH("x''") " FROM deliveries"
                                    : "SELECT " COLUMNS " FROM deliveries");
    where_sql(&sql, f);
    buf_append_str(&sql, f->desc ? " ORDER BY id DESC" : " ORDER BY id ASC");
    if (f->limit > 0)
        buf_append_str(&sql, " LIMIT ?5");
    sqlite3_stmt *st = NULL;
    struct delivery *d = NULL;
    int r = prepare(s, &sql, &st, err);
    buf_finish(&sql);
    if (r < 0)
        return r;
    where_bind(st, f);
    if (f->limit > 0)
        sqlite3_bind_int64(st, 5, f->limit);
    d = delivery_create();
    if (!d) {
        r = wh_error_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (read_row(st, d) < 0) {
            r = wh_error_set(err, -ENOMEM, "out of memory");
            goto out;
        }
        if ((r = fn(arg, d)) != 0)
            goto out;
    }
    if (rc != SQLITE_DONE)
        r = fail(s, rc, err, "reading deliveries");
out:
    delivery_destroy(d);
    sqlite3_finalize(st);
    return r;
}

int store_get(store *s, int64_t id, struct delivery **ret, struct wh_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, "SELECT " COLUMNS " FROM deliveries WHERE id = ?1", -1,
                                &st, NULL);
    if (rc != SQLITE_OK)
        return fail(s, rc, err, "preparing a query");
    sqlite3_bind_int64(st, 1, id);
    int r;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        struct delivery *d = delivery_create();
        if (!d || read_row(st, d) < 0) {
            delivery_destroy(d);
            r = wh_error_set(err, -ENOMEM, "out of memory");
        } else {
            *ret = d;
            r = 0;
        }
    } else if (rc == SQLITE_DONE) {
        r = wh_error_set(err, -ENOENT, "no delivery with id %" PRId64, id);
    } else {
        r = fail(s, rc, err, "reading a delivery");
    }
    sqlite3_finalize(st);
    return r;
}

static int scalar(store *s, struct buf *sql, const struct delivery_filter *f, int64_t *ret,
                  struct wh_error *err, const char *what)
{
    sqlite3_stmt *st = NULL;
    int r = prepare(s, sql, &st, err);
    if (r < 0)
        return r;
    if (f) {
        where_bind(st, f);
        if (sqlite3_bind_parameter_count(st) >= 5)
            sqlite3_bind_int64(st, 5, f->limit);
    }
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *ret = sqlite3_column_int64(st, 0);
        r = 0;
    } else if (rc == SQLITE_DONE) {
        *ret = sqlite3_changes64(s->db);
        r = 0;
    } else {
        r = fail(s, rc, err, what);
    }
    sqlite3_finalize(st);
    return r;
}

int store_count(store *s, const struct delivery_filter *f, int64_t *ret, struct wh_error *err)
{
    struct buf sql;
    buf_init(&sql, 0);
    /* with a limit, stop counting there: "are there at least K?" must not scan the table */
    buf_append_str(&sql, "SELECT count(*) FROM (SELECT 1 FROM deliveries");
    where_sql(&sql, f);
    if (f->limit > 0)
        buf_append_str(&sql, " LIMIT ?5");
    buf_append_str(&sql, ")");
    int r = scalar(s, &sql, f, ret, err, "counting deliveries");
    buf_finish(&sql);
    return r;
}

int store_delete(store *s, const struct delivery_filter *f, int64_t *ret_n, struct wh_error *err)
{
    /* ids are never reused: remember the highest one before rows can disappear */
    int r = exec(s, "INSERT INTO meta (key, value) SELECT 'last_id', coalesce(max(id), 0) "
                    "FROM deliveries WHERE true "
                    "ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)", err);
    if (r < 0)
        return r;
    struct buf sql;
    buf_init(&sql, 0);
    buf_append_str(&sql, "DELETE FROM deliveries");
    where_sql(&sql, f);
    r = scalar(s, &sql, f, ret_n, err, "deleting deliveries");
    buf_finish(&sql);
    return r;
}

int store_checkpoint(store *s, int *ret_backfilled, struct wh_error *err)
{
    int log = 0, done = 0;
    int rc = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY)
        return fail(s, rc, err, "checkpoint");
    if (ret_backfilled)
        *ret_backfilled = done;
    return 0;
}

int store_wal_frames(const store *s)
{
    return s->wal_frames;
}

int store_last_id(store *s, int64_t *ret, struct wh_error *err)
{
    struct buf sql;
    buf_init(&sql, 0);
    buf_append_str(&sql, "SELECT max(coalesce((SELECT max(id) FROM deliveries), 0), "
                         "coalesce((SELECT value FROM meta WHERE key = 'last_id'), 0))");
    int r = scalar(s, &sql, NULL, ret, err, "reading the last id");
    buf_finish(&sql);
    return r;
}

int store_set_response(store *s, int64_t id, int status, int64_t delay_ms, int64_t responded_us,
                       struct wh_error *err)
{
    if (!s->set_response) {
        int rc = sqlite3_prepare_v3(s->db,
                                    "UPDATE deliveries SET delay_ms = ?2, responded_us = ?3, "
                                    "status = ?4 WHERE id = ?1",
                                    -1, SQLITE_PREPARE_PERSISTENT, &s->set_response, NULL);
        if (rc != SQLITE_OK)
            return fail(s, rc, err, "preparing an update");
    }
    sqlite3_bind_int64(s->set_response, 1, id);
    sqlite3_bind_int64(s->set_response, 2, delay_ms);
    sqlite3_bind_int64(s->set_response, 3, responded_us);
    sqlite3_bind_int(s->set_response, 4, status);
    return step_done(s, s->set_response, err, "recording a response");
}

int store_foreach_attempt(store *s, const struct delivery_filter *f, store_attempt_fn fn,
                          void *arg, struct wh_error *err)
{
    struct buf sql;
    buf_init(&sql, 0);
    buf_append_str(&sql, "SELECT id, received_us, endpoint, message_key, message_id, status, "
                         "fault, delay_ms, rule, attempt, since_previous_us FROM deliveries");
    where_sql(&sql, f);
    buf_append_str(&sql, " ORDER BY id ASC");
    sqlite3_stmt *st = NULL;
    int r = prepare(s, &sql, &st, err);
    buf_finish(&sql);
    if (r < 0)
        return r;
    where_bind(st, f);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_attempt a = {
            .id = sqlite3_column_int64(st, 0),
            .received_us = sqlite3_column_int64(st, 1),
            .endpoint = (const char *)sqlite3_column_text(st, 2),
            .message_key = (const char *)sqlite3_column_text(st, 3),
            .message_id = (const char *)sqlite3_column_text(st, 4),
            .status = sqlite3_column_int(st, 5),
            .fault = (const char *)sqlite3_column_text(st, 6),
            .delay_ms = sqlite3_column_int64(st, 7),
            .rule = sqlite3_column_type(st, 8) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 8),
            .attempt = sqlite3_column_int64(st, 9),
            .since_previous_us = sqlite3_column_type(st, 10) == SQLITE_NULL
                                     ? -1
                                     : sqlite3_column_int64(st, 10),
        };
        if ((r = fn(arg, &a)) != 0)
            goto out;
    }
    if (rc != SQLITE_DONE)
        r = fail(s, rc, err, "reading attempts");
out:
    sqlite3_finalize(st);
    return r;
}
