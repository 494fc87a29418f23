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

void gw_audit(gw *g, int64_t user, const char *action, const char *target)
{
    store_exec(g->db, "INSERT INTO audit(at, user_id, action, target) VALUES (?, ?, ?, ?)",
               (store_val[]){STORE_I(time(NULL)), STORE_I(user), STORE_S(action), STORE_S(target)}, 4, NULL, NULL,
               NULL, NULL);
    gw_log(g, "info", "audit", "user_id=%lld action=%s target=%s", (long long)user, action, target ? target : "-");
}
