/* nodes.c — the nodes sharing a catalog (nodes.h): a heartbeat row per
 * node, each running session marked with the node that claimed it, and
 * the PACS associations all nodes' sessions hold. */
#include "gateway/import/nodes.h"
#include "gateway/pacs/runtime.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Nodes share a PostgreSQL catalog only (docs/import.md): on SQLite the
 * node is alone, and the heartbeat and the lookups for other nodes are
 * left out of every scheduler pass. */
static bool shared(const gw *g)
{
    return strcmp(store_backend(g->db), "sqlite") != 0;
}

int gw_node_dead_after(const gw *g)
{
    int t = 10 * g->cfg.import_poll_seconds;
    return t < 60 ? 60 : t;
}

void gw_node_name(gw *g)
{
    char host[64] = "localhost";
    if (gethostname(host, sizeof host - 1) != 0)
        strcpy(host, "localhost");
    host[sizeof host - 1] = '\0';
    if (g->cfg.http_port && g->cfg.dicom_port)
        snprintf(g->node, sizeof g->node, "%s:%d:%d", host, g->cfg.http_port, g->cfg.dicom_port);
    else
        snprintf(g->node, sizeof g->node, "%s:%d:%d:pid%ld", host, g->cfg.http_port, g->cfg.dicom_port,
                 (long)getpid());
}

void gw_node_beat(gw *g, time_t now)
{
    if (!shared(g))
        return;
    store_exec(g->db, "INSERT INTO nodes(name, seen) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET seen = excluded.seen",
               (store_val[]){STORE_S(g->node), STORE_I(now)}, 2, NULL, NULL, NULL, NULL);
}

bool gw_node_others_alive(gw *g, time_t now)
{
    int64_t n = 0;
    if (!shared(g))
        return false;
    store_int(g->db, "SELECT COUNT(*) FROM nodes WHERE name <> ? AND seen >= ?",
              (store_val[]){STORE_S(g->node), STORE_I(now - gw_node_dead_after(g))}, 2, &n, NULL);
    return n > 0;
}

/* The running sessions to take back: of nodes gone silent, and at start this
 * node's own and unmarked ones. Parameters: at start (0/1), this node, at
 * start again, the oldest heartbeat of a live node. */
#define TAKEN_BACK                                                                                                \
    "state = 'running' AND ((node IS NULL AND ? = 1) OR (node = ? AND ? = 1) OR "                                 \
    "(node IS NOT NULL AND node NOT IN (SELECT name FROM nodes WHERE seen >= ?)))"

int64_t gw_node_requeue(gw *g, time_t now, bool at_start)
{
    int64_t n = 0;
    if (!shared(g) && !at_start)
        return 0; /* alone: its sessions are its own, taken back at start (no heartbeat: all of them) */
    time_t alive = now - gw_node_dead_after(g);
    store_val a[] = {STORE_I(now), STORE_I(at_start), STORE_S(g->node), STORE_I(at_start), STORE_I(alive)};
    store_exec(g->db, "UPDATE import_sessions SET state = 'queued', node = NULL, updated = ? WHERE kind = 'pacs' AND "
               TAKEN_BACK, a, 5, NULL, NULL, &n, NULL);
    store_val b[] = {STORE_I(now), STORE_I(now), STORE_I(at_start), STORE_S(g->node), STORE_I(at_start),
                     STORE_I(alive)};
    store_exec(g->db,
               "UPDATE import_sessions SET state = 'failed', finished = ?, updated = ?, "
               "error = 'dqr stopped during this STOW-RS request' WHERE kind = 'stow' AND " TAKEN_BACK,
               b, 6, NULL, NULL, NULL, NULL);
    return n;
}

typedef struct slots_tx {
    gw *g;
    int64_t pacs;
    int want, limit, n;
    gw_slots_record_fn record;
    void *ctx;
} slots_tx;

static dqr_status take_in_tx(void *ctx, store *s, dqr_error *err)
{
    slots_tx *t = ctx;
    int64_t elsewhere = 0;
    if (shared(t->g)) {
        /* held to the end of the transaction: two nodes that look at once
         * would otherwise both see the same free association */
        store_exec(s, "SELECT id FROM pacs WHERE id = ? FOR UPDATE", (store_val[]){STORE_I(t->pacs)}, 1, NULL, NULL,
                   NULL, NULL);
        store_int(s,
                  "SELECT COALESCE(SUM(slots), 0) FROM import_sessions WHERE pacs_id = ? AND state = 'running' AND "
                  "node <> ? AND node IN (SELECT name FROM nodes WHERE seen >= ?)",
                  (store_val[]){STORE_I(t->pacs), STORE_S(t->g->node), STORE_I(time(NULL) - gw_node_dead_after(t->g))},
                  3, &elsewhere, NULL);
    }
    t->n = gw_pacs_slots_take(t->g, t->pacs, t->want, t->limit - (int)elsewhere);
    return t->n ? t->record(t->ctx, t->n, s, err) : DQR_OK;
}

int gw_node_slots_take(gw *g, int64_t pacs, int want, int limit, gw_slots_record_fn record, void *ctx)
{
    slots_tx t = {g, pacs, want, limit, 0, record, ctx};
    dqr_error err = {0};
    if (store_tx(g->db, take_in_tx, &t, &err) != DQR_OK && t.n) { /* not recorded: not taken */
        gw_pacs_slots_give(g, pacs, t.n);
        t.n = 0;
    }
    return t.n;
}

static dqr_status add_to_session(void *ctx, int n, store *s, dqr_error *err)
{
    return store_exec(s, "UPDATE import_sessions SET slots = slots + ? WHERE id = ?",
                      (store_val[]){STORE_I(n), STORE_I(*(const int64_t *)ctx)}, 2, NULL, NULL, NULL, err);
}

int gw_node_slots_add(gw *g, int64_t pacs, int64_t session, int want, int limit)
{
    return gw_node_slots_take(g, pacs, want, limit, add_to_session, &session);
}

void gw_node_slots_return(gw *g, int64_t pacs, int64_t session, int n)
{
    gw_pacs_slots_give(g, pacs, n);
    store_exec(g->db, "UPDATE import_sessions SET slots = slots - ? WHERE id = ?",
               (store_val[]){STORE_I(n), STORE_I(session)}, 2, NULL, NULL, NULL, NULL);
}
