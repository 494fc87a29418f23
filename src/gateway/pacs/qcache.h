/* qcache.h — query results kept in memory for paging (qcache.c). */
#ifndef DQR_GW_QCACHE_H
#define DQR_GW_QCACHE_H

#include "gateway/internal.h"

/* ---- query result cache (qcache.c) ---- */
gw_qcache *gw_qcache_new(void);
void gw_qcache_free(gw_qcache *c);
/* Keep results (takes the reference) for user; id gets the cache key. */
void gw_qcache_put(gw_qcache *c, int64_t user, json_t *results, json_t *meta, char id[33]);
/* New references to the results and meta of id if user owns it, else false. */
bool gw_qcache_get(gw_qcache *c, const char *id, int64_t user, json_t **results, json_t **meta);

#endif
