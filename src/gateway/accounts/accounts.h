/* accounts.h — users, tokens, grants and permissions (auth.c), the login
 * throttle (login_guard.c), LDAP sign-in (ldap.c), and reading sealed
 * history values back (gw_reveal). */
#ifndef DQR_GW_ACCOUNTS_H
#define DQR_GW_ACCOUNTS_H

#include "gateway/internal.h"

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

/* Whether the caller may use project r->arg[0] and it exists; else answers
 * 404 (the same for a project that exists and one that does not, so a user
 * without the grant learns nothing) and returns false. */
bool gw_archive_project_visible(gw_req *r);

#endif
