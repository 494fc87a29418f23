/* sqlite.c — the SQLite catalog backend (the embedded default): WAL journal,
 * a busy timeout so a second process waits instead of failing, foreign keys
 * on. One connection in serialized mode; store.c serializes calls. */
#include "store/backend.h"

#include <sqlite3.h>
#include <string.h>

static void *sq_open(const char *target, dqr_error *err)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(target, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL);
    if (rc != SQLITE_OK) {
        dqr_error_set(err, DQR_E_IO, "%s: %s", target, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 10000);
    char *msg = NULL;
    if (sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;", NULL, NULL,
                     &msg) != SQLITE_OK) {
        dqr_error_set(err, DQR_E_IO, "%s: %s", target, msg ? msg : "cannot set up the database");
        sqlite3_free(msg);
        sqlite3_close(db);
        return NULL;
    }
    return db;
}

static void sq_close(void *db)
{
    sqlite3_close(db);
}

static int bind_args(sqlite3_stmt *st, const store_val *args, int nargs)
{
    int want = sqlite3_bind_parameter_count(st);
    for (int i = 0; i < want && i < nargs; i++) {
        const store_val *v = &args[i];
        int rc = v->type == STORE_INT    ? sqlite3_bind_int64(st, i + 1, v->i)
                 : v->type == STORE_TEXT ? sqlite3_bind_text(st, i + 1, v->s, -1, SQLITE_STATIC)
                 : v->type == STORE_BLOB ? sqlite3_bind_blob(st, i + 1, v->s, (int)v->n, SQLITE_STATIC)
                                         : sqlite3_bind_null(st, i + 1);
        if (rc != SQLITE_OK)
            return rc;
    }
    return SQLITE_OK;
}

/* Hand one row to fn; returns fn's verdict. */
static int pass_row(sqlite3_stmt *st, store_row_fn fn, void *ctx)
{
    enum { MAXCOL = 64 };
    int n = sqlite3_column_count(st);
    if (n > MAXCOL)
        n = MAXCOL;
    const char *names[MAXCOL];
    store_val cols[MAXCOL];
    for (int i = 0; i < n; i++) {
        names[i] = sqlite3_column_name(st, i);
        store_val v = {STORE_NULL, 0, NULL, 0};
        switch (sqlite3_column_type(st, i)) {
        case SQLITE_INTEGER: v.type = STORE_INT, v.i = sqlite3_column_int64(st, i); break;
        case SQLITE_FLOAT: v.type = STORE_INT, v.i = (int64_t)sqlite3_column_double(st, i); break;
        case SQLITE_TEXT:
            v.type = STORE_TEXT, v.s = (const char *)sqlite3_column_text(st, i);
            v.n = (size_t)sqlite3_column_bytes(st, i);
            break;
        case SQLITE_BLOB:
            v.type = STORE_BLOB, v.s = sqlite3_column_blob(st, i);
            v.n = (size_t)sqlite3_column_bytes(st, i);
            break;
        default: break;
        }
        cols[i] = v;
    }
    return fn(ctx, n, names, cols);
}

static dqr_status fail(sqlite3 *db, int rc, const char *sql, dqr_error *err)
{
    int base = rc & 0xff;
    dqr_status code = base == SQLITE_CONSTRAINT && (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
                          ? DQR_E_CONFLICT
                      : base == SQLITE_CONSTRAINT ? DQR_E_USAGE
                                                   : DQR_E_IO;
    return dqr_error_set(err, code, "catalog: %s (in \"%.60s\")", sqlite3_errmsg(db), sql);
}

static dqr_status sq_exec(void *handle, const char *sql, const store_val *args, int nargs, store_row_fn fn, void *ctx,
                          int64_t *changes, dqr_error *err)
{
    sqlite3 *db = handle;
    const char *tail = sql;
    int64_t total = 0;
    while (tail && *tail) {
        sqlite3_stmt *st = NULL;
        const char *next = NULL;
        int rc = sqlite3_prepare_v2(db, tail, -1, &st, &next);
        if (rc != SQLITE_OK)
            return fail(db, rc, tail, err);
        if (!st) /* only whitespace or a comment left */
            break;
        rc = bind_args(st, args, nargs);
        bool stopped = false;
        while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
            if (!stopped && fn && pass_row(st, fn, ctx) != 0)
                stopped = true; /* keep stepping so RETURNING writes complete */
            rc = SQLITE_OK;
        }
        if (rc != SQLITE_DONE) {
            rc = sqlite3_extended_errcode(db);
            dqr_status s = fail(db, rc, tail, err);
            sqlite3_finalize(st);
            return s;
        }
        total += sqlite3_changes(db);
        sqlite3_finalize(st);
        tail = next;
    }
    if (changes)
        *changes = total;
    return DQR_OK;
}

/* Copy every page of from into to with the online backup API, in one step:
 * one read transaction, which in WAL mode does not stop the writers of
 * other processes, so the copy is one consistent state even under a steady
 * write load (in small steps a write by another process restarts the copy,
 * which might never finish). A busy database is waited for. */
static dqr_status copy_db(sqlite3 *from, sqlite3 *to, const char *what, dqr_error *err)
{
    sqlite3_backup *b = sqlite3_backup_init(to, "main", from, "main");
    if (!b)
        return dqr_error_set(err, DQR_E_IO, "%s: %s", what, sqlite3_errmsg(to));
    int rc;
    while ((rc = sqlite3_backup_step(b, -1)) == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
        if (rc != SQLITE_OK)
            sqlite3_sleep(50);
    }
    sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE)
        return dqr_error_set(err, DQR_E_IO, "%s: %s", what, sqlite3_errstr(rc));
    return DQR_OK;
}

static dqr_status sq_backup(void *db, const char *target, const char *dest, dqr_error *err)
{
    (void)target;
    sqlite3 *to = NULL;
    if (sqlite3_open_v2(dest, &to, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        dqr_error_set(err, DQR_E_IO, "backup %s: %s", dest, to ? sqlite3_errmsg(to) : "cannot open");
        sqlite3_close(to);
        return DQR_E_IO;
    }
    dqr_status st = copy_db(db, to, dest, err);
    /* the copy is one self-contained file: no -wal beside it */
    if (st == DQR_OK && sqlite3_exec(to, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL) != SQLITE_OK)
        st = dqr_error_set(err, DQR_E_IO, "backup %s: %s", dest, sqlite3_errmsg(to));
    sqlite3_close(to);
    return st;
}

static dqr_status sq_restore(const char *target, const char *src, bool replace, dqr_error *err)
{
    sqlite3 *from = NULL;
    if (sqlite3_open_v2(src, &from, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        dqr_error_set(err, DQR_E_IO, "restore %s: %s", src, from ? sqlite3_errmsg(from) : "cannot open");
        sqlite3_close(from);
        return DQR_E_IO;
    }
    sqlite3 *to = sq_open(target, err);
    dqr_status st = to ? DQR_OK : err->code;
    if (st == DQR_OK && !replace) {
        sqlite3_stmt *q = NULL;
        int tables = 0;
        if (sqlite3_prepare_v2(to, "SELECT COUNT(*) FROM sqlite_master", -1, &q, NULL) == SQLITE_OK &&
            sqlite3_step(q) == SQLITE_ROW)
            tables = sqlite3_column_int(q, 0);
        sqlite3_finalize(q);
        if (tables > 0)
            st = dqr_error_set(err, DQR_E_CONFLICT, "catalog %s is not empty: restore onto a fresh one (or --force)",
                               target);
    }
    if (st == DQR_OK)
        st = copy_db(from, to, target, err);
    if (to)
        sqlite3_close(to);
    sqlite3_close(from);
    return st;
}

const store_driver store_sqlite_driver = {
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .exec = sq_exec,
    /* AUTOINCREMENT: a deleted row's id is never handed out again (plain
     * INTEGER PRIMARY KEY reuses the highest one) */
    .serial_pk = "INTEGER PRIMARY KEY AUTOINCREMENT",
    .int_type = "INTEGER",
    .begin_sql = "BEGIN IMMEDIATE", /* take the write lock now: no deadlock on upgrade */
    .backup = sq_backup,
    .restore = sq_restore,
};
