/* runtime.h — each PACS's transfer state in memory (runtime.c). */
#ifndef DQR_GW_RUNTIME_H
#define DQR_GW_RUNTIME_H

#include "gateway/internal.h"

/* The state of PACS pacs (created on first use), or NULL when the table is
 * full. Caller holds g->jobs_lock. */
gw_pacs_rt *gw_pacs_runtime(gw *g, int64_t pacs);

/* Up to want more associations to PACS pacs for a running transfer, as
 * long as its transfers hold fewer than limit in all; returns how many it
 * may open. Give them back when closed. Thread-safe (g->jobs_lock). */
int gw_pacs_slots_take(gw *g, int64_t pacs, int want, int limit);
void gw_pacs_slots_give(gw *g, int64_t pacs, int n);

#endif
