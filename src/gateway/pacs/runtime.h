/* runtime.h — each PACS's transfer state in memory (runtime.c). */
#ifndef DQR_GW_RUNTIME_H
#define DQR_GW_RUNTIME_H

#include "gateway/internal.h"
#include "gateway/pacs/schedule.h"

/* The state of PACS pacs (created on first use), or NULL when the table is
 * full. Caller holds g->jobs_lock. */
gw_pacs_rt *gw_pacs_runtime(gw *g, int64_t pacs);

/* Up to want more associations to PACS pacs for a running transfer, as
 * long as its transfers hold fewer than limit in all; returns how many it
 * may open. Give them back when closed. Thread-safe (g->jobs_lock). */
int gw_pacs_slots_take(gw *g, int64_t pacs, int want, int limit);
void gw_pacs_slots_give(gw *g, int64_t pacs, int n);

/* The window of PACS pacs at now: its stored schedule into s, the weekday
 * (0 = Monday) and minute of now in its time zone, and in *open the
 * interval open then (NULL outside every interval). false, *open NULL: no
 * such PACS, or a time zone this machine does not know. */
bool gw_pacs_window(gw *g, int64_t pacs, time_t now, gw_schedule *s, int *wd, int *minute,
                    const gw_interval **open);

#endif
