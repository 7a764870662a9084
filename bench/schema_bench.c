/* schema_bench: validations per second of one payload against one schema, parse included.
 *
 * usage: schema_bench SCHEMA PAYLOAD SECONDS [own|jansson]
 *
 * The payload is compacted first (as a sender posts it). Two loops, each for SECONDS after a
 * short warm-up: the validator's own parser (jsonschema_validate_text), and jansson's parser
 * followed by jsonschema_validate (what a caller holding a json_t does). Every validation
 * collects errors, as the receiver does. Prints one line per loop: NAME RATE NS_PER_OP. A last
 * argument runs only one loop (for profiling).
 * Built by bench/schema; not part of the meson build. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jsonschema.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int one_text(const jsonschema *s, const char *text, size_t len, struct jsonschema_errors *e)
{
    return jsonschema_validate_text(s, text, len, e);
}

static int one_jansson(const jsonschema *s, const char *text, size_t len,
                       struct jsonschema_errors *e)
{
    json_t *v = json_loadb(text, len, 0, NULL);
    if (!v)
        return -1;
    int r = jsonschema_validate(s, v, e);
    json_decref(v);
    return r;
}

static double measure(int (*one)(const jsonschema *, const char *, size_t,
                                 struct jsonschema_errors *),
                      const jsonschema *s, const char *text, size_t len, double seconds)
{
    struct jsonschema_errors e;
    jsonschema_errors_init(&e, 0);
    double warm_end = now() + seconds / 5;
    while (now() < warm_end)
        for (int i = 0; i < 1000; i++)
            one(s, text, len, &e);
    long n = 0;
    double t0 = now(), t;
    do {
        for (int i = 0; i < 1000; i++)
            if (one(s, text, len, &e) != 0) {
                fprintf(stderr, "schema_bench: the payload is not valid\n");
                exit(1);
            }
        n += 1000;
    } while ((t = now()) - t0 < seconds);
    jsonschema_errors_finish(&e);
    return (double)n / (t - t0);
}

int main(int argc, char **argv)
{
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: schema_bench SCHEMA PAYLOAD SECONDS [own|jansson]\n");
        return 2;
    }
    double seconds = strtod(argv[3], NULL);
    if (seconds <= 0)
        seconds = 3;
    jsonschema *s = NULL;
    struct wh_error err = {0};
    if (jsonschema_load_file(argv[1], NULL, &s, &err) < 0) {
        fprintf(stderr, "schema_bench: %s\n", err.msg);
        return 1;
    }
    json_t *doc = NULL;
    if (jsonschema_read_file(argv[2], &doc, &err) < 0) {
        fprintf(stderr, "schema_bench: %s\n", err.msg);
        return 1;
    }
    char *text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(doc);
    size_t len = strlen(text);
    printf("bytes %zu\n", len);
    const char *only = argc == 5 ? argv[4] : "";
    if (strcmp(only, "jansson") != 0) {
        double a = measure(one_text, s, text, len, seconds);
        printf("c-own-parser %.0f %.0f\n", a, 1e9 / a);
    }
    if (strcmp(only, "own") != 0) {
        double b = measure(one_jansson, s, text, len, seconds);
        printf("c-jansson %.0f %.0f\n", b, 1e9 / b);
    }
    free(text);
    jsonschema_destroy(s);
    return 0;
}
