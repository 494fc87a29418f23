/* receiver.c — what happens to each instance, in memory, before anything
 * is written (ARCHITECTURE.md section 1, steps 1-7), and who may send one:
 * associations only from registered PACS (peers.c), and an instance goes
 * to a running import only from the PACS that import retrieves from, or
 * when it carries the import's Move Originator. */
#include "dicom/fs.h"
#include "gateway/import/receiver.h"
#include "gateway/import/archive.h"
#include "gateway/import/job.h"
#include "gateway/import/pool.h"
#include "gateway/core/sealed.h"
#include "gateway/accounts/accounts.h"
#include "gateway/pacs/peers.h"
#include "gateway/import/registry.h"
#include "gateway/import/quirks.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

/* The six fields XNAT's remapping touches: only these may be overridden. */
static const struct {
    const char *keyword;
    uint32_t tag;
    dcm_vr vr;
} REMAPPED[] = {
    {"PatientID", DCM_TAG(0x0010, 0x0020), DCM_VR_LO},    {"PatientName", DCM_TAG(0x0010, 0x0010), DCM_VR_PN},
    {"StudyID", DCM_TAG(0x0020, 0x0010), DCM_VR_SH},      {"AccessionNumber", DCM_TAG(0x0008, 0x0050), DCM_VR_SH},
    {"StudyDate", DCM_TAG(0x0008, 0x0020), DCM_VR_DA},    {"PatientBirthDate", DCM_TAG(0x0010, 0x0030), DCM_VR_DA},
};
#define NREMAP (sizeof REMAPPED / sizeof REMAPPED[0])

bool gw_remappable(const char *keyword)
{
    for (size_t i = 0; i < NREMAP; i++)
        if (strcmp(REMAPPED[i].keyword, keyword) == 0)
            return true;
    return false;
}

/* Step 3, remap: the request's overrides of the six fields. */
static void remap(const gw_job *j, dcm_dataset *ds)
{
    for (size_t i = 0; i < NREMAP && j->overrides; i++) {
        const char *v = json_string_value(json_object_get(j->overrides, REMAPPED[i].keyword));
        if (v)
            dcm_dataset_set_text(ds, REMAPPED[i].tag, REMAPPED[i].vr, v, NULL, NULL);
    }
}

/* The originals an audit needs, sealed (kept once per session). */
static void keep_originals(gw *g, gw_job *j, const dcm_dataset *ds)
{
    if (j->orig_sealed)
        return;
    char name[256] = "", id[128] = "", acc[64] = "";
    dcm_dataset_get_string(ds, DCM_TAG(0x0010, 0x0010), name, sizeof name);
    dcm_dataset_get_string(ds, DCM_TAG(0x0010, 0x0020), id, sizeof id);
    dcm_dataset_get_string(ds, DCM_TAG(0x0008, 0x0050), acc, sizeof acc);
    json_t *o = json_pack("{s:s,s:s,s:s}", "PatientName", name, "PatientID", id, "AccessionNumber", acc);
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (text)
        j->orig_sealed = store_vault_seal(g->vault, text, strlen(text));
    gw_wipe(text);
    sodium_memzero(name, sizeof name), sodium_memzero(id, sizeof id), sodium_memzero(acc, sizeof acc);
}

/* A script error message says where, never what: keep "name:line:col". */
static void note_failure(gw_job *j, const char *what, const dqr_error *err)
{
    int cut = 0, colons = 0;
    while (err && err->message[cut] && colons < 3)
        colons += err->message[cut++] == ':';
    snprintf(j->error, sizeof j->error, "%s%s%.*s", what, colons == 3 ? " at " : "", colons == 3 ? cut - 1 : 0,
             err ? err->message : "");
}

typedef struct verify {
    int findings;
    char first[80];
} verify;

static void on_phi(void *ctx, const char *path, const char *keyword, const char *why, const char *value)
{
    (void)path, (void)why, (void)value; /* the value is PHI: never kept */
    verify *v = ctx;
    if (!v->findings++)
        snprintf(v->first, sizeof v->first, "%s", keyword ? keyword : "private element");
}

/* Step 6: what the scripts left. The labels and overrides are dqr's own
 * values, not findings. */
static int phi_left(const gw_job *j, const dcm_dataset *ds, verify *v)
{
    uint32_t ignore[NREMAP + 2] = {DCM_TAG(0x0010, 0x0010), DCM_TAG(0x0010, 0x0020), DCM_TAG(0x0008, 0x1030)};
    size_t n = 3;
    for (size_t i = 0; i < NREMAP && j->overrides; i++)
        if (json_object_get(j->overrides, REMAPPED[i].keyword) && i > 1)
            ignore[n++] = REMAPPED[i].tag;
    anon_phi_scan(ds, ignore, n, on_phi, v);
    return v->findings;
}

/* The instance's folder exists: made once per series, not per instance. */
static bool parent_ready(void *ctx, const char *path)
{
    gw_job *j = ctx;
    size_t n = (size_t)(strrchr(path, '/') - path);
    pthread_mutex_lock(&j->dir_lock);
    bool ok = strlen(j->last_dir) == n && strncmp(j->last_dir, path, n) == 0;
    if (!ok && dqr_make_parent_dirs(path, 0700) == 0) {
        snprintf(j->last_dir, sizeof j->last_dir, "%.*s", (int)n, path);
        ok = true;
    }
    pthread_mutex_unlock(&j->dir_lock);
    return ok;
}

/* Step 7 (archive.h). A node's own sessions are synced as a whole when
 * their transfer ends; another node's session ends there, so each file is
 * synced here. */
static dqr_status archive(gw *g, gw_job *j, dcm_file *f, int64_t *bytes, dqr_error *err)
{
    gw_archive_to to = {.project = j->project, .subject = j->subject, .session = j->session,
                        .import_session = j->id, .no_sync = !j->foreign, .dir_ready = parent_ready, .ctx = j};
    dqr_status st = gw_archive_write(g, &to, f, bytes, err);
    if (st == DQR_OK && j->on_archived)
        j->on_archived(j->on_archived_ctx, dcm_file_dataset(f));
    return st;
}

static bool in_series(const gw_job *j, const dcm_dataset *ds)
{
    if (!j->series)
        return true;
    char uid[65] = "";
    dcm_dataset_get_string(ds, DCM_TAG(0x0020, 0x000E), uid, sizeof uid);
    size_t i;
    json_t *v;
    json_array_foreach(j->series, i, v) if (json_is_string(v) && strcmp(json_string_value(v), uid) == 0) return true;
    return false;
}

/* Pixels that could not be cleaned (err says why): the instance goes to
 * the sealed quarantine, never to the archive. 0 (counted as rejected) once
 * sealed, else a failure status. */
static uint16_t unclean(gw *g, gw_job *j, dcm_file *f, const gw_pixel_undo *undo, const dqr_error *why)
{
    char name[25];
    dqr_error err = {0};
    if (!gw_pixel_unclean(why) ||
        gw_pixel_quarantine(g, j->id, j->project, f, undo, why->message, name, &err) != DQR_OK) {
        snprintf(j->error, sizeof j->error, "%.200s (not archived)", err.code ? err.message : why->message);
        return 0xC000;
    }
    snprintf(j->error, sizeof j->error, "%s: quarantined for review, not archived", GW_PIXEL_UNCLEAN_REASON);
    atomic_fetch_add(&j->rejected, 1);
    GW_COUNT(g, instances_rejected);
    return 0;
}

dcm_file *gw_parse_instance(const gw *g, const void *data, size_t len, bool borrow, dqr_error *err)
{
    /* a deflated instance may not inflate beyond what a receiver holds */
    dcm_read_options o = {.max_inflated = (uint64_t)g->cfg.max_instance_bytes, .borrow = borrow};
    return dcm_file_parse_with(data, len, &o, err);
}

uint16_t gw_job_instance(gw *g, gw_job *j, const uint8_t *data, size_t len)
{
    dqr_error err = {0};
    atomic_fetch_add(&j->received, 1);
    GW_COUNT(g, instances_received);
    dcm_file *f = gw_parse_instance(g, data, len, true, &err); /* data lives until we return */
    if (!f) {
        atomic_fetch_add(&j->failed, 1);
        GW_COUNT(g, instances_failed);
        snprintf(j->error, sizeof j->error, "an instance could not be read: %.200s", err.message);
        return 0xC000;
    }
    dcm_dataset *ds = dcm_file_dataset(f);
    char study[65] = "";
    dcm_dataset_get_string(ds, DCM_TAG(0x0020, 0x000D), study, sizeof study);
    if ((!j->any_study && strcmp(study, j->study_uid) != 0) || !in_series(j, ds)) { /* object-identifier */
        dcm_file_close(f);
        atomic_fetch_add(&j->rejected, 1);
        GW_COUNT(g, instances_rejected);
        return 0; /* accepted and dropped: the PACS sent more than the request named */
    }
    if (!gw_job_arrived(g, j, ds)) { /* another PatientID in the study, refused: nothing of it is kept */
        dcm_file_close(f);
        atomic_fetch_add(&j->rejected, 1);
        GW_COUNT(g, instances_rejected);
        return 0xC000;
    }
    /* step 5a: the pixel rules see the instance as received (a script may remove what they test) */
    px_edit *matched = NULL;
    bool pixels_failed = gw_pixel_match(&j->pixel_rules, ds, &matched, &err) != DQR_OK;
    pthread_mutex_lock(&j->lock);
    keep_originals(g, j, ds);
    gw_registry_session_start(g, j, ds); /* before remap: the registry knows the original patient */
    bool refused = *j->reg_refusal;
    remap(j, ds);
    anon_result res = refused ? ANON_FAILED : anon_session_apply(j->deid.as, ds, &err);
    /* step 5b: the pixels, while the session's alterPixels regions are this instance's */
    size_t regions = 0;
    gw_pixel_undo undo = {0};
    pixels_failed = pixels_failed ||
                    (res == ANON_OK && gw_pixel_clean(matched, j->deid.as, f, &undo, &regions, &err) != DQR_OK);
    pthread_mutex_unlock(&j->lock);
    px_edit_free(matched);
    uint16_t status = 0;
    verify v = {0};
    gw_pixel_verdict px = GW_PX_NOT_READ;
    int64_t bytes = 0;
    if (refused) {
        snprintf(j->error, sizeof j->error, "%s", j->reg_refusal);
        status = 0xC000;
    } else if (res == ANON_REJECTED) {
        atomic_fetch_add(&j->rejected, 1);
        GW_COUNT(g, instances_rejected);
    } else if (res == ANON_FAILED) {
        note_failure(j, "de-identification failed", &err);
        status = 0xC000;
    } else if (pixels_failed) { /* never archived with its pixels half-cleaned */
        status = unclean(g, j, f, &undo, &err);
    } else if (phi_left(j, ds, &v) && strcmp(g->cfg.phi_policy, "refuse") == 0) {
        snprintf(j->error, sizeof j->error, "identifying data left after the scripts (%s): not archived", v.first);
        status = 0xC000;
    } else if (gw_pixel_verify(g, j, &f, regions > 0, &px, &err) != DQR_OK) { /* step 6b: burned-in text */
        /* it reads the pixels as cleaned: a frame that does not decode cannot be cleaned either */
        if (regions && gw_pixel_unclean(&err)) {
            status = unclean(g, j, f, &undo, &err);
        } else {
            snprintf(j->error, sizeof j->error, "burned-in text check failed: %.200s", err.message);
            status = 0xC000;
        }
    } else if (px == GW_PX_QUARANTINED) {
        snprintf(j->error, sizeof j->error, "burned-in text found: quarantined for review, not archived");
        atomic_fetch_add(&j->rejected, 1);
        GW_COUNT(g, instances_rejected);
    } else if (archive(g, j, f, &bytes, &err) != DQR_OK) {
        /* the frames are decoded as they are written: a codec failure shows here */
        status = regions && gw_pixel_unclean(&err) ? unclean(g, j, f, &undo, &err) : 0xA700;
        if (status == 0xA700)
            snprintf(j->error, sizeof j->error, "%.250s", err.message);
    } else {
        if (v.findings) {
            atomic_fetch_add(&j->warned, 1);
            gw_log(g, "warn", "phi_left", "session=%lld keyword=%s findings=%d", (long long)j->id, v.first,
                   v.findings);
        }
        gw_registry_bind(g, j);
        atomic_fetch_add(&j->archived, 1);
        atomic_fetch_add(&j->bytes, bytes);
        GW_COUNT(g, instances_archived);
    }
    if (status) {
        atomic_fetch_add(&j->failed, 1);
        GW_COUNT(g, instances_failed);
    }
    dcm_file_close(f);
    return status;
}

/* An instance no running import asked for: kept sealed, or refused. */
static uint16_t unrequested(gw *g, const net_received *r)
{
    GW_COUNT(g, unrequested);
    if (strcmp(g->cfg.unrequested, "quarantine") != 0) {
        char who[128];
        gw_log(g, "warn", "unrequested", "peer=%s action=refused",
               gw_peer_text(r->calling_aet, r->peer_addr, who, sizeof who));
        return 0x0124; /* Refused: not authorized */
    }
    char name[25];
    bool ok = gw_quarantine_seal(g, r->data, r->len, name);
    char who[128];
    gw_log(g, ok ? "warn" : "error", "unrequested", "peer=%s action=%s file=%s",
           gw_peer_text(r->calling_aet, r->peer_addr, who, sizeof who), ok ? "quarantined" : "quarantine_failed", name);
    return ok ? 0 : 0xA700;
}

/* A session another node claimed, whose instances the PACS sends here
 * (several nodes on one catalog): found by its study among the catalog's
 * running sessions, loaded once, returned with a reference held. */
static gw_job *foreign_job(gw *g, const char *study)
{
    int64_t id = 0;
    char key[65];
    gw_study_key(g, study, key); /* the catalog keeps only the study's keyed hash (sealed.h) */
    if (store_int(g->db, "SELECT id FROM import_sessions WHERE state = 'running' AND study_key = ? ORDER BY id DESC",
                  (store_val[]){STORE_S(key)}, 1, &id, NULL) != DQR_OK)
        return NULL;
    dqr_error err = {0};
    gw_job *fresh = gw_job_load(g, id, &err), *j = NULL;
    if (!fresh)
        return NULL;
    fresh->foreign = true;
    pthread_mutex_lock(&g->jobs_lock);
    for (gw_job *k = g->jobs; k && !j; k = k->next)
        if (k->id == id)
            j = k; /* another receiver thread loaded it meanwhile */
    if (!j) {
        j = fresh, fresh = NULL;
        j->next = g->jobs;
        g->jobs = j;
        gw_log(g, "info", "foreign_session", "session=%lld (claimed by another node)", (long long)id);
    }
    j->refs++;
    j->last_seen = time(NULL);
    pthread_mutex_unlock(&g->jobs_lock);
    gw_job_free(fresh);
    return j;
}

/* Another node's session: processed before answering, so that node sees
 * every instance counted when its C-MOVE ends. */
static uint16_t process_foreign(gw *g, gw_job *j, const net_received *r)
{
    uint16_t status = gw_job_instance(g, j, r->data, r->len);
    gw_job_flush(g, j);
    pthread_mutex_lock(&j->lock);
    if (j->orig_sealed && !j->orig_saved) {
        store_exec(g->db, "UPDATE import_sessions SET orig_enc = ? WHERE id = ? AND orig_enc IS NULL",
                   (store_val[]){STORE_S(j->orig_sealed), STORE_I(j->id)}, 2, NULL, NULL, NULL, NULL);
        j->orig_saved = true;
    }
    pthread_mutex_unlock(&j->lock);
    return status;
}

/* The catalog is asked, and the jobs written and freed, with the jobs lock
 * released: the receivers route instances meanwhile. */
void gw_foreign_sweep(gw *g, bool all)
{
    enum { MAX = 64 };
    int64_t ids[MAX];
    bool ended[MAX];
    size_t n = 0;
    time_t now = time(NULL);
    pthread_mutex_lock(&g->jobs_lock);
    for (gw_job *j = g->jobs; j && n < MAX; j = j->next)
        if (j->foreign)
            ids[n++] = j->id;
    pthread_mutex_unlock(&g->jobs_lock);
    for (size_t i = 0; i < n; i++) {
        int64_t running = 0;
        ended[i] = all || store_int(g->db, "SELECT 1 FROM import_sessions WHERE id = ? AND state = 'running'",
                                    (store_val[]){STORE_I(ids[i])}, 1, &running, NULL) != DQR_OK;
    }
    gw_job *gone = NULL;
    pthread_mutex_lock(&g->jobs_lock);
    for (gw_job **p = &g->jobs; *p;) {
        gw_job *j = *p;
        bool drop = j->foreign && j->refs == 0 && (all || now - j->last_seen > 300);
        for (size_t i = 0; i < n && j->foreign && j->refs == 0 && !drop; i++)
            drop = ids[i] == j->id && ended[i];
        if (drop) {
            *p = j->next;
            j->next = gone;
            gone = j;
        } else {
            p = &j->next;
        }
    }
    pthread_mutex_unlock(&g->jobs_lock);
    while (gone) { /* out of the list with no receiver inside: nobody else can reach them */
        gw_job *j = gone;
        gone = j->next;
        gw_job_flush(g, j);
        gw_job_free(j);
    }
}

/* The PACS ids the association's calling AE (and address) stand for. */
typedef struct sender {
    int64_t ids[16];
    size_t n;
} sender;

static bool sent_by(const sender *from, const gw_job *j)
{
    for (size_t i = 0; i < from->n; i++)
        if (from->ids[i] == j->pacs_id)
            return true;
    return false;
}

/* An instance for a running import's study, from a PACS that import does
 * not retrieve from: refused, nothing of it kept. */
static uint16_t foreign_sender(gw *g, int64_t session, const net_received *r)
{
    char who[128];
    GW_COUNT(g, instances_refused_foreign);
    gw_peer_text(r->calling_aet, r->peer_addr, who, sizeof who);
    if (gw_peers_report_due(g, who)) {
        gw_log(g, "warn", "instance_refused", "session=%lld peer=%s reason=not_the_session_pacs", (long long)session,
               who);
        gw_audit(g, 0, "instance_refused", who);
    }
    return 0x0124; /* Refused: not authorized */
}

/* The StudyInstanceUID of a received instance ("" when unreadable). */
static void study_of(const gw *g, const net_received *r, char study[65])
{
    *study = '\0';
    dcm_file *f = gw_parse_instance(g, r->data, r->len, true, NULL);
    if (f)
        dcm_dataset_get_string(dcm_file_dataset(f), DCM_TAG(0x0020, 0x000D), study, 65);
    dcm_file_close(f);
}

/* 1. update-request, under the jobs lock (which every import and the
 * scheduler need, so nothing is parsed while it is held): by Move
 * Originator (AE and message id), else by the study of a running request
 * retrieved from the sending PACS. *other gets the id of a running request
 * for the study from another PACS. The job returned has a reference held. */
static gw_job *route(gw *g, const net_received *r, const char *study, const sender *from, int64_t *other)
{
    gw_job *j = NULL;
    *other = 0;
    pthread_mutex_lock(&g->jobs_lock);
    for (gw_job *k = g->jobs; k && !j; k = k->next)
        if (r->move_msgid >= 0 && k->msgid == r->move_msgid && strcmp(k->move_aet, r->move_aet) == 0)
            j = k;
    for (gw_job *k = g->jobs; k && !j && study && *study; k = k->next)
        if (strcmp(k->study_uid, study) == 0) {
            if (sent_by(from, k))
                j = k;
            else if (!*other)
                *other = k->id;
        }
    if (j) {
        j->refs++; /* the worker waits for this before freeing j */
        j->last_seen = time(NULL);
        *other = 0;
    }
    pthread_mutex_unlock(&g->jobs_lock);
    return j;
}

static void release(gw *g, gw_job *j)
{
    pthread_mutex_lock(&g->jobs_lock);
    j->refs--;
    pthread_cond_broadcast(&g->idle);
    pthread_mutex_unlock(&g->jobs_lock);
}

uint16_t gw_receive(void *ctx, const net_received *r)
{
    gw *g = ctx;
    if (!r->data)
        return 0xA700; /* the receiver runs with spool_memory: never happens */
    sender from = {.n = 0};
    from.n = gw_peers_match(g, r->calling_aet, r->peer_addr, from.ids, sizeof from.ids / sizeof from.ids[0], NULL);
    char study[65] = "";
    int64_t other = 0;
    gw_job *j = route(g, r, NULL, &from, &other); /* by Move Originator: no parsing needed */
    if (!j) {
        study_of(g, r, study);
        j = route(g, r, study, &from, &other);
    }
    if (!j && other)
        return foreign_sender(g, other, r);
    if (!j && *study) { /* ... else a session another node claimed */
        j = foreign_job(g, study);
        if (j && !sent_by(&from, j)) {
            uint16_t st = foreign_sender(g, j->id, r);
            release(g, j);
            return st;
        }
    }
    if (!j)
        return unrequested(g, r);
    /* A local session is answered on receipt: the pool processes it, and the
     * session ends only when the pool is through with all its instances. */
    uint16_t status = j->foreign ? process_foreign(g, j, r)
                                 : gw_pool_submit(g->pool, j, r->data, r->len) ? 0 : 0xA700;
    release(g, j);
    return status;
}

/* The receivers' gate (net_accept_fn): registered PACS only. */
bool gw_accept_peer(void *ctx, const char *calling_aet, const char *addr, char *why, size_t cap)
{
    gw *g = ctx;
    int64_t id;
    bool aet_known = false;
    if (gw_peers_match(g, calling_aet, addr, &id, 1, &aet_known))
        return true;
    snprintf(why, cap, "%s", aet_known ? "a registered PACS's AE title, from an address not its host's"
                                       : "no registered PACS has this AE title");
    char who[128];
    gw_peer_text(calling_aet, addr, who, sizeof who);
    if (gw_peers_report_due(g, who)) {
        gw_log(g, "warn", "association_refused", "peer=%s reason=%s", who, aet_known ? "address" : "aet");
        gw_audit(g, 0, "association_refused", who);
    }
    return false;
}
