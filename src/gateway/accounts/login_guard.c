/* login_guard.c — the account guards, in memory: the gate that bounds
 * concurrent password hashes, the password policy, and the login throttle.
 *
 * Each argon2id computation takes 64 MiB, so at most login_hash_concurrency
 * run at once and the others wait briefly for a turn (then the caller is
 * told to retry): many parallel logins cost time, not memory. A login for
 * an unknown or disabled user is checked against a dummy hash so that it
 * takes as long as a wrong password. The throttle counts failures per
 * account name and per client address in two fixed tables (in memory: a
 * restart forgets them; the oldest idle entry makes room), so a flood of
 * names or addresses cannot grow it. */
#include "gateway/internal.h"
#include "gateway/accounts/accounts.h"

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

gw_auth *gw_auth_new(const gw_config *cfg)
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
