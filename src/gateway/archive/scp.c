/* scp.c — the de-identified archive as a Query/Retrieve SCP at dqr's own
 * AE and port: the receivers that take a PACS's C-STOREs for imports also
 * answer C-FIND, C-MOVE and C-GET from the registered DICOM clients
 * (api_dicom_clients.c). Who may ask is decided per request, by calling AE:
 * a registered PACS stays an import source (its Q/R requests are refused),
 * a registered client sees only the instances of its projects, and any
 * other AE is refused at association time.
 *
 * The catalog (archive_instances) gives the candidates at the level asked,
 * grouped (one row per patient, study, series or instance of the client's
 * projects, the StudyInstanceUID-free index narrowed by SeriesInstanceUID
 * when the identifier names one); the attributes matched and returned are
 * read from one de-identified file that stands for each candidate, plus the
 * counts and modalities the catalog knows. A C-MOVE goes to a registered
 * DICOM client only, and sends only what both the requestor and the
 * destination may see. Nothing is identifying: the archive holds
 * de-identified instances only. */
#include "gateway/archive/scp.h"
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

/* ---- candidates ---------------------------------------------------------- */

typedef enum level { L_PATIENT, L_STUDY, L_SERIES, L_IMAGE, L_BAD } level;

static level level_of(const net_qr_request *q)
{
    char v[17] = "";
    dcm_dataset_get_string(q->identifier, DCM_TAG(0x0008, 0x0052), v, sizeof v);
    static const char *const names[] = {"PATIENT", "STUDY", "SERIES", "IMAGE"};
    for (int i = q->patient_root ? 0 : 1; i < 4; i++)
        if (strcmp(v, names[i]) == 0)
            return (level)i;
    return L_BAD;
}

/* One patient, study, series or instance of the archive. */
typedef struct cand {
    char *path, *project, *subject, *session, *series;
    int64_t n1, n2; /* patient: studies, instances; study: series, instances; series: instances */
} cand;

typedef struct cands {
    cand *v;
    size_t n, cap;
    bool failed;
} cands;

static char *dup_col(const store_val *c) { return strdup(c->s ? c->s : ""); }

static int take_cand(void *ctx, int n, const char *const *names, const store_val *c)
{
    (void)names;
    cands *l = ctx;
    if (n < 7)
        return 1;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        cand *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return l->failed = true;
        l->v = v, l->cap = cap;
    }
    cand *k = &l->v[l->n++];
    *k = (cand){dup_col(&c[0]), dup_col(&c[1]), dup_col(&c[2]), dup_col(&c[3]), dup_col(&c[4]), c[5].i, c[6].i};
    return (l->failed = !k->path || !k->project || !k->subject || !k->session || !k->series);
}

static void cands_free(cands *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].path), free(l->v[i].project), free(l->v[i].subject), free(l->v[i].session), free(l->v[i].series);
    free(l->v);
}

#define VISIBLE                                                                                                      \
    "project IN (SELECT project FROM dicom_client_projects WHERE client_id = ?) AND "                               \
    "project IN (SELECT project FROM dicom_client_projects WHERE client_id = ?)"

/* A patient is what the files' PatientID says, which the project's labels
 * decide (by default the session label: a subject's sessions are then
 * distinct patients), so the patient level walks the studies and a C-FIND
 * answers each (project, PatientID) once. */
#define STUDIES_SQL                                                                                                  \
    "SELECT MIN(path), project, MIN(subject), session, '', COUNT(DISTINCT series_uid), COUNT(*) FROM "            \
    "archive_instances WHERE " VISIBLE "%s GROUP BY project, session ORDER BY project, session"

static const char *const LEVEL_SQL[] = {
    STUDIES_SQL, /* patients: by study, answered once per PatientID */
    STUDIES_SQL,
    "SELECT MIN(path), project, MIN(subject), session, series_uid, COUNT(*), 0 FROM archive_instances WHERE "
    VISIBLE "%s GROUP BY project, session, series_uid ORDER BY project, session, MIN(series_number), series_uid",
    "SELECT path, project, subject, session, series_uid, 0, 0 FROM archive_instances WHERE " VISIBLE
    "%s ORDER BY project, session, series_uid, path",
};

/* The candidates at lv that client (and dest) may see, narrowed by a
 * single SeriesInstanceUID key below the study level. */
static dqr_status candidates(gw *g, level lv, const dcm_dataset *id, int64_t client, int64_t dest, cands *out,
                             dqr_error *err)
{
    char series[65] = "", sql[700];
    if (lv >= L_SERIES)
        dcm_dataset_get_string(id, DCM_TAG(0x0020, 0x000E), series, sizeof series);
    bool one = *series && !strpbrk(series, "\\*?");
    snprintf(sql, sizeof sql, LEVEL_SQL[lv], one ? " AND series_uid = ?" : "");
    store_val args[3] = {STORE_I(client), STORE_I(dest), STORE_S(series)};
    dqr_status st = store_exec(g->db, sql, args, one ? 3 : 2, take_cand, out, NULL, err);
    if (!st && out->failed)
        st = dqr_error_set(err, DQR_E_NOMEM, "out of memory");
    return st;
}

static void set_count(dcm_dataset *ds, uint32_t tag, int64_t n)
{
    char v[24];
    snprintf(v, sizeof v, "%lld", (long long)n);
    dcm_dataset_set_string(ds, tag, DCM_VR_IS, v, NULL);
}

typedef struct modalities {
    char list[128];
} modalities;

static int take_modality(void *ctx, int n, const char *const *names, const store_val *c)
{
    (void)names;
    modalities *m = ctx;
    if (n >= 1 && c[0].s && *c[0].s && strlen(m->list) + strlen(c[0].s) + 2 < sizeof m->list)
        snprintf(m->list + strlen(m->list), sizeof m->list - strlen(m->list), "%s%s", *m->list ? "\\" : "", c[0].s);
    return 0;
}

/* What the catalog knows beyond the file: counts, modalities, where and
 * how the instance is available. */
static void add_derived(gw *g, level lv, const cand *c, const dcm_dataset *id, dcm_dataset *ds)
{
    if (lv == L_STUDY) {
        set_count(ds, DCM_TAG(0x0020, 0x1206), c->n1);
        set_count(ds, DCM_TAG(0x0020, 0x1208), c->n2);
        if (dcm_dataset_get(id, DCM_TAG(0x0008, 0x0061))) {
            modalities m = {""};
            store_exec(g->db,
                       "SELECT DISTINCT modality FROM archive_instances WHERE project = ? AND session = ? ORDER BY 1",
                       (store_val[]){STORE_S(c->project), STORE_S(c->session)}, 2, take_modality, &m, NULL, NULL);
            dcm_dataset_set_string(ds, DCM_TAG(0x0008, 0x0061), DCM_VR_CS, m.list, NULL);
        }
    } else if (lv == L_SERIES) {
        set_count(ds, DCM_TAG(0x0020, 0x1209), c->n1);
    }
    dcm_dataset_set_string(ds, DCM_TAG(0x0008, 0x0054), DCM_VR_AE, g->cfg.aet, NULL);
    dcm_dataset_set_string(ds, DCM_TAG(0x0008, 0x0056), DCM_VR_CS, "ONLINE", NULL);
}

/* Called for each candidate whose file matches the identifier; non-zero stops. */
typedef int (*match_fn)(void *ctx, const cand *c, const dcm_dataset *have);

/* The status of a request whose level, client or catalog failed, else 0
 * after handing every match to fn. */
static uint16_t walk(gw *g, const net_qr_request *q, int64_t client, int64_t dest, match_fn fn, void *ctx)
{
    level lv = level_of(q);
    if (lv == L_BAD)
        return 0xA900; /* identifier does not match SOP class: no such level in this model */
    cands l = {0};
    dqr_error err = {0};
    if (candidates(g, lv, q->identifier, client, dest, &l, &err)) {
        gw_log(g, "error", "scp", "catalog: %s", err.message);
        cands_free(&l);
        return 0xC001;
    }
    int stop = 0;
    for (size_t i = 0; i < l.n && !stop; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", g->cfg.data_dir, l.v[i].path);
        dcm_file *f = dcm_file_open(path, NULL);
        if (!f)
            continue; /* gone since the catalog was read: not a match */
        dcm_dataset *ds = dcm_file_dataset(f);
        add_derived(g, lv, &l.v[i], q->identifier, ds);
        if (gw_scp_matches(q->identifier, ds))
            stop = fn(ctx, &l.v[i], ds);
        dcm_file_close(f);
    }
    cands_free(&l);
    return 0;
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
    const net_qr_request *q;
    bool patients;     /* patient level: each (project, PatientID) once */
    char **seen_keys;  /* the patients answered: "project\\PatientID" */
    size_t nseen;
    net_emit_fn emit;
    void *emit_ctx;
    long matches;
    bool nomem;
} finding;

/* True the first time a (project, PatientID) is met. */
static bool first_patient(finding *f, const cand *c, const dcm_dataset *have)
{
    char id[80] = "", key[200];
    dcm_dataset_get_string(have, DCM_TAG(0x0010, 0x0020), id, sizeof id);
    snprintf(key, sizeof key, "%s\\%s", c->project, id);
    for (size_t i = 0; i < f->nseen; i++)
        if (strcmp(f->seen_keys[i], key) == 0)
            return false;
    char **v = realloc(f->seen_keys, (f->nseen + 1) * sizeof *v);
    if (!v || !(v[f->nseen] = strdup(key))) {
        f->seen_keys = v ? v : f->seen_keys;
        f->nomem = true;
        return false;
    }
    f->seen_keys = v;
    f->nseen++;
    return true;
}

static int found(void *ctx, const cand *c, const dcm_dataset *have)
{
    finding *f = ctx;
    if (f->patients && !first_patient(f, c, have))
        return f->nomem;
    dcm_dataset *rsp = gw_scp_response(f->q->identifier, have);
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
    finding f = {.q = q, .patients = level_of(q) == L_PATIENT, .emit = emit, .emit_ctx = emit_ctx};
    if (!st)
        st = walk(g, q, k.id, k.id, found, &f);
    for (size_t i = 0; i < f.nseen; i++)
        free(f.seen_keys[i]);
    free(f.seen_keys);
    if (!st && f.nomem)
        st = 0xA700;
    gw_log(g, "info", "scp_find", "client=%lld status=0x%04X matches=%ld", (long long)k.id, st, f.matches);
    return st;
}

/* ---- C-MOVE, C-GET ------------------------------------------------------- */

typedef struct gathering {
    gw *g;
    level lv;
    net_retrieve *out;
    bool nomem;
} gathering;

static int take_path(void *ctx, int n, const char *const *names, const store_val *c)
{
    (void)names;
    gathering *w = ctx;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", w->g->cfg.data_dir, n ? c[0].s : "");
    return (w->nomem = !net_retrieve_add(w->out, path));
}

/* Every instance below a matching candidate. */
static int gather(void *ctx, const cand *c, const dcm_dataset *have)
{
    (void)have;
    gathering *w = ctx;
    if (w->lv == L_IMAGE) {
        store_val one = STORE_S(c->path);
        return take_path(w, 1, NULL, &one);
    }
    static const char *const sql[] = {
        "SELECT path FROM archive_instances WHERE project = ? AND session = ? ORDER BY series_uid, path",
        "SELECT path FROM archive_instances WHERE project = ? AND session = ? ORDER BY series_uid, path",
        "SELECT path FROM archive_instances WHERE project = ? AND session = ? AND series_uid = ? ORDER BY path",
    };
    store_val args[3] = {STORE_S(c->project), STORE_S(c->session), STORE_S(c->series)};
    store_exec(w->g->db, sql[w->lv], args, w->lv == L_SERIES ? 3 : 2, take_path, w, NULL, NULL);
    return w->nomem;
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
    gathering w = {g, level_of(q), out, false};
    if (!st)
        st = walk(g, q, k.id, d.id, gather, &w);
    if (!st && w.nomem)
        st = 0xA702;
    gw_log(g, "info", *q->move_dest ? "scp_move" : "scp_get", "client=%lld destination=%lld status=0x%04X instances=%zu",
           (long long)k.id, (long long)d.id, st, out->n);
    return st;
}
