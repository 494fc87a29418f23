/* transfer.h — moving one claimed session from its PACS (transfer.c):
 * C-MOVE to dqr's receiver, C-GET, or WADO-RS. */
#ifndef DQR_GW_TRANSFER_H
#define DQR_GW_TRANSFER_H

#include "gateway/internal.h"

/* Run one claimed session to its end state, with at most threads
 * associations to its PACS at once (the window's, shared with the PACS's
 * other sessions: gw_pacs_slots); *ms gets the transfer time. */
void gw_job_run(gw *g, int64_t id, int threads, long *ms);

/* Every archive file written reaches the disk (syncfs of the archive's
 * file system): before a session, or a STOW-RS request, says done. A sync
 * that fails (EIO) fails the transfer, which then runs again. */
dqr_status gw_sync_archive(gw *g, dqr_error *err);

#endif
