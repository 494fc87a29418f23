/* peers.h — who may send to the receivers (peers.c). */
#ifndef DQR_GW_PEERS_H
#define DQR_GW_PEERS_H

#include "gateway/internal.h"

/* ---- registered peers (peers.c) ---- */
gw_peers *gw_peers_new(void);
void gw_peers_free(gw_peers *p);
/* The ids of the registered DIMSE PACS whose `aet` is calling_aet and, with
 * receiver_check_address, whose host resolves to addr (IPv4 text): up to
 * max of them into ids; returns how many. *aet_known tells whether some
 * PACS has that AE title at all (may be NULL). The registry is read from
 * the catalog at most once a second, host names resolved at most once a
 * minute. Thread-safe. */
size_t gw_peers_match(gw *g, const char *calling_aet, const char *addr, int64_t *ids, size_t max, bool *aet_known);
/* Whether a refusal of who ("AE@ADDR") is to be logged and audited now:
 * once a minute per who (of the last 64), so that a peer retrying cannot
 * flood the log or the audit table; metrics count every refusal. */
bool gw_peers_report_due(gw *g, const char *who);
/* "AE@ADDR" for logs and the audit: the AE title escaped as one token. */
const char *gw_peer_text(const char *calling_aet, const char *addr, char *buf, size_t cap);

#endif
