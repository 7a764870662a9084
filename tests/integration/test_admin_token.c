/* --admin-token / $WEBHOOKY_ADMIN_TOKEN: the admin API (/_webhooky/api/...) needs "Authorization:
 * Bearer TOKEN"; health, metrics and deliveries themselves stay open. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static char *dir;

static void setup(void)
{
    dir = wh_tmpdir();
}

static void teardown(void)
{
    wh_tmpdir_remove(dir);
}

/* Status of METHOD path with one optional header. */
static long status_of(const struct wh_server *s, const char *method, const char *path,
                      const char *header)
{
    const char *h[] = {header, NULL};
    struct wh_response r;
    wh_request(NULL, s, method, path, h, NULL, 0, &r);
    ck_assert_msg(r.rc == CURLE_OK, "%s %s: %s", method, path, curl_easy_strerror(r.rc));
    long st = r.status;
    if (st == 401) {
        char *www = wh_header(&r, "WWW-Authenticate");
        ck_assert_msg(www && strncmp(www, "Bearer", 6) == 0,
                      "a 401 without 'WWW-Authenticate: Bearer ...' (%s)", www ? www : "none");
        free(www);
        ck_assert_msg(strstr(r.body, "Authorization: Bearer"),
                      "the 401 does not say what to send: %s", r.body);
    }
    wh_response_free(&r);
    return st;
}

START_TEST(token_from_flag)
{
    char *db = wh_path(dir, "token.db");
    struct wh_server s;
    wh_server_start(&s, dir, db, (const char *const[]){"--admin-token", "s3cret", "--quiet", NULL},
                    NULL);
    /* deliveries are not behind the token */
    int64_t id = wh_post(&s, "/hook", "payload");
    char one[64], body[80];
    snprintf(one, sizeof(one), "/_webhooky/api/deliveries/%lld", (long long)id);
    snprintf(body, sizeof(body), "/_webhooky/api/deliveries/%lld/body", (long long)id);

    static const char *const wrong[] = {
        NULL,                            /* no Authorization */
        "Authorization: Bearer wrong",   /* wrong token */
        "Authorization: Bearer s3cre",   /* a prefix */
        "Authorization: Bearer s3cretX", /* longer */
        "Authorization: Bearer ",        /* empty */
        "Authorization: s3cret",         /* no scheme */
        "Authorization: Basic czNjcmV0", /* another scheme */
        "X-Admin-Token: s3cret",         /* another header */
    };
    const char *paths[] = {"/_webhooky/api/deliveries", one, body};
    for (size_t p = 0; p < 3; p++) {
        for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++)
            ck_assert_msg(status_of(&s, "GET", paths[p], wrong[i]) == 401,
                          "GET %s with '%s' was not refused 401", paths[p],
                          wrong[i] ? wrong[i] : "(no header)");
        ck_assert_int_eq(status_of(&s, "GET", paths[p], "Authorization: Bearer s3cret"), 200);
    }
    /* the scheme is case-insensitive (RFC 9110) */
    ck_assert_int_eq(status_of(&s, "GET", paths[0], "Authorization: bearer s3cret"), 200);

    /* a DELETE without the token deletes nothing */
    ck_assert_int_eq(status_of(&s, "DELETE", "/_webhooky/api/deliveries", NULL), 401);
    s.auth = "Authorization: Bearer s3cret";
    json_t *d = wh_delivery(&s, id);
    ck_assert_str_eq(json_string_value(json_object_get(d, "body")), "payload");
    json_decref(d);

    /* health and metrics stay open */
    ck_assert_int_eq(status_of(&s, "GET", "/_webhooky/health", NULL), 200);
    ck_assert_int_eq(status_of(&s, "GET", "/_webhooky/metrics", NULL), 200);

    /* the token is not captured anywhere a delivery could leak it: admin requests are not
     * deliveries */
    ck_assert_int_eq(wh_last_id(&s), id);
    wh_server_finish(&s);
    free(db);
}
END_TEST

START_TEST(token_from_environment)
{
    char *db = wh_path(dir, "env.db");
    struct wh_server s;
    wh_server_start(&s, dir, db, (const char *const[]){"--quiet", NULL},
                    (const char *const[]){"WEBHOOKY_ADMIN_TOKEN=envtok", NULL});
    ck_assert_int_eq(status_of(&s, "GET", "/_webhooky/api/deliveries", NULL), 401);
    ck_assert_int_eq(
        status_of(&s, "GET", "/_webhooky/api/deliveries", "Authorization: Bearer wrong"), 401);
    ck_assert_int_eq(
        status_of(&s, "GET", "/_webhooky/api/deliveries", "Authorization: Bearer envtok"), 200);
    ck_assert_int_eq(status_of(&s, "GET", "/_webhooky/health", NULL), 200);
    wh_server_finish(&s);

    /* the flag wins over the environment */
    wh_server_start(&s, dir, db, (const char *const[]){"--quiet", "--admin-token", "flagtok", NULL},
                    (const char *const[]){"WEBHOOKY_ADMIN_TOKEN=envtok", NULL});
    ck_assert_int_eq(
        status_of(&s, "GET", "/_webhooky/api/deliveries", "Authorization: Bearer envtok"), 401);
    ck_assert_int_eq(
        status_of(&s, "GET", "/_webhooky/api/deliveries", "Authorization: Bearer flagtok"), 200);
    wh_server_finish(&s);

    /* without a token (unset or empty) the API is open */
    wh_server_start(&s, dir, db, (const char *const[]){"--quiet", NULL},
                    (const char *const[]){"WEBHOOKY_ADMIN_TOKEN=", NULL});
    ck_assert_int_eq(status_of(&s, "GET", "/_webhooky/api/deliveries", NULL), 200);
    wh_server_finish(&s);
    wh_server_start(&s, dir, db, (const char *const[]){"--quiet", NULL},
                    (const char *const[]){"WEBHOOKY_ADMIN_TOKEN", NULL});
    ck_assert_int_eq(status_of(&s, "GET", "/_webhooky/api/deliveries", NULL), 200);
    wh_server_finish(&s);
    free(db);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("admin_token");
    TCase *tc = wh_tcase("admin_token", 30);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, token_from_flag);
    tcase_add_test(tc, token_from_environment);
    suite_add_tcase(s, tc);
    return wh_run_suite(s);
}
