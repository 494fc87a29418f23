/* pool.h — the instance workers (pool.c): the receiver answers on receipt,
 * a few threads run the per-instance pipeline in parallel. */
#ifndef DQR_GW_POOL_H
#define DQR_GW_POOL_H

#include "gateway/import/job.h"

/* What a worker runs for each queued instance (gw_job_instance). */
typedef uint16_t (*gw_pool_fn)(gw *g, gw_job *j, const uint8_t *data, size_t len);

gw_pool *gw_pool_start(gw *g, int threads, gw_pool_fn fn, dqr_error *err);
/* Drains what is queued, then stops the threads. */
void gw_pool_stop(gw_pool *pool);
/* Queue a copy of the instance for j; false when out of memory. */
bool gw_pool_submit(gw_pool *pool, gw_job *j, const uint8_t *data, size_t len);

#endif
