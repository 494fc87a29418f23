/* cmd_find.c — `dqr find ... --level L -k KEY[=VALUE]... HOST PORT`: C-FIND,
 * one DICOM JSON object (PS3.18 F) per match per line, as matches arrive. */
#include "cli/query.h"

#include <stdio.h>
#include <string.h>

static int print_match(void *ctx, const dcm_dataset *identifier)
{
    size_t *count = ctx;
    dqr_error err = {0};
    if (dcm_dump_json(identifier, stdout, 0, &err))
        cli_error("find: a match could not be printed: %s", err.message);
    fputc('\n', stdout);
    fflush(stdout);
    (*count)++;
    return 0;
}

int cmd_find(int argc, char **argv)
{
    const dqr_command *self = cli_find("find");
    netopts o = {0};
    query_cmd c = {0};
    const char *pos[2];
    if (netopts_parse(self, &o, query_take, &c, argc, argv, pos, 2, true) < 0)
        return DQR_EXIT_USAGE;
    query q = c.q;
    if (!q.level)
        return cli_usage_error(self, "needs --level PATIENT|STUDY|SERIES|IMAGE");
    net_params p;
    const char *model;
    dcm_dataset *id = query_prepare(self, &o, &q, NET_STUDY_ROOT_FIND, NET_PATIENT_ROOT_FIND, &p, &model);
    if (!id)
        return DQR_EXIT_USAGE;
    dqr_error err = {0};
    size_t count = 0;
    uint16_t status = 0xFFFF;
    net_assoc *a = net_connect(o.host, o.port, &p, &err);
    dqr_status st = a ? net_find(a, model, id, print_match, &count, &status, &err) : DQR_E_IO;
    if (!st && net_release(a, &err))
        st = DQR_E_IO;
    net_assoc_free(a);
    dcm_dataset_free(id);
    if (st) {
        cli_error("find: %s", err.message);
        return DQR_EXIT_FAIL;
    }
    if (status != 0) {
        cli_error("find: the peer answered 0x%04X (%s) after %zu matches", status, net_status_str(status), count);
        return DQR_EXIT_FAIL;
    }
    return DQR_EXIT_OK;
}
