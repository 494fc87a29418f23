/* scp_common.c — the parts of the Query/Retrieve SCP that C-FIND, C-MOVE
 * and C-GET share (PS3.4 C.4, PS3.7 9.1.2-9.1.4): the request's identifier,
 * responses with the sub-operation counts, C-CANCEL noticed between two
 * responses without blocking, and one instance sent as a C-STORE
 * sub-operation. */
#include "net/scp.h"

#include <poll.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *uid;
    char model;
    uint16_t field;
} MODELS[] = {
    {NET_STUDY_ROOT_FIND, 'S', NET_C_FIND_RQ},   {NET_STUDY_ROOT_MOVE, 'S', NET_C_MOVE_RQ},
    {NET_STUDY_ROOT_GET, 'S', NET_C_GET_RQ},     {NET_PATIENT_ROOT_FIND, 'P', NET_C_FIND_RQ},
    {NET_PATIENT_ROOT_MOVE, 'P', NET_C_MOVE_RQ}, {NET_PATIENT_ROOT_GET, 'P', NET_C_GET_RQ},
};

char scp_model(const char *sop_class, uint16_t *field)
{
    for (size_t i = 0; i < sizeof MODELS / sizeof MODELS[0]; i++)
        if (strcmp(MODELS[i].uid, sop_class) == 0) {
            if (field)
                *field = MODELS[i].field;
            return MODELS[i].model;
        }
    return 0;
}

bool net_retrieve_add(net_retrieve *r, const char *path)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 64;
        char **p = realloc(r->paths, cap * sizeof *p);
        if (!p)
            return false;
        r->paths = p, r->cap = cap;
    }
    if (!(r->paths[r->n] = strdup(path)))
        return false;
    r->n++;
    return true;
}

static int collect(void *ctx, const uint8_t *d, size_t n)
{
    bytes *b = ctx;
    if (b->len + n > (16u << 20)) /* an identifier of 16 MiB is no identifier */
        return -1;
    bytes_put(b, d, n);
    return b->failed ? -1 : 0;
}

static const char *context_ts(const net_assoc *a, uint8_t pcid)
{
    for (size_t i = 0; i < a->p.npc; i++)
        if (a->p.pcs[i].id == pcid)
            return a->p.pcs[i].accepted_ts;
    return DCM_TS_IMPLICIT_LE;
}

/* The identifier as a dataset: the bytes on the wire behind a Part 10
 * header naming the context's transfer syntax, so nothing is guessed. */
static dqr_status read_identifier(net_assoc *a, uint8_t pcid, const char *cls, dcm_dataset **out, dqr_error *err)
{
    bytes b = {0};
    uint8_t *head = NULL;
    size_t hlen = 0;
    dqr_status st = net_recv_dataset(a, collect, &b, err);
    if (!st && net_encode_header(cls, "1.2", context_ts(a, pcid), a->p.calling_aet, &head, &hlen))
        st = dqr_error_set(err, DQR_E_NOMEM, "out of memory");
    if (!st) {
        bytes all = {0};
        bytes_put(&all, head, hlen);
        bytes_put(&all, b.p, b.len);
        dcm_file *f = all.failed ? NULL : dcm_file_parse(all.p, all.len, err);
        *out = f ? dcm_dataset_copy(dcm_file_dataset(f)) : NULL;
        dcm_file_close(f);
        free(all.p);
        if (!*out)
            st = err && err->code ? err->code : DQR_E_NOMEM;
    }
    free(head);
    free(b.p);
    return st;
}

dqr_status scp_op_begin(scp_op *op, net_assoc *a, uint8_t pcid, const dcm_dataset *cmd, dqr_error *err)
{
    memset(op, 0, sizeof *op);
    op->a = a;
    op->pcid = pcid;
    op->field = net_cmd_us(cmd, DCM_TAG(0x0000, 0x0100));
    dcm_dataset_get_string(cmd, DCM_TAG(0x0000, 0x0002), op->sop_class, sizeof op->sop_class);
    dcm_dataset_get_string(cmd, DCM_TAG(0x0000, 0x0600), op->move_dest, sizeof op->move_dest);
    op->q = (net_qr_request){.calling_aet = a->p.calling_aet, .peer_addr = a->peer_addr, .sop_class = op->sop_class,
                             .patient_root = scp_model(op->sop_class, NULL) == 'P', .move_dest = op->move_dest,
                             .msgid = net_cmd_us(cmd, DCM_TAG(0x0000, 0x0110))};
    if (net_cmd_us(cmd, DCM_TAG(0x0000, 0x0800)) == NET_NO_DATASET)
        return dqr_error_set(err, DQR_E_PARSE, "a Q/R request without an identifier");
    dqr_status st = read_identifier(a, pcid, op->sop_class, &op->identifier, err);
    op->q.identifier = op->identifier;
    return st;
}

void scp_op_free(scp_op *op)
{
    dcm_dataset_free(op->identifier);
    op->identifier = NULL;
    free(op->failed_uids.p);
    op->failed_uids = (bytes){0};
}

dqr_status scp_respond(scp_op *op, uint16_t status, bool with_counts, const dcm_dataset *data, dqr_error *err)
{
    dcm_dataset *rsp = net_command(op->field | NET_RSP, op->q.msgid, op->sop_class, data != NULL, err);
    dqr_status st = rsp ? net_cmd_set_us(rsp, DCM_TAG(0x0000, 0x0900), status, err) : DQR_E_NOMEM;
    /* Remaining only while pending or when cancelled (PS3.4 C.4.2.1.6) */
    bool remaining = status == 0xFF00 || status == 0xFE00;
    for (int i = 0; with_counts && !st && i < 4; i++) {
        int v[4] = {op->remaining, op->completed, op->failed, op->warning};
        if (i || remaining)
            st = net_cmd_set_us(rsp, DCM_TAG(0x0000, 0x1020 + i), (uint16_t)(v[i] > 0xFFFF ? 0xFFFF : v[i]), err);
    }
    if (!st)
        st = net_send_command(op->a, op->pcid, rsp, err);
    dcm_dataset_free(rsp);
    if (st || !data)
        return st;
    dcm_dataset *copy = dcm_dataset_copy(data);
    dcm_file *f = copy ? dcm_file_wrap(NULL, copy, context_ts(op->a, op->pcid), err) : NULL;
    st = f ? net_send_dataset(op->a, op->pcid, f, err) : dqr_error_set(err, DQR_E_NOMEM, "out of memory");
    dcm_file_close(f);
    return st;
}

/* Has the peer sent something not yet read? Bytes left in the PDU being
 * read, in TLS's buffer, or on the socket. */
static bool peer_waiting(const net_assoc *a)
{
    if (a->rtype == PDU_DATA && a->rpos + 6 <= a->rlen)
        return true;
    if (a->ssl && SSL_pending(a->ssl) > 0)
        return true;
    struct pollfd p = {a->fd, POLLIN, 0};
    return poll(&p, 1, 0) > 0;
}

/* A command that arrived during op: a C-CANCEL of it is noted. */
static dqr_status take_cancel(scp_op *op, const dcm_dataset *c, dqr_error *err)
{
    uint16_t field = net_cmd_us(c, DCM_TAG(0x0000, 0x0100));
    if (field != NET_C_CANCEL_RQ)
        return dqr_error_set(err, DQR_E_PARSE, "command 0x%04X during a Q/R operation", field);
    if (net_cmd_us(c, DCM_TAG(0x0000, 0x0120)) == op->q.msgid)
        op->cancelled = true;
    return DQR_OK;
}

dqr_status scp_poll_cancel(scp_op *op, dqr_error *err)
{
    while (!op->cancelled && peer_waiting(op->a)) {
        uint8_t pcid;
        dcm_dataset *c = NULL;
        dqr_status st = net_recv_command(op->a, &pcid, &c, err);
        if (st == DQR_E_NOTFOUND)
            return dqr_error_set(err, DQR_E_IO, "the requestor released the association during its request");
        if (!st)
            st = take_cancel(op, c, err);
        dcm_dataset_free(c);
        if (st)
            return st;
    }
    return DQR_OK;
}

/* The context to send f on: its own transfer syntax, else (a native
 * dataset can be re-encoded, a compressed one cannot) any native one. */
static const net_pc *store_context(const net_assoc *a, const char *cls, const char *ts)
{
    const net_pc *pc = net_find_pc(a, cls, ts);
    const dcm_uid_entry *e = dcm_ts_lookup(ts);
    if (pc || (e && (e->flags & DCM_TS_ENCAPSULATED)))
        return pc;
    for (size_t i = 0; i < a->p.npc; i++) {
        const net_pc *c = &a->p.pcs[i];
        const dcm_uid_entry *t = c->result == 0 && strcmp(c->abstract, cls) == 0 ? dcm_ts_lookup(c->accepted_ts) : NULL;
        if (t && !(t->flags & DCM_TS_ENCAPSULATED))
            return c;
    }
    return NULL;
}

static dqr_status send_store_rq(net_assoc *a, const dcm_file *f, const net_pc *pc, const char *cls,
                                const char *inst, uint16_t msgid, const char *move_aet, int move_msgid,
                                dqr_error *err)
{
    dcm_dataset *cmd = net_command(NET_C_STORE_RQ, msgid, cls, true, err);
    dqr_status st = cmd ? net_cmd_set_us(cmd, DCM_TAG(0x0000, 0x0700), 0, err) : DQR_E_NOMEM;
    if (!st && !dcm_dataset_set_string(cmd, DCM_TAG(0x0000, 0x1000), DCM_VR_UI, inst, err))
        st = DQR_E_NOMEM;
    if (!st && move_aet && (!dcm_dataset_set_string(cmd, DCM_TAG(0x0000, 0x1030), DCM_VR_AE, move_aet, err) ||
                            net_cmd_set_us(cmd, DCM_TAG(0x0000, 0x1031), (uint16_t)move_msgid, err)))
        st = DQR_E_NOMEM;
    if (!st)
        st = net_send_command(a, pc->id, cmd, err);
    dcm_dataset_free(cmd);
    return st ? st : net_send_dataset(a, pc->id, f, err);
}

dqr_status scp_store(scp_op *op, net_assoc *a, const char *path, uint16_t msgid, const char *move_aet,
                     int move_msgid, uint16_t *status, char inst[65], dqr_error *err)
{
    char cls[65] = "";
    *inst = '\0';
    dcm_file *f = dcm_file_open(path, NULL);
    if (f) {
        dcm_dataset_get_string(dcm_file_dataset(f), DCM_TAG(0x0008, 0x0016), cls, sizeof cls);
        dcm_dataset_get_string(dcm_file_dataset(f), DCM_TAG(0x0008, 0x0018), inst, 65);
    }
    const net_pc *pc = f && *cls && *inst ? store_context(a, cls, dcm_file_transfer_syntax(f)) : NULL;
    *status = f ? 0xA702 : 0xC000; /* no context: the sub-operation fails, the rest go on */
    dqr_status st = pc ? send_store_rq(a, f, pc, cls, inst, msgid, move_aet, move_msgid, err) : DQR_OK;
    dcm_file_close(f);
    while (pc && !st) {
        uint8_t pcid;
        dcm_dataset *c = NULL;
        st = net_recv_command(a, &pcid, &c, err);
        if (st == DQR_E_NOTFOUND)
            st = dqr_error_set(err, DQR_E_IO, "the storage SCP released the association during a sub-operation");
        if (st)
            break;
        uint16_t field = net_cmd_us(c, DCM_TAG(0x0000, 0x0100));
        bool done = field == (NET_C_STORE_RQ | NET_RSP) && net_cmd_us(c, DCM_TAG(0x0000, 0x0120)) == msgid;
        if (done)
            *status = net_cmd_us(c, DCM_TAG(0x0000, 0x0900));
        else if (a == op->a) /* C-GET: a C-CANCEL may come before the store response */
            st = take_cancel(op, c, err);
        else
            st = dqr_error_set(err, DQR_E_PARSE, "unexpected command 0x%04X from the storage SCP", field);
        dcm_dataset_free(c);
        if (done)
            break;
    }
    return st;
}

void scp_count(scp_op *op, uint16_t status, const char *inst)
{
    if (status == 0x0000) {
        op->completed++;
    } else if (status == 0xB000 || status == 0xB006 || status == 0xB007) {
        op->warning++;
    } else {
        op->failed++;
        if (*inst && op->failed_uids.len + 66 < 0xFFFF) { /* a value length fits 16 bits in Implicit VR */
            if (op->failed_uids.len)
                bytes_u8(&op->failed_uids, '\\');
            bytes_put(&op->failed_uids, inst, strlen(inst));
        }
    }
}
