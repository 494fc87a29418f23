/* store.c — backend selection, the process-wide lock, transactions and
 * migrations. */
#include "store/backend.h"
#include "store/schema.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct store {
    const store_driver *be;
    char *target; /* what be->open was given: backups reach the catalog by it */
    void *db;
    pthread_mutex_t lock; /* recursive: a transaction's function runs statements */
    int version;
};

static dqr_status migrate(store *s, size_t upto, dqr_error *err);

/* The driver of url and the target it opens (the url without its scheme). */
static const store_driver *driver_for(const char *url, const char **target)
{
    *target = url;
    if (strncmp(url, "sqlite:", 7) == 0) {
        *target = url + 7;
    } else if (strncmp(url, "postgresql:", 11) == 0 || strncmp(url, "postgres:", 9) == 0) {
        return &store_postgres_driver; /* libpq takes the URI as it is */
    }
    return &store_sqlite_driver;
}

/* store_open stopping after migration upto (0: every migration). */
static store *open_upto(const char *url, size_t upto, dqr_error *err)
{
    const char *target = url;
    const store_driver *be = driver_for(url, &target);
    store *s = calloc(1, sizeof *s);
    if (!s) {
        dqr_error_set(err, DQR_E_NOMEM, "out of memory");
        return NULL;
    }
    s->be = be;
    s->target = strdup(target);
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&s->lock, &a);
    pthread_mutexattr_destroy(&a);
    s->db = s->be->open(target, err);
    if (!s->db || migrate(s, upto, err) != DQR_OK) {
        store_close(s);
        return NULL;
    }
    return s;
}

store *store_open(const char *url, dqr_error *err)
{
    return open_upto(url, 0, err);
}

store *store_open_at_version(const char *url, int version, dqr_error *err)
{
    size_t n = 0;
    store_migrations(&n);
    if (version < 1 || (size_t)version > n) {
        dqr_error_set(err, DQR_E_USAGE, "schema version %d is not between 1 and %zu", version, n);
        return NULL;
    }
    return open_upto(url, (size_t)version, err);
}

void store_close(store *s)
{
    if (!s)
        return;
    if (s->db)
        s->be->close(s->db);
    pthread_mutex_destroy(&s->lock);
    free(s->target);
    free(s);
}

const char *store_backend(const store *s)
{
    return s->be->name;
}

int store_schema_version(const store *s)
{
    return s->version;
}

dqr_status store_exec(store *s, const char *sql, const store_val *args, int nargs, store_row_fn fn, void *ctx,
                      int64_t *changes, dqr_error *err)
{
    pthread_mutex_lock(&s->lock);
    dqr_status st = s->be->exec(s->db, sql, args, nargs, fn, ctx, changes, err);
    pthread_mutex_unlock(&s->lock);
    return st;
}

dqr_status store_tx(store *s, store_tx_fn fn, void *ctx, dqr_error *err)
{
    pthread_mutex_lock(&s->lock);
    dqr_status st = s->be->exec(s->db, s->be->begin_sql, NULL, 0, NULL, NULL, NULL, err);
    if (st == DQR_OK) {
        st = fn(ctx, s, err);
        dqr_error ignore;
        if (st == DQR_OK)
            st = s->be->exec(s->db, "COMMIT", NULL, 0, NULL, NULL, NULL, err);
        if (st != DQR_OK)
            s->be->exec(s->db, "ROLLBACK", NULL, 0, NULL, NULL, NULL, &ignore);
    }
    pthread_mutex_unlock(&s->lock);
    return st;
}

static int first_int(void *ctx, int n, const char *const *names, const store_val *cols)
{
    (void)names;
    int64_t *out = ctx;
    if (n > 0 && cols[0].type == STORE_INT) {
        *out = cols[0].i;
    } else if (n > 0 && cols[0].type == STORE_TEXT) {
        *out = strtoll(cols[0].s, NULL, 10);
    } else {
        return 1;
    }
    out[1] = 1; /* found */
    return 1;
}

dqr_status store_int(store *s, const char *sql, const store_val *args, int nargs, int64_t *out, dqr_error *err)
{
    int64_t got[2] = {0, 0};
    dqr_status st = store_exec(s, sql, args, nargs, first_int, got, NULL, err);
    if (st != DQR_OK)
        return st;
    if (!got[1])
        return DQR_E_NOTFOUND;
    *out = got[0];
    return DQR_OK;
}

/* text with every `from` replaced by `to` (caller frees). */
static char *replaced(const char *text, const char *from, const char *to)
{
    size_t n = 0, fl = strlen(from), tl = strlen(to);
    for (const char *p = text; (p = strstr(p, from)); p += fl)
        n++;
    char *out = malloc(strlen(text) + n * tl + 1), *o = out;
    if (!out)
        return NULL;
    for (const char *p = text;;) {
        const char *m = strstr(p, from);
        size_t k = m ? (size_t)(m - p) : strlen(p);
        memcpy(o, p, k), o += k;
        if (!m)
            break;
        memcpy(o, to, tl), o += tl;
        p = m + fl;
    }
    *o = '\0';
    return out;
}

/* text without the {{only:NAME}}...{{end}} parts meant for other backends
 * than name, and without the markers (caller frees). */
static char *only_for(const char *text, const char *name)
{
    static const char open[] = "{{only:", close[] = "{{end}}";
    char *out = malloc(strlen(text) + 1), *o = out;
    if (!out)
        return NULL;
    for (const char *p = text;;) {
        const char *m = strstr(p, open);
        size_t k = m ? (size_t)(m - p) : strlen(p);
        memcpy(o, p, k), o += k;
        if (!m)
            break;
        const char *body = strstr(m, "}}"), *end = strstr(m, close);
        if (!end) { /* an unclosed part: kept whole, so the SQL error shows it */
            strcpy(o, m);
            return out;
        }
        size_t nl = (size_t)(body - m) - (sizeof open - 1);
        bool mine = nl == strlen(name) && strncmp(m + sizeof open - 1, name, nl) == 0;
        if (mine)
            memcpy(o, body + 2, (size_t)(end - body - 2)), o += end - body - 2;
        p = end + sizeof close - 1;
    }
    *o = '\0';
    return out;
}

/* The schema text in the backend's dialect: its parts of {{only:NAME}},
 * INTEGER as its 64-bit integer type, {{PK}} its auto-numbered key. */
static char *dialect(const store *s, const char *sql)
{
    char *mine = only_for(sql, s->be->name);
    char *a = mine ? replaced(mine, "INTEGER", s->be->int_type) : NULL;
    char *b = a ? replaced(a, "{{PK}}", s->be->serial_pk) : NULL;
    free(mine);
    free(a);
    return b;
}

typedef struct step {
    int version;
    const char *sql;
} step;

static dqr_status apply_step(void *ctx, store *s, dqr_error *err)
{
    const step *m = ctx;
    char *sql = dialect(s, m->sql);
    if (!sql)
        return dqr_error_set(err, DQR_E_NOMEM, "out of memory");
    dqr_status st = s->be->exec(s->db, sql, NULL, 0, NULL, NULL, NULL, err);
    free(sql);
    if (st == DQR_OK)
        st = s->be->exec(s->db, "INSERT INTO schema_version(version) VALUES (?)", (store_val[]){STORE_I(m->version)}, 1,
                         NULL, NULL, NULL, err);
    return st;
}

static dqr_status migrate(store *s, size_t upto, dqr_error *err)
{
    dqr_status st = store_exec(s, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY)", NULL, 0,
                               NULL, NULL, NULL, err);
    int64_t have = 0;
    if (st == DQR_OK) {
        st = store_int(s, "SELECT COALESCE(MAX(version), 0) FROM schema_version", NULL, 0, &have, err);
    }
    if (st != DQR_OK)
        return st;
    size_t n = 0;
    const char *const *list = store_migrations(&n);
    if ((size_t)have > n)
        return dqr_error_set(err, DQR_E_UNSUPPORTED,
                             "catalog schema version %lld is newer than this dqr (%zu): upgrade dqr", (long long)have, n);
    if (upto && upto < n)
        n = upto;
    for (size_t v = (size_t)have + 1; v <= n; v++) {
        step m = {(int)v, list[v - 1]};
        st = store_tx(s, apply_step, &m, err);
        if (st != DQR_OK) {
            dqr_error_prefix(err, "migration %zu: ", v);
            return st;
        }
    }
    s->version = (int)(have > (int64_t)n ? have : (int64_t)n);
    return DQR_OK;
}

static int max_version(void *ctx, int n, const char *const *names, const store_val *cols)
{
    (void)names;
    if (n > 0 && cols[0].type == STORE_INT)
        *(int64_t *)ctx = cols[0].i;
    else if (n > 0 && cols[0].type == STORE_TEXT)
        *(int64_t *)ctx = strtoll(cols[0].s, NULL, 10);
    return 1;
}

dqr_status store_check(const char *url, int *version, dqr_error *err)
{
    const char *target;
    const store_driver *be = driver_for(url, &target);
    *version = 0;
    struct stat sb;
    if (be == &store_sqlite_driver && stat(target, &sb) != 0) { /* a new catalog: its folder must take it */
        if (errno != ENOENT)
            return dqr_error_set(err, DQR_E_IO, "catalog %s: %s", target, strerror(errno));
        return DQR_OK;
    }
    void *db = be->open(target, err);
    if (!db)
        return err->code ? err->code : DQR_E_IO;
    int64_t have = 0;
    dqr_error none;
    /* a catalog no dqr has opened yet has no schema_version table: version 0 */
    be->exec(db, "SELECT MAX(version) FROM schema_version", NULL, 0, max_version, &have, NULL, &none);
    be->close(db);
    size_t n = 0;
    store_migrations(&n);
    if ((size_t)have > n)
        return dqr_error_set(err, DQR_E_UNSUPPORTED,
                             "catalog schema version %lld is newer than this dqr (%zu): upgrade dqr", (long long)have, n);
    *version = (int)have;
    return DQR_OK;
}

dqr_status store_backup(store *s, const char *dest, dqr_error *err)
{
    pthread_mutex_lock(&s->lock);
    dqr_status st = s->target ? s->be->backup(s->db, s->target, dest, err)
                              : dqr_error_set(err, DQR_E_NOMEM, "out of memory");
    pthread_mutex_unlock(&s->lock);
    return st;
}

dqr_status store_restore(const char *url, const char *src, bool replace, dqr_error *err)
{
    const char *target;
    const store_driver *be = driver_for(url, &target);
    return be->restore(target, src, replace, err);
}
