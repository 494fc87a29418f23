/* cmd_store.c — `dqr store [--aet A] [--call AE] HOST PORT FILE|DIR...`:
 * send DICOM files over one association, one status line per file. */
#include "cli/files.h"
#include "cli/netopts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Propose a context per (SOP class, transfer syntax) found; native data
 * also offers Explicit and Implicit VR LE so the peer can choose. */
static void propose(net_params *p, const char *sop_class, const char *ts)
{
    for (size_t i = 0; i < p->npc; i++)
        if (strcmp(p->pcs[i].abstract, sop_class) == 0 && strcmp(p->pcs[i].ts[0], ts) == 0)
            return;
    const dcm_uid_entry *t = dcm_ts_lookup(ts);
    bool native = t && !(t->flags & DCM_TS_ENCAPSULATED);
    const char *list[4] = {ts, NULL, NULL, NULL};
    if (native) {
        size_t k = 1;
        if (strcmp(ts, DCM_TS_EXPLICIT_LE) != 0)
            list[k++] = DCM_TS_EXPLICIT_LE;
        if (strcmp(ts, DCM_TS_IMPLICIT_LE) != 0)
            list[k++] = DCM_TS_IMPLICIT_LE;
    }
    net_params_add(p, sop_class, list);
}

int cmd_store(int argc, char **argv)
{
    const dqr_command *self = cli_find("store");
    netopts o = {0};
    file_list files = {0};
    int rc = DQR_EXIT_OK;
    const char **pos = calloc((size_t)argc + 1, sizeof *pos);
    int npos = pos ? netopts_parse(self, &o, NULL, NULL, argc, argv, pos, argc, true) : -1;
    if (npos < 0) {
        free(pos);
        return DQR_EXIT_USAGE;
    }
    if (npos < 3) {
        free(pos);
        return cli_usage_error(self, "needs HOST PORT FILE|DIR...");
    }
    for (int i = 2; i < npos; i++)
        if (file_list_add(&files, pos[i]) != 0) {
            cli_error("%s: No such file or directory", pos[i]);
            rc = DQR_EXIT_FAIL;
        }
    free(pos);
    net_params p;
    netopts_params(self, &o, &p);
    /* first pass: what to propose (headers only; pixel data is not read) */
    char *ok = calloc(files.n + 1, 1);
    for (size_t i = 0; i < files.n; i++) {
        dqr_error err = {0};
        dcm_file *f = dcm_file_open(files.paths[i], &err);
        char cls[65];
        if (!f || !dcm_dataset_get_string(dcm_file_dataset(f), DCM_TAG(0x0008, 0x0016), cls, sizeof cls)) {
            cli_error("%s", f ? "no SOP Class UID" : err.message);
            rc = DQR_EXIT_FAIL;
        } else if (p.npc >= NET_MAX_PC - 2) {
            cli_error("%s: more SOP classes and syntaxes than one association carries (%d)", files.paths[i], NET_MAX_PC);
            rc = DQR_EXIT_FAIL;
        } else {
            propose(&p, cls, dcm_file_transfer_syntax(f));
            ok[i] = 1;
        }
        dcm_file_close(f);
    }
    dqr_error err = {0};
    size_t sent = 0, failed = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    net_assoc *a = p.npc ? net_connect(o.host, o.port, &p, &err) : NULL;
    if (p.npc && !a) {
        cli_error("store: %s", err.message);
        free(ok);
        file_list_free(&files);
        return DQR_EXIT_FAIL;
    }
    for (size_t i = 0; a && i < files.n; i++) {
        if (!ok[i])
            continue;
        dcm_file *f = dcm_file_open(files.paths[i], &err);
        uint16_t status = 0xFFFF;
        dqr_status st = f ? net_store(a, f, (uint16_t)(i + 1), &status, &err) : err.code;
        dcm_file_close(f);
        if (st == DQR_E_UNSUPPORTED) {
            cli_error("%s: %s", files.paths[i], err.message);
            failed++;
            continue;
        }
        if (st) {
            cli_error("%s: %s", files.paths[i], err.message);
            failed += files.n - i; /* the association is gone: the rest fail too */
            net_assoc_free(a);
            a = NULL;
            break;
        }
        printf("%s: 0x%04X %s\n", files.paths[i], status, net_status_str(status));
        if (status == 0 || (status & 0xF000) == 0xB000)
            sent++;
        else
            failed++;
    }
    if (a && net_release(a, &err))
        cli_error("store: %s", err.message);
    net_assoc_free(a);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("store: %zu sent, %zu failed, in %.2f s\n", sent, failed,
           (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    free(ok);
    file_list_free(&files);
    return failed || rc ? DQR_EXIT_FAIL : DQR_EXIT_OK;
}
