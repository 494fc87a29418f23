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
} gw_metrics;

typedef struct gw_qcache gw_qcache; /* query results kept for paging (qcache.c) */
typedef struct gw_pool gw_pool;     /* instance workers (pool.c) */
typedef struct gw_peers gw_peers;   /* who may send to the receivers (peers.c) */
struct gw_job;
struct net_server;

/* Per-PACS transfer state of the scheduler (in memory: rebuilt at start). */
typedef struct gw_pacs_rt {
    int64_t id;
    int running;       /* transfers now */
    time_t busy_until; /* utilization pause: no new transfer before this */
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
    time_t started;
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
    gw_pool *pool;
    gw_peers *peers;
    pthread_mutex_t sends_lock; /* sends: sessions being sent to a PACS (api_send.c) */
    struct gw_send *sends;
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

/* ---- logging (log.c): one line per event, key=value, never PHI ---- */
void gw_log(gw *g, const char *level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- users and permissions (auth.c) ---- */
dqr_status gw_auth_bootstrap(gw *g, dqr_error *err);
/* Fill r->user from the Authorization header; false if missing or invalid. */
bool gw_authenticate(gw_req *r);
bool gw_may_use(gw_req *r, const char *kind, const char *target);
/* The same for PACS id (grants name PACS by their id as text). */
bool gw_may_use_pacs(gw_req *r, int64_t id);
/* Hash pw with argon2id into a malloc'd string, NULL on failure. */
char *gw_password_hash(const char *pw);
/* A new token: its text (64 hex chars after "dqr_") into tok[80] and its
 * stored hash into hash[65]. */
void gw_token_new(char tok[80], char hash[65]);
void gw_token_hash(const char *tok, char hash[65]);
void gw_audit(gw *g, int64_t user, const char *action, const char *target);

/* One kind of sealed history value a phi user may read back (gw_reveal). */
typedef struct gw_sealed_view {
    const char *what;       /* "original search keys": named in the 403 sentence */
    const char *sql;        /* selects user_id and sealed of the entry with id ? */
    const char *action;     /* the audit action recorded for each view */
    const char *member;     /* the answer's member holding the values */
    const char *missing;    /* 404 sentence when the caller has no such entry (%s: the id) */
    int unseal_status;      /* when the value is absent or cannot be opened ... */
    const char *unsealable; /* ... this sentence (%s: the id, %s: why) */
} gw_sealed_view;
/* Answer {"id", member: values} for the entry r->arg[0]: needs the phi
 * permission, the entry must be the caller's (or the caller an admin), and
 * each view is audited. */
void gw_reveal(gw_req *r, const gw_sealed_view *v);
/* The grants of user id as {"pacs": [ids], "projects": [ids]}. */
json_t *gw_grants_json(gw *g, int64_t id);
/* Parse a positive integer id from a path segment; 0 when it is not one. */
int64_t gw_id(const char *s);

/* ---- routes ---- */
typedef enum gw_access { GW_PUBLIC, GW_USER, GW_ADMIN } gw_access;
typedef void (*gw_handler)(gw_req *r);
typedef struct gw_route {
    const char *method, *pattern; /* "{}" matches one path segment */
    gw_access access;
    gw_handler fn;
} gw_route;

/* Route tables, one per file (api_*.c), each ended by a {NULL} entry. */
extern const gw_route gw_routes_auth[], gw_routes_users[], gw_routes_pacs[], gw_routes_projects[],
    gw_routes_query[], gw_routes_ops[], gw_routes_imports[], gw_routes_archive[], gw_routes_send[],
    gw_routes_dryrun[], gw_routes_ui[];
/* Free the finished sends' records (at stop). */
void gw_sends_free(gw *g);

/* The HTTP handler (router.c). */
void gw_dispatch(void *ctx, http_request *http);

/* ---- query result cache (qcache.c) ---- */
gw_qcache *gw_qcache_new(void);
void gw_qcache_free(gw_qcache *c);
/* Keep results (takes the reference) for user; id gets the cache key. */
void gw_qcache_put(gw_qcache *c, int64_t user, json_t *results, json_t *meta, char id[33]);
/* New references to the results and meta of id if user owns it, else false. */
bool gw_qcache_get(gw_qcache *c, const char *id, int64_t user, json_t **results, json_t **meta);

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

/* ---- metrics (api_ops.c) ---- */
#define GW_COUNT(g, field) atomic_fetch_add(&(g)->m.field, 1)

#endif
