/* routes.h — the REST endpoints: one route table per api_*.c file, the
 * router (router.c) and what the service calls at stop and on its timer. */
#ifndef DQR_GW_ROUTES_H
#define DQR_GW_ROUTES_H

#include "gateway/internal.h"

/* ---- routes ---- */

/* Route tables, one per file (api_*.c), each ended by a {NULL} entry. */
extern const gw_route gw_routes_auth[], gw_routes_users[], gw_routes_pacs[], gw_routes_projects[],
    gw_routes_query[], gw_routes_ops[], gw_routes_imports[], gw_routes_archive[], gw_routes_send[],
    gw_routes_dryrun[], gw_routes_ui[];
extern const gw_route gw_routes_audit[]; /* GET /api/v1/audit (api_audit.c) */
extern const gw_route gw_routes_quarantine[]; /* GET /api/v1/quarantine (api/api_quarantine.c) */
extern const gw_route gw_routes_registry[]; /* date shift, re-identification (api/api_registry.c) */
extern const gw_route gw_routes_dicomweb[]; /* /dicom-web (archive/dicomweb.c) */
extern const gw_route gw_routes_dicom_clients[]; /* /api/v1/dicom-clients (api/api_dicom_clients.c) */
/* Free the finished sends' records (at stop). */
void gw_sends_free(gw *g);

/* The HTTP handler (router.c). */
void gw_dispatch(void *ctx, http_request *http);

/* ---- retention (api_query.c) ---- */
/* Delete query history, and finished import sessions (with their sealed
 * identifiers) and their emptied requests, older than
 * history_retention_days. Run by every node on a timer (service.c). */
void gw_history_purge(gw *g);

#endif
