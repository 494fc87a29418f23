/* auth.c — passwords (argon2id), tokens, the bootstrap admin, grants, and
 * the in-memory account guards: the login throttle and the gate that
 * bounds concurrent password hashes.
 *
 * Only a hash of each token is stored: a copy of the catalog gives no login.
 * Each argon2id computation takes 64 MiB, so at most login_hash_concurrency
 * run at once and the others wait briefly for a turn (then the caller is
 * told to retry): many parallel logins cost time, not memory. A login for
 * an unknown or disabled user is checked against a dummy hash so that it
 * takes as long as a wrong password. The throttle counts failures per
 * account name and per client address in two fixed tables (in memory: a
 * restart forgets them; the oldest idle entry makes room), so a flood of
 * names or addresses cannot grow it. */
#include "gateway/internal.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum {
    THROTTLE_SLOTS = 512,  /* per table: accounts, addresses */
    HASH_WAIT_SECONDS = 3, /* how long a hash waits for its turn */
    LOCKOUT_GROWTH_MAX = 6 /* the lockout doubles per further failure, at most 2^6 times */
};

typedef struct throttle_slot {
    char key[72]; /* account name or client address; "" when free */
    int failures;
    time_t last, until; /* last failure; locked until */
} throttle_slot;

typedef struct throttle {
    throttle_slot slot[THROTTLE_SLOTS];
    int max_failures;
} throttle;

struct gw_auth {
    pthread_mutex_t lock; /* both tables and the hash count */
    pthread_cond_t turn;
    int hashing;
    throttle accounts, addresses;
    char dummy[crypto_pwhash_STRBYTES]; /* verified when the user is unknown */
};

/* ---- the hash gate ---- */

static bool hash_enter(gw *g)
{
    gw_auth *a = g->auth;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += HASH_WAIT_SECONDS;
    int rc = 0;
    pthread_mutex_lock(&a->lock);
    while (a->hashing >= g->cfg.login_hash_concurrency && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&a->turn, &a->lock, &until);
    bool in = a->hashing < g->cfg.login_hash_concurrency;
    if (in)
        a->hashing++;
    pthread_mutex_unlock(&a->lock);
    return in;
}

static void hash_leave(gw *g)
{
    pthread_mutex_lock(&g->auth->lock);
    g->auth->hashing--;
    pthread_cond_signal(&g->auth->turn);
    pthread_mutex_unlock(&g->auth->lock);
}

static bool argon2_hash(char out[crypto_pwhash_STRBYTES], const char *pw)
{
    return crypto_pwhash_str_alg(out, pw, strlen(pw), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                 crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13) == 0;
}

static dqr_status busy(dqr_error *err)
{
    return dqr_error_set(err, DQR_E_LIMIT, "too many password checks at once; try again in 1 s");
}

dqr_status gw_password_hash(gw *g, const char *pw, char **out, dqr_error *err)
{
    *out = malloc(crypto_pwhash_STRBYTES);
    if (!*out)
        return dqr_error_set(err, DQR_E_NOMEM, "out of memory");
    if (!hash_enter(g)) {
        free(*out), *out = NULL;
        return busy(err);
    }
    bool ok = argon2_hash(*out, pw);
    hash_leave(g);
    if (!ok) {
        free(*out), *out = NULL;
        return dqr_error_set(err, DQR_E_NOMEM, "cannot hash the password (out of memory)");
    }
    return DQR_OK;
}

dqr_status gw_password_verify(gw *g, const char *hash, const char *pw, bool *match, dqr_error *err)
{
    *match = false;
    if (!hash_enter(g))
        return busy(err);
    bool ok = crypto_pwhash_str_verify(hash ? hash : g->auth->dummy, pw, strlen(pw)) == 0;
    hash_leave(g);
    *match = ok && hash;
    return DQR_OK;
}

bool gw_password_policy(const gw *g, const char *user, const char *pw, char *msg, size_t len)
{
    size_t n = strlen(pw), un = strlen(user);
    if (n < (size_t)g->cfg.password_min_length) {
        snprintf(msg, len, "the password must have at least %d characters", g->cfg.password_min_length);
        return false;
    }
    for (size_t i = 0; un && i + un <= n; i++)
        if (strncasecmp(pw + i, user, un) == 0) {
            snprintf(msg, len, "the password must not contain the user name");
            return false;
        }
    return true;
}

/* ---- the login throttle ---- */

/* Whether s makes better room than spare: a free slot, else an unlocked one
 * with the oldest failure, else (all locked) the one whose lock ends first. */
static bool better_room(const throttle_slot *s, const throttle_slot *spare, time_t now)
{
    if (!spare || !s->key[0])
        return !spare || spare->key[0];
    if (!spare->key[0])
        return false;
    bool idle = s->until <= now, spare_idle = spare->until <= now;
    if (idle != spare_idle)
        return idle;
    return idle ? s->last < spare->last : s->until < spare->until;
}

static throttle_slot *find_slot(throttle *t, const char *key, time_t now, int window, bool make)
{
    throttle_slot *spare = NULL;
    for (int i = 0; i < THROTTLE_SLOTS; i++) {
        throttle_slot *s = &t->slot[i];
        if (s->key[0] && strncmp(s->key, key, sizeof s->key - 1) == 0) {
            if (s->until <= now && now - s->last > window)
                s->failures = 0; /* a quiet window forgets */
            return s;
        }
        if (better_room(s, spare, now))
            spare = s;
    }
    if (!make)
        return NULL;
    memset(spare, 0, sizeof *spare);
    snprintf(spare->key, sizeof spare->key, "%s", key);
    return spare;
}

int gw_login_retry_after(gw *g, const char *user, const char *addr)
{
    time_t now = time(NULL);
    int w = g->cfg.login_window_seconds;
    pthread_mutex_lock(&g->auth->lock);
    throttle_slot *a = find_slot(&g->auth->accounts, user, now, w, false),
                  *b = find_slot(&g->auth->addresses, addr, now, w, false);
    time_t until = a && a->until > now ? a->until : 0;
    if (b && b->until > until)
        until = b->until;
    pthread_mutex_unlock(&g->auth->lock);
    return until > now ? (int)(until - now) : 0;
}

/* Count one failure on s; true when it (re)starts a lockout. */
static bool count_failure(const gw *g, throttle *t, throttle_slot *s, time_t now)
{
    s->last = now;
    if (++s->failures < t->max_failures)
        return false;
    int growth = s->failures - t->max_failures;
    if (growth > LOCKOUT_GROWTH_MAX)
        growth = LOCKOUT_GROWTH_MAX;
    s->until = now + ((time_t)g->cfg.login_lockout_seconds << growth);
    return true;
}

bool gw_login_failed(gw *g, const char *user, const char *addr)
{
    time_t now = time(NULL);
    int w = g->cfg.login_window_seconds;
    gw_auth *a = g->auth;
    pthread_mutex_lock(&a->lock);
    bool locked = count_failure(g, &a->accounts, find_slot(&a->accounts, user, now, w, true), now);
    locked = count_failure(g, &a->addresses, find_slot(&a->addresses, addr, now, w, true), now) || locked;
    pthread_mutex_unlock(&a->lock);
    return locked;
}

void gw_login_ok(gw *g, const char *user)
{
    pthread_mutex_lock(&g->auth->lock);
    throttle_slot *s = find_slot(&g->auth->accounts, user, time(NULL), g->cfg.login_window_seconds, false);
    if (s)
        memset(s, 0, sizeof *s);
    pthread_mutex_unlock(&g->auth->lock);
}

static gw_auth *auth_new(const gw_config *cfg)
{
    gw_auth *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    pthread_mutex_init(&a->lock, NULL);
    pthread_cond_init(&a->turn, NULL);
    a->accounts.max_failures = cfg->login_max_failures;
    a->addresses.max_failures = cfg->login_address_max_failures;
    unsigned char raw[24];
    char pw[64];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(pw, sizeof pw, raw, sizeof raw);
    if (!argon2_hash(a->dummy, pw)) {
        gw_auth_free(a);
        return NULL;
    }
    return a;
}

void gw_auth_free(gw_auth *a)
{
    if (!a)
        return;
    pthread_mutex_destroy(&a->lock);
    pthread_cond_destroy(&a->turn);
    free(a);
}

void gw_fail_retry(gw_req *r, int status, int seconds, const char *sentence)
{
    char after[16];
    snprintf(after, sizeof after, "%d", seconds);
    http_add_header(r->http, "Retry-After", after);
    gw_fail(r, status, "%s; try again in %d s", sentence, seconds);
}

/* ---- tokens ---- */

void gw_request_token_hash(gw_req *r, char hash[65])
{
    const char *h = http_header(r->http, "Authorization");
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
    if (!(g->auth = auth_new(&g->cfg)))
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
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return false;
    char hash[65];
    gw_request_token_hash(r, hash);
    token_user t = {0};
    dqr_error err;
    int64_t now = time(NULL), oldest_api = now - (int64_t)r->g->cfg.api_token_max_days * 86400;
    /* api_token_max_days also ends API tokens made before it was set */
    store_val args[] = {STORE_S(hash), STORE_I(now), STORE_I(r->g->cfg.api_token_max_days), STORE_I(oldest_api)};
    if (store_exec(r->g->db,
                   "SELECT u.id, u.username, u.role, u.phi, t.id, t.last_used"
                   " FROM tokens t JOIN users u ON u.id = t.user_id"
                   " WHERE t.token_hash = ? AND (t.expires = 0 OR t.expires > ?) AND u.disabled = 0"
                   " AND (t.kind <> 'api' OR ? = 0 OR t.created > ?)",
                   args, 4, take_user, &t, NULL, &err) != DQR_OK ||
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
