/* Unit tests for walvfs: a commit's WAL frames leave in one write, and the WAL it leaves is
 * the one SQLite would have written (other connections see every commit, a process killed
 * after a commit loses nothing, spilled and rolled-back frames never reach another writer's
 * part of the file, frames rewritten in place keep a valid checksum chain). */
#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"
#include "walvfs.h"

static char dir[64];
static char path[128];

static void make_dir(void)
{
    unit_mkdtemp(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/w.db", dir);
}

static void remove_dir(void)
{
    unit_rmtree(dir);
}

static void exec_ok(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    ck_assert_msg(rc == SQLITE_OK, "%s: %s", sql, msg ? msg : sqlite3_errstr(rc));
}

static int64_t query_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void check_integrity(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
}

/* A connection as the receiver's writer opens one: WAL, synchronous OFF, no autocheckpoint;
 * vfs NULL is SQLite's default. */
static sqlite3 *open_db(const char *vfs)
{
    struct wh_error err = {0};
    ck_assert_msg(walvfs_register(&err) == 0, "%s", err.msg);
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs);
    ck_assert_msg(rc == SQLITE_OK, "open %s: %s", path, sqlite3_errstr(rc));
    sqlite3_busy_timeout(db, 5000);
    exec_ok(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF; "
                "PRAGMA wal_autocheckpoint = 0;"
                "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, tag TEXT, v BLOB)");
    return db;
}

/* Insert n rows of size bytes each (a random blob, so pages differ) tagged tag. */
static void insert_rows(sqlite3 *db, const char *tag, int n, int size)
{
    sqlite3_stmt *st = NULL;
    ck_assert_int_eq(
        sqlite3_prepare_v2(db, "INSERT INTO t (tag, v) VALUES (?1, randomblob(?2))", -1, &st, NULL),
        SQLITE_OK);
    for (int i = 0; i < n; i++) {
        sqlite3_bind_text(st, 1, tag, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 2, size);
        ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
}

/* insert_rows() in a transaction of its own */
static void commit_rows(sqlite3 *db, const char *tag, int n, int size)
{
    exec_ok(db, "BEGIN IMMEDIATE");
    insert_rows(db, tag, n, size);
    exec_ok(db, "COMMIT");
}

/* write(2)-family calls this process has made so far (/proc/self/io), or -1. Asserts nothing:
 * with Check's fork mode every assertion is a write of its own. */
static long write_calls(void)
{
    FILE *f = fopen("/proc/self/io", "r");
    char line[128];
    long n = -1;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "syscw: %ld", &n) == 1)
            break;
    if (f)
        fclose(f);
    return n;
}

/* The write calls one COMMIT of a transaction of n rows of size bytes makes. */
static long commit_writes(sqlite3 *db, int n, int size)
{
    exec_ok(db, "BEGIN IMMEDIATE");
    insert_rows(db, "c", n, size);
    long before = write_calls();
    int rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    long after = write_calls();
    ck_assert_int_eq(rc, SQLITE_OK);
    ck_assert_msg(before >= 0 && after >= 0, "/proc/self/io has no syscw");
    return after - before;
}

START_TEST(test_commit_is_one_write)
{
    sqlite3 *db = open_db(WALVFS_NAME);
    /* 20 rows of 3000 bytes: a page each, and the root; the first commit of a new WAL
     * writes its header too */
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(commit_writes(db, 20, 3000), 1);
    /* one small row: one frame, the last leaf */
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(commit_writes(db, 1, 100), 1);
    ck_assert_int_eq(query_int(db, "SELECT count(*) FROM t"), 110);
    sqlite3_close(db);

    /* the measure itself: SQLite's own VFS writes each frame in two calls */
    db = open_db(NULL);
    ck_assert_int_ge(commit_writes(db, 20, 3000), 40);
    ck_assert_int_eq(commit_writes(db, 1, 100), 2);
    sqlite3_close(db);
}
END_TEST

START_TEST(test_every_commit_visible_to_another_connection)
{
    sqlite3 *w = open_db(WALVFS_NAME);
    sqlite3 *r = open_db(NULL);
    int64_t total = 0;
    for (int i = 1; i <= 150; i++) {
        int n = i % 7 + 1, size = 200 + (i * 337) % 3500;
        commit_rows(w, "v", n, size);
        total += n;
        ck_assert_int_eq(query_int(r, "SELECT count(*) FROM t"), total);
        ck_assert_int_eq(query_int(r, "SELECT max(length(v)) FROM t WHERE id = "
                                      "(SELECT max(id) FROM t)"),
                         size);
    }
    check_integrity(r);
    sqlite3_close(r);
    sqlite3_close(w);
}
END_TEST

/* Runs in a child: commits, then dies by SIGKILL without closing anything. */
static void commit_and_die(int transactions, bool rewrite)
{
    sqlite3 *db = open_db(WALVFS_NAME);
    if (rewrite) {
        /* a cache this small spills to the WAL in mid-transaction; updating the spilled rows
         * makes SQLite rewrite those frames in place and fix their checksums at commit */
        exec_ok(db, "PRAGMA cache_size = 10");
    }
    for (int i = 0; i < transactions; i++) {
        exec_ok(db, "BEGIN IMMEDIATE");
        insert_rows(db, "k", rewrite ? 300 : 3, 1500);
        if (rewrite)
            exec_ok(db, "UPDATE t SET tag = 'u' WHERE id % 3 = 0");
        exec_ok(db, "COMMIT");
    }
    raise(SIGKILL);
}

static void run_killed_child(int transactions, bool rewrite)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        commit_and_die(transactions, rewrite); /* a failed assertion exits non-zero */
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
                  "the child failed before it was killed (status %d)", status);
}

START_TEST(test_killed_writer_loses_no_commit)
{
    run_killed_child(400, false);
    /* the WAL is read back from the file alone: its checksums must chain through every frame */
    sqlite3 *db = open_db(NULL);
    ck_assert_int_eq(query_int(db, "SELECT count(*) FROM t"), 1200);
    check_integrity(db);
    sqlite3_close(db);
}
END_TEST

START_TEST(test_frames_rewritten_in_place)
{
    run_killed_child(3, true);
    sqlite3 *db = open_db(NULL);
    ck_assert_int_eq(query_int(db, "SELECT count(*) FROM t"), 900);
    ck_assert_int_eq(query_int(db, "SELECT count(*) FROM t WHERE tag = 'u'"), 300);
    check_integrity(db);
    sqlite3_close(db);
}
END_TEST

START_TEST(test_rolled_back_spill_never_overwrites_another_writer)
{
    sqlite3 *w = open_db(WALVFS_NAME);
    sqlite3 *other = open_db(NULL);
    exec_ok(w, "PRAGMA cache_size = 10");
    exec_ok(w, "BEGIN IMMEDIATE");
    /* some 20 pages with room for 10: part of them spill to the WAL, fewer than one gathered
     * run holds, so that they are still gathered when the transaction rolls back */
    insert_rows(w, "spilled", 40, 2000);
    exec_ok(w, "ROLLBACK");
    /* another writer now writes its frames where the rolled-back ones were */
    commit_rows(other, "other", 50, 1000);
    commit_rows(w, "mine", 5, 1000);
    sqlite3_close(w);
    ck_assert_int_eq(query_int(other, "SELECT count(*) FROM t WHERE tag = 'other'"), 50);
    ck_assert_int_eq(query_int(other, "SELECT count(*) FROM t WHERE tag = 'mine'"), 5);
    ck_assert_int_eq(query_int(other, "SELECT count(*) FROM t WHERE tag = 'spilled'"), 0);
    check_integrity(other);
    sqlite3_close(other);
}
END_TEST

START_TEST(test_checkpoint_and_restart)
{
    /* the WAL is copied back and started again from its beginning many times over */
    sqlite3 *w = open_db(WALVFS_NAME);
    sqlite3 *ck = open_db(NULL);
    for (int i = 0; i < 300; i++) {
        commit_rows(w, "r", 4, 1000);
        if (i % 10 == 9)
            ck_assert_int_eq(
                sqlite3_wal_checkpoint_v2(ck, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL),
                SQLITE_OK);
    }
    ck_assert_int_eq(query_int(ck, "SELECT count(*) FROM t"), 1200);
    check_integrity(ck);
    sqlite3_close(ck);
    sqlite3_close(w);
}
END_TEST

/* A commit whose run cannot be written fails, as SQLite's own would, and nothing of it shows;
 * the connection goes on once the file can grow again. */
START_TEST(test_failed_write_fails_the_commit)
{
    sqlite3 *w = open_db(WALVFS_NAME);
    sqlite3 *r = open_db(NULL);
    commit_rows(w, "first", 5, 1000);
    char wal[160];
    snprintf(wal, sizeof(wal), "%s-wal", path);
    struct stat st;
    ck_assert_int_eq(stat(wal, &st), 0);

    /* the file may grow by one frame, not by the 21 of the next commit */
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit old, lim;
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = (rlim_t)st.st_size + 4120;
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    exec_ok(w, "BEGIN IMMEDIATE");
    insert_rows(w, "lost", 20, 3000);
    int rc = sqlite3_exec(w, "COMMIT", NULL, NULL, NULL);
    ck_assert_msg(rc != SQLITE_OK, "the commit succeeded though its frames could not be written");
    sqlite3_exec(w, "ROLLBACK", NULL, NULL, NULL);
    ck_assert_int_eq(query_int(r, "SELECT count(*) FROM t WHERE tag = 'lost'"), 0);

    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
    commit_rows(w, "later", 20, 3000);
    ck_assert_int_eq(query_int(r, "SELECT count(*) FROM t WHERE tag = 'later'"), 20);
    ck_assert_int_eq(query_int(r, "SELECT count(*) FROM t"), 25);
    check_integrity(r);
    sqlite3_close(r);
    sqlite3_close(w);
}
END_TEST

static unsigned gave_way;

static void count_give_way(void)
{
    gave_way++;
}

/* Checkpoint everything in the WAL from the calling thread; returns the frames copied. */
static int checkpoint_all(sqlite3 *db)
{
    int log = 0, done = 0;
    ck_assert_int_eq(sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done),
                     SQLITE_OK);
    ck_assert_int_eq(done, log);
    return done;
}

static void *checkpoint_thread(void *arg)
{
    checkpoint_all(arg);
    return NULL;
}

START_TEST(test_give_way_while_copying)
{
    sqlite3 *w = open_db(WALVFS_NAME);
    sqlite3 *ck = open_db(WALVFS_NAME);
    /* 1000 rows of 3000 bytes: a page each, written once to the database by the checkpoint */
    commit_rows(w, "g", 1000, 3000);
    walvfs_give_way(count_give_way);
    ck_assert_int_ge(checkpoint_all(ck), 1000);
    ck_assert_uint_ge(gave_way, 1000 / WALVFS_GIVE_WAY_PAGES);
    ck_assert_uint_le(gave_way, 1100 / WALVFS_GIVE_WAY_PAGES);

    /* another thread's copy, and this thread's once it stopped, call nothing */
    unsigned before = gave_way;
    commit_rows(w, "g", 1000, 3000);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, checkpoint_thread, ck), 0);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    ck_assert_uint_eq(gave_way, before);
    walvfs_give_way(NULL);
    commit_rows(w, "g", 1000, 3000);
    ck_assert_int_ge(checkpoint_all(ck), 1000);
    ck_assert_uint_eq(gave_way, before);
    ck_assert_int_eq(query_int(ck, "SELECT count(*) FROM t"), 3000);
    sqlite3_close(ck);
    sqlite3_close(w);
}
END_TEST

START_TEST(test_register_twice)
{
    struct wh_error err = {0};
    ck_assert_int_eq(walvfs_register(&err), 0);
    ck_assert_int_eq(walvfs_register(&err), 0);
    ck_assert_ptr_nonnull(sqlite3_vfs_find(WALVFS_NAME));
    ck_assert_ptr_ne(sqlite3_vfs_find(NULL), sqlite3_vfs_find(WALVFS_NAME));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("walvfs");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, make_dir, remove_dir);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_commit_is_one_write);
    tcase_add_test(tc, test_every_commit_visible_to_another_connection);
    tcase_add_test(tc, test_killed_writer_loses_no_commit);
    tcase_add_test(tc, test_frames_rewritten_in_place);
    tcase_add_test(tc, test_rolled_back_spill_never_overwrites_another_writer);
    tcase_add_test(tc, test_checkpoint_and_restart);
    tcase_add_test(tc, test_failed_write_fails_the_commit);
    tcase_add_test(tc, test_give_way_while_copying);
    tcase_add_test(tc, test_register_twice);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
