/* scheduler.h — the import queue's life (scheduler.c). */
#ifndef DQR_GW_SCHEDULER_H
#define DQR_GW_SCHEDULER_H

#include "gateway/internal.h"

/* Start the instance workers, the receiver(s) and the scheduler; requeue
 * what a crash left running. Stop cancels running transfers (they resume at
 * the next start). */
dqr_status gw_import_start(gw *g, dqr_error *err);
void gw_import_stop(gw *g);
/* Wake the scheduler now (a request was queued, cancelled or retried). */
void gw_import_wake(gw *g);
/* Ask the running transfer of session id (if any) to stop: cancelled. */
void gw_import_cancel(gw *g, int64_t session_id);

#endif
