/* scp.c — the de-identified archive as a Query/Retrieve SCP at dqr's own
 * AE and port: the receivers that take a PACS's C-STOREs for imports also
 * answer C-FIND, C-MOVE and C-GET from the registered DICOM clients
 * (api_dicom_clients.c). Who may ask is decided per request, by calling AE:
 * a registered PACS stays an import source (its Q/R requests are refused),
 * a registered client sees only the instances of its projects, and any
 * other AE is refused at association time.
 *
 * The identifier is matched by the catalog (catalog_query.c, the matcher
 * QIDO-RS uses too): one row per patient, study, series or instance of the
 * client's projects, no file read; a return key the catalog does not hold
 * is returned empty (docs/conformance-statement.md). A C-MOVE or C-GET
 * reads only the files it sends. A C-MOVE goes to a registered
 * DICOM client only, and sends only what both the requestor and the
 * destination may see. Nothing is identifying: the archive holds
 * de-identified instances only. */
#include "gateway/archive/scp.h"
#include "gateway/archive/catalog_query.h"
#include "gateway/import/receiver.h"
#include "gateway/pacs/peers.h"
#include "gateway/accounts/audit.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

typedef struct client {
    int64_t id;
    char host[256];
    int port;
    bool tls;
    char tls_cert[512], tls_key[512], tls_ca[512];
} client;

static int take_client(void *ctx, int n, const char *const *names, const store_val *c)
{
    (void)names;
    client *k = ctx;
    if (n < 7)
        return 1;
    k->id = c[0].i;
    snprintf(k->host, sizeof k->host, "%s", c[1].s ? c[1].s : "");
    k->port = (int)c[2].i;
    k->tls = c[3].i != 0;
    snprintf(k->tls_cert, sizeof k->tls_cert, "%s", c[4].s ? c[4].s : "");
    snprintf(k->tls_key, sizeof k->tls_key, "%s", c[5].s ? c[5].s : "");
    snprintf(k->tls_ca, sizeof k->tls_ca, "%s", c[6].s ? c[6].s : "");
    return 1;
}

static bool client_load(gw *g, const char *aet, client *k)
{
    memset(k, 0, sizeof *k);
    store_exec(g->db, "SELECT id, host, port, tls, tls_cert, tls_key, tls_ca FROM dicom_clients WHERE aet = ?",
               (store_val[]){STORE_S(aet)}, 1, take_client, k, NULL, NULL);
    return k->id != 0;
}

/* With receiver_check_address, a client must call from an address its
 * host resolves to, as a PACS must. */
static bool client_address_ok(const gw *g, const client *k, const char *addr)
{
    if (!g->cfg.receiver_check_address)
        return true;
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(k->host, NULL, &hints, &res) != 0)
        return false;
    char ip[INET_ADDRSTRLEN];
    bool ok = false;
    for (struct addrinfo *ai = res; ai && !ok; ai = ai->ai_next)
        ok = inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)ai->ai_addr)->sin_addr, ip, sizeof ip) &&
             strcmp(ip, addr ? addr : "") == 0;
    freeaddrinfo(res);
    return ok;
}

bool gw_scp_accept(void *ctx, const char *calling_aet, const char *addr, char *why, size_t cap)
{
    gw *g = ctx;
    int64_t pacs;
    client k;
    if (gw_peers_match(g, calling_aet, addr, &pacs, 1, NULL)) /* a PACS (cached): the import receiver */
        return true;
    if (client_load(g, calling_aet, &k) && client_address_ok(g, &k, addr))
        return true;
    return gw_accept_peer(ctx, calling_aet, addr, why, cap); /* refuses, and reports it */
}

/* ---- the identifier as a catalog query ---------------------------------- */

/* QueryRetrieveLevel's values, in gw_cq_level's order. */
static const char *const LEVEL_NAMES[] = {"PATIENT", "STUDY", "SERIES", "IMAGE"};

static bool level_of(const net_qr_request *q, gw_cq_level *out)
{
    char v[17] = "";
    dcm_dataset_get_string(q->identifier, DCM_TAG(0x0008, 0x0052), v, sizeof v);
    for (int i = q->patient_root ? GW_CQ_PATIENT : GW_CQ_STUDY; i <= GW_CQ_INSTANCE; i++)
        if (strcmp(v, LEVEL_NAMES[i]) == 0)
            return *out = (gw_cq_level)i, true;
    return false;
}

/* An element's whole value as UTF-8 text (all its values,
 * backslash-separated), padding cut: a UID list keeps its backslashes. The
 * catalog holds UTF-8 (import/index.c), so a key in any of the client's
 * character sets matches it. */
static char *value_text(const dcm_element *k, const dcm_charset *cs, char *buf, size_t cap)
{
    char *t = dcm_element_text(k, cs);
    const char *s = t ? t : "";
    if (dcm_element_vr(k) != DCM_VR_UI)
        s += strspn(s, " ");
    size_t n = strlen(s);
    if (n >= cap)
        n = cap - 1;
    memcpy(buf, s, n);
    while (n && (buf[n - 1] == ' ' || buf[n - 1] == '\0'))
        n--;
    buf[n] = '\0';
    free(t);
    return buf;
}

/* The identifier's matching keys (PS3.4 C.2.2.2) as the catalog's. A key
 * the catalog does not hold, or of a level below the one asked, matches
 * universally; a count cannot be matched on and is only returned. */
typedef struct query {
    gw_cq q;
    char values[GW_CQ_MAX_MATCH][1024];
} query;

static uint16_t query_of(const net_qr_request *q, int64_t client, int64_t dest, gw_cq_level lv, query *out)
{
    out->q = (gw_cq){.level = lv, .client = client, .dest = dest};
    dcm_charset *owned = NULL;
    const dcm_charset *cs = dcm_dataset_charset(q->identifier, NULL, &owned, NULL);
    uint16_t status = 0;
    for (size_t i = 0; i < dcm_dataset_count(q->identifier); i++) {
        const dcm_element *k = dcm_dataset_at(q->identifier, i);
        const gw_cq_attr *a = gw_cq_attr_of(dcm_element_tag(k));
        if (!a || a->level > lv || dcm_element_is_sequence(k) || (!a->column && a->tag != DCM_TAG(0x0008, 0x0061)))
            continue;
        if (out->q.nmatch == GW_CQ_MAX_MATCH) {
            status = 0xA900; /* more keys than the archive matches on */
            break;
        }
        char *v = out->values[out->q.nmatch];
        value_text(k, cs, v, sizeof out->values[0]);
        if (*v && strcmp(v, "*") != 0)
            out->q.match[out->q.nmatch++] = (gw_cq_match){a, v};
    }
    dcm_charset_free(owned);
    return status;
}

/* Run the identifier at lv; fn once per row. The status of a request
 * whose level or catalog failed, else 0. */
static uint16_t walk(gw *g, const net_qr_request *q, int64_t client, int64_t dest, bool instances, gw_cq_row_fn fn,
                     void *ctx)
{
    gw_cq_level lv;
    if (!level_of(q, &lv))
        return 0xA900; /* identifier does not match SOP class: no such level in this model */
    query *k = malloc(sizeof *k);
    if (!k)
        return 0xA700;
    uint16_t st = query_of(q, client, dest, lv, k);
    if (instances)
        k->q.level = GW_CQ_INSTANCE; /* a retrieve sends every instance below what matched */
    dqr_error err = {0};
    if (!st && gw_cq_run(g, &k->q, fn, ctx, &err)) {
        gw_log(g, "warn", "scp", "catalog: %s", err.message);
        st = err.code == DQR_E_USAGE ? 0xA900 : 0xC001;
    }
    free(k);
    return st;
}

/* The calling AE as a client, or the status that refuses it. */
static uint16_t requestor(gw *g, const net_qr_request *q, client *k)
{
    if (client_load(g, q->calling_aet, k))
        return 0;
    char who[128];
    gw_log(g, "warn", "scp_refused", "peer=%s reason=not_a_dicom_client",
           gw_peer_text(q->calling_aet, q->peer_addr, who, sizeof who));
    return 0x0124; /* Refused: not authorized (a PACS: an import source, not a Q/R client) */
}

/* ---- C-FIND -------------------------------------------------------------- */

typedef struct finding {
    gw *g;
    const net_qr_request *q;
    gw_cq_level level;
    net_emit_fn emit;
    void *emit_ctx;
    long matches;
    bool nomem;
} finding;

/* One returned value in the key's VR: US from its decimal text. */
static bool set_value(dcm_dataset *out, uint32_t tag, dcm_vr vr, const char *v)
{
    if (vr == DCM_VR_US && v && *v) {
        unsigned long n = strtoul(v, NULL, 10);
        uint8_t le[2] = {(uint8_t)(n & 0xFF), (uint8_t)(n >> 8 & 0xFF)};
        return dcm_dataset_set_bytes(out, tag, vr, le, 2, NULL) != NULL;
    }
    return dcm_dataset_set_string(out, tag, vr, v ? v : "", NULL) != NULL;
}

/* The response to the identifier from one catalog row: each key with the
 * catalog's value, empty when the catalog has none (or it is a sequence). */
static dcm_dataset *response(const finding *f, const gw_cq_row *row)
{
    dcm_dataset *out = dcm_dataset_new();
    size_t nattrs;
    const gw_cq_attr *attrs = gw_cq_attrs(&nattrs);
    bool ok = out != NULL, utf8 = false;
    for (size_t i = 0; ok && i < dcm_dataset_count(f->q->identifier); i++) {
        const dcm_element *k = dcm_dataset_at(f->q->identifier, i);
        uint32_t tag = dcm_element_tag(k);
        const gw_cq_attr *a = gw_cq_attr_of(tag);
        const char *v = a ? row->value[a - attrs] : NULL;
        if (tag == DCM_TAG_SPECIFIC_CHARSET)
            continue;
        if (tag == DCM_TAG(0x0008, 0x0052))
            ok = set_value(out, tag, DCM_VR_CS, LEVEL_NAMES[f->level]);
        else if (dcm_element_is_sequence(k))
            ok = dcm_dataset_set_sequence(out, tag, NULL) != NULL;
        else if (tag == DCM_TAG(0x0008, 0x0054))
            ok = set_value(out, tag, DCM_VR_AE, f->g->cfg.aet);
        else if (tag == DCM_TAG(0x0008, 0x0056))
            ok = set_value(out, tag, DCM_VR_CS, "ONLINE");
        else {
            ok = set_value(out, tag, dcm_element_vr(k), v);
            utf8 = utf8 || !gw_cq_ascii(v);
        }
    }
    if (ok && utf8) /* the catalog's text is UTF-8 */
        ok = set_value(out, DCM_TAG_SPECIFIC_CHARSET, DCM_VR_CS, "ISO_IR 192");
    if (!ok) {
        dcm_dataset_free(out);
        return NULL;
    }
    return out;
}

static int found(void *ctx, const gw_cq_row *row)
{
    finding *f = ctx;
    dcm_dataset *rsp = response(f, row);
    if (!rsp)
        return f->nomem = true;
    f->matches++;
    int stop = f->emit(f->emit_ctx, rsp);
    dcm_dataset_free(rsp);
    return stop;
}

uint16_t gw_scp_find(void *ctx, const net_qr_request *q, net_emit_fn emit, void *emit_ctx)
{
    gw *g = ctx;
    client k;
    uint16_t st = requestor(g, q, &k);
    finding f = {.g = g, .q = q, .emit = emit, .emit_ctx = emit_ctx};
    level_of(q, &f.level); /* echoed in each response; a bad level is refused by walk */
    if (!st)
        st = walk(g, q, k.id, k.id, false, found, &f);
    if (!st && f.nomem)
        st = 0xA700;
    gw_log(g, "info", "scp_find", "client=%lld status=0x%04X matches=%ld", (long long)k.id, st, f.matches);
    return st;
}

/* ---- C-MOVE, C-GET ------------------------------------------------------- */

typedef struct gathering {
    gw *g;
    net_retrieve *out;
    bool nomem;
} gathering;

/* Every instance below what matched: the instance rows of the same keys. */
static int gather(void *ctx, const gw_cq_row *row)
{
    gathering *w = ctx;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", w->g->cfg.data_dir, row->path ? row->path : "");
    return (w->nomem = !net_retrieve_add(w->out, path));
}

/* A C-MOVE's destination: a registered DICOM client. */
static bool destination(gw *g, const net_qr_request *q, client *d, net_retrieve *out)
{
    if (!client_load(g, q->move_dest, d))
        return false;
    snprintf(out->host, sizeof out->host, "%s", d->host);
    out->port = d->port;
    snprintf(out->tls_cert, sizeof out->tls_cert, "%s", d->tls_cert);
    snprintf(out->tls_key, sizeof out->tls_key, "%s", d->tls_key);
    snprintf(out->tls_ca, sizeof out->tls_ca, "%s", d->tls_ca);
    out->tls = (net_tls){.enabled = d->tls, .cert = *out->tls_cert ? out->tls_cert : NULL,
                         .key = *out->tls_key ? out->tls_key : NULL, .ca = *out->tls_ca ? out->tls_ca : NULL};
    return true;
}

uint16_t gw_scp_retrieve(void *ctx, const net_qr_request *q, net_retrieve *out)
{
    gw *g = ctx;
    client k, d;
    uint16_t st = requestor(g, q, &k);
    d = k;
    if (!st && *q->move_dest && !destination(g, q, &d, out)) {
        char dest[40];
        gw_log(g, "warn", "scp_move_refused", "client=%lld destination=%s reason=not_a_dicom_client", (long long)k.id,
               net_log_escape(dest, sizeof dest, q->move_dest, true));
        st = 0xA801; /* Refused: Move Destination unknown */
    }
    gathering w = {g, out, false};
    if (!st)
        st = walk(g, q, k.id, d.id, true, gather, &w);
    if (!st && w.nomem)
        st = 0xA702;
    gw_log(g, "info", *q->move_dest ? "scp_move" : "scp_get", "client=%lld destination=%lld status=0x%04X instances=%zu",
           (long long)k.id, (long long)d.id, st, out->n);
    return st;
}
