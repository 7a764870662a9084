/* Containers: `webhooky health` (the image's HEALTHCHECK) and configuration through
 * WEBHOOKY_LISTEN, WEBHOOKY_DB and WEBHOOKY_CONFIG, with flags winning over them. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

START_TEST(health_command)
{
    char *dir = wh_tmpdir();
    char *db = wh_path(dir, "h.db");
    struct wh_server s;
    wh_server_start(&s, dir, db, (const char *const[]){"--quiet", NULL}, NULL);
    struct wh_run r;
    wh_run(&r, NULL, 10000, "health", "--url", s.url, NULL);
    ck_assert_msg(r.status == 0 && strcmp(r.out, "ok\n") == 0, "exit %d: %s%s", r.status, r.out,
                  r.err);
    wh_run_free(&r);
    /* the default URL comes from WEBHOOKY_LISTEN; 0.0.0.0 is reached on loopback */
    char listen[64];
    snprintf(listen, sizeof(listen), "WEBHOOKY_LISTEN=0.0.0.0:%d", s.port);
    wh_run(&r, (const char *const[]){listen, NULL}, 10000, "health", NULL);
    ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
    wh_run_free(&r);
    wh_server_finish(&s);
    /* nobody listens there any more */
    wh_run(&r, NULL, 10000, "health", "--url", s.url, "--timeout", "2000", NULL);
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strstr(r.err, "cannot connect") != NULL, "%s", r.err);
    wh_run_free(&r);
    wh_run(&r, NULL, 10000, "health", "--url", "https://example", NULL);
    ck_assert_int_eq(r.status, 2);
    wh_run_free(&r);
    free(db);
    wh_tmpdir_remove(dir);
}
END_TEST

/* A server that answers something else than the health JSON is not healthy. */
START_TEST(health_needs_the_health_answer)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(fd, 4), 0);
    socklen_t sl = sizeof(a);
    getsockname(fd, (struct sockaddr *)&a, &sl);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", ntohs(a.sin_port));
    /* nothing ever answers: the connection is accepted by the kernel, then silence */
    struct wh_run r;
    int64_t t0 = wh_now_ms();
    wh_run(&r, NULL, 10000, "health", "--url", url, "--timeout", "300", NULL);
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strstr(r.err, "timed out") != NULL, "%s", r.err);
    ck_assert_int_lt(wh_now_ms() - t0, 5000);
    wh_run_free(&r);
    close(fd);
}
END_TEST

START_TEST(environment_configures_serve)
{
    char *dir = wh_tmpdir();
    char *cfg = wh_path(dir, "cfg.json");
    wh_write_file(cfg, "{\"endpoints\": [{\"name\": \"from-env\", \"path\": \"/env\"}]}");
    char *db = wh_path(dir, "env.db");
    char cfg_env[4200], bad_listen[] = "WEBHOOKY_LISTEN=127.0.0.1:1",
                        bad_db[] = "WEBHOOKY_DB=/etc/hostname/nope.db";
    snprintf(cfg_env, sizeof(cfg_env), "WEBHOOKY_CONFIG=%s", cfg);
    /* config from the environment; --listen and --db (given by the harness) win over the
     * unusable values in the environment */
    struct wh_server s;
    wh_server_start(&s, dir, db, (const char *const[]){"--quiet", NULL},
                    (const char *const[]){cfg_env, bad_listen, bad_db, NULL});
    int64_t id = wh_post(&s, "/env", "{}");
    json_t *d = wh_delivery(&s, id);
    ck_assert_str_eq(json_string_value(json_object_get(d, "endpoint")), "from-env");
    json_decref(d);

    /* WEBHOOKY_LISTEN alone: the port the first server holds is refused */
    char busy[64];
    snprintf(busy, sizeof(busy), "WEBHOOKY_LISTEN=127.0.0.1:%d", s.port);
    struct wh_run r;
    wh_run(&r, (const char *const[]){busy, "WEBHOOKY_DB=:memory:", NULL}, 10000, "serve",
           "--quiet", NULL);
    ck_assert_int_eq(r.status, 2);
    ck_assert_msg(strstr(r.err, "Address already in use") != NULL, "%s", r.err);
    wh_run_free(&r);
    /* WEBHOOKY_DB alone */
    wh_run(&r, (const char *const[]){"WEBHOOKY_LISTEN=127.0.0.1:0", bad_db, NULL}, 10000,
           "serve", "--quiet", NULL);
    ck_assert_int_eq(r.status, 2);
    ck_assert_msg(strstr(r.err, "/etc/hostname/nope.db") != NULL, "%s", r.err);
    wh_run_free(&r);
    /* WEBHOOKY_CONFIG pointing at a broken file */
    char *bad = wh_path(dir, "bad.json");
    wh_write_file(bad, "{\"endpoints\": 5}");
    snprintf(cfg_env, sizeof(cfg_env), "WEBHOOKY_CONFIG=%s", bad);
    wh_run(&r, (const char *const[]){"WEBHOOKY_LISTEN=127.0.0.1:0", "WEBHOOKY_DB=:memory:",
                                     cfg_env, NULL},
           10000, "serve", "--quiet", NULL);
    ck_assert_int_eq(r.status, 2);
    ck_assert_msg(strstr(r.err, "bad.json:1:") != NULL, "%s", r.err);
    wh_run_free(&r);

    wh_server_finish(&s);
    free(bad);
    free(cfg);
    free(db);
    wh_tmpdir_remove(dir);
}
END_TEST

/* A service container with no file to mount: the config text itself in WEBHOOKY_CONFIG_JSON,
 * with a secret from the environment too. WEBHOOKY_CONFIG (a file) wins over it. */
START_TEST(config_json_in_the_environment)
{
    char *dir = wh_tmpdir();
    char *db = wh_path(dir, "json.db");
    const char *env[] = {"WEBHOOKY_CONFIG_JSON={\"endpoints\": [{\"name\": \"inline\", "
                         "\"path\": \"/inline\", \"signature\": {\"scheme\": \"github\", "
                         "\"secrets_env\": [\"WH_IT_SECRET\"]}}]}",
                         "WH_IT_SECRET=It's a Secret to Everybody", "WEBHOOKY_CONFIG", NULL};
    struct wh_server s;
    wh_server_start(&s, dir, db, (const char *const[]){"--quiet", NULL}, env);
    const char *sig[] = {
        "X-Hub-Signature-256: sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        NULL};
    struct wh_response r;
    wh_request(NULL, &s, "POST", "/inline", sig, "Hello, World!", 13, &r);
    ck_assert_int_eq(r.status, 200);
    wh_response_free(&r);
    json_t *v = wh_api(&s, 200, "/_webhooky/api/deliveries?endpoint=inline");
    json_t *d = json_array_get(json_object_get(v, "deliveries"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(d, "signature"), "status")),
                     "valid");
    json_decref(v);
    wh_server_finish(&s);

    /* broken JSON is named by its variable, line and column; an unset secret variable too */
    struct wh_run run;
    wh_run(&run, (const char *const[]){"WEBHOOKY_CONFIG_JSON={\"endpoints\": [}", "WEBHOOKY_CONFIG",
                                       NULL},
           10000, "serve", "--listen", "127.0.0.1:0", "--db", ":memory:", NULL);
    ck_assert_int_eq(run.status, 2);
    ck_assert_msg(strstr(run.err, "$WEBHOOKY_CONFIG_JSON:1:") != NULL, "%s", run.err);
    wh_run_free(&run);
    wh_run(&run, (const char *const[]){env[0], "WH_IT_SECRET", "WEBHOOKY_CONFIG", NULL}, 10000,
           "serve", "--listen", "127.0.0.1:0", "--db", ":memory:", NULL);
    ck_assert_int_eq(run.status, 2);
    ck_assert_msg(strstr(run.err, "WH_IT_SECRET is not set") != NULL &&
                      strstr(run.err, "secrets_env[0]") != NULL,
                  "%s", run.err);
    wh_run_free(&run);
    free(db);
    wh_tmpdir_remove(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("health_env");
    TCase *tc = wh_tcase("health_env", 60);
    tcase_add_test(tc, health_command);
    tcase_add_test(tc, health_needs_the_health_answer);
    tcase_add_test(tc, environment_configures_serve);
    tcase_add_test(tc, config_json_in_the_environment);
    suite_add_tcase(s, tc);
    return wh_run_suite(s);
}
