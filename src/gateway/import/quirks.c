/* quirks.c — the study's series and counts by C-FIND before a retrieve, the
 * per-series count of what came, the mixed-PatientID check, and the names
 * of what is still short (quirks.h; docs/import.md "PACS that misbehave"). */
#include "gateway/import/quirks.h"
#include "gateway/import/archive.h"
#include "gateway/import/index.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the plan: series and counts ---------------------------------------- */

static void get_text(const dcm_dataset *ds, uint16_t g, uint16_t e, char *out, size_t cap)
{
    if (!dcm_dataset_get_string(ds, DCM_TAG(g, e), out, cap))
        *out = '\0';
}

typedef struct plan {
    gw_series_want *v;
    size_t n, cap;
    const json_t *chosen; /* the request's series, or NULL */
} plan;

static bool chosen(const json_t *series, const char *uid)
{
    size_t i;
    json_t *v;
    json_array_foreach(series, i, v) if (json_is_string(v) && strcmp(json_string_value(v), uid) == 0) return true;
    return false;
}

static bool plan_add(plan *p, const char *uid, const char *number, const char *modality, int expected)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->v[i].uid, uid) == 0)
            return true; /* a PACS may answer a series twice */
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        gw_series_want *v = realloc(p->v, cap * sizeof *v);
        if (!v)
            return false;
        p->v = v, p->cap = cap;
    }
    gw_series_want *w = &p->v[p->n++];
    memset(w, 0, sizeof *w);
    snprintf(w->uid, sizeof w->uid, "%s", uid);
    snprintf(w->number, sizeof w->number, "%s", number);
    snprintf(w->modality, sizeof w->modality, "%s", modality);
    w->expected = expected;
    atomic_init(&w->arrived, 0);
    return (w->seen = json_object()) != NULL;
}

static int on_series(void *ctx, const dcm_dataset *ds)
{
    plan *p = ctx;
    char uid[65], number[16], modality[17], count[16];
    get_text(ds, 0x0020, 0x000E, uid, sizeof uid);
    get_text(ds, 0x0020, 0x0011, number, sizeof number);
    get_text(ds, 0x0008, 0x0060, modality, sizeof modality);
    get_text(ds, 0x0020, 0x1209, count, sizeof count);
    if (!*uid || (p->chosen && !chosen(p->chosen, uid)))
        return 0;
    char *end;
    long n = strtol(count, &end, 10);
    return plan_add(p, uid, number, modality, *count && !*end && n >= 0 ? (int)n : -1) ? 0 : 1;
}

static dcm_dataset *find_id(const char *level, const char *study, const char *series, dqr_error *err)
{
    dcm_dataset *id = dcm_dataset_new();
    if (!id)
        return NULL;
    dcm_dataset_set_string(id, DCM_TAG(0x0008, 0x0052), DCM_VR_CS, level, err);
    dcm_dataset_set_string(id, DCM_TAG(0x0020, 0x000D), DCM_VR_UI, study, err);
    dcm_dataset_set_string(id, DCM_TAG(0x0020, 0x000E), DCM_VR_UI, series ? series : "", err);
    if (series) { /* IMAGE level: the instances of one series */
        dcm_dataset_set_string(id, DCM_TAG(0x0008, 0x0018), DCM_VR_UI, "", err);
    } else {
        dcm_dataset_set_string(id, DCM_TAG(0x0020, 0x0011), DCM_VR_IS, "", err);
        dcm_dataset_set_string(id, DCM_TAG(0x0008, 0x0060), DCM_VR_CS, "", err);
        dcm_dataset_set_string(id, DCM_TAG(0x0020, 0x1209), DCM_VR_IS, "", err);
    }
    return id;
}

/* One C-FIND on its own association; false with err. */
static bool find(gw *g, const gw_pacs *p, dcm_dataset *id, net_match_fn fn, void *ctx, dqr_error *err)
{
    uint16_t status = 0xFFFF;
    net_assoc *a = id ? gw_pacs_connect(g, p, NET_STUDY_ROOT_FIND, false, err) : NULL;
    dqr_status st = a ? net_find(a, NET_STUDY_ROOT_FIND, id, fn, ctx, &status, err) : DQR_E_IO;
    if (st == DQR_OK)
        net_release(a, NULL);
    net_assoc_free(a);
    dcm_dataset_free(id);
    if (st == DQR_OK && status != 0)
        st = dqr_error_set(err, DQR_E_IO, "PACS %s answered the C-FIND with 0x%04X (%s)", p->label, status,
                           net_status_str(status));
    return st == DQR_OK;
}

static int on_instance(void *ctx, const dcm_dataset *ds)
{
    char uid[65];
    get_text(ds, 0x0008, 0x0018, uid, sizeof uid);
    if (*uid)
        json_array_append_new(ctx, json_string(uid));
    return 0; /* SOPClassUID may be missing: the UID is all a C-MOVE needs */
}

json_t *gw_series_instances(gw *g, const gw_pacs *p, const gw_job *j, size_t i, dqr_error *err)
{
    json_t *uids = json_array();
    if (uids && find(g, p, find_id("IMAGE", j->study_uid, j->want[i].uid, err), on_instance, uids, err))
        return uids;
    json_decref(uids);
    return NULL;
}

dqr_status gw_series_plan(gw *g, const gw_pacs *p, gw_job *j, int *unknown, int *counted, dqr_error *err)
{
    plan pl = {NULL, 0, 0, j->series};
    *unknown = *counted = 0;
    if (!find(g, p, find_id("SERIES", j->study_uid, NULL, err), on_series, &pl, err) && !j->series) {
        j->want = pl.v, j->nwant = pl.n;
        gw_series_free(j);
        return err->code ? err->code : DQR_E_IO;
    } /* with chosen series, they are what to ask for even when the PACS lists none */
    size_t k;
    json_t *v;
    json_array_foreach(j->series, k, v) /* a chosen series the PACS did not list: asked for all the same */
        if (json_is_string(v) && !plan_add(&pl, json_string_value(v), "", "", -1))
            break;
    j->want = pl.v, j->nwant = pl.n;
    for (size_t i = 0; i < pl.n; i++) {
        if (pl.v[i].expected >= 0)
            continue;
        dqr_error e2 = {0};
        json_t *uids = gw_series_instances(g, p, j, i, &e2);
        if (uids) {
            pl.v[i].expected = (int)json_array_size(uids);
            ++*counted;
        } else {
            ++*unknown;
        }
        json_decref(uids);
    }
    return DQR_OK;
}

/* ---- what came ------------------------------------------------------------ */

void gw_series_free(gw_job *j)
{
    for (size_t i = 0; i < j->nwant; i++)
        json_decref(j->want[i].seen);
    free(j->want);
    j->want = NULL, j->nwant = 0;
}

void gw_series_forget(gw_job *j, size_t i)
{
    pthread_mutex_lock(&j->lock);
    json_object_clear(j->want[i].seen);
    atomic_store(&j->want[i].arrived, 0);
    pthread_mutex_unlock(&j->lock);
}

bool gw_series_has(gw_job *j, size_t i, const char *sop)
{
    pthread_mutex_lock(&j->lock);
    bool has = json_object_get(j->want[i].seen, sop) != NULL;
    pthread_mutex_unlock(&j->lock);
    return has;
}

/* Count sop for series uid once (under the job's lock). */
static void count_once(gw_job *j, const char *uid, const char *sop)
{
    for (size_t i = 0; i < j->nwant; i++)
        if (strcmp(j->want[i].uid, uid) == 0) {
            if (!json_object_get(j->want[i].seen, sop) && json_object_set_new(j->want[i].seen, sop, json_true()) == 0)
                atomic_fetch_add(&j->want[i].arrived, 1);
            return;
        }
}

bool gw_job_arrived(gw *g, gw_job *j, const dcm_dataset *ds)
{
    char uid[65], sop[65], pid[65];
    get_text(ds, 0x0020, 0x000E, uid, sizeof uid);
    get_text(ds, 0x0008, 0x0018, sop, sizeof sop);
    get_text(ds, 0x0010, 0x0020, pid, sizeof pid);
    pthread_mutex_lock(&j->lock);
    bool first = !j->first_patient[0] && !j->mixed;
    if (first)
        snprintf(j->first_patient, sizeof j->first_patient, "%s", *pid ? pid : " ");
    bool other = !first && strcmp(j->first_patient, *pid ? pid : " ") != 0;
    bool refuse = (other || atomic_load(&j->mixed)) && strcmp(g->cfg.mixed_patient_policy, "refuse") == 0;
    if (!refuse)
        count_once(j, uid, sop);
    pthread_mutex_unlock(&j->lock);
    sodium_memzero(pid, sizeof pid);
    atomic_store(&j->last_arrival, (long long)gw_clock_ms());
    if (refuse && !atomic_exchange(&j->mixed, true))
        gw_log(g, "warn", "mixed_patient", "session=%lld policy=refuse", (long long)j->id);
    return !refuse;
}

size_t gw_short_series(const gw_job *j, size_t *idx, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < j->nwant && n < cap; i++)
        if (j->want[i].expected >= 0 && atomic_load(&j->want[i].arrived) < j->want[i].expected)
            idx[n++] = i;
    return n;
}

static int pending_of(gw *g, gw_job *j)
{
    pthread_mutex_lock(&g->jobs_lock);
    int n = j->pending;
    pthread_mutex_unlock(&g->jobs_lock);
    return n;
}

/* Several nodes: instances the PACS sent to another node's receiver are
 * counted there, in the catalog only (not per series). True when this
 * node's and theirs together make the study's count. */
static bool others_filled(gw *g, gw_job *j)
{
    int64_t want = 0, total = 0;
    for (size_t i = 0; i < j->nwant; i++)
        want += j->want[i].expected > 0 ? j->want[i].expected : 0;
    if (store_int(g->db, "SELECT received FROM import_sessions WHERE id = ?", (store_val[]){STORE_I(j->id)}, 1, &total,
                  NULL) != DQR_OK)
        return false;
    pthread_mutex_lock(&j->flush_lock);
    int64_t foreign = total - j->flushed[0]; /* the catalog's count less what this node added */
    pthread_mutex_unlock(&j->flush_lock);
    return foreign > 0 && atomic_load(&j->received) + foreign >= want;
}

bool gw_wait_for_counts(gw *g, gw_job *j, int idle_s, bool (*stop)(const void *ctx), const void *ctx)
{
    size_t one;
    for (int tick = 1; gw_short_series(j, &one, 1) > 0 && !atomic_load(&j->mixed) && !stop(ctx); tick++) {
        if (tick % 10 == 0 && others_filled(g, j))
            return true;
        bool idle = gw_clock_ms() - (double)atomic_load(&j->last_arrival) >= idle_s * 1000.0;
        if (idle && pending_of(g, j) == 0)
            return others_filled(g, j);
        usleep(50 * 1000);
    }
    return gw_short_series(j, &one, 1) == 0;
}

json_t *gw_missing_json(const gw_job *j)
{
    json_t *a = NULL;
    for (size_t i = 0; i < j->nwant; i++) {
        const gw_series_want *w = &j->want[i];
        int got = atomic_load(&w->arrived);
        if (w->expected < 0 || got >= w->expected)
            continue;
        if (!a)
            a = json_array();
        json_array_append_new(a, json_pack("{s:s,s:s,s:i,s:i}", "series_number", w->number, "modality", w->modality,
                                           "expected", w->expected, "arrived", got));
    }
    return a;
}

void gw_missing_text(const gw_job *j, char *out, size_t cap)
{
    int want = 0, got = 0;
    for (size_t i = 0; i < j->nwant; i++)
        if (j->want[i].expected >= 0) {
            int a = atomic_load(&j->want[i].arrived);
            want += j->want[i].expected;
            got += a < j->want[i].expected ? a : j->want[i].expected;
        }
    size_t n = (size_t)snprintf(out, cap, "%d of %d instances the PACS counted did not arrive:", want - got, want);
    for (size_t i = 0; i < j->nwant && n < cap; i++) {
        const gw_series_want *w = &j->want[i];
        int a = atomic_load(&w->arrived);
        if (w->expected >= 0 && a < w->expected)
            n += (size_t)snprintf(out + n, cap - n, " series %s (%s) %d of %d;", *w->number ? w->number : "?",
                                  *w->modality ? w->modality : "?", a, w->expected);
    }
    if (n > 0 && n < cap && out[n - 1] == ';')
        out[n - 1] = '\0';
}

typedef struct labels {
    char project[128], session[128];
} labels;

static int take_labels(void *ctx, int n, const char *const *names, const store_val *c)
{
    (void)names;
    labels *l = ctx;
    if (n == 2 && c[0].s && c[1].s)
        snprintf(l->project, sizeof l->project, "%s", c[0].s), snprintf(l->session, sizeof l->session, "%s", c[1].s);
    return 1;
}

void gw_job_discard(gw *g, int64_t id)
{
    store_exec(g->db, "SELECT path FROM archive_instances WHERE import_session = ?", (store_val[]){STORE_I(id)}, 1,
               gw_archive_remove_row, g->cfg.data_dir, NULL, NULL);
    store_exec(g->db, "DELETE FROM archive_instances WHERE import_session = ?", (store_val[]){STORE_I(id)}, 1, NULL,
               NULL, NULL, NULL);
    /* rows of the session's earlier imports may be left: its summary's latest update follows them */
    labels l = {"", ""};
    store_exec(g->db, "SELECT project, session FROM import_sessions WHERE id = ?", (store_val[]){STORE_I(id)}, 1,
               take_labels, &l, NULL, NULL);
    if (*l.session)
        gw_archive_summary_refresh(g->db, l.project, l.session, NULL);
}
