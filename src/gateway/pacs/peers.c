/* peers.c — who may send to dqr's receivers: the registered DIMSE PACS.
 * A PACS that sends us instances (the C-STORE sub-operations of our C-MOVE)
 * calls from its own AE title, the `aet` we call it by, so that is the
 * calling AE a receiver accepts; with receiver_check_address the
 * association must also come from an address the PACS's `host` resolves
 * to. Several PACS entries may share an AE title (one archive registered
 * twice, with different receivers): a match gives all their ids.
 *
 * The registry lives in the catalog, where the REST API changes it; it is
 * read again at most once a second, when an association or an instance
 * asks, so a PACS added through the API is accepted within a second. Host
 * names are resolved at most once a minute, only when addresses are
 * checked, and outside the registry's lock by the association that needs
 * them: a slow DNS delays the PACS whose name it is slow to answer, never
 * the others' associations and instances. */
#include "gateway/internal.h"
#include "gateway/pacs/peers.h"
#include "net/net.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define RELOAD_MS 1000
#define RESOLVE_MS 60000
#define MAX_ADDRS 8
#define REPORT_MS 60000 /* a refusal of one AE@address is logged and audited once a minute */
#define REPORTS 64

typedef struct peer {
    int64_t id;
    char aet[17], host[256];
    uint32_t addr[MAX_ADDRS]; /* network byte order */
    int naddr;
    int64_t resolved_ms;
} peer;

typedef struct report {
    char who[128];
    int64_t ms;
} report;

struct gw_peers {
    pthread_mutex_t lock;
    peer *list;
    size_t n;
    int64_t loaded_ms; /* 0: never */
    report reports[REPORTS]; /* the refusals logged last, oldest overwritten */
};

gw_peers *gw_peers_new(void)
{
    gw_peers *p = calloc(1, sizeof *p);
    if (p)
        pthread_mutex_init(&p->lock, NULL);
    return p;
}

void gw_peers_free(gw_peers *p)
{
    if (!p)
        return;
    pthread_mutex_destroy(&p->lock);
    free(p->list);
    free(p);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One host name's lookup, made without the lock. */
typedef struct lookup {
    char host[256];
    uint32_t addr[MAX_ADDRS];
    int naddr;
} lookup;

/* A literal IPv4 address as p's only address, at once; false for a name. */
static bool literal(peer *p, int64_t now)
{
    struct in_addr a;
    if (inet_pton(AF_INET, p->host, &a) != 1)
        return false;
    p->addr[0] = a.s_addr, p->naddr = 1, p->resolved_ms = now;
    return true;
}

/* The IPv4 addresses of l->host (none when it does not resolve). */
static void resolve(lookup *l)
{
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res = NULL;
    l->naddr = 0;
    if (getaddrinfo(l->host, NULL, &hints, &res) != 0)
        return; /* unresolvable: no address matches */
    for (struct addrinfo *ai = res; ai && l->naddr < MAX_ADDRS; ai = ai->ai_next)
        l->addr[l->naddr++] = ((struct sockaddr_in *)(void *)ai->ai_addr)->sin_addr.s_addr;
    freeaddrinfo(res);
}

static bool fresh(const peer *p, int64_t now)
{
    return p->resolved_ms && now - p->resolved_ms < RESOLVE_MS;
}

/* The distinct host names of aet's peers not resolved in the last minute
 * (under the lock), at most max. */
static size_t stale_hosts(const gw_peers *ps, const char *aet, int64_t now, lookup *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < ps->n && n < max; i++) {
        const peer *p = &ps->list[i];
        bool seen = false;
        for (size_t k = 0; k < n && !seen; k++)
            seen = strcmp(out[k].host, p->host) == 0;
        if (!seen && strcmp(p->aet, aet) == 0 && !fresh(p, now))
            snprintf(out[n++].host, sizeof out[0].host, "%s", p->host);
    }
    return n;
}

/* The lookups' addresses to every peer of that host (under the lock: the
 * list may have been read again meanwhile). */
static void keep_lookups(gw_peers *ps, const lookup *l, size_t n, int64_t now)
{
    for (size_t i = 0; i < ps->n; i++)
        for (size_t k = 0; k < n; k++) {
            peer *p = &ps->list[i];
            if (strcmp(p->host, l[k].host) != 0)
                continue;
            memcpy(p->addr, l[k].addr, sizeof p->addr);
            p->naddr = l[k].naddr, p->resolved_ms = now;
        }
}

typedef struct loading {
    peer *list;
    size_t n, cap;
} loading;

static int take_row(void *ctx, int n, const char *const *names, const store_val *c)
{
    (void)names;
    loading *l = ctx;
    if (n < 3)
        return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        peer *b = realloc(l->list, cap * sizeof *b);
        if (!b)
            return 1;
        l->list = b, l->cap = cap;
    }
    peer *p = &l->list[l->n++];
    memset(p, 0, sizeof *p);
    p->id = c[0].i;
    snprintf(p->aet, sizeof p->aet, "%s", c[1].s ? c[1].s : "");
    snprintf(p->host, sizeof p->host, "%s", c[2].s ? c[2].s : "");
    return 0;
}

/* Read the registry again (under the lock); the old list is kept when the
 * catalog cannot be read. Addresses of unchanged hosts are carried over;
 * names are looked up later, when an association needs them. */
static void reload(gw *g, gw_peers *ps, int64_t now)
{
    loading l = {0};
    if (store_exec(g->db, "SELECT id, aet, host FROM pacs WHERE protocol <> 'dicomweb' ORDER BY id", NULL, 0,
                   take_row, &l, NULL, NULL) != DQR_OK) {
        free(l.list);
        return;
    }
    for (size_t i = 0; i < l.n; i++) {
        peer *p = &l.list[i];
        if (literal(p, now))
            continue;
        for (size_t k = 0; k < ps->n && !p->resolved_ms; k++)
            if (strcmp(ps->list[k].host, p->host) == 0 && fresh(&ps->list[k], now)) {
                memcpy(p->addr, ps->list[k].addr, sizeof p->addr);
                p->naddr = ps->list[k].naddr;
                p->resolved_ms = ps->list[k].resolved_ms;
            }
    }
    free(ps->list);
    ps->list = l.list;
    ps->n = l.n;
    ps->loaded_ms = now;
}

static bool has_addr(const peer *p, uint32_t a)
{
    for (int i = 0; i < p->naddr; i++)
        if (p->addr[i] == a)
            return true;
    return false;
}

size_t gw_peers_match(gw *g, const char *calling_aet, const char *addr, int64_t *ids, size_t max, bool *aet_known)
{
    gw_peers *ps = g->peers;
    struct in_addr a = {0};
    bool check = g->cfg.receiver_check_address != 0;
    bool addr_ok = inet_pton(AF_INET, addr ? addr : "", &a) == 1;
    size_t n = 0;
    bool known = false;
    pthread_mutex_lock(&ps->lock);
    int64_t now = now_ms();
    if (!ps->loaded_ms || now - ps->loaded_ms >= RELOAD_MS)
        reload(g, ps, now);
    lookup looks[4];
    size_t nl = check ? stale_hosts(ps, calling_aet, now, looks, 4) : 0;
    if (nl) {
        pthread_mutex_unlock(&ps->lock);
        for (size_t i = 0; i < nl; i++)
            resolve(&looks[i]);
        pthread_mutex_lock(&ps->lock);
        keep_lookups(ps, looks, nl, now);
    }
    for (size_t i = 0; i < ps->n; i++) {
        const peer *p = &ps->list[i];
        if (strcmp(p->aet, calling_aet) != 0)
            continue;
        known = true;
        if ((!check || (addr_ok && has_addr(p, a.s_addr))) && n < max)
            ids[n++] = p->id;
    }
    pthread_mutex_unlock(&ps->lock);
    if (aet_known)
        *aet_known = known;
    return n;
}

bool gw_peers_report_due(gw *g, const char *who)
{
    gw_peers *ps = g->peers;
    int64_t now = now_ms();
    report *slot = NULL, *oldest = &ps->reports[0];
    pthread_mutex_lock(&ps->lock);
    for (int i = 0; i < REPORTS && !slot; i++) {
        report *r = &ps->reports[i];
        if (r->ms && strcmp(r->who, who) == 0)
            slot = r;
        else if (r->ms < oldest->ms)
            oldest = r;
    }
    bool due = !slot || now - slot->ms >= REPORT_MS;
    if (due) {
        if (!slot)
            snprintf((slot = oldest)->who, sizeof slot->who, "%s", who);
        slot->ms = now;
    }
    pthread_mutex_unlock(&ps->lock);
    return due;
}

const char *gw_peer_text(const char *calling_aet, const char *addr, char *buf, size_t cap)
{
    char aet[80], ip[64];
    net_log_escape(aet, sizeof aet, calling_aet ? calling_aet : "", true);
    net_log_escape(ip, sizeof ip, addr ? addr : "", false);
    snprintf(buf, cap, "%s@%s", aet, ip);
    return buf;
}
