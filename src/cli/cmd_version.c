/* cmd_version.c — `dqr version`. */
#include "cli/cli.h"
#include "dicom/dicom.h"

#include <stdio.h>

#ifndef DQR_VERSION
#define DQR_VERSION "0.1.0"
#endif

int cmd_version(int argc, char **argv)
{
    (void)argv;
    if (argc > 1)
        return cli_usage_error(cli_find("version"), "takes no arguments");
    printf("dqr %s (implementation class UID %s)\n", DQR_VERSION, DQR_IMPLEMENTATION_CLASS_UID);
    return DQR_EXIT_OK;
}
