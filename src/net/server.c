/* server.c — the acceptor: listen, negotiate (called AE, allowed calling
 * AEs, presentation contexts), and serve C-ECHO and C-STORE on a thread per
 * association. Received datasets are spooled to a temporary file behind a
 * freshly written Part 10 header, then handed to the on_store callback. */
#include "net/assoc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

struct net_server {
    net_server_config cfg;
    SSL_CTX *tls;
    int lfd, port;
    atomic_bool stop;
    atomic_int active;
};

typedef struct conn {
    net_server *srv;
    int fd;
    char peer[64];
} conn;

static void logf_(net_server *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(net_server *s, const char *fmt, ...)
{
    if (!s->cfg.log)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    s->cfg.log(s->cfg.ctx, line);
}

net_server *net_server_new(const net_server_config *cfg, dqr_error *err)
{
    net_server *s = calloc(1, sizeof *s);
    if (!s) {
        dqr_error_set(err, DQR_E_NOMEM, "out of memory");
        return NULL;
    }
    s->cfg = *cfg;
    if (s->cfg.max_assocs <= 0)
        s->cfg.max_assocs = 32;
    if (!s->cfg.tmp_dir)
        s->cfg.tmp_dir = "/tmp";
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)cfg->port)};
    if (inet_pton(AF_INET, cfg->bind ? cfg->bind : "127.0.0.1", &sa.sin_addr) != 1) {
        dqr_error_set(err, DQR_E_USAGE, "bad bind address '%s'", cfg->bind);
        free(s);
        return NULL;
    }
    s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(s->lfd, 64) != 0) {
        dqr_error_set(err, DQR_E_IO, "cannot listen on %s:%d: %s", cfg->bind ? cfg->bind : "127.0.0.1",
                      cfg->port, strerror(errno));
        if (s->lfd >= 0)
            close(s->lfd);
        free(s);
        return NULL;
    }
    socklen_t sl = sizeof sa;
    getsockname(s->lfd, (struct sockaddr *)&sa, &sl);
    s->port = ntohs(sa.sin_port);
    if (cfg->tls.enabled && !(s->tls = net_tls_context(&cfg->tls, true, err))) {
        close(s->lfd);
        free(s);
        return NULL;
    }
    return s;
}

int net_server_port(const net_server *s) { return s->port; }
void net_server_stop(net_server *s) { atomic_store(&s->stop, true); }

void net_server_free(net_server *s)
{
    if (!s)
        return;
    while (atomic_load(&s->active) > 0) /* let running associations finish */
        usleep(10000);
    close(s->lfd);
    SSL_CTX_free(s->tls);
    free(s);
}

/* ---- negotiation ------------------------------------------------------- */

static dqr_status reject(net_assoc *a, uint8_t result, uint8_t source, uint8_t reason)
{
    uint8_t pdu[10] = {PDU_ASSOC_RJ, 0, 0, 0, 0, 4, 0, result, source, reason};
    return net_write_all(a, pdu, sizeof pdu, NULL);
}

static bool supported_abstract(const char *uid)
{
    return strcmp(uid, NET_VERIFICATION_SOP) == 0 || dcm_sop_class_lookup(uid) != NULL;
}

static bool aet_allowed(const net_server *s, const char *calling)
{
    if (!s->cfg.allowed)
        return true;
    for (const char *const *p = s->cfg.allowed; *p; p++)
        if (strcmp(*p, calling) == 0)
            return true;
    return false;
}

/* Read the A-ASSOCIATE-RQ, answer AC or RJ. Returns true if accepted. */
static bool negotiate(net_server *s, net_assoc *a, const char *peer)
{
    dqr_error err = {0};
    uint8_t type;
    if (net_read_pdu(a, &type, &err) || type != PDU_ASSOC_RQ) {
        logf_(s, "%s: no association request: %s", peer, err.message[0] ? err.message : "wrong PDU");
        return false;
    }
    a->p.max_pdu = NET_DEFAULT_PDU;
    if (pdu_parse_associate(a->rbuf, a->rlen, PDU_ASSOC_RQ, &a->p, &a->info, &err)) {
        logf_(s, "%s: bad association request: %s", peer, err.message);
        reject(a, 1, 2, 1);
        return false;
    }
    if (s->cfg.aet && strcmp(a->p.called_aet, s->cfg.aet) != 0) {
        logf_(s, "%s: refused %s: called AE '%s' is not '%s'", peer, a->p.calling_aet, a->p.called_aet, s->cfg.aet);
        reject(a, 1, 1, 7);
        return false;
    }
    if (!aet_allowed(s, a->p.calling_aet)) {
        logf_(s, "%s: refused calling AE '%s' (not allowed)", peer, a->p.calling_aet);
        reject(a, 1, 1, 3);
        return false;
    }
    size_t accepted = 0;
    for (size_t i = 0; i < a->p.npc; i++) {
        net_pc *pc = &a->p.pcs[i];
        pc->result = supported_abstract(pc->abstract) ? 4 : 3;
        for (size_t k = 0; pc->result == 4 && k < pc->nts; k++)
            if (dcm_ts_lookup(pc->ts[k])) { /* the requestor's order is its preference */
                pc->result = 0;
                memcpy(pc->accepted_ts, pc->ts[k], sizeof pc->accepted_ts); /* both char[65] */
            }
        accepted += pc->result == 0;
        pc->scu_role = false; /* we only play SCP here */
        pc->scp_role = false;
    }
    a->send_max = a->info.peer_max_pdu;
    bytes b = {0};
    pdu_build_associate(&b, PDU_ASSOC_AC, &a->p);
    bool ok = !b.failed && net_write_all(a, b.p, b.len, &err) == DQR_OK;
    free(b.p);
    logf_(s, "%s: association from %s to %s, %zu of %zu contexts accepted", peer, a->p.calling_aet,
          a->p.called_aet, accepted, a->p.npc);
    return ok;
}

/* ---- C-STORE ----------------------------------------------------------- */

static dqr_status handle_store(net_server *s, net_assoc *a, uint8_t pcid, const dcm_dataset *cmd, const char *peer)
{
    dqr_error err = {0};
    net_rx rx;
    uint16_t msgid = net_cmd_us(cmd, DCM_TAG(0x0000, 0x0110)), status = 0xA700;
    dqr_status st = net_rx_receive(a, pcid, cmd, s->cfg.spool_memory ? NULL : s->cfg.tmp_dir, &rx, &err);
    if (!st)
        status = s->cfg.on_store ? s->cfg.on_store(s->cfg.ctx, &rx.r) : 0;
    else
        logf_(s, "%s: receiving %s failed: %s", peer, rx.inst, err.message);
    net_rx_free(&rx);
    if (st)
        return st; /* the association broke: no response possible */
    return net_store_respond(a, pcid, msgid, rx.cls, rx.inst, status, &err);
}

static dqr_status handle_echo(net_assoc *a, uint8_t pcid, const dcm_dataset *cmd)
{
    dqr_error err = {0};
    dcm_dataset *rsp = net_command(NET_C_ECHO_RQ | NET_RSP, net_cmd_us(cmd, DCM_TAG(0x0000, 0x0110)),
                                   NET_VERIFICATION_SOP, false, &err);
    if (!rsp)
        return DQR_E_NOMEM;
    net_cmd_set_us(rsp, DCM_TAG(0x0000, 0x0900), 0, &err);
    dqr_status st = net_send_command(a, pcid, rsp, &err);
    dcm_dataset_free(rsp);
    return st;
}

static void *serve(void *arg)
{
    conn *c = arg;
    net_server *s = c->srv;
    net_socket_setup(c->fd, s->cfg.timeout_s);
    net_assoc *a = net_assoc_new(c->fd, s->cfg.timeout_s);
    dqr_error terr = {0};
    if (a && s->tls && net_tls_start(a, s->tls, true, NULL, &terr)) {
        logf_(s, "%s: %s", c->peer, terr.message);
        net_assoc_free(a);
        a = NULL;
        c->fd = -1;
    }
    if (a && negotiate(s, a, c->peer)) {
        for (;;) {
            uint8_t pcid;
            dcm_dataset *cmd = NULL;
            dqr_error err = {0};
            dqr_status st = net_recv_command(a, &pcid, &cmd, &err);
            if (st == DQR_E_NOTFOUND) {
                logf_(s, "%s: released", c->peer);
                break;
            }
            if (st) {
                logf_(s, "%s: %s", c->peer, err.message);
                break;
            }
            uint16_t field = net_cmd_us(cmd, DCM_TAG(0x0000, 0x0100));
            if (field == NET_C_ECHO_RQ)
                st = handle_echo(a, pcid, cmd);
            else if (field == NET_C_STORE_RQ)
                st = handle_store(s, a, pcid, cmd, c->peer);
            else {
                logf_(s, "%s: unsupported command 0x%04X: aborting", c->peer, field);
                st = DQR_E_UNSUPPORTED;
            }
            dcm_dataset_free(cmd);
            if (st) {
                net_abort(a);
                break;
            }
        }
    }
    if (a)
        net_assoc_free(a);
    else if (c->fd >= 0)
        close(c->fd);
    atomic_fetch_sub(&s->active, 1);
    free(c);
    return NULL;
}

dqr_status net_server_run(net_server *s, dqr_error *err)
{
    while (!atomic_load(&s->stop)) {
        struct pollfd pfd = {s->lfd, POLLIN, 0};
        int pr = poll(&pfd, 1, 200);
        if (pr < 0 && errno != EINTR)
            return dqr_error_set(err, DQR_E_IO, "poll: %s", strerror(errno));
        if (pr <= 0)
            continue;
        struct sockaddr_in sa;
        socklen_t sl = sizeof sa;
        int fd = accept4(s->lfd, (struct sockaddr *)&sa, &sl, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        conn *c = calloc(1, sizeof *c);
        if (!c) {
            close(fd);
            continue;
        }
        c->srv = s;
        c->fd = fd;
        char ip[INET_ADDRSTRLEN] = "?";
        inet_ntop(AF_INET, &sa.sin_addr, ip, sizeof ip);
        snprintf(c->peer, sizeof c->peer, "%s:%u", ip, ntohs(sa.sin_port));
        if (atomic_load(&s->active) >= s->cfg.max_assocs) {
            net_assoc tmp = {.fd = fd};
            reject(&tmp, 2, 3, 2); /* transient: local limit exceeded */
            logf_(s, "%s: refused: %d associations already", c->peer, s->cfg.max_assocs);
            close(fd);
            free(c);
            continue;
        }
        atomic_fetch_add(&s->active, 1);
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&t, &attr, serve, c) != 0) {
            atomic_fetch_sub(&s->active, 1);
            close(fd);
            free(c);
        }
        pthread_attr_destroy(&attr);
    }
    return DQR_OK;
}
