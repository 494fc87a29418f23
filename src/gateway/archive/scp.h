/* scp.h — the archive as a Query/Retrieve SCP at dqr's own AE (scp.c), the
 * matching of identifiers against the de-identified archive
 * (scp_match.c). The DICOM clients that may use it are registered through
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

/* ---- scp_match.c ---- */

/* Does the value of tag in have match the key k (PS3.4 C.2.2.2: universal,
 * single value, wildcard, UID list, range for DA/TM/DT)? Keys of the
 * identifier that are not in have match only when universal. */
bool gw_scp_key_matches(const dcm_element *k, const dcm_dataset *have);
/* Do all keys of identifier (Query/Retrieve Level and Specific Character
 * Set aside; sequences match universally) match have? */
bool gw_scp_matches(const dcm_dataset *identifier, const dcm_dataset *have);
/* The response to identifier from have: each key with have's value (empty
 * when have has none), the level, and have's character set. NULL when out
 * of memory. */
dcm_dataset *gw_scp_response(const dcm_dataset *identifier, const dcm_dataset *have);

#endif
