/* cli: what every subcommand shares: option parsing errors, exit codes, the program name.
 *
 * Exit codes: 0 success, 1 the command ran and found a problem (e.g. no such delivery),
 * 2 usage or configuration error, 3 runtime failure (database, network). */
#ifndef WEBHOOKY_CLI_H
#define WEBHOOKY_CLI_H

#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

enum { EXIT_OK = 0, EXIT_PROBLEM = 1, EXIT_USAGE = 2, EXIT_RUNTIME = 3 };

struct cli_command {
    const char *name;
    const char *summary;
    const char *usage; /* full --help text */
    int (*run)(int argc, char **argv);
};

/* Parse options with getopt_long, printing our own one-line errors: returns the option
 * character, -1 at the end, or '?' after printing "webhooky CMD: <problem>" and the usage
 * to stderr. */
int cli_getopt(const struct cli_command *cmd, int argc, char **argv, const char *shortopts,
               const struct option *longopts);

/* Print "webhooky CMD: <message>" and the usage to stderr; returns EXIT_USAGE. */
int cli_usage_error(const struct cli_command *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Parse a whole-number option value in [min, max]; prints a usage error when it is not one. */
bool cli_parse_int(const struct cli_command *cmd, const char *opt, const char *value, int64_t min,
                   int64_t max, int64_t *ret);

/* Parse sizes like 10485760, 512k, 10M, 1G (powers of 1024). */
bool cli_parse_size(const struct cli_command *cmd, const char *opt, const char *value,
                    uint64_t *ret);

/* Captured bytes to stdout, escaped for the terminal (encode_terminal): control characters as
 * \xNN; with keep_newlines, line breaks stay. */
void cli_print_escaped(const void *data, size_t len, bool keep_newlines);

/* Environment default for an option: the variable's value, or fallback. */
const char *cli_env(const char *name, const char *fallback);

extern const struct cli_command cmd_serve;
extern const struct cli_command cmd_deliveries;
extern const struct cli_command cmd_health;
extern const struct cli_command cmd_sign;
extern const struct cli_command cmd_verify;
extern const struct cli_command cmd_schema;
extern const struct cli_command cmd_send;
extern const struct cli_command cmd_replay;

/* What `sign` and `verify` share (cmd_sign.c): the scheme settings gathered from options into
 * the JSON object sig_config_parse reads, and reading a body or header file. */
struct buf;
struct sig_config;
struct cli_sig {
    json_t *obj;     /* owned: {"scheme": ..., "secrets": [...], options...} */
    json_t *secrets; /* borrowed from obj */
};
void cli_sig_init(struct cli_sig *s);
void cli_sig_finish(struct cli_sig *s);
/* Take --scheme, --secret, --secret-file, --tolerance, --option KEY=VALUE; false after a usage
 * error was printed. */
bool cli_sig_set(const struct cli_command *cmd, struct cli_sig *s, const char *key,
                 const char *value);
bool cli_sig_secret_file(const struct cli_command *cmd, struct cli_sig *s, const char *path);
/* Compile the settings (a new config), or print a usage error naming the option and return
 * NULL. */
struct sig_config *cli_sig_compile(const struct cli_command *cmd, const struct cli_sig *s);
/* Read a file, or stdin for "-", into b (at most 64 MiB); false after printing why not. */
bool cli_read_input(const struct cli_command *cmd, const char *path, struct buf *b);

#endif
