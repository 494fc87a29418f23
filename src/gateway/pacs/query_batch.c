/* query_batch.c — many queries to one PACS at once (the CSV import's rows):
 * over as many associations as the PACS's window allows now, taken from the
 * budget its imports share (runtime.c), each association asking query after
 * query instead of one association per query. Each query's answer lands in
 * its own slot, so the caller reads them in its own order. */
#include "gateway/pacs/query.h"
#include "gateway/pacs/runtime.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

typedef struct batch {
    gw *g;
    int64_t user;
    const gw_pacs *p;
    const char *level;
    gw_query_job *jobs;
    size_t n, max;
    atomic_size_t next;
    atomic_bool down; /* a connection failed: the PACS is not answering, the rest fail with the same reason */
    pthread_mutex_t mu;
    dqr_error why;
} batch;

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

/* One association taking the next job until none is left. */
static void *lane(void *arg)
{
    batch *b = arg;
    net_assoc *a = NULL;
    for (size_t k; (k = atomic_fetch_add(&b->next, 1)) < b->n;)
        ask(b, &b->jobs[k], &a);
    if (a)
        net_release(a, NULL);
    net_assoc_free(a);
    return NULL;
}

void gw_query_batch(gw *g, int64_t user, const gw_pacs *p, const char *level, gw_query_job *jobs, size_t n,
                    size_t max)
{
    batch b = {.g = g, .user = user, .p = p, .level = level, .jobs = jobs, .n = n, .max = max};
    atomic_init(&b.next, 0);
    atomic_init(&b.down, false);
    pthread_mutex_init(&b.mu, NULL);
    int threads = window_threads(g, p);
    int want = (int)(n < (size_t)threads ? n : (size_t)threads);
    /* the slots its imports hold count too; with none free, one association as a single search would */
    int slots = want > 0 ? gw_pacs_slots_take(g, p->id, want, threads) : 0;
    int lanes = slots > 0 ? slots : 1;
    pthread_t t[64];
    int started = 0;
    for (int i = 1; i < lanes && i < 64; i++)
        started += pthread_create(&t[started], NULL, lane, &b) == 0;
    lane(&b);
    for (int i = 0; i < started; i++)
        pthread_join(t[i], NULL);
    if (slots)
        gw_pacs_slots_give(g, p->id, slots);
    pthread_mutex_destroy(&b.mu);
}
