/* Unit tests for store: the SQLite file of deliveries (round trips, queries, deletes, ids
 * that are never reused, opening errors, shared in-memory databases). */
#include <check.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "unit.h"

static char dir[64];

static void make_dir(void)
{
    unit_mkdtemp(dir, sizeof(dir));
}

static void remove_dir(void)
{
    unit_rmtree(dir);
}

static void db_path(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s/%s", dir, name);
}

static char *xstrdup(const char *s)
{
    char *p = strdup(s);
    ck_assert_ptr_nonnull(p);
    return p;
}

static store *open_ok(const char *path, int flags)
{
    store *s = NULL;
    struct wh_error err = {0};
    int r = store_open(path, flags, &s, &err);
    ck_assert_msg(r == 0, "store_open(%s) = %d: %s", path, r, err.msg);
    ck_assert_ptr_nonnull(s);
    return s;
}

static struct delivery *make(const char *endpoint, const char *method, const char *body)
{
    struct delivery *d = delivery_create();
    ck_assert_ptr_nonnull(d);
    d->received_us = 1700000000000000LL;
    d->endpoint = endpoint ? xstrdup(endpoint) : NULL;
    d->method = xstrdup(method);
    d->path = xstrdup("/p");
    ck_assert_int_eq(buf_append_str(&d->body, body), 0);
    d->body_size = strlen(body);
    snprintf(d->remote_addr, sizeof(d->remote_addr), "127.0.0.1:1");
    d->status = 200;
    return d;
}

static int64_t insert(store *s, const char *endpoint, const char *method)
{
    struct delivery *d = make(endpoint, method, "x");
    struct wh_error err = {0};
    int r = store_insert(s, d, &err);
    ck_assert_msg(r == 0, "store_insert = %d: %s", r, err.msg);
    int64_t id = d->id;
    delivery_destroy(d);
    return id;
}

static int64_t count(store *s, const struct delivery_filter *f)
{
    int64_t n = -1;
    struct wh_error err = {0};
    int r = store_count(s, f, &n, &err);
    ck_assert_msg(r == 0, "store_count = %d: %s", r, err.msg);
    return n;
}

static int64_t count_all(store *s)
{
    struct delivery_filter f;
    filter_init(&f);
    return count(s, &f);
}

static int64_t last_id(store *s)
{
    int64_t id = -1;
    struct wh_error err = {0};
    ck_assert_int_eq(store_last_id(s, &id, &err), 0);
    return id;
}

static int64_t delete (store *s, const struct delivery_filter *f)
{
    int64_t n = -1;
    struct wh_error err = {0};
    int r = store_delete(s, f, &n, &err);
    ck_assert_msg(r == 0, "store_delete = %d: %s", r, err.msg);
    return n;
}

static int64_t delete_all(store *s)
{
    struct delivery_filter f;
    filter_init(&f);
    return delete (s, &f);
}

static void assert_same(const struct delivery *a, const struct delivery *b)
{
    ck_assert_int_eq(a->id, b->id);
    ck_assert_int_eq(a->received_us, b->received_us);
    ck_assert_pstr_eq(a->endpoint, b->endpoint);
    ck_assert_pstr_eq(a->method, b->method);
    ck_assert_pstr_eq(a->path, b->path);
    ck_assert_pstr_eq(a->query, b->query);
    ck_assert_uint_eq(a->n_headers, b->n_headers);
    ck_assert_uint_eq(a->headers.len, b->headers.len);
    if (a->headers.len)
        ck_assert_mem_eq(a->headers.data, b->headers.data, a->headers.len);
    ck_assert_uint_eq(a->body.len, b->body.len);
    if (a->body.len)
        ck_assert_mem_eq(a->body.data, b->body.data, a->body.len);
    ck_assert_uint_eq(a->body_size, b->body_size);
    ck_assert_int_eq(a->truncated, b->truncated);
    ck_assert_str_eq(a->remote_addr, b->remote_addr);
    ck_assert_int_eq(a->status, b->status);
    ck_assert_pstr_eq(a->sig_scheme, b->sig_scheme);
    ck_assert_pstr_eq(a->sig_status, b->sig_status);
    ck_assert_pstr_eq(a->sig_reason, b->sig_reason);
    ck_assert_int_eq(a->sig_secret_index, b->sig_secret_index);
    ck_assert_pstr_eq(a->message_id, b->message_id);
    ck_assert_pstr_eq(a->fault, b->fault);
    ck_assert_int_eq(a->rule, b->rule);
    ck_assert_int_eq(a->delay_ms, b->delay_ms);
    ck_assert_int_eq(a->responded_us, b->responded_us);
    ck_assert_pstr_eq(a->message_key, b->message_key);
    ck_assert_int_eq(a->attempt, b->attempt);
    ck_assert_int_eq(a->since_previous_us, b->since_previous_us);
}

static struct delivery *rich_delivery(void)
{
    struct delivery *d = delivery_create();
    ck_assert_ptr_nonnull(d);
    d->received_us = 1795761594123456LL;
    d->endpoint = xstrdup("github");
    d->method = xstrdup("POST");
    d->path = xstrdup("/hooks/github/caf\xC3\xA9%20x");
    d->query = xstrdup("a=1&b=\xFF");
    ck_assert_int_eq(delivery_add_header(d, "Host", 4, "example", 7), 0);
    ck_assert_int_eq(delivery_add_header(d, "X-Dup", 5, "1", 1), 0);
    ck_assert_int_eq(delivery_add_header(d, "X-Dup", 5, "2", 1), 0);
    ck_assert_int_eq(delivery_add_header(d, "X-Bin", 5, "\0\xFF\r\n", 4), 0);
    ck_assert_int_eq(delivery_add_header(d, "X-Empty", 7, "", 0), 0);
    /* a binary body with NULs and every byte value, larger than a page */
    for (int i = 0; i < 70000; i++)
        ck_assert_int_eq(buf_append_byte(&d->body, (char)(i * 7 % 256)), 0);
    d->body_size = 1 << 20;
    d->truncated = true;
    snprintf(d->remote_addr, sizeof(d->remote_addr), "[::1]:8080");
    d->status = 201;
    d->sig_scheme = xstrdup("github");
    d->sig_status = xstrdup("invalid");
    d->sig_reason = xstrdup("none of 2 signatures matched");
    d->sig_secret_index = -1;
    d->message_id = xstrdup("72d3162e-cc78-11e3-81ab-4c9367dc0958");
    d->fault = xstrdup("partial");
    d->rule = 2;
    d->delay_ms = 1500;
    d->responded_us = 1795000000123456;
    d->message_key = xstrdup("72d3162e-cc78-11e3-81ab-4c9367dc0958");
    d->attempt = 3;
    d->since_previous_us = 2000123;
    return d;
}

START_TEST(test_round_trip)
{
    char path[128];
    db_path(path, sizeof(path), "rt.db");
    store *s = open_ok(path, STORE_CREATE);
    struct wh_error err = {0};
    ck_assert_int_eq(last_id(s), 0);

    struct delivery *d = rich_delivery();
    ck_assert_int_eq(store_insert(s, d, &err), 0);
    ck_assert_int_eq(d->id, 1);

    struct delivery *got = NULL;
    ck_assert_int_eq(store_get(s, 1, &got, &err), 0);
    ck_assert_ptr_nonnull(got);
    assert_same(d, got);
    ck_assert_uint_eq(got->n_headers, 5);
    size_t len = 0;
    const char *v = delivery_header(got, "x-bin", &len);
    ck_assert_ptr_nonnull(v);
    ck_assert_uint_eq(len, 4);
    ck_assert_mem_eq(v, "\0\xFF\r\n", 4);
    delivery_destroy(got);

    /* catch-all, no query, empty query, empty body, no headers */
    struct delivery *e = make(NULL, "GET", "");
    ck_assert_int_eq(store_insert(s, e, &err), 0);
    ck_assert_int_eq(e->id, 2);
    struct delivery *f = make(NULL, "GET", "");
    f->query = xstrdup("");
    ck_assert_int_eq(store_insert(s, f, &err), 0);
    ck_assert_int_eq(f->id, 3);

    got = NULL;
    ck_assert_int_eq(store_get(s, 2, &got, &err), 0);
    assert_same(e, got);
    ck_assert_ptr_null(got->endpoint);
    ck_assert_ptr_null(got->query);
    ck_assert_uint_eq(got->body.len, 0);
    ck_assert_uint_eq(got->n_headers, 0);
    delivery_destroy(got);
    got = NULL;
    ck_assert_int_eq(store_get(s, 3, &got, &err), 0);
    ck_assert_ptr_nonnull(got->query);
    ck_assert_str_eq(got->query, "");
    delivery_destroy(got);

    /* an id that does not exist */
    got = (struct delivery *)0x1;
    ck_assert_int_eq(store_get(s, 99, &got, &err), -ENOENT);
    ck_assert_ptr_eq(got, (struct delivery *)0x1);
    ck_assert_int_eq(store_get(s, 0, &got, &err), -ENOENT);

    /* the file keeps it all: a new handle reads the same */
    store_close(s);
    s = open_ok(path, STORE_READONLY);
    got = NULL;
    ck_assert_int_eq(store_get(s, 1, &got, &err), 0);
    assert_same(d, got);
    delivery_destroy(got);
    ck_assert_int_eq(count_all(s), 3);
    ck_assert_int_eq(last_id(s), 3);
    store_close(s);
    store_close(NULL);

    delivery_destroy(d);
    delivery_destroy(e);
    delivery_destroy(f);
}
END_TEST

START_TEST(test_ids_increase)
{
    char path[128];
    db_path(path, sizeof(path), "ids.db");
    store *s = open_ok(path, STORE_CREATE);
    int64_t prev = 0;
    for (int i = 0; i < 20; i++) {
        int64_t id = insert(s, "a", "POST");
        ck_assert_int_gt(id, prev);
        prev = id;
    }
    ck_assert_int_eq(prev, 20);
    ck_assert_int_eq(last_id(s), 20);
    store_close(s);
    /* a new handle continues the sequence */
    s = open_ok(path, 0);
    ck_assert_int_eq(insert(s, "a", "POST"), 21);
    store_close(s);
}
END_TEST

/* store_foreach collector */
struct seen {
    int64_t ids[16];
    size_t n;
    int stop_after; /* 0: never */
};

static int collect(void *arg, const struct delivery *d)
{
    struct seen *s = arg;
    ck_assert_uint_lt(s->n, 16);
    ck_assert_ptr_nonnull(d->method);
    s->ids[s->n++] = d->id;
    return s->stop_after && (int)s->n >= s->stop_after ? 7 : 0;
}

static void expect_ids(store *s, const struct delivery_filter *f, const int64_t *want, size_t n)
{
    struct seen seen = {.n = 0};
    struct wh_error err = {0};
    int r = store_foreach(s, f, collect, &seen, &err);
    ck_assert_msg(r == 0, "store_foreach = %d: %s", r, err.msg);
    ck_assert_uint_eq(seen.n, n);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(seen.ids[i] == want[i], "row %zu: id %lld, want %lld", i,
                      (long long)seen.ids[i], (long long)want[i]);
}

#define IDS(...)                                                                                   \
    ((const int64_t[]){__VA_ARGS__}), (sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t))

static store *six(const char *name)
{
    char path[128];
    db_path(path, sizeof(path), name);
    store *s = open_ok(path, STORE_CREATE);
    ck_assert_int_eq(insert(s, "a", "POST"), 1);
    ck_assert_int_eq(insert(s, NULL, "GET"), 2);
    ck_assert_int_eq(insert(s, "b", "POST"), 3);
    ck_assert_int_eq(insert(s, "a", "PUT"), 4);
    ck_assert_int_eq(insert(s, NULL, "POST"), 5);
    ck_assert_int_eq(insert(s, "a", "POST"), 6);
    return s;
}

START_TEST(test_foreach)
{
    store *s = six("foreach.db");
    struct delivery_filter f;

    filter_init(&f);
    expect_ids(s, &f, IDS(1, 2, 3, 4, 5, 6));
    f.desc = true;
    expect_ids(s, &f, IDS(6, 5, 4, 3, 2, 1));
    f.limit = 2;
    expect_ids(s, &f, IDS(6, 5));
    f.desc = false;
    expect_ids(s, &f, IDS(1, 2));

    filter_init(&f);
    f.endpoint = "a";
    expect_ids(s, &f, IDS(1, 4, 6));
    f.endpoint = FILTER_CATCH_ALL;
    expect_ids(s, &f, IDS(2, 5));
    f.endpoint = "b";
    expect_ids(s, &f, IDS(3));
    f.endpoint = "zzz";
    expect_ids(s, &f, NULL, 0);

    filter_init(&f);
    f.method = "POST";
    expect_ids(s, &f, IDS(1, 3, 5, 6));
    f.method = "post";
    expect_ids(s, &f, NULL, 0);

    filter_init(&f);
    f.since_id = 3;
    expect_ids(s, &f, IDS(4, 5, 6));
    f.upto_id = 5;
    expect_ids(s, &f, IDS(4, 5));
    f.since_id = 0;
    expect_ids(s, &f, IDS(1, 2, 3, 4, 5));
    f.since_id = 6;
    f.upto_id = 0;
    expect_ids(s, &f, NULL, 0);

    /* the limit applies after the filter */
    filter_init(&f);
    f.since_id = 2;
    f.limit = 2;
    expect_ids(s, &f, IDS(3, 4));

    filter_init(&f);
    f.endpoint = "a";
    f.method = "POST";
    f.desc = true;
    f.limit = 1;
    expect_ids(s, &f, IDS(6));
    f.endpoint = FILTER_CATCH_ALL;
    f.limit = 0;
    expect_ids(s, &f, IDS(5));
    store_close(s);
}
END_TEST

START_TEST(test_foreach_stop)
{
    store *s = six("stop.db");
    struct delivery_filter f;
    filter_init(&f);
    struct seen seen = {.n = 0, .stop_after = 2};
    struct wh_error err = {0};
    ck_assert_int_eq(store_foreach(s, &f, collect, &seen, &err), 7);
    ck_assert_uint_eq(seen.n, 2);
    ck_assert_int_eq(seen.ids[0], 1);
    ck_assert_int_eq(seen.ids[1], 2);
    store_close(s);
}
END_TEST

START_TEST(test_count)
{
    store *s = six("count.db");
    struct delivery_filter f;
    filter_init(&f);
    ck_assert_int_eq(count(s, &f), 6);
    f.desc = true; /* order does not matter */
    ck_assert_int_eq(count(s, &f), 6);
    /* a limit caps the count ("are there at least K?") */
    f.limit = 1;
    ck_assert_int_eq(count(s, &f), 1);
    f.limit = 6;
    ck_assert_int_eq(count(s, &f), 6);
    f.limit = 100;
    ck_assert_int_eq(count(s, &f), 6);
    f.limit = 0;
    f.endpoint = "a";
    ck_assert_int_eq(count(s, &f), 3);
    f.limit = 2;
    ck_assert_int_eq(count(s, &f), 2);
    f.limit = 4;
    ck_assert_int_eq(count(s, &f), 3);
    f.limit = 0;
    f.method = "POST";
    ck_assert_int_eq(count(s, &f), 2);
    f.since_id = 1;
    f.limit = 5;
    ck_assert_int_eq(count(s, &f), 1);
    filter_init(&f);
    f.endpoint = FILTER_CATCH_ALL;
    ck_assert_int_eq(count(s, &f), 2);
    filter_init(&f);
    f.since_id = 4;
    ck_assert_int_eq(count(s, &f), 2);
    f.since_id = 1;
    f.upto_id = 3;
    ck_assert_int_eq(count(s, &f), 2);
    store_close(s);
}
END_TEST

START_TEST(test_delete)
{
    store *s = six("delete.db");
    struct delivery_filter f;
    filter_init(&f);
    f.endpoint = "a";
    f.limit = 1;   /* ignored */
    f.desc = true; /* ignored */
    ck_assert_int_eq(delete (s, &f), 3);
    filter_init(&f);
    expect_ids(s, &f, IDS(2, 3, 5));

    f.endpoint = FILTER_CATCH_ALL;
    ck_assert_int_eq(delete (s, &f), 2);
    filter_init(&f);
    expect_ids(s, &f, IDS(3));

    f.endpoint = "nothing";
    ck_assert_int_eq(delete (s, &f), 0);
    ck_assert_int_eq(delete_all(s), 1);
    ck_assert_int_eq(count_all(s), 0);
    ck_assert_int_eq(delete_all(s), 0);
    ck_assert_int_eq(last_id(s), 6);
    ck_assert_int_eq(insert(s, "a", "POST"), 7);
    store_close(s);
}
END_TEST

START_TEST(test_delete_by_ids_and_method)
{
    store *s = six("delete2.db");
    struct delivery_filter f;
    filter_init(&f);
    f.since_id = 2;
    f.upto_id = 4;
    ck_assert_int_eq(delete (s, &f), 2);
    filter_init(&f);
    expect_ids(s, &f, IDS(1, 2, 5, 6));
    f.method = "POST";
    ck_assert_int_eq(delete (s, &f), 3);
    filter_init(&f);
    expect_ids(s, &f, IDS(2));
    store_close(s);
}
END_TEST

START_TEST(test_ids_not_reused_after_delete_all)
{
    char path[128];
    db_path(path, sizeof(path), "reuse.db");
    store *s = open_ok(path, STORE_CREATE);
    ck_assert_int_eq(insert(s, "a", "POST"), 1);
    ck_assert_int_eq(insert(s, "a", "POST"), 2);
    ck_assert_int_eq(insert(s, "a", "POST"), 3);
    ck_assert_int_eq(delete_all(s), 3);
    store_close(s);

    s = open_ok(path, 0);
    ck_assert_int_eq(last_id(s), 3);
    ck_assert_int_eq(insert(s, "a", "POST"), 4);
    store_close(s);
}
END_TEST

START_TEST(test_ids_not_reused_after_delete_newest)
{
    char path[128];
    db_path(path, sizeof(path), "reuse2.db");
    store *s = open_ok(path, STORE_CREATE);
    for (int i = 0; i < 3; i++)
        insert(s, "a", "POST");
    struct delivery_filter f;
    filter_init(&f);
    f.since_id = 2;
    ck_assert_int_eq(delete (s, &f), 1);
    store_close(s);

    s = open_ok(path, 0);
    ck_assert_int_eq(last_id(s), 3);
    ck_assert_int_eq(insert(s, "a", "POST"), 4);
    store_close(s);
}
END_TEST

START_TEST(test_ids_not_reused_same_handle)
{
    char path[128];
    db_path(path, sizeof(path), "reuse3.db");
    store *s = open_ok(path, STORE_CREATE);
    for (int i = 0; i < 3; i++)
        insert(s, NULL, "POST");
    ck_assert_int_eq(delete_all(s), 3);
    ck_assert_int_eq(insert(s, NULL, "POST"), 4);
    ck_assert_int_eq(delete_all(s), 1);
    ck_assert_int_eq(last_id(s), 4);
    store_close(s);

    s = open_ok(path, 0);
    ck_assert_int_eq(last_id(s), 4);
    ck_assert_int_eq(insert(s, NULL, "POST"), 5);
    store_close(s);
}
END_TEST

START_TEST(test_ids_not_reused_other_handle_deletes)
{
    /* a reader connection deletes (the API's DELETE); the writer goes on from its ids */
    char path[128];
    db_path(path, sizeof(path), "reuse4.db");
    store *w = open_ok(path, STORE_CREATE);
    for (int i = 0; i < 3; i++)
        insert(w, NULL, "POST");
    store *r = open_ok(path, 0);
    ck_assert_int_eq(delete_all(r), 3);
    store_close(r);
    ck_assert_int_eq(insert(w, NULL, "POST"), 4);
    store_close(w);
}
END_TEST

START_TEST(test_last_id)
{
    char path[128];
    db_path(path, sizeof(path), "last.db");
    store *s = open_ok(path, STORE_CREATE);
    ck_assert_int_eq(last_id(s), 0);
    insert(s, "a", "POST");
    insert(s, "a", "POST");
    ck_assert_int_eq(last_id(s), 2);
    store_close(s);
}
END_TEST

START_TEST(test_transactions)
{
    char path[128];
    db_path(path, sizeof(path), "tx.db");
    store *s = open_ok(path, STORE_CREATE);
    store *reader = open_ok(path, 0);
    struct wh_error err = {0};

    ck_assert_int_eq(store_begin(s, &err), 0);
    int64_t a = insert(s, "a", "POST");
    int64_t b = insert(s, "a", "POST");
    ck_assert_int_gt(b, a);
    /* not committed: another connection does not see them */
    ck_assert_int_eq(count_all(reader), 0);
    ck_assert_int_eq(store_commit(s, &err), 0);
    ck_assert_int_eq(count_all(reader), 2);
    struct delivery *got = NULL;
    ck_assert_int_eq(store_get(reader, b, &got, &err), 0);
    delivery_destroy(got);

    ck_assert_int_eq(store_begin(s, &err), 0);
    int64_t c = insert(s, "a", "POST");
    ck_assert_int_gt(c, b);
    store_rollback(s);
    ck_assert_int_eq(count_all(s), 2);
    ck_assert_int_eq(count_all(reader), 2);
    got = NULL;
    ck_assert_int_eq(store_get(s, c, &got, &err), -ENOENT);

    /* after a rollback the next id is still new (a gap is fine, a duplicate is not) */
    int64_t d = insert(s, "a", "POST");
    ck_assert_int_gt(d, b);
    ck_assert_int_eq(count_all(reader), 3);
    store_close(reader);
    store_close(s);
}
END_TEST

START_TEST(test_open_missing)
{
    char path[128];
    db_path(path, sizeof(path), "missing.db");
    store *s = (store *)0x1;
    struct wh_error err = {0};
    ck_assert_int_eq(store_open(path, 0, &s, &err), -ENOENT);
    ck_assert_int_eq(err.code, -ENOENT);
    ck_assert_ptr_eq(s, (store *)0x1);
    ck_assert_ptr_nonnull(strstr(err.msg, path));
    ck_assert_int_eq(store_open(path, STORE_READONLY, &s, &err), -ENOENT);
    /* and nothing was created */
    ck_assert_int_ne(access(path, F_OK), 0);
}
END_TEST

static void write_file(const char *path, const char *text, int times)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    for (int i = 0; i < times; i++)
        fputs(text, f);
    fclose(f);
}

START_TEST(test_open_garbage)
{
    char path[128];
    db_path(path, sizeof(path), "garbage.db");
    write_file(path, "this is certainly not an SQLite database file\n", 200);
    store *s = NULL;
    struct wh_error err = {0};
    int r = store_open(path, 0, &s, &err);
    ck_assert_int_eq(r, -EPROTO);
    ck_assert_int_eq(err.code, -EPROTO);
    ck_assert_ptr_null(s);
    ck_assert_int_ne(err.msg[0], '\0');
    r = store_open(path, STORE_CREATE, &s, &err);
    ck_assert_int_eq(r, -EPROTO);
    ck_assert_ptr_null(s);
    r = store_open(path, STORE_READONLY, &s, &err);
    ck_assert_int_eq(r, -EPROTO);
    ck_assert_ptr_null(s);
    /* the file was not touched */
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char line[64];
    ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));
    ck_assert_str_eq(line, "this is certainly not an SQLite database file\n");
    fclose(f);
}
END_TEST

static void make_sqlite(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

START_TEST(test_open_foreign_sqlite)
{
    char path[128];
    db_path(path, sizeof(path), "foreign.db");
    make_sqlite(path, "CREATE TABLE other (x INTEGER); INSERT INTO other VALUES (1);");
    store *s = NULL;
    struct wh_error err = {0};
    ck_assert_int_eq(store_open(path, 0, &s, &err), -EPROTO);
    ck_assert_ptr_null(s);
    ck_assert_int_eq(store_open(path, STORE_READONLY, &s, &err), -EPROTO);
    ck_assert_ptr_null(s);
}
END_TEST

START_TEST(test_open_newer_schema)
{
    char path[128];
    db_path(path, sizeof(path), "newer.db");
    make_sqlite(path,
                "CREATE TABLE deliveries (id INTEGER PRIMARY KEY); PRAGMA user_version = 99;");
    store *s = NULL;
    struct wh_error err = {0};
    ck_assert_int_eq(store_open(path, 0, &s, &err), -EPROTO);
    ck_assert_ptr_null(s);
    ck_assert_int_eq(store_open(path, STORE_CREATE, &s, &err), -EPROTO);
    ck_assert_ptr_null(s);
}
END_TEST

/* A file written by the first schema (no signature columns) is upgraded in place, keeping
 * its rows and ids. */
START_TEST(test_upgrade_from_schema_1)
{
    char path[128];
    db_path(path, sizeof(path), "v1.db");
    make_sqlite(path,
                "CREATE TABLE deliveries (id INTEGER PRIMARY KEY, received_us INTEGER NOT NULL,"
                " endpoint TEXT, method TEXT NOT NULL, path BLOB NOT NULL, query BLOB,"
                " headers BLOB NOT NULL, body_size INTEGER NOT NULL, truncated INTEGER NOT NULL,"
                " remote_addr TEXT NOT NULL, status INTEGER NOT NULL, body BLOB NOT NULL);"
                "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
                "INSERT INTO deliveries VALUES (7, 1, 'a', 'POST', '/x', NULL, x'', 2, 0,"
                " '127.0.0.1:1', 200, 'hi');"
                "PRAGMA user_version = 1;");
    store *s = open_ok(path, STORE_CREATE);
    struct delivery *old = NULL;
    struct wh_error err = {0};
    ck_assert_int_eq(store_get(s, 7, &old, &err), 0);
    ck_assert_str_eq(old->path, "/x");
    ck_assert_ptr_null(old->sig_status);
    ck_assert_ptr_null(old->message_id);
    delivery_destroy(old);
    struct delivery *d = rich_delivery();
    ck_assert_int_eq(store_insert(s, d, &err), 0);
    ck_assert_int_eq(d->id, 8);
    struct delivery *back = NULL;
    ck_assert_int_eq(store_get(s, 8, &back, &err), 0);
    ck_assert_str_eq(back->sig_status, "invalid");
    ck_assert_str_eq(back->message_id, d->message_id);
    delivery_destroy(back);
    delivery_destroy(d);
    store_close(s);
    /* and a plain open (no create) accepts the upgraded file */
    s = open_ok(path, 0);
    store_close(s);
}
END_TEST

/* A delivery answered later (a scripted delay) gets its delay and answer time afterwards;
 * the attempts view reads them back with the grouping columns. */
static int collect_attempt(void *arg, const struct store_attempt *a)
{
    struct store_attempt *out = arg;
    out[a->id - 1] = *a;
    out[a->id - 1].endpoint = NULL; /* borrowed strings end with the call */
    out[a->id - 1].message_key = NULL;
    out[a->id - 1].message_id = NULL;
    out[a->id - 1].fault = NULL;
    ck_assert_str_eq(a->message_key, a->id == 2 ? "k2" : "k1");
    if (a->id == 2)
        ck_assert_str_eq(a->fault, "hang");
    else
        ck_assert_ptr_null(a->fault);
    return 0;
}

START_TEST(test_set_response_and_attempts)
{
    char path[128];
    db_path(path, sizeof(path), "resp.db");
    store *s = open_ok(path, STORE_CREATE);
    struct wh_error err = {0};
    struct delivery *a = make("ep", "POST", "{}");
    a->message_key = xstrdup("k1");
    a->attempt = 1;
    a->status = 503;
    a->rule = 0;
    a->respond_now = true;
    struct delivery *b = make("ep", "POST", "{}");
    b->message_key = xstrdup("k2");
    b->attempt = 1;
    b->status = 0;
    b->fault = xstrdup("hang");
    b->rule = 1;
    ck_assert_int_eq(store_insert(s, a, &err), 0);
    ck_assert_int_eq(store_insert(s, b, &err), 0);
    /* respond_now: the store took the time of the insert */
    ck_assert_int_gt(a->responded_us, 1700000000000000);
    ck_assert_int_eq(b->responded_us, 0);
    ck_assert_int_eq(store_set_response(s, b->id, 0, 1234, 1795000000000001, &err), 0);
    struct delivery *got = NULL;
    ck_assert_int_eq(store_get(s, b->id, &got, &err), 0);
    ck_assert_int_eq(got->delay_ms, 1234);
    ck_assert_int_eq(got->responded_us, 1795000000000001);
    ck_assert_str_eq(got->fault, "hang");
    ck_assert_int_eq(got->rule, 1);
    delivery_destroy(got);

    struct store_attempt seen[2];
    memset(seen, 0, sizeof(seen));
    struct delivery_filter f;
    filter_init(&f);
    ck_assert_int_eq(store_foreach_attempt(s, &f, collect_attempt, seen, &err), 0);
    ck_assert_int_eq(seen[0].status, 503);
    ck_assert_int_eq(seen[0].rule, 0);
    ck_assert_int_eq(seen[0].attempt, 1);
    ck_assert_int_eq(seen[0].since_previous_us, -1);
    ck_assert_int_eq(seen[1].delay_ms, 1234);
    ck_assert_int_eq(seen[1].status, 0);
    delivery_destroy(a);
    delivery_destroy(b);
    store_close(s);
}
END_TEST

START_TEST(test_create_is_idempotent)
{
    char path[128];
    db_path(path, sizeof(path), "again.db");
    store *s = open_ok(path, STORE_CREATE);
    insert(s, "a", "POST");
    store_close(s);
    s = open_ok(path, STORE_CREATE | STORE_SYNC_FULL);
    ck_assert_int_eq(count_all(s), 1);
    ck_assert_int_eq(insert(s, "a", "POST"), 2);
    store_close(s);
}
END_TEST

START_TEST(test_memory_uri)
{
    char uri[256], other[256];
    store_memory_uri(uri, sizeof(uri));
    store_memory_uri(other, sizeof(other));
    ck_assert_int_eq(strncmp(uri, "file:", 5), 0);
    ck_assert_str_ne(uri, other);

    store *w = open_ok(uri, STORE_CREATE);
    store *r = open_ok(uri, 0);
    struct delivery *d = rich_delivery();
    struct wh_error err = {0};
    ck_assert_int_eq(store_insert(w, d, &err), 0);
    ck_assert_int_eq(d->id, 1);
    ck_assert_int_eq(count_all(r), 1);
    struct delivery *got = NULL;
    ck_assert_int_eq(store_get(r, 1, &got, &err), 0);
    assert_same(d, got);
    delivery_destroy(got);
    delivery_destroy(d);

    /* deletes through one handle are seen by the other, ids still not reused */
    ck_assert_int_eq(delete_all(r), 1);
    ck_assert_int_eq(count_all(w), 0);
    ck_assert_int_eq(insert(w, NULL, "GET"), 2);

    /* a different URI is a different database */
    store *o = open_ok(other, STORE_CREATE);
    ck_assert_int_eq(count_all(o), 0);
    ck_assert_int_eq(last_id(o), 0);
    store_close(o);

    store_close(r);
    store_close(w);
}
END_TEST

static int collect_all(void *arg, const struct delivery *d)
{
    struct seen *s = arg;
    ck_assert_uint_lt(s->n, 16);
    s->ids[s->n++] = d->id;
    return 0;
}

START_TEST(test_sql_agrees_with_filter_match)
{
    /* the store's SQL and filter_match must select the same deliveries for every filter */
    store *s = six("agree.db");
    struct delivery *rows[6];
    struct wh_error err = {0};
    for (int i = 0; i < 6; i++) {
        rows[i] = NULL;
        ck_assert_int_eq(store_get(s, i + 1, &rows[i], &err), 0);
    }
    static const char *const endpoints[] = {NULL, "a", "b", FILTER_CATCH_ALL, "zz", ""};
    static const char *const methods[] = {NULL, "POST", "GET", "PUT", ""};
    static const int64_t sinces[] = {0, 1, 2, 5, 6, -1};
    static const int64_t uptos[] = {0, 1, 3, 6, 7};
    int combos = 0;
    for (size_t e = 0; e < sizeof(endpoints) / sizeof(endpoints[0]); e++)
        for (size_t m = 0; m < sizeof(methods) / sizeof(methods[0]); m++)
            for (size_t a = 0; a < sizeof(sinces) / sizeof(sinces[0]); a++)
                for (size_t b = 0; b < sizeof(uptos) / sizeof(uptos[0]); b++) {
                    struct delivery_filter f;
                    filter_init(&f);
                    f.endpoint = endpoints[e];
                    f.method = methods[m];
                    f.since_id = sinces[a];
                    f.upto_id = uptos[b];
                    struct seen got = {.n = 0};
                    ck_assert_int_eq(store_foreach(s, &f, collect_all, &got, &err), 0);
                    size_t want = 0;
                    for (int i = 0; i < 6; i++) {
                        if (!filter_match(&f, rows[i]))
                            continue;
                        ck_assert_msg(want < got.n && got.ids[want] == rows[i]->id,
                                      "endpoint=%s method=%s since=%lld upto=%lld: SQL misses "
                                      "id %lld",
                                      f.endpoint ? f.endpoint : "(any)",
                                      f.method ? f.method : "(any)", (long long)f.since_id,
                                      (long long)f.upto_id, (long long)rows[i]->id);
                        want++;
                    }
                    ck_assert_msg(got.n == want,
                                  "endpoint=%s method=%s since=%lld upto=%lld: SQL %zu rows, "
                                  "filter_match %zu",
                                  f.endpoint ? f.endpoint : "(any)", f.method ? f.method : "(any)",
                                  (long long)f.since_id, (long long)f.upto_id, got.n, want);
                    ck_assert_int_eq(count(s, &f), (int64_t)want);
                    combos++;
                }
    ck_assert_int_eq(combos, 6 * 5 * 6 * 5);
    for (int i = 0; i < 6; i++)
        delivery_destroy(rows[i]);
    store_close(s);
}
END_TEST

START_TEST(test_open_file_uri)
{
    /* store.h: a path may also be a SQLite URI starting with "file:", not only in memory */
    char path[128], uri[160];
    db_path(path, sizeof(path), "uri.db");
    snprintf(uri, sizeof(uri), "file:%s", path);
    store *s = open_ok(path, STORE_CREATE);
    insert(s, "a", "POST");
    store_close(s);

    s = open_ok(uri, 0);
    ck_assert_int_eq(count_all(s), 1);
    store_close(s);
    s = open_ok(uri, STORE_READONLY);
    ck_assert_int_eq(count_all(s), 1);
    store_close(s);
}
END_TEST

START_TEST(test_manual_checkpoint)
{
    char path[128];
    db_path(path, sizeof(path), "ckpt.db");
    store *w = open_ok(path, STORE_CREATE | STORE_MANUAL_CHECKPOINT);
    struct wh_error err = {0};
    ck_assert_int_eq(store_begin(w, &err), 0);
    for (int i = 0; i < 50; i++) {
        struct delivery *d = make("a", "POST", "");
        for (int k = 0; k < 100; k++)
            ck_assert_int_eq(buf_append_str(&d->body, "0123456789"), 0);
        ck_assert_int_eq(store_insert(w, d, &err), 0);
        delivery_destroy(d);
    }
    ck_assert_int_eq(store_commit(w, &err), 0);
    int frames = store_wal_frames(w);
    ck_assert_int_gt(frames, 0);

    /* a checkpoint from another connection copies every frame (nobody is reading) */
    store *c = open_ok(path, 0);
    int done = -1;
    ck_assert_int_eq(store_checkpoint(c, &done, &err), 0);
    ck_assert_int_eq(done, frames);
    ck_assert_int_eq(store_checkpoint(c, NULL, &err), 0);
    ck_assert_int_eq(count_all(c), 50);
    store_close(c);
    ck_assert_int_eq(insert(w, NULL, "GET"), 51);
    store_close(w);
}
END_TEST

static Suite *store_suite(void)
{
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("store");
    tcase_add_unchecked_fixture(tc, make_dir, remove_dir);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_upgrade_from_schema_1);
    tcase_add_test(tc, test_set_response_and_attempts);
    tcase_add_test(tc, test_ids_increase);
    tcase_add_test(tc, test_foreach);
    tcase_add_test(tc, test_foreach_stop);
    tcase_add_test(tc, test_count);
    tcase_add_test(tc, test_delete);
    tcase_add_test(tc, test_delete_by_ids_and_method);
    tcase_add_test(tc, test_ids_not_reused_after_delete_all);
    tcase_add_test(tc, test_ids_not_reused_after_delete_newest);
    tcase_add_test(tc, test_ids_not_reused_same_handle);
    tcase_add_test(tc, test_ids_not_reused_other_handle_deletes);
    tcase_add_test(tc, test_last_id);
    tcase_add_test(tc, test_transactions);
    tcase_add_test(tc, test_open_missing);
    tcase_add_test(tc, test_open_garbage);
    tcase_add_test(tc, test_open_foreign_sqlite);
    tcase_add_test(tc, test_open_newer_schema);
    tcase_add_test(tc, test_create_is_idempotent);
    tcase_add_test(tc, test_memory_uri);
    tcase_add_test(tc, test_sql_agrees_with_filter_match);
    tcase_add_test(tc, test_open_file_uri);
    tcase_add_test(tc, test_manual_checkpoint);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(store_suite());
}
