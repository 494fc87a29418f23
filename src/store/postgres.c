/* postgres.c — the PostgreSQL catalog backend (libpq): for sites that want
 * their catalog in a database server. Callers' `?` placeholders become
 * $1..$n; integers travel as text, blobs as binary; unique violations
 * (SQLSTATE 23505) are DQR_E_CONFLICT, as with SQLite. One connection,
 * serialized by store.c. */
#include "store/backend.h"

#include <libpq-fe.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *pg_open(const char *target, dqr_error *err)
{
    PGconn *c = PQconnectdb(target);
    if (!c || PQstatus(c) != CONNECTION_OK) {
        const char *m = c ? PQerrorMessage(c) : "out of memory";
        size_t n = strcspn(m, "\n");
        dqr_error_set(err, DQR_E_IO, "PostgreSQL catalog: %.*s", (int)n, m);
        PQfinish(c);
        return NULL;
    }
    PGresult *r = PQexec(c, "SET client_min_messages = warning");
    PQclear(r);
    return c;
}

/* The server went away (restarted, crashed, a network cut): the statement
 * that found out fails, as it must (it may have run or not; a transaction
 * is lost), and the connection is made again so the next statement works
 * once the server is back, instead of every later one failing. */
static void reconnect_if_lost(PGconn *c)
{
    if (PQstatus(c) != CONNECTION_BAD)
        return;
    PQreset(c);
    if (PQstatus(c) == CONNECTION_OK)
        PQclear(PQexec(c, "SET client_min_messages = warning"));
}

static void pg_close(void *db)
{
    PQfinish(db);
}

/* sql with each `?` outside quotes turned into $1, $2, ... (caller frees). */
static char *numbered(const char *sql, int *count)
{
    size_t n = strlen(sql);
    char *out = malloc(n * 4 + 1), *o = out;
    bool quoted = false;
    int k = 0;
    if (!out)
        return NULL;
    for (const char *p = sql; *p; p++) {
        if (*p == '\'')
            quoted = !quoted;
        if (*p == '?' && !quoted)
            o += sprintf(o, "$%d", ++k);
        else
            *o++ = *p;
    }
    *o = '\0';
    *count = k;
    return out;
}

static dqr_status fail(PGresult *r, PGconn *c, const char *sql, dqr_error *err)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *m = r ? PQresultErrorMessage(r) : PQerrorMessage(c);
    size_t n = strcspn(m, "\n");
    dqr_status code = state && strcmp(state, "23505") == 0 ? DQR_E_CONFLICT
                      : state && strncmp(state, "23", 2) == 0 ? DQR_E_USAGE
                                                               : DQR_E_IO;
    return dqr_error_set(err, code, "catalog: %.*s (in \"%.60s\")", (int)n, m, sql);
}

/* One column of one row as a store value (text results). */
static store_val value(const PGresult *r, int row, int col)
{
    store_val v = {STORE_NULL, 0, NULL, 0};
    if (PQgetisnull(r, row, col))
        return v;
    const char *s = PQgetvalue(r, row, col);
    switch (PQftype(r, col)) {
    case 16: /* bool */ v.type = STORE_INT, v.i = s[0] == 't'; break;
    case 20: case 21: case 23: case 1700: /* int8, int2, int4, numeric (sums) */
        v.type = STORE_INT, v.i = strtoll(s, NULL, 10);
        break;
    default: v.type = STORE_TEXT, v.s = s, v.n = (size_t)PQgetlength(r, row, col); break;
    }
    return v;
}

static void pass_rows(PGresult *r, store_row_fn fn, void *ctx)
{
    enum { MAXCOL = 64 };
    int ncol = PQnfields(r) < MAXCOL ? PQnfields(r) : MAXCOL;
    const char *names[MAXCOL];
    store_val cols[MAXCOL];
    for (int c = 0; c < ncol; c++)
        names[c] = PQfname(r, c);
    for (int row = 0; row < PQntuples(r); row++) {
        for (int c = 0; c < ncol; c++)
            cols[c] = value(r, row, c);
        if (fn(ctx, ncol, names, cols) != 0)
            break;
    }
}

static dqr_status pg_exec(void *db, const char *sql, const store_val *args, int nargs, store_row_fn fn, void *ctx,
                          int64_t *changes, dqr_error *err)
{
    PGconn *c = db;
    PGresult *r;
    if (nargs == 0 && !fn && !strchr(sql, '?')) {
        r = PQexec(c, sql); /* may hold several statements (migrations) */
    } else {
        int count = 0;
        char *text = numbered(sql, &count);
        if (!text)
            return dqr_error_set(err, DQR_E_NOMEM, "out of memory");
        if (count > nargs || count > 64) {
            free(text);
            return dqr_error_set(err, DQR_E_USAGE, "catalog: %d parameters given, the statement has %d", nargs, count);
        }
        const char *values[64];
        int lengths[64], formats[64];
        char ints[64][24];
        for (int i = 0; i < count; i++) {
            const store_val *v = &args[i];
            lengths[i] = 0, formats[i] = 0;
            switch (v->type) {
            case STORE_INT: snprintf(ints[i], sizeof ints[i], "%lld", (long long)v->i), values[i] = ints[i]; break;
            case STORE_TEXT: values[i] = v->s; break;
            case STORE_BLOB: values[i] = v->s, lengths[i] = (int)v->n, formats[i] = 1; break;
            default: values[i] = NULL; break;
            }
        }
        r = PQexecParams(c, text, count, NULL, values, lengths, formats, 0);
        free(text);
    }
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        dqr_status s = fail(r, c, sql, err);
        PQclear(r);
        reconnect_if_lost(c);
        return s;
    }
    if (fn && st == PGRES_TUPLES_OK)
        pass_rows(r, fn, ctx);
    if (changes)
        *changes = strtoll(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return DQR_OK;
}

/* Run a PostgreSQL client program (argv[0] on PATH) and wait for it; its
 * first line on stderr becomes the error. */
static dqr_status run_client(char *const argv[], dqr_error *err)
{
    int fds[2];
    if (pipe(fds) != 0)
        return dqr_error_set(err, DQR_E_IO, "%s: cannot make a pipe", argv[0]);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]), close(fds[1]);
        return dqr_error_set(err, DQR_E_IO, "%s: cannot start it", argv[0]);
    }
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]), close(fds[1]);
        int null = open("/dev/null", O_RDWR);
        if (null >= 0)
            dup2(null, 0), dup2(null, 1);
        execvp(argv[0], argv);
        dprintf(2, "%s is not installed (Debian: postgresql-client)\n", argv[0]);
        _exit(127);
    }
    close(fds[1]);
    char msg[512];
    size_t n = 0;
    ssize_t r;
    while ((r = read(fds[0], msg + n, sizeof msg - 1 - n)) > 0 && (n += (size_t)r) < sizeof msg - 1) {
    }
    while (read(fds[0], (char[256]){0}, 256) > 0) { /* drain: the child must not block on a full pipe */
    }
    close(fds[0]);
    msg[n] = '\0';
    int status = 0;
    waitpid(pid, &status, 0);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return DQR_OK;
    return dqr_error_set(err, DQR_E_IO, "%s failed: %.*s", argv[0], (int)strcspn(msg, "\n"), n ? msg : "no message");
}

/* pg_dump's custom format: one REPEATABLE READ snapshot of every table,
 * taken while the gateway keeps writing. */
static dqr_status pg_backup(void *db, const char *target, const char *dest, dqr_error *err)
{
    (void)db;
    char *argv[] = {"pg_dump", "--format=custom", "--no-owner", "--no-privileges", "--file", (char *)dest,
                    "--dbname", (char *)target, NULL};
    return run_client(argv, err);
}

static dqr_status pg_restore(const char *target, const char *src, bool replace, dqr_error *err)
{
    PGconn *c = pg_open(target, err);
    if (!c)
        return err->code;
    PGresult *r = PQexec(c, "SELECT COUNT(*) FROM pg_tables WHERE schemaname = current_schema()");
    long tables = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 ? strtol(PQgetvalue(r, 0, 0), NULL, 10) : -1;
    PQclear(r);
    PQfinish(c);
    if (tables < 0)
        return dqr_error_set(err, DQR_E_IO, "PostgreSQL catalog: cannot list its tables");
    if (tables > 0 && !replace)
        return dqr_error_set(err, DQR_E_CONFLICT, "the PostgreSQL catalog is not empty: restore onto a fresh one (or --force)");
    char *plain[] = {"pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
                     "--dbname", (char *)target, (char *)src, NULL};
    char *clean[] = {"pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
                     "--clean", "--if-exists", "--dbname", (char *)target, (char *)src, NULL};
    return run_client(tables > 0 ? clean : plain, err);
}

const store_driver store_postgres_driver = {
    .name = "postgresql",
    .open = pg_open,
    .close = pg_close,
    .exec = pg_exec,
    .serial_pk = "BIGSERIAL PRIMARY KEY",
    .int_type = "BIGINT",
    .begin_sql = "BEGIN",
    .backup = pg_backup,
    .restore = pg_restore,
};
