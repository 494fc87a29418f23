/* scheduler.c — the queue's clock: every import_poll_seconds (or when woken)
 * it looks at each PACS with waiting sessions, checks its availability
 * window in the PACS's time zone, and starts transfers up to the window's
 * `threads`, single-session requests before bulk ones, oldest first. After
 * a transfer that took t, the PACS rests t * (100 - utilization) /
 * utilization before its next one. gw_import_start starts the instance
 * workers, the receivers (listeners.c) and this clock. */
#include "dicom/fs.h"
#include "gateway/import/scheduler.h"
#include "gateway/pacs/runtime.h"
#include "gateway/import/job.h"
#include "gateway/import/listeners.h"
#include "gateway/import/nodes.h"
#include "gateway/import/pool.h"
#include "gateway/import/receiver.h"
#include "gateway/import/transfer.h"
#include "gateway/pacs/schedule.h"
#include "gateway/pacs/tz.h"
#include "gateway/accounts/accounts.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* When the next interval opens, as ISO UTC text ("" if never). */
static void next_window(const gw_schedule *s, time_t now, int wd, int minute, char out[32])
{
    *out = '\0';
    for (int d = 0; d <= 7; d++) {
        int day = (wd + d) % 7;
        for (int k = 0; k < s->n[day]; k++) {
            int start = s->day[day][k].start;
            if (d == 0 && start <= minute)
                continue;
            /* from the start of this minute: an opening is on a minute, and
             * the same opening must give the same text on every pass (the
             * waiting sessions are written only when it changes) */
            gw_iso_time(now - now % 60 + ((int64_t)d * 1440 + start - minute) * 60, out);
            return;
        }
    }
}

typedef struct worker_arg {
    gw *g;
    int64_t id, pacs;
    int utilization, threads;
} worker_arg;

static void *worker(void *p)
{
    worker_arg *a = p;
    gw *g = a->g;
    long ms = 0;
    gw_job_run(g, a->id, a->threads, &ms);
    pthread_mutex_lock(&g->jobs_lock);
    gw_pacs_rt *rt = gw_pacs_runtime(g, a->pacs);
    if (rt) {
        rt->running--;
        rt->assocs--; /* the one each transfer holds from its start */
        if (a->utilization < 100) /* rest so the PACS spends only `utilization` % of its time on dqr */
            rt->busy_until = time(NULL) + (ms * (100 - a->utilization) / a->utilization + 999) / 1000;
    }
    g->nworkers--;
    pthread_cond_broadcast(&g->idle);
    pthread_cond_signal(&g->wake);
    pthread_mutex_unlock(&g->jobs_lock);
    free(a);
    return NULL;
}

typedef struct claim_arg {
    gw *g;
    int64_t pacs, id;
    time_t now;
} claim_arg;

/* The next queued session of the PACS (single before bulk, then FIFO),
 * running with the association just taken for it. */
static dqr_status claim_next(void *ctx, int n, store *s, dqr_error *err)
{
    (void)n;
    claim_arg *c = ctx;
    int64_t id = 0, changed = 0;
    dqr_status st = store_int(s,
                              "SELECT id FROM import_sessions WHERE pacs_id = ? AND state = 'queued' AND next_try <= ? "
                              "ORDER BY bulk, id LIMIT 1",
                              (store_val[]){STORE_I(c->pacs), STORE_I(c->now)}, 2, &id, err);
    if (st == DQR_OK)
        st = store_exec(s,
                        "UPDATE import_sessions SET state = 'running', node = ?, started = ?, updated = ?, "
                        "attempts = attempts + 1, next_window = NULL, received = 0, archived = 0, rejected = 0, "
                        "failed = 0, warned = 0, bytes = 0, frames_checked = 0, frames_masked = 0, frames_refused = 0, "
                        "slots = 1 WHERE id = ? AND state = 'queued'",
                        (store_val[]){STORE_S(c->g->node), STORE_I(c->now), STORE_I(c->now), STORE_I(id)}, 4, NULL,
                        NULL, &changed, err);
    if (st == DQR_OK && changed != 1)
        st = dqr_error_set(err, DQR_E_CONFLICT, "session %lld is no longer queued", (long long)id);
    c->id = st == DQR_OK ? id : 0;
    return st;
}

/* The session claimed, holding one association of the PACS (the worker
 * gives it back), or 0. */
static int64_t claim(gw *g, int64_t pacs, time_t now, int threads)
{
    claim_arg c = {g, pacs, 0, now};
    return gw_node_slots_take(g, pacs, 1, threads, claim_next, &c) ? c.id : 0;
}

/* Why the owner of claimed session id may no longer have it run (into
 * why[200]): disabled or removed, or no longer granted its PACS or project
 * (grants are checked at request time, but may be taken away while it
 * waits). False when it may run. */
static bool owner_refused(gw *g, int64_t id, int64_t *owner, char *why, size_t len)
{
    json_t *row = gw_row(g,
                         "SELECT u.id AS uid, u.username, u.disabled, u.role, "
                         "(SELECT COUNT(*) FROM grants WHERE user_id = u.id AND kind = 'pacs' "
                         "AND target = CAST(s.pacs_id AS TEXT)) AS pacs_ok, "
                         "(SELECT COUNT(*) FROM grants WHERE user_id = u.id AND kind = 'project' "
                         "AND target = s.project) AS project_ok, s.pacs_id, s.project "
                         "FROM import_sessions s JOIN import_requests r ON r.id = s.request_id "
                         "LEFT JOIN users u ON u.id = r.user_id WHERE s.id = ?",
                         (store_val[]){STORE_I(id)}, 1, NULL);
    if (!row)
        return false; /* the catalog did not answer: the transfer's own checks decide */
    const char *role = json_string_value(json_object_get(row, "role"));
    *owner = json_integer_value(json_object_get(row, "uid"));
    bool admin = role && strcmp(role, "admin") == 0;
    *why = '\0';
    if (!json_integer_value(json_object_get(row, "uid")))
        snprintf(why, len, "the user who asked for this import no longer exists");
    else if (json_is_true(json_object_get(row, "disabled"))) /* gw_row makes it a boolean */
        snprintf(why, len, "user %s is disabled: their imports do not run", json_string_value(json_object_get(row, "username")));
    else if (!admin && !json_integer_value(json_object_get(row, "pacs_ok")))
        snprintf(why, len, "user %s may no longer use PACS %lld", json_string_value(json_object_get(row, "username")),
                 (long long)json_integer_value(json_object_get(row, "pacs_id")));
    else if (!admin && !json_integer_value(json_object_get(row, "project_ok")))
        snprintf(why, len, "user %s may no longer import into project %s",
                 json_string_value(json_object_get(row, "username")), json_string_value(json_object_get(row, "project")));
    json_decref(row);
    return *why != '\0';
}

/* End claimed session id of owner as failed, for why (audited). */
static void refuse(gw *g, int64_t id, int64_t owner, const char *why)
{
    char target[32];
    snprintf(target, sizeof target, "%lld", (long long)id);
    gw_audit(g, owner, "import_refused_owner", target);
    int64_t now = time(NULL);
    store_exec(g->db, "UPDATE import_sessions SET state = 'failed', finished = ?, updated = ?, error = ? WHERE id = ?",
               (store_val[]){STORE_I(now), STORE_I(now), STORE_S(why), STORE_I(id)}, 4, NULL, NULL, NULL, NULL);
    gw_log(g, "warn", "import_refused", "session=%lld reason=owner_not_allowed", (long long)id);
}

static void start_worker(gw *g, int64_t id, int64_t pacs, int utilization, int threads)
{
    worker_arg *a = malloc(sizeof *a);
    pthread_t t;
    if (!a)
        return;
    *a = (worker_arg){g, id, pacs, utilization, threads};
    pthread_mutex_lock(&g->jobs_lock);
    gw_pacs_rt *rt = gw_pacs_runtime(g, pacs);
    if (rt)
        rt->running++; /* its association was taken by the claim */
    g->nworkers++;
    pthread_mutex_unlock(&g->jobs_lock);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, worker, a) != 0) {
        free(a);
        pthread_mutex_lock(&g->jobs_lock);
        if (rt)
            rt->running--, rt->assocs--;
        g->nworkers--;
        pthread_mutex_unlock(&g->jobs_lock);
        store_exec(g->db, "UPDATE import_sessions SET state = 'queued' WHERE id = ?", (store_val[]){STORE_I(id)}, 1,
                   NULL, NULL, NULL, NULL);
    }
    pthread_attr_destroy(&attr);
}

static int collect_pacs(void *ctx, int n, const char *const *names, const store_val *c)
{
    (void)names;
    int64_t *list = ctx;
    if (n > 0 && list[0] < 63)
        list[++list[0]] = c[0].i;
    return 0;
}

/* Outside the window: its queued sessions wait, told when it next opens.
 * Only the rows that change are written (rewriting 10,000 waiting ones on
 * every pass took 35-120 ms, bench/scale.sh): the newly queued, and the
 * waiting ones only when the opening they were told has changed (a new
 * schedule, or this node's first pass). */
static void mark_waiting(gw *g, int64_t pacs, time_t now, const char *next)
{
    store_val v = STORE_S(*next ? next : NULL);
    store_exec(g->db,
               "UPDATE import_sessions SET state = 'waiting-window', next_window = ?, updated = ? "
               "WHERE pacs_id = ? AND state = 'queued'",
               (store_val[]){v, STORE_I(now), STORE_I(pacs)}, 3, NULL, NULL, NULL, NULL);
    pthread_mutex_lock(&g->jobs_lock);
    gw_pacs_rt *rt = gw_pacs_runtime(g, pacs);
    bool told = rt && *rt->next_window && strcmp(rt->next_window, *next ? next : "-") == 0;
    pthread_mutex_unlock(&g->jobs_lock);
    if (told)
        return;
    if (store_exec(g->db,
                   "UPDATE import_sessions SET next_window = ?, updated = ? WHERE pacs_id = ? AND "
                   "state = 'waiting-window' AND COALESCE(next_window, '') <> COALESCE(?, '')",
                   (store_val[]){v, STORE_I(now), STORE_I(pacs), v}, 4, NULL, NULL, NULL, NULL) != DQR_OK)
        return;
    pthread_mutex_lock(&g->jobs_lock);
    if ((rt = gw_pacs_runtime(g, pacs)))
        snprintf(rt->next_window, sizeof rt->next_window, "%s", *next ? next : "-");
    pthread_mutex_unlock(&g->jobs_lock);
}

/* One look at the queue of one PACS. */
static void tick_pacs(gw *g, int64_t pacs, time_t now)
{
    gw_schedule s;
    int wd = 0, minute = 0;
    const gw_interval *iv;
    if (!gw_pacs_window(g, pacs, now, &s, &wd, &minute, &iv))
        return;
    if (!iv) {
        char next[32];
        next_window(&s, now, wd, minute, next);
        mark_waiting(g, pacs, now, next);
        return;
    }
    store_exec(g->db,
               "UPDATE import_sessions SET state = 'queued', next_window = NULL, updated = ? "
               "WHERE pacs_id = ? AND state = 'waiting-window'",
               (store_val[]){STORE_I(now), STORE_I(pacs)}, 2, NULL, NULL, NULL, NULL);
    pthread_mutex_lock(&g->jobs_lock);
    gw_pacs_rt *open = gw_pacs_runtime(g, pacs);
    if (open)
        *open->next_window = '\0'; /* none waits now */
    pthread_mutex_unlock(&g->jobs_lock);
    for (;;) {
        pthread_mutex_lock(&g->jobs_lock);
        gw_pacs_rt *rt = gw_pacs_runtime(g, pacs);
        /* a session's series may take several associations: count those, not
         * sessions (the claim counts other nodes' too) */
        bool room = rt && rt->assocs < iv->threads && now >= rt->busy_until && !g->stopping;
        pthread_mutex_unlock(&g->jobs_lock);
        int64_t id = room ? claim(g, pacs, now, iv->threads) : 0;
        char why[200];
        int64_t owner = 0;
        if (!id)
            return;
        if (owner_refused(g, id, &owner, why, sizeof why)) {
            refuse(g, id, owner, why);
            gw_pacs_slots_give(g, pacs, 1);
        } else {
            start_worker(g, id, pacs, iv->utilization, iv->threads);
        }
    }
}

static void tick(gw *g)
{
    time_t now = time(NULL);
    gw_node_beat(g, now);
    int64_t back = gw_node_requeue(g, now, false);
    if (back)
        gw_log(g, "info", "requeued", "sessions=%lld (their node stopped answering)", (long long)back);
    gw_foreign_sweep(g, false);
    if (!g->cfg.import_scheduler)
        return; /* a receiver-only node: other nodes claim the queue */
    int64_t list[64] = {0};
    /* per PACS one seek in import_sessions_ready (migration 18), not a
     * DISTINCT over every waiting session */
    store_exec(g->db,
               "SELECT p.id FROM pacs p WHERE EXISTS (SELECT 1 FROM import_sessions s WHERE s.pacs_id = p.id AND "
               "s.state IN ('queued', 'waiting-window') AND s.next_try <= ?) ORDER BY p.id",
               (store_val[]){STORE_I(now)}, 1, collect_pacs, list, NULL, NULL);
    for (int64_t i = 1; i <= list[0]; i++)
        tick_pacs(g, list[i], now);
    /* retention: the purge timer of service.c, on every node */
}

/* tick, timed into the metrics (/metrics: a pass should stay in
 * milliseconds with 10,000 sessions waiting, bench/scale.sh) */
static void timed_tick(gw *g)
{
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    tick(g);
    clock_gettime(CLOCK_MONOTONIC, &b);
    long long us = (long long)(b.tv_sec - a.tv_sec) * 1000000 + (b.tv_nsec - a.tv_nsec) / 1000;
    atomic_store(&g->m.sched_tick_us, us);
    if (us > atomic_load(&g->m.sched_tick_max_us))
        atomic_store(&g->m.sched_tick_max_us, us); /* only this thread writes it */
    atomic_fetch_add(&g->m.sched_ticks, 1);
}

static void *scheduler(void *p)
{
    gw *g = p;
    pthread_mutex_lock(&g->jobs_lock);
    while (!g->stopping) {
        pthread_mutex_unlock(&g->jobs_lock);
        timed_tick(g);
        pthread_mutex_lock(&g->jobs_lock);
        if (g->stopping)
            break;
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += g->cfg.import_poll_seconds;
        pthread_cond_timedwait(&g->wake, &g->jobs_lock, &until);
    }
    pthread_mutex_unlock(&g->jobs_lock);
    return NULL;
}

/* Remove what a crash left: temporary archive files, those at least
 * min_age seconds old (another live node may be writing the newer ones). */
static void sweep(const char *dir, time_t min_age)
{
    time_t now = time(NULL);
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode))
            sweep(path, min_age);
        else if (strstr(e->d_name, ".dcm.tmp.") && now - st.st_mtime >= min_age)
            unlink(path);
    }
    closedir(d);
}

dqr_status gw_import_start(gw *g, dqr_error *err)
{
    bool created = false;
    if (anon_secret_load(g->cfg.uid_secret_file, true, g->uid_secret, &created, err) != DQR_OK)
        return err->code;
    if (created)
        gw_log(g, "info", "uid_secret", "created=%s", g->cfg.uid_secret_file);
    char path[4096];
    snprintf(path, sizeof path, "%s/archive", g->cfg.data_dir);
    dqr_make_dirs(path, 0700);
    gw_node_name(g);
    time_t now = time(NULL);
    /* alone on the catalog, every temporary file is a crash's; else only old ones */
    sweep(path, gw_node_others_alive(g, now) ? 600 : 0);
    gw_node_beat(g, now);
    /* a STOW-RS request has no PACS to retrieve from again: its client saw it fail */
    int64_t n = gw_node_requeue(g, now, true);
    if (n)
        gw_log(g, "info", "requeued", "sessions=%lld (running when dqr last stopped)", (long long)n);
    if (!(g->pool = gw_pool_start(g, g->cfg.import_workers, gw_job_instance, err)))
        return err->code;
    if (gw_listeners_start(g, err) != DQR_OK)
        return err->code;
    if (pthread_create(&g->sched_thread, NULL, scheduler, g) != 0)
        return dqr_error_set(err, DQR_E_IO, "cannot start the scheduler thread");
    g->sched_started = true;
    return DQR_OK;
}

void gw_import_wake(gw *g)
{
    pthread_mutex_lock(&g->jobs_lock);
    pthread_cond_signal(&g->wake);
    pthread_mutex_unlock(&g->jobs_lock);
}

void gw_import_cancel(gw *g, int64_t session_id)
{
    pthread_mutex_lock(&g->jobs_lock);
    for (gw_job *j = g->jobs; j; j = j->next)
        if (j->id == session_id)
            atomic_store(&j->cancel, true);
    pthread_mutex_unlock(&g->jobs_lock);
}

void gw_import_stop(gw *g)
{
    pthread_mutex_lock(&g->jobs_lock);
    g->stopping = true;
    for (gw_job *j = g->jobs; j; j = j->next)
        atomic_store(&j->cancel, false); /* stopping, not cancelling: they requeue */
    pthread_cond_broadcast(&g->wake);
    pthread_mutex_unlock(&g->jobs_lock);
    if (g->sched_started)
        pthread_join(g->sched_thread, NULL);
    pthread_mutex_lock(&g->jobs_lock); /* running transfers see `stopping` and end (C-CANCEL) */
    while (g->nworkers > 0)
        pthread_cond_wait(&g->idle, &g->jobs_lock);
    pthread_mutex_unlock(&g->jobs_lock);
    gw_foreign_sweep(g, true);
    gw_listeners_stop(g);
    gw_pool_stop(g->pool); /* after the receivers: nothing new arrives */
    g->pool = NULL;
}
