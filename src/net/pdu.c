/* pdu.c — A-ASSOCIATE PDUs: items, sub-items, negotiation results. */
#include "net/pdu.h"

#include <stdlib.h>
#include <string.h>

void bytes_put(bytes *b, const void *data, size_t n)
{
    if (b->failed || n == 0) /* an empty PDV fragment: nothing to add (b->p may still be NULL) */
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p) {
            b->failed = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
}

void bytes_u8(bytes *b, uint8_t v) { bytes_put(b, &v, 1); }
void bytes_u16(bytes *b, uint16_t v) { uint8_t x[2] = {(uint8_t)(v >> 8), (uint8_t)v}; bytes_put(b, x, 2); }
void bytes_u32(bytes *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    bytes_put(b, x, 4);
}

static void item(bytes *b, uint8_t type, const void *data, size_t n)
{
    bytes_u8(b, type);
    bytes_u8(b, 0);
    bytes_u16(b, (uint16_t)n);
    bytes_put(b, data, n);
}

/* Patch a 16-bit item length at offset at, counting what follows it. */
static void close_item16(bytes *b, size_t at)
{
    if (b->failed)
        return;
    size_t n = b->len - at - 2;
    b->p[at] = (uint8_t)(n >> 8);
    b->p[at + 1] = (uint8_t)n;
}

static void ae_field(bytes *b, const char *ae)
{
    char f[16];
    memset(f, ' ', 16);
    memcpy(f, ae, strlen(ae) < 16 ? strlen(ae) : 16);
    bytes_put(b, f, 16);
}

void pdu_build_associate(bytes *b, int type, const net_params *p)
{
    bytes_u8(b, (uint8_t)type);
    bytes_u8(b, 0);
    bytes_u32(b, 0); /* patched below */
    bytes_u16(b, 1); /* protocol version */
    bytes_u16(b, 0);
    ae_field(b, p->called_aet);
    ae_field(b, p->calling_aet);
    uint8_t zeros[32] = {0};
    bytes_put(b, zeros, 32);
    item(b, 0x10, NET_APPLICATION_CONTEXT, strlen(NET_APPLICATION_CONTEXT));
    for (size_t i = 0; i < p->npc; i++) {
        const net_pc *pc = &p->pcs[i];
        bytes_u8(b, type == PDU_ASSOC_RQ ? 0x20 : 0x21);
        bytes_u8(b, 0);
        size_t at = b->len;
        bytes_u16(b, 0);
        uint8_t head[4] = {pc->id, 0, type == PDU_ASSOC_RQ ? 0 : pc->result, 0};
        bytes_put(b, head, 4);
        if (type == PDU_ASSOC_RQ) {
            item(b, 0x30, pc->abstract, strlen(pc->abstract));
            for (size_t k = 0; k < pc->nts; k++)
                item(b, 0x40, pc->ts[k], strlen(pc->ts[k]));
        } else {
            /* an AC names one transfer syntax; a rejected context still carries one */
            const char *ts = pc->result == 0 ? pc->accepted_ts : (pc->nts ? pc->ts[0] : DCM_TS_IMPLICIT_LE);
            item(b, 0x40, ts, strlen(ts));
        }
        close_item16(b, at);
    }
    /* user information: max length, implementation UID and version, roles */
    bytes_u8(b, 0x50);
    bytes_u8(b, 0);
    size_t at = b->len;
    bytes_u16(b, 0);
    uint8_t max[4] = {(uint8_t)(p->max_pdu >> 24), (uint8_t)(p->max_pdu >> 16), (uint8_t)(p->max_pdu >> 8),
                      (uint8_t)p->max_pdu};
    item(b, 0x51, max, 4);
    item(b, 0x52, DQR_IMPLEMENTATION_CLASS_UID, strlen(DQR_IMPLEMENTATION_CLASS_UID));
    for (size_t i = 0; i < p->npc; i++) {
        const net_pc *pc = &p->pcs[i];
        if (!pc->scp_role || (type == PDU_ASSOC_AC && pc->result != 0))
            continue;
        size_t ul = strlen(pc->abstract);
        bytes_u8(b, 0x54);
        bytes_u8(b, 0);
        bytes_u16(b, (uint16_t)(ul + 4));
        bytes_u16(b, (uint16_t)ul);
        bytes_put(b, pc->abstract, ul);
        bytes_u8(b, pc->scu_role);
        bytes_u8(b, pc->scp_role);
    }
    item(b, 0x55, DQR_IMPLEMENTATION_VERSION, strlen(DQR_IMPLEMENTATION_VERSION));
    close_item16(b, at);
    if (!b->failed) {
        uint32_t n = (uint32_t)(b->len - 6);
        b->p[2] = (uint8_t)(n >> 24);
        b->p[3] = (uint8_t)(n >> 16);
        b->p[4] = (uint8_t)(n >> 8);
        b->p[5] = (uint8_t)n;
    }
}

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

/* Copy a UID/AE field, trimming spaces and NULs. */
static void text_field(char *out, size_t cap, const uint8_t *p, size_t n)
{
    while (n && (p[n - 1] == ' ' || p[n - 1] == 0))
        n--;
    while (n && *p == ' ') {
        p++;
        n--;
    }
    if (n >= cap)
        n = cap - 1;
    memcpy(out, p, n);
    out[n] = '\0';
}

static net_pc *pc_by_id(net_params *p, uint8_t id)
{
    for (size_t i = 0; i < p->npc; i++)
        if (p->pcs[i].id == id)
            return &p->pcs[i];
    return NULL;
}

static dqr_status parse_pc(const uint8_t *v, size_t n, int type, net_params *p, dqr_error *err)
{
    if (n < 4)
        return dqr_error_set(err, DQR_E_PARSE, "presentation context item too short");
    net_pc *pc;
    if (type == PDU_ASSOC_RQ) {
        if (p->npc == NET_MAX_PC)
            return dqr_error_set(err, DQR_E_LIMIT, "more than %d presentation contexts", NET_MAX_PC);
        pc = &p->pcs[p->npc++];
        memset(pc, 0, sizeof *pc);
        pc->id = v[0];
    } else {
        pc = pc_by_id(p, v[0]);
        if (!pc)
            return DQR_OK; /* an id we never proposed: ignore */
        pc->result = v[2];
    }
    for (size_t off = 4; off + 4 <= n;) {
        uint8_t t = v[off];
        size_t l = be16(v + off + 2);
        if (off + 4 + l > n)
            return dqr_error_set(err, DQR_E_PARSE, "presentation context sub-item runs past its item");
        const uint8_t *d = v + off + 4;
        if (t == 0x30 && type == PDU_ASSOC_RQ)
            text_field(pc->abstract, sizeof pc->abstract, d, l);
        else if (t == 0x40 && type == PDU_ASSOC_RQ && pc->nts < NET_MAX_TS)
            text_field(pc->ts[pc->nts++], sizeof pc->ts[0], d, l);
        else if (t == 0x40)
            text_field(pc->accepted_ts, sizeof pc->accepted_ts, d, l);
        off += 4 + l;
    }
    return DQR_OK;
}

static void parse_user_info(const uint8_t *v, size_t n, net_params *p, assoc_info *info)
{
    for (size_t off = 0; off + 4 <= n;) {
        uint8_t t = v[off];
        size_t l = be16(v + off + 2);
        if (off + 4 + l > n)
            return;
        const uint8_t *d = v + off + 4;
        if (t == 0x51 && l == 4)
            info->peer_max_pdu = be32(d);
        else if (t == 0x52)
            text_field(info->impl_uid, sizeof info->impl_uid, d, l);
        else if (t == 0x55)
            text_field(info->impl_version, sizeof info->impl_version, d, l);
        else if (t == 0x54 && l >= 4) {
            size_t ul = be16(d);
            if (ul + 4 <= l) {
                char uid[65];
                text_field(uid, sizeof uid, d + 2, ul);
                for (size_t i = 0; i < p->npc; i++)
                    if (strcmp(p->pcs[i].abstract, uid) == 0) {
                        p->pcs[i].scu_role = d[2 + ul];
                        p->pcs[i].scp_role = d[3 + ul];
                    }
            }
        }
        off += 4 + l;
    }
}

dqr_status pdu_parse_associate(const uint8_t *body, size_t len, int type, net_params *p,
                               assoc_info *info, dqr_error *err)
{
    if (len < 68)
        return dqr_error_set(err, DQR_E_PARSE, "A-ASSOCIATE PDU too short (%zu bytes)", len);
    if (type == PDU_ASSOC_RQ) {
        text_field(p->called_aet, sizeof p->called_aet, body + 4, 16);
        text_field(p->calling_aet, sizeof p->calling_aet, body + 20, 16);
        p->npc = 0;
    }
    memset(info, 0, sizeof *info);
    for (size_t off = 68; off + 4 <= len;) {
        uint8_t t = body[off];
        size_t l = be16(body + off + 2);
        if (off + 4 + l > len)
            return dqr_error_set(err, DQR_E_PARSE, "A-ASSOCIATE item 0x%02X runs past the PDU", t);
        const uint8_t *v = body + off + 4;
        dqr_status st = DQR_OK;
        if ((t == 0x20 && type == PDU_ASSOC_RQ) || (t == 0x21 && type == PDU_ASSOC_AC))
            st = parse_pc(v, l, type, p, err);
        else if (t == 0x50)
            parse_user_info(v, l, p, info);
        if (st)
            return st;
        off += 4 + l;
    }
    return DQR_OK;
}

const char *pdu_reject_reason(uint8_t result, uint8_t source, uint8_t reason)
{
    (void)result;
    if (source == 1) {
        switch (reason) {
        case 2: return "application context name not supported";
        case 3: return "calling AE title not recognized";
        case 7: return "called AE title not recognized";
        default: return "rejected by the peer, no reason given";
        }
    }
    if (source == 2)
        return reason == 2 ? "protocol version not supported" : "rejected by the peer's ACSE, no reason given";
    if (source == 3)
        return reason == 1 ? "temporary congestion" : reason == 2 ? "local limit exceeded" : "rejected by the peer's presentation layer";
    return "rejected";
}

const char *pdu_abort_reason(uint8_t source, uint8_t reason)
{
    if (source == 0)
        return "the peer aborted the association";
    switch (reason) {
    case 1: return "unrecognized PDU";
    case 2: return "unexpected PDU";
    case 4: return "unrecognized PDU parameter";
    case 5: return "unexpected PDU parameter";
    case 6: return "invalid PDU parameter value";
    default: return "aborted by the peer's upper layer";
    }
}
