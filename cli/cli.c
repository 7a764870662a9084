#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mockserver/buf.h"
#include "mockserver/encode.h"
#include "mockserver/filter.h"

int cli_usage_error(const struct cli_command *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "webhooky %s: ", cmd->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n\n%s", cmd->usage);
    return EXIT_USAGE;
}

int cli_getopt(const struct cli_command *cmd, int argc, char **argv, const char *shortopts,
               const struct option *longopts)
{
    char spec[64];
    snprintf(spec, sizeof(spec), ":%s", shortopts); /* ':' first: a missing value returns ':' */
    opterr = 0;
    int c = getopt_long(argc, argv, spec, longopts, NULL);
    if (c != '?' && c != ':')
        return c;
    const char *bad = optind > 0 && optind <= argc ? argv[optind - 1] : NULL;
    char name[64] = "";
    if (bad && strncmp(bad, "--", 2) == 0) {
        const char *eq = strchr(bad, '=');
        snprintf(name, sizeof(name), "%.*s", eq ? (int)(eq - bad) : (int)strlen(bad), bad);
    } else if (optopt) {
        snprintf(name, sizeof(name), "-%c", optopt);
    } else if (bad) {
        snprintf(name, sizeof(name), "%s", bad);
    }
    if (c == ':') {
        cli_usage_error(cmd, "option '%s' needs a value", name);
        return '?';
    }
    bool known = false;
    for (const struct option *o = longopts; name[0] == '-' && name[1] == '-' && o->name; o++)
        known |= strcmp(o->name, name + 2) == 0;
    cli_usage_error(cmd, known ? "option '%s' takes no value" : "unknown option '%s'", name);
    return '?';
}

bool cli_parse_int(const struct cli_command *cmd, const char *opt, const char *value, int64_t min,
                   int64_t max, int64_t *ret)
{
    if (filter_parse_int(value, min, max, ret) == 0)
        return true;
    cli_usage_error(cmd, "%s must be a whole number from %lld to %lld, not '%s'", opt,
                    (long long)min, (long long)max, value);
    return false;
}

bool cli_parse_size(const struct cli_command *cmd, const char *opt, const char *value,
                    uint64_t *ret)
{
    char *end;
    errno = 0;
    unsigned long long v = value[0] >= '0' && value[0] <= '9' ? strtoull(value, &end, 10) : 0;
    if (value[0] < '0' || value[0] > '9' || errno) {
        cli_usage_error(cmd, "%s must be a size like 1048576, 512k or 10M, not '%s'", opt, value);
        return false;
    }
    unsigned shift = 0;
    if (*end == 'k' || *end == 'K')
        shift = 10;
    else if (*end == 'm' || *end == 'M')
        shift = 20;
    else if (*end == 'g' || *end == 'G')
        shift = 30;
    if (shift)
        end++;
    if (*end == 'i' || *end == 'B' || *end == 'b')
        end += (*end == 'i' && (end[1] == 'B' || end[1] == 'b')) ? 2 : 1;
    if (*end || v == 0 || v > (1ull << 40) >> shift) {
        cli_usage_error(cmd, "%s must be a size from 1 byte to 1T, like 1048576, 512k or 10M, "
                             "not '%s'", opt, value);
        return false;
    }
    *ret = (uint64_t)v << shift;
    return true;
}

const char *cli_env(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}

void cli_print_escaped(const void *data, size_t len, bool keep_newlines)
{
    struct buf b;
    buf_init(&b, 0);
    encode_terminal(&b, data, len, keep_newlines);
    if (b.data)
        fwrite(b.data, 1, b.len, stdout);
    buf_finish(&b);
}
