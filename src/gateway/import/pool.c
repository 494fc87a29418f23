/* pool.c — the instance workers. The receiver answers a C-STORE as soon as
 * the instance is held in memory and hands it here; a few threads run the
 * pipeline (de-identify, verify, write, index) in parallel, so the PACS's
 * sending speed stays the limit. Memory is bounded: when the instances
 * waiting exceed POOL_MAX_BYTES, the receiver waits before answering, which
 * slows the sender down. A session ends only when all its instances are
 * through (gw_pool_drain); a crash before that leaves the session running,
 * and it is imported again at the next start. */
#include "gateway/import/pool.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define POOL_MAX_BYTES ((size_t)256 << 20)

typedef struct gw_work {
    gw_job *job;
    uint8_t *data;
    size_t len;
    struct gw_work *next;
} gw_work;

struct gw_pool {
    pthread_mutex_t lock;
    pthread_cond_t ready, space;
    gw_work *head, *tail;
    size_t bytes;
    bool stop;
    int nthreads;
    pthread_t threads[16];
    gw *g;
    gw_pool_fn fn; /* the pipeline: the pool knows nothing of its steps */
};

static void *work(void *p)
{
    gw_pool *pool = p;
    for (;;) {
        pthread_mutex_lock(&pool->lock);
        while (!pool->head && !pool->stop)
            pthread_cond_wait(&pool->ready, &pool->lock);
        gw_work *w = pool->head;
        if (!w) { /* stopping and drained */
            pthread_mutex_unlock(&pool->lock);
            return NULL;
        }
        pool->head = w->next;
        if (!pool->head)
            pool->tail = NULL;
        pool->bytes -= w->len;
        pthread_cond_broadcast(&pool->space);
        pthread_mutex_unlock(&pool->lock);
        pool->fn(pool->g, w->job, w->data, w->len);
        gw *g = pool->g;
        pthread_mutex_lock(&g->jobs_lock);
        w->job->pending--;
        pthread_cond_broadcast(&g->idle);
        pthread_mutex_unlock(&g->jobs_lock);
        free(w->data);
        free(w);
    }
}

gw_pool *gw_pool_start(gw *g, int threads, gw_pool_fn fn, dqr_error *err)
{
    gw_pool *pool = calloc(1, sizeof *pool);
    if (!pool) {
        dqr_error_set(err, DQR_E_NOMEM, "out of memory");
        return NULL;
    }
    if (threads <= 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        threads = cpus > 0 ? (int)cpus : 2;
    }
    if (threads > 16)
        threads = 16;
    pool->g = g;
    pool->fn = fn;
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->ready, NULL);
    pthread_cond_init(&pool->space, NULL);
    for (int i = 0; i < threads; i++) {
        if (pthread_create(&pool->threads[i], NULL, work, pool) != 0)
            break;
        pool->nthreads++;
    }
    if (!pool->nthreads) {
        gw_pool_stop(pool);
        dqr_error_set(err, DQR_E_IO, "cannot start the instance workers");
        return NULL;
    }
    return pool;
}

void gw_pool_stop(gw_pool *pool)
{
    if (!pool)
        return;
    pthread_mutex_lock(&pool->lock);
    pool->stop = true;
    pthread_cond_broadcast(&pool->ready);
    pthread_mutex_unlock(&pool->lock);
    for (int i = 0; i < pool->nthreads; i++)
        pthread_join(pool->threads[i], NULL);
    pthread_mutex_destroy(&pool->lock);
    pthread_cond_destroy(&pool->ready);
    pthread_cond_destroy(&pool->space);
    free(pool);
}

bool gw_pool_submit(gw_pool *pool, gw_job *j, const uint8_t *data, size_t len)
{
    gw_work *w = malloc(sizeof *w);
    uint8_t *copy = w ? malloc(len ? len : 1) : NULL;
    if (!copy) {
        free(w);
        return false;
    }
    memcpy(copy, data, len);
    *w = (gw_work){j, copy, len, NULL};
    gw *g = pool->g;
    pthread_mutex_lock(&g->jobs_lock);
    j->pending++;
    pthread_mutex_unlock(&g->jobs_lock);
    pthread_mutex_lock(&pool->lock);
    while (pool->bytes > 0 && pool->bytes + len > POOL_MAX_BYTES)
        pthread_cond_wait(&pool->space, &pool->lock);
    if (pool->tail)
        pool->tail->next = w;
    else
        pool->head = w;
    pool->tail = w;
    pool->bytes += len;
    pthread_cond_signal(&pool->ready);
    pthread_mutex_unlock(&pool->lock);
    return true;
}
