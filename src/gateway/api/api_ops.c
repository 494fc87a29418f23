/* api_ops.c — health, version and Prometheus metrics (no login needed: they
 * show no PHI and monitoring systems poll them). */
#include "gateway/internal.h"
#include "gateway/api/routes.h"
#include "net/net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef DQR_VERSION
#define DQR_VERSION "dev"
#endif

static void health(gw_req *r)
{
    int64_t one = 0;
    dqr_error err;
    bool db = store_int(r->g->db, "SELECT 1", NULL, 0, &one, &err) == DQR_OK;
    gw_reply(r, db ? 200 : 503,
             json_pack("{s:s,s:s,s:i,s:I}", "status", db ? "ok" : "catalog unavailable", "catalog",
                       store_backend(r->g->db), "schema", store_schema_version(r->g->db), "uptime_s",
                       (json_int_t)(time(NULL) - r->g->started)));
}

static void version(gw_req *r)
{
    gw_reply(r, 200, json_pack("{s:s,s:s}", "name", "dqr", "version", DQR_VERSION));
}

static void metrics(gw_req *r)
{
    const gw_metrics *m = &r->g->m;
    int64_t depth = 0, running = 0;
    store_int(r->g->db, "SELECT COUNT(*) FROM import_sessions WHERE state IN ('queued', 'waiting-window')", NULL, 0,
              &depth, NULL);
    store_int(r->g->db, "SELECT COUNT(*) FROM import_sessions WHERE state = 'running'", NULL, 0, &running, NULL);
    long long refused = 0, too_large = 0;
    for (int i = 0; i < r->g->nrx; i++) { /* the receivers count what they refuse before the gateway sees it */
        long long a, b;
        net_server_stats(r->g->rx[i], &a, &b);
        refused += a, too_large += b;
    }
    struct {
        const char *name, *type, *help;
        long long v;
    } rows[] = {
        {"dqr_http_requests_total", "counter", "HTTP requests answered", m->http_requests},
        {"dqr_http_client_errors_total", "counter", "HTTP answers with a 4xx status", m->http_4xx},
        {"dqr_http_server_errors_total", "counter", "HTTP answers with a 5xx status", m->http_5xx},
        {"dqr_logins_total", "counter", "successful logins", m->logins},
        {"dqr_login_failures_total", "counter", "refused logins", m->login_failures},
        {"dqr_queries_total", "counter", "PACS queries run", m->queries},
        {"dqr_query_errors_total", "counter", "PACS queries that failed", m->query_errors},
        {"dqr_query_results_total", "counter", "results returned by PACS queries", m->query_results},
        {"dqr_pings_total", "counter", "PACS pings (C-ECHO)", m->pings},
        {"dqr_instances_received_total", "counter", "instances received for imports", m->instances_received},
        {"dqr_instances_archived_total", "counter", "instances de-identified and archived", m->instances_archived},
        {"dqr_instances_rejected_total", "counter", "instances dropped by a script or not asked for", m->instances_rejected},
        {"dqr_instances_failed_total", "counter", "instances that failed (script error, PHI refused, write)",
         m->instances_failed},
        {"dqr_unrequested_total", "counter", "instances no import asked for", m->unrequested},
        {"dqr_dicom_associations_refused_total", "counter",
         "associations the receivers refused (unregistered AE or address, connection limits)", refused},
        {"dqr_instances_refused_foreign_total", "counter",
         "instances for a running import sent by a PACS other than the one it retrieves from",
         m->instances_refused_foreign},
        {"dqr_instances_too_large_total", "counter", "instances larger than max_instance_bytes, answered 0xA700",
         too_large},
        {"dqr_scheduler_ticks_total", "counter", "passes of the import scheduler over the queue", m->sched_ticks},
        {"dqr_scheduler_tick_microseconds", "gauge", "how long the scheduler's last pass took", m->sched_tick_us},
        {"dqr_scheduler_tick_max_microseconds", "gauge", "the longest scheduler pass since start", m->sched_tick_max_us},
        {"dqr_queue_depth", "gauge", "import sessions queued or waiting for a window", depth},
        {"dqr_imports_running", "gauge", "import sessions transferring now", running},
        {"dqr_uptime_seconds", "gauge", "seconds since start", (long long)(time(NULL) - r->g->started)},
    };
    size_t cap = 16384, len = 0;
    char *out = malloc(cap);
    for (size_t i = 0; out && i < sizeof rows / sizeof rows[0] && len < cap; i++)
        len += (size_t)snprintf(out + len, cap - len, "# HELP %s %s\n# TYPE %s %s\n%s %lld\n", rows[i].name,
                                rows[i].help, rows[i].name, rows[i].type, rows[i].name, rows[i].v);
    http_respond(r->http, out ? 200 : 500, "text/plain; version=0.0.4", out, out ? len : 0);
}

const gw_route gw_routes_ops[] = {
    {"GET", "/api/v1/health", GW_PUBLIC, health},
    {"GET", "/api/v1/version", GW_PUBLIC, version},
    {"GET", "/metrics", GW_PUBLIC, metrics},
    {NULL, NULL, GW_PUBLIC, NULL},
};
