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

/* Sessions of pacs that other live nodes are running: each holds at least
 * one of the PACS's associations. */
int64_t gw_node_running_elsewhere(gw *g, int64_t pacs, time_t now);

#endif
