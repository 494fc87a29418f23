/* cmd_move.c — `dqr move ... --dest AE -k KEY=VALUE... HOST PORT`: C-MOVE,
 * the sub-operation counters reported; exit 1 unless every one succeeded. */
#include "cli/query.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Set by SIGINT: the next pending response sends C-CANCEL (a signal handler
 * can reach nothing else). */
static volatile sig_atomic_t g_cancel_requested;

static void on_interrupt(int sig)
{
    (void)sig;
    g_cancel_requested = 1;
}

static int progress(void *ctx, const net_move_result *r)
{
    (void)ctx;
    if (isatty(STDERR_FILENO))
        fprintf(stderr, "\rmove: %d completed, %d failed, %d remaining", r->completed, r->failed, r->remaining);
    return g_cancel_requested;
}

int cmd_move(int argc, char **argv)
{
    const dqr_command *self = cli_find("move");
    netopts o = {0};
    query_cmd c = {.q = {.level = "STUDY"}, .value_opt = "--dest"};
    const char *pos[2];
    if (netopts_parse(self, &o, query_take, &c, argc, argv, pos, 2, true) < 0)
        return DQR_EXIT_USAGE;
    query q = c.q;
    const char *dest = c.value;
    if (!dest || !*dest || strlen(dest) > 16)
        return cli_usage_error(self, "needs --dest AE (the AE title the peer sends to)");
    if (!strcmp(q.level, "PATIENT") && !q.patient_root)
        return cli_usage_error(self, "--level PATIENT needs --model patient");
    net_params p;
    const char *model;
    dcm_dataset *id = query_prepare(self, &o, &q, NET_STUDY_ROOT_MOVE, NET_PATIENT_ROOT_MOVE, &p, &model);
    if (!id)
        return DQR_EXIT_USAGE;
    dqr_error err = {0};
    net_move_result r = {0xFFFF, -1, -1, -1, -1};
    struct sigaction sa = {.sa_handler = on_interrupt}; /* Ctrl-C: cancel, then report */
    sigaction(SIGINT, &sa, NULL);
    net_assoc *a = net_connect(o.host, o.port, &p, &err);
    dqr_status st = a ? net_move(a, model, dest, id, 1, progress, NULL, &r, &err) : DQR_E_IO;
    if (!st && net_release(a, &err))
        st = DQR_E_IO;
    net_assoc_free(a);
    dcm_dataset_free(id);
    if (isatty(STDERR_FILENO))
        fprintf(stderr, "\r%60s\r", "");
    if (st) {
        cli_error("move: %s", err.message);
        return DQR_EXIT_FAIL;
    }
    return query_report(self, &r);
}
