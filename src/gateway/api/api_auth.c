/* api_auth.c — login, logout, the caller's own account, API tokens.
 * A login checks a local account first (the bootstrap admin always signs
 * in here); with ldap_url set, a name with no local account, or one that
 * came from the directory, is checked against the directory (ldap.c) and
 * its row, role, phi and grants are rewritten from its groups each time. */
#include "gateway/internal.h"
#include "gateway/accounts/accounts.h"
#include "gateway/accounts/audit.h"
#include "gateway/api/routes.h"

#include <ctype.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

typedef struct login_row {
    int64_t id;
    char hash[crypto_pwhash_STRBYTES];
    bool admin, phi, disabled, ldap;
} login_row;

static int take_login(void *ctx, int n, const char *const *names, const store_val *c)
{
    (void)names;
    login_row *l = ctx;
    if (n == 6 && c[1].s) {
        l->id = c[0].i;
        snprintf(l->hash, sizeof l->hash, "%s", c[1].s);
        l->admin = c[2].s && strcmp(c[2].s, "admin") == 0;
        l->phi = c[3].i != 0;
        l->disabled = c[4].i != 0;
        l->ldap = c[5].s && strcmp(c[5].s, "ldap") == 0;
    }
    return 1;
}

static const char LOGIN_COLS[] = "SELECT id, pw_hash, role, phi, disabled, source FROM users";

/* Whether pw is the password of l (a NULL l, or a disabled one, costs the
 * same time and never matches); false after answering 503 when the hash
 * gate stayed full. */
static bool check_password(gw_req *r, const login_row *l, const char *pw, bool *match)
{
    dqr_error err;
    bool usable = l->id && !l->disabled;
    if (gw_password_verify(r->g, usable ? l->hash : NULL, pw, match, &err) == DQR_OK)
        return true;
    gw_fail_retry(r, 503, 1, "too many logins at once");
    return false;
}

/* Store a new token for user; answers {"token", "expires"?} with status. */
static void issue_token(gw_req *r, int64_t user, const char *kind, const char *name, int64_t expires, int status,
                        json_t *extra)
{
    char tok[80], hash[65], when[32];
    gw_token_new(tok, hash);
    dqr_error err;
    int64_t id = 0;
    if (store_exec(r->g->db,
                   "INSERT INTO tokens(user_id, token_hash, kind, name, created, expires) VALUES (?, ?, ?, ?, ?, ?)",
                   (store_val[]){STORE_I(user), STORE_S(hash), STORE_S(kind), STORE_S(name), STORE_I(time(NULL)),
                                 STORE_I(expires)},
                   6, NULL, NULL, NULL, &err) != DQR_OK ||
        store_int(r->g->db, "SELECT id FROM tokens WHERE token_hash = ?", (store_val[]){STORE_S(hash)}, 1, &id,
                  &err) != DQR_OK) {
        json_decref(extra);
        gw_fail_err(r, &err);
        return;
    }
    json_t *o = extra ? extra : json_object();
    json_object_set_new(o, "id", json_integer(id));
    json_object_set_new(o, "token", json_string(tok));
    json_object_set_new(o, "expires", expires ? json_string(gw_iso_time(expires, when)) : json_null());
    sodium_memzero(tok, sizeof tok);
    gw_reply(r, status, o);
}

/* A refused login: audited under the name typed, counted under who (the
 * throttle's key for that name). */
static void login_failed(gw_req *r, const login_row *l, const char *user, const char *who)
{
    const char *addr = http_client(r->http);
    GW_COUNT(r->g, login_failures);
    gw_log(r->g, "warn", "login_failed", "client=%s", addr);
    gw_audit_login(r, l->id, user, false);
    if (gw_login_failed(r->g, who, addr))
        gw_audit_req(r, "login_lockout", user);
    gw_fail(r, 401, "wrong username or password");
}

/* What a directory login writes: the user's row and grants, from its groups. */
typedef struct ldap_sync {
    const gw_config *cfg;
    const gw_ldap_user *u;
    const char *name;
    store *s;
    int64_t id;
    bool admin, phi;
    const char *kind; /* of the grants being added */
    dqr_status st;
    dqr_error *err;
} ldap_sync;

/* Grant the project or PACS (by label) name, when it exists: a group
 * naming one not (yet) made here grants nothing. The cast types the
 * parameter for PostgreSQL, which sees an INSERT ... SELECT's as text. */
static void add_grant(void *ctx, const char *name)
{
    static const char pacs_sql[] = "INSERT INTO grants(user_id, kind, target)"
                                   " SELECT CAST(? AS BIGINT), 'pacs', CAST(id AS TEXT) FROM pacs"
                                   " WHERE label = ? ON CONFLICT DO NOTHING",
                      project_sql[] = "INSERT INTO grants(user_id, kind, target)"
                                      " SELECT CAST(? AS BIGINT), 'project', id FROM projects"
                                      " WHERE id = ? ON CONFLICT DO NOTHING";
    ldap_sync *y = ctx;
    if (y->st == DQR_OK)
        y->st = store_exec(y->s, strcmp(y->kind, "pacs") == 0 ? pacs_sql : project_sql,
                           (store_val[]){STORE_I(y->id), STORE_S(name)}, 2, NULL, NULL, NULL, y->err);
}

/* One transaction: create or update the 'ldap' row (never a local one of
 * the same name), then replace its grants, so a group left in the
 * directory takes its grant away now. */
static dqr_status sync_user(void *ctx, store *s, dqr_error *err)
{
    ldap_sync *y = ctx;
    unsigned char raw[32];
    char hash[80] = "!ldap:"; /* no argon2id string: no password ever matches it */
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(hash + 6, sizeof hash - 6, raw, sizeof raw);
    dqr_status st = store_exec(
        s,
        "INSERT INTO users(username, pw_hash, role, phi, created, source) VALUES (?, ?, ?, ?, ?, 'ldap')"
        " ON CONFLICT(username) DO UPDATE SET role = excluded.role, phi = excluded.phi WHERE users.source = 'ldap'",
        (store_val[]){STORE_S(y->name), STORE_S(hash), STORE_S(y->admin ? "admin" : "user"), STORE_I(y->phi),
                      STORE_I(time(NULL))},
        5, NULL, NULL, NULL, err);
    if (st == DQR_OK)
        st = store_int(s, "SELECT id FROM users WHERE username = ? AND source = 'ldap'",
                       (store_val[]){STORE_S(y->name)}, 1, &y->id, err);
    if (st == DQR_E_NOTFOUND) /* "Admin" typed: the lower-case name is a local account's, never taken over */
        return dqr_error_set(err, DQR_E_NOTFOUND, "the name belongs to a local account");
    int64_t disabled = 0;
    if (st == DQR_OK)
        st = store_int(s, "SELECT disabled FROM users WHERE id = ?", (store_val[]){STORE_I(y->id)}, 1, &disabled, err);
    if (st == DQR_OK && disabled) /* rolls the update back */
        return dqr_error_set(err, DQR_E_NOTFOUND, "the account is disabled in dqr");
    if (st == DQR_OK)
        st = store_exec(s, "DELETE FROM grants WHERE user_id = ?", (store_val[]){STORE_I(y->id)}, 1, NULL, NULL,
                        NULL, err);
    y->s = s, y->err = err, y->st = st;
    y->kind = "project";
    gw_ldap_each_grant(y->u, y->cfg->ldap_project_groups, add_grant, y);
    y->kind = "pacs";
    gw_ldap_each_grant(y->u, y->cfg->ldap_pacs_groups, add_grant, y);
    return y->st;
}

enum { DIRECTORY_NAME_MAX = sizeof ((gw_user *)0)->name };

/* The directory matches names without case (uid, sAMAccountName): one
 * person, one account, named in lower case. False when too long. */
static bool directory_name(const char *user, char name[DIRECTORY_NAME_MAX])
{
    if (strlen(user) >= DIRECTORY_NAME_MAX)
        return false;
    for (size_t i = 0; (name[i] = (char)tolower((unsigned char)user[i])) != '\0'; i++)
        ;
    return true;
}

/* After a failed directory login: true for a refusal (wrong password,
 * unknown user: the caller answers 401); else answers 503 (the directory
 * cannot be used) or the catalog's error, and returns false. */
static bool directory_refused(gw_req *r, const dqr_error *err)
{
    if (err->code == DQR_E_NOTFOUND) {
        gw_log(r->g, "info", "ldap_login_refused", "reason=%s", err->message);
        return true;
    }
    gw_log(r->g, "error", "ldap_unavailable", "error=%s", err->message);
    char sentence[sizeof err->message + 64];
    snprintf(sentence, sizeof sentence, "%s; local accounts can still sign in", err->message);
    if (err->code == DQR_E_IO)
        gw_fail_retry(r, 503, 30, sentence);
    else
        gw_fail_err(r, err);
    return false;
}

/* The directory's answer for user/pw: *match and l filled from the row
 * synced under name (directory_name of user; NULL when too long); false
 * after answering 503 (directory down, catalog failure). A disabled
 * directory account stays disabled: the directory is not asked. */
static bool directory_login(gw_req *r, const char *user, const char *name, const char *pw, login_row *l,
                            bool *match)
{
    *match = false;
    if (l->disabled)
        return true;
    gw_ldap_user *u = malloc(sizeof *u);
    dqr_error err;
    dqr_status st = !u      ? dqr_error_set(&err, DQR_E_NOMEM, "out of memory")
                    : !name ? dqr_error_set(&err, DQR_E_NOTFOUND, "the name is too long")
                            : gw_ldap_login(&r->g->cfg, user, pw, u, &err);
    if (st == DQR_OK) {
        const gw_config *c = &r->g->cfg;
        ldap_sync y = {.cfg = c, .u = u, .name = name, .admin = gw_ldap_member(u, c->ldap_admin_group),
                       .phi = gw_ldap_member(u, c->ldap_phi_group)};
        st = store_tx(r->g->db, sync_user, &y, &err);
        if (st == DQR_OK)
            *l = (login_row){.id = y.id, .admin = y.admin, .phi = y.phi, .ldap = true}, *match = true;
    }
    free(u);
    return st == DQR_OK || directory_refused(r, &err);
}

static void login(gw_req *r)
{
    bool bad = false;
    const char *user = gw_body_str(r, "username", &bad), *pw = gw_body_str(r, "password", &bad);
    if (bad)
        return;
    if (!user || !pw) {
        gw_fail(r, 400, "send {\"username\": ..., \"password\": ...}");
        return;
    }
    /* the throttle counts a directory name in any case as one account, or
     * BOB, Bob, bOb... would each get their own failures */
    char lower[DIRECTORY_NAME_MAX];
    const char *name = directory_name(user, lower) ? lower : NULL;
    const char *who = *r->g->cfg.ldap_url && name ? name : user;
    int wait = gw_login_retry_after(r->g, who, http_client(r->http));
    if (wait > 0) {
        gw_fail_retry(r, 429, wait, "too many failed logins");
        return;
    }
    login_row l = {0};
    char sql[96];
    snprintf(sql, sizeof sql, "%s WHERE username = ?", LOGIN_COLS);
    store_exec(r->g->db, sql, (store_val[]){STORE_S(user)}, 1, take_login, &l, NULL, NULL);
    bool match = false;
    bool directory = *r->g->cfg.ldap_url && (!l.id || l.ldap);
    if (directory ? !directory_login(r, user, name, pw, &l, &match) : !check_password(r, &l, pw, &match))
        return;
    if (!match) {
        login_failed(r, &l, user, who);
        return;
    }
    if (directory)
        user = name;
    gw_login_ok(r->g, who);
    GW_COUNT(r->g, logins);
    gw_audit_login(r, l.id, user, true);
    json_t *extra = json_pack("{s:{s:I,s:s,s:s,s:b}}", "user", "id", (json_int_t)l.id, "username", user, "role",
                              l.admin ? "admin" : "user", "phi", l.phi);
    issue_token(r, l.id, "session", "login", time(NULL) + (int64_t)r->g->cfg.session_hours * 3600, 200, extra);
}

static void logout(gw_req *r)
{
    char hash[65];
    gw_request_token_hash(r, hash);
    store_exec(r->g->db, "DELETE FROM tokens WHERE token_hash = ?", (store_val[]){STORE_S(hash)}, 1, NULL, NULL,
               NULL, NULL);
    gw_reply(r, 200, json_pack("{s:b}", "ok", 1));
}

static void me(gw_req *r)
{
    json_t *o = json_pack("{s:I,s:s,s:s,s:b}", "id", (json_int_t)r->user.id, "username", r->user.name, "role",
                          r->user.admin ? "admin" : "user", "phi", r->user.phi);
    json_object_set_new(o, "grants", gw_grants_json(r->g, r->user.id));
    gw_reply(r, 200, o);
}

/* Your own password. Every other token of yours (sessions elsewhere, API
 * tokens) ends; the one this request used stays, so the page that changed
 * the password stays logged in. */
static void change_password(gw_req *r)
{
    bool bad = false;
    const char *old = gw_body_str(r, "old", &bad), *new = gw_body_str(r, "new", &bad);
    if (bad)
        return;
    char why[128];
    if (!old || !new) {
        gw_fail(r, 400, "send {\"old\": ..., \"new\": ...}");
        return;
    }
    if (!gw_password_policy(r->g, r->user.name, new, why, sizeof why)) {
        gw_fail(r, 400, "%s", why);
        return;
    }
    login_row l = {0};
    char sql[96];
    snprintf(sql, sizeof sql, "%s WHERE id = ?", LOGIN_COLS);
    store_exec(r->g->db, sql, (store_val[]){STORE_I(r->user.id)}, 1, take_login, &l, NULL, NULL);
    if (l.ldap) {
        gw_fail(r, 409, "your password is kept by the directory (LDAP): change it there");
        return;
    }
    bool match = false;
    if (!check_password(r, &l, old, &match))
        return;
    if (!match) {
        gw_fail(r, 403, "the old password is wrong");
        return;
    }
    char *hash = NULL, mine[65];
    dqr_error err;
    dqr_status st = gw_password_hash(r->g, new, &hash, &err);
    if (st == DQR_OK)
        st = store_exec(r->g->db, "UPDATE users SET pw_hash = ? WHERE id = ?",
                        (store_val[]){STORE_S(hash), STORE_I(r->user.id)}, 2, NULL, NULL, NULL, &err);
    free(hash);
    if (st != DQR_OK) {
        st == DQR_E_LIMIT ? gw_fail_retry(r, 503, 1, "too many password changes at once") : gw_fail_err(r, &err);
        return;
    }
    char target[32];
    snprintf(target, sizeof target, "%lld", (long long)r->user.id);
    gw_audit(r->g, r->user.id, "password_change", target);
    gw_request_token_hash(r, mine);
    gw_tokens_revoke(r->g, r->user.id, mine);
    gw_reply(r, 200, json_pack("{s:b}", "ok", 1));
}

static void token_create(gw_req *r)
{
    bool bad = false;
    const char *name = gw_body_str(r, "name", &bad);
    if (bad)
        return;
    int max = r->g->cfg.api_token_max_days, top = max ? max : 36500;
    json_t *days = r->body ? json_object_get(r->body, "days") : NULL;
    if (days && (!json_is_integer(days) || json_integer_value(days) < 1 || json_integer_value(days) > top)) {
        max ? gw_fail(r, 400, "'days' must be an integer from 1 to %d (api_token_max_days; leave it out for %d)",
                      max, max)
            : gw_fail(r, 400, "'days' must be an integer from 1 to %d (leave it out for a token that does not expire)",
                      top);
        return;
    }
    /* no 'days': the longest lifetime allowed (none when there is no maximum) */
    int64_t lifetime = days ? json_integer_value(days) : max;
    int64_t expires = lifetime ? time(NULL) + lifetime * 86400 : 0;
    gw_audit_req(r, "token_create", name ? name : "api");
    issue_token(r, r->user.id, "api", name ? name : "api", expires, 201, NULL);
}

static void token_list(gw_req *r)
{
    dqr_error err;
    json_t *a = gw_rows(r->g,
                        "SELECT id, name, kind, created, expires, last_used FROM tokens WHERE user_id = ? ORDER BY id",
                        (store_val[]){STORE_I(r->user.id)}, 1, &err);
    a ? gw_reply(r, 200, json_pack("{s:o}", "tokens", a)) : gw_fail_err(r, &err);
}

static void token_delete(gw_req *r)
{
    int64_t n = 0;
    store_exec(r->g->db, "DELETE FROM tokens WHERE id = ? AND user_id = ?",
               (store_val[]){STORE_I(gw_id(r->arg[0])), STORE_I(r->user.id)}, 2, NULL, NULL, &n, NULL);
    if (!n) {
        gw_fail(r, 404, "no token %s of yours", r->arg[0]);
        return;
    }
    gw_audit(r->g, r->user.id, "token_revoke", r->arg[0]);
    gw_reply(r, 200, json_pack("{s:b}", "ok", 1));
}

const gw_route gw_routes_auth[] = {
    {"POST", "/api/v1/login", GW_PUBLIC, login},
    {"POST", "/api/v1/logout", GW_USER, logout},
    {"GET", "/api/v1/me", GW_USER, me},
    {"PUT", "/api/v1/me/password", GW_USER, change_password},
    {"POST", "/api/v1/tokens", GW_USER, token_create},
    {"GET", "/api/v1/tokens", GW_USER, token_list},
    {"DELETE", "/api/v1/tokens/{}", GW_USER, token_delete},
    {NULL, NULL, GW_PUBLIC, NULL},
};
