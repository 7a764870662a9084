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
extern const struct cli_command cmd_run;
extern const struct cli_command cmd_conform;

/* What `run` and `conform` share (cmd_run.c). */
struct reporter;
struct cli_scenarios {
    const char **paths;        /* owned array of borrowed strings: files and folders */
    size_t n_paths;
    struct reporter **reporters; /* owned */
    size_t n_reporters;
    json_t *vars;              /* owned: --var NAME=VALUE */
    const char *filter;        /* borrowed; NULL: every scenario */
    const char *keep_db;       /* borrowed; NULL: in-memory databases */
    unsigned jobs;
    double timeout_scale;
    int64_t max_interval_ms;   /* conform --max-interval-ms; 0: wait as the scenario says */
};
void cli_scenarios_init(struct cli_scenarios *a);
void cli_scenarios_finish(struct cli_scenarios *a);
/* Take one of --reporter (r), --jobs (j), --filter (f), --var (v), --keep-db (K),
 * --timeout-scale (T): 1 taken, 0 not one of these, -1 after printing a usage error. */
int cli_scenarios_option(const struct cli_command *cmd, struct cli_scenarios *a, int c,
                         const char *arg);
/* Find, load (all before any runs), run and report; returns the exit status. */
int cli_scenarios_run(const struct cli_command *cmd, struct cli_scenarios *a, const char *title);

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
