/* scp.h — the archive as a Query/Retrieve SCP at dqr's own AE (scp.c), the
 * identifiers matched by the catalog (catalog_query.c). The DICOM clients that may use it are registered through
 * /api/v1/dicom-clients (api/api_dicom_clients.c). */
#ifndef DQR_GATEWAY_ARCHIVE_SCP_H
#define DQR_GATEWAY_ARCHIVE_SCP_H

#include "gateway/internal.h"
#include "net/net.h"

/* The receivers' gate with the Q/R SCP on: a registered PACS (the import
 * receiver, as gw_accept_peer) or a registered DICOM client. */
bool gw_scp_accept(void *ctx, const char *calling_aet, const char *addr, char *why, size_t cap);
/* net_find_cb and net_retrieve_cb of the receivers (ctx is the gw). */
uint16_t gw_scp_find(void *ctx, const net_qr_request *q, net_emit_fn emit, void *emit_ctx);
uint16_t gw_scp_retrieve(void *ctx, const net_qr_request *q, net_retrieve *out);

#endif
