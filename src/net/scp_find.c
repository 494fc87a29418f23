/* scp_find.c — C-FIND as SCP (PS3.4 C.4.1): the on_find callback streams
 * its matches, each sent at once as a pending response (nothing is
 * gathered first, so the first match reaches the requestor while the
 * callback still searches); a C-CANCEL seen between two matches stops it,
 * and the final response says Cancel. */
#include "net/scp.h"

typedef struct emitting {
    scp_op *op;
    dqr_status st;
    dqr_error *err;
} emitting;

static int emit(void *ctx, const dcm_dataset *match)
{
    emitting *e = ctx;
    if (e->st || e->op->cancelled)
        return 1;
    e->st = scp_respond(e->op, 0xFF00, false, match, e->err);
    if (!e->st)
        e->st = scp_poll_cancel(e->op, e->err);
    return e->st || e->op->cancelled;
}

dqr_status scp_find(const net_server_config *cfg, scp_op *op, dqr_error *err)
{
    emitting e = {op, DQR_OK, err};
    uint16_t status = cfg->on_find(cfg->ctx, &op->q, emit, &e);
    if (e.st)
        return e.st; /* the association broke: no final response possible */
    if (op->cancelled && status == 0x0000)
        status = 0xFE00;
    return scp_respond(op, status, false, NULL, err);
}
