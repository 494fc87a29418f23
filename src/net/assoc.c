/* assoc.c — associations over TCP: connect and negotiate (requestor side),
 * PDU reading and writing with timeouts, P-DATA fragmentation and
 * reassembly, release and abort. The acceptor side is in server.c. */
#include "net/assoc.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONTROL_PDU (1u << 20) /* A-ASSOCIATE etc. */

uint8_t net_params_add(net_params *p, const char *abstract, const char *const *ts)
{
    if (p->npc == NET_MAX_PC)
        return 0;
    net_pc *pc = &p->pcs[p->npc];
    memset(pc, 0, sizeof *pc);
    pc->id = (uint8_t)(2 * p->npc + 1);
    snprintf(pc->abstract, sizeof pc->abstract, "%s", abstract);
    for (size_t i = 0; ts[i] && pc->nts < NET_MAX_TS; i++)
        snprintf(pc->ts[pc->nts++], sizeof pc->ts[0], "%s", ts[i]);
    p->npc++;
    return pc->id;
}

const net_params *net_assoc_params(const net_assoc *a) { return &a->p; }

const net_pc *net_find_pc(const net_assoc *a, const char *abstract, const char *ts)
{
    for (size_t i = 0; i < a->p.npc; i++) {
        const net_pc *pc = &a->p.pcs[i];
        if (pc->result == 0 && strcmp(pc->abstract, abstract) == 0 && (!ts || strcmp(pc->accepted_ts, ts) == 0))
            return pc;
    }
    return NULL;
}

void net_socket_setup(int fd, int timeout_s)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct timeval tv = {timeout_s > 0 ? timeout_s : 30, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

int64_t net_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

net_assoc *net_assoc_new(int fd, int timeout_s)
{
    net_assoc *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->fd = fd;
    a->timeout_s = timeout_s > 0 ? timeout_s : 30;
    return a;
}

void net_assoc_free(net_assoc *a)
{
    if (!a)
        return;
    if (a->ssl) {
        if (a->fd >= 0)
            SSL_shutdown(a->ssl);
        SSL_free(a->ssl);
    }
    SSL_CTX_free(a->ssl_ctx);
    if (a->fd >= 0)
        close(a->fd);
    free(a->rbuf);
    free(a->sbuf);
    free(a);
}

/* ---- raw I/O ----------------------------------------------------------- */

static dqr_status io_error(net_assoc *a, dqr_error *err, const char *what, ssize_t r)
{
    if (r == 0)
        return dqr_error_set(err, DQR_E_IO, "the peer closed the connection %s", what);
    if (errno == EAGAIN || errno == EWOULDBLOCK)
        return dqr_error_set(err, DQR_E_IO, "timed out after %d s %s", a->timeout_s, what);
    return dqr_error_set(err, DQR_E_IO, "network error %s: %s", what, strerror(errno));
}

dqr_status net_write_all(net_assoc *a, const void *data, size_t n, dqr_error *err)
{
    const uint8_t *p = data;
    while (n) {
        ssize_t w = net_io_write(a, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return io_error(a, err, "while sending", w);
        p += w;
        n -= (size_t)w;
    }
    return DQR_OK;
}

/* Under a deadline (ARTIM) each read may wait only for what is left of it:
 * a peer sending one byte at a time cannot stretch the time allowed. */
static dqr_status await_deadline(net_assoc *a, dqr_error *err)
{
    int64_t left = a->deadline_ms - net_now_ms();
    if (left <= 0)
        return dqr_error_set(err, DQR_E_IO, "timed out after %d s waiting for the association request",
                             a->timeout_s);
    struct timeval tv = {(time_t)(left / 1000), (suseconds_t)(left % 1000) * 1000};
    setsockopt(a->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return DQR_OK;
}

static dqr_status read_all(net_assoc *a, void *data, size_t n, dqr_error *err)
{
    uint8_t *p = data;
    while (n) {
        dqr_status st = a->deadline_ms ? await_deadline(a, err) : DQR_OK;
        if (st)
            return st;
        ssize_t r = net_io_read(a, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return io_error(a, err, "while receiving", r);
        p += r;
        n -= (size_t)r;
    }
    return DQR_OK;
}

dqr_status net_read_pdu(net_assoc *a, uint8_t *type, dqr_error *err)
{
    *type = 0; /* no PDU type: what a caller sees after an error */
    uint8_t h[6];
    dqr_status st = read_all(a, h, 6, err);
    if (st)
        return st;
    uint32_t len = (uint32_t)h[2] << 24 | (uint32_t)h[3] << 16 | (uint32_t)h[4] << 8 | h[5];
    uint32_t limit = h[0] == PDU_DATA ? a->p.max_pdu + 64 : MAX_CONTROL_PDU;
    if (h[0] < PDU_ASSOC_RQ || h[0] > PDU_ABORT)
        return dqr_error_set(err, DQR_E_PARSE, "unknown PDU type 0x%02X", h[0]);
    if (len > limit)
        return dqr_error_set(err, DQR_E_PARSE, "PDU of %u bytes exceeds the %u negotiated", len, limit);
    if (len > a->rcap) {
        uint8_t *b = realloc(a->rbuf, len);
        if (!b)
            return dqr_error_set(err, DQR_E_NOMEM, "out of memory");
        a->rbuf = b;
        a->rcap = len;
    }
    if ((st = read_all(a, a->rbuf, len, err)))
        return st;
    *type = h[0];
    a->rlen = len;
    a->rpos = 0;
    return DQR_OK;
}

static dqr_status send_small(net_assoc *a, uint8_t type, uint8_t b2, uint8_t b3, dqr_error *err)
{
    uint8_t pdu[10] = {type, 0, 0, 0, 0, 4, 0, 0, b2, b3};
    return net_write_all(a, pdu, sizeof pdu, err);
}

void net_abort(net_assoc *a)
{
    if (a && a->fd >= 0) {
        send_small(a, PDU_ABORT, 0, 0, NULL);
        close(a->fd);
        a->fd = -1;
    }
}

dqr_status net_release(net_assoc *a, dqr_error *err)
{
    dqr_status st = send_small(a, PDU_RELEASE_RQ, 0, 0, err);
    for (int i = 0; !st && i < 16; i++) {
        uint8_t type;
        if ((st = net_read_pdu(a, &type, err)))
            break;
        if (type == PDU_RELEASE_RP)
            break;
        if (type == PDU_ABORT)
            st = dqr_error_set(err, DQR_E_IO, "the peer aborted instead of releasing");
    }
    close(a->fd);
    a->fd = -1;
    return st;
}

/* ---- requestor: connect and negotiate ----------------------------------- */

static int dial(const char *host, int port, int timeout_s, dqr_error *err)
{
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    int rc = getaddrinfo(host, service, &hints, &res);
    if (rc) {
        dqr_error_set(err, DQR_E_IO, "%s: %s", host, gai_strerror(rc));
        return -1;
    }
    int fd = -1, saved = 0;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
        if (fd < 0)
            continue;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno == EINPROGRESS) {
            struct pollfd pfd = {fd, POLLOUT, 0};
            int so = 0;
            socklen_t sl = sizeof so;
            if (poll(&pfd, 1, timeout_s * 1000) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &sl) == 0 && so == 0)
                break;
            saved = so ? so : ETIMEDOUT;
        } else if (errno == 0 || errno == EISCONN) {
            break;
        } else {
            saved = errno;
        }
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        dqr_error_set(err, DQR_E_IO, "cannot connect to %s:%d: %s", host, port,
                      saved == ETIMEDOUT ? "timed out" : strerror(saved ? saved : ECONNREFUSED));
        return -1;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    return fd;
}

net_assoc *net_connect(const char *host, int port, net_params *p, dqr_error *err)
{
    if (!p->max_pdu)
        p->max_pdu = NET_DEFAULT_PDU;
    int timeout = p->timeout_s > 0 ? p->timeout_s : 30;
    int fd = dial(host, port, timeout, err);
    if (fd < 0)
        return NULL;
    net_socket_setup(fd, timeout);
    net_assoc *a = net_assoc_new(fd, timeout);
    if (!a) {
        close(fd);
        dqr_error_set(err, DQR_E_NOMEM, "out of memory");
        return NULL;
    }
    a->p = *p;
    a->max_instance = p->max_instance_bytes;
    if (p->tls.enabled) {
        a->ssl_ctx = net_tls_context(&p->tls, false, err);
        if (!a->ssl_ctx || net_tls_start(a, a->ssl_ctx, false, host, err)) {
            net_assoc_free(a);
            return NULL;
        }
    }
    bytes b = {0};
    pdu_build_associate(&b, PDU_ASSOC_RQ, &a->p);
    dqr_status st = b.failed ? dqr_error_set(err, DQR_E_NOMEM, "out of memory") : net_write_all(a, b.p, b.len, err);
    free(b.p);
    uint8_t type = 0;
    if (!st)
        st = net_read_pdu(a, &type, err);
    if (!st && type == PDU_ASSOC_RJ && a->rlen >= 4) {
        st = dqr_error_set(err, DQR_E_IO, "association refused by %s:%d (%s): %s", host, port, p->called_aet,
                           pdu_reject_reason(a->rbuf[1], a->rbuf[2], a->rbuf[3]));
    } else if (!st && type == PDU_ABORT) {
        st = dqr_error_set(err, DQR_E_IO, "association aborted by %s:%d", host, port);
    } else if (!st && type != PDU_ASSOC_AC) {
        st = dqr_error_set(err, DQR_E_PARSE, "expected A-ASSOCIATE-AC, got PDU type %u", type);
    } else if (!st) {
        for (size_t i = 0; i < a->p.npc; i++)
            a->p.pcs[i].result = 4; /* not answered = not accepted */
        st = pdu_parse_associate(a->rbuf, a->rlen, PDU_ASSOC_AC, &a->p, &a->info, err);
    }
    if (st) {
        net_assoc_free(a);
        return NULL;
    }
    a->send_max = a->info.peer_max_pdu;
    *p = a->p;
    return a;
}

/* ---- P-DATA ------------------------------------------------------------ */

/* Send one PDV in its own P-DATA-TF PDU. */
static dqr_status send_pdv(net_assoc *a, uint8_t pcid, uint8_t mch, const uint8_t *data, size_t n, dqr_error *err)
{
    uint8_t h[12];
    uint32_t pdu_len = (uint32_t)(n + 6), pdv_len = (uint32_t)(n + 2);
    h[0] = PDU_DATA;
    h[1] = 0;
    h[2] = (uint8_t)(pdu_len >> 24); h[3] = (uint8_t)(pdu_len >> 16); h[4] = (uint8_t)(pdu_len >> 8); h[5] = (uint8_t)pdu_len;
    h[6] = (uint8_t)(pdv_len >> 24); h[7] = (uint8_t)(pdv_len >> 16); h[8] = (uint8_t)(pdv_len >> 8); h[9] = (uint8_t)pdv_len;
    h[10] = pcid;
    h[11] = mch;
    if (a->ssl) { /* TLS: header and data in two records */
        dqr_status st = net_write_all(a, h, sizeof h, err);
        return st ? st : (n ? net_write_all(a, data, n, err) : DQR_OK);
    }
    /* header and data in one system call: with TCP_NODELAY two writes
     * would be two segments */
    struct iovec iov[2] = {{h, sizeof h}, {(void *)data, n}};
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = n ? 2 : 1};
    size_t left = sizeof h + n;
    while (left) {
        ssize_t w = sendmsg(a->fd, &msg, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return io_error(a, err, "while sending", w);
        left -= (size_t)w;
        while (w > 0 && msg.msg_iovlen) { /* skip what was sent */
            if ((size_t)w >= msg.msg_iov[0].iov_len) {
                w -= (ssize_t)msg.msg_iov[0].iov_len;
                msg.msg_iov++;
                msg.msg_iovlen--;
            } else {
                msg.msg_iov[0].iov_base = (uint8_t *)msg.msg_iov[0].iov_base + w;
                msg.msg_iov[0].iov_len -= (size_t)w;
                w = 0;
            }
        }
    }
    return DQR_OK;
}

/* Largest data per PDV: the peer's limit less the PDV header (0 = no limit). */
static size_t pdv_room(const net_assoc *a)
{
    size_t max = a->send_max ? a->send_max : (1u << 20);
    if (max > (1u << 20))
        max = 1u << 20;
    return max > 6 ? max - 6 : 64;
}

typedef struct pdv_stream {
    net_assoc *a;
    uint8_t pcid, command;
    dqr_error *err;
    dqr_status st;
} pdv_stream;

/* Fragments go out full; the last is held back until the end is known. */
static int pdv_write(void *ctx, const uint8_t *data, size_t n)
{
    pdv_stream *s = ctx;
    net_assoc *a = s->a;
    size_t room = pdv_room(a);
    if (a->scap < room) {
        uint8_t *b = realloc(a->sbuf, room);
        if (!b)
            return -1;
        a->sbuf = b;
        a->scap = room;
    }
    /* With nothing buffered, full fragments go straight from the caller's
     * data; at least one byte is always kept back, since only the end says
     * which fragment is the last. */
    while (a->slen == 0 && n > room && !s->st) {
        s->st = send_pdv(a, s->pcid, s->command, data, room, s->err);
        data += room;
        n -= room;
    }
    while (n && !s->st) {
        if (a->slen == room) {
            s->st = send_pdv(a, s->pcid, s->command, a->sbuf, a->slen, s->err);
            a->slen = 0;
        }
        size_t k = room - a->slen < n ? room - a->slen : n;
        memcpy(a->sbuf + a->slen, data, k);
        a->slen += k;
        data += k;
        n -= k;
    }
    return s->st ? -1 : 0;
}

static dqr_status pdv_finish(pdv_stream *s)
{
    if (s->st)
        return s->st;
    dqr_status st = send_pdv(s->a, s->pcid, (uint8_t)(s->command | 2), s->a->sbuf, s->a->slen, s->err);
    s->a->slen = 0;
    return st;
}

dqr_status net_send_command(net_assoc *a, uint8_t pcid, const dcm_dataset *cmd, dqr_error *err)
{
    uint8_t *bytes;
    size_t len;
    dqr_status st = dcm_dataset_encode(cmd, DCM_TS_IMPLICIT_LE, &bytes, &len, err);
    if (st)
        return st;
    pdv_stream s = {a, pcid, 1, err, DQR_OK};
    a->slen = 0;
    pdv_write(&s, bytes, len);
    free(bytes);
    return pdv_finish(&s);
}

dqr_status net_send_dataset(net_assoc *a, uint8_t pcid, const dcm_file *f, dqr_error *err)
{
    const net_pc *pc = NULL;
    for (size_t i = 0; i < a->p.npc; i++)
        if (a->p.pcs[i].id == pcid)
            pc = &a->p.pcs[i];
    if (!pc || pc->result != 0)
        return dqr_error_set(err, DQR_E_USAGE, "presentation context %u was not accepted", pcid);
    pdv_stream s = {a, pcid, 0, err, DQR_OK};
    a->slen = 0;
    dcm_write_options opts = {.transfer_syntax = pc->accepted_ts, .bare = true};
    dqr_status st = dcm_file_write_cb(f, &opts, pdv_write, &s, err);
    if (st)
        return s.st ? s.st : st;
    return pdv_finish(&s);
}

/* The next PDV: reads PDUs as needed. DQR_E_NOTFOUND when the peer releases
 * (answered here) or closes cleanly. */
static dqr_status next_pdv(net_assoc *a, uint8_t *pcid, uint8_t *mch, const uint8_t **data, size_t *n, dqr_error *err)
{
    while (a->rpos + 6 > a->rlen || a->rtype != PDU_DATA) {
        uint8_t type;
        dqr_status st = net_read_pdu(a, &type, err);
        if (st)
            return st;
        a->rtype = type;
        if (type == PDU_RELEASE_RQ) {
            a->released_ms = net_now_ms();
            send_small(a, PDU_RELEASE_RP, 0, 0, err);
            return DQR_E_NOTFOUND;
        }
        if (type == PDU_ABORT)
            return dqr_error_set(err, DQR_E_IO, "%s", pdu_abort_reason(a->rlen >= 4 ? a->rbuf[2] : 0, a->rlen >= 4 ? a->rbuf[3] : 0));
        if (type != PDU_DATA)
            return dqr_error_set(err, DQR_E_PARSE, "unexpected PDU type %u during a message", type);
    }
    const uint8_t *p = a->rbuf + a->rpos;
    uint32_t len = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    if (len < 2 || len > a->rlen - a->rpos - 4)
        return dqr_error_set(err, DQR_E_PARSE, "PDV length %u does not fit its PDU", len);
    *pcid = p[4];
    *mch = p[5];
    *data = p + 6;
    *n = len - 2;
    a->rpos += 4 + len;
    return DQR_OK;
}

dqr_status net_recv_command(net_assoc *a, uint8_t *pcid, dcm_dataset **cmd, dqr_error *err)
{
    bytes b = {0};
    dqr_status st;
    for (;;) {
        uint8_t id, mch;
        const uint8_t *d;
        size_t n;
        if ((st = next_pdv(a, &id, &mch, &d, &n, err)))
            break;
        if (!(mch & 1)) {
            st = dqr_error_set(err, DQR_E_PARSE, "data fragment where a command was expected");
            break;
        }
        bytes_put(&b, d, n);
        if (b.len > (1u << 20)) {
            st = dqr_error_set(err, DQR_E_LIMIT, "command set larger than 1 MiB");
            break;
        }
        *pcid = id;
        if (mch & 2)
            break;
    }
    if (!st && !b.failed && b.len == 0)
        st = dqr_error_set(err, DQR_E_PARSE, "an empty command set");
    if (!st) {
        dcm_file *f = b.failed ? NULL : dcm_file_parse(b.p, b.len, err);
        if (!f) {
            st = err && err->code ? err->code : DQR_E_NOMEM;
        } else {
            *cmd = dcm_dataset_copy(dcm_file_dataset(f));
            dcm_file_close(f);
            if (!*cmd)
                st = dqr_error_set(err, DQR_E_NOMEM, "out of memory");
        }
    }
    free(b.p);
    return st;
}

dqr_status net_recv_dataset(net_assoc *a, dcm_write_fn fn, void *ctx, dqr_error *err)
{
    for (;;) {
        uint8_t id, mch;
        const uint8_t *d;
        size_t n;
        dqr_status st = next_pdv(a, &id, &mch, &d, &n, err);
        if (st == DQR_E_NOTFOUND)
            return dqr_error_set(err, DQR_E_IO, "the peer released the association in the middle of a dataset");
        if (st)
            return st;
        if (mch & 1)
            return dqr_error_set(err, DQR_E_PARSE, "command fragment inside a dataset");
        if (n && fn(ctx, d, n) != 0)
            return dqr_error_set(err, DQR_E_IO, "could not keep the received data");
        if (mch & 2)
            return DQR_OK;
    }
}
