/* scp_retrieve.c — C-MOVE and C-GET as SCP (PS3.4 C.4.2, C.4.3). The
 * on_retrieve callback names the files to send (and, for C-MOVE, where);
 * each goes out as a C-STORE sub-operation — on a new association to the
 * Move Destination, carrying the Move Originator AE and Message ID, or for
 * C-GET back on the requestor's own association, on the storage contexts it
 * offered with the SCP role. A pending response with the four counts
 * follows every sub-operation, and a C-CANCEL seen between two stops the
 * rest (final status Cancel, with what remained). */
#include "net/scp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void retrieve_free(net_retrieve *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->paths[i]);
    free(r->paths);
}

/* The final status from the counts (PS3.4 C.4.2.1.5, C.4.3.1.4). */
static uint16_t final_status(const scp_op *op)
{
    if (op->cancelled)
        return 0xFE00;
    if (op->failed && !op->completed && !op->warning)
        return 0xA702; /* Refused: out of resources - unable to perform sub-operations */
    return op->failed || op->warning ? 0xB000 : 0x0000;
}

/* The final response: with the Failed SOP Instance UID List as its
 * identifier when some failed (PS3.4 C.4.2.1.4.1). */
static dqr_status respond_final(scp_op *op, dqr_error *err)
{
    uint16_t status = final_status(op);
    dcm_dataset *list = NULL;
    if (op->failed_uids.len)
        bytes_u8(&op->failed_uids, '\0');
    if (op->failed_uids.len && !op->failed_uids.failed && (list = dcm_dataset_new()) &&
        !dcm_dataset_set_string(list, DCM_TAG(0x0008, 0x0058), DCM_VR_UI, (const char *)op->failed_uids.p, err)) {
        dcm_dataset_free(list);
        list = NULL;
    }
    dqr_status st = scp_respond(op, status, true, list, err);
    dcm_dataset_free(list);
    return st;
}

/* Every file of r as a sub-operation on dest, a pending response after each. */
static dqr_status send_all(scp_op *op, net_assoc *dest, const net_retrieve *r, bool move, dqr_error *err)
{
    dqr_status st = DQR_OK;
    op->remaining = (int)r->n;
    for (size_t i = 0; i < r->n && !st && !op->cancelled; i++) {
        uint16_t status;
        char inst[65];
        st = scp_store(op, dest, r->paths[i], (uint16_t)(i + 1), move ? op->q.calling_aet : NULL,
                       move ? op->q.msgid : -1, &status, inst, err);
        if (st)
            break;
        op->remaining--;
        scp_count(op, status, inst);
        if (op->remaining > 0 && !(st = scp_poll_cancel(op, err)) && !op->cancelled)
            st = scp_respond(op, 0xFF00, true, NULL, err);
    }
    return st;
}

/* A context for f's SOP class in p, proposing f's transfer syntax (and
 * both native ones, which any uncompressed file can be sent in). */
static void propose(net_params *p, const char *cls, const char *ts)
{
    net_pc *pc = NULL;
    for (size_t i = 0; i < p->npc && !pc; i++)
        if (strcmp(p->pcs[i].abstract, cls) == 0)
            pc = &p->pcs[i];
    if (!pc) {
        const dcm_uid_entry *e = dcm_ts_lookup(ts);
        bool native = e && !(e->flags & DCM_TS_ENCAPSULATED);
        const char *list[] = {ts, native ? DCM_TS_EXPLICIT_LE : NULL, DCM_TS_IMPLICIT_LE, NULL};
        net_params_add(p, cls, list);
        return;
    }
    for (size_t k = 0; k < pc->nts; k++)
        if (strcmp(pc->ts[k], ts) == 0)
            return;
    if (pc->nts < NET_MAX_TS)
        snprintf(pc->ts[pc->nts++], sizeof pc->ts[0], "%s", ts);
}

/* Contexts for what r holds: each file's SOP class and transfer syntax
 * (reading a header leaves the pixel data on disk). */
static void propose_all(net_params *p, const net_retrieve *r)
{
    for (size_t i = 0; i < r->n && p->npc < NET_MAX_PC; i++) {
        dcm_file *f = dcm_file_open(r->paths[i], NULL);
        char cls[65] = "";
        if (f && dcm_dataset_get_string(dcm_file_dataset(f), DCM_TAG(0x0008, 0x0016), cls, sizeof cls))
            propose(p, cls, dcm_file_transfer_syntax(f));
        dcm_file_close(f);
    }
}

static dqr_status refuse(scp_op *op, uint16_t status, dqr_error *err)
{
    op->remaining = op->completed = op->warning = 0;
    return scp_respond(op, status, true, NULL, err);
}

dqr_status scp_move(const net_server_config *cfg, scp_op *op, dqr_error *err)
{
    net_retrieve r = {0};
    uint16_t status = *op->move_dest ? cfg->on_retrieve(cfg->ctx, &op->q, &r) : 0xA801;
    dqr_status st = DQR_OK;
    if (status || !r.n) {
        retrieve_free(&r);
        return refuse(op, status, err);
    }
    net_params p = {.tls = r.tls, .timeout_s = cfg->idle_timeout_s};
    snprintf(p.calling_aet, sizeof p.calling_aet, "%s", cfg->aet ? cfg->aet : "DQR");
    snprintf(p.called_aet, sizeof p.called_aet, "%s", op->move_dest);
    propose_all(&p, &r);
    dqr_error derr = {0};
    net_assoc *dest = net_connect(r.host, r.port, &p, &derr);
    if (!dest) { /* every sub-operation failed: none could start */
        op->failed = (int)r.n;
        retrieve_free(&r);
        return refuse(op, 0xA702, err);
    }
    dqr_error serr = {0};
    st = send_all(op, dest, &r, true, &serr);
    if (st) { /* the destination or the requestor broke off: what was not sent failed */
        net_abort(dest);
        op->failed += op->remaining;
        op->remaining = 0;
        st = DQR_OK;
    } else {
        net_release(dest, NULL);
    }
    net_assoc_free(dest);
    retrieve_free(&r);
    return respond_final(op, err);
}

dqr_status scp_get(const net_server_config *cfg, scp_op *op, dqr_error *err)
{
    net_retrieve r = {0};
    uint16_t status = cfg->on_retrieve(cfg->ctx, &op->q, &r);
    if (status || !r.n) {
        retrieve_free(&r);
        return refuse(op, status, err);
    }
    dqr_status st = send_all(op, op->a, &r, false, err);
    retrieve_free(&r);
    return st ? st : respond_final(op, err);
}
