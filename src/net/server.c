/* server.c — the acceptor: listen, negotiate (called AE, allowed calling
 * AEs, presentation contexts), and serve C-ECHO and C-STORE on a thread per
 * association, and C-FIND, C-MOVE and C-GET when their callbacks are set
 * (scp_*.c). Received datasets are spooled to a temporary file behind a
 * freshly written Part 10 header, then handed to the on_store callback.
 *
 * One client must not be able to lock others out: connections are counted
 * per IP address as well as in total, the A-ASSOCIATE-RQ must arrive whole
 * within the ARTIM time (a deadline, not a per-read timeout, so dribbling
 * bytes does not stretch it), and an associated peer that stays silent
 * longer than the idle timeout is dropped. Every log line is escaped: AE
 * titles and error texts come from the peer. */
#include "net/scp.h"

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

/* Connections now open from one address. */
typedef struct addr_count {
    uint32_t addr;
    int n;
} addr_count;

struct net_server {
    net_server_config cfg;
    SSL_CTX *tls;
    int lfd, port;
    atomic_bool stop;
    atomic_int active;
    atomic_llong refused, too_large;
    pthread_mutex_t addr_lock;
    addr_count *addrs; /* max_assocs entries: one per open connection at most */
};

typedef struct conn {
    net_server *srv;
    int fd;
    uint32_t addr;
    char ip[INET_ADDRSTRLEN];
    char peer[64];
} conn;

char *net_log_escape(char *out, size_t cap, const char *in, bool value)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    bool quote = value && (!*in || strpbrk(in, " \\\"=") != NULL);
    if (!cap)
        return out;
    if (quote && n + 1 < cap)
        out[n++] = '"';
    for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
        char e[4];
        size_t k = 0;
        if (*p < 0x20 || *p >= 0x7F)
            e[k++] = '\\', e[k++] = 'x', e[k++] = hex[*p >> 4], e[k++] = hex[*p & 15];
        else if (value && (*p == '\\' || *p == '"'))
            e[k++] = '\\', e[k++] = (char)*p;
        else
            e[k++] = (char)*p;
        if (n + k + (quote ? 1 : 0) >= cap)
            break; /* cut whole: never half an escape */
        memcpy(out + n, e, k);
        n += k;
    }
    if (quote && n + 1 < cap)
        out[n++] = '"';
    out[n] = '\0';
    return out;
}

static void logf_(net_server *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(net_server *s, const char *fmt, ...)
{
    if (!s->cfg.log)
        return;
    char line[512], safe[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    s->cfg.log(s->cfg.ctx, net_log_escape(safe, sizeof safe, line, false));
}

/* Count a new connection from addr; false when it already has its share. */
static bool addr_enter(net_server *s, uint32_t addr)
{
    pthread_mutex_lock(&s->addr_lock);
    addr_count *slot = NULL, *free_slot = NULL;
    for (int i = 0; i < s->cfg.max_assocs && !slot; i++) {
        if (s->addrs[i].n && s->addrs[i].addr == addr)
            slot = &s->addrs[i];
        else if (!s->addrs[i].n && !free_slot)
            free_slot = &s->addrs[i];
    }
    bool ok = slot ? slot->n < s->cfg.max_per_address : free_slot != NULL;
    if (ok && !slot)
        *(slot = free_slot) = (addr_count){addr, 0};
    if (ok)
        slot->n++;
    pthread_mutex_unlock(&s->addr_lock);
    return ok;
}

static void addr_leave(net_server *s, uint32_t addr)
{
    pthread_mutex_lock(&s->addr_lock);
    for (int i = 0; i < s->cfg.max_assocs; i++)
        if (s->addrs[i].n && s->addrs[i].addr == addr) {
            s->addrs[i].n--;
            break;
        }
    pthread_mutex_unlock(&s->addr_lock);
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
    if (s->cfg.max_per_address <= 0 || s->cfg.max_per_address > s->cfg.max_assocs)
        s->cfg.max_per_address = s->cfg.max_assocs;
    if (s->cfg.timeout_s <= 0)
        s->cfg.timeout_s = 30;
    if (s->cfg.assoc_timeout_s <= 0)
        s->cfg.assoc_timeout_s = s->cfg.timeout_s;
    if (s->cfg.idle_timeout_s <= 0)
        s->cfg.idle_timeout_s = s->cfg.timeout_s;
    if (!(s->addrs = calloc((size_t)s->cfg.max_assocs, sizeof *s->addrs))) {
        dqr_error_set(err, DQR_E_NOMEM, "out of memory");
        free(s);
        return NULL;
    }
    pthread_mutex_init(&s->addr_lock, NULL);
    if (!s->cfg.tmp_dir)
        s->cfg.tmp_dir = "/tmp";
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)cfg->port)};
    if (inet_pton(AF_INET, cfg->bind ? cfg->bind : "127.0.0.1", &sa.sin_addr) != 1) {
        dqr_error_set(err, DQR_E_USAGE, "bad bind address '%s'", cfg->bind);
        s->lfd = -1;
        net_server_free(s);
        return NULL;
    }
    s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(s->lfd, 64) != 0) {
        dqr_error_set(err, DQR_E_IO, "cannot listen on %s:%d: %s", cfg->bind ? cfg->bind : "127.0.0.1",
                      cfg->port, strerror(errno));
        net_server_free(s);
        return NULL;
    }
    socklen_t sl = sizeof sa;
    getsockname(s->lfd, (struct sockaddr *)&sa, &sl);
    s->port = ntohs(sa.sin_port);
    if (cfg->tls.enabled && !(s->tls = net_tls_context(&cfg->tls, true, err))) {
        net_server_free(s);
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
    if (s->lfd >= 0)
        close(s->lfd);
    SSL_CTX_free(s->tls);
    pthread_mutex_destroy(&s->addr_lock);
    free(s->addrs);
    free(s);
}

/* ---- negotiation ------------------------------------------------------- */

static dqr_status reject(net_server *s, net_assoc *a, uint8_t result, uint8_t source, uint8_t reason)
{
    uint8_t pdu[10] = {PDU_ASSOC_RJ, 0, 0, 0, 0, 4, 0, result, source, reason};
    atomic_fetch_add(&s->refused, 1);
    return net_write_all(a, pdu, sizeof pdu, NULL);
}

void net_server_stats(const net_server *s, long long *refused, long long *too_large)
{
    *refused = atomic_load(&s->refused);
    *too_large = atomic_load(&s->too_large);
}

/* Verification, storage, and the Q/R models whose callback is set. */
static bool supported_abstract(const net_server *s, const char *uid)
{
    uint16_t field = 0;
    if (scp_model(uid, &field))
        return field == NET_C_FIND_RQ ? s->cfg.on_find != NULL : s->cfg.on_retrieve != NULL;
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
static bool negotiate(net_server *s, net_assoc *a, const char *peer, const char *ip)
{
    char why[160] = "not allowed";
    dqr_error err = {0};
    uint8_t type;
    if (net_read_pdu(a, &type, &err) || type != PDU_ASSOC_RQ) {
        logf_(s, "%s: no association request: %s", peer, err.message[0] ? err.message : "wrong PDU");
        return false;
    }
    a->p.max_pdu = NET_DEFAULT_PDU;
    if (pdu_parse_associate(a->rbuf, a->rlen, PDU_ASSOC_RQ, &a->p, &a->info, &err)) {
        logf_(s, "%s: bad association request: %s", peer, err.message);
        reject(s, a, 1, 2, 1);
        return false;
    }
    if (s->cfg.aet && strcmp(a->p.called_aet, s->cfg.aet) != 0) {
        logf_(s, "%s: refused %s: called AE '%s' is not '%s'", peer, a->p.calling_aet, a->p.called_aet, s->cfg.aet);
        reject(s, a, 1, 1, 7);
        return false;
    }
    if (!aet_allowed(s, a->p.calling_aet) ||
        (s->cfg.accept && !s->cfg.accept(s->cfg.ctx, a->p.calling_aet, ip, why, sizeof why))) {
        logf_(s, "%s: refused calling AE '%s' (%s)", peer, a->p.calling_aet, why);
        reject(s, a, 1, 1, 3); /* permanent, calling AE title not recognized: also for a wrong address */
        return false;
    }
    size_t accepted = 0;
    for (size_t i = 0; i < a->p.npc; i++) {
        net_pc *pc = &a->p.pcs[i];
        pc->result = supported_abstract(s, pc->abstract) ? 4 : 3;
        for (size_t k = 0; pc->result == 4 && k < pc->nts; k++)
            if (dcm_ts_lookup(pc->ts[k])) { /* the requestor's order is its preference */
                pc->result = 0;
                memcpy(pc->accepted_ts, pc->ts[k], sizeof pc->accepted_ts); /* both char[65] */
            }
        accepted += pc->result == 0;
        /* A requestor that asks to be the storage SCP (for C-GET) gets that
         * role where we serve C-GET; otherwise we only play SCP. The reply
         * repeats the roles accepted (PS3.7 D.3.3.4). */
        bool get_storage = s->cfg.on_retrieve && pc->scp_role && !scp_model(pc->abstract, NULL);
        pc->scu_role = get_storage && pc->scu_role;
        pc->scp_role = get_storage;
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
    if (st == DQR_E_LIMIT) { /* too large: read to its end and dropped, answered 0xA700 */
        atomic_fetch_add(&s->too_large, 1);
        st = DQR_OK;
    }
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

/* ---- C-FIND, C-MOVE, C-GET (scp_*.c) ------------------------------------- */

static dqr_status handle_qr(net_server *s, net_assoc *a, uint8_t pcid, const dcm_dataset *cmd, const char *peer)
{
    dqr_error err = {0};
    scp_op op;
    dqr_status st = scp_op_begin(&op, a, pcid, cmd, &err);
    uint16_t model_field = 0;
    if (!st && (!scp_model(op.sop_class, &model_field) || model_field != op.field))
        st = scp_respond(&op, 0x0122, op.field != NET_C_FIND_RQ, NULL, &err); /* SOP class not supported */
    else if (!st)
        st = op.field == NET_C_FIND_RQ   ? scp_find(&s->cfg, &op, &err)
             : op.field == NET_C_MOVE_RQ ? scp_move(&s->cfg, &op, &err)
                                         : scp_get(&s->cfg, &op, &err);
    if (st)
        logf_(s, "%s: Q/R request 0x%04X failed: %s", peer, op.field, err.message);
    else
        logf_(s, "%s: Q/R request 0x%04X: %d completed, %d failed, %d warning%s", peer, op.field, op.completed,
              op.failed, op.warning, op.cancelled ? ", cancelled" : "");
    scp_op_free(&op);
    return st;
}

static void *serve(void *arg)
{
    conn *c = arg;
    net_server *s = c->srv;
    /* until associated: the ARTIM time, as a deadline for the whole request */
    net_socket_setup(c->fd, s->cfg.assoc_timeout_s);
    net_assoc *a = net_assoc_new(c->fd, s->cfg.assoc_timeout_s);
    dqr_error terr = {0};
    if (a) {
        a->deadline_ms = net_now_ms() + (int64_t)s->cfg.assoc_timeout_s * 1000;
        a->max_instance = s->cfg.max_instance_bytes;
        snprintf(a->peer_addr, sizeof a->peer_addr, "%s", c->ip);
    }
    if (a && s->tls && net_tls_start(a, s->tls, true, NULL, &terr)) {
        logf_(s, "%s: %s", c->peer, terr.message);
        net_assoc_free(a);
        a = NULL;
        c->fd = -1;
    }
    if (a && negotiate(s, a, c->peer, c->ip)) {
        a->deadline_ms = 0; /* from now on: the idle timeout, for every read and write */
        a->timeout_s = s->cfg.idle_timeout_s;
        net_socket_setup(a->fd, s->cfg.idle_timeout_s);
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
            else if ((field == NET_C_FIND_RQ && s->cfg.on_find) ||
                     ((field == NET_C_MOVE_RQ || field == NET_C_GET_RQ) && s->cfg.on_retrieve))
                st = handle_qr(s, a, pcid, cmd, c->peer);
            else if (field == NET_C_CANCEL_RQ)
                st = DQR_OK; /* late: the operation it names has ended */
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
    addr_leave(s, c->addr);
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
        c->addr = sa.sin_addr.s_addr;
        snprintf(c->ip, sizeof c->ip, "?");
        inet_ntop(AF_INET, &sa.sin_addr, c->ip, sizeof c->ip);
        snprintf(c->peer, sizeof c->peer, "%s:%u", c->ip, ntohs(sa.sin_port));
        const char *full = atomic_load(&s->active) >= s->cfg.max_assocs ? "in all"
                           : !addr_enter(s, c->addr)                   ? "from this address"
                                                                       : NULL;
        if (full) {
            net_assoc tmp = {.fd = fd};
            reject(s, &tmp, 2, 3, 2); /* transient: local limit exceeded */
            logf_(s, "%s: refused: %d connections %s already", c->peer,
                  *full == 'i' ? s->cfg.max_assocs : s->cfg.max_per_address, full);
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
            addr_leave(s, c->addr);
            atomic_fetch_sub(&s->active, 1);
            close(fd);
            free(c);
        }
        pthread_attr_destroy(&attr);
    }
    return DQR_OK;
}
