/* reindex.c — the backfill of catalog rows that predate the query columns
 * (reindex.h). An upgraded archive's older instances would otherwise be
 * invisible to QIDO-RS and C-FIND, which both match on those columns
 * (archive/catalog_query.c). It reads the de-identified files the rows
 * point at: nothing new is learnt, nothing identifying is written. */
#include "gateway/import/reindex.h"
#include "gateway/import/index.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { BATCH = 200 };

/* One row to index again. */
typedef struct pending {
    char *project, *subject, *session, *sop, *path;
    int64_t bytes, import_session;
} pending;

typedef struct batch {
    pending v[BATCH];
    int n;
    bool nomem;
} batch;

static int take_pending(void *ctx, int n, const char *const *names, const store_val *c)
{
    (void)names;
    batch *b = ctx;
    if (n < 7 || b->n == BATCH)
        return 1;
    pending *p = &b->v[b->n++];
    const char *s[5] = {c[0].s, c[1].s, c[2].s, c[3].s, c[4].s};
    char **d[5] = {&p->project, &p->subject, &p->session, &p->sop, &p->path};
    for (int i = 0; i < 5; i++)
        b->nomem |= !(*d[i] = strdup(s[i] ? s[i] : ""));
    p->bytes = c[5].i, p->import_session = c[6].type == STORE_INT ? c[6].i : 0;
    return b->nomem;
}

static void batch_clear(batch *b)
{
    for (int i = 0; i < b->n; i++)
        free(b->v[i].project), free(b->v[i].subject), free(b->v[i].session), free(b->v[i].sop), free(b->v[i].path);
    b->n = 0;
}

/* The next rows after the key (project, session, sop) of the last one read. */
static dqr_status next_batch(gw *g, int limit, const pending *after, batch *b, dqr_error *err)
{
    const char *sql =
        "SELECT project, subject, session, sop_uid, path, bytes, import_session FROM archive_instances "
        "WHERE study_uid IS NULL AND (project > ? OR (project = ? AND (session > ? OR (session = ? AND sop_uid > ?)))) "
        "ORDER BY project, session, sop_uid LIMIT ?";
    store_val args[6] = {STORE_S(after->project), STORE_S(after->project), STORE_S(after->session),
                         STORE_S(after->session), STORE_S(after->sop), STORE_I(limit)};
    dqr_status st = store_exec(g->db, sql, args, 6, take_pending, b, NULL, err);
    if (!st && b->nomem)
        st = dqr_error_set(err, DQR_E_NOMEM, "out of memory");
    return st;
}

/* Index one row's file again; false when it cannot be (left as it is). */
static bool index_one(gw *g, const pending *p)
{
    char path[4096], uid[80] = "";
    snprintf(path, sizeof path, "%s/%s", g->cfg.data_dir, p->path);
    dcm_file *f = dcm_file_open(path, NULL);
    if (!f)
        return false;
    dqr_error err = {0};
    bool ok = dcm_dataset_get_string(dcm_file_dataset(f), DCM_TAG(0x0020, 0x000D), uid, sizeof uid) && *uid;
    gw_archive_row w = {p->project, p->subject, p->session, p->path, p->bytes, p->import_session};
    ok = ok && gw_archive_index(g, &w, f, &err) == DQR_OK;
    dcm_file_close(f);
    return ok;
}

dqr_status gw_reindex_run(gw *g, int limit, atomic_bool *stop, gw_reindex_counts *out, dqr_error *err)
{
    if (limit < 1 || limit > BATCH)
        limit = BATCH;
    *out = (gw_reindex_counts){0};
    batch *b = calloc(1, sizeof *b);
    char *last[3] = {strdup(""), strdup(""), strdup("")};
    dqr_status st = b && last[0] && last[1] && last[2] ? DQR_OK : dqr_error_set(err, DQR_E_NOMEM, "out of memory");
    while (st == DQR_OK && !(stop && atomic_load(stop))) {
        pending after = {.project = last[0], .session = last[1], .sop = last[2]};
        if ((st = next_batch(g, limit, &after, b, err)) != DQR_OK || b->n == 0)
            break;
        for (int i = 0; i < b->n; i++)
            index_one(g, &b->v[i]) ? out->filled++ : out->unreadable++;
        pending *end = &b->v[b->n - 1];
        free(last[0]), free(last[1]), free(last[2]);
        last[0] = end->project, last[1] = end->session, last[2] = end->sop; /* the key moves on */
        end->project = end->session = end->sop = NULL;
        batch_clear(b);
    }
    if (b)
        batch_clear(b);
    free(b), free(last[0]), free(last[1]), free(last[2]);
    return st;
}

static void *reindex_loop(void *p)
{
    gw *g = p;
    gw_reindex_counts c;
    dqr_error err = {0};
    if (gw_reindex_run(g, BATCH, &g->reindex_stop, &c, &err) != DQR_OK)
        gw_log(g, "error", "reindex", "filled=%ld unreadable=%ld error=%s", c.filled, c.unreadable, err.message);
    else if (c.filled || c.unreadable)
        gw_log(g, "info", "reindex", "filled=%ld unreadable=%ld%s", c.filled, c.unreadable,
               atomic_load(&g->reindex_stop) ? " (stopped: resumes at the next start)" : "");
    return NULL;
}

dqr_status gw_reindex_start(gw *g, dqr_error *err)
{
    atomic_store(&g->reindex_stop, false);
    if (pthread_create(&g->reindex_thread, NULL, reindex_loop, g) != 0)
        return dqr_error_set(err, DQR_E_IO, "cannot start the catalog backfill thread");
    g->reindex_started = true;
    return DQR_OK;
}

void gw_reindex_stop(gw *g)
{
    if (!g->reindex_started)
        return;
    atomic_store(&g->reindex_stop, true);
    pthread_join(g->reindex_thread, NULL);
    g->reindex_started = false;
}
