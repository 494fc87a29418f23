/* api_users.c — accounts and their grants (administrators only). */
#include "gateway/internal.h"
#include "gateway/accounts/accounts.h"
#include "gateway/api/routes.h"

#include <stdlib.h>
#include <string.h>

/* source: local, or ldap for an account a directory sign-in made */
static const char USER_COLS[] = "SELECT id, username, role, phi, disabled, created, source FROM users";

static void user_list(gw_req *r)
{
    dqr_error err;
    char sql[128];
    snprintf(sql, sizeof sql, "%s ORDER BY id", USER_COLS);
    json_t *a = gw_rows(r->g, sql, NULL, 0, &err);
    if (!a) {
        gw_fail_err(r, &err);
        return;
    }
    size_t i;
    json_t *u;
    json_array_foreach(a, i, u) json_object_set_new(u, "grants", gw_grants_json(r->g, json_integer_value(json_object_get(u, "id"))));
    gw_reply(r, 200, json_pack("{s:o}", "users", a));
}

static void user_show(gw_req *r, int64_t id, int status)
{
    char sql[128];
    snprintf(sql, sizeof sql, "%s WHERE id = ?", USER_COLS);
    dqr_error err;
    json_t *u = gw_row(r->g, sql, (store_val[]){STORE_I(id)}, 1, &err);
    if (!u) {
        gw_fail(r, 404, "no user %lld", (long long)id);
        return;
    }
    json_object_set_new(u, "grants", gw_grants_json(r->g, id));
    gw_reply(r, status, u);
}

/* role and phi from the body, keeping *role / *phi when absent. */
static bool read_role(gw_req *r, const char **role, int *phi)
{
    bool bad = false;
    const char *v = gw_body_str(r, "role", &bad);
    if (bad)
        return false;
    if (v && strcmp(v, "admin") && strcmp(v, "user"))
        return gw_fail(r, 400, "'role' is admin or user");
    if (v)
        *role = v;
    json_t *p = json_object_get(r->body, "phi");
    if (p && !json_is_boolean(p))
        return gw_fail(r, 400, "'phi' must be true or false");
    if (p)
        *phi = json_is_true(p);
    return true;
}

static void user_create(gw_req *r)
{
    bool bad = false;
    const char *name = gw_body_str(r, "username", &bad), *pw = gw_body_str(r, "password", &bad), *role = "user";
    int phi = 0;
    if (bad || !read_role(r, &role, &phi))
        return;
    if (!name || !*name || strlen(name) > 64 || strspn(name, "abcdefghijklmnopqrstuvwxyz"
                                                             "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-@") != strlen(name)) {
        gw_fail(r, 400, "'username' is 1 to 64 letters, digits or . _ - @");
        return;
    }
    char why[128];
    if (!pw || !gw_password_policy(r->g, name, pw, why, sizeof why)) {
        gw_fail(r, 400, "'password': %s", pw ? why : "send one");
        return;
    }
    char *hash = NULL;
    dqr_error err;
    int64_t id = 0;
    dqr_status st = gw_password_hash(r->g, pw, &hash, &err);
    if (st == DQR_OK)
        st = store_exec(r->g->db, "INSERT INTO users(username, pw_hash, role, phi, created) VALUES (?, ?, ?, ?, ?)",
                        (store_val[]){STORE_S(name), STORE_S(hash), STORE_S(role), STORE_I(phi), STORE_I(time(NULL))},
                        5, NULL, NULL, NULL, &err);
    free(hash);
    if (st == DQR_E_LIMIT) {
        gw_fail_retry(r, 503, 1, "too many password checks at once");
        return;
    }
    int64_t disabled = 0;
    if (st == DQR_E_CONFLICT &&
        store_int(r->g->db, "SELECT disabled FROM users WHERE username = ?", (store_val[]){STORE_S(name)}, 1, &disabled,
                  NULL) == DQR_OK &&
        disabled) {
        gw_fail(r, 409, "user '%s' exists already, disabled: the name of a deleted user stays taken, so that its "
                        "history stays its own (enable it with PUT /api/v1/users/{id})", name);
        return;
    }
    if (st == DQR_E_CONFLICT) {
        gw_fail(r, 409, "user '%s' exists already", name);
        return;
    }
    if (st != DQR_OK ||
        store_int(r->g->db, "SELECT id FROM users WHERE username = ?", (store_val[]){STORE_S(name)}, 1, &id, &err)) {
        gw_fail_err(r, &err);
        return;
    }
    gw_audit(r->g, r->user.id, "user_create", name);
    user_show(r, id, 201);
}

static void user_get(gw_req *r)
{
    user_show(r, gw_id(r->arg[0]), 200);
}

static void user_update(gw_req *r)
{
    int64_t id = gw_id(r->arg[0]);
    const char *role = NULL;
    int phi = -1;
    if (!read_role(r, &role, &phi))
        return;
    json_t *dis = json_object_get(r->body, "disabled");
    if (dis && !json_is_boolean(dis)) {
        gw_fail(r, 400, "'disabled' must be true or false");
        return;
    }
    bool bad = false;
    const char *pw = gw_body_str(r, "password", &bad);
    if (bad)
        return;
    json_t *old = gw_row(r->g, "SELECT username FROM users WHERE id = ?", (store_val[]){STORE_I(id)}, 1, NULL);
    const char *name = json_string_value(json_object_get(old, "username"));
    char why[128], *hash = NULL;
    dqr_error err;
    dqr_status st = DQR_OK;
    if (!name)
        gw_fail(r, 404, "no user %s", r->arg[0]);
    else if (pw && !gw_password_policy(r->g, name, pw, why, sizeof why))
        gw_fail(r, 400, "'password': %s", why);
    else if (pw && (st = gw_password_hash(r->g, pw, &hash, &err)) != DQR_OK)
        st == DQR_E_LIMIT ? gw_fail_retry(r, 503, 1, "too many password checks at once") : gw_fail_err(r, &err);
    json_decref(old);
    if (!name || (pw && !hash))
        return;
    st = store_exec(
        r->g->db,
        "UPDATE users SET role = COALESCE(?, role), phi = CASE WHEN ? < 0 THEN phi ELSE ? END,"
        " disabled = CASE WHEN ? < 0 THEN disabled ELSE ? END, pw_hash = COALESCE(?, pw_hash) WHERE id = ?",
        (store_val[]){STORE_S(role), STORE_I(phi), STORE_I(phi), STORE_I(dis ? json_is_true(dis) : -1),
                      STORE_I(dis ? json_is_true(dis) : -1), STORE_S(hash), STORE_I(id)},
        7, NULL, NULL, NULL, &err);
    free(hash);
    if (st != DQR_OK) {
        gw_fail_err(r, &err);
        return;
    }
    gw_audit(r->g, r->user.id, "user_update", r->arg[0]);
    if (pw) /* a reset password ends the user's sessions and API tokens (not this request's own) */
        gw_audit(r->g, r->user.id, "password_change", r->arg[0]);
    if (dis && json_is_true(dis)) /* a disabled account's tokens stop working at once */
        gw_audit(r->g, r->user.id, "user_disable", r->arg[0]);
    if (pw || (dis && json_is_true(dis))) {
        char mine[65];
        gw_request_token_hash(r, mine);
        gw_tokens_revoke(r->g, id, mine);
    }
    user_show(r, id, 200);
}

/* Deleting a user disables it and ends its tokens: the row stays, so its
 * imports, history and sealed keys stay bound to it for the audit, and its
 * id and name are never given to someone else. */
static void user_delete(gw_req *r)
{
    int64_t id = gw_id(r->arg[0]), n = 0;
    if (id == r->user.id) {
        gw_fail(r, 409, "you cannot delete your own account");
        return;
    }
    store_exec(r->g->db, "UPDATE users SET disabled = 1 WHERE id = ?", (store_val[]){STORE_I(id)}, 1, NULL, NULL, &n,
               NULL);
    if (!n) {
        gw_fail(r, 404, "no user %s", r->arg[0]);
        return;
    }
    gw_audit(r->g, r->user.id, "user_disable", r->arg[0]);
    gw_tokens_revoke(r->g, id, NULL);
    gw_reply(r, 200, json_pack("{s:b,s:b}", "ok", 1, "disabled", 1));
}

typedef struct grant_set {
    int64_t user;
    json_t *pacs, *projects;
} grant_set;

static dqr_status replace_grants(void *ctx, store *s, dqr_error *err)
{
    grant_set *gs = ctx;
    dqr_status st = store_exec(s, "DELETE FROM grants WHERE user_id = ?", (store_val[]){STORE_I(gs->user)}, 1, NULL,
                               NULL, NULL, err);
    const char *kinds[2] = {"pacs", "project"};
    json_t *lists[2] = {gs->pacs, gs->projects};
    for (int k = 0; k < 2 && st == DQR_OK; k++) {
        size_t i;
        json_t *v;
        json_array_foreach(lists[k], i, v)
        {
            char num[32];
            const char *target = json_is_string(v) ? json_string_value(v) : gw_pacs_target(json_integer_value(v), num);
            int64_t one;
            st = store_int(s, k == 0 ? "SELECT 1 FROM pacs WHERE CAST(id AS TEXT) = ?" : "SELECT 1 FROM projects WHERE id = ?",
                           (store_val[]){STORE_S(target)}, 1, &one, err);
            if (st == DQR_E_NOTFOUND)
                return dqr_error_set(err, DQR_E_USAGE, "no %s %s to grant", k == 0 ? "PACS" : "project", target);
            if (st != DQR_OK)
                break;
            st = store_exec(s, "INSERT INTO grants(user_id, kind, target) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                            (store_val[]){STORE_I(gs->user), STORE_S(kinds[k]), STORE_S(target)}, 3, NULL, NULL, NULL,
                            err);
            if (st != DQR_OK)
                break;
        }
    }
    return st;
}

static void grants_put(gw_req *r)
{
    grant_set gs = {gw_id(r->arg[0]), json_object_get(r->body, "pacs"), json_object_get(r->body, "projects")};
    int64_t one;
    if (store_int(r->g->db, "SELECT 1 FROM users WHERE id = ?", (store_val[]){STORE_I(gs.user)}, 1, &one, NULL)) {
        gw_fail(r, 404, "no user %s", r->arg[0]);
        return;
    }
    json_t *empty = json_array();
    gs.pacs = gs.pacs ? gs.pacs : empty, gs.projects = gs.projects ? gs.projects : empty;
    size_t i;
    json_t *v;
    bool ok = json_is_array(gs.pacs) && json_is_array(gs.projects);
    json_array_foreach(gs.pacs, i, v) ok = ok && json_is_integer(v);
    json_array_foreach(gs.projects, i, v) ok = ok && json_is_string(v);
    dqr_error err;
    if (!ok)
        gw_fail(r, 400, "send {\"pacs\": [PACS ids], \"projects\": [project ids]}");
    else if (store_tx(r->g->db, replace_grants, &gs, &err) != DQR_OK)
        gw_fail_err(r, &err);
    else {
        gw_audit(r->g, r->user.id, "grants_set", r->arg[0]);
        gw_reply(r, 200, gw_grants_json(r->g, gs.user));
    }
    json_decref(empty);
}

static void grants_get(gw_req *r)
{
    gw_reply(r, 200, gw_grants_json(r->g, gw_id(r->arg[0])));
}

const gw_route gw_routes_users[] = {
    {"GET", "/api/v1/users", GW_ADMIN, user_list},
    {"POST", "/api/v1/users", GW_ADMIN, user_create},
    {"GET", "/api/v1/users/{}", GW_ADMIN, user_get},
    {"PUT", "/api/v1/users/{}", GW_ADMIN, user_update},
    {"DELETE", "/api/v1/users/{}", GW_ADMIN, user_delete},
    {"GET", "/api/v1/users/{}/grants", GW_ADMIN, grants_get},
    {"PUT", "/api/v1/users/{}/grants", GW_ADMIN, grants_put},
    {NULL, NULL, GW_PUBLIC, NULL},
};
