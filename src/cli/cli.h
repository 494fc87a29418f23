/* cli.h — the dqr command table and helpers shared by the subcommands.
 * Each subcommand is one file (cmd_NAME.c) with one entry point. */
#ifndef DQR_CLI_H
#define DQR_CLI_H

#include <stdbool.h>

/* Exit codes of the command-line contract (docs/cli.md). */
enum {
    DQR_EXIT_OK = 0,
    DQR_EXIT_FAIL = 1,     /* runtime failure: I/O, network, a file failed */
    DQR_EXIT_USAGE = 2,    /* usage or script/config error */
    DQR_EXIT_REJECTED = 3  /* instance rejected by a script */
};

typedef struct dqr_command {
    const char *name;
    const char *summary;
    const char *usage; /* full --help text */
    int (*run)(int argc, char **argv);
} dqr_command;

/* Print "dqr: " + message + newline to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print usage hint for cmd to stderr and return DQR_EXIT_USAGE. */
int cli_usage_error(const dqr_command *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* True if argv holds -h or --help (then the caller prints usage). */
bool cli_wants_help(int argc, char **argv);

const dqr_command *cli_find(const char *name);

int cmd_dump(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_anonymize(int argc, char **argv);
int cmd_lint(int argc, char **argv);
int cmd_phi_scan(int argc, char **argv);
int cmd_echo(int argc, char **argv);
int cmd_store(int argc, char **argv);
int cmd_listen(int argc, char **argv);
int cmd_find(int argc, char **argv);
int cmd_move(int argc, char **argv);
int cmd_get(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_backup(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_fsck(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_help(int argc, char **argv);

#endif
