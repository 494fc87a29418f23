/* runtime.c — each PACS's transfer state in memory (rebuilt at start):
 * when it may next be used, and the associations its running transfers
 * hold, so that all of a PACS's sessions together stay within its
 * window's threads. */
#include "gateway/pacs/runtime.h"
#include "gateway/pacs/tz.h"

gw_pacs_rt *gw_pacs_runtime(gw *g, int64_t pacs)
{
    for (int i = 0; i < g->nrt; i++)
        if (g->rt[i].id == pacs)
            return &g->rt[i];
    if (g->nrt == (int)(sizeof g->rt / sizeof g->rt[0]))
        return NULL;
    g->rt[g->nrt] = (gw_pacs_rt){.id = pacs};
    return &g->rt[g->nrt++];
}

int gw_pacs_slots_take(gw *g, int64_t pacs, int want, int limit)
{
    pthread_mutex_lock(&g->jobs_lock);
    gw_pacs_rt *rt = gw_pacs_runtime(g, pacs);
    int n = rt ? (limit - rt->assocs < want ? limit - rt->assocs : want) : 0;
    if (n > 0)
        rt->assocs += n;
    pthread_mutex_unlock(&g->jobs_lock);
    return n > 0 ? n : 0;
}

void gw_pacs_slots_give(gw *g, int64_t pacs, int n)
{
    pthread_mutex_lock(&g->jobs_lock);
    gw_pacs_rt *rt = gw_pacs_runtime(g, pacs);
    if (rt)
        rt->assocs -= n;
    pthread_mutex_unlock(&g->jobs_lock);
}

bool gw_pacs_window(gw *g, int64_t pacs, time_t now, gw_schedule *s, int *wd, int *minute,
                    const gw_interval **open)
{
    *open = NULL;
    json_t *row = gw_row(g, "SELECT timezone, schedule FROM pacs WHERE id = ?", (store_val[]){STORE_I(pacs)}, 1, NULL);
    if (!row)
        return false;
    gw_schedule_stored(json_string_value(json_object_get(row, "schedule")),
                       json_string_value(json_object_get(row, "timezone")), s);
    json_decref(row);
    if (!gw_tz_local(s->timezone, now, wd, minute))
        return false;
    *open = gw_schedule_at(s, *wd, *minute);
    return true;
}
