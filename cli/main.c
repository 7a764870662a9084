/* webhooky: the one executable. main only finds the subcommand and hands over. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "version.h"

static const struct cli_command *const commands[] = {&cmd_serve, &cmd_deliveries, &cmd_sign,
                                                     &cmd_verify, &cmd_schema, &cmd_health,
                                                     &cmd_send, &cmd_replay, &cmd_run,
                                                     &cmd_conform};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
    fprintf(f, "usage: webhooky [--help] [--version] COMMAND [ARGS]\n\n"
               "A mock webhook receiver and test harness for webhook senders.\n\n"
               "commands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %-12s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(f, "\nRun 'webhooky COMMAND --help' for a command's options.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "webhooky: missing command\n\n");
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        if (argc > 2 && strcmp(name, "help") == 0) {
            for (size_t i = 0; i < N_COMMANDS; i++)
                if (strcmp(commands[i]->name, argv[2]) == 0) {
                    fputs(commands[i]->usage, stdout);
                    return EXIT_OK;
                }
        }
        usage(stdout);
        return EXIT_OK;
    }
    if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0) {
        printf("webhooky %s\n", WEBHOOKY_VERSION);
        return EXIT_OK;
    }
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i]->name, name) == 0)
            return commands[i]->run(argc - 1, argv + 1);
    if (name[0] == '-')
        fprintf(stderr, "webhooky: unknown option '%s'\n\n", name);
    else
        fprintf(stderr, "webhooky: unknown command '%s'\n\n", name);
    usage(stderr);
    return EXIT_USAGE;
}
