/* auth.c — passwords (argon2id), tokens, the bootstrap admin, and grants.
 * Only a hash of each token is stored: a copy of the catalog gives no login. */
#include "gateway/internal.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

char *gw_password_hash(const char *pw)
{
    char *out = malloc(crypto_pwhash_STRBYTES);
    if (out && crypto_pwhash_str_alg(out, pw, strlen(pw), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                     crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13) != 0) {
        free(out);
        return NULL;
    }
    return out;
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
    int64_t n = 0;
    dqr_status st = store_int(g->db, "SELECT COUNT(*) FROM users", NULL, 0, &n, err);
    if (st != DQR_OK || n > 0)
        return st;
    char generated[32] = "";
    const char *pw = g->cfg.admin_password;
    if (!*pw) {
        random_password(generated);
        pw = generated;
    }
    char *hash = gw_password_hash(pw);
    if (!hash)
        return dqr_error_set(err, DQR_E_NOMEM, "cannot hash the admin password (out of memory)");
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

static int take_user(void *ctx, int n, const char *const *names, const store_val *c)
{
    (void)names;
    gw_user *u = ctx;
    if (n < 4)
        return 1;
    u->id = c[0].i;
    snprintf(u->name, sizeof u->name, "%s", c[1].s ? c[1].s : "");
    u->admin = c[2].s && strcmp(c[2].s, "admin") == 0;
    u->phi = c[3].i != 0;
    return 1;
}

bool gw_authenticate(gw_req *r)
{
    const char *h = http_header(r->http, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return false;
    const char *tok = h + 7;
    while (*tok == ' ')
        tok++;
    char hash[65];
    gw_token_hash(tok, hash);
    gw_user u = {0};
    dqr_error err;
    if (store_exec(r->g->db,
                   "SELECT u.id, u.username, u.role, u.phi FROM tokens t JOIN users u ON u.id = t.user_id "
                   "WHERE t.token_hash = ? AND (t.expires = 0 OR t.expires > ?) AND u.disabled = 0",
                   (store_val[]){STORE_S(hash), STORE_I(time(NULL))}, 2, take_user, &u, NULL, &err) != DQR_OK ||
        !u.id)
        return false;
    r->user = u;
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

bool gw_may_use_pacs(gw_req *r, int64_t id)
{
    char target[32];
    snprintf(target, sizeof target, "%lld", (long long)id);
    return id > 0 && gw_may_use(r, "pacs", target);
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
    gw_audit(r->g, r->user.id, v->action, r->arg[0]);
    json_t *values = json_loads(plain, 0, NULL);
    gw_wipe(plain);
    gw_reply(r, 200, json_pack("{s:I,s:o}", "id", (json_int_t)id, v->member, values ? values : json_object()));
}

void gw_audit(gw *g, int64_t user, const char *action, const char *target)
{
    /* audit.c's table maps the action to its DICOM audit event */
    gw_audit_event(g, &(gw_audit_ev){.action = action, .user_id = user, .target = target});
}
