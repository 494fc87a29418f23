/* get.c — C-GET as SCU: the peer sends the selected instances back over the
 * same association as C-STORE sub-operations, which needs storage contexts
 * proposed with the SCP role (PS3.4 C.4.3, PS3.7 D.3.3.4). */
#include "net/assoc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Storage SOP classes a PACS is most likely to hold, proposed first: there is
 * room for 127 contexts and the table has more classes than that. */
static const char *const COMMON[] = {
    "1.2.840.10008.5.1.4.1.1.2",     /* CT */
    "1.2.840.10008.5.1.4.1.1.2.1",   /* Enhanced CT */
    "1.2.840.10008.5.1.4.1.1.4",     /* MR */
    "1.2.840.10008.5.1.4.1.1.4.1",   /* Enhanced MR */
    "1.2.840.10008.5.1.4.1.1.1",     /* CR */
    "1.2.840.10008.5.1.4.1.1.1.1",   /* DX presentation */
    "1.2.840.10008.5.1.4.1.1.1.2",   /* MG presentation */
    "1.2.840.10008.5.1.4.1.1.6.1",   /* US */
    "1.2.840.10008.5.1.4.1.1.3.1",   /* US multi-frame */
    "1.2.840.10008.5.1.4.1.1.7",     /* Secondary Capture */
    "1.2.840.10008.5.1.4.1.1.20",    /* NM */
    "1.2.840.10008.5.1.4.1.1.128",   /* PET */
    "1.2.840.10008.5.1.4.1.1.481.1", /* RT Image */
    "1.2.840.10008.5.1.4.1.1.481.2", /* RT Dose */
    "1.2.840.10008.5.1.4.1.1.481.3", /* RT Structure Set */
    "1.2.840.10008.5.1.4.1.1.481.5", /* RT Plan */
    "1.2.840.10008.5.1.4.1.1.88.11", /* Basic Text SR */
    "1.2.840.10008.5.1.4.1.1.88.22", /* Enhanced SR */
    "1.2.840.10008.5.1.4.1.1.88.33", /* Comprehensive SR */
    "1.2.840.10008.5.1.4.1.1.11.1",  /* Grayscale Softcopy Presentation State */
    "1.2.840.10008.5.1.4.1.1.104.1", /* Encapsulated PDF */
    "1.2.840.10008.5.1.4.1.1.12.1",  /* XA */
    "1.2.840.10008.5.1.4.1.1.66.4",  /* Segmentation */
    NULL,
};

static const char *const STORAGE_TS[] = {
    DCM_TS_EXPLICIT_LE, DCM_TS_IMPLICIT_LE, "1.2.840.10008.1.2.4.70", "1.2.840.10008.1.2.4.50",
    "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.5", NULL,
};

static bool proposed(const net_params *p, const char *uid)
{
    for (size_t i = 0; i < p->npc; i++)
        if (strcmp(p->pcs[i].abstract, uid) == 0)
            return true;
    return false;
}

static void add_storage(net_params *p, const char *uid)
{
    if (proposed(p, uid))
        return;
    uint8_t id = net_params_add(p, uid, STORAGE_TS);
    if (id) {
        p->pcs[p->npc - 1].scp_role = true; /* we receive: SCP of storage */
        p->pcs[p->npc - 1].scu_role = false;
    }
}

void net_params_add_storage(net_params *p)
{
    for (size_t i = 0; COMMON[i] && p->npc < NET_MAX_PC - 1; i++)
        add_storage(p, COMMON[i]);
    for (size_t i = 0; i < dcm_sop_classes_len && p->npc < NET_MAX_PC - 1; i++)
        add_storage(p, dcm_sop_classes[i].uid);
}

dqr_status net_get(net_assoc *a, const char *sop_class, const dcm_dataset *identifier, const char *tmp_dir,
                   net_get_store_fn fn, void *ctx, net_move_result *result, dqr_error *err)
{
    const net_pc *pc = net_find_pc(a, sop_class, NULL);
    if (!pc)
        return dqr_error_set(err, DQR_E_UNSUPPORTED, "the peer did not accept %s", sop_class);
    const uint16_t msgid = 1;
    dcm_dataset *cmd = net_command(NET_C_GET_RQ, msgid, sop_class, true, err);
    dqr_status st = cmd ? net_cmd_set_us(cmd, DCM_TAG(0x0000, 0x0700), 0, err) : DQR_E_NOMEM;
    if (!st)
        st = net_send_command(a, pc->id, cmd, err);
    dcm_dataset_free(cmd);
    dcm_dataset *copy = st ? NULL : dcm_dataset_copy(identifier);
    dcm_file *f = copy ? dcm_file_wrap(NULL, copy, pc->accepted_ts, err) : NULL;
    if (!st)
        st = f ? net_send_dataset(a, pc->id, f, err) : dqr_error_set(err, DQR_E_NOMEM, "out of memory");
    dcm_file_close(f);
    while (!st) {
        uint8_t pcid;
        dcm_dataset *c = NULL;
        st = net_recv_command(a, &pcid, &c, err);
        if (st == DQR_E_NOTFOUND)
            st = dqr_error_set(err, DQR_E_IO, "the peer released the association before the last response");
        if (st)
            break;
        uint16_t field = net_cmd_us(c, DCM_TAG(0x0000, 0x0100));
        if (field == NET_C_STORE_RQ) { /* a sub-operation: receive, keep, answer */
            net_rx rx;
            uint16_t sub = net_cmd_us(c, DCM_TAG(0x0000, 0x0110)), status = 0xA700;
            st = net_rx_receive(a, pcid, c, tmp_dir, &rx, err);
            if (st == DQR_E_LIMIT) /* dropped, read to its end: answered 0xA700 */
                st = DQR_OK;
            else if (!st)
                status = fn(ctx, &rx.r);
            if (!st)
                st = net_store_respond(a, pcid, sub, rx.cls, rx.inst, status, err);
            net_rx_free(&rx);
        } else if (field == (NET_C_GET_RQ | NET_RSP) && net_cmd_us(c, DCM_TAG(0x0000, 0x0120)) == msgid) {
            static const uint32_t TAGS[4] = {DCM_TAG(0x0000, 0x1020), DCM_TAG(0x0000, 0x1021),
                                             DCM_TAG(0x0000, 0x1022), DCM_TAG(0x0000, 0x1023)};
            int *out[4] = {&result->remaining, &result->completed, &result->failed, &result->warning};
            for (int i = 0; i < 4; i++) {
                uint16_t v = net_cmd_us(c, TAGS[i]);
                *out[i] = v == 0xFFFF ? -1 : v;
            }
            result->status = net_cmd_us(c, DCM_TAG(0x0000, 0x0900));
            if (net_cmd_us(c, DCM_TAG(0x0000, 0x0800)) != NET_NO_DATASET)
                st = net_recv_dataset(a, net_discard, NULL, err); /* failed-UID list: counts say enough */
            bool more = result->status == 0xFF00 || result->status == 0xFF01;
            dcm_dataset_free(c);
            if (!more)
                break;
            continue;
        } else {
            st = dqr_error_set(err, DQR_E_PARSE, "unexpected command 0x%04X during C-GET", field);
        }
        dcm_dataset_free(c);
    }
    return st;
}
