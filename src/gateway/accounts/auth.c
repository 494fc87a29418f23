/* auth.c — tokens, the bootstrap admin, authentication of each request,
 * grants, and the views of sealed originals. Passwords and the login
 * throttle are login_guard.c's.
 *
 * Only a hash of each token is stored: a copy of the catalog gives no login. */
#include "gateway/internal.h"
#include "gateway/accounts/accounts.h"
#include "gateway/accounts/audit.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- tokens ---- */

/* The password of "Authorization: Basic base64(user:password)" into out
 * (DICOMweb clients that know only basic authentication send an API token
 * as the password; the user name is not checked, the token names its
 * user). False when h is no such header. */
static bool basic_password(const char *h, char *out, size_t cap)
{
    if (!h || strncasecmp(h, "Basic ", 6) != 0)
        return false;
    const char *b64 = h + 6 + strspn(h + 6, " ");
    char plain[512];
    size_t n = 0;
    if (sodium_base642bin((unsigned char *)plain, sizeof plain - 1, b64, strlen(b64), " ", &n, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0)
        return false;
    plain[n] = '\0';
    const char *colon = strchr(plain, ':');
    bool ok = colon && strlen(colon + 1) < cap;
    if (ok)
        snprintf(out, cap, "%s", colon + 1);
    sodium_memzero(plain, sizeof plain);
    return ok;
}

void gw_request_token_hash(gw_req *r, char hash[65])
{
    const char *h = http_header(r->http, "Authorization");
    char basic[256];
    if (basic_password(h, basic, sizeof basic)) {
        gw_token_hash(basic, hash);
        sodium_memzero(basic, sizeof basic);
        return;
    }
    const char *tok = h && strncasecmp(h, "Bearer ", 7) == 0 ? h + 7 : "";
    gw_token_hash(tok + strspn(tok, " "), hash);
}

int64_t gw_tokens_revoke(gw *g, int64_t user, const char *keep_hash)
{
    int64_t n = 0;
    store_exec(g->db, "DELETE FROM tokens WHERE user_id = ? AND token_hash <> ?",
               (store_val[]){STORE_I(user), STORE_S(keep_hash ? keep_hash : "")}, 2, NULL, NULL, &n, NULL);
    if (n > 0) {
        char what[64];
        snprintf(what, sizeof what, "user=%lld tokens=%lld", (long long)user, (long long)n);
        gw_audit(g, user, "token_revoke", what);
    }
    return n;
}

void gw_token_hash(const char *tok, char hash[65])
{
    unsigned char h[32];
    crypto_generichash(h, sizeof h, (const unsigned char *)tok, strlen(tok), NULL, 0);
    sodium_bin2hex(hash, 65, h, sizeof h);
}

void gw_token_new(char tok[80], char hash[65])
{
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    memcpy(tok, "dqr_", 4);
    sodium_bin2hex(tok + 4, 65, raw, sizeof raw);
    gw_token_hash(tok, hash);
}

/* A readable random password: 20 characters of base64url. */
static void random_password(char out[32])
{
    unsigned char raw[15];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(out, 32, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

dqr_status gw_auth_bootstrap(gw *g, dqr_error *err)
{
    if (!(g->auth = gw_auth_new(&g->cfg)))
        return dqr_error_set(err, DQR_E_NOMEM, "cannot set up password checks (out of memory)");
    int64_t n = 0;
    dqr_status st = store_int(g->db, "SELECT COUNT(*) FROM users", NULL, 0, &n, err);
    if (st != DQR_OK || n > 0)
        return st;
    char generated[32] = "", why[128];
    const char *pw = g->cfg.admin_password;
    if (!*pw) {
        random_password(generated);
        pw = generated;
    } else if (!gw_password_policy(g, "admin", pw, why, sizeof why)) {
        return dqr_error_set(err, DQR_E_USAGE, "admin_password (DQR_ADMIN_PASSWORD) refused: %s", why);
    }
    char *hash = NULL;
    if ((st = gw_password_hash(g, pw, &hash, err)) != DQR_OK)
        return st;
    st = store_exec(g->db, "INSERT INTO users(username, pw_hash, role, phi, created) VALUES ('admin', ?, 'admin', 1, ?)",
                    (store_val[]){STORE_S(hash), STORE_I(time(NULL))}, 2, NULL, NULL, NULL, err);
    free(hash);
    if (st == DQR_OK && *generated && !(g->boot_password = strdup(generated)))
        st = dqr_error_set(err, DQR_E_NOMEM, "out of memory");
    sodium_memzero(generated, sizeof generated);
    if (st == DQR_OK)
        gw_log(g, "info", "bootstrap", "user=admin password=%s", *g->cfg.admin_password ? "configured" : "generated");
    return st;
}

typedef struct token_user {
    gw_user u;
    int64_t token, last_used;
} token_user;

static int take_user(void *ctx, int n, const char *const *names, const store_val *c)
{
    (void)names;
    token_user *t = ctx;
    if (n < 6)
        return 1;
    t->u.id = c[0].i;
    snprintf(t->u.name, sizeof t->u.name, "%s", c[1].s ? c[1].s : "");
    t->u.admin = c[2].s && strcmp(c[2].s, "admin") == 0;
    t->u.phi = c[3].i != 0;
    t->token = c[4].i;
    t->last_used = c[5].type == STORE_INT ? c[5].i : 0;
    return 1;
}

bool gw_authenticate(gw_req *r)
{
    const char *h = http_header(r->http, "Authorization");
    if (!h || (strncasecmp(h, "Bearer ", 7) != 0 && strncasecmp(h, "Basic ", 6) != 0))
        return false;
    bool basic = strncasecmp(h, "Basic ", 6) == 0;
    char hash[65];
    gw_request_token_hash(r, hash);
    token_user t = {0};
    dqr_error err;
    int64_t now = time(NULL), oldest_api = now - (int64_t)r->g->cfg.api_token_max_days * 86400;
    /* api_token_max_days also ends API tokens made before it was set */
    store_val args[] = {STORE_S(hash), STORE_I(now), STORE_I(r->g->cfg.api_token_max_days), STORE_I(oldest_api),
                        STORE_I(basic)}; /* basic: API tokens only */
    if (store_exec(r->g->db,
                   "SELECT u.id, u.username, u.role, u.phi, t.id, t.last_used"
                   " FROM tokens t JOIN users u ON u.id = t.user_id"
                   " WHERE t.token_hash = ? AND (t.expires = 0 OR t.expires > ?) AND u.disabled = 0"
                   " AND (t.kind <> 'api' OR ? = 0 OR t.created > ?) AND (? = 0 OR t.kind = 'api')",
                   args, 5, take_user, &t, NULL, &err) != DQR_OK ||
        !t.u.id)
        return false;
    if (now - t.last_used >= 60) /* at most one write a minute per token, not one per request */
        store_exec(r->g->db, "UPDATE tokens SET last_used = ? WHERE id = ? AND (last_used IS NULL OR last_used <= ?)",
                   (store_val[]){STORE_I(now), STORE_I(t.token), STORE_I(now - 60)}, 3, NULL, NULL, NULL, NULL);
    r->user = t.u;
    return true;
}

bool gw_may_use(gw_req *r, const char *kind, const char *target)
{
    if (r->user.admin)
        return true;
    int64_t one = 0;
    return store_int(r->g->db, "SELECT 1 FROM grants WHERE user_id = ? AND kind = ? AND target = ?",
                     (store_val[]){STORE_I(r->user.id), STORE_S(kind), STORE_S(target)}, 3, &one, NULL) == DQR_OK;
}

const char *gw_pacs_target(int64_t id, char out[32])
{
    snprintf(out, 32, "%lld", (long long)id);
    return out;
}

bool gw_may_use_pacs(gw_req *r, int64_t id)
{
    char target[32];
    return id > 0 && gw_may_use(r, "pacs", gw_pacs_target(id, target));
}

void gw_grants_drop(gw *g, const char *kind, const char *target)
{
    store_exec(g->db, "DELETE FROM grants WHERE kind = ? AND target = ?", (store_val[]){STORE_S(kind), STORE_S(target)},
               2, NULL, NULL, NULL, NULL);
}

void gw_reveal(gw_req *r, const gw_sealed_view *v)
{
    if (!r->user.phi) {
        gw_fail(r, 403, "showing %s needs the phi permission", v->what);
        return;
    }
    int64_t id = gw_id(r->arg[0]);
    dqr_error err = {0};
    json_t *row = gw_row(r->g, v->sql, (store_val[]){STORE_I(id)}, 1, &err);
    if (!row || (!r->user.admin && json_integer_value(json_object_get(row, "user_id")) != r->user.id)) {
        json_decref(row);
        gw_fail(r, 404, v->missing, r->arg[0]);
        return;
    }
    char *plain = NULL;
    const char *sealed = json_string_value(json_object_get(row, "sealed"));
    if (!sealed || store_vault_unseal(r->g->vault, sealed, &plain, NULL, &err) != DQR_OK) {
        json_decref(row);
        gw_fail(r, v->unseal_status, v->unsealable, r->arg[0], sealed ? err.message : "none kept");
        return;
    }
    json_decref(row);
    /* no original is shown that the audit trail does not record */
    if (gw_audit_req(r, v->action, r->arg[0]) != DQR_OK) {
        gw_wipe(plain);
        gw_fail(r, 500, "the audit trail cannot be written: original identifiers are not shown");
        return;
    }
    json_t *values = json_loads(plain, 0, NULL);
    gw_wipe(plain);
    gw_reply(r, 200, json_pack("{s:I,s:o}", "id", (json_int_t)id, v->member, values ? values : json_object()));
}

void gw_audit(gw *g, int64_t user, const char *action, const char *target)
{
    /* audit.c's table maps the action to its DICOM audit event */
    gw_audit_event(g, &(gw_audit_ev){.action = action, .user_id = user, .target = target});
}

/* The grants of a user, as the user endpoints and sign-in answer them. */
static int take_target(void *ctx, int n, const char *const *names, const store_val *c)
{
    (void)names;
    json_t *o = ctx;
    if (n < 2 || !c[0].s || !c[1].s)
        return 0;
    bool pacs = strcmp(c[0].s, "pacs") == 0;
    json_array_append_new(json_object_get(o, pacs ? "pacs" : "projects"),
                          pacs ? json_integer(strtoll(c[1].s, NULL, 10)) : json_string(c[1].s));
    return 0;
}

json_t *gw_grants_json(gw *g, int64_t id)
{
    json_t *o = json_pack("{s:[],s:[]}", "pacs", "projects");
    store_exec(g->db, "SELECT kind, target FROM grants WHERE user_id = ? ORDER BY kind, target",
               (store_val[]){STORE_I(id)}, 1, take_target, o, NULL, NULL);
    return o;
}

bool gw_archive_project_visible(gw_req *r)
{
    int64_t one;
    if (!gw_may_use(r, "project", r->arg[0]) ||
        store_int(r->g->db, "SELECT 1 FROM projects WHERE id = ?", (store_val[]){STORE_S(r->arg[0])}, 1, &one, NULL))
        return gw_fail(r, 404, "no project %s that you may use", r->arg[0]);
    return true;
}
