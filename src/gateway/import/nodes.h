/* nodes.h — several `dqr serve` nodes on one catalog: each names itself,
 * says it is alive on every scheduler tick, and marks the sessions it
 * claims, so that a node starting again requeues only its own interrupted
 * sessions (and those of nodes gone silent), never another live node's,
 * and so that a PACS's window counts the transfers every node runs. */
#ifndef DQR_GW_NODES_H
#define DQR_GW_NODES_H

#include "gateway/internal.h"

/* A node silent this long is gone: its running sessions are queued again. */
int gw_node_dead_after(const gw *g);

/* This node's name into g->node: host name, HTTP and DICOM ports (the pid
 * too when a port is chosen by the system, so that two such nodes differ). */
void gw_node_name(gw *g);

/* This node is alive at now (nodes table). */
void gw_node_beat(gw *g, time_t now);

/* Whether another node was alive within gw_node_dead_after of now. */
bool gw_node_others_alive(gw *g, time_t now);

/* Queue again the running PACS sessions of nodes gone silent, and at start
 * also this node's own (and those no node claimed: from before nodes were
 * named); fail the STOW-RS sessions among them (their client saw the
 * request fail). Returns how many were requeued. */
int64_t gw_node_requeue(gw *g, time_t now, bool at_start);

/* Records in the catalog that a session holds n more associations (in
 * the transaction of gw_node_slots_take); not DQR_OK: it does not. */
typedef dqr_status (*gw_slots_record_fn)(void *ctx, int n, store *s, dqr_error *err);

/* Up to want of PACS pacs's associations for this node, within limit for
 * all live nodes on the catalog together (what their running sessions
 * hold: import_sessions.slots), and record(ctx, n) in the same
 * transaction. On a shared catalog the PACS's row is locked first, so
 * nodes take one after another and each sees what the others recorded.
 * Returns how many are taken: 0 when none was free (record not called),
 * or when record or the commit failed (given back). Give them back with
 * gw_pacs_slots_give. */
int gw_node_slots_take(gw *g, int64_t pacs, int want, int limit, gw_slots_record_fn record, void *ctx);

/* More associations for running session `session` of pacs (its series in
 * parallel): gw_node_slots_take and the session's slots in one
 * transaction; how many it may open. gw_node_slots_return gives n back. */
int gw_node_slots_add(gw *g, int64_t pacs, int64_t session, int want, int limit);
void gw_node_slots_return(gw *g, int64_t pacs, int64_t session, int n);

#endif
