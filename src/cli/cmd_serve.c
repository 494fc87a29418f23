/* cmd_serve.c — `dqr serve`: the gateway is not built yet, and says so. */
#include "cli/cli.h"

int cmd_serve(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    cli_error("serve: the gateway service is not built yet in this version "
              "(the commands listed by 'dqr help' work)");
    return DQR_EXIT_FAIL;
}
