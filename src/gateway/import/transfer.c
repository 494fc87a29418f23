/* transfer.c — one queued session from claim to end state: build its
 * de-identification, ask the PACS for the study (C-MOVE to dqr's receiver,
 * or C-GET on the same association), wait for every instance, sync the
 * archive, and record the outcome and the sealed originals. */
#include "gateway/import/transfer.h"
#include "gateway/pacs/runtime.h"
#include "gateway/import/job.h"
#include "gateway/import/listeners.h"
#include "gateway/import/nodes.h"
#include "gateway/import/pool.h"
#include "gateway/import/wado.h"
#include "gateway/core/sealed.h"
#include "gateway/import/quirks.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdarg.h>
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
    if (st != DQR_OK || gw_deid_build(g, j->project, NULL, j->subject, j->session, &j->deid, err) != DQR_OK ||
        gw_pixel_rules_load(g, j->project, &j->pixel_rules, err) != DQR_OK) {
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
    gw_pixel_rules_free(&j->pixel_rules);
    json_decref(j->series);
    json_decref(j->overrides);
    free(j->orig_sealed);
    free(j->reg_sealed);
    gw_series_free(j);
    sodium_memzero(j->first_patient, sizeof j->first_patient);
    pthread_mutex_destroy(&j->lock);
    pthread_mutex_destroy(&j->dir_lock);
    pthread_mutex_destroy(&j->flush_lock);
    free(j);
}

/* ---- progress ---------------------------------------------------------- */

typedef struct run {
    gw *g;
    gw_job *j;
    const gw_pacs *p;
    int threads;        /* the window's: associations to p at once, with p's other sessions */
    pthread_mutex_t mu; /* expected, saved, failed: the parallel moves share them */
    int expected, failed;
    double saved;       /* gw_clock_ms of the last save */
    bool planned;       /* j->want holds the series the C-FIND listed */
    bool complete;      /* every series counted arrived */
    char level[8];      /* the query/retrieve level that worked */
    char notes[600];    /* what dqr did about the PACS's quirks (history) */
} run;

static void note(run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(run *r, const char *fmt, ...)
{
    size_t n = strlen(r->notes);
    if (n + 3 >= sizeof r->notes)
        return;
    if (n)
        memcpy(r->notes + n, "; ", 3), n += 2;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->notes + n, sizeof r->notes - n, fmt, ap);
    va_end(ap);
}

/* Progress reaches the catalog at most every 250 ms. */
static bool save_due(const run *r)
{
    return gw_clock_ms() - r->saved >= 250;
}

void gw_job_flush(gw *g, gw_job *j)
{
    pthread_mutex_lock(&j->flush_lock);
    int64_t now[9] = {j->received, j->archived, j->rejected,       j->failed,       j->warned,
                      j->bytes,    j->frames_checked, j->frames_masked, j->frames_refused},
            d[9];
    bool any = false;
    for (int i = 0; i < 9; i++)
        d[i] = now[i] - j->flushed[i], any = any || d[i];
    if (any && store_exec(g->db,
                          "UPDATE import_sessions SET received = received + ?, archived = archived + ?, "
                          "rejected = rejected + ?, failed = failed + ?, warned = warned + ?, bytes = bytes + ?, "
                          "frames_checked = frames_checked + ?, frames_masked = frames_masked + ?, "
                          "frames_refused = frames_refused + ?, updated = ? WHERE id = ?",
                          (store_val[]){STORE_I(d[0]), STORE_I(d[1]), STORE_I(d[2]), STORE_I(d[3]), STORE_I(d[4]),
                                        STORE_I(d[5]), STORE_I(d[6]), STORE_I(d[7]), STORE_I(d[8]),
                                        STORE_I(time(NULL)), STORE_I(j->id)},
                          11, NULL, NULL, NULL, NULL) == DQR_OK)
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

/* expected grows to total (under mu), saved when due */
static void progress_to(run *r, int total)
{
    pthread_mutex_lock(&r->mu);
    if (total > r->expected && !r->planned)
        r->expected = total;
    if (save_due(r))
        save_counts(r, NULL);
    pthread_mutex_unlock(&r->mu);
}

static bool stop_asked(const run *r)
{
    return atomic_load(&r->j->cancel) || atomic_load(&r->j->mixed) || r->g->stopping;
}

static bool stop_cb(const void *ctx)
{
    return stop_asked(ctx);
}

static int on_progress(void *ctx, const net_move_result *m)
{
    run *r = ctx;
    progress_to(r, (m->remaining > 0 ? m->remaining : 0) + (m->completed > 0 ? m->completed : 0) +
                       (m->failed > 0 ? m->failed : 0) + (m->warning > 0 ? m->warning : 0));
    return stop_asked(r);
}

static uint16_t on_get_store(void *ctx, const net_received *rx)
{
    run *r = ctx;
    uint16_t status = rx->data && gw_pool_submit(r->g->pool, r->j, rx->data, rx->len) ? 0 : 0xA700;
    progress_to(r, 0);
    return status;
}

/* ---- one C-MOVE (or C-GET) --------------------------------------------- */

enum { STUDY, SERIES, IMAGE };
static const char *const LEVELS[] = {"STUDY", "SERIES", "IMAGE"};

/* What a C-MOVE came to: done (success, warning or failed sub-operations),
 * refused at its level (a failure status, nothing sent), or the
 * association broke. */
typedef enum { MOVED, REFUSED, BROKEN } outcome;

/* The identifier at level: the study, series i of j->want, or its
 * instances (sops, a backslash list). */
static dcm_dataset *identifier(const gw_job *j, int level, const char *series, const char *sops, dqr_error *err)
{
    dcm_dataset *id = dcm_dataset_new();
    if (!id)
        return NULL;
    dcm_dataset_set_string(id, DCM_TAG(0x0008, 0x0052), DCM_VR_CS, LEVELS[level], err);
    dcm_dataset_set_string(id, DCM_TAG(0x0020, 0x000D), DCM_VR_UI, j->study_uid, err);
    if (level >= SERIES)
        dcm_dataset_set_string(id, DCM_TAG(0x0020, 0x000E), DCM_VR_UI, series, err);
    if (level == IMAGE)
        dcm_dataset_set_string(id, DCM_TAG(0x0008, 0x0018), DCM_VR_UI, sops, err);
    return id;
}

/* The SOPInstanceUIDs of series i that have not come yet, backslash-
 * separated (malloc; "" when all came), or NULL when the PACS lists none. */
static char *sop_list(run *r, size_t i, dqr_error *err)
{
    json_t *uids = gw_series_instances(r->g, r->p, r->j, i, err);
    size_t len = 1, k;
    json_t *v;
    json_array_foreach(uids, k, v) len += strlen(json_string_value(v)) + 1;
    char *out = uids && json_array_size(uids) ? malloc(len) : NULL, *at = out;
    if (out) {
        *out = '\0';
        json_array_foreach(uids, k, v)
        {
            const char *sop = json_string_value(v);
            if (gw_series_has(r->j, i, sop))
                continue;
            at += sprintf(at, "%s%s", at == out ? "" : "\\", sop);
        }
    }
    json_decref(uids);
    return out;
}

/* Move (or get) what one identifier names on a, which stays open; at
 * IMAGE level, sops is the instances still missing (NULL: the PACS listed
 * none). */
static outcome move_id(run *r, net_assoc *a, int level, size_t i, const char *sops, dqr_error *err)
{
    gw_job *j = r->j;
    const gw_pacs *p = r->p;
    bool get = strcmp(p->retrieve, "get") == 0;
    const char *model = get ? NET_STUDY_ROOT_GET : NET_STUDY_ROOT_MOVE;
    const char *series = level >= SERIES ? j->want[i].uid : NULL;
    dcm_dataset *id = identifier(j, level, series, sops, err);
    net_move_result one = {0xFFFF, -1, -1, -1, -1};
    dqr_status st = !id ? DQR_E_NOMEM
                    : get ? net_get(a, model, id, NULL, on_get_store, r, &one, err)
                          : net_move(a, model, *p->receiver_aet ? p->receiver_aet : r->g->cfg.aet, id, j->msgid,
                                     on_progress, r, &one, err);
    dcm_dataset_free(id);
    atomic_store(&j->last_arrival, (long long)gw_clock_ms()); /* the idle wait starts when the PACS answered */
    if (st != DQR_OK)
        return BROKEN;
    pthread_mutex_lock(&r->mu);
    r->failed += one.failed > 0 ? one.failed : 0;
    int total = (one.completed > 0 ? one.completed : 0) + (one.failed > 0 ? one.failed : 0) +
                (one.warning > 0 ? one.warning : 0);
    pthread_mutex_unlock(&r->mu);
    progress_to(r, total);
    bool ok = one.status == 0 || one.status == 0xFE00 || (one.status & 0xF000) == 0xB000;
    if (ok)
        return MOVED;
    dqr_error_set(err, DQR_E_IO, "PACS %s answered the %s %s-level with 0x%04X (%s)", p->label,
                  get ? "C-GET" : "C-MOVE", LEVELS[level], one.status, net_status_str(one.status));
    return total > 0 || one.completed > 0 ? MOVED : REFUSED; /* some went: failed sub-operations, not a refusal */
}

/* At IMAGE level, at most this many SOPInstanceUIDs in one C-MOVE: a PACS
 * may refuse a longer identifier. */
enum { IMAGE_CHUNK = 200 };

static outcome move_one(run *r, net_assoc *a, int level, size_t i, const char *sops, dqr_error *err)
{
    if (level != IMAGE)
        return move_id(r, a, level, i, NULL, err);
    if (!sops)
        return REFUSED; /* no instance list: nothing to ask for at this level */
    outcome o = MOVED;
    for (const char *at = sops; *at && o == MOVED && !stop_asked(r);) {
        const char *end = at;
        for (int k = 0; k < IMAGE_CHUNK && end; k++)
            end = strchr(end + (k > 0), '\\');
        size_t n = end ? (size_t)(end - at) : strlen(at);
        char *piece = strndup(at, n);
        o = piece ? move_id(r, a, level, i, piece, err) : BROKEN;
        free(piece);
        at += n + (end != NULL);
    }
    return o; /* "" (all of the series came meanwhile): nothing asked */
}

/* ---- several at once ----------------------------------------------------- */

typedef struct lanes {
    run *r;
    int level;
    const size_t *list; /* indexes into j->want */
    char **sops;        /* IMAGE level: per entry of list, its missing instances */
    size_t n;
    atomic_size_t next;
    pthread_mutex_t mu;
    outcome worst;
    dqr_error err;
} lanes;

static void lane_result(lanes *l, outcome o, const dqr_error *err)
{
    pthread_mutex_lock(&l->mu);
    if (o > l->worst) { /* BROKEN over REFUSED over MOVED: the reason kept is the worst's */
        l->worst = o;
        l->err = *err;
    }
    pthread_mutex_unlock(&l->mu);
}

/* One association taking the next series until none is left. */
static void *lane(void *p)
{
    lanes *l = p;
    run *r = l->r;
    bool get = strcmp(r->p->retrieve, "get") == 0;
    dqr_error err = {0};
    net_assoc *a = gw_pacs_connect(r->g, r->p, get ? NET_STUDY_ROOT_GET : NET_STUDY_ROOT_MOVE, get, &err);
    outcome o = a ? MOVED : BROKEN;
    while (o == MOVED && !stop_asked(r)) {
        size_t k = atomic_fetch_add(&l->next, 1);
        if (k >= l->n)
            break;
        if ((o = move_one(r, a, l->level, l->level == STUDY ? 0 : l->list[k], l->sops ? l->sops[k] : NULL, &err)) ==
            REFUSED)
            atomic_store(&l->next, l->n); /* the others need not ask: the next level will */
    }
    if (a && o != BROKEN)
        net_release(a, NULL);
    net_assoc_free(a);
    if (o != MOVED || err.code)
        lane_result(l, o, &err);
    return NULL;
}

/* Retrieve list (n series of j->want; the study when level is STUDY) over
 * up to the window's threads associations at once. */
static outcome move_all(run *r, int level, const size_t *list, size_t n, dqr_error *err)
{
    lanes l = {.r = r, .level = level, .list = list, .n = level == STUDY ? 1 : n, .worst = MOVED};
    /* the instance lists first, by C-FIND on this transfer's own association slot, none open yet */
    if (level == IMAGE && (l.sops = calloc(n ? n : 1, sizeof *l.sops)))
        for (size_t k = 0; k < n; k++)
            l.sops[k] = sop_list(r, list[k], err);
    if (level == IMAGE && !l.sops)
        return dqr_error_set(err, DQR_E_NOMEM, "out of memory"), BROKEN;
    atomic_init(&l.next, 0);
    pthread_mutex_init(&l.mu, NULL);
    int want = (int)(l.n < (size_t)r->threads ? l.n : (size_t)r->threads) - 1;
    int extra = want > 0 ? gw_node_slots_add(r->g, r->p->id, r->j->id, want, r->threads) : 0;
    pthread_t t[64];
    int started = 0;
    for (int i = 0; i < extra && i < 64; i++)
        started += pthread_create(&t[started], NULL, lane, &l) == 0;
    lane(&l);
    for (int i = 0; i < started; i++)
        pthread_join(t[i], NULL);
    if (extra)
        gw_node_slots_return(r->g, r->p->id, r->j->id, extra);
    pthread_mutex_destroy(&l.mu);
    for (size_t k = 0; l.sops && k < n; k++)
        free(l.sops[k]);
    free(l.sops);
    if (l.err.code)
        *err = l.err;
    return l.worst;
}

/* ---- the transfer ------------------------------------------------------ */

static void plan(run *r)
{
    gw_job *j = r->j;
    int unknown = 0, counted = 0;
    dqr_error err = {0};
    r->planned = gw_series_plan(r->g, r->p, j, &unknown, &counted, &err) == DQR_OK && j->nwant > 0;
    if (!r->planned) {
        note(r, "the PACS answered no SERIES-level C-FIND: instance counts unknown, dqr did not wait for them");
        return;
    }
    int total = 0;
    for (size_t i = 0; i < j->nwant; i++)
        total += j->want[i].expected > 0 ? j->want[i].expected : 0;
    r->expected = total;
    if (counted)
        note(r, "the PACS's C-FIND gave no instance count for %d series: counted at IMAGE level", counted);
    if (unknown)
        note(r, "instance counts unknown for %d series: dqr took what came without waiting for a count", unknown);
}

/* Wait (interruptibly) s seconds. */
static void rest(const run *r, int64_t s)
{
    for (int64_t t = 0; t < s * 10 && !stop_asked(r); t++)
        usleep(100 * 1000);
}

/* The level to ask again for what is short: the missing instances
 * (IMAGE), else whole series; -1 when the PACS refused both. */
static int retry_level(const bool refused[3])
{
    return !refused[IMAGE] ? IMAGE : !refused[SERIES] ? SERIES : -1;
}

static void forget(gw_job *j, const size_t *list, size_t n)
{
    for (size_t k = 0; k < n; k++) /* asked again whole: their instances come again and replace */
        gw_series_forget(j, list[k]);
}

static dqr_status retrieve(run *r, dqr_error *err)
{
    gw_job *j = r->j;
    plan(r);
    size_t cap = r->planned ? j->nwant : 1, *list = calloc(cap, sizeof *list), n = r->planned ? j->nwant : 0;
    if (!list)
        return dqr_error_set(err, DQR_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        list[i] = i;
    /* series by series when chosen, or when they can go over several associations at once */
    int level = r->planned && (j->series || (r->threads > 1 && n > 1)) ? SERIES : STUDY;
    bool refused[3] = {false, false, false}, again = false;
    outcome o = MOVED;
    for (int attempt = 0;; attempt++) {
        for (;;) {
            o = move_all(r, level, list, n, err);
            if (o != REFUSED || !r->planned || stop_asked(r))
                break;
            refused[level] = true;
            note(r, "the PACS refused the %s-level C-MOVE: %s", LEVELS[level], err->message);
            memset(err, 0, sizeof *err);
            int next = again ? retry_level(refused) : level + 1;
            if (next < 0 || next > IMAGE || refused[next])
                break;
            if (again && next == SERIES)
                forget(j, list, n);
            level = next;
        }
        if (o != REFUSED && !*r->level) /* the first level that worked; retries are in the notes */
            snprintf(r->level, sizeof r->level, "%s", LEVELS[level]);
        if (!r->planned || o == REFUSED)
            break;
        r->complete = gw_wait_for_counts(r->g, j, r->g->cfg.import_move_idle_seconds, stop_cb, r);
        n = gw_short_series(j, list, cap);
        if (r->complete || n == 0 || stop_asked(r) || attempt >= r->p->retry_attempts || retry_level(refused) < 0)
            break;
        rest(r, (int64_t)r->p->retry_backoff_seconds << (attempt > 10 ? 10 : attempt));
        again = true;
        level = retry_level(refused);
        if (level == SERIES)
            forget(j, list, n);
        note(r, "asked again for what %zu series still missed, at %s level (attempt %d of %d)", n, LEVELS[level],
             attempt + 1, r->p->retry_attempts);
        memset(err, 0, sizeof *err);
    }
    free(list);
    if (r->planned && o == BROKEN && r->complete)
        return DQR_OK; /* the association broke, but what was missing came on the retry */
    return o == MOVED && !err->code ? DQR_OK : (err->code ? err->code : DQR_E_IO);
}

static void register_job(gw *g, gw_job *j)
{
    pthread_mutex_lock(&g->jobs_lock);
    j->next = g->jobs;
    g->jobs = j;
    pthread_mutex_unlock(&g->jobs_lock);
}

/* Take j out of the routing list and wait until no receiver thread is in it
 * and the pool is through with its instances: the pool may still be busy
 * long after the PACS is done sending, so progress is saved meanwhile too
 * (every 250 ms, with the jobs lock released). */
static void unregister_job(gw *g, gw_job *j)
{
    pthread_mutex_lock(&g->jobs_lock);
    for (gw_job **p = &g->jobs; *p; p = &(*p)->next)
        if (*p == j) {
            *p = j->next;
            break;
        }
    while (j->refs > 0 || j->pending > 0) {
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        t.tv_nsec += 250000000L;
        if (t.tv_nsec >= 1000000000L)
            t.tv_sec++, t.tv_nsec -= 1000000000L;
        if (pthread_cond_timedwait(&g->idle, &g->jobs_lock, &t) == ETIMEDOUT) {
            pthread_mutex_unlock(&g->jobs_lock);
            gw_job_flush(g, j);
            pthread_mutex_lock(&g->jobs_lock);
        }
    }
    pthread_mutex_unlock(&g->jobs_lock);
}

/* Written instances reach the disk before the session says done. */
dqr_status gw_sync_archive(gw *g, dqr_error *err)
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
    /* The session's end must reach the catalog: lost (PostgreSQL restarting),
     * the session would stay running with nobody running it. Asked again
     * for up to ten seconds. */
    dqr_status st = DQR_E_IO;
    for (int i = 0; i < 50 && st != DQR_OK; i++) {
        if (i)
            usleep(200 * 1000);
        st = store_exec(g->db,
                        "UPDATE import_sessions SET state = ?, error = ?, ms = ?, next_try = ?, updated = ?, finished = ? "
                        "WHERE id = ?",
                        (store_val[]){STORE_S(state), STORE_S(error), STORE_I(ms), STORE_I(next_try),
                                      STORE_I(time(NULL)), ended ? STORE_I(time(NULL)) : STORE_S(NULL), STORE_I(id)},
                        7, NULL, NULL, NULL, NULL);
    }
    if (st != DQR_OK)
        gw_log(g, "error", "import_end_lost", "session=%lld state=%s (the catalog did not answer)", (long long)id, state);
    /* what the archive holds for the session, counted: counts restart with
     * each attempt (a last attempt that could not even connect would say 0
     * archived beside what earlier ones archived), and increments written
     * while the catalog was away are lost */
    if (ended)
        store_exec(g->db,
                   "UPDATE import_sessions SET archived = (SELECT COUNT(*) FROM archive_instances a WHERE "
                   "a.project = import_sessions.project AND a.session = import_sessions.session) WHERE id = ?",
                   (store_val[]){STORE_I(id)}, 1, NULL, NULL, NULL, NULL);
    gw_log(g, strcmp(state, "failed") == 0 ? "warn" : "info", "import", "session=%lld state=%s ms=%ld", (long long)id,
           state, ms);
}

/* A transfer that failed: again later with a doubling wait, or failed.
 * The PACS's session_attempts and session_retry_seconds when set (a PACS
 * known to be down for maintenance for hours, or one to give up on soon),
 * else the global import_max_attempts and import_retry_seconds. */
static void retry_or_fail(gw *g, const gw_pacs *p, int64_t id, const char *why, long ms)
{
    int64_t attempts = 0;
    store_int(g->db, "SELECT attempts FROM import_sessions WHERE id = ?", (store_val[]){STORE_I(id)}, 1, &attempts,
              NULL);
    int max = p->session_attempts > 0 ? p->session_attempts : g->cfg.import_max_attempts;
    int first = p->session_retry_seconds > 0 ? p->session_retry_seconds : g->cfg.import_retry_seconds;
    if (attempts >= max) {
        char msg[400];
        snprintf(msg, sizeof msg, "gave up after %lld attempts: %.300s", (long long)attempts, why);
        finish(g, id, "failed", msg, ms, 0);
        return;
    }
    int64_t wait = (int64_t)first << (attempts > 10 ? 10 : attempts < 1 ? 0 : attempts - 1);
    finish(g, id, "queued", why, ms, time(NULL) + wait);
}

/* The level that worked, what is still short and what dqr did about the
 * PACS's quirks: for the history (docs/api.md). */
static void save_quirks(gw *g, const run *r)
{
    json_t *missing = r->planned && !r->complete ? gw_missing_json(r->j) : NULL;
    char *text = missing ? json_dumps(missing, JSON_COMPACT) : NULL;
    store_exec(g->db, "UPDATE import_sessions SET retrieve_level = ?, missing_series = ?, notes = ? WHERE id = ?",
               (store_val[]){STORE_S(*r->level ? r->level : NULL), STORE_S(text), STORE_S(*r->notes ? r->notes : NULL),
                             STORE_I(r->j->id)},
               4, NULL, NULL, NULL, NULL);
    free(text);
    json_decref(missing);
}

/* The end state of a transfer that ran (not cancelled, not stopped). */
static void conclude(gw *g, run *r, dqr_status st, const dqr_error *err, int64_t archived, int64_t failed, long ms)
{
    gw_job *j = r->j;
    char msg[700];
    if (atomic_load(&j->mixed)) {
        gw_job_discard(g, j->id);
        finish(g, j->id, "failed",
               "the study's instances carry more than one PatientID (mixed_patient_policy is refuse): the transfer "
               "stopped and nothing of it was kept",
               ms, 0);
    } else if (r->planned && !r->complete && gw_short_series(j, (size_t[1]){0}, 1) > 0) {
        gw_missing_text(j, msg, sizeof msg);
        if (archived)
            finish(g, j->id, "partial", msg, ms, 0);
        else
            retry_or_fail(g, r->p, j->id, st != DQR_OK ? err->message : msg, ms);
    } else if (st != DQR_OK)
        retry_or_fail(g, r->p, j->id, err->message, ms);
    else if (failed || r->failed)
        finish(g, j->id, archived ? "partial" : "failed",
               *j->error ? j->error : "the PACS reported failed sub-operations", ms, 0);
    else
        finish(g, j->id, "done", NULL, ms, 0);
}

void gw_job_run(gw *g, int64_t id, int threads, long *ms)
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
    run r = {.g = g, .j = j, .p = &p, .threads = threads > 0 ? threads : 1};
    pthread_mutex_init(&r.mu, NULL);
    register_job(g, j);
    dqr_status st = strcmp(p.protocol, "dicomweb") == 0 ? gw_wado_retrieve(g, j, &p, &r.expected, &err)
                                                        : retrieve(&r, &err);
    unregister_job(g, j);
    if (st == DQR_OK)
        st = gw_sync_archive(g, &err);
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
    save_quirks(g, &r);
    if (atomic_load(&j->cancel))
        finish(g, id, "cancelled", "cancelled by a user", *ms, 0);
    else if (g->stopping)
        finish(g, id, "queued", "dqr stopped during the transfer; it runs again", *ms, 0);
    else
        conclude(g, &r, st, &err, archived, failed, *ms);
    pthread_mutex_destroy(&r.mu);
    gw_job_free(j);
}
