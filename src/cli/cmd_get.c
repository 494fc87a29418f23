/* cmd_get.c — `dqr get ... --out DIR -k KEY=VALUE... HOST PORT`: C-GET, the
 * instances arriving on the same association written to DIR atomically. */
#include "cli/files.h"
#include "cli/query.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct getctx {
    const char *out;
    size_t written;
} getctx;

static uint16_t keep(void *ctx, const net_received *r)
{
    getctx *g = ctx;
    const char *sop_instance = r->sop_instance, *tmp_path = r->tmp_path;
    char path[4096];
    if (!*sop_instance || strspn(sop_instance, "0123456789.") != strlen(sop_instance) ||
        snprintf(path, sizeof path, "%s/%s.dcm", g->out, sop_instance) >= (int)sizeof path ||
        rename(tmp_path, path) != 0) {
        unlink(tmp_path);
        cli_error("get: cannot keep instance '%s'", sop_instance);
        return 0xA700;
    }
    g->written++;
    return 0;
}

int cmd_get(int argc, char **argv)
{
    const dqr_command *self = cli_find("get");
    netopts o = {0};
    query_cmd c = {.q = {.level = "STUDY"}, .value_opt = "--out"};
    const char *pos[2];
    if (netopts_parse(self, &o, query_take, &c, argc, argv, pos, 2, true) < 0)
        return DQR_EXIT_USAGE;
    query q = c.q;
    const char *out = c.value;
    if (!out)
        return cli_usage_error(self, "needs --out DIR");
    struct stat sb;
    if ((stat(out, &sb) != 0 || !S_ISDIR(sb.st_mode)) && mkdir(out, 0755) != 0) {
        cli_error("%s: %s", out, strerror(errno));
        return DQR_EXIT_FAIL;
    }
    net_params p;
    const char *model;
    dcm_dataset *id = query_prepare(self, &o, &q, NET_STUDY_ROOT_GET, NET_PATIENT_ROOT_GET, &p, &model);
    if (!id)
        return DQR_EXIT_USAGE;
    net_params_add_storage(&p);
    dqr_error err = {0};
    net_move_result r = {0xFFFF, -1, -1, -1, -1};
    getctx g = {out, 0};
    net_assoc *a = net_connect(o.host, o.port, &p, &err);
    dqr_status st = a ? net_get(a, model, id, out, keep, &g, &r, &err) : DQR_E_IO;
    if (!st && net_release(a, &err))
        st = DQR_E_IO;
    net_assoc_free(a);
    dcm_dataset_free(id);
    if (st) {
        cli_error("get: %s", err.message);
        return DQR_EXIT_FAIL;
    }
    printf("get: %zu written to %s\n", g.written, out);
    return query_report(self, &r);
}
