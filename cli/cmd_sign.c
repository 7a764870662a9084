/* webhooky sign: print the headers a correct sender would send with a body, for curl.
 *
 * Also home of what `sign` and `verify` share: turning --scheme/--secret/--option into the
 * "signature" object the library compiles, and reading bodies and header files. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mockserver/buf.h"
#include "mockserver/signature.h"

#define INPUT_MAX (64u << 20)

static int run(int argc, char **argv);

const struct cli_command cmd_sign = {
    .name = "sign",
    .summary = "print the signature headers a sender would send with a body",
    .usage =
        "usage: webhooky sign --scheme S --secret SECRET [OPTIONS]\n"
        "\n"
        "Print the headers a correctly signing sender sends with this body, one 'Name: value'\n"
        "per line, for example to make a valid delivery with curl:\n"
        "\n"
        "  webhooky sign --scheme github --secret s3cret --body event.json > headers.txt\n"
        "  curl -H @headers.txt -H 'Content-Type: application/json' \\\n"
        "       --data-binary @event.json http://127.0.0.1:8787/hooks/github\n"
        "\n"
        "options:\n"
        "  -s, --scheme S          twenty, standard-webhooks, github, stripe, slack, shopify or\n"
        "                          hmac\n"
        "  -k, --secret SECRET     the signing secret; repeat it to carry one signature per\n"
        "                          secret (standard-webhooks, stripe), as during a rotation;\n"
        "                          the other schemes sign with the first\n"
        "      --secret-file PATH  read secrets from a file, one per line\n"
        "  -b, --body FILE         the body to sign, byte for byte; '-' reads stdin\n"
        "                          (default: an empty body)\n"
        "      --data TEXT         the body given on the command line\n"
        "  -t, --timestamp T       sign as of T, in the scheme's unit (seconds; milliseconds for\n"
        "                          twenty and for hmac with timestamp_unit=ms), not now\n"
        "      --id ID             the id to send (webhook-id, X-GitHub-Delivery,\n"
        "                          X-Shopify-Webhook-Id, the Twenty nonce, hmac id_header)\n"
        "                          instead of a random one\n"
        "      --method M          request method, for hmac templates (default POST)\n"
        "      --path P            request path, for hmac templates (default /)\n"
        "  -o, --option KEY=VALUE  a scheme option as in the config's \"signature\" object:\n"
        "                          allow_sha1=true (github; also sends X-Hub-Signature), or for\n"
        "                          hmac header=, algorithm=, encoding=, prefix=, template=,\n"
        "                          timestamp_header=, timestamp_unit=, id_header=\n"
        "  -h, --help              show this help\n",
    .run = run,
};

/* ---- shared with verify ---- */

void cli_sig_init(struct cli_sig *s)
{
    s->obj = json_object();
    s->secrets = json_array();
    if (s->obj && s->secrets && json_object_set(s->obj, "secrets", s->secrets) == 0)
        json_decref(s->secrets); /* now borrowed from obj */
    else {
        json_decref(s->secrets);
        s->secrets = NULL;
    }
}

void cli_sig_finish(struct cli_sig *s)
{
    json_decref(s->obj);
    s->obj = s->secrets = NULL;
}

static bool add_secret(const struct cli_command *cmd, struct cli_sig *s, const char *text,
                       size_t len)
{
    /* the bytes as given: a secret need not be UTF-8 */
    json_t *v = json_stringn_nocheck(text, len);
    if (!v || json_array_append_new(s->secrets, v) < 0) {
        fprintf(stderr, "webhooky %s: out of memory\n", cmd->name);
        return false;
    }
    return true;
}

bool cli_sig_set(const struct cli_command *cmd, struct cli_sig *s, const char *key,
                 const char *value)
{
    if (!s->obj || !s->secrets) {
        fprintf(stderr, "webhooky %s: out of memory\n", cmd->name);
        return false;
    }
    if (strcmp(key, "secret") == 0)
        return add_secret(cmd, s, value, strlen(value));
    json_t *v = NULL;
    const char *name = key;
    if (strcmp(key, "scheme") == 0) {
        v = json_string(value);
    } else if (strcmp(key, "tolerance") == 0) {
        int64_t n;
        if (!cli_parse_int(cmd, "--tolerance", value, 0, 31536000, &n))
            return false;
        name = "tolerance_s";
        v = json_integer(n);
    } else if (strcmp(key, "option") == 0) {
        const char *eq = strchr(value, '=');
        if (!eq || eq == value) {
            cli_usage_error(cmd, "--option must be KEY=VALUE, not '%s'", value);
            return false;
        }
        char opt[64];
        if ((size_t)(eq - value) >= sizeof(opt)) {
            cli_usage_error(cmd, "--option: unknown option '%.*s'", (int)(eq - value), value);
            return false;
        }
        snprintf(opt, sizeof(opt), "%.*s", (int)(eq - value), value);
        if (strcmp(opt, "scheme") == 0 || strcmp(opt, "secrets") == 0 ||
            strcmp(opt, "tolerance_s") == 0) {
            cli_usage_error(cmd, "--option %s: use --%s instead", opt,
                            opt[0] == 't' ? "tolerance" : opt[1] == 'c' ? "scheme" : "secret");
            return false;
        }
        v = strcmp(eq + 1, "true") == 0    ? json_true()
            : strcmp(eq + 1, "false") == 0 ? json_false()
                                           : json_string(eq + 1);
        if (!v) {
            cli_usage_error(cmd, "--option %s: the value is not UTF-8", opt);
            return false;
        }
        if (json_object_set_new(s->obj, opt, v) < 0) {
            fprintf(stderr, "webhooky %s: out of memory\n", cmd->name);
            return false;
        }
        return true;
    }
    if (!v || json_object_set_new(s->obj, name, v) < 0) {
        fprintf(stderr, "webhooky %s: %s\n", cmd->name,
                v ? "out of memory" : "the value is not UTF-8");
        return false;
    }
    return true;
}

bool cli_sig_secret_file(const struct cli_command *cmd, struct cli_sig *s, const char *path)
{
    struct buf b;
    buf_init(&b, 0);
    if (!cli_read_input(cmd, path, &b))
        return false;
    size_t before = json_array_size(s->secrets);
    bool ok = true;
    for (size_t i = 0; i < b.len && ok;) {
        size_t end = i;
        while (end < b.len && b.data[end] != '\n')
            end++;
        size_t len = end - i;
        if (len && b.data[i + len - 1] == '\r')
            len--;
        if (len)
            ok = add_secret(cmd, s, b.data + i, len);
        i = end + 1;
    }
    buf_finish(&b);
    if (ok && json_array_size(s->secrets) == before) {
        cli_usage_error(cmd, "--secret-file %s holds no secret (one per line)", path);
        return false;
    }
    return ok;
}

struct sig_config *cli_sig_compile(const struct cli_command *cmd, const struct cli_sig *s)
{
    if (!json_object_get(s->obj, "scheme")) {
        cli_usage_error(cmd, "missing --scheme (one of: %s)", sig_scheme_names());
        return NULL;
    }
    if (json_array_size(s->secrets) == 0) {
        cli_usage_error(cmd, "missing --secret (or --secret-file)");
        return NULL;
    }
    sig_config *c = NULL;
    char ptr[128];
    struct wh_error err = {0};
    int r = sig_config_parse(s->obj, &c, ptr, sizeof(ptr), &err);
    if (r == 0)
        return c;
    if (r == -ENOMEM) {
        fprintf(stderr, "webhooky %s: out of memory\n", cmd->name);
        return NULL;
    }
    /* name the option the problem came from */
    char where[160] = "";
    if (strcmp(ptr, "/scheme") == 0)
        snprintf(where, sizeof(where), "--scheme: ");
    else if (strcmp(ptr, "/tolerance_s") == 0)
        snprintf(where, sizeof(where), "--tolerance: ");
    else if (strncmp(ptr, "/secrets/", 9) == 0)
        snprintf(where, sizeof(where), "secret %lu: ", strtoul(ptr + 9, NULL, 10) + 1);
    else if (ptr[0] == '/')
        snprintf(where, sizeof(where), "--option %s: ", ptr + 1);
    cli_usage_error(cmd, "%s%s", where, err.msg);
    return NULL;
}

bool cli_read_input(const struct cli_command *cmd, const char *path, struct buf *b)
{
    bool std = strcmp(path, "-") == 0;
    FILE *f = std ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "webhooky %s: cannot open %s: %s\n", cmd->name, path, strerror(errno));
        return false;
    }
    buf_init(b, INPUT_MAX);
    char chunk[65536];
    size_t n;
    int r = 0;
    while (r == 0 && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        r = buf_append(b, chunk, n);
    bool failed = ferror(f) != 0;
    if (!std)
        fclose(f);
    if (r < 0 || failed) {
        fprintf(stderr, "webhooky %s: cannot read %s: %s\n", cmd->name, std ? "stdin" : path,
                r == -E2BIG ? "larger than 64 MiB" : r < 0 ? "out of memory" : "read error");
        buf_finish(b);
        return false;
    }
    return true;
}

/* ---- sign ---- */

enum { OPT_SECRET_FILE = 256, OPT_DATA, OPT_ID, OPT_METHOD, OPT_PATH };

static int run(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"scheme", required_argument, NULL, 's'},
        {"secret", required_argument, NULL, 'k'},
        {"secret-file", required_argument, NULL, OPT_SECRET_FILE},
        {"body", required_argument, NULL, 'b'},
        {"data", required_argument, NULL, OPT_DATA},
        {"timestamp", required_argument, NULL, 't'},
        {"id", required_argument, NULL, OPT_ID},
        {"method", required_argument, NULL, OPT_METHOD},
        {"path", required_argument, NULL, OPT_PATH},
        {"option", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct cli_sig s;
    cli_sig_init(&s);
    const char *body_file = NULL, *data = NULL, *id = NULL, *method = NULL, *path = NULL;
    const char *timestamp = NULL;
    int c, rc = EXIT_USAGE;
    sig_config *cfg = NULL;
    struct buf body, out;
    buf_init(&body, 0);
    buf_init(&out, 0);
    while ((c = cli_getopt(&cmd_sign, argc, argv, "s:k:b:t:o:h", longopts)) != -1) {
        bool ok = true;
        switch (c) {
        case 's': ok = cli_sig_set(&cmd_sign, &s, "scheme", optarg); break;
        case 'k': ok = cli_sig_set(&cmd_sign, &s, "secret", optarg); break;
        case 'o': ok = cli_sig_set(&cmd_sign, &s, "option", optarg); break;
        case OPT_SECRET_FILE: ok = cli_sig_secret_file(&cmd_sign, &s, optarg); break;
        case 'b': body_file = optarg; break;
        case OPT_DATA: data = optarg; break;
        case 't': timestamp = optarg; break;
        case OPT_ID: id = optarg; break;
        case OPT_METHOD: method = optarg; break;
        case OPT_PATH: path = optarg; break;
        case 'h':
            fputs(cmd_sign.usage, stdout);
            rc = EXIT_OK;
            goto out;
        default: goto out;
        }
        if (!ok)
            goto out;
    }
    if (optind < argc) {
        cli_usage_error(&cmd_sign, "unexpected argument '%s'", argv[optind]);
        goto out;
    }
    if (body_file && data) {
        cli_usage_error(&cmd_sign, "give the body with --body or --data, not both");
        goto out;
    }
    if (!(cfg = cli_sig_compile(&cmd_sign, &s)))
        goto out;
    int64_t ts_ms = 0;
    if (timestamp) {
        int64_t unit = sig_config_timestamp_unit_ms(cfg), t;
        if (!unit) {
            cli_usage_error(&cmd_sign, "--timestamp: %s signatures carry no timestamp",
                            sig_config_scheme(cfg));
            goto out;
        }
        if (!cli_parse_int(&cmd_sign, "--timestamp", timestamp, 1,
                           unit == 1 ? 999999999999999 : 999999999999, &t))
            goto out;
        ts_ms = t * unit;
    }
    if (body_file && !cli_read_input(&cmd_sign, body_file, &body)) {
        rc = EXIT_USAGE;
        goto out;
    }
    struct wh_error err = {0};
    int r = sig_sign(cfg, method, path, data ? data : body.data, data ? strlen(data) : body.len,
                     ts_ms, id, &out, &err);
    if (r < 0) {
        if (r == -EINVAL)
            cli_usage_error(&cmd_sign, "%s", err.msg);
        else
            fprintf(stderr, "webhooky sign: %s\n", err.msg);
        rc = r == -EINVAL ? EXIT_USAGE : EXIT_RUNTIME;
        goto out;
    }
    rc = fwrite(out.data, 1, out.len, stdout) == out.len && fflush(stdout) == 0 ? EXIT_OK
                                                                                : EXIT_RUNTIME;
out:
    sig_config_destroy(cfg);
    buf_finish(&body);
    buf_finish(&out);
    cli_sig_finish(&s);
    return rc;
}
