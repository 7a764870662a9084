/* webhooky schema: validate JSON documents against a JSON Schema (draft-07), or check a schema
 * against the draft-07 meta-schema. The validator is mockserver/jsonschema; this file only
 * reads files, prints verdicts (terminal-safe) and picks the exit status. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mockserver/buf.h"
#include "mockserver/encode.h"
#include "mockserver/jsonschema.h"

static int run(int argc, char **argv);

const struct cli_command cmd_schema = {
    .name = "schema",
    .summary = "validate JSON against a JSON Schema (draft-07), or check a schema",
    .usage =
        "usage: webhooky schema validate SCHEMA INSTANCE... [--ref-map URI_PREFIX=DIR]...\n"
        "       webhooky schema check SCHEMA [--ref-map URI_PREFIX=DIR]...\n"
        "\n"
        "  validate  check each INSTANCE (a JSON file; '-' reads stdin) against SCHEMA and\n"
        "            print 'PATH: valid' or 'PATH: invalid', each error below it as\n"
        "            '  /pointer: message' ((root) for the whole document; at most 50)\n"
        "  check     check SCHEMA against the draft-07 meta-schema (built in), then compile\n"
        "            it (patterns, $ref); prints 'SCHEMA: valid' or 'SCHEMA: invalid' and why\n"
        "\n"
        "options:\n"
        "  -r, --ref-map URI_PREFIX=DIR  read a referenced schema whose URI starts with\n"
        "                                URI_PREFIX from the file DIR/REST (repeatable).\n"
        "                                Nothing is fetched from the network; a schema's own\n"
        "                                folder is always mapped, so relative refs to sibling\n"
        "                                files work.\n"
        "  -h, --help                    show this help\n"
        "\n"
        "Formats date-time, date, time, email, hostname, ipv4, ipv6, uri, uri-reference, uuid,\n"
        "regex and json-pointer are asserted; other formats are ignored.\n"
        "\n"
        "Exit status: 0 everything is valid; 1 an instance (or the schema, for check) is\n"
        "invalid, or not JSON; 2 a usage error, a file that cannot be read, or a broken schema;\n"
        "3 a pattern hit its match limit, so a verdict could not be decided.\n",
    .run = run,
};

#define MAX_REF_MAP 64

struct opts {
    struct jsonschema_ref_map map[MAX_REF_MAP]; /* prefixes point into prefixes[] */
    char *prefixes[MAX_REF_MAP];                /* owned */
    size_t n_map;
};

/* Print text for a terminal: control bytes escaped (captured data is hostile). */
static void put(const char *s, size_t len)
{
    struct buf b;
    buf_init(&b, 0);
    if (encode_terminal(&b, s, len, false) == 0 && b.data)
        fwrite(b.data, 1, b.len, stdout);
    buf_finish(&b);
}

static void put_str(const char *s)
{
    put(s, strlen(s));
}

/* A validator message: it quotes instance text JSON-escaped; keep those escapes as they are
 * and escape whatever a terminal would still act on. */
static void fput_message(FILE *f, const char *msg)
{
    struct buf b;
    buf_init(&b, 0);
    if (encode_terminal_json(&b, msg, strlen(msg)) == 0 && b.data)
        fwrite(b.data, 1, b.len, f);
    buf_finish(&b);
}

static void put_message(const char *msg)
{
    fput_message(stdout, msg);
}

/* "webhooky schema: why" on stderr */
static void complain(const char *why)
{
    fputs("webhooky schema: ", stderr);
    fput_message(stderr, why);
    fputc('\n', stderr);
}

static void print_errors(const struct jsonschema_errors *e)
{
    for (size_t i = 0; i < e->n; i++) {
        fputs("  ", stdout);
        put_str(e->v[i].pointer[0] ? e->v[i].pointer : "(root)");
        fputs(": ", stdout);
        put_message(e->v[i].message);
        fputc('\n', stdout);
    }
    if (e->truncated)
        printf("  ... more errors; only the first %zu are shown\n", e->n);
}

enum { RESULT_VALID, RESULT_INVALID, RESULT_UNREADABLE, RESULT_UNDECIDED };

static int validate_one(const jsonschema *s, const char *path, struct jsonschema_errors *e)
{
    struct buf text;
    if (!cli_read_input(&cmd_schema, path, &text))
        return RESULT_UNREADABLE;
    int r = jsonschema_validate_text(s, text.data ? text.data : "", text.len, e);
    buf_finish(&text);
    put_str(path);
    if (r == 0) {
        fputs(": valid\n", stdout);
        return RESULT_VALID;
    }
    if (r == 1) {
        fputs(": invalid\n", stdout);
        print_errors(e);
        return RESULT_INVALID;
    }
    if (r == -EBADMSG) {
        fputs(": invalid\n  (not JSON) ", stdout);
        put_message(e->err.msg);
        fputc('\n', stdout);
        return RESULT_INVALID;
    }
    fputs(": error: ", stdout);
    put_message(r == -ENOMEM ? "out of memory" : e->err.msg);
    fputc('\n', stdout);
    return RESULT_UNDECIDED;
}

static int load_schema(const char *path, const struct opts *o, jsonschema **ret)
{
    struct jsonschema_options jo = {.ref_map = o->map, .n_ref_map = o->n_map};
    struct wh_error err = {0};
    if (jsonschema_load_file(path, &jo, ret, &err) == 0)
        return 0;
    complain(err.msg);
    return -1;
}

static int cmd_validate(const struct opts *o, const char *schema_path, char **instances,
                        int n_instances)
{
    jsonschema *s;
    if (load_schema(schema_path, o, &s) < 0)
        return EXIT_USAGE;
    struct jsonschema_errors e;
    jsonschema_errors_init(&e, 0);
    int worst = RESULT_VALID;
    for (int i = 0; i < n_instances; i++) {
        int r = validate_one(s, instances[i], &e);
        if (r > worst)
            worst = r;
    }
    fflush(stdout);
    jsonschema_errors_finish(&e);
    jsonschema_destroy(s);
    switch (worst) {
    case RESULT_VALID:
        return EXIT_OK;
    case RESULT_INVALID:
        return EXIT_PROBLEM;
    case RESULT_UNREADABLE:
        return EXIT_USAGE;
    default:
        return EXIT_RUNTIME;
    }
}

static int cmd_check(const struct opts *o, const char *schema_path)
{
    json_t *doc;
    struct wh_error err = {0};
    if (jsonschema_read_file(schema_path, &doc, &err) < 0) {
        complain(err.msg);
        return EXIT_USAGE;
    }
    jsonschema *meta = NULL;
    if (jsonschema_compile_metaschema(&meta, &err) < 0) {
        json_decref(doc);
        complain(err.msg);
        return EXIT_RUNTIME;
    }
    struct jsonschema_errors e;
    jsonschema_errors_init(&e, 0);
    int r = jsonschema_validate(meta, doc, &e);
    jsonschema_destroy(meta);
    json_decref(doc);
    int status = EXIT_OK;
    if (r < 0) {
        put_str(schema_path);
        fputs(": error: ", stdout);
        put_message(e.err.msg);
        fputc('\n', stdout);
        status = EXIT_RUNTIME;
    } else if (r == 1) {
        put_str(schema_path);
        fputs(": invalid\n", stdout);
        print_errors(&e);
        status = EXIT_PROBLEM;
    } else {
        /* the meta-schema cannot see unresolvable refs, bad patterns or ref loops */
        struct jsonschema_options jo = {.ref_map = o->map, .n_ref_map = o->n_map};
        jsonschema *s = NULL;
        int c = jsonschema_load_file(schema_path, &jo, &s, &err);
        jsonschema_destroy(s);
        put_str(schema_path);
        if (c == 0) {
            fputs(": valid\n", stdout);
        } else {
            fputs(": invalid\n  ", stdout);
            put_message(err.msg);
            fputc('\n', stdout);
            status = c == -ENOMEM ? EXIT_RUNTIME : EXIT_PROBLEM;
        }
    }
    fflush(stdout);
    jsonschema_errors_finish(&e);
    return status;
}

static bool add_ref_map(struct opts *o, const char *arg)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || !eq[1]) {
        cli_usage_error(&cmd_schema, "--ref-map wants URI_PREFIX=DIR, not '%s'", arg);
        return false;
    }
    if (o->n_map == MAX_REF_MAP) {
        cli_usage_error(&cmd_schema, "at most %d --ref-map options", MAX_REF_MAP);
        return false;
    }
    char *prefix = strndup(arg, (size_t)(eq - arg));
    if (!prefix) {
        fprintf(stderr, "webhooky schema: out of memory\n");
        return false;
    }
    o->prefixes[o->n_map] = prefix;
    o->map[o->n_map++] = (struct jsonschema_ref_map){.prefix = prefix, .dir = eq + 1};
    return true;
}

static int run(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"ref-map", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct opts o = {0};
    int c, status = -1;
    while (status < 0 && (c = cli_getopt(&cmd_schema, argc, argv, "r:h", longopts)) != -1) {
        switch (c) {
        case 'r':
            if (!add_ref_map(&o, optarg))
                status = EXIT_USAGE;
            break;
        case 'h':
            fputs(cmd_schema.usage, stdout);
            status = EXIT_OK;
            break;
        default:
            status = EXIT_USAGE;
            break;
        }
    }
    if (status < 0) {
        const char *sub = optind < argc ? argv[optind++] : NULL;
        int left = argc - optind;
        if (!sub) {
            status = cli_usage_error(&cmd_schema, "missing subcommand (validate or check)");
        } else if (strcmp(sub, "validate") == 0) {
            int stdin_uses = 0;
            for (int i = optind + 1; i < argc; i++)
                stdin_uses += strcmp(argv[i], "-") == 0;
            if (left == 0)
                status = cli_usage_error(&cmd_schema, "validate needs a SCHEMA and INSTANCE files");
            else if (left == 1)
                status =
                    cli_usage_error(&cmd_schema, "validate needs an INSTANCE after the SCHEMA");
            else if (stdin_uses > 1)
                status = cli_usage_error(&cmd_schema, "'-' (stdin) can be given only once");
            else if (strcmp(argv[optind], "-") == 0)
                status = cli_usage_error(&cmd_schema, "the SCHEMA must be a file, not '-'");
            else
                status = cmd_validate(&o, argv[optind], argv + optind + 1, left - 1);
        } else if (strcmp(sub, "check") == 0) {
            if (left == 0)
                status = cli_usage_error(&cmd_schema, "check needs a SCHEMA");
            else if (left > 1)
                status = cli_usage_error(&cmd_schema, "check takes one SCHEMA, not %d files", left);
            else
                status = cmd_check(&o, argv[optind]);
        } else {
            status =
                cli_usage_error(&cmd_schema, "unknown subcommand '%s' (validate or check)", sub);
        }
    }
    for (size_t i = 0; i < o.n_map; i++)
        free(o.prefixes[i]);
    return status;
}
