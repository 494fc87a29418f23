/* dimse.c — DIMSE command sets (PS3.7 section 9/E) and the C-ECHO and
 * C-STORE requests of the SCU side. */
#include "net/assoc.h"

#include <stdio.h>
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
