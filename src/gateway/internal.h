/* internal.h — what the gateway's files share: the service context, the
 * request being answered, routing, logging and metrics. Not installed. */
#ifndef DQR_GW_INTERNAL_H
#define DQR_GW_INTERNAL_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "gateway/gw.h"
#include "net/net.h"
#include "store/store.h"
#include "store/vault.h"
#include "web/http.h"

/* Prometheus counters (metrics.c lists their names and help). */
typedef struct gw_metrics {
    atomic_llong http_requests, http_4xx, http_5xx;
    atomic_llong logins, login_failures;
    atomic_llong queries, query_errors, query_results, pings;
    atomic_llong instances_received, instances_archived, instances_rejected, instances_failed, unrequested;
    atomic_llong instances_refused_foreign; /* for a running import, from another PACS */
    atomic_llong sched_ticks, sched_tick_us, sched_tick_max_us; /* the scheduler's passes, last and longest */
} gw_metrics;

typedef struct gw_qcache gw_qcache; /* query results kept for paging (qcache.c) */
typedef struct gw_auth gw_auth;     /* login throttle and password hash gate (login_guard.c) */
typedef struct gw_pool gw_pool;     /* instance workers (pool.c) */
typedef struct gw_peers gw_peers;   /* who may send to the receivers (peers.c) */
struct gw_job;
struct net_server;

/* Per-PACS transfer state of the scheduler (in memory: rebuilt at start). */
typedef struct gw_pacs_rt {
    int64_t id;
    int running;       /* transfers now */
    int assocs;        /* associations of those transfers open now (at most the window's threads) */
    time_t busy_until; /* utilization pause: no new transfer before this */
    char next_window[32]; /* what its waiting sessions were last told (scheduler.c); "" unknown */
} gw_pacs_rt;

struct gw {
    gw_config cfg;
    store *db;
    store_vault *vault;
    http_server *http;
    FILE *log;
    pthread_mutex_t log_lock;
    gw_metrics m;
    gw_qcache *qc;
    char *boot_password;
    gw_auth *auth;
    time_t started;
    char node[160]; /* this node's name in the catalog (import/nodes.c) */
    uint8_t uid_secret[32];
    /* import (import.h) */
    pthread_mutex_t jobs_lock; /* jobs, rt, nworkers, stopping */
    pthread_cond_t wake, idle;
    struct gw_job *jobs;       /* running transfers, for the receiver */
    gw_pacs_rt rt[64];
    int nrt, nworkers;
    bool stopping, sched_started;
    pthread_t sched_thread;
    gw_receiver rxcfg[GW_MAX_RECEIVERS];
    struct net_server *rx[GW_MAX_RECEIVERS];
    pthread_t rx_thread[GW_MAX_RECEIVERS];
    int nrx; /* receivers started */
    /* The archive's Q/R SCP on the receivers (archive/scp.c), set by
     * service.c before they start, so the receivers need not know the
     * archive; NULL: storage only, from registered PACS. */
    struct {
        net_accept_fn accept;
        net_find_cb find;
        net_retrieve_cb retrieve;
    } qr;
    gw_pool *pool;
    gw_peers *peers;
    pthread_mutex_t sends_lock; /* sends: sessions being sent to a PACS (api_send.c) */
    struct gw_send *sends;
    /* the retention purge timer (service.c) */
    pthread_mutex_t purge_lock; /* purge_stop */
    pthread_cond_t purge_wake;
    pthread_t purge_thread;
    bool purge_started, purge_stop;
    /* the backfill of catalog rows indexed before migration 13 (import/reindex.c) */
    pthread_t reindex_thread;
    bool reindex_started;
    atomic_bool reindex_stop;
    /* idle Tesseract engines of the burned-in text check (import/pixel_verify.c) */
    pthread_mutex_t ocr_lock;
    struct px_ocr *ocr_idle[16];
    int nocr_idle;
};

/* The authenticated caller. */
typedef struct gw_user {
    int64_t id;
    char name[65];
    bool admin, phi;
} gw_user;

/* One request being answered. */
typedef struct gw_req {
    gw *g;
    http_request *http;
    gw_user user;
    const char *arg[4]; /* the {} segments of the route, in order */
    char argbuf[4][129];
    json_t *body;       /* the parsed JSON body, when the route wants one */
    const char *route;  /* the matched pattern, for the log (never the path itself) */
    const char *rest;   /* what a pattern's final {*} matched (NULL: none) */
} gw_req;

/* ---- answering (reply.c) ---- */
/* Answer with a JSON value (takes the reference). */
void gw_reply(gw_req *r, int status, json_t *v);
/* Answer {"error": message} with status; returns false for `return gw_fail(...)`. */
bool gw_fail(gw_req *r, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The HTTP status for a library status (404 not found, 409 conflict, ...). */
int gw_http_status(dqr_status st);
/* Answer 400 {"error", "line"?, "column"?} for a script that does not
 * compile: the position read from the message ("NAME:LINE:COL: ..."). */
void gw_fail_script(gw_req *r, const char *message);
/* Answer a failed dqr_error with its mapped status. */
void gw_fail_err(gw_req *r, const dqr_error *err);
/* The body's member key, as the type wanted; NULL / default when absent. A
 * member present with the wrong type makes the reply 400 and sets *bad. */
const char *gw_body_str(gw_req *r, const char *key, bool *bad);
/* Copy the body's members into base, each one of the names in editable
 * (NULL-terminated); else answer 400 "unknown WHAT field 'KEY'" and return
 * false. */
bool gw_body_merge(gw_req *r, json_t *base, const char *const *editable, const char *what);
/* Rows of a query as a JSON array of objects (column names as keys; the
 * columns listed in bools become true/false). */
json_t *gw_rows(gw *g, const char *sql, const store_val *args, int nargs, dqr_error *err);
json_t *gw_row(gw *g, const char *sql, const store_val *args, int nargs, dqr_error *err);
/* Overwrite a string that held PHI, then free it. NULL is allowed. */
void gw_wipe(char *s);
/* A monotonic clock in milliseconds, for durations. */
double gw_clock_ms(void);
/* ISO 8601 UTC text of t into buf[32]. */
const char *gw_iso_time(int64_t t, char buf[32]);

/* A received or uploaded instance parsed (receiver.c): deflated data may
 * not inflate beyond max_instance_bytes. borrow: data outlives the file. */
struct dcm_file;
struct dcm_file *gw_parse_instance(const gw *g, const void *data, size_t len, bool borrow, dqr_error *err);

/* ---- logging (log.c): one line per event, key=value, never PHI ---- */
void gw_log(gw *g, const char *level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Parse a positive integer id from a path segment; 0 when it is not one. */
int64_t gw_id(const char *s);

/* ---- routes: what an HTTP handler table holds (the tables: api/routes.h) ---- */
typedef enum gw_access { GW_PUBLIC, GW_USER, GW_ADMIN } gw_access;
typedef void (*gw_handler)(gw_req *r);
typedef struct gw_route {
    const char *method, *pattern; /* "{}" matches one path segment; a final "{*}" the rest,
                                     and then the handler reads the body itself (not JSON) */
    gw_access access;
    gw_handler fn;
} gw_route;

/* ---- metrics (api_ops.c) ---- */
#define GW_COUNT(g, field) atomic_fetch_add(&(g)->m.field, 1)

#endif
