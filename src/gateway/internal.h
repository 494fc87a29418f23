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
typedef struct gw_auth gw_auth;     /* login throttle and password hash gate (login_guard.c) */
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
    gw_auth *auth;
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
    /* the retention purge timer (service.c) */
    pthread_mutex_t purge_lock; /* purge_stop */
    pthread_cond_t purge_wake;
    pthread_t purge_thread;
    bool purge_started, purge_stop;
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

/* ---- users and permissions (auth.c) ---- */
/* Set up g->auth (freed by gw_auth_free) and, on first start, user admin
 * (admin_password must pass the password policy: DQR_E_USAGE otherwise). */
dqr_status gw_auth_bootstrap(gw *g, dqr_error *err);
/* The account guards of cfg (login_guard.c); NULL when out of memory. */
gw_auth *gw_auth_new(const gw_config *cfg);
void gw_auth_free(gw_auth *a);
/* Fill r->user from the Authorization header; false if missing or invalid.
 * Records the token's last use (at most once a minute). */
bool gw_authenticate(gw_req *r);
bool gw_may_use(gw_req *r, const char *kind, const char *target);
/* The same for PACS id (grants name PACS by their id as text). */
bool gw_may_use_pacs(gw_req *r, int64_t id);
/* The grant target of PACS id: its id as decimal text, into out[32]. */
const char *gw_pacs_target(int64_t id, char out[32]);
/* Remove every user's grant of kind ("pacs", "project") on target (a PACS
 * as gw_pacs_target gives it, a project id): its PACS or project is gone. */
void gw_grants_drop(gw *g, const char *kind, const char *target);
/* Hash pw with argon2id into *out (caller frees). Waits at most a few
 * seconds for one of the login_hash_concurrency turns: DQR_E_LIMIT when
 * none came (answer 503 with Retry-After). Thread-safe. */
dqr_status gw_password_hash(gw *g, const char *pw, char **out, dqr_error *err);
/* *match: whether pw matches hash. hash NULL (unknown or disabled user)
 * checks against a dummy hash, to take the same time, and never matches.
 * DQR_E_LIMIT as gw_password_hash. Thread-safe. */
dqr_status gw_password_verify(gw *g, const char *hash, const char *pw, bool *match, dqr_error *err);
/* Whether pw is acceptable for user (password_min_length, not containing
 * the user name in any case); false with the reason in msg. */
bool gw_password_policy(const gw *g, const char *user, const char *pw, char *msg, size_t len);
/* Login throttle (thread-safe, in memory): seconds until user or addr may
 * try again (0: now); count a failure (true when it starts a lockout);
 * a success clears the account's count (not the address's, so one good
 * account does not reopen guessing at others from the same address). */
int gw_login_retry_after(gw *g, const char *user, const char *addr);
bool gw_login_failed(gw *g, const char *user, const char *addr);
void gw_login_ok(gw *g, const char *user);
/* ---- LDAP / Active Directory sign-in (ldap.c) ---- */
enum { GW_LDAP_MAX_GROUPS = 64 };
/* A directory user who signed in: the entry's DN and its groups' DNs. */
typedef struct gw_ldap_user {
    char dn[512];
    char groups[GW_LDAP_MAX_GROUPS][512];
    size_t ngroups;
} gw_ldap_user;
/* Check user/pw against the directory of cfg (ldap_url set): DQR_OK and u
 * filled when the password binds as the one entry found; DQR_E_NOTFOUND
 * when no such user, several, or a wrong or empty password (answer 401);
 * DQR_E_IO when the directory is down or refuses the service account or
 * StartTLS (answer 503); DQR_E_USAGE for a bad ldap_url. One connection
 * per call, nothing shared: thread-safe. */
dqr_status gw_ldap_login(const gw_config *cfg, const char *user, const char *pw, gw_ldap_user *u, dqr_error *err);
/* fmt with every %s replaced by value escaped per RFC 4515 (* ( ) \ and
 * control characters as \XX); new string (caller frees), NULL when out
 * of memory. */
char *gw_ldap_filter(const char *fmt, const char *value);
/* Whether u is a member of group dn (case-insensitive; "" never). */
bool gw_ldap_member(const gw_ldap_user *u, const char *dn);
/* For each NAME=GROUP_DN item of list (';'-separated) whose group u is in,
 * fn(ctx, NAME). */
typedef void (*gw_ldap_grant_fn)(void *ctx, const char *name);
void gw_ldap_each_grant(const gw_ldap_user *u, const char *list, gw_ldap_grant_fn fn, void *ctx);
/* Answer status (429, 503) {"error": "SENTENCE; try again in S s"} with
 * a Retry-After: S header. */
void gw_fail_retry(gw_req *r, int status, int seconds, const char *sentence);
/* The hash of the token this request carries (of "" when none). */
void gw_request_token_hash(gw_req *r, char hash[65]);
/* Delete user's tokens except the one whose hash is keep_hash (NULL: all);
 * audits token_revoke; returns how many went. */
int64_t gw_tokens_revoke(gw *g, int64_t user, const char *keep_hash);
/* A new token: its text (64 hex chars after "dqr_") into tok[80] and its
 * stored hash into hash[65]. */
void gw_token_new(char tok[80], char hash[65]);
void gw_token_hash(const char *tok, char hash[65]);
void gw_audit(gw *g, int64_t user, const char *action, const char *target);

/* ---- the audit trail (audit.c, docs/audit.md) ----
 * Each event goes to the catalog's audit table (for GET /api/v1/audit) and,
 * as one DICOM audit message (PS3.15 A.5, IHE ATNA) per line, to the
 * append-only audit_file and to audit_syslog. Only dqr ids reach it (user
 * names, session labels, import and query ids, AE titles), never a DICOM
 * value. */
enum { GW_AUDIT_DETAILS = 4 };
typedef struct gw_audit_ev {
    const char *action;    /* snake_case name: a row of the events table, else a Security Alert */
    int64_t user_id;       /* the requestor; 0 when not a logged-in user */
    const char *user_name; /* NULL: looked up from user_id */
    const char *client;    /* network address of the requestor; NULL when unknown */
    const char *target;    /* the dqr id of the object acted on; NULL for none */
    int outcome;           /* 0/4/8/12; the action's own outcome is kept when worse */
    const char *detail[GW_AUDIT_DETAILS][2]; /* optional {type, value} pairs (no PHI), NULL-ended */
} gw_audit_ev;

/* What an action is in the DICOM vocabulary (DCM codes of PS3.16). */
typedef struct gw_audit_kind {
    const char *action;
    const char *event_id, *event_name; /* EventID */
    const char *type_id, *type_name;   /* EventTypeCode; NULL when the event has none */
    char action_code;                  /* EventActionCode: C R U D E */
    int outcome;                       /* EventOutcomeIndicator of the action itself */
    const char *object;                /* what the target names: user, session, query, ... */
} gw_audit_kind;
/* The row of action (the Security Alert row for an unknown one); never NULL. */
const gw_audit_kind *gw_audit_kind_of(const char *action);
/* Who reports the events: AuditSourceID and the host name of this node. */
typedef struct gw_audit_node {
    const char *source_id, *host;
} gw_audit_node;
/* The AuditMessage of e on one line (no newline at the end), every value
 * escaped for XML; e->user_name must be set. Returns a new string (caller
 * frees), NULL when out of memory. Pure and thread-safe. */
char *gw_audit_xml(const gw_audit_ev *e, const gw_audit_node *node, struct timespec when);
/* The EventOutcomeIndicator of e (0, 4, 8 or 12): the worse of the event's and its kind's. */
int gw_audit_outcome(const gw_audit_ev *e, const gw_audit_kind *k);
/* The RFC 5424 frame of xml: PRI (authpriv, notice or warning on failure),
 * timestamp, host, APP-NAME dqr, PROCID, MSGID the EventID code, no
 * structured data, MSG the XML after a UTF-8 BOM. Returns a new string. */
char *gw_audit_syslog_frame(const char *xml, const gw_audit_kind *k, int outcome, const char *host, long pid,
                            struct timespec when);
/* Record e everywhere. DQR_OK once the audit file holds the message (then
 * fdatasync'ed); a failure is logged and returned, so that a handler about
 * to show PHI can refuse to. Thread-safe. */
dqr_status gw_audit_event(gw *g, const gw_audit_ev *e);
/* An event of the request's user and client address for action on target. */
gw_audit_ev gw_audit_of(const gw_req *r, const char *action, const char *target);
/* gw_audit_event of gw_audit_of(r, action, target). */
dqr_status gw_audit_req(const gw_req *r, const char *action, const char *target);
/* A login attempt for name (user: its id, 0 when there is no such user). */
void gw_audit_login(const gw_req *r, int64_t user, const char *name, bool ok);

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
    const char *method, *pattern; /* "{}" matches one path segment; a final "{*}" the rest,
                                     and then the handler reads the body itself (not JSON) */
    gw_access access;
    gw_handler fn;
} gw_route;

/* Route tables, one per file (api_*.c), each ended by a {NULL} entry. */
extern const gw_route gw_routes_auth[], gw_routes_users[], gw_routes_pacs[], gw_routes_projects[],
    gw_routes_query[], gw_routes_ops[], gw_routes_imports[], gw_routes_archive[], gw_routes_send[],
    gw_routes_dryrun[], gw_routes_ui[];
extern const gw_route gw_routes_audit[]; /* GET /api/v1/audit (api_audit.c) */
extern const gw_route gw_routes_dicomweb[]; /* /dicom-web (archive/dicomweb.c) */
/* Free the finished sends' records (at stop). */
void gw_sends_free(gw *g);

/* The HTTP handler (router.c). */
void gw_dispatch(void *ctx, http_request *http);

/* ---- retention (api_query.c) ---- */
/* Delete query history, and finished import sessions (with their sealed
 * identifiers) and their emptied requests, older than
 * history_retention_days. Run by every node on a timer (service.c). */
void gw_history_purge(gw *g);

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
