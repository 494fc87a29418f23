/* netopts.h — the options every network command shares: --aet, --call,
 * --timeout, and HOST PORT. */
#ifndef DQR_CLI_NETOPTS_H
#define DQR_CLI_NETOPTS_H

#include "cli/cli.h"
#include "net/net.h"

typedef struct netopts {
    const char *aet, *call, *host;
    int port, timeout;
    net_tls tls;   /* --tls, --tls-cert, --tls-key, --tls-ca, --tls-name, --tls-insecure */
} netopts;

/* Shared options: --aet --call --timeout --tls --tls-cert --tls-key --tls-ca
 * --tls-name --tls-insecure.
 * If argv[*i] is a shared option, consume it (and its value) and return 1;
 * return -1 (after printing a usage error) on a bad value, 0 otherwise. */
int netopts_take(const dqr_command *self, netopts *o, int argc, char **argv, int *i);

/* Fill params' AE titles, timeout and TLS from o (warning on stderr with
 * --tls-insecure); 0, or -1 after a usage error. */
int netopts_params(const dqr_command *self, const netopts *o, net_params *p);

/* A command's own options: 1 taken (with its value, *i advanced), 0 not
 * ours, -1 usage error (printed). */
typedef int (*netopts_extra)(void *ctx, const dqr_command *self, int argc, char **argv, int *i);

/* Parse a whole network command line: the shared options, extra's options
 * (may be NULL), and positional arguments into pos[0..maxpos). HOST PORT
 * (the first two) set o->host and o->port when want_host_port. Returns the
 * number of positional arguments, or -1 after a usage error. */
int netopts_parse(const dqr_command *self, netopts *o, netopts_extra extra, void *ctx, int argc, char **argv,
                  const char **pos, int maxpos, bool want_host_port);

/* Parse PORT (1..65535); -1 if invalid. */
int netopts_port(const char *s);

#endif
