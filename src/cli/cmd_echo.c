/* cmd_echo.c — `dqr echo [--aet A] [--call AE] [--timeout S] HOST PORT`. */
#include "cli/netopts.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int cmd_echo(int argc, char **argv)
{
    const dqr_command *self = cli_find("echo");
    netopts o = {0};
    const char *pos[2];
    if (netopts_parse(self, &o, NULL, NULL, argc, argv, pos, 2, true) < 0)
        return DQR_EXIT_USAGE;
    net_params p;
    netopts_params(self, &o, &p);
    static const char *const ts[] = {DCM_TS_IMPLICIT_LE, NULL};
    net_params_add(&p, NET_VERIFICATION_SOP, ts);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    dqr_error err = {0};
    net_assoc *a = net_connect(o.host, o.port, &p, &err);
    uint16_t status = 0xFFFF;
    if (!a || net_echo(a, &status, &err) || net_release(a, &err)) {
        cli_error("echo: %s", err.message);
        if (a)
            net_assoc_free(a);
        return DQR_EXIT_FAIL;
    }
    net_assoc_free(a);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    if (status != 0) {
        cli_error("echo: %s:%d (%s) answered 0x%04X (%s)", o.host, o.port, p.called_aet, status, net_status_str(status));
        return DQR_EXIT_FAIL;
    }
    printf("echo: %s:%d (%s) ok in %.1f ms\n", o.host, o.port, p.called_aet, ms);
    return DQR_EXIT_OK;
}
