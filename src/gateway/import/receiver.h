/* receiver.h — what reaches dqr's storage SCP (receiver.c): routed to the
 * import it belongs to and run through the per-instance steps in XNAT's
 * order: update-request, object-identifier, remap, site script, project
 * script, verify, archive. */
#ifndef DQR_GW_RECEIVER_H
#define DQR_GW_RECEIVER_H

#include "gateway/import/job.h"

struct net_received;

/* The per-instance pipeline for a Part 10 stream in memory: returns the
 * C-STORE status to answer. */
uint16_t gw_job_instance(gw *g, gw_job *j, const uint8_t *data, size_t len);

/* The storage SCP callback: route to a job, else refuse or quarantine. */
uint16_t gw_receive(void *ctx, const struct net_received *r);
/* The receivers' accept callback (net_accept_fn): registered PACS only;
 * a refusal is logged and audited. */
bool gw_accept_peer(void *ctx, const char *calling_aet, const char *addr, char *why, size_t cap);
/* Forget foreign jobs whose session is over or idle (scheduler tick), or
 * all of them (at stop). */
void gw_foreign_sweep(gw *g, bool all);

#endif
