/* spool.c — a received C-STORE dataset, behind a fresh Part 10 header, in
 * a temporary file or memory; and the C-STORE response. Shared by the
 * storage SCP (server.c) and the C-GET SCU (dimse.c). */
#include "net/assoc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

typedef struct spool {
    int fd;
    dqr_status st;
} spool;

static int spool_write(void *ctx, const uint8_t *d, size_t n)
{
    spool *sp = ctx;
    while (n) {
        ssize_t w = write(sp->fd, d, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        d += w;
        n -= (size_t)w;
    }
    return 0;
}

int net_discard(void *ctx, const uint8_t *d, size_t n)
{
    (void)ctx;
    (void)d;
    (void)n;
    return 0;
}

/* A Part 10 header (preamble, DICM, meta) for the received dataset. */
dqr_status net_encode_header(const char *sop_class, const char *sop_inst, const char *ts, const char *src_aet,
                                uint8_t **out, size_t *len)
{
    dqr_error err = {0};
    dcm_dataset *meta = dcm_dataset_new(), *ds = dcm_dataset_new();
    if (meta) {
        dcm_dataset_set_string(meta, DCM_TAG(0x0002, 0x0002), DCM_VR_UI, sop_class, &err);
        dcm_dataset_set_string(meta, DCM_TAG(0x0002, 0x0003), DCM_VR_UI, sop_inst, &err);
        dcm_dataset_set_string(meta, DCM_TAG(0x0002, 0x0016), DCM_VR_AE, src_aet, &err);
    }
    dcm_file *f = dcm_file_wrap(meta, ds, ts, &err);
    if (!f)
        return DQR_E_NOMEM;
    /* the meta only: the dataset that follows comes from the wire as it is */
    dcm_write_options opts = {.transfer_syntax = ts};
    dqr_status st = dcm_file_encode(f, &opts, out, len, &err);
    dcm_file_close(f);
    /* Keep preamble + DICM + meta only: with a deflated syntax the encoder
     * also wrote an empty deflate stream, which the wire's own replaces. */
    if (!st && *len >= 144) {
        size_t meta = (size_t)(*out)[140] | (size_t)(*out)[141] << 8 | (size_t)(*out)[142] << 16 |
                      (size_t)(*out)[143] << 24;
        if (144 + meta <= *len)
            *len = 144 + meta;
    }
    return st;
}

dqr_status net_spool_dataset(net_assoc *a, const char *dir, const char *sop_class, const char *sop_inst,
                             const char *ts, char *path, size_t cap, dqr_error *err)
{
    uint8_t *head = NULL, rnd[8];
    size_t head_len = 0;
    dqr_status st = net_encode_header(sop_class, sop_inst, ts, a->p.calling_aet, &head, &head_len);
    if (st) {
        net_recv_dataset(a, net_discard, NULL, err);
        return dqr_error_set(err, DQR_E_NOMEM, "out of memory");
    }
    /* the name only has to be new: O_EXCL below refuses a clash */
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
        uint64_t t = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)path;
        memcpy(rnd, &t, sizeof rnd);
    }
    snprintf(path, cap, "%s/.dqr-rx-%02x%02x%02x%02x%02x%02x%02x%02x", dir, rnd[0], rnd[1], rnd[2], rnd[3], rnd[4],
             rnd[5], rnd[6], rnd[7]);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    spool sp = {fd, DQR_OK};
    if (fd < 0 || spool_write(&sp, head, head_len)) {
        st = dqr_error_set(err, DQR_E_IO, "cannot spool to %s: %s", dir, strerror(errno));
        free(head);
        if (fd >= 0) {
            close(fd);
            unlink(path);
        }
        net_recv_dataset(a, net_discard, NULL, NULL);
        return st;
    }
    free(head);
    st = net_recv_dataset(a, spool_write, &sp, err);
    if (close(fd) != 0 && !st)
        st = dqr_error_set(err, DQR_E_IO, "writing %s failed", path);
    if (st)
        unlink(path); /* a partial file is never left behind */
    return st;
}

dqr_status net_store_respond(net_assoc *a, uint8_t pcid, uint16_t msgid, const char *sop_class,
                             const char *sop_inst, uint16_t status, dqr_error *err)
{
    dcm_dataset *rsp = net_command(NET_C_STORE_RQ | NET_RSP, msgid, sop_class, false, err);
    if (!rsp)
        return DQR_E_NOMEM;
    dcm_dataset_set_string(rsp, DCM_TAG(0x0000, 0x1000), DCM_VR_UI, sop_inst, err);
    net_cmd_set_us(rsp, DCM_TAG(0x0000, 0x0900), status, err);
    dqr_status st = net_send_command(a, pcid, rsp, err);
    dcm_dataset_free(rsp);
    return st;
}

/* An instance being received into memory: past the limit (or when memory
 * runs out) the rest is read and dropped, so the association goes on. */
typedef struct mem_rx {
    bytes b;
    uint64_t limit;
    bool dropped;
} mem_rx;

static int spool_mem(void *ctx, const uint8_t *d, size_t n)
{
    mem_rx *m = ctx;
    if (m->dropped)
        return 0;
    if (m->b.len + n > m->limit || (bytes_put(&m->b, d, n), m->b.failed)) {
        free(m->b.p);
        m->b = (bytes){0};
        m->dropped = true;
    }
    return 0;
}

/* The dataset into memory behind a Part 10 header. */
static dqr_status receive_memory(net_assoc *a, net_rx *rx, dqr_error *err)
{
    uint8_t *head = NULL;
    size_t head_len = 0;
    if (net_encode_header(rx->r.sop_class, rx->r.sop_instance, rx->r.ts, a->p.calling_aet, &head, &head_len)) {
        net_recv_dataset(a, net_discard, NULL, NULL);
        return dqr_error_set(err, DQR_E_NOMEM, "out of memory");
    }
    mem_rx m = {.b = {.p = malloc(1u << 20), .cap = 1u << 20}, /* one instance: start at 1 MiB */
                .limit = a->max_instance ? a->max_instance : (2ull << 30)};
    m.b.failed = m.b.p == NULL;
    spool_mem(&m, head, head_len);
    free(head);
    dqr_status st = net_recv_dataset(a, spool_mem, &m, err);
    if (!st && m.dropped)
        st = dqr_error_set(err, DQR_E_LIMIT, "instance %s dropped: too large to hold in memory (limit %llu bytes)",
                           rx->r.sop_instance, (unsigned long long)m.limit);
    if (st) {
        free(m.b.p);
        return st;
    }
    rx->mem = m.b.p;
    rx->r.data = m.b.p;
    rx->r.len = m.b.len;
    return DQR_OK;
}

dqr_status net_rx_receive(net_assoc *a, uint8_t pcid, const dcm_dataset *cmd, const char *dir, net_rx *rx,
                          dqr_error *err)
{
    memset(rx, 0, sizeof *rx);
    dcm_dataset_get_string(cmd, DCM_TAG(0x0000, 0x0002), rx->cls, sizeof rx->cls);
    dcm_dataset_get_string(cmd, DCM_TAG(0x0000, 0x1000), rx->inst, sizeof rx->inst);
    dcm_dataset_get_string(cmd, DCM_TAG(0x0000, 0x1030), rx->move_aet, sizeof rx->move_aet);
    long id;
    rx->r = (net_received){.calling_aet = a->p.calling_aet, .sop_class = rx->cls, .sop_instance = rx->inst,
                           .ts = DCM_TS_IMPLICIT_LE, .move_aet = rx->move_aet, .peer_addr = a->peer_addr,
                           .move_msgid = dcm_dataset_get_int(cmd, DCM_TAG(0x0000, 0x1031), &id) ? (int)id : -1};
    for (size_t i = 0; i < a->p.npc; i++)
        if (a->p.pcs[i].id == pcid)
            rx->r.ts = a->p.pcs[i].accepted_ts;
    if (!dir)
        return receive_memory(a, rx, err);
    dqr_status st = net_spool_dataset(a, dir, rx->cls, rx->inst, rx->r.ts, rx->path, sizeof rx->path, err);
    if (!st)
        rx->r.tmp_path = rx->path;
    return st;
}

void net_rx_free(net_rx *rx)
{
    free(rx->mem);
    rx->mem = NULL;
    if (rx->r.tmp_path)
        unlink(rx->r.tmp_path); /* fails harmlessly when the callback renamed it */
    rx->r.tmp_path = NULL;
}
