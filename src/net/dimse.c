/* dimse.c — DIMSE command sets (PS3.7 section 9/E) and the C-ECHO and
 * C-STORE requests of the SCU side. */
#include "net/assoc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool set_us(dcm_dataset *ds, uint32_t tag, uint16_t v, dqr_error *err)
{
    uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    return dcm_dataset_set_bytes(ds, tag, DCM_VR_US, b, 2, err) != NULL;
}

dcm_dataset *net_command(uint16_t field, uint16_t msgid, const char *sop_class, bool has_dataset,
                         dqr_error *err)
{
    dcm_dataset *c = dcm_dataset_new();
    bool rsp = field & NET_RSP;
    if (!c || !dcm_dataset_set_bytes(c, DCM_TAG(0x0000, 0x0000), DCM_VR_UL, "\0\0\0\0", 4, err) ||
        (sop_class && !dcm_dataset_set_string(c, DCM_TAG(0x0000, 0x0002), DCM_VR_UI, sop_class, err)) ||
        !set_us(c, DCM_TAG(0x0000, 0x0100), field, err) ||
        !set_us(c, rsp ? DCM_TAG(0x0000, 0x0120) : DCM_TAG(0x0000, 0x0110), msgid, err) ||
        !set_us(c, DCM_TAG(0x0000, 0x0800), has_dataset ? 0x0000 : NET_NO_DATASET, err)) {
        dcm_dataset_free(c);
        if (!c)
            dqr_error_set(err, DQR_E_NOMEM, "out of memory");
        return NULL;
    }
    return c;
}

dqr_status net_cmd_set_us(dcm_dataset *cmd, uint32_t tag, uint16_t v, dqr_error *err)
{
    return set_us(cmd, tag, v, err) ? DQR_OK : (err ? err->code : DQR_E_NOMEM);
}

uint16_t net_cmd_us(const dcm_dataset *cmd, uint32_t tag)
{
    long v;
    return dcm_dataset_get_int(cmd, tag, &v) ? (uint16_t)v : 0xFFFF;
}

const char *net_status_str(uint16_t s)
{
    if (s == 0x0000)
        return "Success";
    if (s == 0xFF00 || s == 0xFF01)
        return "Pending";
    if (s == 0xFE00)
        return "Cancel";
    if ((s & 0xFF00) == 0xA700)
        return "Refused: Out of Resources";
    if ((s & 0xFF00) == 0xA900)
        return "Error: Data Set does not match SOP Class";
    if ((s & 0xF000) == 0xC000)
        return "Error: Cannot understand";
    if (s == 0xB000 || s == 0xB007 || s == 0xB006)
        return "Warning";
    switch (s) {
    case 0x0122: return "Refused: SOP Class not supported";
    case 0x0124: return "Refused: Not authorized";
    case 0x0210: return "Duplicate invocation";
    case 0x0211: return "Unrecognized operation";
    case 0x0212: return "Mistyped argument";
    case 0xA801: return "Refused: Move Destination unknown";
    default: return "Failure";
    }
}

/* Wait for the response to msgid; returns its status in *status. */
static dqr_status await_response(net_assoc *a, uint16_t field, uint16_t msgid, uint16_t *status, dqr_error *err)
{
    uint8_t pcid;
    dcm_dataset *rsp = NULL;
    dqr_status st = net_recv_command(a, &pcid, &rsp, err);
    if (st == DQR_E_NOTFOUND)
        return dqr_error_set(err, DQR_E_IO, "the peer released the association before responding");
    if (st)
        return st;
    uint16_t got = net_cmd_us(rsp, DCM_TAG(0x0000, 0x0100));
    uint16_t to = net_cmd_us(rsp, DCM_TAG(0x0000, 0x0120));
    *status = net_cmd_us(rsp, DCM_TAG(0x0000, 0x0900));
    dcm_dataset_free(rsp);
    if (got != (field | NET_RSP) || to != msgid)
        return dqr_error_set(err, DQR_E_PARSE, "unexpected response 0x%04X to message %u", got, to);
    return DQR_OK;
}

dqr_status net_echo(net_assoc *a, uint16_t *status, dqr_error *err)
{
    const net_pc *pc = net_find_pc(a, NET_VERIFICATION_SOP, NULL);
    if (!pc)
        return dqr_error_set(err, DQR_E_IO, "the peer did not accept the Verification SOP class");
    dcm_dataset *cmd = net_command(NET_C_ECHO_RQ, 1, NET_VERIFICATION_SOP, false, err);
    if (!cmd)
        return err ? err->code : DQR_E_NOMEM;
    dqr_status st = net_send_command(a, pc->id, cmd, err);
    dcm_dataset_free(cmd);
    return st ? st : await_response(a, NET_C_ECHO_RQ, 1, status, err);
}

dqr_status net_store(net_assoc *a, const dcm_file *f, uint16_t msgid, uint16_t *status, dqr_error *err)
{
    char sop_class[65], sop_inst[65];
    const dcm_dataset *ds = dcm_file_dataset(f);
    if (!dcm_dataset_get_string(ds, DCM_TAG(0x0008, 0x0016), sop_class, sizeof sop_class) ||
        !dcm_dataset_get_string(ds, DCM_TAG(0x0008, 0x0018), sop_inst, sizeof sop_inst))
        return dqr_error_set(err, DQR_E_USAGE, "no SOP Class UID or SOP Instance UID in the dataset");
    /* the file's own syntax if accepted, else any accepted context for the class */
    const net_pc *pc = net_find_pc(a, sop_class, dcm_file_transfer_syntax(f));
    if (!pc)
        pc = net_find_pc(a, sop_class, NULL);
    if (!pc)
        return dqr_error_set(err, DQR_E_UNSUPPORTED, "the peer accepted no presentation context for %s", sop_class);
    dcm_dataset *cmd = net_command(NET_C_STORE_RQ, msgid, sop_class, true, err);
    dqr_status st = cmd ? DQR_OK : (err ? err->code : DQR_E_NOMEM);
    if (!st && (!dcm_dataset_set_string(cmd, DCM_TAG(0x0000, 0x1000), DCM_VR_UI, sop_inst, err) ||
                net_cmd_set_us(cmd, DCM_TAG(0x0000, 0x0700), 0, err)))
        st = err ? err->code : DQR_E_NOMEM;
    if (!st)
        st = net_send_command(a, pc->id, cmd, err);
    dcm_dataset_free(cmd);
    if (!st)
        st = net_send_dataset(a, pc->id, f, err);
    return st ? st : await_response(a, NET_C_STORE_RQ, msgid, status, err);
}

/* ---- C-FIND, C-MOVE ---------------------------------------------------- */

static int collect_bytes(void *ctx, const uint8_t *d, size_t n)
{
    bytes *b = ctx;
    if (b->len + n > (64u << 20)) /* an identifier of 64 MiB is no identifier */
        return -1;
    bytes_put(b, d, n);
    return b->failed ? -1 : 0;
}

/* Send a request with an identifier dataset on the context for sop_class. */
static dqr_status send_request(net_assoc *a, uint16_t field, uint16_t msgid, const char *sop_class,
                               const char *move_dest, const dcm_dataset *identifier, uint8_t *pcid_out,
                               dqr_error *err)
{
    const net_pc *pc = net_find_pc(a, sop_class, NULL);
    if (!pc)
        return dqr_error_set(err, DQR_E_UNSUPPORTED, "the peer did not accept %s", sop_class);
    *pcid_out = pc->id;
    dcm_dataset *cmd = net_command(field, msgid, sop_class, true, err);
    dqr_status st = cmd ? net_cmd_set_us(cmd, DCM_TAG(0x0000, 0x0700), 0, err) : DQR_E_NOMEM;
    if (!st && move_dest && !dcm_dataset_set_string(cmd, DCM_TAG(0x0000, 0x0600), DCM_VR_AE, move_dest, err))
        st = DQR_E_NOMEM;
    if (!st)
        st = net_send_command(a, pc->id, cmd, err);
    dcm_dataset_free(cmd);
    if (st)
        return st;
    dcm_dataset *copy = dcm_dataset_copy(identifier);
    dcm_file *f = copy ? dcm_file_wrap(NULL, copy, pc->accepted_ts, err) : NULL;
    if (!f)
        return dqr_error_set(err, DQR_E_NOMEM, "out of memory");
    st = net_send_dataset(a, pc->id, f, err);
    dcm_file_close(f);
    return st;
}

static dqr_status send_cancel(net_assoc *a, uint8_t pcid, uint16_t msgid, dqr_error *err)
{
    dcm_dataset *cmd = net_command(0x0FFF, 0, NULL, false, err);
    if (!cmd)
        return DQR_E_NOMEM;
    /* C-CANCEL names the request it cancels in MessageIDBeingRespondedTo */
    dcm_dataset_remove(cmd, DCM_TAG(0x0000, 0x0110));
    dqr_status st = net_cmd_set_us(cmd, DCM_TAG(0x0000, 0x0120), msgid, err);
    if (!st)
        st = net_send_command(a, pcid, cmd, err);
    dcm_dataset_free(cmd);
    return st;
}

/* The next response to msgid: its command and, if it has one, its dataset. */
static dqr_status next_response(net_assoc *a, uint16_t field, uint16_t msgid, dcm_dataset **cmd,
                                dcm_dataset **data, dqr_error *err)
{
    uint8_t pcid;
    *data = NULL;
    dqr_status st = net_recv_command(a, &pcid, cmd, err);
    if (st == DQR_E_NOTFOUND)
        return dqr_error_set(err, DQR_E_IO, "the peer released the association before the last response");
    if (st)
        return st;
    if (net_cmd_us(*cmd, DCM_TAG(0x0000, 0x0100)) != (field | NET_RSP) ||
        net_cmd_us(*cmd, DCM_TAG(0x0000, 0x0120)) != msgid) {
        dcm_dataset_free(*cmd);
        return dqr_error_set(err, DQR_E_PARSE, "unexpected response to message %u", msgid);
    }
    if (net_cmd_us(*cmd, DCM_TAG(0x0000, 0x0800)) == NET_NO_DATASET)
        return DQR_OK;
    bytes b = {0};
    st = net_recv_dataset(a, collect_bytes, &b, err);
    if (!st && b.len) {
        dcm_file *f = dcm_file_parse(b.p, b.len, err);
        *data = f ? dcm_dataset_copy(dcm_file_dataset(f)) : NULL;
        dcm_file_close(f);
        if (!*data)
            st = err && err->code ? err->code : DQR_E_NOMEM;
    } else if (!st) {
        *data = dcm_dataset_new();
    }
    free(b.p);
    if (st)
        dcm_dataset_free(*cmd);
    return st;
}

static bool pending(uint16_t s) { return s == 0xFF00 || s == 0xFF01; }

dqr_status net_find(net_assoc *a, const char *sop_class, const dcm_dataset *identifier, net_match_fn fn,
                    void *ctx, uint16_t *status, dqr_error *err)
{
    uint8_t pcid;
    const uint16_t msgid = 1;
    dqr_status st = send_request(a, NET_C_FIND_RQ, msgid, sop_class, NULL, identifier, &pcid, err);
    bool cancelled = false;
    while (!st) {
        dcm_dataset *cmd, *data;
        if ((st = next_response(a, NET_C_FIND_RQ, msgid, &cmd, &data, err)))
            break;
        *status = net_cmd_us(cmd, DCM_TAG(0x0000, 0x0900));
        dcm_dataset_free(cmd);
        if (pending(*status) && data && !cancelled && fn(ctx, data)) {
            cancelled = true;
            st = send_cancel(a, pcid, msgid, err);
        }
        dcm_dataset_free(data);
        if (!pending(*status))
            break;
    }
    return st;
}

static void move_counts(const dcm_dataset *cmd, net_move_result *r)
{
    static const uint32_t TAGS[4] = {DCM_TAG(0x0000, 0x1020), DCM_TAG(0x0000, 0x1021), DCM_TAG(0x0000, 0x1022),
                                     DCM_TAG(0x0000, 0x1023)};
    int *out[4] = {&r->remaining, &r->completed, &r->failed, &r->warning};
    for (int i = 0; i < 4; i++) {
        uint16_t v = net_cmd_us(cmd, TAGS[i]);
        *out[i] = v == 0xFFFF ? -1 : v;
    }
    r->status = net_cmd_us(cmd, DCM_TAG(0x0000, 0x0900));
}

dqr_status net_move(net_assoc *a, const char *sop_class, const char *dest, const dcm_dataset *identifier,
                    uint16_t msgid, net_progress_fn progress, void *ctx, net_move_result *result, dqr_error *err)
{
    bool cancelled = false;
    uint8_t pcid;
    dqr_status st = send_request(a, NET_C_MOVE_RQ, msgid, sop_class, dest, identifier, &pcid, err);
    while (!st) {
        dcm_dataset *cmd, *data;
        if ((st = next_response(a, NET_C_MOVE_RQ, msgid, &cmd, &data, err)))
            break;
        move_counts(cmd, result);
        dcm_dataset_free(cmd);
        dcm_dataset_free(data); /* a failed-UID list; the counts say enough here */
        if (!pending(result->status))
            break;
        if (progress && progress(ctx, result) && !cancelled) {
            cancelled = true;
            st = send_cancel(a, pcid, msgid, err);
        }
    }
    return st;
}
