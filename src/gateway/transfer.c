/* transfer.c — one queued session from claim to end state: build its
 * de-identification, ask the PACS for the study (C-MOVE to dqr's receiver,
 * or C-GET on the same association), wait for every instance, sync the
 * archive, and record the outcome and the sealed originals. */
#include "gateway/import.h"
#include "gateway/sealed.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void copy_str(char *dst, size_t cap, const json_t *row, const char *key)
{
    const char *v = json_string_value(json_object_get(row, key));
    snprintf(dst, cap, "%s", v ? v : "");
}

gw_job *gw_job_load(gw *g, int64_t id, dqr_error *err)
{
    json_t *row = gw_row(g,
                         "SELECT id, request_id, pacs_id, project, subject, session, study_enc "
                         "FROM import_sessions WHERE id = ?",
                         (store_val[]){STORE_I(id)}, 1, err);
    gw_job *j = row ? calloc(1, sizeof *j) : NULL;
    if (!j) {
        json_decref(row);
        return NULL;
    }
    pthread_mutex_init(&j->lock, NULL);
    pthread_mutex_init(&j->dir_lock, NULL);
    pthread_mutex_init(&j->flush_lock, NULL);
    j->id = id;
    j->request_id = json_integer_value(json_object_get(row, "request_id"));
    j->pacs_id = json_integer_value(json_object_get(row, "pacs_id"));
    copy_str(j->project, sizeof j->project, row, "project");
    copy_str(j->subject, sizeof j->subject, row, "subject");
    copy_str(j->session, sizeof j->session, row, "session");
    const char *sealed = json_string_value(json_object_get(row, "study_enc"));
    dqr_status st = sealed ? gw_study_unseal(g, sealed, j->study_uid, &j->series, &j->overrides, err)
                           : dqr_error_set(err, DQR_E_PARSE, "import session %lld has no sealed study", (long long)id);
    j->msgid = (uint16_t)(1 + id % 65000);
    json_decref(row);
    if (st != DQR_OK || gw_deid_build(g, j->project, NULL, j->subject, j->session, &j->deid, err) != DQR_OK) {
        gw_job_free(j);
        return NULL;
    }
    return j;
}

void gw_job_free(gw_job *j)
{
    if (!j)
        return;
    gw_deid_free(&j->deid);
    json_decref(j->series);
    json_decref(j->overrides);
    free(j->orig_sealed);
    pthread_mutex_destroy(&j->lock);
    pthread_mutex_destroy(&j->dir_lock);
    pthread_mutex_destroy(&j->flush_lock);
    free(j);
}

/* ---- progress ---------------------------------------------------------- */

typedef struct run {
    gw *g;
    gw_job *j;
    int expected;
    double saved; /* gw_clock_ms of the last save */
} run;

/* Progress reaches the catalog at most every 250 ms. */
static bool save_due(const run *r)
{
    return gw_clock_ms() - r->saved >= 250;
}

void gw_job_flush(gw *g, gw_job *j)
{
    pthread_mutex_lock(&j->flush_lock);
    int64_t now[6] = {j->received, j->archived, j->rejected, j->failed, j->warned, j->bytes}, d[6];
    bool any = false;
    for (int i = 0; i < 6; i++)
        d[i] = now[i] - j->flushed[i], any = any || d[i];
    if (any && store_exec(g->db,
                          "UPDATE import_sessions SET received = received + ?, archived = archived + ?, "
                          "rejected = rejected + ?, failed = failed + ?, warned = warned + ?, bytes = bytes + ?, "
                          "updated = ? WHERE id = ?",
                          (store_val[]){STORE_I(d[0]), STORE_I(d[1]), STORE_I(d[2]), STORE_I(d[3]), STORE_I(d[4]),
                                        STORE_I(d[5]), STORE_I(time(NULL)), STORE_I(j->id)},
                          8, NULL, NULL, NULL, NULL) == DQR_OK)
        memcpy(j->flushed, now, sizeof now);
    pthread_mutex_unlock(&j->flush_lock);
}

static void save_counts(run *r, const char *state)
{
    gw_job_flush(r->g, r->j);
    store_exec(r->g->db, "UPDATE import_sessions SET expected = ?, state = COALESCE(?, state) WHERE id = ?",
               (store_val[]){STORE_I(r->expected), STORE_S(state), STORE_I(r->j->id)}, 3, NULL, NULL, NULL, NULL);
    r->saved = gw_clock_ms();
}

static bool stop_asked(const run *r)
{
    return atomic_load(&r->j->cancel) || r->g->stopping;
}

static int on_progress(void *ctx, const net_move_result *m)
{
    run *r = ctx;
    int total = (m->remaining > 0 ? m->remaining : 0) + (m->completed > 0 ? m->completed : 0) +
                (m->failed > 0 ? m->failed : 0) + (m->warning > 0 ? m->warning : 0);
    if (total > r->expected)
        r->expected = total;
    if (save_due(r))
        save_counts(r, NULL);
    return stop_asked(r);
}

static uint16_t on_get_store(void *ctx, const net_received *rx)
{
    run *r = ctx;
    uint16_t status = rx->data && gw_pool_submit(r->g->pool, r->j, rx->data, rx->len) ? 0 : 0xA700;
    if (save_due(r))
        save_counts(r, NULL);
    return status;
}

/* ---- the transfer ------------------------------------------------------ */

/* The identifiers to retrieve: the study, or one per chosen series. */
static dcm_dataset *identifier(const gw_job *j, size_t i, dqr_error *err)
{
    dcm_dataset *id = dcm_dataset_new();
    if (!id)
        return NULL;
    dcm_dataset_set_string(id, DCM_TAG(0x0008, 0x0052), DCM_VR_CS, j->series ? "SERIES" : "STUDY", err);
    dcm_dataset_set_string(id, DCM_TAG(0x0020, 0x000D), DCM_VR_UI, j->study_uid, err);
    if (j->series)
        dcm_dataset_set_string(id, DCM_TAG(0x0020, 0x000E), DCM_VR_UI,
                               json_string_value(json_array_get(j->series, i)), err);
    return id;
}

static dqr_status retrieve(run *r, const gw_pacs *p, net_move_result *m, dqr_error *err)
{
    gw *g = r->g;
    gw_job *j = r->j;
    bool get = strcmp(p->retrieve, "get") == 0;
    const char *model = get ? NET_STUDY_ROOT_GET : NET_STUDY_ROOT_MOVE;
    net_assoc *a = gw_pacs_connect(g, p, model, get, err);
    if (!a)
        return err->code;
    size_t n = j->series ? json_array_size(j->series) : 1;
    dqr_status st = DQR_OK;
    net_move_result sum = {0, 0, 0, 0, 0};
    for (size_t i = 0; i < n && st == DQR_OK && !stop_asked(r); i++) {
        dcm_dataset *id = identifier(j, i, err);
        net_move_result one = {0xFFFF, -1, -1, -1, -1};
        st = !id ? DQR_E_NOMEM
             : get ? net_get(a, model, id, NULL, on_get_store, r, &one, err)
                   : net_move(a, model, *p->receiver_aet ? p->receiver_aet : g->cfg.aet, id, j->msgid, on_progress,
                              r, &one, err);
        dcm_dataset_free(id);
        sum.status = one.status;
        sum.completed += one.completed > 0 ? one.completed : 0;
        sum.failed += one.failed > 0 ? one.failed : 0;
        sum.warning += one.warning > 0 ? one.warning : 0;
        if (st == DQR_OK && one.status != 0 && one.status != 0xFE00 && (one.status & 0xF000) != 0xB000)
            st = dqr_error_set(err, DQR_E_IO, "PACS %s answered the %s with 0x%04X (%s)", p->label,
                               get ? "C-GET" : "C-MOVE", one.status, net_status_str(one.status));
    }
    if (st == DQR_OK)
        net_release(a, NULL);
    net_assoc_free(a);
    *m = sum;
    int total = sum.completed + sum.failed + sum.warning;
    if (total > r->expected)
        r->expected = total;
    return st;
}

static void register_job(gw *g, gw_job *j)
{
    pthread_mutex_lock(&g->jobs_lock);
    j->next = g->jobs;
    g->jobs = j;
    pthread_mutex_unlock(&g->jobs_lock);
}

/* Take j out of the routing list and wait until no receiver thread is in it. */
static void unregister_job(gw *g, gw_job *j)
{
    pthread_mutex_lock(&g->jobs_lock);
    for (gw_job **p = &g->jobs; *p; p = &(*p)->next)
        if (*p == j) {
            *p = j->next;
            break;
        }
    while (j->refs > 0 || j->pending > 0)
        pthread_cond_wait(&g->idle, &g->jobs_lock);
    pthread_mutex_unlock(&g->jobs_lock);
}

/* Written instances reach the disk before the session says done: a sync
 * that fails (EIO) fails the transfer, which then runs again. */
static dqr_status sync_archive(gw *g, dqr_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/archive", g->cfg.data_dir);
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return dqr_error_set(err, DQR_E_IO, "the archive folder cannot be opened to sync it: %s", strerror(errno));
    dqr_status st = DQR_OK;
    if (syncfs(fd) != 0)
        st = dqr_error_set(err, DQR_E_IO, "the archive could not be synced to disk: %s", strerror(errno));
    close(fd);
    return st;
}

/* The end state and what to record. */
static void finish(gw *g, int64_t id, const char *state, const char *error, long ms, int64_t next_try)
{
    bool ended = strcmp(state, "queued") != 0; /* done, partial, failed, cancelled */
    store_exec(g->db,
               "UPDATE import_sessions SET state = ?, error = ?, ms = ?, next_try = ?, updated = ?, finished = ? "
               "WHERE id = ?",
               (store_val[]){STORE_S(state), STORE_S(error), STORE_I(ms), STORE_I(next_try), STORE_I(time(NULL)),
                             ended ? STORE_I(time(NULL)) : STORE_S(NULL), STORE_I(id)},
               7, NULL, NULL, NULL, NULL);
    /* counts restart with each attempt: a last attempt that could not even
     * connect would say 0 archived beside what earlier ones archived */
    if (strcmp(state, "failed") == 0)
        store_exec(g->db,
                   "UPDATE import_sessions SET archived = (SELECT COUNT(*) FROM archive_instances a WHERE "
                   "a.project = import_sessions.project AND a.session = import_sessions.session) WHERE id = ?",
                   (store_val[]){STORE_I(id)}, 1, NULL, NULL, NULL, NULL);
    gw_log(g, strcmp(state, "failed") == 0 ? "warn" : "info", "import", "session=%lld state=%s ms=%ld", (long long)id,
           state, ms);
}

/* A transfer that failed: again later with a doubling wait, or failed. */
static void retry_or_fail(gw *g, int64_t id, const char *why, long ms)
{
    int64_t attempts = 0;
    store_int(g->db, "SELECT attempts FROM import_sessions WHERE id = ?", (store_val[]){STORE_I(id)}, 1, &attempts,
              NULL);
    if (attempts >= g->cfg.import_max_attempts) {
        char msg[400];
        snprintf(msg, sizeof msg, "gave up after %lld attempts: %.300s", (long long)attempts, why);
        finish(g, id, "failed", msg, ms, 0);
        return;
    }
    int64_t wait = (int64_t)g->cfg.import_retry_seconds << (attempts > 10 ? 10 : attempts - 1);
    finish(g, id, "queued", why, ms, time(NULL) + wait);
}

void gw_job_run(gw *g, int64_t id, long *ms)
{
    double t0 = gw_clock_ms();
    *ms = 0;
    dqr_error err = {0};
    gw_job *j = gw_job_load(g, id, &err);
    gw_pacs p;
    if (!j || gw_pacs_load(g, j->pacs_id, &p, &err) != DQR_OK) { /* a broken script or a deleted PACS */
        finish(g, id, "failed", err.message, 0, 0);
        gw_job_free(j);
        return;
    }
    if (*p.receiver_aet && !gw_receiver_known(g, p.receiver_aet)) {
        char msg[200];
        snprintf(msg, sizeof msg, "PACS %s sends to receiver %s, which dqr does not run (the receivers setting)",
                 p.label, p.receiver_aet);
        finish(g, id, "failed", msg, 0, 0);
        gw_job_free(j);
        return;
    }
    snprintf(j->move_aet, sizeof j->move_aet, "%s", gw_pacs_calling(g, &p));
    run r = {g, j, 0, 0};
    register_job(g, j);
    net_move_result m = {0, 0, 0, 0, 0};
    dqr_status st = strcmp(p.protocol, "dicomweb") == 0 ? gw_wado_retrieve(g, j, &p, &r.expected, &err)
                                                        : retrieve(&r, &p, &m, &err);
    unregister_job(g, j);
    if (st == DQR_OK)
        st = sync_archive(g, &err);
    *ms = (long)(gw_clock_ms() - t0);
    save_counts(&r, NULL);
    if (j->orig_sealed)
        store_exec(g->db, "UPDATE import_sessions SET orig_enc = ? WHERE id = ? AND orig_enc IS NULL",
                   (store_val[]){STORE_S(j->orig_sealed), STORE_I(id)}, 2, NULL, NULL, NULL, NULL);
    /* the totals, with what other nodes' receivers counted for this session */
    json_t *tot = gw_row(g, "SELECT received, archived, failed FROM import_sessions WHERE id = ?",
                         (store_val[]){STORE_I(id)}, 1, NULL);
    int64_t received = json_integer_value(json_object_get(tot, "received")),
            archived = json_integer_value(json_object_get(tot, "archived")),
            failed = json_integer_value(json_object_get(tot, "failed"));
    json_decref(tot);
    if (r.expected < received) {
        r.expected = (int)received;
        save_counts(&r, NULL);
    }
    if (atomic_load(&j->cancel))
        finish(g, id, "cancelled", "cancelled by a user", *ms, 0);
    else if (g->stopping)
        finish(g, id, "queued", "dqr stopped during the transfer; it runs again", *ms, 0);
    else if (st != DQR_OK)
        retry_or_fail(g, id, err.message, *ms);
    else if (failed || m.failed)
        finish(g, id, archived ? "partial" : "failed", *j->error ? j->error : "the PACS reported failed sub-operations",
               *ms, 0);
    else
        finish(g, id, "done", NULL, *ms, 0);
    gw_job_free(j);
}
