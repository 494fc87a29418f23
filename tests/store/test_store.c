/* test_store.c — the catalog interface on SQLite (migrations, statements,
 * conflicts, transactions, reopening) and the PHI vault. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/schema.h"
#include "store/store.h"
#include "store/vault.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/dqr-store-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd);
}

static store *open_in(const char *name)
{
    char url[128];
    snprintf(url, sizeof url, "sqlite:%s/%s", dir, name);
    dqr_error err = {0};
    store *s = store_open(url, &err);
    if (!s)
        fprintf(stderr, "%s\n", err.message);
    return s;
}

static void test_migrations_and_reopen(void **state)
{
    (void)state;
    store *s = open_in("a.db");
    assert_non_null(s);
    assert_string_equal(store_backend(s), "sqlite");
    assert_true(store_schema_version(s) >= 1);
    int v = store_schema_version(s);
    dqr_error err = {0};
    assert_int_equal(store_exec(s, "INSERT INTO settings(key, value) VALUES (?, ?)",
                                (store_val[]){STORE_S("k"), STORE_S("v1")}, 2, NULL, NULL, NULL, &err),
                     DQR_OK);
    store_close(s);
    s = open_in("a.db"); /* a second open applies nothing and keeps the rows */
    assert_non_null(s);
    assert_int_equal(store_schema_version(s), v);
    int64_t n = 0;
    assert_int_equal(store_int(s, "SELECT COUNT(*) FROM schema_version", NULL, 0, &n, &err), DQR_OK);
    assert_int_equal(n, v);
    assert_int_equal(store_int(s, "SELECT COUNT(*) FROM settings WHERE value = 'v1'", NULL, 0, &n, &err), DQR_OK);
    assert_int_equal(n, 1);
    store_close(s);
}

static int64_t one_int(store *s, const char *sql)
{
    int64_t v = -1;
    dqr_error err = {0};
    if (store_int(s, sql, NULL, 0, &v, &err) != DQR_OK)
        fprintf(stderr, "%s: %s\n", sql, err.message);
    return v;
}

static void exec_ok(store *s, const char *sql)
{
    dqr_error err = {0};
    dqr_status st = store_exec(s, sql, NULL, 0, NULL, NULL, NULL, &err);
    if (st != DQR_OK)
        fprintf(stderr, "%s: %s\n", sql, err.message);
    assert_int_equal(st, DQR_OK);
}

/* A new catalog never hands out an id twice, not even the highest one. */
static void test_ids_never_reused(void **state)
{
    (void)state;
    store *s = open_in("ids.db");
    assert_non_null(s);
    exec_ok(s, "INSERT INTO users(username, pw_hash, role, created) VALUES ('a', 'h', 'user', 0),"
               " ('b', 'h', 'user', 0)");
    exec_ok(s, "DELETE FROM users WHERE username = 'b'");
    exec_ok(s, "INSERT INTO users(username, pw_hash, role, created) VALUES ('c', 'h', 'user', 0)");
    assert_int_equal(one_int(s, "SELECT id FROM users WHERE username = 'c'"), 3);
    exec_ok(s, "INSERT INTO pacs(label, aet, host, port, created, updated) VALUES ('P', 'A', 'h', 1, 0, 0)");
    exec_ok(s, "DELETE FROM pacs");
    exec_ok(s, "INSERT INTO pacs(label, aet, host, port, created, updated) VALUES ('P', 'A', 'h', 1, 0, 0)");
    assert_int_equal(one_int(s, "SELECT id FROM pacs"), 2);
    store_close(s);
}

/* sql of migration text with {{PK}} as dqr wrote it before migration 4. */
static char *old_dialect(const char *sql)
{
    char *out = malloc(strlen(sql) * 2 + 1), *o = out;
    for (const char *p = sql; *p;) {
        if (strncmp(p, "{{PK}}", 6) == 0) {
            o += sprintf(o, "INTEGER PRIMARY KEY");
            p += 6;
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    return out;
}

/* A catalog at schema version 3 as older dqr made it (rowids reused), with
 * a deleted user and PACS whose history and grant are still there. */
static void make_v3_catalog(const char *path)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    const char *base = "PRAGMA foreign_keys=ON; CREATE TABLE schema_version (version INTEGER PRIMARY KEY)";
    assert_int_equal(sqlite3_exec(db, base, NULL, NULL, NULL), SQLITE_OK);
    size_t n = 0;
    const char *const *list = store_migrations(&n);
    assert_true(n >= 4);
    for (int v = 1; v <= 3; v++) {
        char *sql = old_dialect(list[v - 1]), ver[64];
        assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
        free(sql);
        snprintf(ver, sizeof ver, "INSERT INTO schema_version VALUES (%d)", v);
        assert_int_equal(sqlite3_exec(db, ver, NULL, NULL, NULL), SQLITE_OK);
    }
    const char *rows =
        "INSERT INTO users(username, pw_hash, role, created) VALUES ('admin', 'h', 'admin', 0),"
        " ('bob', 'h', 'user', 0), ('carol', 'h', 'user', 0);"
        "INSERT INTO tokens(user_id, token_hash, kind, created) VALUES (1, 't1', 'session', 0), (3, 't3', 'api', 0);"
        "INSERT INTO pacs(label, aet, host, port, created, updated) VALUES ('P1', 'A', 'h', 1, 0, 0),"
        " ('P2', 'B', 'h', 2, 0, 0);"
        "INSERT INTO projects(id, name, created, updated) VALUES ('PR', 'PR', 0, 0);"
        "INSERT INTO grants VALUES (2, 'pacs', '1'), (2, 'pacs', '2'), (2, 'project', 'GONE'), (3, 'pacs', '1');"
        "INSERT INTO import_requests(user_id, pacs_id, project, created) VALUES (3, 2, 'PR', 0);"
        "INSERT INTO import_sessions(request_id, pacs_id, project, study_uid, subject, session, state, queued, updated)"
        " VALUES (1, 2, 'PR', '1.2', 'S', 'E', 'done', 0, 0);"
        "INSERT INTO query_history(user_id, at, pacs_id, level, status, keys_enc) VALUES (3, 0, 2, 'STUDY', 'ok', 'x');"
        "INSERT INTO audit(at, user_id, action) VALUES (0, 1, 'a'), (0, 3, 'b');"
        "DELETE FROM users WHERE id = 3; DELETE FROM pacs WHERE id = 2;";
    char *msg = NULL;
    if (sqlite3_exec(db, rows, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s", msg);
    sqlite3_close(db);
}

/* Migration 4 rebuilds an old catalog: rows and ids kept, foreign keys
 * still valid, and new ids start above every id its history names. */
static void test_migration_4_rekeys_old_catalog(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/old.db", dir);
    make_v3_catalog(path);
    store *s = open_in("old.db");
    assert_non_null(s);
    assert_true(store_schema_version(s) >= 4);
    assert_int_equal(one_int(s, "SELECT COUNT(*) FROM users"), 2);
    assert_int_equal(one_int(s, "SELECT id FROM users WHERE username = 'bob'"), 2);
    assert_int_equal(one_int(s, "SELECT COUNT(*) FROM tokens WHERE user_id = 1"), 1);
    assert_int_equal(one_int(s, "SELECT COUNT(*) FROM import_sessions WHERE request_id = 1"), 1);
    assert_int_equal(one_int(s, "SELECT COUNT(*) FROM query_history WHERE user_id = 3"), 1);
    /* the grants of deleted PACS 2 and project GONE went with them */
    assert_int_equal(one_int(s, "SELECT COUNT(*) FROM grants"), 1);
    /* user 3 and PACS 2 were deleted before: their ids stay unused */
    exec_ok(s, "INSERT INTO users(username, pw_hash, role, created) VALUES ('dave', 'h', 'user', 0)");
    assert_int_equal(one_int(s, "SELECT id FROM users WHERE username = 'dave'"), 4);
    exec_ok(s, "INSERT INTO pacs(label, aet, host, port, created, updated) VALUES ('P2', 'B', 'h', 2, 0, 0)");
    assert_int_equal(one_int(s, "SELECT id FROM pacs WHERE label = 'P2'"), 3);
    exec_ok(s, "DELETE FROM audit WHERE id = 2"); /* the rebuilt audit table is AUTOINCREMENT too */
    exec_ok(s, "INSERT INTO audit(at, user_id, action) VALUES (0, 1, 'c')");
    assert_int_equal(one_int(s, "SELECT MAX(id) FROM audit"), 3);
    /* foreign keys point at the renamed tables and still cascade */
    assert_int_equal(one_int(s, "SELECT COUNT(*) FROM sqlite_master WHERE sql LIKE '%\\_new%' ESCAPE '\\'"), 0);
    exec_ok(s, "DELETE FROM users WHERE id = 1");
    assert_int_equal(one_int(s, "SELECT COUNT(*) FROM tokens"), 0);
    exec_ok(s, "DELETE FROM import_requests");
    assert_int_equal(one_int(s, "SELECT COUNT(*) FROM import_sessions"), 0);
    store_close(s);
}

/* Rows a deployment at schema version `version` typically holds, written
 * with only the columns that version has. */
static void fill_typical(store *s, int version)
{
    exec_ok(s, "INSERT INTO users(username, pw_hash, role, phi, created) VALUES ('alice', 'h1', 'admin', 1, 10)");
    exec_ok(s, "INSERT INTO users(username, pw_hash, role, created) VALUES ('bob', 'h2', 'user', 11)");
    exec_ok(s, "INSERT INTO tokens(user_id, token_hash, kind, created) VALUES (2, 'th', 'api', 12)");
    exec_ok(s, "INSERT INTO pacs(label, aet, host, port, created, updated) VALUES ('main', 'PACS', 'h', 104, 1, 1)");
    exec_ok(s, "INSERT INTO projects(id, name, dqr_enabled, script, created, updated)"
               " VALUES ('P1', 'One', 1, 'version \"6.3\"', 1, 1)");
    exec_ok(s, "INSERT INTO grants(user_id, kind, target) VALUES (2, 'pacs', '1'), (2, 'project', 'P1')");
    exec_ok(s, "INSERT INTO settings(key, value) VALUES ('site_script', 'x')");
    exec_ok(s, "INSERT INTO query_history(user_id, at, pacs_id, level, status, results, keys_enc)"
               " VALUES (2, 20, 1, 'STUDY', 'ok', 3, 'sealed-keys')");
    exec_ok(s, "INSERT INTO audit(at, user_id, action, target) VALUES (21, 2, 'query', '1')");
    if (version < 2)
        return;
    exec_ok(s, "INSERT INTO import_requests(user_id, pacs_id, project, created) VALUES (2, 1, 'P1', 30)");
    exec_ok(s, "INSERT INTO import_sessions(request_id, pacs_id, project, study_uid, subject, session, state,"
               " queued, updated, archived, orig_enc) VALUES (1, 1, 'P1', '1.2.3', 'S01', 'S01_MR1', 'done', 30, 31,"
               " 5, 'sealed-orig')");
    exec_ok(s, "INSERT INTO archive_instances(project, subject, session, series_uid, sop_uid, path, bytes,"
               " import_session, updated) VALUES ('P1', 'S01', 'S01_MR1', '1.2.3.4', '1.2.3.4.5', 'a/b.dcm', 99, 1, 31)");
    if (version >= 9)
        exec_ok(s, "INSERT INTO dicom_clients(aet, host, port, created, updated) VALUES ('VIEWER', 'h', 11112, 1, 1);"
                   "INSERT INTO dicom_client_projects(client_id, project) VALUES (1, 'P1')");
    if (version >= 11)
        exec_ok(s, "INSERT INTO subject_registry(project, patient_key, subject, orig_enc, created)"
                   " VALUES ('P1', 'k1', 'S01', 'sealed', 32)");
}

/* Migration 14: a project the catalog held keeps its returning-patient
 * policy ('propose', the default it was made under); a new one enforces
 * its registry unless told otherwise. The column replaced on the way
 * leaves the rows that point at projects in place, still cascading. */
static void check_registry_policy(store *s, int version)
{
    /* a project made at version 15 or later was made under the new default */
    assert_int_equal(one_int(s, version < 15 ? "SELECT COUNT(*) FROM projects WHERE id = 'P1' AND returning_patients = "
                                               "'propose'"
                                             : "SELECT COUNT(*) FROM projects WHERE id = 'P1' AND returning_patients = "
                                               "'enforce'"),
                     1);
    exec_ok(s, "INSERT INTO projects(id, name, created, updated) VALUES ('P9', 'Nine', 2, 2)");
    exec_ok(s, "INSERT INTO projects(id, name, created, updated, returning_patients) VALUES ('P8', 'E', 2, 2, 'propose')");
    assert_int_equal(one_int(s, "SELECT COUNT(*) FROM projects WHERE id = 'P9' AND returning_patients = 'enforce'"),
                     1);
    assert_int_equal(one_int(s, "SELECT COUNT(*) FROM projects WHERE id = 'P8' AND returning_patients = 'propose'"),
                     1);
    assert_int_equal(one_int(s, "SELECT COUNT(*) FROM dicom_client_projects WHERE project = 'P1'"), version >= 9);
    assert_int_equal(one_int(s, "SELECT COUNT(*) FROM subject_registry WHERE project = 'P1' AND subject = 'S01'"),
                     version >= 11);
    exec_ok(s, "DELETE FROM projects WHERE id = 'P1'");
    assert_int_equal(one_int(s, "SELECT COUNT(*) FROM dicom_client_projects"), 0);
    assert_int_equal(one_int(s, "SELECT COUNT(*) FROM subject_registry"), 0);
}

/* The rows fill_typical wrote, read back through the current schema. */
static void check_typical(store *s, int version)
{
    assert_int_equal(one_int(s, "SELECT COUNT(*) FROM users"), 2);
    assert_int_equal(one_int(s, "SELECT id FROM users WHERE username = 'bob' AND pw_hash = 'h2'"), 2);
    assert_int_equal(one_int(s, "SELECT phi FROM users WHERE username = 'alice'"), 1);
    assert_int_equal(one_int(s, "SELECT COUNT(*) FROM tokens WHERE user_id = 2 AND token_hash = 'th'"), 1);
    assert_int_equal(one_int(s, "SELECT port FROM pacs WHERE label = 'main'"), 104);
    assert_int_equal(one_int(s, "SELECT tls FROM pacs WHERE label = 'main'"), 0); /* later columns get defaults */
    assert_int_equal(one_int(s, "SELECT dqr_enabled FROM projects WHERE id = 'P1'"), 1);
    assert_int_equal(one_int(s, "SELECT COUNT(*) FROM grants WHERE user_id = 2"), 2);
    assert_int_equal(one_int(s, "SELECT COUNT(*) FROM settings WHERE key = 'site_script' AND value = 'x'"), 1);
    assert_int_equal(one_int(s, "SELECT results FROM query_history WHERE user_id = 2 AND keys_enc = 'sealed-keys'"), 3);
    assert_int_equal(one_int(s, "SELECT COUNT(*) FROM audit WHERE action = 'query'"), 1);
    if (version < 2)
        return;
    assert_int_equal(one_int(s, "SELECT archived FROM import_sessions WHERE request_id = 1 AND orig_enc = 'sealed-orig'"),
                     5);
    assert_int_equal(one_int(s, "SELECT bytes FROM archive_instances WHERE sop_uid = '1.2.3.4.5'"), 99);
    /* migration 16 summed the rows already archived */
    assert_int_equal(one_int(s, "SELECT instances * 1000 + bytes FROM archive_sessions WHERE project = 'P1' AND"
                                " subject = 'S01' AND session = 'S01_MR1' AND updated = 31"),
                     1099);
    /* ids continue above the old ones, and foreign keys still cascade */
    exec_ok(s, "INSERT INTO users(username, pw_hash, role, created) VALUES ('carol', 'h3', 'user', 40)");
    assert_int_equal(one_int(s, "SELECT id FROM users WHERE username = 'carol'"), 3);
    exec_ok(s, "DELETE FROM import_requests");
    assert_int_equal(one_int(s, "SELECT COUNT(*) FROM import_sessions"), 0);
}

/* An upgrade from every earlier schema version: a catalog left at version
 * k with typical rows opens with the current code, migrates to the current
 * version and keeps every row. url_of gives version k's empty catalog. */
static void upgrade_from_every_version(void (*url_of)(int k, char *url, size_t len))
{
    size_t n = 0;
    store_migrations(&n);
    for (int k = 1; k < (int)n; k++) {
        char url[512];
        url_of(k, url, sizeof url);
        dqr_error err = {0};
        store *s = store_open_at_version(url, k, &err);
        if (!s)
            fprintf(stderr, "version %d: %s\n", k, err.message);
        assert_non_null(s);
        assert_int_equal(store_schema_version(s), k);
        fill_typical(s, k);
        store_close(s);
        s = store_open(url, &err);
        if (!s)
            fprintf(stderr, "upgrade from %d: %s\n", k, err.message);
        assert_non_null(s);
        assert_int_equal(store_schema_version(s), (int)n);
        assert_int_equal(one_int(s, "SELECT MAX(version) FROM schema_version"), (int64_t)n);
        check_typical(s, k);
        check_registry_policy(s, k);
        store_close(s);
    }
}

static void sqlite_url(int k, char *url, size_t len)
{
    snprintf(url, len, "sqlite:%s/v%d.db", dir, k);
}

static void test_upgrade_from_every_version(void **state)
{
    (void)state;
    upgrade_from_every_version(sqlite_url);
    size_t n = 0;
    store_migrations(&n);
    dqr_error err = {0};
    assert_null(store_open_at_version("sqlite:/nonexistent/x.db", (int)n + 1, &err));
    assert_int_equal(err.code, DQR_E_USAGE);
}

/* The same on PostgreSQL when DQR_TEST_PG_URL names an empty database
 * (tests/store/postgres.sh): each version starts from an emptied schema. */
static void pg_url(int k, char *url, size_t len)
{
    (void)k;
    snprintf(url, len, "%s", getenv("DQR_TEST_PG_URL"));
    dqr_error err = {0};
    store *s = store_open_at_version(url, 1, &err);
    assert_non_null(s);
    exec_ok(s, "DROP SCHEMA public CASCADE; CREATE SCHEMA public");
    store_close(s);
}

static void test_upgrade_from_every_version_pg(void **state)
{
    (void)state;
    if (!getenv("DQR_TEST_PG_URL") || !*getenv("DQR_TEST_PG_URL"))
        skip();
    upgrade_from_every_version(pg_url);
}

static int collect(void *ctx, int n, const char *const *names, const store_val *cols)
{
    char *out = ctx;
    for (int i = 0; i < n; i++) {
        char cell[64];
        snprintf(cell, sizeof cell, "%s=%s;", names[i],
                 cols[i].type == STORE_TEXT ? cols[i].s : cols[i].type == STORE_NULL ? "null" : "int");
        strcat(out, cell);
    }
    return 0;
}

static void test_exec_rows_conflict_changes(void **state)
{
    (void)state;
    store *s = open_in("b.db");
    dqr_error err = {0};
    int64_t changes = -1;
    assert_int_equal(store_exec(s, "INSERT INTO settings(key, value) VALUES ('a', 'x'), ('b', NULL)", NULL, 0, NULL,
                                NULL, &changes, &err),
                     DQR_OK);
    assert_int_equal(changes, 2);
    char out[256] = "";
    assert_int_equal(store_exec(s, "SELECT key, value FROM settings ORDER BY key", NULL, 0, collect, out, NULL, &err),
                     DQR_OK);
    assert_string_equal(out, "key=a;value=x;key=b;value=null;");
    assert_int_equal(store_exec(s, "INSERT INTO settings(key, value) VALUES ('a', 'y')", NULL, 0, NULL, NULL, NULL,
                                &err),
                     DQR_E_CONFLICT);
    assert_int_equal(store_exec(s, "SELECT nope FROM settings", NULL, 0, NULL, NULL, NULL, &err), DQR_E_IO);
    assert_non_null(strstr(err.message, "nope"));
    int64_t v = 0;
    assert_int_equal(store_int(s, "SELECT 1 FROM settings WHERE key = 'zz'", NULL, 0, &v, &err), DQR_E_NOTFOUND);
    store_close(s);
}

/* Every cell of every row, ints printed, into a growing text of CELLS bytes. */
#define CELLS 65536
static int cells(void *ctx, int n, const char *const *names, const store_val *cols)
{
    (void)names;
    char *out = ctx;
    for (int i = 0; i < n; i++) {
        size_t k = strlen(out);
        if (cols[i].type == STORE_INT)
            snprintf(out + k, CELLS - k, "%lld,", (long long)cols[i].i);
        else
            snprintf(out + k, CELLS - k, "%s,", cols[i].type == STORE_TEXT ? cols[i].s : "null");
    }
    strncat(out, ";", CELLS - 1 - strlen(out));
    return 0;
}

/* Two queries give the same cells. */
static void same_answers(store *s, const char *q1, const char *q2)
{
    static char a[CELLS], b[CELLS];
    a[0] = b[0] = '\0';
    dqr_error err = {0};
    assert_int_equal(store_exec(s, q1, NULL, 0, cells, a, NULL, &err), DQR_OK);
    assert_int_equal(store_exec(s, q2, NULL, 0, cells, b, NULL, &err), DQR_OK);
    assert_string_equal(a, b);
}

/* The subject list from the summary equals the GROUP BY over the rows. */
static void same_subjects(store *s, bool with_updated)
{
    char q1[400], q2[400];
    snprintf(q1, sizeof q1, "SELECT subject, COUNT(DISTINCT session), COUNT(*), SUM(bytes)%s FROM archive_instances"
                            " WHERE project = 'P' GROUP BY subject ORDER BY subject", with_updated ? ", MAX(updated)" : "");
    snprintf(q2, sizeof q2, "SELECT subject, COUNT(*), SUM(instances), SUM(bytes)%s FROM archive_sessions"
                            " WHERE project = 'P' GROUP BY subject ORDER BY subject", with_updated ? ", MAX(updated)" : "");
    same_answers(s, q1, q2);
}

/* The receiver's upsert (gateway/import/index.c), reduced to the columns
 * the summary reads. */
static void upsert(store *s, const char *subject, int session, int sop, int bytes, int updated)
{
    char ses[32], uid[32];
    snprintf(ses, sizeof ses, "ses%d", session);
    snprintf(uid, sizeof uid, "1.2.%d", sop);
    dqr_error err = {0};
    assert_int_equal(store_exec(s,
                                "INSERT INTO archive_instances(project, subject, session, series_uid, sop_uid, path,"
                                " bytes, updated) VALUES ('P', ?, ?, '1.2', ?, 'p', ?, ?)"
                                " ON CONFLICT(project, session, sop_uid) DO UPDATE SET subject = excluded.subject,"
                                " bytes = excluded.bytes, updated = excluded.updated",
                                (store_val[]){STORE_S(subject), STORE_S(ses), STORE_S(uid), STORE_I(bytes),
                                              STORE_I(updated)},
                                5, NULL, NULL, NULL, &err),
                     DQR_OK);
}

/* Migration 16's summary follows inserts, replacing upserts, a row moved
 * to another subject, size corrections and deletes of one row or of a
 * whole session (a fixed pseudo-random sequence). */
static void summary_follows_writes(store *s)
{
    static const char *const subj[] = {"S1", "S2", "S3"};
    unsigned x = 12345;
#define NEXT(m) ((x = x * 1103515245u + 12345u) >> 16) % (m)
    for (int step = 1; step <= 600; step++) {
        int ses = (int)NEXT(6), sop = (int)NEXT(40);
        upsert(s, subj[ses / 2], ses, sop, (int)NEXT(1000) + 1, step);
        if (step % 50 == 0)
            upsert(s, subj[(ses / 2 + 1) % 3], ses, sop, 7, step); /* the same instance, another subject */
    }
    same_subjects(s, true);
    char sql[200];
    for (int round = 0; round < 40; round++) {
        int ses = (int)NEXT(6), sop = (int)NEXT(40);
        snprintf(sql, sizeof sql, "DELETE FROM archive_instances WHERE session = 'ses%d' AND sop_uid = '1.2.%d'", ses,
                 sop);
        exec_ok(s, sql);
        snprintf(sql, sizeof sql, "UPDATE archive_instances SET bytes = bytes + 5 WHERE session = 'ses%d'",
                 (int)NEXT(6));
        exec_ok(s, sql);
        same_subjects(s, false);
    }
    exec_ok(s, "DELETE FROM archive_instances WHERE session = 'ses3'");
    assert_int_equal(one_int(s, "SELECT COUNT(*) FROM archive_sessions WHERE session = 'ses3'"), 0);
    same_subjects(s, false);
    exec_ok(s, "DELETE FROM archive_instances");
    assert_int_equal(one_int(s, "SELECT COUNT(*) FROM archive_sessions"), 0);
#undef NEXT
}

/* Each session's summary row equals the GROUP BY over its rows: the same
 * sessions, counts and bytes (and latest update when asked). */
static void same_sessions(store *s, bool with_updated)
{
    char q1[300], q2[300];
    snprintf(q1, sizeof q1, "SELECT project, subject, session, COUNT(*), SUM(bytes)%s FROM archive_instances"
                            " GROUP BY project, subject, session ORDER BY project, subject, session",
             with_updated ? ", MAX(updated)" : "");
    snprintf(q2, sizeof q2, "SELECT project, subject, session, instances, bytes%s FROM archive_sessions"
                            " ORDER BY project, subject, session", with_updated ? ", updated" : "");
    same_answers(s, q1, q2);
}

/* Statements that write many rows of several sessions at once (migration
 * 19's statement trigger on PostgreSQL): a bulk insert, updates of sizes
 * and a partial move to another subject, partial and whole deletes across
 * sessions, two deletes and a delete then insert in one transaction, a
 * delete that matches nothing; after the deletes, the deleter's refresh of
 * the latest update (gw_archive_summary_refresh) makes that exact too. */
static void summary_follows_bulk(store *s)
{
    exec_ok(s, "WITH RECURSIVE g(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM g WHERE k < 3000)"
               " INSERT INTO archive_instances(project, subject, session, series_uid, sop_uid, path, bytes, updated)"
               " SELECT 'Q', 'B' || (k % 3), 'bulk' || (k % 6), '1.2', 'b.' || k, 'p', k % 97 + 1, k FROM g");
    assert_int_equal(one_int(s, "SELECT COUNT(*) FROM archive_sessions WHERE project = 'Q'"), 6);
    same_sessions(s, true);
    exec_ok(s, "UPDATE archive_instances SET bytes = bytes + 3 WHERE session IN ('bulk1', 'bulk2')");
    same_sessions(s, true);
    exec_ok(s, "UPDATE archive_instances SET subject = 'B9' WHERE session = 'bulk4' AND sop_uid LIKE 'b.1%'");
    same_sessions(s, true);
    exec_ok(s, "DELETE FROM archive_instances WHERE session IN ('bulk0', 'bulk1', 'bulk4') AND sop_uid LIKE 'b.2%'");
    same_sessions(s, false);
    exec_ok(s, "DELETE FROM archive_instances WHERE project = 'Q' AND session IN ('bulk2', 'bulk3')");
    assert_int_equal(one_int(s, "SELECT COUNT(*) FROM archive_sessions WHERE session IN ('bulk2', 'bulk3')"), 0);
    same_sessions(s, false);
    exec_ok(s, "BEGIN; DELETE FROM archive_instances WHERE session = 'bulk5' AND sop_uid LIKE 'b.1%';"
               " DELETE FROM archive_instances WHERE session IN ('bulk5', 'bulk0') AND sop_uid LIKE 'b.3%'; COMMIT;");
    same_sessions(s, false);
    exec_ok(s, "BEGIN; DELETE FROM archive_instances WHERE session = 'bulk5';"
               " INSERT INTO archive_instances(project, subject, session, series_uid, sop_uid, path, bytes, updated)"
               " VALUES ('Q', 'B2', 'bulk5', '1.2', 'b.new', 'p', 11, 5000); COMMIT;");
    assert_int_equal(one_int(s, "SELECT instances FROM archive_sessions WHERE session = 'bulk5'"), 1);
    exec_ok(s, "DELETE FROM archive_instances WHERE session = 'nowhere'");
    same_sessions(s, false);
    exec_ok(s, "UPDATE archive_sessions SET updated = COALESCE((SELECT MAX(a.updated) FROM archive_instances a"
               " WHERE a.project = archive_sessions.project AND a.session = archive_sessions.session AND"
               " a.subject = archive_sessions.subject), updated) WHERE project = 'Q'");
    same_sessions(s, true);
    exec_ok(s, "DELETE FROM archive_instances WHERE project = 'Q'");
    assert_int_equal(one_int(s, "SELECT COUNT(*) FROM archive_sessions WHERE project = 'Q'"), 0);
}

/* A request's totals per state (migration 16) equal the GROUP BY over its
 * sessions. */
static void same_totals(store *s)
{
    static char a[CELLS], b[CELLS];
    a[0] = b[0] = '\0';
    dqr_error err = {0};
    assert_int_equal(store_exec(s,
                                "SELECT request_id, state, COUNT(*), SUM(expected), SUM(received), SUM(archived),"
                                " SUM(rejected), SUM(failed), SUM(warned), SUM(bytes), SUM(frames_checked),"
                                " SUM(frames_masked), SUM(frames_refused) FROM import_sessions"
                                " GROUP BY request_id, state ORDER BY request_id, state",
                                NULL, 0, cells, a, NULL, &err),
                     DQR_OK);
    assert_int_equal(store_exec(s,
                                "SELECT request_id, state, sessions, expected, received, archived, rejected, failed,"
                                " warned, bytes, frames_checked, frames_masked, frames_refused"
                                " FROM import_request_totals ORDER BY request_id, state",
                                NULL, 0, cells, b, NULL, &err),
                     DQR_OK);
    assert_string_equal(a, b);
}

/* The totals follow new sessions, state changes (as the scheduler, a
 * transfer's counters, cancel and retry make them), other columns'
 * updates, deleted sessions and a deleted request (cascading). */
static void totals_follow_writes(store *s)
{
    static const char *const states[] = {"queued", "running", "done", "partial", "failed", "cancelled"};
    exec_ok(s, "INSERT INTO import_requests(user_id, pacs_id, project, created) VALUES (1, 1, 'P', 1), (1, 1, 'P', 2)");
    unsigned x = 777;
#define NEXT(m) ((x = x * 1103515245u + 12345u) >> 16) % (m)
    char sql[400];
    for (int i = 0; i < 60; i++) {
        snprintf(sql, sizeof sql,
                 "INSERT INTO import_sessions(request_id, pacs_id, project, study_uid, subject, session, state, queued,"
                 " updated, expected) SELECT MIN(id) + %d, 1, 'P', '', 'S', 'E%d', 'queued', 1, 1, %d FROM import_requests",
                 i % 2, i, (int)NEXT(100));
        exec_ok(s, sql);
    }
    same_totals(s);
    for (int round = 0; round < 80; round++) {
        int id = (int)NEXT(60) + 1, st = (int)NEXT(6), rec = (int)NEXT(50), arc = (int)NEXT(50);
        int bytes = (int)NEXT(9999), fc = (int)NEXT(5), err = (int)NEXT(4);
        snprintf(sql, sizeof sql,
                 "UPDATE import_sessions SET state = '%s', received = received + %d, archived = %d, bytes = %d,"
                 " frames_checked = %d, error = CASE WHEN %d = 0 THEN 'boom' ELSE NULL END WHERE id = %d",
                 states[st], rec, arc, bytes, fc, err, id);
        exec_ok(s, sql);
        exec_ok(s, "UPDATE import_sessions SET updated = updated + 1"); /* no counter: totals untouched */
        if (round % 20 == 19) {
            snprintf(sql, sizeof sql, "DELETE FROM import_sessions WHERE id = %d", (int)NEXT(60) + 1);
            exec_ok(s, sql);
        }
        same_totals(s);
    }
    exec_ok(s, "UPDATE import_sessions SET state = 'queued', failed = 0 WHERE state IN ('failed', 'partial')");
    same_totals(s);
    exec_ok(s, "DELETE FROM import_requests WHERE id = (SELECT MIN(id) FROM import_requests)");
    same_totals(s);
    exec_ok(s, "DELETE FROM import_requests");
    assert_int_equal(one_int(s, "SELECT COUNT(*) FROM import_request_totals"), 0);
#undef NEXT
}

static void test_archive_summary(void **state)
{
    (void)state;
    store *s = open_in("summary.db");
    assert_non_null(s);
    summary_follows_writes(s);
    summary_follows_bulk(s);
    totals_follow_writes(s);
    store_close(s);
}

static void test_archive_summary_pg(void **state)
{
    (void)state;
    if (!getenv("DQR_TEST_PG_URL") || !*getenv("DQR_TEST_PG_URL"))
        skip();
    char url[512];
    pg_url(0, url, sizeof url);
    dqr_error err = {0};
    store *s = store_open(url, &err);
    assert_non_null(s);
    summary_follows_writes(s);
    summary_follows_bulk(s);
    totals_follow_writes(s);
    store_close(s);
}

static dqr_status insert_then_fail(void *ctx, store *s, dqr_error *err)
{
    (void)ctx;
    store_exec(s, "INSERT INTO settings(key, value) VALUES ('t', 'x')", NULL, 0, NULL, NULL, NULL, err);
    return dqr_error_set(err, DQR_E_USAGE, "changed my mind");
}

static dqr_status insert_ok(void *ctx, store *s, dqr_error *err)
{
    (void)ctx;
    return store_exec(s, "INSERT INTO settings(key, value) VALUES ('t', 'y')", NULL, 0, NULL, NULL, NULL, err);
}

static void test_transactions(void **state)
{
    (void)state;
    store *s = open_in("c.db");
    dqr_error err = {0};
    int64_t n = -1;
    assert_int_equal(store_tx(s, insert_then_fail, NULL, &err), DQR_E_USAGE);
    assert_int_equal(store_int(s, "SELECT COUNT(*) FROM settings", NULL, 0, &n, &err), DQR_OK);
    assert_int_equal(n, 0); /* rolled back */
    assert_int_equal(store_tx(s, insert_ok, NULL, &err), DQR_OK);
    assert_int_equal(store_int(s, "SELECT COUNT(*) FROM settings", NULL, 0, &n, &err), DQR_OK);
    assert_int_equal(n, 1);
    store_close(s);
}

static void test_postgres_unreachable(void **state)
{
    (void)state;
    dqr_error err = {0};
    assert_null(store_open("postgresql://nobody@127.0.0.1:1/dqr?connect_timeout=2", &err));
    assert_int_equal(err.code, DQR_E_IO);
    assert_non_null(strstr(err.message, "PostgreSQL catalog"));
}

static void test_vault(void **state)
{
    (void)state;
    char key[128];
    snprintf(key, sizeof key, "%s/keys/sub/vault.key", dir);
    dqr_error err = {0};
    store_vault *v = store_vault_open(key, &err);
    assert_non_null(v);
    struct stat st;
    assert_int_equal(stat(key, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    const char *phi = "DQRC_NAME^CANARY";
    char *a = store_vault_seal(v, phi, strlen(phi)), *b = store_vault_seal(v, phi, strlen(phi));
    assert_non_null(a);
    assert_null(strstr(a, "DQRC"));
    assert_string_not_equal(a, b); /* fresh nonce each time */
    char *plain = NULL;
    size_t n = 0;
    assert_int_equal(store_vault_unseal(v, a, &plain, &n, &err), DQR_OK);
    assert_string_equal(plain, phi);
    assert_int_equal(n, strlen(phi));
    free(plain);
    a[10] = a[10] == 'A' ? 'B' : 'A'; /* altered text is refused */
    assert_int_equal(store_vault_unseal(v, a, &plain, &n, &err), DQR_E_PARSE);
    store_vault_close(v);
    v = store_vault_open(key, &err); /* same key on reopen */
    assert_int_equal(store_vault_unseal(v, b, &plain, &n, &err), DQR_OK);
    free(plain);
    store_vault_close(v);
    chmod(key, 0644);
    assert_null(store_vault_open(key, &err));
    assert_non_null(strstr(err.message, "chmod 600"));
    free(a), free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_migrations_and_reopen), cmocka_unit_test(test_exec_rows_conflict_changes),
        cmocka_unit_test(test_transactions),          cmocka_unit_test(test_postgres_unreachable),
        cmocka_unit_test(test_vault),                 cmocka_unit_test(test_ids_never_reused),
        cmocka_unit_test(test_migration_4_rekeys_old_catalog), cmocka_unit_test(test_upgrade_from_every_version),
        cmocka_unit_test(test_upgrade_from_every_version_pg), cmocka_unit_test(test_archive_summary),
        cmocka_unit_test(test_archive_summary_pg),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
