/* query_batch.c — many queries to one PACS at once (the CSV import's rows):
 * over as many associations as the PACS's window allows now, taken from the
 * budget its imports share (runtime.c), each association asking query after
 * query instead of one association per query. On a DIMSE PACS, exact
 * searches of the same keys are first asked as value lists, a hundred at a
 * time (query_lists.c), and only those the lists leave unanswered alone.
 * Each query's answer lands in its own slot, so the caller reads them in
 * its own order. */
#include "gateway/pacs/query.h"
#include "gateway/pacs/query_lists.h"
#include "gateway/pacs/runtime.h"

#include <pthread.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>

enum { MAX_LANES = 64 };

typedef struct batch {
    gw *g;
    int64_t user;
    const gw_pacs *p;
    const char *level;
    gw_query_job **todo; /* this round's queries */
    size_t n, max;
    atomic_size_t next;
    atomic_bool down; /* a connection failed: the PACS is not answering, the rest fail with the same reason */
    pthread_mutex_t mu;
    dqr_error why;
    net_assoc *assoc[MAX_LANES]; /* each lane's, kept from one round to the next */
} batch;

typedef struct lane_arg {
    batch *b;
    int i;
} lane_arg;

/* The threads of the PACS's window now; 1 outside every window (a search
 * is still allowed then, one association at a time). */
static int window_threads(gw *g, const gw_pacs *p)
{
    gw_schedule s;
    int wd = 0, minute = 0;
    const gw_interval *iv;
    gw_pacs_window(g, p->id, time(NULL), &s, &wd, &minute, &iv);
    return iv ? iv->threads : 1;
}

/* One job on a (opened on first use, closed when it failed). */
static void ask(batch *b, gw_query_job *job, net_assoc **a)
{
    double t0 = gw_clock_ms();
    if (strcmp(b->p->protocol, "dicomweb") == 0) {
        job->status = gw_query_run(b->g, b->p, b->level, job->keys, b->max, &job->result, &job->err);
    } else if (!*a && atomic_load(&b->down)) {
        pthread_mutex_lock(&b->mu);
        job->err = b->why;
        pthread_mutex_unlock(&b->mu);
        job->status = job->err.code;
    } else if (!*a && !(*a = gw_query_connect(b->g, b->p, b->level, &job->err))) {
        job->status = job->err.code;
        pthread_mutex_lock(&b->mu);
        b->why = job->err;
        pthread_mutex_unlock(&b->mu);
        atomic_store(&b->down, true);
    } else {
        job->status = gw_query_on(*a, b->p, b->level, job->keys, b->max, &job->result, &job->err);
        if (job->result.lost)
            net_assoc_free(*a), *a = NULL;
    }
    job->ms = (long)(gw_clock_ms() - t0);
    gw_query_record(b->g, b->user, b->p, b->level, job->keys, job->status == DQR_OK ? &job->result : NULL, job->ms,
                    job->status == DQR_OK ? NULL : &job->err);
}

/* One association (the lane's, opened on first use) taking the next job
 * until none is left. */
static void *lane(void *arg)
{
    lane_arg *l = arg;
    batch *b = l->b;
    for (size_t k; (k = atomic_fetch_add(&b->next, 1)) < b->n;)
        ask(b, b->todo[k], &b->assoc[l->i]);
    return NULL;
}

/* One round: the n queries of todo over at most lanes associations. */
static void run(batch *b, gw_query_job **todo, size_t n, size_t max, int lanes)
{
    b->todo = todo, b->n = n, b->max = max;
    atomic_store(&b->next, 0);
    pthread_t t[MAX_LANES];
    lane_arg args[MAX_LANES];
    int started = 0;
    for (int i = 0; i < lanes && (size_t)i < n && i < MAX_LANES; i++)
        args[i] = (lane_arg){b, i};
    for (int i = 1; i < lanes && (size_t)i < n && i < MAX_LANES; i++)
        started += pthread_create(&t[started], NULL, lane, &args[i]) == 0;
    lane(&args[0]);
    for (int i = 0; i < started; i++)
        pthread_join(t[i], NULL);
}

static void release_lanes(batch *b)
{
    for (int i = 0; i < MAX_LANES; i++) {
        if (b->assoc[i])
            net_release(b->assoc[i], NULL);
        net_assoc_free(b->assoc[i]);
    }
}

/* The value lists first (DIMSE only: QIDO-RS lists only UIDs), then each
 * query no list answered. */
static void rounds(batch *b, gw_query_job *jobs, size_t n, size_t max, int lanes)
{
    size_t nl = 0;
    gw_query_list *lists = strcmp(b->p->protocol, "dicomweb") == 0 ? NULL : gw_query_lists(jobs, n, &nl);
    gw_query_job **todo = calloc(n + nl + 1, sizeof *todo);
    if (!todo) {
        for (size_t i = 0; i < n; i++)
            jobs[i].status = dqr_error_set(&jobs[i].err, DQR_E_NOMEM, "out of memory");
        gw_query_lists_free(lists, nl);
        return;
    }
    for (size_t i = 0; i < nl; i++)
        todo[i] = &lists[i].job;
    if (nl)
        run(b, todo, nl, GW_QUERY_LIST_ANSWERS, lanes);
    for (size_t i = 0; i < nl; i++)
        gw_query_lists_share(&lists[i], jobs, max);
    gw_query_lists_free(lists, nl);
    size_t left = 0;
    for (size_t i = 0; i < n; i++)
        if (!jobs[i].result.results && jobs[i].status == DQR_OK)
            todo[left++] = &jobs[i];
    if (left)
        run(b, todo, left, max, lanes);
    free(todo);
}

void gw_query_batch(gw *g, int64_t user, const gw_pacs *p, const char *level, gw_query_job *jobs, size_t n,
                    size_t max)
{
    batch b = {.g = g, .user = user, .p = p, .level = level};
    atomic_init(&b.next, 0);
    atomic_init(&b.down, false);
    pthread_mutex_init(&b.mu, NULL);
    int threads = window_threads(g, p);
    int want = (int)(n < (size_t)threads ? n : (size_t)threads);
    /* the slots its imports hold count too; with none free, one association as a single search would */
    int slots = want > 0 ? gw_pacs_slots_take(g, p->id, want, threads) : 0;
    rounds(&b, jobs, n, max, slots > 0 ? slots : 1);
    release_lanes(&b);
    if (slots)
        gw_pacs_slots_give(g, p->id, slots);
    pthread_mutex_destroy(&b.mu);
}
